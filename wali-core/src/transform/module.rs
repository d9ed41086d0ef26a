//! Reading a module's structure, and rebuilding it with a plan of changes.

use super::Error;
use std::collections::HashMap;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{Instruction, RawSection};
use wasmparser::{ExternalKind, FunctionBody, Name, Operator, Parser, Payload, TypeRef, ValType};

/// A function signature.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Sig {
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

/// What the transforms need to know about a module.
#[derive(Default)]
pub struct ModuleInfo<'a> {
    /// Every type (None: not a function type).
    pub types: Vec<Option<Sig>>,
    /// Type index of every function, imports first.
    pub func_types: Vec<u32>,
    pub num_func_imports: u32,
    /// (module, name) of each imported function.
    pub func_imports: Vec<(&'a str, &'a str)>,
    pub exports: Vec<(&'a str, ExternalKind, u32)>,
    pub func_names: HashMap<u32, &'a str>,
    pub global_names: HashMap<u32, &'a str>,
    /// Type and mutability of every global, imports first.
    pub globals: Vec<(ValType, bool)>,
    pub num_tags: u32,
    /// Initial contents of table 0 (slot -> function), from active element segments.
    pub table0: Vec<Option<u32>>,
    pub has_table0: bool,
    /// Tables, imported and defined.
    pub num_tables: u32,
    /// Table 0's initial size.
    pub table0_min: u64,
    /// Table 0 is imported (others may change it).
    pub table0_imported: bool,
    pub bodies: Vec<FunctionBody<'a>>,
    /// The module's own memory 0, if it defines one (and imports none).
    pub defined_memory: Option<wasmparser::MemoryType>,
    pub imports_memory: bool,
    /// Memories, imported and defined.
    pub num_memories: u32,
    /// A 64-bit memory or table (memory64 / table64): not a wasm32 module.
    pub has_64bit_index: bool,
    /// Table 0 holds something other than functions (no indirect calls
    /// through it).
    pub table0_not_func: bool,
    pub has_active_data: bool,
}

impl<'a> ModuleInfo<'a> {
    pub fn parse(wasm: &'a [u8]) -> Result<ModuleInfo<'a>, Error> {
        let mut m = ModuleInfo::default();
        for payload in Parser::new(0).parse_all(wasm) {
            match payload? {
                Payload::Version {
                    encoding: wasmparser::Encoding::Component,
                    ..
                } => {
                    return Err(Error("a component, not a core module".into()));
                }
                Payload::TypeSection(r) => {
                    for rg in r {
                        for st in rg?.into_types() {
                            m.types.push(match &st.composite_type.inner {
                                wasmparser::CompositeInnerType::Func(f) => Some(Sig {
                                    params: f.params().to_vec(),
                                    results: f.results().to_vec(),
                                }),
                                _ => None,
                            });
                        }
                    }
                }
                Payload::ImportSection(r) => {
                    for imp in r.into_imports() {
                        let imp = imp?;
                        match imp.ty {
                            TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                                m.func_types.push(t);
                                m.func_imports.push((imp.module, imp.name));
                                m.num_func_imports += 1;
                            }
                            TypeRef::Global(g) => m.globals.push((g.content_type, g.mutable)),
                            TypeRef::Tag(_) => m.num_tags += 1,
                            TypeRef::Table(t) => {
                                m.num_tables += 1;
                                if !m.has_table0 {
                                    m.table0_min = t.initial;
                                    m.table0_imported = true;
                                    m.table0_not_func = !t.element_type.is_func_ref();
                                }
                                m.has_table0 = true;
                                m.has_64bit_index |= t.table64;
                            }
                            TypeRef::Memory(mt) => {
                                m.has_64bit_index |= mt.memory64;
                                m.imports_memory = true;
                                m.num_memories += 1;
                            }
                        }
                    }
                }
                Payload::FunctionSection(r) => {
                    for t in r {
                        m.func_types.push(t?);
                    }
                }
                Payload::TableSection(r) if r.count() > 0 => {
                    for t in r {
                        let t = t?.ty;
                        m.num_tables += 1;
                        if !m.has_table0 {
                            m.table0_min = t.initial;
                            m.table0_not_func = !t.element_type.is_func_ref();
                        }
                        m.has_table0 = true;
                        m.has_64bit_index |= t.table64;
                    }
                }
                Payload::TagSection(r) => m.num_tags += r.count(),
                Payload::MemorySection(r) => {
                    m.num_memories += r.count();
                    for mt in r.clone() {
                        m.has_64bit_index |= mt?.memory64;
                    }
                    if r.count() == 1 && !m.imports_memory {
                        m.defined_memory = r.into_iter().next().and_then(|x| x.ok());
                    }
                }
                Payload::DataSection(r) => {
                    for d in r {
                        if matches!(d?.kind, wasmparser::DataKind::Active { .. }) {
                            m.has_active_data = true;
                        }
                    }
                }
                Payload::GlobalSection(r) => {
                    for g in r {
                        let g = g?;
                        m.globals.push((g.ty.content_type, g.ty.mutable));
                    }
                }
                Payload::ExportSection(r) => {
                    for e in r {
                        let e = e?;
                        m.exports.push((e.name, e.kind, e.index));
                    }
                }
                Payload::ElementSection(r) => {
                    for e in r {
                        let e = e?;
                        let wasmparser::ElementKind::Active {
                            table_index,
                            offset_expr,
                        } = e.kind
                        else {
                            continue;
                        };
                        if table_index.unwrap_or(0) != 0 {
                            continue;
                        }
                        let mut ops = offset_expr.get_operators_reader();
                        let Ok(Operator::I32Const { value }) = ops.read() else {
                            continue;
                        };
                        let first = value as u32 as usize;
                        let funcs: Vec<Option<u32>> = match e.items {
                            wasmparser::ElementItems::Functions(fs) => {
                                fs.into_iter().map(|f| f.ok()).collect()
                            }
                            wasmparser::ElementItems::Expressions(_, es) => es
                                .into_iter()
                                .map(|x| {
                                    let x = x.ok()?;
                                    match x.get_operators_reader().read().ok()? {
                                        Operator::RefFunc { function_index } => {
                                            Some(function_index)
                                        }
                                        _ => None,
                                    }
                                })
                                .collect(),
                        };
                        for (slot, f) in (first..).zip(funcs) {
                            if slot >= 1 << 24 {
                                break;
                            }
                            if m.table0.len() <= slot {
                                m.table0.resize(slot + 1, None);
                            }
                            m.table0[slot] = f;
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => m.bodies.push(body),
                Payload::CustomSection(c) => {
                    if let wasmparser::KnownCustom::Name(names) = c.as_known() {
                        for n in names {
                            match n {
                                Ok(Name::Function(map)) => {
                                    for nm in map.into_iter().flatten() {
                                        m.func_names.insert(nm.index, nm.name);
                                    }
                                }
                                Ok(Name::Global(map)) => {
                                    for nm in map.into_iter().flatten() {
                                        m.global_names.insert(nm.index, nm.name);
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if m.table0_not_func {
            // nothing to call through it: the casts and trampolines leave it
            m.has_table0 = false;
            m.table0.clear();
        }
        Ok(m)
    }

    pub fn sig_of_func(&self, f: u32) -> Option<&Sig> {
        self.types
            .get(*self.func_types.get(f as usize)? as usize)?
            .as_ref()
    }

    pub fn export_func(&self, name: &str) -> Option<u32> {
        self.exports
            .iter()
            .find(|(n, k, _)| *n == name && *k == ExternalKind::Func)
            .map(|e| e.2)
    }

    pub fn import_func(&self, module: &str, name: &str) -> Option<u32> {
        self.func_imports
            .iter()
            .position(|(m, n)| *m == module && *n == name)
            .map(|i| i as u32)
    }

    pub fn func_by_name(&self, name: &str) -> Option<u32> {
        self.func_names
            .iter()
            .find(|(_, n)| **n == name)
            .map(|(i, _)| *i)
    }

    /// The body of function `f` (a defined function).
    pub fn body(&self, f: u32) -> Option<&FunctionBody<'a>> {
        self.bodies
            .get(f.checked_sub(self.num_func_imports)? as usize)
    }

    /// `(start, __proc_exit, exit)` when `_start` calls `__proc_exit` and the
    /// module has an `exit(int)` to call instead.
    pub fn exit_on_return(&self) -> Result<Option<(u32, u32, u32)>, String> {
        let (Some(start), Some(pe)) = (
            self.export_func("_start"),
            self.import_func("wali", "__proc_exit"),
        ) else {
            return Ok(None);
        };
        let Some(body) = self.body(start) else {
            return Ok(None);
        };
        let mut calls = false;
        let mut r = body.get_operators_reader().map_err(|e| e.to_string())?;
        while !r.eof() {
            if let Ok(Operator::Call { function_index }) = r.read() {
                calls |= function_index == pe;
            } else if r.eof() {
                break;
            }
        }
        if !calls {
            return Ok(None);
        }
        let want = Sig {
            params: vec![ValType::I32],
            results: vec![],
        };
        match self.func_by_name("exit") {
            Some(e) if self.sig_of_func(e) == Some(&want) && e >= self.num_func_imports => Ok(Some((start, pe, e))),
            Some(_) => Err("the function named `exit` does not have type (i32) -> ()".into()),
            None => Err("the module's name section does not name `exit`: buffered output may be lost when main returns".into()),
        }
    }

    /// The global holding the shadow stack pointer.
    pub fn stack_pointer(&self) -> Option<u32> {
        if let Some((i, _)) = self
            .global_names
            .iter()
            .find(|(_, n)| **n == "__stack_pointer")
        {
            return Some(*i);
        }
        match self.globals.first() {
            Some((ValType::I32, true)) => Some(0),
            _ => None,
        }
    }
}

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
}

/// How polled code reaches the host when the flag is set.
pub struct Poll {
    /// The flag's memory (a word at address 0), when signals are polled.
    pub memory: Option<u32>,
    /// An imported function without parameters, called (its result
    /// dropped) so the host runs at a safe point.
    pub func: u32,
    pub has_result: bool,
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

    fn add_globals(&self, s: &mut wasm_encoder::GlobalSection) {
        // i64 globals first: they are planned before any i32 one.
        for (g, _) in &self.new_i64_globals {
            let ty = wasm_encoder::GlobalType {
                val_type: wasm_encoder::ValType::I64,
                mutable: true,
                shared: false,
            };
            s.global(ty, &wasm_encoder::ConstExpr::i64_const(*g));
        }
        for g in &self.new_globals {
            let ty = wasm_encoder::GlobalType {
                val_type: wasm_encoder::ValType::I32,
                mutable: true,
                shared: false,
            };
            s.global(ty, &wasm_encoder::ConstExpr::i32_const(*g));
        }
    }

    /// The index the next new i64 global will have: they come before the
    /// new i32 globals, so all must be planned before any i32 one.
    pub fn next_i64_global(&self, info: &ModuleInfo) -> u32 {
        debug_assert!(self.new_globals.is_empty());
        (info.globals.len() + self.new_i64_globals.len()) as u32
    }

    fn add_tags(&self, s: &mut wasm_encoder::TagSection) {
        for t in &self.new_tags {
            s.tag(wasm_encoder::TagType {
                kind: wasm_encoder::TagKind::Exception,
                func_type_idx: *t,
            });
        }
    }

    /// The index the next new table will have.
    pub fn next_table(&self, info: &ModuleInfo) -> u32 {
        info.num_tables + self.new_tables.len() as u32
    }

    fn add_tables(&self, s: &mut wasm_encoder::TableSection) {
        for (size, _) in &self.new_tables {
            s.table(wasm_encoder::TableType {
                element_type: wasm_encoder::RefType::FUNCREF,
                table64: false,
                minimum: *size,
                maximum: Some(*size),
                shared: false,
            });
        }
    }

    /// Active segments filling the new tables (one per run of non-empty
    /// slots; the others stay null).
    fn add_elements(&self, info: &ModuleInfo, s: &mut wasm_encoder::ElementSection) {
        for (k, (_, slots)) in self.new_tables.iter().enumerate() {
            let table = info.num_tables + k as u32;
            let mut i = 0;
            while i < slots.len() {
                if slots[i].is_none() {
                    i += 1;
                    continue;
                }
                let start = i;
                let mut run = Vec::new();
                while let Some(Some(f)) = slots.get(i) {
                    run.push(*f);
                    i += 1;
                }
                s.active(
                    Some(table),
                    &wasm_encoder::ConstExpr::i32_const(start as i32),
                    wasm_encoder::Elements::Functions(run.into()),
                );
            }
        }
    }

    fn add_memories(&self, s: &mut wasm_encoder::MemorySection) {
        for _ in &self.new_memories {
            s.memory(wasm_encoder::MemoryType {
                minimum: 1,
                maximum: Some(1),
                memory64: false,
                shared: false,
                page_size_log2: None,
            });
        }
    }

    /// The check at a function entry or loop header: `fuel -= cost;` and
    /// `if (flag || fuel < 0) poll();`, as far as each is planned.
    fn emit_poll(&self, f: &mut wasm_encoder::Function, cost: u32) {
        for i in self.poll_instructions(cost) {
            f.instruction(&i);
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
        v.push(Instruction::Call(p.func));
        if p.has_result {
            v.push(Instruction::Drop);
        }
        v.push(Instruction::End);
        v
    }

    fn touches(&self, func: u32, body: &FunctionBody) -> Result<bool, Error> {
        if self.poll.is_some() {
            return Ok(true);
        }
        if self.call_map.is_empty()
            && self.indirect_map.is_empty()
            && !self.redirect_calls.iter().any(|r| r.0 == func)
        {
            return Ok(false);
        }
        let mut r = body.get_operators_reader()?;
        while !r.eof() {
            if self.map_op(func, &r.read()?).is_some() {
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
fn remap_body(
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
    let mut f = wasm_encoder::Function::new(locals);
    // Fuel: the entry charges the function's length, each loop header its
    // body's length (each time round), so a unit is about an instruction.
    let (len, mut loop_costs) = if plan.fuel.is_some() {
        loop_lengths(body)?
    } else {
        (1, Vec::new())
    };
    loop_costs.reverse();
    plan.emit_poll(&mut f, len);
    let mut r = body.get_operators_reader()?;
    while !r.eof() {
        let op = r.read()?;
        if let Operator::Loop { .. } = op {
            let i = RoundtripReencoder
                .instruction(op)
                .map_err(|e| Error(e.to_string()))?;
            f.instruction(&i);
            plan.emit_poll(&mut f, loop_costs.pop().unwrap_or(1));
            continue;
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

/// Writes the module again with the plan applied.
pub fn rebuild(wasm: &[u8], info: &ModuleInfo, plan: &Plan) -> Result<Vec<u8>, Error> {
    use wasmparser::Payload::*;
    let e = |x: wasm_encoder::reencode::Error| Error(x.to_string());
    let mut out = wasm_encoder::Module::new();
    let mut tags_done = plan.new_tags.is_empty();
    let mut globals_done = plan.new_globals.is_empty() && plan.new_i64_globals.is_empty();
    let mut memories_done = plan.new_memories.is_empty();
    let mut tables_done = plan.new_tables.is_empty();
    let mut elems_done = plan.new_tables.is_empty();
    let mut code: Option<wasm_encoder::CodeSection> = None;
    let mut body_index = 0u32;
    let mut seen_funcs_section = false;
    // Section ids in their required order, for placing new sections.
    const TAG_BEFORE: &[u8] = &[6, 7, 8, 9, 12, 10, 11];
    const GLOBAL_BEFORE: &[u8] = &[7, 8, 9, 12, 10, 11];
    const MEMORY_BEFORE: &[u8] = &[13, 6, 7, 8, 9, 12, 10, 11];
    const TABLE_BEFORE: &[u8] = &[5, 13, 6, 7, 8, 9, 12, 10, 11];
    const ELEMENT_BEFORE: &[u8] = &[12, 10, 11];
    let place_tables =
        |out: &mut wasm_encoder::Module, id: u8, tables_done: &mut bool, elems_done: &mut bool| {
            if !*tables_done && TABLE_BEFORE.contains(&id) {
                let mut s = wasm_encoder::TableSection::new();
                plan.add_tables(&mut s);
                out.section(&s);
                *tables_done = true;
            }
            if !*elems_done && ELEMENT_BEFORE.contains(&id) {
                let mut s = wasm_encoder::ElementSection::new();
                plan.add_elements(info, &mut s);
                out.section(&s);
                *elems_done = true;
            }
        };
    let place_new = |out: &mut wasm_encoder::Module,
                     id: u8,
                     tags_done: &mut bool,
                     globals_done: &mut bool,
                     memories_done: &mut bool| {
        if !*memories_done && MEMORY_BEFORE.contains(&id) {
            let mut s = wasm_encoder::MemorySection::new();
            plan.add_memories(&mut s);
            out.section(&s);
            *memories_done = true;
        }
        if !*tags_done && TAG_BEFORE.contains(&id) {
            let mut s = wasm_encoder::TagSection::new();
            plan.add_tags(&mut s);
            out.section(&s);
            *tags_done = true;
        }
        if !*globals_done && GLOBAL_BEFORE.contains(&id) {
            let mut s = wasm_encoder::GlobalSection::new();
            plan.add_globals(&mut s);
            out.section(&s);
            *globals_done = true;
        }
    };
    let finish_code = |out: &mut wasm_encoder::Module,
                       code: &mut Option<wasm_encoder::CodeSection>| {
        if let Some(mut c) = code.take() {
            for (_, f) in &plan.new_funcs {
                c.function(f);
            }
            out.section(&c);
        }
    };
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        if !matches!(payload, CodeSectionEntry(_) | CodeSectionStart { .. }) {
            finish_code(&mut out, &mut code);
        }
        if let Some((id, _)) = payload.as_section() {
            if id != 0 {
                place_tables(&mut out, id, &mut tables_done, &mut elems_done);
                place_new(
                    &mut out,
                    id,
                    &mut tags_done,
                    &mut globals_done,
                    &mut memories_done,
                );
            }
        }
        match payload {
            TypeSection(r) => {
                let mut s = wasm_encoder::TypeSection::new();
                RoundtripReencoder
                    .parse_type_section(&mut s, r)
                    .map_err(e)?;
                for t in &plan.new_types {
                    s.ty().function(
                        t.params.iter().map(|v| enc_val(*v)),
                        t.results.iter().map(|v| enc_val(*v)),
                    );
                }
                out.section(&s);
            }
            ImportSection(r) => {
                let mut s = wasm_encoder::ImportSection::new();
                let mut fi = 0u32;
                for imp in r.into_imports() {
                    let imp = imp?;
                    let ty = RoundtripReencoder.entity_type(imp.ty).map_err(e)?;
                    let mut name = imp.name;
                    if matches!(imp.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        if let Some(n) = plan.renames.get(&fi) {
                            name = n;
                        }
                        fi += 1;
                    }
                    s.import(imp.module, name, ty);
                }
                if plan.memory_to_import {
                    if let Some(m) = &info.defined_memory {
                        let ty = RoundtripReencoder.memory_type(*m).map_err(e)?;
                        s.import(super::memimport::MODULE, super::memimport::NAME, ty);
                    }
                }
                out.section(&s);
            }
            TableSection(r) => {
                let mut s = wasm_encoder::TableSection::new();
                RoundtripReencoder
                    .parse_table_section(&mut s, r)
                    .map_err(e)?;
                plan.add_tables(&mut s);
                tables_done = true;
                out.section(&s);
            }
            ElementSection(r) => {
                let mut s = wasm_encoder::ElementSection::new();
                RoundtripReencoder
                    .parse_element_section(&mut s, r)
                    .map_err(e)?;
                plan.add_elements(info, &mut s);
                elems_done = true;
                out.section(&s);
            }
            MemorySection(r) => {
                let mut s = wasm_encoder::MemorySection::new();
                if !plan.memory_to_import {
                    RoundtripReencoder
                        .parse_memory_section(&mut s, r)
                        .map_err(e)?;
                }
                plan.add_memories(&mut s);
                memories_done = true;
                if !s.is_empty() {
                    out.section(&s);
                }
            }
            FunctionSection(r) => {
                let mut s = wasm_encoder::FunctionSection::new();
                for t in r {
                    s.function(t?);
                }
                for (t, _) in &plan.new_funcs {
                    s.function(*t);
                }
                out.section(&s);
                seen_funcs_section = true;
            }
            ExportSection(r) => {
                let mut s = wasm_encoder::ExportSection::new();
                RoundtripReencoder
                    .parse_export_section(&mut s, r)
                    .map_err(e)?;
                for (name, f) in &plan.new_exports {
                    s.export(name, wasm_encoder::ExportKind::Func, *f);
                }
                for (k, name) in plan.new_memories.iter().enumerate() {
                    s.export(
                        name,
                        wasm_encoder::ExportKind::Memory,
                        info.num_memories + k as u32,
                    );
                }
                let first_i64 = info.globals.len() as u32;
                for (k, (_, name)) in plan.new_i64_globals.iter().enumerate() {
                    s.export(name, wasm_encoder::ExportKind::Global, first_i64 + k as u32);
                }
                out.section(&s);
            }
            GlobalSection(r) => {
                let mut s = wasm_encoder::GlobalSection::new();
                RoundtripReencoder
                    .parse_global_section(&mut s, r)
                    .map_err(e)?;
                plan.add_globals(&mut s);
                globals_done = true;
                out.section(&s);
            }
            TagSection(r) => {
                let mut s = wasm_encoder::TagSection::new();
                RoundtripReencoder.parse_tag_section(&mut s, r).map_err(e)?;
                plan.add_tags(&mut s);
                tags_done = true;
                out.section(&s);
            }
            CodeSectionStart { .. } => {
                code = Some(wasm_encoder::CodeSection::new());
            }
            CodeSectionEntry(body) => {
                let func = info.num_func_imports + body_index;
                body_index += 1;
                let c = code.as_mut().expect("code section started");
                if let Some(f) = plan.bodies.get(&func) {
                    c.function(f);
                } else if plan.touches(func, &body)? {
                    let params = info
                        .func_types
                        .get(func as usize)
                        .and_then(|t| info.types.get(*t as usize))
                        .and_then(|t| t.as_ref())
                        .map_or(0, |t| t.params.len() as u32);
                    c.function(&remap_body(plan, func, params, &body)?);
                } else {
                    c.raw(&wasm[body.range()]);
                }
            }
            CustomSection(c) if c.name() == "name" && !plan.new_names.is_empty() => {
                let data =
                    names_with_new(info, plan, c.data()).unwrap_or_else(|| c.data().to_vec());
                out.section(&wasm_encoder::CustomSection {
                    name: "name".into(),
                    data: data.into(),
                });
            }
            End(_) => {}
            other => {
                if let Some((id, range)) = other.as_section() {
                    out.section(&RawSection {
                        id,
                        data: &wasm[range],
                    });
                }
            }
        }
    }
    finish_code(&mut out, &mut code);
    if !tables_done || !elems_done {
        return Err(Error("new tables not placed".into()));
    }
    if !plan.new_funcs.is_empty() && !seen_funcs_section {
        return Err(Error("module without a function section".into()));
    }
    let bytes = out.finish();
    Ok(bytes)
}

/// The name section's content with the plan's new functions named (their
/// names show in trap messages); `None` when it cannot be read.
fn names_with_new(info: &ModuleInfo, plan: &Plan, data: &[u8]) -> Option<Vec<u8>> {
    use wasm_encoder::Encode;
    let mut out = Vec::new();
    let mut pos = 0;
    let mut saw_functions = false;
    let first_new = info.func_types.len() as u32;
    let encode_new = |map: &mut wasm_encoder::NameMap| {
        for (i, n) in plan.new_names.iter().enumerate() {
            map.append(first_new + i as u32, n);
        }
    };
    while pos < data.len() {
        let id = data[pos];
        let mut r = wasmparser::BinaryReader::new(&data[pos + 1..], 0);
        let size = r.read_var_u32().ok()? as usize;
        let start = pos + 1 + r.original_position();
        let end = start.checked_add(size).filter(|e| *e <= data.len())?;
        if id == 1 {
            saw_functions = true;
            let reader =
                wasmparser::NameMap::new(wasmparser::BinaryReader::new(&data[start..end], 0))
                    .ok()?;
            let mut map = wasm_encoder::NameMap::new();
            for n in reader {
                let n = n.ok()?;
                map.append(n.index, n.name);
            }
            encode_new(&mut map);
            let mut body = Vec::new();
            map.encode(&mut body);
            out.push(1);
            body.len().encode(&mut out);
            out.extend_from_slice(&body);
        } else {
            out.extend_from_slice(&data[pos..end]);
        }
        pos = end;
    }
    if !saw_functions {
        return None;
    }
    Some(out)
}
