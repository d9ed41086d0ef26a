//! Shared helpers of the integration tests: where the guests are, and how
//! to run one through the library API.

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

thread_local! {
    /// The engine `run_guest` uses on this thread: wasmtime, or wasmer for
    /// the tests a suite repeats on it (see `on_wasmer`).
    static WASMER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with `run_guest` on wasmer (on this thread).
pub fn on_wasmer(f: impl FnOnce()) {
    WASMER.set(true);
    f();
    WASMER.set(false);
}

/// Runs a committed guest with `args` (`argv[0]` is the guest path) through
/// the library API of the engine this thread uses (wasmtime unless inside
/// [`on_wasmer`]).
pub fn run_guest(name: &str, args: &[&str]) -> Outcome {
    let path = guest(name);
    if WASMER.get() {
        let r = wali_wasmer::Runner::new().cache(None);
        let module = r.load(&path).expect("load guest");
        let ctx = WaliCtx::builder()
            .arg(&path)
            .args(args)
            .build()
            .expect("ctx");
        return match r.run(&module, ctx).expect("run") {
            wali_wasmer::Outcome::Exited(c) => Outcome::Exited(c),
            wali_wasmer::Outcome::Killed { signal, message } => Outcome::Killed { signal, message },
        };
    }
    let r = runner();
    let module = r.load(&path).expect("load guest");
    let ctx = WaliCtx::builder()
        .arg(&path)
        .args(args)
        .build()
        .expect("ctx");
    r.run(&module, ctx).expect("run")
}

/// Runs a WAT module (compiled at test time) with `ctx`.
pub fn run_wat(wat: &str, ctx: WaliCtx) -> wasmtime::Result<Outcome> {
    let bytes = wat::parse_str(wat).expect("valid WAT");
    let r = runner();
    let module = r.load_bytes(&bytes)?;
    r.run(&module, ctx)
}
