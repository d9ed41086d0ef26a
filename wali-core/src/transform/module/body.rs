//! Re-encoding function bodies with a plan's call mapping and polling.

use super::Plan;
use crate::transform::Error;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::Instruction;
use wasmparser::{FunctionBody, Operator, ValType};

impl Plan {
    /// The check at a function entry or loop header: `fuel -= cost;` and
    /// `if (flag || fuel < 0) poll();`, as far as each is planned.
    fn emit_poll(&self, f: &mut wasm_encoder::Function, cost: u32) {
        for i in self.poll_instructions(cost) {
            f.instruction(&i);
        }
    }

    pub(super) fn touches(&self, func: u32, body: &FunctionBody) -> Result<bool, Error> {
        if self.poll.is_some() {
            return Ok(true);
        }
        if self.call_map.is_empty()
            && self.indirect_map.is_empty()
            && !self.redirect_calls.iter().any(|r| r.0 == func)
            && self.stack_check.is_none()
        {
            return Ok(false);
        }
        let sp = self.stack_check.map(|c| c.sp);
        let mut r = body.get_operators_reader()?;
        while !r.eof() {
            let op = r.read()?;
            if matches!(op, Operator::GlobalSet { global_index } if Some(global_index) == sp) {
                return Ok(true);
            }
            if self.map_op(func, &op).is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

pub fn enc_val(t: ValType) -> wasm_encoder::ValType {
    // Only numeric types reach here; anything else would make the output
    // fail validation (an error at compile time, not a panic).
    RoundtripReencoder
        .val_type(t)
        .unwrap_or(wasm_encoder::ValType::I32)
}

/// The number of instructions of `body`, and of each loop's body (in the
/// order the loops start).
fn loop_lengths(body: &FunctionBody) -> Result<(u32, Vec<u32>), Error> {
    let mut lens = Vec::new();
    // Open blocks: for a loop, its slot in `lens` and where it started.
    let mut open: Vec<Option<(usize, u32)>> = Vec::new();
    let mut n = 0u32;
    let mut r = body.get_operators_reader()?;
    while !r.eof() {
        let op = r.read()?;
        n = n.saturating_add(1);
        match op {
            Operator::Loop { .. } => {
                lens.push(1);
                open.push(Some((lens.len() - 1, n)));
            }
            Operator::Block { .. }
            | Operator::If { .. }
            | Operator::Try { .. }
            | Operator::TryTable { .. } => open.push(None),
            Operator::End => {
                if let Some(Some((slot, start))) = open.pop() {
                    lens[slot] = n.saturating_sub(start).max(1);
                }
            }
            _ => {}
        }
    }
    Ok((n, lens))
}

/// Re-encodes `body` of function `func` with the plan's call mapping.
pub(super) fn remap_body(
    plan: &Plan,
    func: u32,
    params: u32,
    body: &FunctionBody,
) -> Result<wasm_encoder::Function, Error> {
    let mut locals = Vec::new();
    let mut next_local = params;
    for l in body.get_locals_reader()? {
        let (n, t) = l?;
        next_local = next_local.saturating_add(n);
        locals.push((
            n,
            RoundtripReencoder
                .val_type(t)
                .map_err(|e| Error(e.to_string()))?,
        ));
    }
    // A scratch local for the slot of a fast-path call_indirect.
    let scratch = next_local;
    if !plan.fast_paths.is_empty() {
        locals.push((1, wasm_encoder::ValType::I32));
    }
    // And one for the new stack pointer value the stack check tests.
    let new_sp = scratch + !plan.fast_paths.is_empty() as u32;
    if plan.stack_check.is_some() {
        locals.push((1, wasm_encoder::ValType::I32));
    }
    let mut f = wasm_encoder::Function::new(locals);
    // Fuel: the entry charges the function's length, each loop header its
    // body's length (each time round), so a unit is about an instruction.
    let (len, mut loop_costs) = if plan.fuel.is_some() {
        loop_lengths(body)?
    } else {
        (1, Vec::new())
    };
    loop_costs.reverse();
    if plan.at_entry(func) {
        plan.emit_poll(&mut f, len);
    }
    let mut r = body.get_operators_reader()?;
    // Whether the previous operator left a value that cannot lower the
    // stack pointer (`StackCheck::raises`).
    let mut raises = false;
    while !r.eof() {
        let op = r.read()?;
        let was_raise = std::mem::replace(&mut raises, super::StackCheck::raises(&op));
        if let Operator::Loop { .. } = op {
            let i = RoundtripReencoder
                .instruction(op)
                .map_err(|e| Error(e.to_string()))?;
            f.instruction(&i);
            plan.emit_poll(&mut f, loop_costs.pop().unwrap_or(1));
            continue;
        }
        if let (Some(c), Operator::GlobalSet { global_index }) = (plan.stack_check, &op) {
            if *global_index == c.sp && !was_raise {
                for i in c.checked_set(new_sp) {
                    f.instruction(&i);
                }
                continue;
            }
        }
        if let Operator::CallIndirect {
            type_index,
            table_index: 0,
        } = op
        {
            if let (Some(table), Some(d)) = (
                plan.fast_paths.get(&type_index),
                plan.indirect_map.get(&type_index),
            ) {
                // slot -> scratch; the exact-type table's entry null? the
                // dispatcher : the plain call (the arguments pass through
                // the `if` as its parameters)
                f.instruction(&Instruction::LocalTee(scratch));
                f.instruction(&Instruction::TableGet(*table));
                f.instruction(&Instruction::RefIsNull);
                f.instruction(&Instruction::If(wasm_encoder::BlockType::FunctionType(
                    type_index,
                )));
                f.instruction(&Instruction::LocalGet(scratch));
                f.instruction(&Instruction::Call(*d));
                f.instruction(&Instruction::Else);
                f.instruction(&Instruction::LocalGet(scratch));
                f.instruction(&Instruction::CallIndirect {
                    type_index,
                    table_index: 0,
                });
                f.instruction(&Instruction::End);
                continue;
            }
        }
        match plan.map_op(func, &op) {
            Some(i) => {
                f.instruction(&i);
            }
            None => {
                let i = RoundtripReencoder
                    .instruction(op)
                    .map_err(|e| Error(e.to_string()))?;
                f.instruction(&i);
            }
        }
    }
    Ok(f)
}

/// `body` read again with every wasm feature on (the passes that rewrite
/// bodies read the proposals' operators too).
pub fn with_all_features<'a>(body: &FunctionBody<'a>) -> FunctionBody<'a> {
    FunctionBody::new(wasmparser::BinaryReader::new_features(
        body.as_bytes(),
        body.range().start,
        wasmparser::WasmFeatures::all(),
    ))
}

/// The declared locals of function `func` (its `body`) as the encoder
/// takes them, and the index the next new local gets.
pub fn encoded_locals(
    info: &super::ModuleInfo,
    func: u32,
    body: &FunctionBody,
) -> Result<(Vec<(u32, wasm_encoder::ValType)>, u32), String> {
    let mut next = info.sig_of_func(func).map_or(0, |s| s.params.len() as u32);
    let mut locals = Vec::new();
    for l in body.get_locals_reader().map_err(|e| e.to_string())? {
        let (n, t) = l.map_err(|e| e.to_string())?;
        next = next.checked_add(n).ok_or("too many locals")?;
        let t = RoundtripReencoder.val_type(t).map_err(|e| e.to_string())?;
        locals.push((n, t));
    }
    Ok((locals, next))
}
