//! A compiled-module cache keyed by the module's SHA-256 and the engine's
//! compatibility hash, so the second start of a large module (bash.wasm)
//! does not compile it again.

use std::path::Path;
use wali_core::transform::Options;
pub use wali_core::ModuleCache;
use wasmtime::{Engine, Module, Result};

/// Transforms and compiles `wasm`, or loads it from `cache` when it was
/// compiled before with a compatible engine and the same transforms.
fn get_or_compile(
    cache: &ModuleCache,
    engine: &Engine,
    wasm: &[u8],
    opts: &Options,
    log: &mut Vec<String>,
) -> Result<Module> {
    let path = cache.path_for(engine.precompile_compatibility_hash(), wasm, opts);
    if cache.usable(&path) {
        if let Some(m) = deserialize_cached(engine, &path) {
            return Ok(m);
        }
    }
    let module = compile(engine, wasm, opts, log)?;
    // A cache that cannot be written is not an error: the module runs.
    if let Ok(bytes) = module.serialize() {
        let _ = cache.store(&path, &bytes);
    }
    Ok(module)
}

/// Loads a compiled module of the cache, mapped lazily from its file (only
/// the pages used are read: twice as fast a start for bash.wasm as copying
/// it in). Wasmtime keeps that file open as long as the module lives, in
/// the descriptor table the guest shares, so its descriptor is moved above
/// the numbers programs use (100 and up, where the environment memfd also
/// lives) and reserved (`wali_core::hostfd`): the guest's `close_range`,
/// `close` or `dup2` cannot close it under wasmtime, and a program that
/// `dup2`s onto a low number it expects to be free (sshd's re-exec onto 3,
/// 4, 5) finds it free.
pub(crate) fn deserialize_cached(engine: &Engine, path: &Path) -> Option<Module> {
    use std::os::fd::AsFd;
    let fd = wali_core::hostfd::lift(std::fs::File::open(path).ok()?.into());
    wali_core::hostfd::reserve(fd.as_fd());
    // SAFETY: `path` is a file of a private cache (`ModuleCache::usable`),
    // written there by `Module::serialize` under a name that binds the
    // module's hash and the engine's compatibility hash (or recorded for
    // the unchanged module file); wasmtime still checks its header.
    unsafe { Module::deserialize_open_file(engine, std::fs::File::from(fd)) }.ok()
}

/// Applies the load-time transforms `opts` selects, then compiles.
pub fn compile(
    engine: &Engine,
    wasm: &[u8],
    opts: &Options,
    log: &mut Vec<String>,
) -> Result<Module> {
    let t = wali_core::transform::transform(wasm, opts)
        .map_err(|e| wasmtime::Error::msg(e.to_string()))?;
    log.extend(t.applied.iter().map(|a| format!("transform: {a}")));
    log.extend(t.notes.iter().map(|n| format!("transform: {n}")));
    wali_core::sys::signal::start_compile_pool();
    match &t.wasm {
        Some(w) => Module::new(engine, w),
        None => Module::new(engine, wasm),
    }
}

/// Loads the module at `path` with every transform, compiled through
/// `cache` when given.
pub fn load_module(engine: &Engine, path: &Path, cache: Option<&ModuleCache>) -> Result<Module> {
    let opts = Options::default();
    wali_core::cache::load_file(
        cache,
        engine.precompile_compatibility_hash(),
        &opts,
        path,
        |compiled| deserialize_cached(engine, compiled),
        |wasm| load_bytes(engine, wasm, cache, &opts, &mut Vec::new()),
        |e| wasmtime::Error::msg(format!("cannot read {}: {e}", path.display())),
    )
}

pub(crate) fn load_bytes(
    engine: &Engine,
    wasm: &[u8],
    cache: Option<&ModuleCache>,
    opts: &Options,
    log: &mut Vec<String>,
) -> Result<Module> {
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        return Err(wasmtime::Error::msg(
            "not a WebAssembly module (no \\0asm magic)",
        ));
    }
    match cache {
        Some(c) => get_or_compile(c, engine, wasm, opts, log),
        None => compile(engine, wasm, opts, log),
    }
}
