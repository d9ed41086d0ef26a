//! Running a WALI program: engine configuration, instantiation, `_start`,
//! and the exit status.

use crate::{link_imports, ModuleCache, WasmtimeMemory};
use std::path::Path;
use std::sync::Arc;
use wali_core::{Ctrl, WaliCtx};
use wasmtime::{
    Config, Engine, Extern, Instance, Linker, Module, Result, Store, Trap, WasmBacktrace,
};

/// The engine configuration WALI guests need: threads and shared memory.
pub fn config() -> Config {
    let mut c = Config::new();
    c.wasm_threads(true);
    c.shared_memory(true);
    // The setjmp/longjmp transform uses wasm exceptions.
    c.wasm_exceptions(true);
    // A signal reaches a guest that computes without syscalls through the
    // signal-poll transform's flag (cheaper than epoch interruption, which
    // `setup_store` still serves when an embedder turns it on).
    c.parallel_compilation(true);
    // Function tables are filled at instantiation rather than on first
    // use, so a `call_indirect` skips the is-it-initialized check: the
    // tables of C guests are small (lua.wasm 203 slots, bash.wasm 531),
    // and interpreters call through them constantly (lua binary-trees
    // about 2.4% faster; no change to a warm start measured).
    c.table_lazy_init(false);
    c
}

pub use wali_core::Outcome;

/// Checks that `instance` exports a shared memory named `memory` and
/// attaches it to the context.
pub fn attach_memory<T>(
    store: &mut Store<T>,
    instance: &Instance,
    get: impl Fn(&mut T) -> &mut WaliCtx,
) -> Result<()> {
    let mem = match instance.get_export(&mut *store, "memory") {
        Some(Extern::SharedMemory(m)) => m,
        Some(Extern::Memory(_)) => {
            return Err(wasmtime::Error::msg(
                "not a WALI module: its memory `memory` is not shared (WALI guests define a shared memory)",
            ))
        }
        _ => return Err(wasmtime::Error::msg("not a WALI module: it exports no memory named `memory`")),
    };
    let cx = get(store.data_mut());
    cx.set_memory(Arc::new(WasmtimeMemory(mem)));
    // The guest runs on this thread (its context may have been built on
    // another one).
    cx.set_tid(rustix::thread::gettid().as_raw_nonzero().get());
    wali_core::sys::signal::mark_guest_thread();
    Ok(())
}

/// Maps the error that ended a guest call to an outcome: a control value
/// of core, an uncaught exception, or a trap (named by core's table).
pub(crate) fn outcome_of(e: wasmtime::Error) -> Result<Outcome> {
    use wali_core::Trap as K;
    if let Some(c) = e.downcast_ref::<Ctrl>() {
        return Ok(Outcome::of_ctrl(c));
    }
    if e.downcast_ref::<wasmtime::ThrownException>().is_some() {
        return Ok(Outcome::of_trap(K::UncaughtException, "", None));
    }
    let Some(t) = e.downcast_ref::<Trap>() else {
        return Err(e);
    };
    let kind = match t {
        Trap::MemoryOutOfBounds => K::MemoryOutOfBounds,
        Trap::StackOverflow => K::StackOverflow,
        Trap::TableOutOfBounds => K::TableOutOfBounds,
        Trap::IndirectCallToNull => K::IndirectCallToNull,
        Trap::HeapMisaligned => K::HeapMisaligned,
        Trap::IntegerDivisionByZero => K::IntegerDivisionByZero,
        Trap::IntegerOverflow => K::IntegerOverflow,
        Trap::BadConversionToInteger => K::BadConversionToInteger,
        Trap::UnreachableCodeReached => K::Unreachable,
        Trap::BadSignature => K::BadSignature,
        Trap::OutOfFuel => K::OutOfFuel,
        _ => K::Other,
    };
    let func = e.downcast_ref::<WasmBacktrace>().and_then(|bt| {
        bt.frames().first().map(|f| {
            f.func_name()
                .map(str::to_string)
                .unwrap_or_else(|| format!("function #{}", f.func_index()))
        })
    });
    Ok(Outcome::of_trap(kind, &t.to_string(), func))
}

/// Prepares a store for WALI guests: signal delivery to a guest that
/// computes without syscalls, through epoch interruption (which [`config`]
/// enables). Call it before instantiating a module in the store; stores
/// made by [`new_store`] and [`Runner`] have it.
pub fn setup_store<T: 'static>(
    store: &mut Store<T>,
    get: impl Fn(&mut T) -> &mut WaliCtx + Copy + Send + Sync + 'static,
) {
    crate::signals::register(store.engine());
    store.set_epoch_deadline(1);
    if let Some(fuel) = get(store.data_mut())
        .process()
        .policy()
        .and_then(|p| p.fuel)
    {
        // Fails (and is ignored) when the engine does not meter fuel.
        let _ = store.set_fuel(fuel);
    }
    store.epoch_deadline_callback(move |mut ctx| {
        if wali_core::entry::safe_point(get(ctx.data_mut())).map_err(wasmtime::Error::new)? {
            let t = get(ctx.data_mut())
                .adapter_data::<crate::signals::Trampolines>()
                .cloned();
            if let Some(t) = t {
                // The callback is not re-entrant: no epoch interruption
                // inside the handlers (their syscalls still deliver).
                ctx.set_epoch_deadline(u64::MAX / 2);
                crate::signals::deliver(&mut ctx, get, &t)?;
            }
        }
        Ok(wasmtime::UpdateDeadline::Continue(1))
    });
}

/// A store for a WALI guest, prepared by [`setup_store`].
pub fn new_store<T: 'static>(
    engine: &Engine,
    data: T,
    get: impl Fn(&mut T) -> &mut WaliCtx + Copy + Send + Sync + 'static,
) -> Store<T> {
    let mut store = Store::new(engine, data);
    setup_store(&mut store, get);
    store
}

/// Attaches memory and calls the guest's `_start`; returns how it ended.
/// A guest that returns from `_start` without exiting exits with 0.
pub fn run_instance<T: 'static>(
    store: &mut Store<T>,
    instance: &Instance,
    get: impl Fn(&mut T) -> &mut WaliCtx + Copy + Send + Sync + 'static,
) -> Result<Outcome> {
    attach_memory(store, instance, get)?;
    get(store.data_mut())
        .prepare()
        .map_err(|e| wasmtime::Error::msg(format!("cannot prepare the guest: {e}")))?;
    let tramps = crate::signals::Trampolines::of(&mut *store, instance);
    tramps.map_c_stack(&mut *store, get);
    crate::signals::attach(&mut *store, instance, tramps, get)?;
    setup_store(store, get);
    let start = instance
        .get_typed_func::<(), ()>(&mut *store, "_start")
        .map_err(|_| wasmtime::Error::msg("not a WALI module: it exports no `_start` function"))?;
    let outcome = match start.call(&mut *store, ()) {
        Ok(()) => Outcome::Exited(0),
        Err(e) => outcome_of(e)?,
    };
    Ok(wali_core::run::program_ended(
        get(store.data_mut()),
        outcome,
    ))
}

struct RunState {
    wali: WaliCtx,
}

fn get(s: &mut RunState) -> &mut WaliCtx {
    &mut s.wali
}

/// Runs WALI programs: one engine, an optional compiled-module cache.
#[derive(Clone)]
pub struct Runner {
    engine: Engine,
    config: Config,
    close_on_exec: bool,
    cache: Option<ModuleCache>,
    transforms: wali_core::transform::Options,
    verbosity: u8,
}

impl Runner {
    /// A runner with [`config`] and the default module cache.
    pub fn new() -> Result<Runner> {
        Runner::with_config(&config())
    }

    /// A runner on an engine built from `config` (which must enable threads
    /// and shared memory).
    pub fn with_config(config: &Config) -> Result<Runner> {
        Ok(Runner {
            engine: Engine::new(config)?,
            config: config.clone(),
            close_on_exec: true,
            cache: ModuleCache::default_location(),
            transforms: Default::default(),
            verbosity: 0,
        })
    }

    /// Uses `cache` (or none) for compiled modules.
    pub fn cache(mut self, cache: Option<ModuleCache>) -> Runner {
        self.cache = cache;
        self
    }

    /// Selects the load-time transforms (all by default).
    pub fn transforms(mut self, opts: wali_core::transform::Options) -> Runner {
        self.transforms = opts;
        self
    }

    /// Prints what the transforms did at load when `v >= 1`.
    pub fn verbosity(mut self, v: u8) -> Runner {
        self.verbosity = v;
        self
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Loads (compiles, or fetches from the cache) a module file.
    pub fn load(&self, path: &Path) -> Result<Module> {
        wali_core::cache::load_file(
            self.cache.as_ref(),
            self.engine.precompile_compatibility_hash(),
            &self.transforms,
            path,
            |compiled| crate::cache::deserialize_cached(&self.engine, compiled),
            |wasm| self.load_bytes(wasm),
            |e| wasmtime::Error::msg(format!("cannot read: {e}")),
        )
    }

    /// Loads a module from bytes.
    pub fn load_bytes(&self, wasm: &[u8]) -> Result<Module> {
        let mut log = Vec::new();
        let m = crate::cache::load_bytes(
            &self.engine,
            wasm,
            self.cache.as_ref(),
            &self.transforms,
            &mut log,
        );
        if self.verbosity >= 1 {
            for l in log {
                eprintln!("[wali] {l}");
            }
        }
        m
    }

    /// Whether a guest's exec of a wasm program closes the process's
    /// close-on-exec descriptors, as the kernel's execve does (default
    /// true). A host that keeps descriptors of its own open across a
    /// guest's exec sets this to false.
    pub fn close_on_exec(mut self, yes: bool) -> Runner {
        self.close_on_exec = yes;
        self
    }

    /// Runs `module` as a program with context `ctx`; returns how it
    /// ended. A guest's exec of a wasm program replaces it here, in the
    /// same process (pid, descriptors, working directory kept), also when
    /// another thread than the main one execs (the other threads end, as
    /// on Linux).
    pub fn run(&self, module: &Module, ctx: WaliCtx) -> Result<Outcome> {
        ctx.process()
            .arm_timeout(wali_core::sys::signal::interrupt_guests);
        // Descriptors the host had before the guest ran are its own (the
        // runtime's included): an exec does not close them.
        let execs = wali_core::run::ExecLoop::new(self.close_on_exec);
        let first = self.run_once(module, ctx)?;
        let mut child: Option<Runner> = None;
        execs.run(first, |req| {
            if child.is_none() {
                child = Some(self.for_exec()?);
            }
            child.as_ref().expect("set above").run_request(req)
        })
    }

    /// The runner an exec'd program runs with: it compiles without helper
    /// threads (after a guest's fork they do not exist in this process).
    fn for_exec(&self) -> Result<Runner> {
        let mut c = self.config.clone();
        c.parallel_compilation(false);
        Ok(Runner {
            engine: Engine::new(&c)?,
            config: c,
            ..self.clone()
        })
    }

    /// Loads and runs the program of an exec request (`Ok(Err)`: it cannot
    /// be loaded).
    fn run_request(&self, req: &wali_core::ExecRequest) -> Result<Result<Outcome, String>> {
        let module = match self.load(&req.path) {
            Ok(m) => m,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let ctx = req
            .builder(self.verbosity)
            .build()
            .map_err(|e| wasmtime::Error::msg(format!("exec: {e}")))?;
        self.run_once(&module, ctx).map(Ok)
    }

    fn run_once(&self, module: &Module, ctx: WaliCtx) -> Result<Outcome> {
        check_wali_module(module)?;
        ctx.process().set_run_loop_thread();
        let mut linker = Linker::new(&self.engine);
        // Only what the module imports: the whole table would be a few
        // hundred host functions defined at every start.
        link_imports(&mut linker, module, get)?;
        let mut store = new_store(&self.engine, RunState { wali: ctx }, get);
        crate::threads::define_memory(&mut linker, &store, module)?;
        // A thread that execs in a child it forked (no run loop there)
        // runs the program itself.
        let me = self.clone();
        let exec: crate::threads::ExecHere = Box::new(move |req| {
            let r = me.for_exec().map_err(|e| e.to_string())?;
            wali_core::run::ExecLoop::new(r.close_on_exec)
                .run(Outcome::Exec(req), |req| r.run_request(req))
                .map_err(|e| e.to_string())
        });
        let threads = crate::threads::ThreadSupport::with_exec(
            &self.engine,
            64 << 20,
            get,
            |wali| RunState { wali },
            Some(exec),
        );
        let pre = match linker.instantiate_pre(module) {
            Ok(p) => p,
            Err(e) => return outcome_of(e),
        };
        threads.ready(pre.clone());
        threads.attach(&store.data().wali);
        let instance = match pre.instantiate(&mut store) {
            Ok(i) => i,
            Err(e) => return outcome_of(e),
        };
        run_instance(&mut store, &instance, get)
    }
}

/// Refuses a module that cannot be a WALI program, with a clear reason.
fn check_wali_module(module: &Module) -> Result<()> {
    let has_mem = module.exports().any(|e| e.name() == "memory");
    let has_start = module.exports().any(|e| e.name() == "_start");
    if !has_start || !has_mem {
        let imports_wali = module.imports().any(|i| i.module() == wali_spec::MODULE);
        let what = if !imports_wali {
            "it imports nothing from \"wali\""
        } else if !has_start {
            "it exports no `_start`"
        } else {
            "it exports no memory `memory`"
        };
        return Err(wasmtime::Error::msg(format!("not a WALI module: {what}")));
    }
    Ok(())
}

/// Runs the WALI program in `path` with `ctx` (default engine and cache);
/// returns how it ended.
pub fn run_file(path: impl AsRef<Path>, ctx: WaliCtx) -> Result<Outcome> {
    let runner = Runner::new()?;
    let module = runner.load(path.as_ref())?;
    runner.run(&module, ctx)
}
