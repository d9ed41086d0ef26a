//! WALI (WebAssembly Linux Interface) for wasmer: the same semantics as
//! `wali-wasmtime` (all of it lives in `wali-core`), the same load-time
//! transforms, generated from the same `wali-spec` table.
//!
//! ```no_run
//! let ctx = wali_wasmer::WaliCtx::builder().arg("prog.wasm").inherit_env().build().unwrap();
//! let runner = wali_wasmer::Runner::new();
//! let module = runner.load(std::path::Path::new("prog.wasm")).unwrap();
//! let outcome = runner.run(&module, ctx).unwrap();
//! std::process::exit(outcome.exit_code());
//! ```

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use wali_core::transform::{exports, imports as timports, memimport};
use wali_core::{Ctrl, Errno, GuestMemory};
use wali_spec::{ValType as V, MODULE};
use wasmer::{
    AsStoreRef, Engine, ExternType, Function, FunctionEnv, FunctionEnvMut, FunctionType, Imports,
    Instance, Memory, Module, RuntimeError, Store, StoreMut, Type, TypedFunction, Value,
};

pub use wali_core::{NetRule, Policy, Stdio, WaliCtx, WaliCtxBuilder};

/// How a guest ended (as `wali::Outcome` for wasmtime).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Killed { signal: i32, message: String },
}

impl Outcome {
    /// The status a shell sees.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Exited(c) => wali_core::exit_status(*c),
            Outcome::Killed { signal, .. } => 128 + signal,
        }
    }
}

/// The store data of a WALI guest on wasmer.
pub struct State {
    pub wali: WaliCtx,
    memory: Option<Arc<WasmerMemory>>,
    tramps: Option<Trampolines>,
    spawn: Option<Arc<Spawn>>,
    /// The poll flag of this thread's instance (see `transform::poll`).
    flag: Option<&'static AtomicU32>,
    /// The instance's fuel global, when the runner meters fuel.
    fuel: Option<wasmer::Global>,
}

impl State {
    fn new(wali: WaliCtx) -> State {
        State {
            wali,
            memory: None,
            tramps: None,
            spawn: None,
            flag: None,
            fuel: None,
        }
    }
}

/// The poll flags of the process's guest instances (addresses of their
/// flag words), which the native signal handler sets.
static FLAGS: [AtomicUsize; 1024] = [const { AtomicUsize::new(0) }; 1024];
/// Signal handlers inside `set_flags` right now.
static SETTING: AtomicUsize = AtomicUsize::new(0);

/// The interrupt hook: every guest instance polls at its next loop
/// header or function entry. Async-signal-safe: atomics only.
fn set_flags() {
    SETTING.fetch_add(1, Ordering::SeqCst);
    for slot in &FLAGS {
        let p = slot.load(Ordering::SeqCst);
        if p != 0 {
            // SAFETY: a registered address is a live flag word: `FlagSlot`
            // unregisters it, and waits out this loop, before its memory
            // can go.
            unsafe { (*(p as *const AtomicU32)).store(1, Ordering::SeqCst) };
        }
    }
    SETTING.fetch_sub(1, Ordering::SeqCst);
}

/// A registered flag; unregistered on drop, which must happen before the
/// flag's memory (its store) goes.
struct FlagSlot(Option<usize>);

impl FlagSlot {
    fn register(flag: &AtomicU32) -> FlagSlot {
        let p = flag as *const AtomicU32 as usize;
        wali_core::sys::signal::set_interrupt_hook(set_flags);
        FlagSlot(FLAGS.iter().position(|s| {
            s.compare_exchange(0, p, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        }))
    }
}

impl Drop for FlagSlot {
    fn drop(&mut self) {
        if let Some(i) = self.0 {
            FLAGS[i].store(0, Ordering::SeqCst);
            while SETTING.load(Ordering::SeqCst) != 0 {
                std::hint::spin_loop();
            }
        }
    }
}

/// What `__wasm_thread_spawn` needs to start a thread: the module, its
/// engine, and the shared memory the module imports (after the load-time
/// rewrite), as a handle any thread's store can attach.
struct Spawn {
    engine: Engine,
    module: Module,
    memory: wasmer::SharedMemory,
}

/// The `__wali_call_v_i` and `__wali_call_v_iii` trampolines of a guest.
type Trampolines = (
    TypedFunction<(i32, i32), ()>,
    TypedFunction<(i32, i32, i32, i32), ()>,
);

thread_local! {
    /// The store of the host call in progress on this thread, for memory
    /// growth (wasmer grows memory through its store).
    static STORE: Cell<*mut ()> = const { Cell::new(std::ptr::null_mut()) };
}

/// The guest's memory on wasmer. wasmer gives base and size through a
/// store, so the glue refreshes the size on each call, and growth uses the
/// store of the call in progress.
struct WasmerMemory {
    base: Cell<usize>,
    size: AtomicUsize,
    max: usize,
    mem: Memory,
    /// For waking the engine's `memory.atomic.wait` waiters.
    shared: Option<wasmer::SharedMemory>,
}

// SAFETY: `base` is only written by the thread running the guest's host
// calls; the memory is a shared memory that does not move.
unsafe impl Sync for WasmerMemory {}
// SAFETY: as above.
unsafe impl Send for WasmerMemory {}

impl WasmerMemory {
    fn refresh(&self, store: &impl AsStoreRef) {
        let v = self.mem.view(store);
        self.base.set(v.data_ptr() as usize);
        self.size.store(v.data_size() as usize, Ordering::Relaxed);
    }
}

impl GuestMemory for WasmerMemory {
    fn base(&self) -> *mut u8 {
        self.base.get() as *mut u8
    }
    fn size(&self) -> usize {
        self.size.load(Ordering::Relaxed)
    }
    fn max_size(&self) -> usize {
        self.max
    }
    fn grow(&self, delta_pages: u64) -> Result<u64, Errno> {
        let p = STORE.with(|s| s.get());
        if p.is_null() {
            return Err(Errno::NOMEM);
        }
        // SAFETY: `p` points at the `StoreMut` of the host call in progress
        // on this thread (set and cleared around the call by the glue).
        let store = unsafe { &mut *(p as *mut StoreMut<'static>) };
        let old = self
            .mem
            .grow(store, wasmer::Pages(delta_pages as u32))
            .map_err(|_| Errno::NOMEM)?;
        self.refresh(store);
        Ok(old.0 as u64)
    }
    fn atomic_notify(&self, addr: u32, count: u32) -> u32 {
        self.shared
            .as_ref()
            .and_then(|m| m.notify(wasmer::MemoryLocation::new_32(addr), count).ok())
            .unwrap_or(0)
    }
    fn atomic_wait32(
        &self,
        addr: u32,
        expected: u32,
        timeout: std::time::Duration,
    ) -> Option<wali_core::WaitResult> {
        let m = self.shared.as_ref()?;
        if addr % 4 != 0 || addr as usize + 4 > self.size() {
            return None;
        }
        // SAFETY: an aligned word inside the shared memory, which does not
        // move; read atomically, as other threads write it.
        let cur = unsafe {
            (*(self.base().add(addr as usize) as *const AtomicU32)).load(Ordering::SeqCst)
        };
        if cur != expected {
            return Some(wali_core::WaitResult::Mismatch);
        }
        // wasmer's public wait does not compare under its lock: a wake
        // between the load above and the wait is seen at the end of this
        // slice (the futex loop waits in slices of at most 10 ms and
        // compares again).
        Some(
            match m.wait(wasmer::MemoryLocation::new_32(addr), Some(timeout)) {
                Ok(0) => wali_core::WaitResult::Woken,
                Ok(_) => wali_core::WaitResult::TimedOut,
                Err(_) => return None,
            },
        )
    }
}

struct StoreGuard;
impl StoreGuard {
    fn set(store: &mut StoreMut<'_>) -> StoreGuard {
        STORE.with(|s| s.set(store as *mut StoreMut<'_> as *mut ()));
        StoreGuard
    }
}
impl Drop for StoreGuard {
    fn drop(&mut self) {
        STORE.with(|s| s.set(std::ptr::null_mut()));
    }
}

fn ctrl_error(c: Ctrl) -> RuntimeError {
    RuntimeError::user(Box::new(c))
}

/// Runs a core call with the memory refreshed and the store reachable,
/// then delivers pending guest signal handlers.
fn call<R>(
    mut fe: FunctionEnvMut<State>,
    f: impl FnOnce(&mut WaliCtx) -> Result<R, Ctrl>,
) -> Result<R, RuntimeError> {
    let r = {
        let (st, mut store) = fe.data_and_store_mut();
        if let Some(m) = &st.memory {
            m.refresh(&store);
        }
        let _g = StoreGuard::set(&mut store);
        f(&mut st.wali)
    };
    if let Some(g) = fe.data().fuel.clone() {
        if matches!(g.get(&mut fe), Value::I64(v) if v < 0) {
            return Err(ctrl_error(Ctrl::Abort(format!(
                "{FUEL_OUT}: the policy's CPU cap was reached"
            ))));
        }
    }
    if let Some(flag) = fe.data().flag {
        if flag.load(Ordering::Relaxed) != 0 {
            flag.store(0, Ordering::Relaxed);
            if fe.data().wali.process().is_killed() {
                return Err(ctrl_error(Ctrl::Abort(
                    "killed: the policy's timeout expired".into(),
                )));
            }
        }
    }
    if wali_core::sys::signal::pending() {
        deliver(&mut fe)?;
    }
    r.map_err(ctrl_error)
}

fn deliver(fe: &mut FunctionEnvMut<State>) -> Result<(), RuntimeError> {
    use wali_core::sys::signal as sig;
    loop {
        let (st, mut store) = fe.data_and_store_mut();
        let Some((signo, act)) = sig::take_pending(&st.wali) else {
            return Ok(());
        };
        let Some((v_i, v_iii)) = st.tramps.clone() else {
            return Ok(());
        };
        let old = sig::enter_handler(&st.wali, signo, &act);
        let r = if act.flags & 4 != 0 {
            // SA_SIGINFO: siginfo_t and ucontext_t in a scratch page.
            let (info, uc) = {
                let (st, mut store) = fe.data_and_store_mut();
                let _g = StoreGuard::set(&mut store);
                sig::siginfo_frame(&mut st.wali, signo)
            };
            let (_, mut store) = fe.data_and_store_mut();
            let r = v_iii.call(&mut store, act.handler as i32, signo, info, uc);
            sig::release_siginfo(&mut fe.data_mut().wali, info);
            r
        } else {
            v_i.call(&mut store, act.handler as i32, signo)
        };
        sig::leave_handler(old);
        r?;
    }
}

macro_rules! link_syscalls {
    ($( ($name:ident, $nr:literal, $origin:ident, [$($p:ident : $t:ident),*], $c:literal) ),* $(,)?) => {
        fn link_syscalls(store: &mut Store, env: &FunctionEnv<State>, imports: &mut Imports) {
            $(
                imports.define(MODULE, concat!("SYS_", stringify!($name)), Function::new_typed_with_env(
                    store, env,
                    |fe: FunctionEnvMut<State>, $($p: $t),*| -> Result<i64, RuntimeError> {
                        let r = call(fe, |cx| {
                            if let Some(pol) = cx.process().policy() {
                                if pol.denies($nr) {
                                    return Ok(-(libc::EPERM as i64));
                                }
                            }
                            let raw = wali_core::sys::$name(cx, $($p),*);
                            if wali_core::trace::enabled() {
                                let ret = match &raw { Ok(v) => *v, Err(Ctrl::Errno(e)) => -(e.raw_os_error() as i64), Err(_) => 0 };
                                wali_core::trace::syscall(cx, stringify!($name), &[$($p as i64),*], ret);
                            }
                            wali_core::encode(raw)
                        });
                        r
                    },
                ));
            )*
        }
    };
}
wali_spec::for_each_syscall!(link_syscalls);

macro_rules! link_aux {
    ($( ($name:ident, [$($p:ident : $t:ident),*], $r:tt) ),* $(,)?) => {
        fn link_aux(store: &mut Store, env: &FunctionEnv<State>, imports: &mut Imports) {
            $(
                imports.define(MODULE, stringify!($name), Function::new_typed_with_env(
                    store, env,
                    |fe: FunctionEnvMut<State>, $($p: $t),*| -> Result<wali_spec::aux_ret!($r), RuntimeError> {
                        call(fe, |cx| wali_core::aux::$name(cx, $($p),*))
                    },
                ));
            )*
        }
    };
}
wali_spec::for_each_aux!(link_aux);

fn wasm_ty(t: V) -> Type {
    match t {
        V::I32 => Type::I32,
        V::I64 => Type::I64,
    }
}

fn same_type(ty: &FunctionType, params: &[V], result: Option<V>) -> bool {
    let p: Vec<Type> = params.iter().map(|t| wasm_ty(*t)).collect();
    let r: Vec<Type> = result.iter().map(|t| wasm_ty(*t)).collect();
    ty.params() == p.as_slice() && ty.results() == r.as_slice()
}

/// The imports of `module`: every `wali` import it declares, whatever its
/// type (adapted, -ENOSYS, or a trap for internals), as `wali-wasmtime`'s
/// `add_to_linker` + `link_module` give.
pub fn imports(store: &mut Store, env: &FunctionEnv<State>, module: &Module) -> Imports {
    let mut imports = Imports::new();
    link_syscalls(store, env, &mut imports);
    link_aux(store, env, &mut imports);
    imports.define(
        MODULE,
        "__wasm_thread_spawn",
        Function::new_typed_with_env(store, env, thread_spawn),
    );
    imports.define(
        MODULE,
        timports::SIGSAVE,
        Function::new_typed_with_env(
            store,
            env,
            |fe: FunctionEnvMut<State>, e: i32, s: i32| -> Result<i32, RuntimeError> {
                call(fe, |cx| wali_core::aux::sjlj_sigsave(cx, e, s))
            },
        ),
    );
    imports.define(
        MODULE,
        timports::LONGJMP_PREPARE,
        Function::new_typed_with_env(
            store,
            env,
            |fe: FunctionEnvMut<State>, e: i32, v: i32| -> Result<(), RuntimeError> {
                call(fe, |cx| wali_core::aux::sjlj_longjmp(cx, e, v))
            },
        ),
    );
    for imp in module.imports() {
        if imp.module() != MODULE {
            continue;
        }
        let name = imp.name().to_string();
        let ExternType::Function(ty) = imp.ty() else {
            continue;
        };
        if name == timports::SIGSAVE || name == timports::LONGJMP_PREPARE {
            continue;
        }
        if let Some(spec) = wali_spec::syscall_by_import(&name) {
            let is_alias = wali_spec::ALIASES.iter().any(|(a, _)| *a == name);
            if !is_alias && same_type(ty, spec.params, Some(V::I64)) {
                continue;
            }
            let f = wali_core::sys::raw(spec.name).expect("table entry");
            let want_i32 = ty.results().first() == Some(&Type::I32);
            let has_result = !ty.results().is_empty();
            let func = Function::new_with_env(store, env, ty.clone(), move |fe, params| {
                let args: Vec<i64> = params
                    .iter()
                    .map(|v| match v {
                        Value::I32(x) => *x as i64,
                        Value::I64(x) => *x,
                        _ => 0,
                    })
                    .collect();
                let v = call(fe, |cx| {
                    wali_core::encode(f(cx, &args[..args.len().min(6)]))
                })?;
                Ok(match (has_result, want_i32) {
                    (false, _) => vec![],
                    (true, true) => vec![Value::I32(v as i32)],
                    (true, false) => vec![Value::I64(v)],
                })
            });
            imports.define(MODULE, &name, func);
        } else if wali_spec::aux_by_name(&name).is_some() {
            // defined above with the table's type
        } else if name.starts_with("SYS_") {
            let results: Vec<Value> = ty
                .results()
                .iter()
                .map(|t| {
                    if *t == Type::I32 {
                        Value::I32(-libc::ENOSYS)
                    } else {
                        Value::I64(-(libc::ENOSYS as i64))
                    }
                })
                .collect();
            let n2 = name.clone();
            let func = Function::new_with_env(
                store,
                env,
                ty.clone(),
                move |fe: FunctionEnvMut<State>, _| {
                    fe.data().wali.unsupported(&n2);
                    Ok(results.clone())
                },
            );
            imports.define(MODULE, &name, func);
        } else {
            let n2 = name.clone();
            let func = Function::new_with_env(
                store,
                env,
                ty.clone(),
                move |_fe: FunctionEnvMut<State>, _| {
                    Err(ctrl_error(Ctrl::Abort(format!(
                        "wali.{n2} is not provided by this runtime"
                    ))))
                },
            );
            imports.define(MODULE, &name, func);
        }
    }
    imports
}

const STALE_LONGJMP: &str =
    "longjmp to a jump buffer whose setjmp caller has returned (a bug in the guest)";

/// How a guest that used up its fuel ends (SIGXCPU, as wasmtime's out-of-fuel trap).
const FUEL_OUT: &str = "fuel exhausted";

/// How one program ended: an outcome, or an exec of another wasm program.
enum Step {
    Done(Outcome),
    Exec(Box<wali_core::ExecRequest>),
}

fn step_of(e: RuntimeError) -> Result<Step, String> {
    if let Some(Ctrl::Exec(req)) = e.downcast_ref::<Ctrl>() {
        return Ok(Step::Exec(req.clone()));
    }
    outcome_of(e).map(Step::Done)
}

fn outcome_of(e: RuntimeError) -> Result<Outcome, String> {
    if let Some(c) = e.downcast_ref::<Ctrl>() {
        return Ok(match c {
            Ctrl::Exit(code) | Ctrl::ExitThread(code) => Outcome::Exited(*code),
            Ctrl::Abort(m) => Outcome::Killed {
                signal: if m.starts_with("killed:") {
                    libc::SIGKILL
                } else if m.starts_with(FUEL_OUT) {
                    libc::SIGXCPU
                } else {
                    libc::SIGABRT
                },
                message: m.clone(),
            },
            Ctrl::Exec(req) => {
                return Err(format!(
                    "exec {} (not supported on wasmer yet)",
                    req.path.display()
                ))
            }
            Ctrl::Errno(e) => Outcome::Killed {
                signal: libc::SIGABRT,
                message: format!("unexpected errno {e}"),
            },
        });
    }
    let message = e.message();
    // the function that trapped, named as on wasmtime
    let func = e.trace().first().map(|f| {
        f.function_name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("function #{}", f.func_index()))
    });
    match e.to_trap() {
        Some(t) => {
            use wasmer_types::TrapCode as T;
            let signal = match t {
                T::HeapAccessOutOfBounds
                | T::StackOverflow
                | T::TableAccessOutOfBounds
                | T::IndirectCallToNull => libc::SIGSEGV,
                T::HeapMisaligned => libc::SIGBUS,
                T::IntegerOverflow | T::IntegerDivisionByZero | T::BadConversionToInteger => {
                    libc::SIGFPE
                }
                T::UnreachableCodeReached | T::BadSignature => libc::SIGILL,
                T::UncaughtException => {
                    // only the setjmp transform throws: a stale longjmp
                    return Ok(Outcome::Killed {
                        signal: libc::SIGSEGV,
                        message: STALE_LONGJMP.into(),
                    });
                }
                _ => libc::SIGABRT,
            };
            let message = match func {
                Some(f) => format!("wasm trap: {message} in {f}"),
                None => format!("wasm trap: {message}"),
            };
            Ok(Outcome::Killed { signal, message })
        }
        None if message.contains("exception") => Ok(Outcome::Killed {
            signal: libc::SIGSEGV,
            message: STALE_LONGJMP.into(),
        }),
        None => Err(message),
    }
}

/// Runs WALI programs on wasmer.
pub struct Runner {
    engine: Engine,
    transforms: wali_core::transform::Options,
    /// Compile inside a rayon pool of this runner's own (see `load_bytes`).
    own_pool: bool,
    verbosity: u8,
    cache: Option<wali_core::ModuleCache>,
}

impl Default for Runner {
    fn default() -> Self {
        Runner::new()
    }
}

impl Runner {
    /// A runner on wasmer's cranelift engine (threads and exceptions on).
    pub fn new() -> Runner {
        Runner::with_compile_threads(None)
    }

    fn with_compile_threads(threads: Option<std::num::NonZeroUsize>) -> Runner {
        let mut cranelift = wasmer::sys::Cranelift::default();
        if let Some(n) = threads {
            cranelift.num_threads(n);
        }
        let mut features = wasmer::sys::Features::default();
        features.threads(true);
        features.exceptions(true);
        features.bulk_memory(true);
        // the signal-poll transform's flag is a second memory
        features.multi_memory(true);
        let engine = wasmer::sys::EngineBuilder::new(cranelift)
            .set_features(Some(features))
            .engine();
        Runner {
            engine: engine.into(),
            transforms: wali_core::transform::Options {
                signal_poll: true,
                ..Default::default()
            },
            own_pool: false,
            verbosity: 0,
            cache: wali_core::ModuleCache::default_location(),
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

    /// Transforms and compiles a module file.
    pub fn load(&self, path: &std::path::Path) -> Result<Module, String> {
        wali_core::cache::load_file(
            self.cache.as_ref(),
            self.cache_id(),
            &self.transforms,
            path,
            // SAFETY: as in `load_bytes`: a file of this private cache,
            // written by `Module::serialize`, recorded for this unchanged
            // module file and this engine; wasmer checks its header.
            |compiled| unsafe { Module::deserialize_from_file(&self.engine, compiled) }.ok(),
            |wasm| self.load_bytes(wasm),
            |e| format!("cannot read: {e}"),
        )
    }

    /// What the cache binds besides the module: the engine and its version.
    fn cache_id(&self) -> impl std::hash::Hash {
        ("wasmer", "7.4.2", self.engine.deterministic_id())
    }

    /// Transforms and compiles a module.
    pub fn load_bytes(&self, wasm: &[u8]) -> Result<Module, String> {
        if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
            return Err("not a WebAssembly module (no \\0asm magic)".into());
        }
        let cached = self
            .cache
            .as_ref()
            .map(|c| (c, c.path_for(self.cache_id(), wasm, &self.transforms)));
        if let Some((c, path)) = &cached {
            if c.usable(path) {
                // SAFETY: the file was written by `Module::serialize` into
                // this private cache, under a name that binds the module's
                // hash, wasmer's version and the engine's configuration;
                // wasmer still checks the artifact's header.
                if let Ok(m) = unsafe { Module::deserialize_from_file(&self.engine, path) } {
                    return Ok(m);
                }
            }
        }
        let m = self.compile(wasm)?;
        if let Some((c, path)) = &cached {
            // A cache that cannot be written is not an error: the module runs.
            if let Ok(bytes) = m.serialize() {
                let _ = c.store(path, &bytes);
            }
        }
        Ok(m)
    }

    fn compile(&self, wasm: &[u8]) -> Result<Module, String> {
        let t =
            wali_core::transform::transform(wasm, &self.transforms).map_err(|e| e.to_string())?;
        if self.verbosity >= 1 {
            for l in t.applied.iter().chain(&t.notes) {
                eprintln!("[wali] transform: {l}");
            }
        }
        let bytes = t.wasm.as_deref().unwrap_or(wasm);
        let compile = || Module::new(&self.engine, bytes).map_err(|e| e.to_string());
        if !self.own_pool {
            return compile();
        }
        // Part of wasmer's compilation (its trampolines) runs on rayon's
        // global pool, whose threads a forked child does not have: the
        // compile would wait for them forever. Inside a pool made here,
        // that work runs on this pool instead.
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .map_err(|e| e.to_string())?
            .install(compile)
    }

    /// Runs `module` with `ctx`; returns how it ended. A guest's exec of a
    /// wasm program replaces it here, in the same process.
    pub fn run(&self, module: &Module, ctx: WaliCtx) -> Result<Outcome, String> {
        // The guest ends at its next poll (loop header, function entry or
        // syscall return) once the time is up.
        ctx.process().arm_timeout(set_flags);
        let host_fds = wali_core::sys::open_fds();
        let mut step = self.run_once(module, ctx)?;
        // The exec'd program compiles on one thread: after a guest's fork
        // the compiler's helper threads do not exist in this process.
        let mut single = Runner::with_compile_threads(std::num::NonZeroUsize::new(1))
            .transforms(self.transforms)
            .verbosity(self.verbosity)
            .cache(self.cache.clone());
        single.own_pool = true;
        loop {
            match step {
                Step::Done(o) => return Ok(o),
                Step::Exec(req) => {
                    wali_core::sys::close_cloexec_fds(&host_fds);
                    let m = match single.load(&req.path) {
                        Ok(m) => m,
                        Err(e) => {
                            return Ok(Outcome::Killed {
                                signal: libc::SIGKILL,
                                message: format!("exec {}: {e}", req.path.display()),
                            })
                        }
                    };
                    let ctx = req.builder(0).build().map_err(|e| format!("exec: {e}"))?;
                    step = single.run_once(&m, ctx)?;
                }
            }
        }
    }

    fn run_once(&self, module: &Module, ctx: WaliCtx) -> Result<Step, String> {
        let mut store = Store::new(self.engine.clone());
        let env = FunctionEnv::new(&mut store, State::new(ctx));
        let instance = match instantiate(&mut store, &env, module, None)? {
            Ok(i) => i,
            Err(step) => return Ok(step),
        };
        // (dropped before the store, whose memory holds the flag)
        let _flag = env.as_ref(&store).flag.map(FlagSlot::register);
        env.as_mut(&mut store)
            .wali
            .prepare()
            .map_err(|e| format!("cannot prepare the guest: {e}"))?;
        let start = instance
            .exports
            .get_typed_function::<(), ()>(&store, "_start")
            .map_err(|_| "not a WALI module: it exports no `_start` function".to_string())?;
        let outcome = match start.call(&mut store) {
            Ok(()) => Ok(Step::Done(Outcome::Exited(0))),
            Err(e) => step_of(e),
        };
        if env.as_ref(&store).wali.process().is_forked_child() {
            if let Ok(Step::Done(o)) = &outcome {
                die(o);
            }
        }
        outcome
    }
}

/// A process the guest forked ends with the guest (it must not return
/// into host code that did not fork); a guest killed by a trap dies of
/// the matching signal, so its parent sees WIFSIGNALED.
fn die(o: &Outcome) -> ! {
    match o {
        Outcome::Killed { signal, message } => {
            wali_core::end_process(Some((*signal, message)), o.exit_code())
        }
        Outcome::Exited(_) => wali_core::end_process(None, o.exit_code()),
    }
}

/// Instantiates `module` in `store` for the guest thread whose state is
/// `env`: its imports, its memory (a new shared memory, or `shared` for a
/// thread of a running guest), the memory and trampolines in the state.
/// `Ok(Err(step))` when the module's start function already ended it.
fn instantiate(
    store: &mut Store,
    env: &FunctionEnv<State>,
    module: &Module,
    shared: Option<&Arc<Spawn>>,
) -> Result<Result<Instance, Step>, String> {
    let mut imports = imports(store, env, module);
    let mut spawn = shared.cloned();
    for imp in module.imports() {
        if imp.module() == memimport::MODULE && imp.name() == memimport::NAME {
            if let ExternType::Memory(ty) = imp.ty() {
                let m = match shared {
                    Some(sp) => sp.memory.clone().attach(store),
                    None => {
                        let m = Memory::new(store, *ty).map_err(|e| e.to_string())?;
                        if let Some(sh) = m.as_shared(store) {
                            spawn = Some(Arc::new(Spawn {
                                engine: store.engine().clone(),
                                module: module.clone(),
                                memory: sh,
                            }));
                        }
                        m
                    }
                };
                imports.define(memimport::MODULE, memimport::NAME, m);
            }
        }
    }
    let instance = match Instance::new(store, module, &imports) {
        Ok(i) => i,
        Err(wasmer::InstantiationError::Start(e)) => return step_of(e).map(Err),
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
    let wm = Arc::new(WasmerMemory {
        base: Cell::new(0),
        size: AtomicUsize::new(0),
        max,
        shared: memory.as_shared(store),
        mem: memory,
    });
    wm.refresh(store);
    let tramps = match (
        instance
            .exports
            .get_typed_function::<(i32, i32), ()>(store, exports::CALL_V_I),
        instance
            .exports
            .get_typed_function::<(i32, i32, i32, i32), ()>(store, exports::CALL_V_III),
    ) {
        (Ok(a), Ok(b)) => Some((a, b)),
        _ => None,
    };
    let flag = instance
        .exports
        .get_memory(wali_core::transform::poll::FLAG_EXPORT)
        .ok()
        .map(|m| {
            let p = m.view(store).data_ptr() as *const AtomicU32;
            // SAFETY: the flag memory is one page that cannot grow, so its
            // first word stays at this aligned address while the instance
            // (its store) lives; `FlagSlot` and `State` do not outlive it.
            unsafe { &*p }
        });
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
    st.flag = flag;
    st.fuel = fuel;
    st.wali.set_memory(wm.clone());
    st.memory = Some(wm);
    st.tramps = tramps;
    st.spawn = spawn;
    wali_core::sys::signal::mark_guest_thread();
    Ok(Ok(instance))
}

/// `__wasm_thread_spawn(start, arg)`: a host thread running a new instance
/// of the module over the same shared memory, entering the guest's thread
/// function by table index; returns its tid, or -EAGAIN (no shareable
/// memory, the policy's thread limit, or no host thread).
fn thread_spawn(mut fe: FunctionEnvMut<State>, start: i32, arg: i32) -> Result<i32, RuntimeError> {
    let st = fe.data_mut();
    let Some(sp) = st.spawn.clone() else {
        return Ok(-libc::EAGAIN);
    };
    if !st.wali.process().thread_started() {
        return Ok(-libc::EAGAIN);
    }
    let child = st.wali.new_thread(0);
    let (tx, rx) = std::sync::mpsc::sync_channel::<i32>(1);
    let spawned = std::thread::Builder::new()
        .name("wali-thread".into())
        .spawn(move || {
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::gettid() };
            let mut ctx = child;
            ctx.set_tid(tid);
            let _ = tx.send(tid);
            thread_main(&sp, ctx, start, arg, tid);
        });
    match spawned {
        Ok(_) => Ok(rx.recv().unwrap_or(-libc::EAGAIN)),
        Err(_) => {
            fe.data().wali.process().thread_ended();
            Ok(-libc::EAGAIN)
        }
    }
}

fn thread_main(sp: &Arc<Spawn>, ctx: WaliCtx, start: i32, arg: i32, tid: i32) {
    struct Ended(Arc<wali_core::Process>);
    impl Drop for Ended {
        fn drop(&mut self) {
            self.0.thread_ended();
        }
    }
    let _ended = Ended(ctx.process().clone());
    let mut store = Store::new(sp.engine.clone());
    let env = FunctionEnv::new(&mut store, State::new(ctx));
    // Ok(Ok(())): the entry returned; Ok(Err(e)): it ended by `e`;
    // Err(step): the module's start function already ended it.
    let r: Result<Result<(), RuntimeError>, Result<Step, String>> =
        match instantiate(&mut store, &env, &sp.module, Some(sp)) {
            Ok(Ok(instance)) => match instance
                .exports
                .get_typed_function::<(i32, i32, i32), ()>(&store, exports::CALL_V_II)
            {
                Ok(entry) => {
                    let _flag = env.as_ref(&store).flag.map(FlagSlot::register);
                    Ok(entry.call(&mut store, start, tid, arg))
                }
                Err(e) => Err(Err(e.to_string())),
            },
            Ok(Err(step)) => Err(Ok(step)),
            Err(e) => Err(Err(e)),
        };
    // The thread's end: clear and wake its tid word, as CLONE_CHILD_CLEARTID.
    env.as_mut(&mut store).wali.thread_exit_clear_tid();
    let end = match r {
        Ok(Ok(())) => return,
        Ok(Err(e)) => {
            if matches!(e.downcast_ref::<Ctrl>(), Some(Ctrl::ExitThread(_))) {
                return;
            }
            step_of(e)
        }
        Err(end) => end,
    };
    match end {
        // exit_group from a thread ends the whole process.
        Ok(Step::Done(o)) => die(&o),
        Ok(Step::Exec(req)) => {
            eprintln!(
                "wali: thread {tid}: exec {} from a thread is not supported on wasmer yet",
                req.path.display()
            );
            wali_core::end_process(None, 128 + libc::SIGKILL)
        }
        Err(e) => {
            eprintln!("wali: thread {tid}: {e}");
            wali_core::end_process(None, 1)
        }
    }
}
