//! Running a WALI program: engine configuration, instantiation, `_start`,
//! and the exit status.

use crate::{add_to_linker, link_module, ModuleCache, WasmtimeMemory};
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
    // A signal interrupts a guest that computes without syscalls.
    c.epoch_interruption(true);
    c.parallel_compilation(true);
    c
}

/// How a guest ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The guest exited (`exit_group`, `__proc_exit`, or `_start` returned: 0).
    Exited(i32),
    /// The guest was ended as by signal `signal` (a wasm trap, or an abort).
    Killed { signal: i32, message: String },
    /// The guest exec'd a wasm program, which should replace it in this
    /// process ([`Runner::run`] does so; a host driving instances itself
    /// runs the request's module with `request.builder(old process)`).
    Exec(Box<wali_core::ExecRequest>),
}

impl Outcome {
    /// The status a shell sees: the exit code's low 8 bits, or 128 + signal.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Exited(c) => wali_core::exit_status(*c),
            Outcome::Killed { signal, .. } => 128 + signal,
            Outcome::Exec(_) => 0,
        }
    }
}

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

/// Maps the error that ended a guest call to an outcome.
pub(crate) fn outcome_of(e: wasmtime::Error) -> Result<Outcome> {
    if let Some(c) = e.downcast_ref::<Ctrl>() {
        return Ok(match c {
            Ctrl::Exit(code) | Ctrl::ExitThread(code) => Outcome::Exited(*code),
            Ctrl::Exec(req) => Outcome::Exec(req.clone()),
            Ctrl::Abort(msg) => Outcome::Killed {
                signal: if msg.starts_with("killed:") {
                    libc::SIGKILL
                } else {
                    libc::SIGABRT
                },
                message: msg.clone(),
            },
            Ctrl::Errno(e) => Outcome::Killed {
                signal: libc::SIGABRT,
                message: format!("unexpected errno {e}"),
            },
        });
    }
    if e.downcast_ref::<wasmtime::ThrownException>().is_some() {
        // The setjmp transform's longjmp found no active setjmp frame.
        return Ok(Outcome::Killed {
            signal: libc::SIGSEGV,
            message:
                "longjmp to a jump buffer whose setjmp caller has returned (a bug in the guest)"
                    .into(),
        });
    }
    if let Some(t) = e.downcast_ref::<Trap>() {
        let signal = match t {
            Trap::MemoryOutOfBounds
            | Trap::StackOverflow
            | Trap::TableOutOfBounds
            | Trap::IndirectCallToNull => libc::SIGSEGV,
            Trap::HeapMisaligned => libc::SIGBUS,
            Trap::IntegerDivisionByZero | Trap::IntegerOverflow | Trap::BadConversionToInteger => {
                libc::SIGFPE
            }
            Trap::UnreachableCodeReached | Trap::BadSignature => libc::SIGILL,
            Trap::OutOfFuel => libc::SIGXCPU,
            _ => libc::SIGABRT,
        };
        let func = e.downcast_ref::<WasmBacktrace>().and_then(|bt| {
            bt.frames().first().map(|f| {
                f.func_name()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("function #{}", f.func_index()))
            })
        });
        let what = t.to_string();
        let what = if what.starts_with("wasm trap") {
            what
        } else {
            format!("wasm trap: {what}")
        };
        let message = match func {
            Some(f) => format!("{what} in {f}"),
            None => what,
        };
        return Ok(Outcome::Killed { signal, message });
    }
    Err(e)
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
        if get(ctx.data_mut()).process().is_killed() {
            return Err(wasmtime::Error::new(Ctrl::Abort(
                "killed: the policy's timeout expired".into(),
            )));
        }
        if wali_core::sys::signal::pending() {
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
    get(store.data_mut()).set_adapter_data(Box::new(tramps));
    setup_store(store, get);
    let start = instance
        .get_typed_func::<(), ()>(&mut *store, "_start")
        .map_err(|_| wasmtime::Error::msg("not a WALI module: it exports no `_start` function"))?;
    let outcome = match start.call(&mut *store, ()) {
        Ok(()) => Ok(Outcome::Exited(0)),
        Err(e) => outcome_of(e),
    };
    if get(store.data_mut()).process().is_forked_child() {
        if let Ok(o @ (Outcome::Exited(_) | Outcome::Killed { .. })) = &outcome {
            die(o);
        }
    }
    outcome
}

/// A process the guest forked ends with the guest: it must not return
/// into the host's code, which did not fork and does not expect to return
/// twice. A guest killed by a trap dies of the matching signal, so its
/// parent sees WIFSIGNALED as it would for a native process.
pub(crate) fn die(o: &Outcome) -> ! {
    match o {
        Outcome::Killed { signal, message } => {
            wali_core::end_process(Some((*signal, message)), o.exit_code())
        }
        _ => wali_core::end_process(None, o.exit_code()),
    }
}

struct RunState {
    wali: WaliCtx,
}

fn get(s: &mut RunState) -> &mut WaliCtx {
    &mut s.wali
}

/// Runs WALI programs: one engine, an optional compiled-module cache.
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
    /// same process (pid, descriptors, working directory kept).
    pub fn run(&self, module: &Module, ctx: WaliCtx) -> Result<Outcome> {
        // Descriptors the host had before the guest ran are its own (the
        // runtime's included): an exec does not close them.
        ctx.process().arm_timeout(crate::signals::interrupt_all);
        let host_fds = if self.close_on_exec {
            wali_core::sys::open_fds()
        } else {
            Vec::new()
        };
        let mut outcome = self.run_once(module, ctx)?;
        // The exec'd program compiles without helper threads: after a
        // guest's fork they do not exist in this process.
        let mut child_engine: Option<Runner> = None;
        while let Outcome::Exec(req) = &outcome {
            let req = req.clone();
            let old = self.verbosity;
            if self.close_on_exec {
                wali_core::sys::close_cloexec_fds(&host_fds);
            }
            if child_engine.is_none() {
                let mut c = self.config.clone();
                c.parallel_compilation(false);
                let r = Runner::with_config(&c)?
                    .transforms(self.transforms)
                    .verbosity(old);
                child_engine = Some(Runner {
                    cache: self.cache.clone(),
                    ..r
                });
            }
            let runner = child_engine.as_ref().expect("set above");
            let module = match runner.load(&req.path) {
                Ok(m) => m,
                Err(e) => {
                    return Ok(Outcome::Killed {
                        signal: libc::SIGKILL,
                        message: format!("exec {}: {e}", req.path.display()),
                    })
                }
            };
            let ctx = req.builder(old);
            let ctx = ctx
                .build()
                .map_err(|e| wasmtime::Error::msg(format!("exec: {e}")))?;
            outcome = runner.run_once(&module, ctx)?;
        }
        Ok(outcome)
    }

    fn run_once(&self, module: &Module, ctx: WaliCtx) -> Result<Outcome> {
        check_wali_module(module)?;
        let mut linker = Linker::new(&self.engine);
        add_to_linker(&mut linker, get)?;
        link_module(&mut linker, module, get)?;
        let mut store = new_store(&self.engine, RunState { wali: ctx }, get);
        crate::threads::define_memory(&mut linker, &store, module)?;
        let threads = crate::threads::add_threads_to_linker(
            &mut linker,
            &self.engine,
            64 << 20,
            get,
            |wali| RunState { wali },
        )?;
        let pre = match linker.instantiate_pre(module) {
            Ok(p) => p,
            Err(e) => return outcome_of(e),
        };
        threads.ready(pre.clone());
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
