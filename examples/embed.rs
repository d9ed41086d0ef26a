//! Embedding wali in a host program: run a WALI module with its own
//! arguments and exit with its status.
//!
//! `cargo run -p wali-examples --example embed -- prog.wasm args...`

use wasmtime::{Engine, Linker, Module};

struct Host {
    wali: wali::WaliCtx,
}

fn main() -> wasmtime::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .ok_or_else(|| wasmtime::Error::msg("usage: embed MODULE [ARGS...]"))?;
    let engine = Engine::new(&wali::config())?;
    let module = Module::from_file(&engine, path)?;
    let mut linker = Linker::new(&engine);
    // link_module may replace a table import the module declares with another type
    linker.allow_shadowing(true);
    wali::add_to_linker(&mut linker, |h: &mut Host| &mut h.wali)?;
    wali::link_module(&mut linker, &module, |h: &mut Host| &mut h.wali)?;
    let ctx = wali::WaliCtx::builder().args(&args).inherit_env().build()?;
    let mut store = wali::new_store(&engine, Host { wali: ctx }, |h: &mut Host| &mut h.wali);
    let instance = linker.instantiate(&mut store, &module)?;
    let outcome = wali::run_instance(&mut store, &instance, |h: &mut Host| &mut h.wali)?;
    std::process::exit(outcome.exit_code());
}
