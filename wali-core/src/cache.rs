//! A directory of compiled modules, shared by the engine adapters: files
//! are named by the module's SHA-256, a hash of the engine's
//! compatibility (the adapter's), the transform version, the crate
//! version and the transforms applied, so a file is only ever read back
//! by an engine that can load it. The directory must be private (owned
//! by this user, not writable by others): a compiled module is code.

use crate::transform::Options;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

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

    /// Where `wasm`, transformed with `opts` and compiled by an engine
    /// whose compatibility hashes to `engine`, is kept.
    pub fn path_for(&self, engine: impl Hash, wasm: &[u8], opts: &Options) -> PathBuf {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.hash(&mut h);
        (
            crate::transform::VERSION,
            env!("CARGO_PKG_VERSION"),
            opts.setjmp,
            opts.fn_casts,
            opts.exit_on_return,
            opts.signal_poll,
            opts.fuel,
        )
            .hash(&mut h);
        let digest = Sha256::digest(wasm);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{hex}-{:016x}.cwasm", h.finish()))
    }

    /// Whether `path` (from [`path_for`](Self::path_for)) may be loaded:
    /// a file in a private directory.
    pub fn usable(&self, path: &Path) -> bool {
        path.is_file() && self.private().is_ok()
    }

    fn private(&self) -> std::io::Result<()> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::metadata(&self.dir)?;
        // Refuse a directory others can write: they could plant code.
        // SAFETY: geteuid has no preconditions.
        if meta.uid() != unsafe { libc::geteuid() } || meta.permissions().mode() & 0o022 != 0 {
            return Err(std::io::Error::other("cache directory is not private"));
        }
        Ok(())
    }

    /// Writes the compiled `bytes` at `path`, atomically (a reader never
    /// sees half a file), creating the private directory if needed.
    pub fn store(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        self.private()?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    }
}
