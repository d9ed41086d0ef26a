//! Loading modules: the load-time transforms, compilation, and the
//! compiled-module cache (wali-core's [`ModuleCache`], under names that
//! bind wasmer's version and engine).

use crate::Runner;
pub use wali_core::ModuleCache;
use wasmer::Module;

impl Runner {
    /// Transforms and compiles a module file (or loads it from the cache).
    pub fn load(&self, path: &std::path::Path) -> Result<Module, String> {
        wali_core::cache::load_file(
            self.cache.as_ref(),
            self.cache_id(),
            &self.transforms,
            path,
            |compiled| self.deserialize_cached(compiled),
            |wasm| self.load_bytes(wasm),
            |e| format!("cannot read: {e}"),
        )
    }

    /// What the cache binds besides the module: the engine and its version.
    fn cache_id(&self) -> impl std::hash::Hash {
        (
            "wasmer",
            "7.4.2",
            self.compiler.name(),
            self.engine.deterministic_id(),
        )
    }

    fn deserialize_cached(&self, path: &std::path::Path) -> Option<Module> {
        // SAFETY: the file was written whole by `Module::serialize` into
        // this private cache (`ModuleCache::usable`: owned by this user, not
        // writable by others; `ModuleCache::store` renames a complete file
        // into place), under a name that binds the module's hash (or
        // recorded for the unchanged module file), wasmer's version and the
        // engine's configuration; wasmer still checks the artifact's header.
        // That is the trust wasmtime's `Module::deserialize_file` takes, so
        // the layout of the archive is not validated again at every start
        // (rkyv's check of bash.wasm's metadata is most of a warm start).
        unsafe { Module::deserialize_from_file_unchecked(&self.engine, path) }.ok()
    }

    /// Transforms and compiles a module (or loads it from the cache).
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
                if let Some(m) = self.deserialize_cached(path) {
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
            wali_core::sys::signal::start_compile_pool();
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
}
