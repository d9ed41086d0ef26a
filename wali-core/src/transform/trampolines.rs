//! Exported trampolines that call a table entry by index, for the host's
//! calls into the guest by function pointer (signal handlers, thread entry
//! points, `__clone`'s child). Added to modules that install signal handlers,
//! spawn threads or processes (`__clone`).

use super::module::{ModuleInfo, Plan, Sig};
use super::{exports, Outcome};
use wasm_encoder::{Function, Instruction as I};
use wasmparser::ValType;

pub fn plan(info: &ModuleInfo, plan: &mut Plan, out: &mut Outcome) {
    let wants = info.import_func("wali", "SYS_rt_sigaction").is_some()
        || info.import_func("wali", "__wasm_thread_spawn").is_some()
        || info.import_func("wali", super::imports::CLONE).is_some();
    if !wants || info.table0.is_empty() && !info.has_table0 {
        return;
    }
    if info.exports.iter().any(|(n, _, _)| *n == exports::CALL_V_I) {
        return;
    }
    for (name, n, result) in [
        (exports::CALL_V_I, 1, false),
        (exports::CALL_V_II, 2, false),
        (exports::CALL_V_III, 3, false),
        (exports::CALL_I_I, 1, true),
    ] {
        let results = if result { vec![ValType::I32] } else { vec![] };
        let callee = plan.type_index(
            info,
            Sig {
                params: vec![ValType::I32; n],
                results: results.clone(),
            },
        );
        let ty = plan.type_index(
            info,
            Sig {
                params: vec![ValType::I32; n + 1],
                results,
            },
        );
        let mut f = Function::new([]);
        for i in 1..=n as u32 {
            f.instruction(&I::LocalGet(i));
        }
        f.instruction(&I::LocalGet(0));
        f.instruction(&I::CallIndirect {
            type_index: callee,
            table_index: 0,
        });
        f.instruction(&I::End);
        let idx = plan.next_func(info);
        plan.new_funcs.push((ty, f));
        plan.new_names.push(name.to_string());
        plan.new_exports.push((name, idx));
    }
    out.applied.push(
        "trampolines: the host can call guest function pointers (signal handlers, thread entry)"
            .into(),
    );
    // Signal handlers with SA_ONSTACK run on the alternate stack: the host
    // moves the guest's C stack pointer there for the handler's duration.
    let exported = plan
        .global_exports
        .iter()
        .any(|(n, _)| *n == exports::STACK_POINTER);
    if let Some(sp) = info.stack_pointer().filter(|_| !exported) {
        plan.global_exports.push((exports::STACK_POINTER, sp));
    }
}
