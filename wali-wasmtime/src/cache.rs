//! A compiled-module cache keyed by the module's SHA-256 and the engine's
//! compatibility hash, so the second start of a large module (bash.wasm)
//! does not compile it again.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wali_core::transform::Options;
use wasmtime::{Engine, Module, Result};

/// A directory of precompiled modules.
#[derive(Clone, Debug)]
pub struct ModuleCache {
    dir: PathBuf,
}

impl ModuleCache {
    /// A cache in `dir` (created, mode 0700, on first store).
    pub fn new(dir: impl Into<PathBuf>) -> ModuleCache {
        ModuleCache { dir: dir.into() }
    }

    /// The default cache: `$WALI_CACHE_DIR`, else `$XDG_CACHE_HOME/wali`,
    /// else `$HOME/.cache/wali`; `None` when none can be determined.
    pub fn default_location() -> Option<ModuleCache> {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let dir = env("WALI_CACHE_DIR")
            .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("wali")))
            .or_else(|| env("HOME").map(|d| d.join(".cache").join("wali")))?;
        Some(ModuleCache::new(dir))
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn key(engine: &Engine, wasm: &[u8], opts: &Options) -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        (
            wali_core::transform::VERSION,
            env!("CARGO_PKG_VERSION"),
            opts.setjmp,
            opts.fn_casts,
            opts.exit_on_return,
        )
            .hash(&mut h);
        let digest = Sha256::digest(wasm);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("{hex}-{:016x}.cwasm", h.finish())
    }

    /// Transforms and compiles `wasm`, or loads it from the cache when it
    /// was compiled before with a compatible engine and the same transforms.
    pub fn get_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
        opts: &Options,
        log: &mut Vec<String>,
    ) -> Result<Module> {
        let path = self.dir.join(Self::key(engine, wasm, opts));
        if path.is_file() {
            // SAFETY: the file was written by `Module::serialize` of this
            // cache, into a directory only this user can write (0700), and
            // its name binds the module's hash and the engine's
            // compatibility hash; wasmtime still checks its header.
            if let Ok(m) = unsafe { Module::deserialize_file(engine, &path) } {
                return Ok(m);
            }
        }
        let module = compile(engine, wasm, opts, log)?;
        // A cache that cannot be written is not an error: the module runs.
        let _ = self.store(&path, &module);
        Ok(module)
    }

    fn store(&self, path: &Path, module: &Module) -> std::io::Result<()> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        let meta = std::fs::metadata(&self.dir)?;
        // Refuse a directory others can write: they could plant code.
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions.
        if meta.uid() != unsafe { libc::geteuid() } || meta.permissions().mode() & 0o022 != 0 {
            return Err(std::io::Error::other("cache directory is not private"));
        }
        let bytes = module
            .serialize()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    }
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
    let wasm = std::fs::read(path)
        .map_err(|e| wasmtime::Error::msg(format!("cannot read {}: {e}", path.display())))?;
    load_bytes(engine, &wasm, cache, &Options::default(), &mut Vec::new())
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
        Some(c) => c.get_or_compile(engine, wasm, opts, log),
        None => compile(engine, wasm, opts, log),
    }
}
