//! setjmp/longjmp on wasm exceptions.
//!
//! `longjmp(env, val)` becomes `throw $longjmp(env, val)` (after the host
//! restores a saved signal mask). A function F that calls setjmp is
//! rewritten so that it can be re-entered at any of its setjmp calls:
//!
//! ```text
//! token = ++counter                      ;; identifies this activation of F
//! block $done (result R)
//!   loop $reenter
//!     block $caught (result i32 i32)
//!       try_table (result R) (catch $longjmp $caught)
//!         <F's body, transformed>
//!       end
//!       br $done
//!     end
//!     ;; env, val: ours when env.token == token; else rethrow
//!     label = env.site; value = val ? val : 1; __stack_pointer = env.sp
//!     br $reenter
//!   end
//! end
//! ```
//!
//! F's body is transformed so that, while `label` is not 0, it skips
//! straight to the setjmp call `label` names: every run of instructions
//! not on the way to a setjmp call is guarded by `if (label == 0)`; each
//! construct on the way is entered when `label` is 0 or one of its calls
//! (an `if` takes the arm holding the call); and at the call itself,
//! `label == site` yields `value` instead of calling setjmp. Values on the
//! operand stack at these boundaries live in locals (which keep their
//! values across the re-entry, as C's automatic variables do). Those
//! locals are shared by all the boundaries of a nesting level, so each
//! setjmp call also copies the values live across it (below its
//! arguments, on its own level and under each construct around it) into
//! locals of its own, and the return by longjmp puts them back: compilers
//! leave values there, e.g. the address a result is stored to
//! (`local.get $p; i32.const $jb; call $setjmp; i32.store`). A setjmp call
//! passed on the way to a later one (`label` not 0) does nothing.
//!
//! `analysis` reads the setjmp callers' bodies into construct trees;
//! `emit` and `rewrite` write the re-enterable bodies.

mod analysis;
mod emit;
mod rewrite;

use super::module::{ModuleInfo, Plan, Sig};
use super::{imports, Error, Outcome};
use analysis::validated_bodies;
use rewrite::rewrite;
use wasm_encoder::{Function, Instruction as I};
use wasmparser::{Operator, ValType};

/// Plans the setjmp/longjmp transform.
pub fn plan(
    info: &ModuleInfo,
    wasm: &[u8],
    plan: &mut Plan,
    out: &mut Outcome,
) -> Result<(), Error> {
    let sj = info.import_func("wali", "setjmp");
    let ssj = info.import_func("wali", "sigsetjmp");
    let lj = info.import_func("wali", "longjmp");
    if sj.is_none() && ssj.is_none() && lj.is_none() {
        return Ok(());
    }
    let i32s = |n: usize| vec![ValType::I32; n];
    let ok_sig = |f: Option<u32>, p: usize, r: usize| {
        f.is_none_or(|f| {
            info.sig_of_func(f)
                == Some(&Sig {
                    params: i32s(p),
                    results: i32s(r),
                })
        })
    };
    if !ok_sig(sj, 1, 1) || !ok_sig(ssj, 2, 1) || !ok_sig(lj, 2, 0) {
        out.notes
            .push("setjmp/longjmp not transformed: unexpected import types".into());
        return Ok(());
    }
    if info.num_memories == 0 {
        // the jump buffer lives in memory 0
        out.notes
            .push("setjmp/longjmp not transformed: the module has no memory".into());
        return Ok(());
    }
    // Which functions call setjmp?
    let mut callers = Vec::new();
    let calls = super::module::par::map(info.bodies.len(), |i| {
        let mut r = info.bodies[i].get_operators_reader()?;
        while !r.eof() {
            if let Operator::Call { function_index } = r.read()? {
                if Some(function_index) == sj || Some(function_index) == ssj {
                    return Ok(true);
                }
            }
        }
        Ok::<_, Error>(false)
    });
    for (i, calls) in calls.into_iter().enumerate() {
        if calls? {
            callers.push(info.num_func_imports + i as u32);
        }
    }
    let Some(sp) = info.stack_pointer() else {
        out.notes
            .push("setjmp/longjmp not transformed: no __stack_pointer global".into());
        return Ok(());
    };
    let tag_ty = plan.type_index(
        info,
        Sig {
            params: i32s(2),
            results: vec![],
        },
    );
    let tag = plan.new_tag(info, tag_ty);
    let counter = plan.new_global(info, 0);
    if let Some(lj) = lj {
        // longjmp(env, val): the host restores a saved mask, then throw.
        let wrapper = plan.next_func(info);
        let mut f = Function::new([]);
        f.instruction(&I::LocalGet(0));
        f.instruction(&I::LocalGet(1));
        f.instruction(&I::Call(lj));
        f.instruction(&I::LocalGet(0));
        f.instruction(&I::LocalGet(1));
        f.instruction(&I::Throw(tag));
        f.instruction(&I::End);
        plan.new_funcs.push((tag_ty, f));
        plan.new_names.push("__wali_longjmp".into());
        plan.call_map.insert(lj, wrapper);
        plan.renames.insert(lj, imports::LONGJMP_PREPARE);
    }
    if let Some(ssj) = ssj {
        plan.renames.insert(ssj, imports::SIGSAVE);
    }
    let bodies = validated_bodies(wasm, &callers)?;
    let ctx = Ctx {
        sj,
        ssj,
        sp,
        tag,
        counter,
    };
    let mut done = 0;
    for f in &callers {
        let Some(body) = bodies.get(f) else { continue };
        match rewrite(info, plan, &ctx, *f, body) {
            Ok(func) => {
                plan.bodies.insert(*f, func);
                done += 1;
            }
            Err(why) => {
                let name = info.func_names.get(f).copied().unwrap_or("?");
                out.notes.push(format!(
                    "setjmp in function {f} ({name}) not transformed: {why}"
                ));
            }
        }
    }
    out.applied.push(format!(
        "setjmp/longjmp: {done} of {} setjmp-calling functions re-enterable; longjmp throws",
        callers.len()
    ));
    out.needs_exceptions = true;
    Ok(())
}

struct Ctx {
    sj: Option<u32>,
    ssj: Option<u32>,
    sp: u32,
    tag: u32,
    counter: u32,
}
