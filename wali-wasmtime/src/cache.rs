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

/// Loads a compiled module of the cache. `Module::deserialize_file` maps
/// the file lazily (only the pages used are read: twice as fast a start
/// for bash.wasm as copying it in), and keeps the file's descriptor open
/// as long as the module lives, in the descriptor table the guest shares:
/// that descriptor is reserved (`wali_core::hostfd`) so that the guest's
/// `close_range` or `dup2` cannot close it under wasmtime.
pub(crate) fn deserialize_cached(engine: &Engine, path: &Path) -> Option<Module> {
    use std::os::fd::{AsFd, AsRawFd};
    use std::os::unix::fs::MetadataExt;
    // The number wasmtime's open will get: the lowest free one, which this
    // probe takes (and gives back) first.
    let probe = std::fs::File::open(path).ok()?;
    let (n, meta) = (probe.as_raw_fd(), probe.metadata().ok()?);
    drop(probe);
    // SAFETY: `path` is a file of a private cache (`ModuleCache::usable`),
    // written there by `Module::serialize` under a name that binds the
    // module's hash and the engine's compatibility hash (or recorded for
    // the unchanged module file); wasmtime still checks its header.
    let m = unsafe { Module::deserialize_file(engine, path) }.ok()?;
    // SAFETY: only inspected with fstat; a closed number gives EBADF.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(n) };
    if let Ok(st) = rustix::fs::fstat(fd.as_fd()) {
        if st.st_dev == meta.dev() && st.st_ino == meta.ino() {
            wali_core::hostfd::reserve(fd);
        }
    }
    Some(m)
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
    match &t.wasm {
        Some(w) => Module::new(engine, w),
        None => Module::new(engine, wasm),
    }
}

/// Loads the module at `path` with every transform, compiled through
/// `cache` when given.
pub fn load_module(engine: &Engine, path: &Path, cache: Option<&ModuleCache>) -> Result<Module> {
    let read_error = |e| wasmtime::Error::msg(format!("cannot read {}: {e}", path.display()));
    let opts = Options::default();
    let Some(c) = cache else {
        let wasm = std::fs::read(path).map_err(read_error)?;
        return load_bytes(engine, &wasm, None, &opts, &mut Vec::new());
    };
    c.load_file(
        engine.precompile_compatibility_hash(),
        &opts,
        path,
        |compiled| deserialize_cached(engine, compiled),
        |wasm| load_bytes(engine, wasm, Some(c), &opts, &mut Vec::new()),
        read_error,
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
