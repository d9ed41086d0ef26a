//! Inlining of small leaf functions at their direct call sites.
//!
//! Code built without optimization (`-O0`, as the reference toolchain
//! builds its applications) keeps even a one-line helper (bash's
//! `is_basic`, a byte's bit in a table) a function of its own, and the
//! engines do not inline across wasm functions by default: every call pays
//! a frame, the native stack's limit check and the spills around it, for a
//! body of a dozen instructions. This pass copies such a body into each
//! `call` of it:
//!
//! ```text
//! call $f            ;; f: (a, b) -> r, one local l
//! ```
//! becomes
//! ```text
//! local.set $b'  local.set $a'      ;; the arguments, last first
//! i32.const 0  local.set $l'        ;; f's own locals start at zero
//! block (result r)
//!   ... f's body, its locals renumbered, `return` a `br` to this block
//! end
//! ```
//!
//! It runs last, on the module the other transforms produced, so a
//! function counts as a leaf only if nothing was added to it that calls
//! (an entry check of signal polling, the C stack check): what is inlined
//! has no call of any kind, no loop, no exception handling, at most one
//! result and locals of number types only, and is short ([`MAX_WEIGHT`]
//! operators that are not local moves or constants). The callee stays in
//! the module for its other uses (tables, exports). A copy's locals are the caller's new locals,
//! reused by every call of the same function in that caller: a leaf's
//! copy never runs while another copy of it is live.

use super::module::{encoded_locals, with_all_features, ModuleInfo, Plan};
use super::Error;
use std::collections::HashMap;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{Function, Instruction};
use wasmparser::{Operator, ValType};

/// The most operators a function inlined may have, not counting those an
/// engine's register allocation makes free (`local.get`, `local.set`,
/// `local.tee`, constants, `end`): `-O0` code moves every value through a
/// local of its own, so its bodies are mostly those.
pub const MAX_WEIGHT: usize = 20;

/// The most operators of any kind a function inlined may have.
const MAX_OPS: usize = 160;

/// How much a caller may grow: the bytes of the bodies copied into it, at
/// most this many times its own size, plus [`GROWTH_SLACK`].
const GROWTH_FACTOR: usize = 2;
const GROWTH_SLACK: usize = 400;

/// No caller gets more locals than this by inlining (engines take 50,000).
const MAX_LOCALS: usize = 10_000;

/// A function that may be inlined: its locals after the parameters, its
/// operators (without the final `end`) and its result type.
struct Leaf<'a> {
    params: Vec<ValType>,
    locals: Vec<ValType>,
    ops: Vec<Operator<'a>>,
    result: Option<ValType>,
    /// Its body's size in bytes.
    size: usize,
    /// Its own locals (by index among them) that may be read before the
    /// body writes them: a copy sets those to zero first.
    zeroed: Vec<u32>,
}

/// Rewrites every function that calls a small leaf; returns the new module
/// and (call sites inlined, functions changed), or `None` when no call was.
pub fn inline(wasm: &[u8], info: &ModuleInfo) -> Result<Option<(Vec<u8>, usize, usize)>, Error> {
    let mut leaves: HashMap<u32, Leaf> = HashMap::new();
    let found = super::module::par::map(info.bodies.len(), |i| {
        leaf(info, info.num_func_imports + i as u32, &info.bodies[i])
    });
    for (i, found) in found.into_iter().enumerate() {
        if let Some(leaf) = found? {
            leaves.insert(info.num_func_imports + i as u32, leaf);
        }
    }
    if leaves.is_empty() {
        return Ok(None);
    }
    let one = |i: usize| -> Result<Option<(u32, Function, usize)>, Error> {
        let func = info.num_func_imports + i as u32;
        emit(info, func, &info.bodies[i], &leaves)
            .map_err(|why| Error(format!("inlining into function {func}: {why}")))
    };
    let mut plan = Plan::default();
    let mut sites = 0;
    for done in super::module::par::map(info.bodies.len(), one) {
        if let Some((func, f, n)) = done? {
            sites += n;
            plan.bodies.insert(func, f);
        }
    }
    if plan.bodies.is_empty() {
        return Ok(None);
    }
    let n = plan.bodies.len();
    Ok(Some((super::module::rebuild(wasm, info, &plan)?, sites, n)))
}

/// `func` as a [`Leaf`], when it is one small enough to inline.
fn leaf<'a>(
    info: &ModuleInfo<'a>,
    func: u32,
    body: &wasmparser::FunctionBody<'a>,
) -> Result<Option<Leaf<'a>>, Error> {
    let Some(sig) = info.sig_of_func(func) else {
        return Ok(None);
    };
    if sig.results.len() > 1 || !sig.params.iter().all(|t| number(*t)) {
        return Ok(None);
    }
    let body = with_all_features(body);
    let mut locals = Vec::new();
    for l in body.get_locals_reader()? {
        let (n, t) = l?;
        if !number(t) || locals.len() + n as usize > 4 * MAX_OPS {
            return Ok(None);
        }
        locals.extend(std::iter::repeat_n(t, n as usize));
    }
    let mut r = body.get_operators_reader()?;
    let mut ops = Vec::new();
    let mut weight = 0;
    while !r.eof() {
        let op = r.read()?;
        weight += usize::from(!free(&op));
        if ops.len() > MAX_OPS || weight > MAX_WEIGHT || !inlinable(&op) {
            return Ok(None);
        }
        ops.push(op);
    }
    // the body's own `end`
    if ops.pop() != Some(Operator::End) {
        return Ok(None);
    }
    let zeroed = read_before_written(&ops, sig.params.len() as u32, locals.len() as u32);
    Ok(Some(Leaf {
        zeroed,
        params: sig.params.clone(),
        locals,
        ops,
        result: sig.results.first().copied(),
        size: body.as_bytes().len(),
    }))
}

/// Operators that cost nothing once the engine allocates registers.
fn free(op: &Operator) -> bool {
    use Operator::*;
    matches!(
        op,
        LocalGet { .. }
            | LocalSet { .. }
            | LocalTee { .. }
            | I32Const { .. }
            | I64Const { .. }
            | End
            | Nop
    )
}

fn number(t: ValType) -> bool {
    matches!(
        t,
        ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64 | ValType::V128
    )
}

/// Whether an operator may appear in an inlined body: no call of any kind
/// (the copy must not be reentered), no loop (no poll check to carry), no
/// exception handling or other control that needs a function of its own.
fn inlinable(op: &Operator) -> bool {
    use Operator::*;
    !matches!(
        op,
        Call { .. }
            | CallIndirect { .. }
            | CallRef { .. }
            | ReturnCall { .. }
            | ReturnCallIndirect { .. }
            | ReturnCallRef { .. }
            | Loop { .. }
            | Try { .. }
            | TryTable { .. }
            | Catch { .. }
            | CatchAll
            | Delegate { .. }
            | Throw { .. }
            | ThrowRef
            | Rethrow { .. }
    )
}

/// The body of `func` with each call of a leaf replaced by its copy, and
/// the number of calls inlined; `None` when it calls none. The bytes
/// between the calls are copied as they are.
fn emit(
    info: &ModuleInfo,
    func: u32,
    body: &wasmparser::FunctionBody,
    leaves: &HashMap<u32, Leaf>,
) -> Result<Option<(u32, Function, usize)>, String> {
    let err = |e: wasmparser::BinaryReaderError| e.to_string();
    let body = with_all_features(body);
    // First the calls to inline (where, which leaf) and the locals their
    // copies take.
    let mut r = body.get_operators_reader().map_err(err)?;
    let (mut locals, mut next) = encoded_locals(info, func, &body)?;
    let mut base: HashMap<u32, u32> = HashMap::new();
    let mut sites: Vec<(usize, usize, u32)> = Vec::new();
    let mut added = 0usize;
    let budget = body.as_bytes().len() * GROWTH_FACTOR + GROWTH_SLACK;
    while !r.eof() {
        let (op, at) = r.read_with_offset().map_err(err)?;
        let Operator::Call { function_index } = op else {
            continue;
        };
        let Some(leaf) = leaves
            .get(&function_index)
            .filter(|_| function_index != func)
        else {
            continue;
        };
        let own = leaf.params.len() + leaf.locals.len();
        if added + leaf.size > budget
            || (!base.contains_key(&function_index) && next as usize + own > MAX_LOCALS)
        {
            continue;
        }
        added += leaf.size;
        if let std::collections::hash_map::Entry::Vacant(v) = base.entry(function_index) {
            v.insert(next);
            for t in leaf.params.iter().chain(&leaf.locals) {
                locals.push((
                    1,
                    RoundtripReencoder.val_type(*t).map_err(|e| e.to_string())?,
                ));
                next += 1;
            }
        }
        sites.push((at, r.original_position(), function_index));
    }
    if sites.is_empty() {
        return Ok(None);
    }
    let code_start = body
        .get_operators_reader()
        .map_err(err)?
        .original_position();
    let origin = body.range().start;
    let bytes = body.as_bytes();
    let raw = |from: usize, to: usize| &bytes[from - origin..to - origin];
    let mut f = Function::new(locals);
    let mut last = code_start;
    for &(at, after, callee) in &sites {
        f.raw(raw(last, at).iter().copied());
        last = after;
        let leaf = &leaves[&callee];
        let b = base[&callee];
        let np = leaf.params.len() as u32;
        for p in (0..np).rev() {
            f.instruction(&Instruction::LocalSet(b + p));
        }
        for &k in &leaf.zeroed {
            f.instruction(&zero(leaf.locals[k as usize]));
            f.instruction(&Instruction::LocalSet(b + np + k));
        }
        f.instruction(&Instruction::Block(match leaf.result {
            None => wasm_encoder::BlockType::Empty,
            Some(t) => wasm_encoder::BlockType::Result(
                RoundtripReencoder.val_type(t).map_err(|e| e.to_string())?,
            ),
        }));
        let mut depth = 0u32;
        for op in &leaf.ops {
            f.instruction(&match op {
                Operator::LocalGet { local_index } => Instruction::LocalGet(b + local_index),
                Operator::LocalSet { local_index } => Instruction::LocalSet(b + local_index),
                Operator::LocalTee { local_index } => Instruction::LocalTee(b + local_index),
                Operator::Return => Instruction::Br(depth),
                Operator::Block { .. } | Operator::If { .. } => {
                    depth += 1;
                    re(op)?
                }
                Operator::End => {
                    depth = depth.checked_sub(1).ok_or("unbalanced end")?;
                    Instruction::End
                }
                _ => re(op)?,
            });
        }
        if depth != 0 {
            return Err("unbalanced blocks in an inlined body".into());
        }
        f.instruction(&Instruction::End);
    }
    f.raw(raw(last, origin + bytes.len()).iter().copied());
    Ok(Some((func, f, sites.len())))
}

/// The locals after the `params` (indices among those `n`) that `ops` may
/// read before writing them. A write counts only where it always runs
/// before what follows: outside any block (a branch may skip what a block
/// holds).
fn read_before_written(ops: &[Operator], params: u32, n: u32) -> Vec<u32> {
    let mut written = vec![false; n as usize];
    let mut read_first = vec![false; n as usize];
    let mut depth = 0u32;
    let own = |l: u32| l.checked_sub(params).filter(|k| *k < n).map(|k| k as usize);
    for op in ops {
        match op {
            Operator::LocalGet { local_index } => {
                if let Some(k) = own(*local_index) {
                    read_first[k] |= !written[k];
                }
            }
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                if let Some(k) = own(*local_index) {
                    written[k] |= depth == 0;
                }
            }
            Operator::Block { .. } | Operator::If { .. } => depth += 1,
            Operator::End => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    (0..n).filter(|k| read_first[*k as usize]).collect()
}

fn re<'a>(op: &Operator<'a>) -> Result<Instruction<'a>, String> {
    RoundtripReencoder
        .instruction(op.clone())
        .map_err(|e| e.to_string())
}

fn zero(t: ValType) -> Instruction<'static> {
    match t {
        ValType::I64 => Instruction::I64Const(0),
        ValType::F32 => Instruction::F32Const(0.0.into()),
        ValType::F64 => Instruction::F64Const(0.0.into()),
        ValType::V128 => Instruction::V128Const(0),
        _ => Instruction::I32Const(0),
    }
}
