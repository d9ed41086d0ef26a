//! File-system confinement (`Policy::dirs`): with any directory given,
//! every path a guest passes resolves only inside those trees. The kernel
//! does the resolution, race-free: `openat2` with `RESOLVE_BENEATH` (and
//! no magic links) from the tree's root, so `..`, absolute or relative
//! symlinks, `/proc/self/root` and `/proc/self/fd/N` cannot leave it. A
//! call that takes a path then works on what was resolved: on an `O_PATH`
//! descriptor of the file (through `/proc/self/fd/N`, for calls that follow
//! a final symlink) or of its parent directory plus the last component
//! (for calls that do not: unlink, rename, mkdir, lstat ...). A path
//! outside every tree, or one that escapes, is EACCES; a write in a
//! read-only tree is EACCES.

use crate::raw::sx;
use crate::{Errno, WaliCtx};
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;

/// What a call does with the final component of its path.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Last {
    /// Follows a final symlink (stat, chmod, access ...).
    Follow,
    /// Acts on the last component itself (lstat, unlink, mkdir, rename ...).
    Entry,
}

/// Where a path argument points after confinement.
pub(crate) struct Target {
    pub dirfd: usize,
    pub path: *const libc::c_char,
    _fd: Option<OwnedFd>,
    _name: Option<CString>,
}

/// Whether `abs` (with no `.` or `..` component) is a directory above one
/// of the trees.
fn is_ancestor(cx: &WaliCtx, abs: &[u8]) -> bool {
    let clean: Vec<&[u8]> = abs
        .split(|c| *c == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    if clean.iter().any(|c| *c == b"." || *c == b"..") {
        return false;
    }
    let Some(pol) = cx.proc.policy() else {
        return false;
    };
    pol.dirs.iter().any(|(root, _)| {
        let r: Vec<&[u8]> = root
            .as_os_str()
            .as_bytes()
            .split(|c| *c == b'/')
            .filter(|c| !c.is_empty())
            .collect();
        r.len() > clean.len() && r[..clean.len()] == clean[..]
    })
}

fn is_env_file(cx: &WaliCtx, path: &[u8]) -> bool {
    cx.proc.env_path().is_some_and(|e| e.to_bytes() == path)
}

#[inline]
pub(crate) fn active(cx: &WaliCtx) -> bool {
    cx.proc.policy().is_some_and(|p| !p.dirs.is_empty())
}

/// The absolute host path a guest path names (lexically; the kernel does
/// the real resolution below the tree's root).
fn absolute(dirfd: i32, path: &[u8]) -> Result<Vec<u8>, Errno> {
    if path.starts_with(b"/") {
        return Ok(path.to_vec());
    }
    let base = if dirfd == libc::AT_FDCWD {
        std::env::current_dir().map_err(|_| Errno::ACCESS)?
    } else {
        std::fs::read_link(format!("/proc/self/fd/{dirfd}")).map_err(|_| Errno::BADF)?
    };
    let mut v = base.as_os_str().as_bytes().to_vec();
    if !v.ends_with(b"/") {
        v.push(b'/');
    }
    v.extend_from_slice(path);
    Ok(v)
}

/// The tree holding `abs` (longest match), its relative rest, read-only.
fn tree<'a>(cx: &'a WaliCtx, abs: &[u8]) -> Option<(&'a std::path::Path, Vec<u8>, bool)> {
    let pol = cx.proc.policy()?;
    let mut best: Option<(&std::path::Path, Vec<u8>, bool)> = None;
    for (root, ro) in &pol.dirs {
        let r = root.as_os_str().as_bytes();
        let r = if r == b"/" { &b""[..] } else { r };
        let rest = match abs.strip_prefix(r) {
            Some(rest) if rest.is_empty() || rest.starts_with(b"/") => rest,
            _ => continue,
        };
        if best
            .as_ref()
            .is_none_or(|b| b.0.as_os_str().len() < root.as_os_str().len())
        {
            let rel: Vec<u8> = rest.iter().copied().skip_while(|c| *c == b'/').collect();
            best = Some((
                root.as_path(),
                if rel.is_empty() { b".".to_vec() } else { rel },
                *ro,
            ));
        }
    }
    best
}

/// `openat2` beneath `dirfd` (no `..`, absolute or magic-link escape),
/// close-on-exec. `EAGAIN`, which `RESOLVE_BENEATH` returns when a rename
/// raced the resolution, is retried; an escape attempt (`EXDEV`) is
/// `EACCES`.
fn openat2(dirfd: BorrowedFd<'_>, path: &CStr, flags: u32, mode: u32) -> Result<OwnedFd, Errno> {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    let oflags = OFlags::from_bits_retain(flags) | OFlags::CLOEXEC;
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
    loop {
        match rustix::fs::openat2(dirfd, path, oflags, Mode::from_bits_retain(mode), resolve) {
            Err(Errno::AGAIN) => continue,
            Err(Errno::XDEV) => return Err(Errno::ACCESS),
            r => return r,
        }
    }
}

fn root_fd(root: &std::path::Path) -> Result<OwnedFd, Errno> {
    let c = CString::new(root.as_os_str().as_bytes()).map_err(|_| Errno::INVAL)?;
    // SAFETY: `c` is a valid C string.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(Errno::ACCESS);
    }
    // SAFETY: a new descriptor we own.
    Ok(unsafe { <OwnedFd as rustix::fd::FromRawFd>::from_raw_fd(fd) })
}

/// Resolves `(dirfd, path)` for a call that treats the last component as
/// `last` and may `write`. Without confinement the arguments pass as they are.
pub(crate) fn resolve(
    cx: &WaliCtx,
    dirfd: i32,
    path: *const libc::c_char,
    last: Last,
    write: bool,
) -> Result<Target, Errno> {
    let pass = Target {
        dirfd: sx(dirfd),
        path,
        _fd: None,
        _name: None,
    };
    if !active(cx) || path.is_null() {
        return Ok(pass);
    }
    // SAFETY: `path` is a checked NUL-terminated guest string.
    let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
    if bytes.is_empty() || is_env_file(cx, bytes) {
        // AT_EMPTY_PATH-style calls act on a descriptor already open; the
        // environment file is the host's hand-over.
        return Ok(pass);
    }
    let abs = absolute(dirfd, bytes)?;
    let Some((root, rel, ro)) = tree(cx, &abs) else {
        // The directories above a tree may be looked at (stat, lstat,
        // access, chdir): programs walk them to make paths absolute.
        if !write && is_ancestor(cx, &abs) {
            return Ok(pass);
        }
        return Err(Errno::ACCESS);
    };
    if write && ro {
        return Err(Errno::ACCESS);
    }
    let rootfd = root_fd(root)?;
    match last {
        Last::Follow => {
            let rel = CString::new(rel).map_err(|_| Errno::INVAL)?;
            let fd = openat2(rootfd.as_fd(), &rel, libc::O_PATH as u32, 0)?;
            let name = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).expect("no NUL");
            Ok(Target {
                dirfd: sx(libc::AT_FDCWD),
                path: name.as_ptr(),
                _fd: Some(fd),
                _name: Some(name),
            })
        }
        Last::Entry => {
            let trimmed: &[u8] = {
                let mut r: &[u8] = &rel;
                while r.len() > 1 && r.ends_with(b"/") {
                    r = &r[..r.len() - 1];
                }
                r
            };
            let (parent, name) = match trimmed.iter().rposition(|c| *c == b'/') {
                Some(i) => (&trimmed[..i.max(1)], &trimmed[i + 1..]),
                None => (&b"."[..], trimmed),
            };
            if name == b".." {
                return Err(Errno::ACCESS);
            }
            let parent = CString::new(parent).map_err(|_| Errno::INVAL)?;
            let fd = openat2(
                rootfd.as_fd(),
                &parent,
                (libc::O_PATH | libc::O_DIRECTORY) as u32,
                0,
            )?;
            let name = CString::new(name).map_err(|_| Errno::INVAL)?;
            Ok(Target {
                dirfd: fd.as_raw_fd() as usize,
                path: name.as_ptr(),
                _fd: Some(fd),
                _name: Some(name),
            })
        }
    }
}

/// `openat` under confinement: the kernel resolves the whole path beneath
/// the tree's root. `None` when there is no confinement.
pub(crate) fn open(
    cx: &WaliCtx,
    dirfd: i32,
    path: *const libc::c_char,
    flags: i32,
    mode: i32,
) -> Result<Option<i64>, Errno> {
    if !active(cx) {
        return Ok(None);
    }
    // SAFETY: `path` is a checked NUL-terminated guest string.
    let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
    if bytes.is_empty() {
        return Err(Errno::NOENT);
    }
    if is_env_file(cx, bytes) {
        return Ok(None);
    }
    let write =
        flags & libc::O_ACCMODE != libc::O_RDONLY || flags & (libc::O_CREAT | libc::O_TRUNC) != 0;
    let abs = absolute(dirfd, bytes)?;
    let (root, rel, ro) = tree(cx, &abs).ok_or(Errno::ACCESS)?;
    if write && ro {
        return Err(Errno::ACCESS);
    }
    let rootfd = root_fd(root)?;
    let rel = CString::new(rel).map_err(|_| Errno::INVAL)?;
    // (O_TMPFILE includes O_DIRECTORY: only the whole of it takes a mode)
    let mode = if flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE {
        mode as u32
    } else {
        0
    };
    let fd = openat2(rootfd.as_fd(), &rel, flags as u32, mode)?;
    let raw = fd.as_raw_fd();
    std::mem::forget(fd);
    // Keep close-on-exec only if the guest asked for it.
    if flags & libc::O_CLOEXEC == 0 {
        // SAFETY: clearing FD_CLOEXEC on the descriptor just opened.
        unsafe { libc::fcntl(raw, libc::F_SETFD, 0) };
    }
    Ok(Some(raw as i64))
}
