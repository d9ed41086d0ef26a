//! The emitter of re-enterable bodies: its instruction list, control
//! frames and extra locals, and the nodes it copies as they were.

use super::analysis::{Body, Node};
use crate::transform::module::{Plan, StackCheck};
use std::collections::HashMap;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{Instruction as I, MemArg};
use wasmparser::{Operator, ValType};

pub(super) struct Emit<'p, 'a> {
    pub(super) f: Vec<I<'a>>,
    /// Control frames from the outermost: true for the original's.
    pub(super) frames: Vec<bool>,
    pub(super) extra_locals: Vec<ValType>,
    pub(super) first_extra: u32,
    pub(super) pool: HashMap<(usize, usize, ValType), u32>,
    /// Operand values below each construct on the way to the current
    /// node: (level, types) from the outermost. They live in the slots of
    /// their level, which later boundaries of that level overwrite.
    pub(super) below: Vec<(usize, Vec<ValType>)>,
    pub(super) label: u32,
    pub(super) value: u32,
    pub(super) token: u32,
    pub(super) plan: &'p Plan,
    pub(super) func: u32,
    /// The stack check's scratch local, once one is needed.
    pub(super) new_sp: Option<u32>,
    /// Whether the last copied operator raises the stack pointer or
    /// restores a saved one (the set after it is not checked).
    pub(super) raises: bool,
}

impl<'a> Emit<'_, 'a> {
    pub(super) fn local(&mut self, t: ValType) -> u32 {
        self.extra_locals.push(t);
        self.first_extra + self.extra_locals.len() as u32 - 1
    }
    pub(super) fn slot(&mut self, level: usize, pos: usize, t: ValType) -> u32 {
        if let Some(l) = self.pool.get(&(level, pos, t)) {
            return *l;
        }
        let l = self.local(t);
        self.pool.insert((level, pos, t), l);
        l
    }
    pub(super) fn spill(&mut self, level: usize, types: &[ValType]) {
        for (pos, t) in types.iter().enumerate().rev() {
            let l = self.slot(level, pos, *t);
            self.f.push(I::LocalSet(l));
        }
    }
    pub(super) fn reload(&mut self, level: usize, types: &[ValType]) {
        for (pos, t) in types.iter().enumerate() {
            let l = self.slot(level, pos, *t);
            self.f.push(I::LocalGet(l));
        }
    }
    /// The slots that hold the operand values live at a setjmp call,
    /// `below` on its own level under its arguments, each paired with a
    /// new local of the call's own to keep it in: the slots are shared by
    /// every boundary of a level, so a later boundary (another setjmp
    /// call, a construct's results) overwrites them before a longjmp.
    pub(super) fn keep_at_site(&mut self, level: usize, below: &[ValType]) -> Vec<(u32, u32)> {
        let mut live: Vec<(usize, usize, ValType)> = Vec::new();
        for (lv, types) in &self.below {
            live.extend(types.iter().enumerate().map(|(pos, t)| (*lv, pos, *t)));
        }
        live.extend(below.iter().enumerate().map(|(pos, t)| (level, pos, *t)));
        live.into_iter()
            .map(|(lv, pos, t)| (self.slot(lv, pos, t), self.local(t)))
            .collect()
    }
    /// New depth of original relative depth `d`.
    fn depth(&self, d: u32) -> Result<u32, String> {
        let mut originals = 0;
        for (k, orig) in self.frames.iter().rev().enumerate() {
            if *orig {
                if originals == d {
                    return Ok(k as u32);
                }
                originals += 1;
            }
        }
        Err("branch out of the function".into())
    }
    fn op(&mut self, op: &Operator<'a>) -> Result<(), String> {
        let raised = std::mem::replace(&mut self.raises, StackCheck::raises(op));
        if let (Some(c), Operator::GlobalSet { global_index }) = (self.plan.stack_check, op) {
            if *global_index == c.sp && !raised {
                // as the other bodies get it (`module::body`)
                let t = match self.new_sp {
                    Some(t) => t,
                    None => {
                        let t = self.local(ValType::I32);
                        self.new_sp = Some(t);
                        t
                    }
                };
                self.f.extend(c.checked_set(t));
                return Ok(());
            }
        }
        let ins = match op {
            Operator::Br { relative_depth } => I::Br(self.depth(*relative_depth)?),
            Operator::BrIf { relative_depth } => I::BrIf(self.depth(*relative_depth)?),
            Operator::BrTable { targets } => {
                let mut ts = Vec::new();
                for t in targets.targets() {
                    ts.push(self.depth(t.map_err(|e| e.to_string())?)?);
                }
                I::BrTable(ts.into(), self.depth(targets.default())?)
            }
            _ => match self.plan.map_op(self.func, op) {
                Some(i) => i,
                None => RoundtripReencoder
                    .instruction(op.clone())
                    .map_err(|e| e.to_string())?,
            },
        };
        self.f.push(ins);
        Ok(())
    }
    /// `label == 0 || label in [lo, hi]`
    pub(super) fn in_range(&mut self, lo: u32, hi: u32) {
        self.f.push(I::LocalGet(self.label));
        self.f.push(I::I32Eqz);
        self.f.push(I::LocalGet(self.label));
        self.f.push(I::I32Const(lo as i32));
        self.f.push(I::I32Sub);
        self.f.push(I::I32Const((hi - lo) as i32));
        self.f.push(I::I32LeU);
        self.f.push(I::I32Or);
    }
}

pub(super) fn mem(offset: u32) -> MemArg {
    MemArg {
        offset: offset as u64,
        align: 2,
        memory_index: 0,
    }
}

impl Emit<'_, '_> {
    /// Spills `types` (on the stack) into the slots from position `from`.
    pub(super) fn spill_from(&mut self, level: usize, from: usize, types: &[ValType]) {
        for (k, t) in types.iter().enumerate().rev() {
            let l = self.slot(level, from + k, *t);
            self.f.push(I::LocalSet(l));
        }
    }
}

/// Emits a node that holds no setjmp call, as it was (branches re-aimed).
pub(super) fn plain<'a>(em: &mut Emit<'_, 'a>, body: &Body<'a>, n: &Node) -> Result<(), String> {
    match n {
        Node::Op(i) => em.op(&body.ops[*i]),
        Node::Cons {
            start,
            end,
            body: inner,
            else_body,
            ..
        } => {
            let bt = match &body.ops[*start] {
                Operator::Block { blockty }
                | Operator::Loop { blockty }
                | Operator::If { blockty } => *blockty,
                _ => return Err("bad construct".into()),
            };
            let ebt = RoundtripReencoder
                .block_type(bt)
                .map_err(|e| e.to_string())?;
            em.f.push(match &body.ops[*start] {
                Operator::Block { .. } => I::Block(ebt),
                Operator::Loop { .. } => I::Loop(ebt),
                _ => I::If(ebt),
            });
            em.frames.push(true);
            if let Operator::Loop { .. } = &body.ops[*start] {
                let cost = end.saturating_sub(*start) as u32;
                em.f.extend(em.plan.poll_instructions(cost));
            }
            for x in inner {
                plain(em, body, x)?;
            }
            if let Some((_, eb)) = else_body {
                em.f.push(I::Else);
                for x in eb {
                    plain(em, body, x)?;
                }
            }
            let _ = end;
            em.f.push(I::End);
            em.frames.pop();
            Ok(())
        }
    }
}
