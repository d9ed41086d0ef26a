//! The plan of changes the transforms build, and the indices it hands out.

use super::{ModuleInfo, Sig};
use std::collections::HashMap;
use wasm_encoder::Instruction;
use wasmparser::Operator;

/// The changes to make.
#[derive(Default)]
pub struct Plan {
    /// In function `.0`, `call .1` becomes `call .2`.
    pub redirect_calls: Vec<(u32, u32, u32)>,
    /// Everywhere, `call from` becomes `call to`.
    pub call_map: HashMap<u32, u32>,
    /// `call_indirect (type T) (table 0)` becomes `call F`.
    pub indirect_map: HashMap<u32, u32>,
    /// In the bodies `remap_body` writes, `call_indirect (type T) (table
    /// 0)` of a type of `indirect_map` first looks its slot up in the table
    /// given here, which holds the functions of exactly type T: a hit is
    /// the plain call_indirect, a miss goes to the dispatcher.
    pub fast_paths: HashMap<u32, u32>,
    /// New funcref tables (after the module's own): size and slots.
    pub new_tables: Vec<(u64, Vec<Option<u32>>)>,
    pub new_types: Vec<Sig>,
    pub new_funcs: Vec<(u32, wasm_encoder::Function)>,
    /// New i32 globals, mutable, with these initial values.
    pub new_globals: Vec<i32>,
    /// New exception tags (their type indices).
    pub new_tags: Vec<u32>,
    /// Defined functions (by function index) whose whole body is replaced.
    pub bodies: HashMap<u32, wasm_encoder::Function>,
    /// Imported functions renamed (by function index).
    pub renames: HashMap<u32, &'static str>,
    /// New function exports.
    pub new_exports: Vec<(&'static str, u32)>,
    /// New tables to export: (name, table index).
    pub table_exports: Vec<(&'static str, u32)>,
    /// Existing globals to export: (name, global index).
    pub global_exports: Vec<(&'static str, u32)>,
    /// Turn the defined memory into an import (threads).
    pub memory_to_import: bool,
    /// Names of the new functions (for the name section), in order.
    pub new_names: Vec<String>,
    /// Signal polling: every defined function checks a flag at its entry
    /// and at each loop header.
    pub poll: Option<Poll>,
    /// New memories (one page, not growable), exported under these names.
    pub new_memories: Vec<&'static str>,
    /// Fuel: every polled point also charges the instructions since the
    /// previous one to this i64 global, and polls once it is negative.
    pub fuel: Option<u32>,
    /// New i64 globals, mutable (after the i32 ones), with these initial
    /// values and export names.
    pub new_i64_globals: Vec<(i64, &'static str)>,
    /// The C stack check at every `global.set` of the stack pointer.
    pub stack_check: Option<StackCheck>,
    /// Passive data segments made active: (segment index, offset in
    /// memory 0).
    pub active_data: Vec<(u32, u32)>,
}

/// `global.set $sp` becomes: if the new value is below `$limit`, call
/// `overflow` (which does not return); then the set.
#[derive(Clone, Copy, Debug)]
pub struct StackCheck {
    pub sp: u32,
    pub limit: u32,
    pub overflow: u32,
}

impl StackCheck {
    /// Whether `op`, just before a `global.set` of the stack pointer,
    /// leaves a value that cannot lower it (an epilogue's `i32.add`, a
    /// `local.get` of the value saved at entry): that set is not checked.
    pub fn raises(op: &Operator) -> bool {
        matches!(op, Operator::I32Add | Operator::LocalGet { .. })
    }

    /// The checked `global.set $sp`, through the scratch i32 local
    /// `new_sp`: new value -> new_sp; below the limit? overflow; the set.
    pub fn checked_set(&self, new_sp: u32) -> [Instruction<'static>; 8] {
        [
            Instruction::LocalTee(new_sp),
            Instruction::GlobalGet(self.limit),
            Instruction::I32LtU,
            Instruction::If(wasm_encoder::BlockType::Empty),
            Instruction::Call(self.overflow),
            Instruction::End,
            Instruction::LocalGet(new_sp),
            Instruction::GlobalSet(self.sp),
        ]
    }
}

/// The call a poll makes.
#[derive(Clone, Copy, Debug)]
pub enum PollVia {
    /// An imported function without parameters (its result dropped).
    Import { func: u32, has_result: bool },
    /// `call_indirect (type ty) (table table)` of slot 0, where the host
    /// puts a function of its own (a module that imports none to call).
    Table { table: u32, ty: u32 },
}

/// How polled code reaches the host when the flag is set.
pub struct Poll {
    /// The flag's memory (a word at address 0), when signals are polled.
    pub memory: Option<u32>,
    /// How the poll reaches the host.
    pub via: PollVia,
    /// Which functions (by function index; imports are false) check at
    /// their entry; `None`: all of them.
    pub entries: Option<Vec<bool>>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        !self.memory_to_import
            && self.poll.is_none()
            && self.fuel.is_none()
            && self.redirect_calls.is_empty()
            && self.call_map.is_empty()
            && self.indirect_map.is_empty()
            && self.new_funcs.is_empty()
            && self.bodies.is_empty()
            && self.stack_check.is_none()
            && self.active_data.is_empty()
    }

    /// The index a new type will have (reusing an identical existing one).
    pub fn type_index(&mut self, info: &ModuleInfo, sig: Sig) -> u32 {
        if let Some(i) = info.types.iter().position(|t| t.as_ref() == Some(&sig)) {
            return i as u32;
        }
        if let Some(i) = self.new_types.iter().position(|t| *t == sig) {
            return (info.types.len() + i) as u32;
        }
        self.new_types.push(sig);
        (info.types.len() + self.new_types.len() - 1) as u32
    }

    /// The function index the next new function will have.
    pub fn next_func(&self, info: &ModuleInfo) -> u32 {
        (info.func_types.len() + self.new_funcs.len()) as u32
    }

    pub fn new_global(&mut self, info: &ModuleInfo, init: i32) -> u32 {
        self.new_globals.push(init);
        (info.globals.len() + self.new_i64_globals.len() + self.new_globals.len() - 1) as u32
    }

    pub fn new_tag(&mut self, info: &ModuleInfo, ty: u32) -> u32 {
        self.new_tags.push(ty);
        info.num_tags + self.new_tags.len() as u32 - 1
    }

    /// The instruction `op` becomes in function `func` (calls redirected);
    /// `None` when it is unchanged.
    pub fn map_op(&self, func: u32, op: &Operator) -> Option<Instruction<'static>> {
        match op {
            Operator::Call { function_index } => {
                let f = *function_index;
                if let Some(to) = self
                    .redirect_calls
                    .iter()
                    .find(|(fun, from, _)| *fun == func && *from == f)
                    .map(|r| r.2)
                {
                    return Some(Instruction::Call(to));
                }
                self.call_map.get(&f).map(|to| Instruction::Call(*to))
            }
            Operator::CallIndirect {
                type_index,
                table_index: 0,
            } => self
                .indirect_map
                .get(type_index)
                .map(|f| Instruction::Call(*f)),
            _ => None,
        }
    }

    /// The index the next new i64 global will have: they come before the
    /// new i32 globals, so all must be planned before any i32 one.
    pub fn next_i64_global(&self, info: &ModuleInfo) -> u32 {
        debug_assert!(self.new_globals.is_empty());
        (info.globals.len() + self.new_i64_globals.len()) as u32
    }

    /// The index the next new table will have.
    pub fn next_table(&self, info: &ModuleInfo) -> u32 {
        info.num_tables + self.new_tables.len() as u32
    }

    /// Whether function `func` checks at its entry (always, with fuel).
    pub fn at_entry(&self, func: u32) -> bool {
        let Some(p) = &self.poll else {
            return false;
        };
        if self.fuel.is_some() {
            return true;
        }
        match &p.entries {
            None => true,
            Some(e) => e.get(func as usize).copied().unwrap_or(true),
        }
    }

    /// The check (empty when nothing is polled), for emitters that build
    /// instruction lists.
    pub fn poll_instructions(&self, cost: u32) -> Vec<Instruction<'static>> {
        let mut v = Vec::new();
        let Some(p) = &self.poll else {
            return v;
        };
        if let Some(g) = self.fuel {
            v.extend([
                Instruction::GlobalGet(g),
                Instruction::I64Const(cost.max(1) as i64),
                Instruction::I64Sub,
                Instruction::GlobalSet(g),
                Instruction::GlobalGet(g),
                Instruction::I64Const(0),
                Instruction::I64LtS,
            ]);
        }
        if let Some(mem) = p.memory {
            v.push(Instruction::I32Const(0));
            v.push(Instruction::I32Load(wasm_encoder::MemArg {
                offset: 0,
                align: 2,
                memory_index: mem,
            }));
            if self.fuel.is_some() {
                v.push(Instruction::I32Or);
            }
        }
        v.push(Instruction::If(wasm_encoder::BlockType::Empty));
        match p.via {
            PollVia::Import { func, has_result } => {
                v.push(Instruction::Call(func));
                if has_result {
                    v.push(Instruction::Drop);
                }
            }
            PollVia::Table { table, ty } => {
                v.push(Instruction::I32Const(0));
                v.push(Instruction::CallIndirect {
                    type_index: ty,
                    table_index: table,
                });
            }
        }
        v.push(Instruction::End);
        v
    }
}
