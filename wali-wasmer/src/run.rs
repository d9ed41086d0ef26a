//! Running a WALI program on wasmer: instantiation, `_start`, the exit
//! status, and the exec loop (core's [`ExecLoop`]).

use crate::glue::{imports, State};
use crate::memory::{StoreGuard, WasmerMemory};
use crate::threads::{ExecHere, Spawn};
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use wali_core::run::ExecLoop;
use wali_core::transform::{exports, memimport};
use wali_core::{Ctrl, Outcome, WaliCtx};
use wasmer::{
    Engine, ExternType, FunctionEnv, Instance, Memory, Module, RuntimeError, Store, Value,
};

/// Runs WALI programs on wasmer.
#[derive(Clone)]
pub struct Runner {
    pub(crate) engine: Engine,
    pub(crate) transforms: wali_core::transform::Options,
    /// Compile inside a rayon pool of this runner's own (see `compile`).
    pub(crate) own_pool: bool,
    pub(crate) verbosity: u8,
    pub(crate) cache: Option<wali_core::ModuleCache>,
    pub(crate) compiler: Compiler,
}

/// The compiler wasmer translates modules with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compiler {
    /// Cranelift (the default): quick to compile, as wasmtime's code.
    #[default]
    Cranelift,
    /// LLVM (cargo feature `llvm`): an optimizing tier, slower to compile
    /// (the compiled-module cache pays that once per module) and faster
    /// code.
    #[cfg(feature = "llvm")]
    Llvm,
}

impl Compiler {
    /// The compiler's name (`cranelift`, `llvm`), as the cache records it.
    pub fn name(self) -> &'static str {
        match self {
            Compiler::Cranelift => "cranelift",
            #[cfg(feature = "llvm")]
            Compiler::Llvm => "llvm",
        }
    }
}

impl Default for Runner {
    fn default() -> Self {
        Runner::new()
    }
}

impl Runner {
    /// A runner on wasmer's cranelift engine (threads and exceptions on).
    pub fn new() -> Runner {
        Runner::with_compiler(Compiler::default())
    }

    /// A runner whose engine compiles with `compiler`.
    pub fn with_compiler(compiler: Compiler) -> Runner {
        Runner::with_compile_threads(compiler, None)
    }

    fn with_compile_threads(compiler: Compiler, threads: Option<std::num::NonZeroUsize>) -> Runner {
        let mut features = wasmer::sys::Features::default();
        features.threads(true);
        features.exceptions(true);
        features.bulk_memory(true);
        // the signal-poll transform's flag is a second memory
        features.multi_memory(true);
        let engine = match compiler {
            Compiler::Cranelift => {
                let mut cranelift = wasmer::sys::Cranelift::default();
                if let Some(n) = threads {
                    cranelift.num_threads(n);
                }
                wasmer::sys::EngineBuilder::new(cranelift)
                    .set_features(Some(features))
                    .engine()
            }
            #[cfg(feature = "llvm")]
            Compiler::Llvm => {
                // Aggressive optimization, and the guest's memory accesses
                // kept volatile (wasmer's default): a load that traps is
                // never optimized away, and a plain load in a loop on
                // shared memory is not hoisted out of it. Non-volatile
                // accesses measured mixed (lua binary-trees -25%, C
                // binary-trees +27%: BENCHMARKS.md). Tables no guest code
                // writes (the host never does) are read-only data.
                let mut llvm = wasmer::sys::LLVM::default();
                llvm.readonly_funcref_table(true);
                if let Some(n) = threads {
                    llvm.num_threads(n);
                }
                wasmer::sys::EngineBuilder::new(llvm)
                    .set_features(Some(features))
                    .engine()
            }
        };
        Runner {
            engine: engine.into(),
            transforms: Default::default(),
            own_pool: false,
            verbosity: 0,
            cache: wali_core::ModuleCache::default_location(),
            compiler,
        }
    }

    /// Selects the load-time transforms (all by default, with signal
    /// polling). Fuel metering stays as [`fuel`](Self::fuel) set it.
    pub fn transforms(mut self, opts: wali_core::transform::Options) -> Runner {
        self.transforms = wali_core::transform::Options {
            fuel: self.transforms.fuel,
            ..opts
        };
        self
    }

    /// At 1 or more, `load` reports the transforms it applied on stderr
    /// (`[wali] transform: ...`), as `wali::Runner::verbosity` does.
    pub fn verbosity(mut self, level: u8) -> Runner {
        self.verbosity = level;
        self
    }

    /// The stack wasm code runs on, in bytes (wasmer runs guests on stacks
    /// of its own, 1 MiB by default; wasmtime's counterpart is
    /// `max_wasm_stack`). Process-wide: wasmer keeps one setting for every
    /// engine. Host calls from deep recursion run on it too, so it should
    /// be generous: `wali-run` gives the same 8 MiB as on wasmtime.
    pub fn wasm_stack_size(self, bytes: usize) -> Runner {
        wasmer::sys::vm::set_stack_size(bytes);
        self
    }

    /// Meters fuel (`Policy::fuel`, about one unit per wasm instruction):
    /// modules are loaded with the fuel transform, and a guest that uses
    /// its fuel up ends as by SIGXCPU. Off by default.
    pub fn fuel(mut self, on: bool) -> Runner {
        self.transforms.fuel = on;
        self
    }

    /// Uses `cache` (or none) for compiled modules; by default the same
    /// directory as `wali::Runner` (`$WALI_CACHE_DIR`, ...), under names
    /// that bind the engine, so the two engines' files never mix.
    pub fn cache(mut self, cache: Option<wali_core::ModuleCache>) -> Runner {
        self.cache = cache;
        self
    }

    /// Runs `module` with `ctx`; returns how it ended. A guest's exec of a
    /// wasm program replaces it here, in the same process, also when
    /// another thread than the main one execs (the other threads end, as
    /// on Linux).
    pub fn run(&self, module: &Module, ctx: WaliCtx) -> Result<Outcome, String> {
        // The guest ends at its next poll (loop header, function entry or
        // syscall return) once the time is up.
        ctx.process()
            .arm_timeout(wali_core::sys::signal::interrupt_guests);
        let execs = ExecLoop::new(true);
        let first = self.run_once(module, ctx)?;
        let mut child: Option<Runner> = None;
        execs.run(first, |req| {
            child
                .get_or_insert_with(|| self.for_exec())
                .run_request(req)
        })
    }

    /// The runner an exec'd program runs with: it compiles on one thread
    /// (after a guest's fork the compiler's helper threads do not exist
    /// in this process).
    fn for_exec(&self) -> Runner {
        let mut single =
            Runner::with_compile_threads(self.compiler, std::num::NonZeroUsize::new(1))
                .transforms(self.transforms)
                .verbosity(self.verbosity)
                .cache(self.cache.clone());
        single.transforms.fuel = self.transforms.fuel;
        single.own_pool = true;
        single
    }

    /// Loads and runs the program of an exec request (`Ok(Err)`: it cannot
    /// be loaded).
    fn run_request(&self, req: &wali_core::ExecRequest) -> Result<Result<Outcome, String>, String> {
        let m = match self.load(&req.path) {
            Ok(m) => m,
            Err(e) => return Ok(Err(e)),
        };
        let ctx = req
            .builder(self.verbosity)
            .build()
            .map_err(|e| format!("exec: {e}"))?;
        self.run_once(&m, ctx).map(Ok)
    }

    fn run_once(&self, module: &Module, ctx: WaliCtx) -> Result<Outcome, String> {
        ctx.process().set_run_loop_thread();
        let mut store = Store::new(self.engine.clone());
        let env = FunctionEnv::new(&mut store, State::new(ctx));
        let (instance, memory) = match instantiate(&mut store, &env, module, None)? {
            Started::Instance(i, m) => (i, m),
            Started::Ended(o) => return Ok(o),
        };
        if let Some(memory) = memory {
            // A thread that execs in a child it forked (no run loop there)
            // runs the program itself.
            let me = self.clone();
            let exec: ExecHere = Box::new(move |req| {
                let r = me.for_exec();
                ExecLoop::new(true).run(Outcome::Exec(req), |req| r.run_request(req))
            });
            env.as_ref(&store)
                .wali
                .process()
                .set_thread_runner(Arc::new(Spawn {
                    engine: store.engine().clone(),
                    module: module.clone(),
                    memory,
                    exec: Some(exec),
                }));
        }
        env.as_mut(&mut store)
            .wali
            .prepare()
            .map_err(|e| format!("cannot prepare the guest: {e}"))?;
        map_c_stack(&mut store, &env);
        let start = instance
            .exports
            .get_typed_function::<(), ()>(&store, "_start")
            .map_err(|_| "not a WALI module: it exports no `_start` function".to_string())?;
        let outcome = match start.call(&mut store) {
            Ok(()) => Outcome::Exited(0),
            Err(e) => outcome_of(e)?,
        };
        Ok(wali_core::run::program_ended(
            &mut env.as_mut(&mut store).wali,
            outcome,
        ))
    }
}

/// Moves the main thread's C stack to one of the size the process's
/// `c_stack_size` says, when the module exports its stack pointer and
/// limit (the stack transform) and its own stack is smaller.
fn map_c_stack(store: &mut Store, env: &FunctionEnv<State>) {
    let mut fe = env.clone().into_mut(store);
    let (st, mut sm) = fe.data_and_store_mut();
    let (Some(sp), Some(limit)) = (st.sp.clone(), st.limit.clone()) else {
        return;
    };
    let Value::I32(now) = sp.get(&mut sm) else {
        return;
    };
    // the mapping may grow the memory: through this store
    if let Some(m) = &st.memory {
        m.refresh(&sm);
    }
    let placed = {
        let _g = StoreGuard::set(&mut sm);
        wali_core::run::map_c_stack(&mut st.wali, now as u32)
    };
    if let Some((top, base)) = placed {
        // both are mutable i32 globals the transform made or exported
        let _ = sp.set(&mut sm, Value::I32(top as i32));
        let _ = limit.set(&mut sm, Value::I32(base as i32));
    }
}

/// Maps the error that ended a guest call to an outcome: a control value
/// of core, or a trap (named by core's table).
pub(crate) fn outcome_of(e: RuntimeError) -> Result<Outcome, String> {
    use wali_core::Trap as K;
    use wasmer_types::TrapCode as T;
    if let Some(c) = e.downcast_ref::<Ctrl>() {
        return Ok(Outcome::of_ctrl(c));
    }
    let message = e.message();
    // the function that trapped, named as on wasmtime
    let func = e.trace().first().map(|f| {
        f.function_name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("function #{}", f.func_index()))
    });
    let kind = match e.to_trap() {
        Some(T::HeapAccessOutOfBounds) => K::MemoryOutOfBounds,
        Some(T::StackOverflow) => K::StackOverflow,
        Some(T::TableAccessOutOfBounds) => K::TableOutOfBounds,
        Some(T::IndirectCallToNull) => K::IndirectCallToNull,
        Some(T::HeapMisaligned) => K::HeapMisaligned,
        Some(T::IntegerOverflow) => K::IntegerOverflow,
        Some(T::IntegerDivisionByZero) => K::IntegerDivisionByZero,
        Some(T::BadConversionToInteger) => K::BadConversionToInteger,
        Some(T::UnreachableCodeReached) => K::Unreachable,
        Some(T::BadSignature) => K::BadSignature,
        Some(T::UncaughtException) => K::UncaughtException,
        Some(_) => K::Other,
        // wasmer reports a wasm exception that left every frame as a
        // runtime error without a trap code.
        None if message.contains("exception") => K::UncaughtException,
        None => return Err(message),
    };
    Ok(Outcome::of_trap(kind, &message, func))
}

/// How instantiating a module went.
pub(crate) enum Started {
    /// The instance, and the shared memory made for it (`None` for a
    /// thread of a running guest, or a module that defines its memory).
    Instance(Instance, Option<wasmer::SharedMemory>),
    /// The module's start function already ended the guest.
    Ended(Outcome),
}

/// Instantiates `module` in `store` for the guest thread whose state is
/// `env`: its imports, its memory (a new shared memory, or `shared` for a
/// thread of a running guest), the memory and trampolines in the state.
pub(crate) fn instantiate(
    store: &mut Store,
    env: &FunctionEnv<State>,
    module: &Module,
    shared: Option<&wasmer::SharedMemory>,
) -> Result<Started, String> {
    let mut imports = imports(store, env, module)?;
    let mut made = None;
    for imp in module.imports() {
        if imp.module() == memimport::MODULE && imp.name() == memimport::NAME {
            if let ExternType::Memory(ty) = imp.ty() {
                let m = match shared {
                    Some(sh) => sh.clone().attach(store),
                    None => {
                        let m = Memory::new(store, *ty).map_err(|e| e.to_string())?;
                        made = m.as_shared(store);
                        m
                    }
                };
                imports.define(memimport::MODULE, memimport::NAME, m);
            }
        }
    }
    let instance = match Instance::new(store, module, &imports) {
        Ok(i) => i,
        Err(wasmer::InstantiationError::Start(e)) => return outcome_of(e).map(Started::Ended),
        Err(e) => return Err(e.to_string()),
    };
    let memory = instance
        .exports
        .get_memory("memory")
        .map_err(|_| "not a WALI module: it exports no memory named `memory`".to_string())?
        .clone();
    let ty = memory.ty(store);
    if !ty.shared {
        return Err("not a WALI module: its memory `memory` is not shared".into());
    }
    let max = ty
        .maximum
        .map_or(wali_spec::consts::MAX_MEMORY, |p| (p.0 as usize) << 16)
        .min(wali_spec::consts::MAX_MEMORY);
    let wm = Arc::new(WasmerMemory::new(store, memory, max));
    let tramps = match (
        instance
            .exports
            .get_typed_function::<(i32, i32), ()>(store, exports::CALL_V_I),
        instance
            .exports
            .get_typed_function::<(i32, i32, i32, i32), ()>(store, exports::CALL_V_III),
    ) {
        (Ok(v_i), Ok(v_iii)) => Some(crate::signals::Trampolines {
            v_i,
            v_iii,
            i_i: instance
                .exports
                .get_typed_function::<(i32, i32), i32>(store, exports::CALL_I_I)
                .ok(),
        }),
        _ => None,
    };
    let sp = instance
        .exports
        .get_global(exports::STACK_POINTER)
        .ok()
        .cloned();
    let limit = instance
        .exports
        .get_global(exports::STACK_LIMIT)
        .ok()
        .cloned();
    let flag = instance
        .exports
        .get_memory(wali_core::transform::poll::FLAG_EXPORT)
        .ok()
        .and_then(|m| {
            let word = m.view(store).data_ptr() as *const AtomicU32;
            let keep = m.as_shared(store)?;
            // SAFETY: the flag memory is one page that cannot grow,
            // page-aligned, so its first word is an aligned u32 at this
            // address; the `SharedMemory` kept with the flag holds the
            // mapping (an `Arc` of it) however the store goes.
            Some(unsafe { wali_core::sys::signal::PollFlag::new(word, Box::new(keep)) })
        });
    if let Ok(table) = instance
        .exports
        .get_table(wali_core::transform::poll::POLL_TABLE_EXPORT)
    {
        let poll = crate::glue::poll_function(store, env);
        table
            .set(store, 0, Value::FuncRef(Some(poll)))
            .map_err(|e| e.to_string())?;
    }
    let fuel = instance
        .exports
        .get_global(wali_core::transform::poll::FUEL_EXPORT)
        .ok()
        .cloned();
    if let Some(g) = &fuel {
        let left = env
            .as_ref(store)
            .wali
            .process()
            .policy()
            .and_then(|p| p.fuel)
            .map_or(i64::MAX, |f| f.min(i64::MAX as u64) as i64);
        g.set(store, Value::I64(left)).map_err(|e| e.to_string())?;
    }
    let st = env.as_mut(store);
    st.wali.set_poll_flag(flag);
    st.fuel = fuel;
    st.wali.set_memory(wm.clone());
    st.memory = Some(wm);
    st.tramps = tramps;
    st.sp = sp;
    st.limit = limit;
    wali_core::sys::signal::mark_guest_thread();
    Ok(Started::Instance(instance, made))
}
