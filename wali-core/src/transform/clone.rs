//! `__clone` for posix_spawn, system() and popen(): the WALI C library
//! defines `__clone(fn, stack, flags, arg, ...)` as a stub returning
//! `-ENOSYS`, and its `posix_spawn` calls it with
//! `CLONE_VM|CLONE_VFORK|SIGCHLD` to run the spawned child. The module's
//! `__clone` (found by its name in the name section) is given the body
//! `wali.__wali_clone(fn, stack, flags, arg, varargs)`: the host forks,
//! and the child runs `fn(arg)` on `stack` through the `__wali_call_i_i`
//! trampoline, then exits with its result.
//!
//! Two steps: [`import`] names the import to add (a pass of its own, since
//! it renumbers the functions), then [`plan`] replaces the body.

use super::imports::CLONE;
use super::module::{ModuleInfo, Plan, Sig};
use super::Outcome;
use wasmparser::ValType;

/// `(fn, stack, flags, arg, varargs) -> i32`: `__clone`'s wasm type.
fn sig() -> Sig {
    Sig {
        params: vec![ValType::I32; 5],
        results: vec![ValType::I32],
    }
}

/// The module's `__clone`, when it defines one of the C library's type.
fn defined_clone(info: &ModuleInfo) -> Option<u32> {
    let f = info.func_by_name("__clone")?;
    (f >= info.num_func_imports && info.sig_of_func(f) == Some(&sig())).then_some(f)
}

/// The `wali.__wali_clone` import to add, when the module defines
/// `__clone`; a note when it has no name section to find it by but could
/// spawn processes (it imports execve).
pub fn import(info: &ModuleInfo, out: &mut Outcome) -> Option<(&'static str, &'static str, Sig)> {
    if info.import_func("wali", CLONE).is_some() {
        return None;
    }
    if defined_clone(info).is_none() {
        if info.func_names.is_empty() && info.import_func("wali", "SYS_execve").is_some() {
            out.notes.push(
                "clone not applied: the module has no name section to find `__clone` by \
                 (posix_spawn, system() and popen() return ENOSYS)"
                    .into(),
            );
        }
        return None;
    }
    Some(("wali", CLONE, sig()))
}

/// `__clone`'s body becomes a call of the host's implementation.
pub fn plan(info: &ModuleInfo, plan: &mut Plan, out: &mut Outcome) {
    let (Some(f), Some(import)) = (defined_clone(info), info.import_func("wali", CLONE)) else {
        return;
    };
    use wasm_encoder::Instruction as I;
    let mut body = wasm_encoder::Function::new([]);
    for i in 0..5 {
        body.instruction(&I::LocalGet(i));
    }
    body.instruction(&I::Call(import));
    body.instruction(&I::End);
    plan.bodies.insert(f, body);
    out.applied.push(
        "clone: __clone forks through the host (posix_spawn, system() and popen() work)".into(),
    );
}
