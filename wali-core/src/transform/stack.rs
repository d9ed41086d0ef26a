//! The C stack: the part of the stack C code keeps in linear memory,
//! addressed by the `__stack_pointer` global (the linker gives it 64 KiB by
//! default; Linux gives a main thread 8 MiB). The transform exports the
//! global, so the host can move it to a stack of its own mapping
//! ([`crate::run::map_c_stack`]), and a new `__wali_stack_limit` global;
//! every `global.set __stack_pointer` that can lower it (not the restores
//! of an epilogue: `i32.add`, or `local.get` of the value saved at entry)
//! then checks the new value against the limit and calls
//! `wali.__wali_stack_overflow` below it (the process
//! dies of SIGSEGV, instead of the stack silently overwriting the data
//! below it). A limit of 0 (threads, whose stacks the C library maps)
//! checks nothing.
//!
//! Found by name only (a guess at an unnamed global would corrupt it).
//! The setjmp transform's own restores at a longjmp are not checked.

use super::imports::STACK_OVERFLOW;
use super::module::{ModuleInfo, Plan, Sig, StackCheck};
use super::{exports, Outcome};

/// The `__stack_pointer` global, when the name section names it and it
/// is a defined mutable i32.
pub(super) fn stack_pointer(info: &ModuleInfo) -> Option<u32> {
    let (g, _) = info
        .global_names
        .iter()
        .find(|(_, n)| **n == "__stack_pointer")?;
    let defined = info.globals.get(*g as usize)?;
    (*defined == (wasmparser::ValType::I32, true)).then_some(*g)
}

/// The import the check calls, when the module gets the check.
pub fn import(info: &ModuleInfo, out: &mut Outcome) -> Option<(&'static str, &'static str, Sig)> {
    if info.export_func("_start").is_none() || info.import_func("wali", STACK_OVERFLOW).is_some() {
        return None;
    }
    if stack_pointer(info).is_none() {
        out.notes.push(
            "stack not applied: the name section names no `__stack_pointer`: the C stack stays \
             the linker's"
                .into(),
        );
        return None;
    }
    Some((
        "wali",
        STACK_OVERFLOW,
        Sig {
            params: vec![],
            results: vec![],
        },
    ))
}

pub fn plan(info: &ModuleInfo, plan: &mut Plan, out: &mut Outcome) {
    let (Some(sp), Some(overflow)) = (
        stack_pointer(info),
        info.import_func("wali", STACK_OVERFLOW),
    ) else {
        return;
    };
    let limit = plan.new_global(info, 0);
    plan.global_exports.push((exports::STACK_LIMIT, limit));
    plan.global_exports.push((exports::STACK_POINTER, sp));
    plan.stack_check = Some(StackCheck {
        sp,
        limit,
        overflow,
    });
    out.applied.push(
        "stack: the C stack pointer is exported and each frame checked against the runtime's \
         C stack"
            .into(),
    );
}
