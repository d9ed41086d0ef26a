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
    /// else `$HOME/.cache/wali`, each when its base directory exists (a
    /// program run with `HOME` pointing nowhere, as test suites do, would
    /// otherwise compile every module at every start); else a private
    /// `wali-cache-<uid>` in the temporary directory.
    pub fn default_location() -> Option<ModuleCache> {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        if let Some(d) = env("WALI_CACHE_DIR") {
            return Some(ModuleCache::new(d));
        }
        let usable = |base: PathBuf, sub: &[&str]| {
            base.is_dir()
                .then(|| sub.iter().fold(base, |p, s| p.join(s)))
        };
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        let dir = env("XDG_CACHE_HOME")
            .and_then(|d| usable(d, &["wali"]))
            .or_else(|| env("HOME").and_then(|d| usable(d, &[".cache", "wali"])))
            .unwrap_or_else(|| std::env::temp_dir().join(format!("wali-cache-{uid}")));
        Some(ModuleCache::new(dir))
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where `wasm`, transformed with `opts` and compiled by an engine
    /// whose compatibility hashes to `engine`, is kept.
    pub fn path_for(&self, engine: impl Hash, wasm: &[u8], opts: &Options) -> PathBuf {
        self.dir
            .join(compiled_name(wasm, config_hash(engine, opts)))
    }

    /// The compiled file an index entry names, if the entry's stamp is
    /// `stamp` and the file is usable.
    fn recorded(&self, index: &Path, stamp: &str) -> Option<PathBuf> {
        let text = std::fs::read_to_string(index).ok()?;
        let (st, name) = text.split_once('\n')?;
        if st != stamp || name.contains('/') || !name.ends_with(".cwasm") {
            return None;
        }
        let p = self.dir.join(name);
        self.usable(&p).then_some(p)
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
        if let Some(parent) = path.parent().filter(|p| *p != self.dir.as_path()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    }
}

/// A hash of what, besides the module, decides its compiled form: the
/// engine's compatibility, the transforms and their version.
fn config_hash(engine: impl Hash, opts: &Options) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.hash(&mut h);
    (
        crate::transform::VERSION,
        env!("CARGO_PKG_VERSION"),
        opts.setjmp,
        opts.fn_casts,
        opts.exit_on_return,
        opts.legacy_exceptions,
        opts.signal_poll,
        opts.fuel,
    )
        .hash(&mut h);
    (
        opts.spawn,
        opts.stack,
        opts.frames,
        opts.static_data,
        opts.inline,
    )
        .hash(&mut h);
    h.finish()
}

/// The file name of `wasm` compiled under `config`.
fn compiled_name(wasm: &[u8], config: u64) -> String {
    let digest = Sha256::digest(wasm);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}-{config:016x}.cwasm")
}

/// Loads the module file at `path`, through `cache` when there is one. A
/// file loaded before and not changed since (same device, inode, size,
/// modification and change time: any write changes the change time, which
/// a user cannot set back) is found by its stamp, without reading or
/// hashing it: `deserialize` gets the compiled file. Else `load_bytes`
/// gets the file's bytes (it compiles, or finds the module by its hash,
/// and stores it), and the stamp is recorded.
pub fn load_file<M, E>(
    cache: Option<&ModuleCache>,
    engine: impl Hash,
    opts: &Options,
    path: &Path,
    deserialize: impl FnOnce(&Path) -> Option<M>,
    load_bytes: impl FnOnce(&[u8]) -> Result<M, E>,
    read_error: impl Fn(std::io::Error) -> E,
) -> Result<M, E> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let Some(cache) = cache else {
        return load_bytes(&std::fs::read(path).map_err(read_error)?);
    };
    let config = config_hash(engine, opts);
    let mut f = std::fs::File::open(path).map_err(&read_error)?;
    // The stamp is taken on the open file, before it is read: a later
    // change gives a new stamp, never this one for other bytes.
    let stamp = f.metadata().ok().filter(|m| m.is_file()).map(|m| {
        format!(
            "{} {} {} {}.{} {}.{}",
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec()
        )
    });
    let index = stamp.as_ref().map(|st| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (config, st).hash(&mut h);
        cache.dir.join("files").join(format!("{:016x}", h.finish()))
    });
    if let (Some(st), Some(ix)) = (&stamp, &index) {
        if let Some(compiled) = cache.recorded(ix, st) {
            if let Some(m) = deserialize(&compiled) {
                return Ok(m);
            }
        }
    }
    let mut wasm = Vec::new();
    f.read_to_end(&mut wasm).map_err(&read_error)?;
    let m = load_bytes(&wasm)?;
    if let (Some(st), Some(ix)) = (&stamp, &index) {
        let name = compiled_name(&wasm, config);
        if cache.dir.join(&name).is_file() {
            let _ = cache.store(ix, format!("{st}\n{name}").as_bytes());
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every transform option is part of the key: a module compiled with
    /// one set of transforms is never loaded for another.
    #[test]
    fn each_transform_option_changes_the_key() {
        let d = Options::default();
        let flips: [fn(&mut Options); 11] = [
            |o| o.setjmp ^= true,
            |o| o.fn_casts ^= true,
            |o| o.exit_on_return ^= true,
            |o| o.legacy_exceptions ^= true,
            |o| o.signal_poll ^= true,
            |o| o.fuel ^= true,
            |o| o.spawn ^= true,
            |o| o.stack ^= true,
            |o| o.frames ^= true,
            |o| o.static_data ^= true,
            |o| o.inline ^= true,
        ];
        let base = config_hash(1u8, &d);
        for (i, flip) in flips.iter().enumerate() {
            let mut o = d;
            flip(&mut o);
            assert_ne!(config_hash(1u8, &o), base, "option {i} is not in the key");
        }
    }
}
