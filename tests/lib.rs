//! Shared helpers of the integration tests (the library API tests here and
//! the `wali-run` tests of `examples/`): where the guests are, which engine
//! a test runs on, and how to run a guest through the library API.

use std::path::PathBuf;
use wali::{Outcome, Runner, WaliCtx};

/// Path of a committed guest (`tests/guests/<name>.wasm`).
pub fn guest(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("guests")
        .join(format!("{name}.wasm"))
}

/// A runner without the on-disk cache (tests must not depend on it).
pub fn runner() -> Runner {
    Runner::new().expect("engine").cache(None)
}

/// An engine the tests run guests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Wasmtime,
    Wasmer,
    /// wasmer with its LLVM compiler (feature `llvm`).
    #[cfg(feature = "llvm")]
    WasmerLlvm,
}

/// Every engine (wasmtime, wasmer, and with the feature `llvm` wasmer's
/// LLVM tier), for tests that check one behaviour on each.
pub const ENGINES: &[Engine] = &[
    Engine::Wasmtime,
    Engine::Wasmer,
    #[cfg(feature = "llvm")]
    Engine::WasmerLlvm,
];

impl Engine {
    /// The name `wali-run --engine` takes.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Wasmtime => "wasmtime",
            Engine::Wasmer => "wasmer",
            #[cfg(feature = "llvm")]
            Engine::WasmerLlvm => "wasmer-llvm",
        }
    }
}

thread_local! {
    /// The engine of this thread's tests: wasmtime, or wasmer for the tests
    /// a suite repeats on it (see [`also_on_wasmer!`]).
    static ENGINE: std::cell::Cell<Engine> = const { std::cell::Cell::new(Engine::Wasmtime) };
}

/// The engine the current test runs on.
pub fn engine() -> Engine {
    ENGINE.get()
}

/// Runs `f` on `engine` (on this thread): [`run_guest`] and `wali-run`
/// through [`engine`] switch.
pub fn on_engine(engine: Engine, f: impl FnOnce()) {
    ENGINE.set(engine);
    f();
    ENGINE.set(Engine::Wasmtime);
}

/// Runs `f` on wasmer (see [`on_engine`]).
pub fn on_wasmer(f: impl FnOnce()) {
    on_engine(Engine::Wasmer, f)
}

/// One test list, every engine: each test named here runs again on wasmer
/// (as `on_wasmer::<name>`) and, with the feature `llvm`, on wasmer's LLVM
/// tier (`on_wasmer_llvm::<name>`), the engine switched by [`on_engine`].
#[macro_export]
macro_rules! also_on_wasmer {
    ($($t:ident),* $(,)?) => {
        mod on_wasmer {
            $(
                #[test]
                fn $t() {
                    $crate::on_wasmer(super::$t)
                }
            )*
        }
        #[cfg(feature = "llvm")]
        mod on_wasmer_llvm {
            $(
                #[test]
                fn $t() {
                    $crate::on_engine($crate::Engine::WasmerLlvm, super::$t)
                }
            )*
        }
    };
}

/// Runs a committed guest with `args` (`argv[0]` is the guest path) through
/// the library API of the engine this thread uses (wasmtime unless inside
/// [`on_wasmer`]).
pub fn run_guest(name: &str, args: &[&str]) -> Outcome {
    let path = guest(name);
    let ctx = WaliCtx::builder()
        .arg(&path)
        .args(args)
        .build()
        .expect("ctx");
    let wasm = std::fs::read(&path).expect("read guest");
    run_bytes(engine(), &wasm, ctx).expect("run")
}

/// Runs a module (bytes) with `ctx` on `engine`, without the cache.
pub fn run_bytes(engine: Engine, wasm: &[u8], ctx: WaliCtx) -> Result<Outcome, String> {
    match engine {
        Engine::Wasmtime => {
            let r = runner();
            let module = r.load_bytes(wasm).map_err(|e| format!("{e:#}"))?;
            r.run(&module, ctx).map_err(|e| format!("{e:#}"))
        }
        Engine::Wasmer => run_on_wasmer(wali_wasmer::Compiler::Cranelift, wasm, ctx),
        #[cfg(feature = "llvm")]
        Engine::WasmerLlvm => run_on_wasmer(wali_wasmer::Compiler::Llvm, wasm, ctx),
    }
}

fn run_on_wasmer(
    compiler: wali_wasmer::Compiler,
    wasm: &[u8],
    ctx: WaliCtx,
) -> Result<Outcome, String> {
    let r = wali_wasmer::Runner::with_compiler(compiler).cache(None);
    let module = r.load_bytes(wasm)?;
    r.run(&module, ctx)
}

/// Runs a WAT module (compiled at test time) with `ctx` on wasmtime.
pub fn run_wat(wat: &str, ctx: WaliCtx) -> wasmtime::Result<Outcome> {
    run_wat_on(Engine::Wasmtime, wat, ctx).map_err(wasmtime::Error::msg)
}

/// Runs a WAT module (compiled at test time) with `ctx` on `engine`.
pub fn run_wat_on(engine: Engine, wat: &str, ctx: WaliCtx) -> Result<Outcome, String> {
    run_bytes(engine, &wat::parse_str(wat).expect("valid WAT"), ctx)
}
