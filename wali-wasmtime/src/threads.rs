//! Guest threads: `__wasm_thread_spawn(start, arg)` (in wali-core) starts a
//! host thread, which runs a new instance of the same module over the same
//! shared memory (the module's memory is an import after the load-time
//! rewrite) and calls the guest's thread entry by table index. This is
//! wasmtime's [`ThreadRunner`]; the embedder's linker is not touched.

use crate::run::{attach_memory, new_store, outcome_of};
use std::sync::{Arc, OnceLock};
use wali_core::aux::ThreadRunner;
use wali_core::run::{thread_ended, Outcome, ThreadEnd};
use wali_core::transform::{exports, memimport};
use wali_core::{Ctrl, ExecRequest, WaliCtx};
use wasmtime::{Engine, ExternType, InstancePre, Linker, Module, Result, SharedMemory, Store};

/// Creates the shared memory a rewritten module imports and defines it in
/// `linker`; `None` when the module defines its own memory.
pub fn define_memory<T>(
    linker: &mut Linker<T>,
    store: &Store<T>,
    module: &Module,
) -> Result<Option<SharedMemory>> {
    for imp in module.imports() {
        if imp.module() == memimport::MODULE && imp.name() == memimport::NAME {
            let ExternType::Memory(ty) = imp.ty() else {
                continue;
            };
            let mem = SharedMemory::new(store.engine(), ty)?;
            linker.define(store, memimport::MODULE, memimport::NAME, mem.clone())?;
            return Ok(Some(mem));
        }
    }
    Ok(None)
}

/// How a thread that execs runs the new program where no run loop exists
/// (a child forked by that thread): load it and run it and its execs to
/// their end.
pub(crate) type ExecHere = Box<dyn Fn(Box<ExecRequest>) -> Result<Outcome, String> + Send + Sync>;

/// Guest threads for an embedder's own store type. Hand it the module
/// ready to instantiate ([`ThreadSupport::ready`]) and attach it to each
/// guest process's context ([`ThreadSupport::attach`]); until both are
/// done `__wasm_thread_spawn` returns -EAGAIN.
pub struct ThreadSupport<T> {
    pre: Arc<OnceLock<InstancePre<T>>>,
    runner: Arc<dyn ThreadRunner>,
}

impl<T: Send + 'static> ThreadSupport<T> {
    /// Threads whose stores hold data that `make` builds from the thread's
    /// context; `get` finds the context in it, as for
    /// [`add_to_linker`](crate::add_to_linker). Host threads get `stack`
    /// bytes of native stack. The module's linker needs its shared memory
    /// ([`define_memory`]).
    pub fn new<G, M>(engine: &Engine, stack: usize, get: G, make: M) -> ThreadSupport<T>
    where
        G: Fn(&mut T) -> &mut WaliCtx + Copy + Send + Sync + 'static,
        M: Fn(WaliCtx) -> T + Send + Sync + 'static,
    {
        ThreadSupport::with_exec(engine, stack, get, make, None)
    }

    pub(crate) fn with_exec<G, M>(
        engine: &Engine,
        stack: usize,
        get: G,
        make: M,
        exec: Option<ExecHere>,
    ) -> ThreadSupport<T>
    where
        G: Fn(&mut T) -> &mut WaliCtx + Copy + Send + Sync + 'static,
        M: Fn(WaliCtx) -> T + Send + Sync + 'static,
    {
        let pre = Arc::new(OnceLock::new());
        let runner = Arc::new(Spawner {
            pre: pre.clone(),
            engine: engine.clone(),
            stack,
            get,
            make,
            exec,
        });
        ThreadSupport { pre, runner }
    }

    /// The module as every thread instantiates it (from
    /// `linker.instantiate_pre(&module)`).
    pub fn ready(&self, pre: InstancePre<T>) {
        let _ = self.pre.set(pre);
    }

    /// Lets the guest process of `ctx` (and every thread and fork of it)
    /// start threads.
    pub fn attach(&self, ctx: &WaliCtx) {
        ctx.process().set_thread_runner(self.runner.clone());
    }
}

struct Spawner<T, G, M> {
    pre: Arc<OnceLock<InstancePre<T>>>,
    engine: Engine,
    stack: usize,
    get: G,
    make: M,
    exec: Option<ExecHere>,
}

impl<T, G, M> ThreadRunner for Spawner<T, G, M>
where
    T: Send + 'static,
    G: Fn(&mut T) -> &mut WaliCtx + Copy + Send + Sync + 'static,
    M: Fn(WaliCtx) -> T + Send + Sync + 'static,
{
    fn ready(&self) -> bool {
        self.pre.get().is_some()
    }

    fn host_stack_size(&self) -> usize {
        self.stack
    }

    fn run_thread(&self, ctx: WaliCtx, start: i32, arg: i32) {
        let get = self.get;
        let tid = ctx.tid();
        let mut store = new_store(&self.engine, (self.make)(ctx), get);
        let r = (|| -> Result<()> {
            let pre = self
                .pre
                .get()
                .ok_or_else(|| wasmtime::Error::msg("not ready"))?;
            let instance = pre.instantiate(&mut store)?;
            attach_memory(&mut store, &instance, get)?;
            let tramps = crate::signals::Trampolines::of(&mut store, &instance);
            crate::signals::attach(&mut store, &instance, tramps, get)?;
            let entry =
                instance.get_typed_func::<(i32, i32, i32), ()>(&mut store, exports::CALL_V_II)?;
            entry.call(&mut store, (start, tid, arg))
        })();
        let end = match r {
            Ok(()) => ThreadEnd::Returned,
            Err(e) => match ThreadEnd::of_ctrl(e.downcast_ref::<Ctrl>()) {
                Some(end) => end,
                None => match outcome_of(e) {
                    Ok(o) => ThreadEnd::Outcome(o),
                    Err(e) => ThreadEnd::HostError(e.to_string()),
                },
            },
        };
        thread_ended(get(store.data_mut()), end, |req| match &self.exec {
            Some(f) => f(req),
            None => Err("exec from a guest thread needs wali::Runner".into()),
        });
    }
}
