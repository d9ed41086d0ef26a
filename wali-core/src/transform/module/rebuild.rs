//! Writing the module again with a plan applied: the new sections and
//! section entries, in the order the binary format requires.

use super::body::remap_body;
use super::par;
use super::{enc_val, ModuleInfo, Plan};
use crate::transform::{memimport, Error};
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::RawSection;
use wasmparser::{Parser, TypeRef};

impl Plan {
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

    fn add_tags(&self, s: &mut wasm_encoder::TagSection) {
        for t in &self.new_tags {
            s.tag(wasm_encoder::TagType {
                kind: wasm_encoder::TagKind::Exception,
                func_type_idx: *t,
            });
        }
    }

    fn add_tables(&self, info: &ModuleInfo, s: &mut wasm_encoder::TableSection) {
        for (k, (size, _)) in self.new_tables.iter().enumerate() {
            let index = info.num_tables + k as u32;
            // A table the host fills has no maximum: wasmer compiles a
            // fixed-size funcref table to a copy its `Table::set` does not
            // update.
            let host_filled = self.table_exports.iter().any(|(_, t)| *t == index);
            s.table(wasm_encoder::TableType {
                element_type: wasm_encoder::RefType::FUNCREF,
                table64: false,
                minimum: *size,
                maximum: (!host_filled).then_some(*size),
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
                // shared: an engine's handle to it keeps it mapped while
                // the native signal handler may set the flag
                shared: true,
                page_size_log2: None,
            });
        }
    }
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
    // The bodies the plan's mappings change, re-encoded side by side on
    // the machine's cores (in the order of the code section).
    let mut remapped = par::map(info.bodies.len(), |i| {
        let func = info.num_func_imports + i as u32;
        let body = &info.bodies[i];
        if plan.bodies.contains_key(&func) {
            return None;
        }
        match plan.touches(func, body) {
            Ok(false) => None,
            Ok(true) => {
                let params = info
                    .func_types
                    .get(func as usize)
                    .and_then(|t| info.types.get(*t as usize))
                    .and_then(|t| t.as_ref())
                    .map_or(0, |t| t.params.len() as u32);
                Some(remap_body(plan, func, params, body))
            }
            Err(e) => Some(Err(e)),
        }
    })
    .into_iter();
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
                plan.add_tables(info, &mut s);
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
                        s.import(memimport::MODULE, memimport::NAME, ty);
                    }
                }
                out.section(&s);
            }
            TableSection(r) => {
                let mut s = wasm_encoder::TableSection::new();
                RoundtripReencoder
                    .parse_table_section(&mut s, r)
                    .map_err(e)?;
                plan.add_tables(info, &mut s);
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
                for (name, g) in &plan.global_exports {
                    s.export(name, wasm_encoder::ExportKind::Global, *g);
                }
                for (name, t) in &plan.table_exports {
                    s.export(name, wasm_encoder::ExportKind::Table, *t);
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
                let pre = remapped.next().flatten();
                if let Some(f) = plan.bodies.get(&func) {
                    c.function(f);
                } else if let Some(f) = pre {
                    c.function(&f?);
                } else {
                    c.raw(&wasm[body.range()]);
                }
            }
            DataSection(r) if !plan.active_data.is_empty() => {
                let mut s = wasm_encoder::DataSection::new();
                for (i, d) in r.into_iter().enumerate() {
                    let d = d?;
                    let active = plan.active_data.iter().find(|(seg, _)| *seg as usize == i);
                    match (active, &d.kind) {
                        (Some((_, off)), wasmparser::DataKind::Passive) => {
                            let at = wasm_encoder::ConstExpr::i32_const(*off as i32);
                            s.active(0, &at, d.data.iter().copied());
                        }
                        _ => RoundtripReencoder.parse_data(&mut s, d).map_err(e)?,
                    }
                }
                out.section(&s);
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
