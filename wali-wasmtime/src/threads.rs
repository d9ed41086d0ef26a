//! Guest threads: `__wasm_thread_spawn(start, arg)` starts a host thread
//! running a new instance of the same module over the same shared memory
//! (the module's memory is an import after the load-time rewrite), which
//! calls the guest's thread entry by table index.

use crate::run::{attach_memory, new_store, outcome_of, Outcome};
use std::sync::{Arc, OnceLock};
use wali_core::transform::{exports, memimport};
use wali_core::WaliCtx;
use wasmtime::{
    Caller, Engine, ExternType, InstancePre, Linker, Module, Result, SharedMemory, Store,
};

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

/// Guest threads for an embedder's own store type: what
/// [`add_threads_to_linker`] returns. Once the linker holds every import,
/// hand it the module ready to instantiate with [`ThreadSupport::ready`];
/// until then `__wasm_thread_spawn` returns -EAGAIN.
pub struct ThreadSupport<T> {
    spawner: Arc<Spawner<T>>,
}

impl<T> ThreadSupport<T> {
    /// The module as every thread instantiates it (from
    /// `linker.instantiate_pre(&module)`).
    pub fn ready(&self, pre: InstancePre<T>) {
        let _ = self.spawner.pre.set(pre);
    }
}

/// Lets guests of `linker` start threads (`__wasm_thread_spawn`): each is a
/// host thread with a store whose data `make` builds from the thread's
/// context, running a new instance of the module over the shared memory
/// (define it with [`define_memory`] first). `get` finds the context in the
/// store data, as for [`add_to_linker`](crate::add_to_linker). Host threads
/// get `stack` bytes of native stack.
pub fn add_threads_to_linker<T, G, M>(
    linker: &mut Linker<T>,
    engine: &Engine,
    stack: usize,
    get: G,
    make: M,
) -> Result<ThreadSupport<T>>
where
    T: Send + 'static,
    G: Fn(&mut T) -> &mut WaliCtx + Copy + Send + Sync + 'static,
    M: Fn(WaliCtx) -> T + Copy + Send + Sync + 'static,
{
    let spawner = Arc::new(Spawner {
        pre: OnceLock::new(),
        engine: engine.clone(),
        stack,
    });
    install(linker, spawner.clone(), get, make)?;
    Ok(ThreadSupport { spawner })
}

/// What a spawning thread needs: the module ready to instantiate.
pub(crate) struct Spawner<T> {
    pub(crate) pre: OnceLock<InstancePre<T>>,
    pub(crate) engine: Engine,
    pub(crate) stack: usize,
}

/// Defines `__wasm_thread_spawn` in `linker` (shadowing the fallback) for
/// stores whose data is made by `make` from a thread's context.
pub(crate) fn install<T, G, M>(
    linker: &mut Linker<T>,
    spawner: Arc<Spawner<T>>,
    get: G,
    make: M,
) -> Result<()>
where
    T: Send + 'static,
    G: Fn(&mut T) -> &mut WaliCtx + Copy + Send + Sync + 'static,
    M: Fn(WaliCtx) -> T + Copy + Send + Sync + 'static,
{
    linker.allow_shadowing(true);
    linker.func_wrap(
        wali_spec::MODULE,
        "__wasm_thread_spawn",
        move |mut caller: Caller<'_, T>, start: i32, arg: i32| -> Result<i32> {
            let Some(pre) = spawner.pre.get().cloned() else {
                return Ok(-libc::EAGAIN);
            };
            if !get(caller.data_mut()).process().thread_started() {
                return Ok(-libc::EAGAIN);
            }
            let child = get(caller.data_mut()).new_thread(0);
            let engine = spawner.engine.clone();
            let (tx, rx) = std::sync::mpsc::sync_channel::<i32>(1);
            let spawned = std::thread::Builder::new()
                .name("wali-thread".into())
                .stack_size(spawner.stack)
                .spawn(move || {
                    let tid = rustix::thread::gettid().as_raw_nonzero().get();
                    let mut ctx = child;
                    ctx.set_tid(tid);
                    let _ = tx.send(tid);
                    thread_main(&engine, &pre, make(ctx), get, start, arg, tid);
                });
            match spawned {
                Ok(_) => Ok(rx.recv().unwrap_or(-libc::EAGAIN)),
                Err(_) => {
                    get(caller.data_mut()).process().thread_ended();
                    Ok(-libc::EAGAIN)
                }
            }
        },
    )?;
    Ok(())
}

fn thread_main<T: 'static>(
    engine: &Engine,
    pre: &InstancePre<T>,
    data: T,
    get: impl Fn(&mut T) -> &mut WaliCtx + Copy + Send + Sync + 'static,
    start: i32,
    arg: i32,
    tid: i32,
) {
    let mut store = new_store(engine, data, get);
    struct Ended(std::sync::Arc<wali_core::Process>);
    impl Drop for Ended {
        fn drop(&mut self) {
            self.0.thread_ended();
        }
    }
    let _ended = Ended(get(store.data_mut()).process().clone());
    let r = (|| -> Result<()> {
        let instance = pre.instantiate(&mut store)?;
        attach_memory(&mut store, &instance, get)?;
        let tramps = crate::signals::Trampolines::of(&mut store, &instance);
        get(store.data_mut()).set_adapter_data(Box::new(tramps));
        let entry =
            instance.get_typed_func::<(i32, i32, i32), ()>(&mut store, exports::CALL_V_II)?;
        entry.call(&mut store, (start, tid, arg))
    })();
    // The thread's end: clear and wake its tid word, as CLONE_CHILD_CLEARTID.
    get(store.data_mut()).thread_exit_clear_tid();
    let e = match r {
        Ok(()) => return,
        Err(e) => e,
    };
    if matches!(
        e.downcast_ref::<wali_core::Ctrl>(),
        Some(wali_core::Ctrl::ExitThread(_))
    ) {
        return;
    }
    match outcome_of(e) {
        // exit_group from a thread ends the whole process.
        Ok(Outcome::Exited(code)) => std::process::exit(wali_core::exit_status(code)),
        Ok(o) => crate::run::die(&o),
        Err(e) => {
            eprintln!("wali: thread {tid}: {e}");
            std::process::exit(1)
        }
    }
}
