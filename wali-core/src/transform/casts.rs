//! Calls through cast function pointers.
//!
//! C lets a program call `void f(void *)` through an `int (*)(void *)`
//! pointer; natively the extra result register is garbage and nothing
//! breaks, but wasm's `call_indirect` traps when the callee's type differs.
//! For each `call_indirect` type T that some function in the table could
//! be called as with another, *adaptable* type U (same leading parameter
//! types, at most one result each), every `call_indirect T` becomes a call
//! to a dispatcher that looks the slot up in a jump table built from the
//! table's element segments and calls the function by its own type U:
//! extra arguments dropped, missing ones zero, a missing result read as 0,
//! an unexpected result dropped. Call sites of other types, and modules
//! whose tables hold no such pair, are left alone. The table itself is not
//! changed, so the host still calls guest functions by table index.
//!
//! Most calls through a pointer of type T reach a function of exactly type
//! T. Where table 0 cannot change at run time (defined by the module, no
//! instruction writes a table), each rewritten call site first looks its
//! slot up in a table of its own type's functions (`table.get`, null
//! elsewhere): a hit is the original `call_indirect`, only a miss calls
//! the dispatcher. (Tables of adapters instead, one per type, were measured
//! and not kept: C's casts make nearly every function adaptable to every
//! type, thousands of adapters for bash.)

use super::module::{ModuleInfo, Plan, Sig};
use super::{Error, Outcome};
use std::collections::{BTreeMap, BTreeSet};
use wasm_encoder::{Function, Instruction as I};
use wasmparser::{Operator, ValType};

fn numeric(t: &ValType) -> bool {
    matches!(t, ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64)
}

/// Can a function of type `u` be called as `t` with the native C behaviour?
fn adaptable(t: &Sig, u: &Sig) -> bool {
    t != u
        && t.params
            .iter()
            .chain(&u.params)
            .chain(&t.results)
            .chain(&u.results)
            .all(numeric)
        && t.results.len() <= 1
        && u.results.len() <= 1
        && t.params.iter().zip(&u.params).all(|(a, b)| a == b)
        && (t.results.is_empty() || u.results.is_empty() || t.results == u.results)
}

fn zero(t: ValType) -> I<'static> {
    match t {
        ValType::I64 => I::I64Const(0),
        ValType::F32 => I::F32Const(0.0.into()),
        ValType::F64 => I::F64Const(0.0.into()),
        _ => I::I32Const(0),
    }
}

pub fn plan(info: &ModuleInfo, plan: &mut Plan, out: &mut Outcome) -> Result<(), Error> {
    if info.table0.is_empty() {
        return Ok(());
    }
    if info.table0.len() > 1 << 16 {
        // A jump table per call type would be too large.
        out.notes.push(format!(
            "function-pointer casts not handled: table of {} entries",
            info.table0.len()
        ));
        return Ok(());
    }
    // Canonical type index of each type (first identical signature).
    let canon: Vec<Option<u32>> = info
        .types
        .iter()
        .map(|t| {
            t.as_ref().map(|s| {
                info.types
                    .iter()
                    .position(|x| x.as_ref() == Some(s))
                    .unwrap() as u32
            })
        })
        .collect();
    let slot_types: Vec<Option<u32>> = info
        .table0
        .iter()
        .map(|f| {
            f.and_then(|f| info.func_types.get(f as usize))
                .and_then(|t| canon.get(*t as usize).copied().flatten())
        })
        .collect();
    let in_table: BTreeSet<u32> = slot_types.iter().flatten().copied().collect();
    // The types call_indirect uses on table 0, and whether any code
    // changes a table (then the exact-type tables could go stale).
    let mut site_types: BTreeSet<u32> = BTreeSet::new();
    let mut mutates_tables = false;
    let scans = super::module::par::map(info.bodies.len(), |i| {
        let mut types = BTreeSet::new();
        let mut mutates = false;
        let mut r = info.bodies[i].get_operators_reader()?;
        while !r.eof() {
            match r.read()? {
                Operator::CallIndirect {
                    type_index,
                    table_index: 0,
                } => {
                    types.insert(type_index);
                }
                Operator::TableSet { .. }
                | Operator::TableGrow { .. }
                | Operator::TableFill { .. }
                | Operator::TableCopy { .. }
                | Operator::TableInit { .. } => mutates = true,
                _ => {}
            }
        }
        Ok::<_, Error>((types, mutates))
    });
    for scan in scans {
        let (types, mutates) = scan?;
        site_types.extend(types);
        mutates_tables |= mutates;
    }
    let mut total = 0;
    let table_size = info.table0_min.max(info.table0.len() as u64);
    let fast = !info.table0_imported && !mutates_tables && table_size <= 1 << 16;
    // per canonical type: its dispatcher, and its exact-type table
    let mut by_canon: BTreeMap<u32, (u32, Option<u32>)> = BTreeMap::new();
    for t in site_types {
        let Some(ct) = canon.get(t as usize).copied().flatten() else {
            continue;
        };
        if let Some(&(d, table)) = by_canon.get(&ct) {
            plan.indirect_map.insert(t, d);
            if let Some(k) = table {
                plan.fast_paths.insert(t, k);
            }
            continue;
        }
        let tsig = info.types[ct as usize].clone().unwrap();
        let alts: Vec<u32> = in_table
            .iter()
            .copied()
            .filter(|u| adaptable(&tsig, info.types[*u as usize].as_ref().unwrap()))
            .collect();
        if alts.is_empty() {
            continue;
        }
        // class 0: call as T; class k: call as alts[k-1]
        let class_of = |slot: &Option<u32>| match slot {
            Some(u) => alts.iter().position(|a| a == u).map_or(0, |k| k + 1),
            None => 0,
        };
        let k = alts.len();
        let n = tsig.params.len() as u32;
        let mut f = Function::new([]);
        for _ in 0..=k {
            f.instruction(&I::Block(wasm_encoder::BlockType::Empty));
        }
        // br_table: class c is reached by leaving k - c blocks
        let targets: Vec<u32> = slot_types
            .iter()
            .map(|s| (k - class_of(s)) as u32)
            .collect();
        f.instruction(&I::LocalGet(n));
        f.instruction(&I::BrTable(targets.into(), k as u32));
        f.instruction(&I::End);
        for c in (1..=k).rev() {
            let u = alts[c - 1];
            let usig = info.types[u as usize].as_ref().unwrap();
            for (i, p) in usig.params.iter().enumerate() {
                if (i as u32) < n {
                    f.instruction(&I::LocalGet(i as u32));
                } else {
                    f.instruction(&zero(*p));
                }
            }
            f.instruction(&I::LocalGet(n));
            f.instruction(&I::CallIndirect {
                type_index: u,
                table_index: 0,
            });
            match (tsig.results.first(), usig.results.first()) {
                (Some(t), None) => {
                    f.instruction(&zero(*t));
                }
                (None, Some(_)) => {
                    f.instruction(&I::Drop);
                }
                _ => {}
            }
            f.instruction(&I::Return);
            f.instruction(&I::End);
        }
        for i in 0..n {
            f.instruction(&I::LocalGet(i));
        }
        f.instruction(&I::LocalGet(n));
        f.instruction(&I::CallIndirect {
            type_index: ct,
            table_index: 0,
        });
        f.instruction(&I::End);
        let mut dsig = tsig.clone();
        dsig.params.push(ValType::I32);
        let dty = plan.type_index(info, dsig);
        let d = plan.next_func(info);
        plan.new_funcs.push((dty, f));
        plan.new_names.push(format!("__wali_cast_dispatch_{ct}"));
        plan.indirect_map.insert(t, d);
        let table = fast.then(|| {
            let slots = info
                .table0
                .iter()
                .zip(&slot_types)
                .map(|(f, st)| if *st == Some(ct) { *f } else { None })
                .collect();
            let k = plan.next_table(info);
            plan.new_tables.push((table_size, slots));
            plan.fast_paths.insert(t, k);
            k
        });
        by_canon.insert(ct, (d, table));
        total += 1;
    }
    if total > 0 {
        out.applied.push(format!(
            "function-pointer casts: {total} call_indirect type(s) dispatch to table functions of adaptable types{}",
            if fast { " (exact-type calls take a fast path)" } else { "" }
        ));
    }
    Ok(())
}
