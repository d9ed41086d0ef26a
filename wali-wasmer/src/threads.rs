//! Guest threads: `__wasm_thread_spawn(start, arg)` (in wali-core) starts a
//! host thread, which runs a new instance of the same module over the same
//! shared memory (the module's memory is an import after the load-time
//! rewrite) and calls the guest's thread entry by table index. This is
//! wasmer's [`ThreadRunner`].

use crate::glue::State;
use crate::run::{instantiate, outcome_of, Started};
use wali_core::aux::ThreadRunner;
use wali_core::run::{thread_ended, Outcome, ThreadEnd};
use wali_core::transform::exports;
use wali_core::{Ctrl, ExecRequest, WaliCtx};
use wasmer::{Engine, FunctionEnv, Module, Store};

/// How a thread that execs runs the new program where no run loop exists
/// (a child forked by that thread).
pub(crate) type ExecHere = Box<dyn Fn(Box<ExecRequest>) -> Result<Outcome, String> + Send + Sync>;

/// What a guest thread needs: the module, its engine, and the shared
/// memory the module imports (after the load-time rewrite), as a handle
/// any thread's store can attach.
pub(crate) struct Spawn {
    pub(crate) engine: Engine,
    pub(crate) module: Module,
    pub(crate) memory: wasmer::SharedMemory,
    pub(crate) exec: Option<ExecHere>,
}

impl ThreadRunner for Spawn {
    fn run_thread(&self, ctx: WaliCtx, start: i32, arg: i32) {
        let tid = ctx.tid();
        let mut store = Store::new(self.engine.clone());
        let env = FunctionEnv::new(&mut store, State::new(ctx));
        let end = match instantiate(&mut store, &env, &self.module, Some(&self.memory)) {
            Ok(Started::Instance(instance, _)) => match instance
                .exports
                .get_typed_function::<(i32, i32, i32), ()>(&store, exports::CALL_V_II)
            {
                Ok(entry) => match entry.call(&mut store, start, tid, arg) {
                    Ok(()) => ThreadEnd::Returned,
                    Err(e) => match ThreadEnd::of_ctrl(e.downcast_ref::<Ctrl>()) {
                        Some(end) => end,
                        None => match outcome_of(e) {
                            Ok(o) => ThreadEnd::Outcome(o),
                            Err(e) => ThreadEnd::HostError(e),
                        },
                    },
                },
                Err(e) => ThreadEnd::HostError(e.to_string()),
            },
            Ok(Started::Ended(o)) => ThreadEnd::Outcome(o),
            Err(e) => ThreadEnd::HostError(e),
        };
        thread_ended(&mut env.as_mut(&mut store).wali, end, |req| {
            match &self.exec {
                Some(f) => f(req),
                None => Err("exec from a guest thread needs wali_wasmer::Runner".into()),
            }
        });
    }
}
