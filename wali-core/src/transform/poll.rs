//! Signal polling, for engines that cannot interrupt running wasm and
//! resume it (wasmer): every defined function checks a flag word at its
//! entry and at each loop header — `if (flag) poll();` — so a guest that
//! computes without syscalls still reaches a safe point soon after a
//! signal arrives. The flag lives at address 0 of a new one-page memory
//! the module exports as [`FLAG_EXPORT`]; the host sets it from its signal
//! handler and clears it when it delivers. `poll` is an import the module
//! already has and that takes no argument (`__cl_get_argc`, `SYS_getpid`
//! ...): the host delivers pending signals on return from any import.
//!
//! Functions whose whole body another transform replaces (the setjmp
//! rewrite) are not polled; their callees and loops elsewhere are.

use super::module::{ModuleInfo, Plan, Poll};
use super::Outcome;

/// Export name of the flag memory.
pub const FLAG_EXPORT: &str = "__wali_signal_flag";

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
    let found = POLL_WITH.iter().find_map(|name| {
        let f = info.import_func(wali_spec::MODULE, name)?;
        let sig = info.sig_of_func(f)?;
        (sig.params.is_empty() && sig.results.len() <= 1).then_some((f, !sig.results.is_empty()))
    });
    let Some((func, has_result)) = found else {
        out.notes.push(
            "signal polling and fuel not applied: the module imports no argument-less call to poll with \
             (a computing guest gets its signals at its next syscall)"
                .into(),
        );
        return;
    };
    plan.poll = Some(Poll {
        memory: signals.then_some(info.num_memories),
        func,
        has_result,
    });
    if signals {
        plan.new_memories.push(FLAG_EXPORT);
        out.applied.push(
            "signal polling: function entries and loop headers check a flag the host sets when \
             a signal arrives"
                .into(),
        );
    }
    if fuel {
        plan.fuel = Some(plan.next_i64_global(info));
        plan.new_i64_globals.push((i64::MAX, FUEL_EXPORT));
        out.applied.push(
            "fuel: function entries and loop headers charge the instructions they lead to".into(),
        );
    }
}
