//! Reading a module's structure, and rebuilding it with a plan of changes.
//!
//! This file reads a module into [`ModuleInfo`]; `plan` holds the
//! [`Plan`] of changes the transforms build, `body` re-encodes function
//! bodies with it, and `rebuild` writes the module again; `imports` adds
//! function imports (a pass of its own: it renumbers the functions).

mod body;
mod imports;
pub mod par;
mod plan;
mod rebuild;

pub use body::{enc_val, encoded_locals, with_all_features};
pub use imports::add_func_imports;
pub use plan::{Plan, Poll, PollVia, StackCheck};
pub use rebuild::rebuild;

use super::Error;
use std::collections::HashMap;
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
    /// Type index of every tag, imports first.
    pub tag_types: Vec<u32>,
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
    /// The start function, if any.
    pub start: Option<u32>,
    /// Every data segment: whether it is passive, and its bytes.
    pub data: Vec<(bool, &'a [u8])>,
    /// Every function an element segment (of any table, active, passive or
    /// declared) or a global's initializer names: those an indirect call
    /// may reach.
    pub referenced_funcs: Vec<u32>,
}

/// What `_start` calls instead of `__proc_exit` when main returns.
#[derive(Clone, Copy, Debug)]
pub enum Flush {
    /// The module's `exit(code)`.
    Exit(u32),
    /// `__stdio_exit()`, then `__proc_exit(code)`.
    StdioExit(u32),
    /// `fflush(NULL)`, then `__proc_exit(code)`.
    Fflush(u32),
}

/// Adds the functions a constant expression takes a reference to.
fn ref_funcs(e: &wasmparser::ConstExpr, out: &mut Vec<u32>) -> Result<(), Error> {
    let mut r = e.get_operators_reader();
    while !r.eof() {
        if let Operator::RefFunc { function_index } = r.read()? {
            out.push(function_index);
        }
    }
    Ok(())
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
                            TypeRef::Tag(t) => {
                                m.num_tags += 1;
                                m.tag_types.push(t.func_type_idx);
                            }
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
                Payload::TagSection(r) => {
                    m.num_tags += r.count();
                    for t in r {
                        m.tag_types.push(t?.func_type_idx);
                    }
                }
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
                        let d = d?;
                        let passive = matches!(d.kind, wasmparser::DataKind::Passive);
                        m.has_active_data |= !passive;
                        m.data.push((passive, d.data));
                    }
                }
                Payload::StartSection { func, .. } => m.start = Some(func),
                Payload::GlobalSection(r) => {
                    for g in r {
                        let g = g?;
                        ref_funcs(&g.init_expr, &mut m.referenced_funcs)?;
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
                        match e.items.clone() {
                            wasmparser::ElementItems::Functions(fs) => {
                                for f in fs {
                                    m.referenced_funcs.push(f?);
                                }
                            }
                            wasmparser::ElementItems::Expressions(_, es) => {
                                for x in es {
                                    ref_funcs(&x?, &mut m.referenced_funcs)?;
                                }
                            }
                        }
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
    pub fn exit_on_return(&self) -> Result<Option<(u32, u32, Flush)>, String> {
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
        let defined = |name: &str, sig: &Sig| {
            self.func_by_name(name)
                .filter(|f| *f >= self.num_func_imports && self.sig_of_func(*f) == Some(sig))
        };
        if let Some(e) = defined("exit", &want) {
            return Ok(Some((start, pe, Flush::Exit(e))));
        }
        if self.func_by_name("exit").is_some() {
            return Err("the function named `exit` does not have type (i32) -> ()".into());
        }
        // The linker dropped exit (only the crt returns from main): flush
        // stdio as exit would, then __proc_exit.
        let none = Sig {
            params: vec![],
            results: vec![],
        };
        if let Some(f) = defined("__stdio_exit", &none) {
            return Ok(Some((start, pe, Flush::StdioExit(f))));
        }
        let fflush = Sig {
            params: vec![ValType::I32],
            results: vec![ValType::I32],
        };
        if let Some(f) = defined("fflush", &fflush) {
            return Ok(Some((start, pe, Flush::Fflush(f))));
        }
        Err("the module's name section names no `exit`, `__stdio_exit` or `fflush`: buffered output may be lost when main returns".into())
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
