//! Signal polling, because neither engine can interrupt running wasm and
//! resume it where the host wants: defined functions check a flag word at
//! loop headers (and entries, below) — `if (flag) poll();` — so a guest
//! that computes without syscalls still reaches a safe point soon after a
//! signal arrives. The flag lives at address 0 of a new one-page shared
//! memory the module exports as [`FLAG_EXPORT`]; the host sets it from its
//! signal handler ([`crate::sys::signal::PollFlag`]) and clears it when an
//! import returns. (On wasmtime this measured cheaper than its epoch
//! interruption, which checks at every function entry: see BENCHMARKS.md.)
//! `poll` is an import the module already has and that takes no argument
//! (`__cl_get_argc`, `SYS_getpid` ...): the host delivers pending signals
//! on return from any import. A module without one calls through a table
//! the host fills ([`POLL_TABLE_EXPORT`]).
//!
//! Only the functions on a cycle of the call graph check at their entry
//! (signals without fuel): a function on no cycle can only call functions
//! that end without it being called again, so a computation that runs on
//! without a loop header runs round a cycle of calls, and every cycle has
//! a checked entry. An indirect call may reach every function a table or
//! a reference can hold; calls through the host (a signal handler, a
//! longjmp) pass a safe point there. With fuel every entry charges.

use super::module::{ModuleInfo, Plan, Poll, PollVia, Sig};
use super::Outcome;
use wasmparser::Operator;

/// Export name of the flag memory.
pub const FLAG_EXPORT: &str = "__wali_signal_flag";

/// Export name of the one-slot funcref table a module that imports no
/// argument-less call polls through: the host puts a function of type
/// `[] -> []` in slot 0 before the guest runs, and delivers on its return
/// as on an import's.
pub const POLL_TABLE_EXPORT: &str = "__wali_poll";

/// Imports the poll may call, best first: no side effect, not traced.
const POLL_WITH: &[&str] = &[
    "__cl_get_argc",
    "SYS_getpid",
    "SYS_gettid",
    "SYS_getppid",
    "SYS_getuid",
    "SYS_geteuid",
    "SYS_getgid",
    "SYS_getegid",
    "SYS_getpgrp",
    "SYS_sched_yield",
];

/// Export name of the fuel global (i64, mutable): what is left; the host
/// sets it before the guest runs, and the guest polls once it is negative.
pub const FUEL_EXPORT: &str = "__wali_fuel";

/// Plans signal polling (`signals`) and fuel metering (`fuel`), which
/// share the checks at function entries and loop headers.
pub fn plan(info: &ModuleInfo, plan: &mut Plan, out: &mut Outcome, signals: bool, fuel: bool) {
    if !signals && !fuel {
        return;
    }
    let entries = if fuel {
        None
    } else {
        on_cycles(info).map(|(mut e, any_loop)| {
            // An entry that reaches a (checked) loop header before it can
            // branch or call needs no check of its own.
            for (i, body) in info.bodies.iter().enumerate() {
                let f = info.num_func_imports as usize + i;
                if e[f] && loop_first(body) {
                    e[f] = false;
                }
            }
            (e, any_loop)
        })
    };
    if let Some((e, any_loop)) = &entries {
        if !e.iter().any(|x| *x) && !any_loop {
            // every call ends: nothing to check
            return;
        }
    }
    let entries = entries.map(|(e, _)| e);
    let found = POLL_WITH.iter().find_map(|name| {
        let f = info.import_func(wali_spec::MODULE, name)?;
        let sig = info.sig_of_func(f)?;
        (sig.params.is_empty() && sig.results.len() <= 1).then_some(PollVia::Import {
            func: f,
            has_result: !sig.results.is_empty(),
        })
    });
    let via = match found {
        Some(via) => via,
        None => {
            // nothing to call: a table slot the host fills
            let ty = plan.type_index(
                info,
                Sig {
                    params: vec![],
                    results: vec![],
                },
            );
            let table = plan.next_table(info);
            plan.new_tables.push((1, vec![None]));
            plan.table_exports.push((POLL_TABLE_EXPORT, table));
            out.notes.push(format!(
                "signal polling: the module imports no argument-less call, so the checks call \
                 through the table {POLL_TABLE_EXPORT}, which the host fills"
            ));
            PollVia::Table { table, ty }
        }
    };
    if signals {
        plan.new_memories.push(FLAG_EXPORT);
        let at = match &entries {
            None => "function entries".to_string(),
            Some(e) => format!(
                "the entries of {} of {} functions (those on a call cycle that can call \
                 before a loop header)",
                e.iter().filter(|x| **x).count(),
                info.bodies.len()
            ),
        };
        out.applied.push(format!(
            "signal polling: loop headers and {at} check a flag the host sets when a signal arrives"
        ));
    }
    plan.poll = Some(Poll {
        memory: signals.then_some(info.num_memories),
        via,
        entries,
    });
    if fuel {
        plan.fuel = Some(plan.next_i64_global(info));
        plan.new_i64_globals.push((i64::MAX, FUEL_EXPORT));
        out.applied.push(
            "fuel: function entries and loop headers charge the instructions they lead to".into(),
        );
    }
}

/// Whether every run of `body` reaches the header of a loop before any
/// call, branch or return: straight-line code (locals, globals,
/// constants, integer arithmetic, loads and stores, entering a block) and
/// then a `loop`. Such a function's entry check is its first loop
/// header's: a cycle of calls through it passes that check.
fn loop_first(body: &wasmparser::FunctionBody) -> bool {
    use Operator as O;
    let Ok(mut r) = body.get_operators_reader() else {
        return false;
    };
    while !r.eof() {
        let Ok(op) = r.read() else {
            return false;
        };
        match op {
            O::Loop { .. } => return true,
            O::Block { .. }
            | O::Nop
            | O::Drop
            | O::Select
            | O::LocalGet { .. }
            | O::LocalSet { .. }
            | O::LocalTee { .. }
            | O::GlobalGet { .. }
            | O::GlobalSet { .. }
            | O::I32Const { .. }
            | O::I64Const { .. }
            | O::I32Load { .. }
            | O::I64Load { .. }
            | O::I32Load8S { .. }
            | O::I32Load8U { .. }
            | O::I32Load16S { .. }
            | O::I32Load16U { .. }
            | O::I32Store { .. }
            | O::I64Store { .. }
            | O::I32Store8 { .. }
            | O::I32Store16 { .. }
            | O::I32Add
            | O::I32Sub
            | O::I32Mul
            | O::I32And
            | O::I32Or
            | O::I32Xor
            | O::I32Shl
            | O::I32ShrS
            | O::I32ShrU
            | O::I32Eqz
            | O::I32Eq
            | O::I32Ne
            | O::I32LtS
            | O::I32LtU
            | O::I32GtS
            | O::I32GtU
            | O::I32LeS
            | O::I32LeU
            | O::I32GeS
            | O::I32GeU
            | O::I64Add
            | O::I64Sub
            | O::I64Mul
            | O::I64And
            | O::I64Or
            | O::I64Xor
            | O::I64Shl
            | O::I64ShrS
            | O::I64ShrU
            | O::I64Eqz
            | O::I32WrapI64
            | O::I64ExtendI32S
            | O::I64ExtendI32U => {}
            _ => return false,
        }
    }
    false
}

/// For each function (by function index; imports are false), whether it
/// lies on a cycle of the call graph (and so must check at its entry),
/// and whether any defined function has a loop; `None` when a body cannot
/// be read (then every entry checks). The graph has one node per defined
/// function and one for "an indirect call", which leads to every function
/// an element segment or a global names.
fn on_cycles(info: &ModuleInfo) -> Option<(Vec<bool>, bool)> {
    let n = info.bodies.len();
    let indirect = n;
    let defined = |f: u32| {
        f.checked_sub(info.num_func_imports)
            .map(|i| i as usize)
            .filter(|i| *i < n)
    };
    let mut any_loop = false;
    let scans = super::module::par::map(n, |i| {
        let mut to_of = Vec::new();
        let mut has_loop = false;
        let mut r = info.bodies[i].get_operators_reader().ok()?;
        while !r.eof() {
            let to = match r.read().ok()? {
                Operator::Loop { .. } => {
                    has_loop = true;
                    None
                }
                Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                    defined(function_index)
                }
                Operator::CallIndirect { .. }
                | Operator::ReturnCallIndirect { .. }
                | Operator::CallRef { .. }
                | Operator::ReturnCallRef { .. } => Some(indirect),
                _ => None,
            };
            to_of.extend(to);
        }
        Some((to_of, has_loop))
    });
    let mut edges: Vec<Vec<usize>> = Vec::with_capacity(n + 1);
    for scan in scans {
        let (to, has_loop) = scan?;
        any_loop |= has_loop;
        edges.push(to);
    }
    edges.push(Vec::new());
    edges[indirect].extend(info.referenced_funcs.iter().filter_map(|f| defined(*f)));
    for e in &mut edges {
        e.sort_unstable();
        e.dedup();
    }
    let comp = components(&edges);
    let mut size = vec![0usize; n + 1];
    for c in &comp {
        size[*c] += 1;
    }
    let imports = std::iter::repeat_n(false, info.num_func_imports as usize);
    Some((
        imports
            .chain((0..n).map(|i| size[comp[i]] > 1 || edges[i].contains(&i)))
            .collect(),
        any_loop,
    ))
}

/// The strongly connected component of every node (Tarjan's algorithm,
/// iterative: a module may have a deep call graph).
fn components(edges: &[Vec<usize>]) -> Vec<usize> {
    const NONE: usize = usize::MAX;
    let n = edges.len();
    let mut index = vec![NONE; n];
    let mut low = vec![0; n];
    let mut comp = vec![NONE; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut ncomp = 0;
    // (node, how many of its edges are done)
    let mut work: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if index[root] != NONE {
            continue;
        }
        work.push((root, 0));
        while let Some(&mut (v, ref mut done)) = work.last_mut() {
            if *done == 0 && index[v] == NONE {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = edges[v].get(*done) {
                *done += 1;
                if index[w] == NONE {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp[w] = ncomp;
                    if w == v {
                        break;
                    }
                }
                ncomp += 1;
            }
        }
    }
    comp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cyclic(edges: &[&[usize]]) -> Vec<bool> {
        let edges: Vec<Vec<usize>> = edges.iter().map(|e| e.to_vec()).collect();
        let comp = components(&edges);
        (0..edges.len())
            .map(|i| comp.iter().filter(|c| **c == comp[i]).count() > 1 || edges[i].contains(&i))
            .collect()
    }

    #[test]
    fn components_find_cycles_and_self_loops() {
        // 0 -> 1 -> 2 -> 0 is a cycle; 3 calls into it and into the cycle
        // 6 <-> 7; 4 calls itself; 5 is a leaf
        let g: &[&[usize]] = &[&[1], &[2], &[0, 5], &[0, 6], &[4], &[], &[7], &[6]];
        assert_eq!(
            cyclic(g),
            [true, true, true, false, true, false, true, true]
        );
        // a long chain, deeper than any recursion would like, then a back edge
        let n = 200_000;
        let mut long: Vec<Vec<usize>> = (0..n).map(|i| vec![i + 1]).collect();
        long.push(vec![]);
        let c = components(&long);
        let mut distinct = c.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), n + 1);
        long[n].push(0);
        let c = components(&long);
        assert!(c.iter().all(|x| *x == c[0]));
    }

    #[test]
    fn only_functions_on_call_cycles_check_at_entry() {
        let wasm = wat::parse_str(
            r#"(module
              (import "wali" "SYS_getpid" (func $getpid (result i64)))
              (type $t (func (result i32)))
              (table 2 funcref)
              (elem (i32.const 0) $viatable)
              (func $leaf (result i32) i32.const 1)
              (func $calls_leaf (result i32) call $leaf)
              (func $self (result i32) call $self)
              (func $a (result i32) call $b)
              (func $b (result i32) call $a)
              (func $viatable (result i32) i32.const 0 call_indirect (type $t))
              (func $indirect_leaf (result i32) i32.const 1 call_indirect (type $t))
              (func $looping (loop $l br $l))
              (func $loop_then_self (result i32) (local i32)
                i32.const 3 local.set 0
                (block (loop $l (br_if $l (call $loop_then_self))))
                i32.const 0)
              (memory 1 1 shared)
              (export "memory" (memory 0))
              (func (export "_start") call $looping))"#,
        )
        .unwrap();
        let info = ModuleInfo::parse(&wasm).unwrap();
        assert_eq!(
            on_cycles(&info).unwrap().0,
            // the import, then the defined functions
            [false, false, false, true, true, true, true, false, false, true, false]
        );
        let mut plan = Plan::default();
        let mut out = Outcome::default();
        super::plan(&info, &mut plan, &mut out, true, false);
        assert!(
            out.applied[0].contains("the entries of 4 of 10 functions"),
            "{:?}",
            out.applied
        );
        // the leaf does not check at its entry, $self does; a function on
        // a cycle that reaches its loop header first leaves the check to
        // it; all check with fuel
        assert!(!plan.at_entry(1) && plan.at_entry(3) && !plan.at_entry(9));
        let mut plan = Plan::default();
        super::plan(&info, &mut plan, &mut out, true, true);
        assert!(plan.at_entry(1) && plan.at_entry(3) && plan.at_entry(9));
    }
}
