//! Static data as active data segments (start-up speed, not behaviour).
//!
//! A WALI guest's memory is shared, so its linker (`wasm-ld
//! --shared-memory`) makes every data segment passive and copies them in
//! at run time: the start function `__wasm_init_memory` claims a flag word
//! with an atomic compare-and-exchange and, in the branch only the first
//! instance takes, sets the main thread's TLS base, runs `memory.init` for
//! each segment and `memory.fill` of zero for `.bss`. Every start then
//! copies the whole of the program's static data (bash.wasm: 284 KB)
//! into fresh pages.
//!
//! When the module defines its memory and keeps it (no threads: the
//! memory does not become an import, so exactly one instance ever runs
//! over it, and its start function runs once, on fresh memory), the
//! copies of that branch are the same as active segments: the segments
//! become active at the same offsets, and the branch keeps everything
//! but the copies and the zero fills (fresh memory is zero already). An
//! engine can then give the memory its initial contents from a
//! copy-on-write image (wasmtime maps it from the compiled module's file)
//! instead of copying them at every start.
//!
//! Only LLVM's exact shape is taken: the guard, then a run of constants,
//! `global.set`, `memory.init` and `memory.fill` whose operands are all
//! constants, each segment copied whole once, the ranges disjoint and
//! inside the memory's initial size, the flag word outside them, and no
//! other `memory.init` of those segments anywhere in the module.

use super::module::{encoded_locals, with_all_features, ModuleInfo, Plan};
use super::Outcome;
use wasm_encoder::Instruction;
use wasmparser::{BlockType, Operator};

pub fn plan(info: &ModuleInfo, plan: &mut Plan, out: &mut Outcome) {
    if plan.memory_to_import || info.imports_memory || info.defined_memory.is_none() {
        return;
    }
    let Some(start) = info.start else {
        return;
    };
    if plan.bodies.contains_key(&start) {
        return;
    }
    match analyse(info, start) {
        Ok(None) => {}
        Ok(Some(found)) => {
            out.applied.push(format!(
                "static data: {} passive data segments ({} bytes) are active, not copied by the start function",
                found.segments.len(),
                found.bytes
            ));
            plan.active_data.extend(found.segments);
            plan.bodies.insert(start, found.body);
        }
        Err(why) => out.notes.push(format!("static data left passive: {why}")),
    }
}

/// What the start function's copies become.
struct Found {
    /// The segments to make active: (index, offset).
    segments: Vec<(u32, u32)>,
    /// The start function without the copies.
    body: wasm_encoder::Function,
    /// The bytes the segments hold.
    bytes: usize,
}

/// `None` when the start function is not LLVM's memory initialization;
/// an error says why one is not taken.
fn analyse(info: &ModuleInfo, start: u32) -> Result<Option<Found>, String> {
    let Some(body) = info.body(start) else {
        return Ok(None);
    };
    let body = with_all_features(body);
    let base = body.range().start;
    let raw = body.as_bytes();
    let mut r = body.get_operators_reader().map_err(|e| e.to_string())?;
    let code = r.original_position() - base;
    let mut ops = Vec::new();
    while !r.eof() {
        let at = r.original_position() - base;
        ops.push((at, r.read().map_err(|e| e.to_string())?));
    }
    // The guard: `block block block (flag 0 1 cmpxchg) br_table 0 1 2 end`.
    let empty = |op: &Operator| {
        matches!(
            op,
            Operator::Block {
                blockty: BlockType::Empty
            }
        )
    };
    let flag = match ops.as_slice() {
        [(_, b1), (_, b2), (_, b3), (_, Operator::I32Const { value: flag }), (_, Operator::I32Const { value: 0 }), (_, Operator::I32Const { value: 1 }), (_, Operator::I32AtomicRmwCmpxchg { memarg }), (_, Operator::BrTable { .. }), (_, Operator::End), ..]
            if empty(b1) && empty(b2) && empty(b3) && memarg.memory == 0 && memarg.offset == 0 =>
        {
            *flag as u32
        }
        _ => return Ok(None),
    };
    if !ops
        .iter()
        .any(|(_, op)| matches!(op, Operator::MemoryInit { .. }))
    {
        return Ok(None);
    }
    // The run after the guard's `end`: constants on an abstract stack.
    let first = 9;
    let mut stack: Vec<(usize, i32)> = Vec::new();
    let mut removed = vec![false; ops.len()];
    let mut inits: Vec<(u32, u32, u32, u32)> = Vec::new();
    let mut fills: Vec<(u32, u32)> = Vec::new();
    let mut end = first;
    let pop3 = |stack: &mut Vec<(usize, i32)>| -> Result<[(usize, i32); 3], String> {
        let n = stack.pop();
        let s = stack.pop();
        let d = stack.pop();
        match (d, s, n) {
            (Some(d), Some(s), Some(n)) => Ok([d, s, n]),
            _ => Err("an operand of the copies is not a constant".into()),
        }
    };
    while let Some((_, op)) = ops.get(end) {
        match *op {
            Operator::I32Const { value } => stack.push((end, value)),
            Operator::GlobalSet { .. } => {
                stack
                    .pop()
                    .ok_or("a global's value in the copies is not a constant")?;
            }
            Operator::MemoryInit { data_index, mem: 0 } => {
                let [d, s, n] = pop3(&mut stack)?;
                for (i, _) in [d, s, n] {
                    removed[i] = true;
                }
                removed[end] = true;
                inits.push((data_index, d.1 as u32, s.1 as u32, n.1 as u32));
            }
            Operator::MemoryFill { mem: 0 } => {
                let [d, v, n] = pop3(&mut stack)?;
                if v.1 != 0 {
                    return Err("a memory.fill of the start function is not of zero".into());
                }
                for (i, _) in [d, v, n] {
                    removed[i] = true;
                }
                removed[end] = true;
                fills.push((d.1 as u32, n.1 as u32));
            }
            _ => break,
        }
        end += 1;
    }
    if ops[end..].iter().any(|(_, op)| {
        matches!(
            op,
            Operator::MemoryInit { .. } | Operator::MemoryFill { .. }
        )
    }) {
        return Err("the start function copies data outside its first-instance branch".into());
    }
    let min = info
        .defined_memory
        .map_or(0, |m| m.initial.saturating_mul(65536));
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    let mut segments = Vec::new();
    let mut bytes = 0;
    for &(seg, dst, src, len) in &inits {
        let Some(&(passive, data)) = info.data.get(seg as usize) else {
            return Err(format!(
                "memory.init of a data segment {seg} that does not exist"
            ));
        };
        if !passive || src != 0 || len as usize != data.len() {
            return Err(format!("data segment {seg} is not copied whole"));
        }
        if segments.iter().any(|(s, _)| *s == seg) {
            return Err(format!("data segment {seg} is copied twice"));
        }
        let e = dst as u64 + len as u64;
        if e > min {
            return Err(format!(
                "data segment {seg} ends beyond the memory's initial size"
            ));
        }
        ranges.push((dst as u64, e));
        segments.push((seg, dst));
        bytes += data.len();
    }
    ranges.sort_unstable();
    if ranges.windows(2).any(|w| w[1].0 < w[0].1) {
        return Err("data segments overlap".into());
    }
    let overlaps = |a: u64, b: u64| ranges.iter().any(|(s, e)| a < *e && *s < b);
    if fills
        .iter()
        .any(|&(d, n)| n > 0 && overlaps(d as u64, d as u64 + n as u64))
    {
        return Err("a zero fill overlaps a data segment".into());
    }
    if overlaps(flag as u64, flag as u64 + 4) {
        return Err("the initialization flag lies in a data segment".into());
    }
    if let Some(seg) = other_inits(info, start, &segments)? {
        return Err(format!(
            "data segment {seg} is copied by another function too"
        ));
    }
    let (locals, _) = encoded_locals(info, start, &body)?;
    let mut f = wasm_encoder::Function::new(locals);
    f.raw(raw[code..ops[first].0].iter().copied());
    for (i, (_, op)) in ops.iter().enumerate().take(end).skip(first) {
        if removed[i] {
            continue;
        }
        match *op {
            Operator::I32Const { value } => f.instruction(&Instruction::I32Const(value)),
            Operator::GlobalSet { global_index } => {
                f.instruction(&Instruction::GlobalSet(global_index))
            }
            // the run holds nothing else once its copies are out
            _ => return Err("an instruction of the copies is not understood".into()),
        };
    }
    let after = ops.get(end).map_or(raw.len(), |(at, _)| *at);
    f.raw(raw[after..].iter().copied());
    Ok(Some(Found {
        segments,
        body: f,
        bytes,
    }))
}

/// A segment of `segments` that a function other than `start` copies with
/// `memory.init` (an active segment is dropped once the module is
/// instantiated, so such a copy would then trap).
fn other_inits(
    info: &ModuleInfo,
    start: u32,
    segments: &[(u32, u32)],
) -> Result<Option<u32>, String> {
    for (i, body) in info.bodies.iter().enumerate() {
        if info.num_func_imports + i as u32 == start {
            continue;
        }
        // memory.init is 0xfc 0x08: skip the bodies without those bytes
        if !body.as_bytes().windows(2).any(|w| w == [0xfc, 0x08]) {
            continue;
        }
        let body = with_all_features(body);
        let mut r = body.get_operators_reader().map_err(|e| e.to_string())?;
        while !r.eof() {
            if let Operator::MemoryInit { data_index, .. } = r.read().map_err(|e| e.to_string())? {
                if segments.iter().any(|(s, _)| *s == data_index) {
                    return Ok(Some(data_index));
                }
            }
        }
    }
    Ok(None)
}
