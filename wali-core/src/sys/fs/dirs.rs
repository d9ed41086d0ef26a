//! Directories: their entries, names in them (unlink, rename, mkdir,
//! mknod, hard and symbolic links), the working directory and the root.

use crate::raw::{p, sx, syscall1, syscall2, syscall3, syscall4, syscall5, zx};
use crate::sys::confine::{active, resolve, Last};
use crate::{Errno, SysResult, WaliCtx};
use libc::*;

/// `getdents64(fd, dirp, count)`
pub fn getdents64(cx: &mut WaliCtx, fd: i32, dirp: i32, count: i32) -> SysResult {
    let buf = cx.mem.buf(dirp as u32, count as u32 as usize)?;
    // SAFETY: `buf` holds `count` bytes.
    Ok(unsafe { syscall3(SYS_getdents64, sx(fd), p(buf), zx(count)) }?)
}

/// `unlinkat(dirfd, pathname, flags)`
pub fn unlinkat(cx: &mut WaliCtx, dirfd: i32, pathname: i32, flags: i32) -> SysResult {
    let path = cx.mem.path(pathname as u32)?;
    let t = resolve(cx, dirfd, path, Last::Entry, true)?;
    // SAFETY: checked path.
    Ok(unsafe { syscall3(SYS_unlinkat, t.dirfd, p(t.path), zx(flags)) }?)
}

/// `unlink(pathname)`
pub fn unlink(cx: &mut WaliCtx, pathname: i32) -> SysResult {
    unlinkat(cx, AT_FDCWD, pathname, 0)
}

/// `rmdir(pathname)`
pub fn rmdir(cx: &mut WaliCtx, pathname: i32) -> SysResult {
    unlinkat(cx, AT_FDCWD, pathname, AT_REMOVEDIR)
}

/// `renameat2(olddirfd, oldpath, newdirfd, newpath, flags)`
pub fn renameat2(
    cx: &mut WaliCtx,
    olddirfd: i32,
    oldpath: i32,
    newdirfd: i32,
    newpath: i32,
    flags: i32,
) -> SysResult {
    let old = cx.mem.path(oldpath as u32)?;
    let new = cx.mem.path(newpath as u32)?;
    let (a, b) = (
        resolve(cx, olddirfd, old, Last::Entry, true)?,
        resolve(cx, newdirfd, new, Last::Entry, true)?,
    );
    // SAFETY: checked paths.
    Ok(unsafe {
        syscall5(
            SYS_renameat2,
            a.dirfd,
            p(a.path),
            b.dirfd,
            p(b.path),
            zx(flags),
        )
    }?)
}

/// `renameat(olddirfd, oldpath, newdirfd, newpath)`
pub fn renameat(
    cx: &mut WaliCtx,
    olddirfd: i32,
    oldpath: i32,
    newdirfd: i32,
    newpath: i32,
) -> SysResult {
    renameat2(cx, olddirfd, oldpath, newdirfd, newpath, 0)
}

/// `rename(oldpath, newpath)`
pub fn rename(cx: &mut WaliCtx, oldpath: i32, newpath: i32) -> SysResult {
    renameat2(cx, AT_FDCWD, oldpath, AT_FDCWD, newpath, 0)
}

/// `mkdirat(dirfd, pathname, mode)`
pub fn mkdirat(cx: &mut WaliCtx, dirfd: i32, pathname: i32, mode: i32) -> SysResult {
    let path = cx.mem.path(pathname as u32)?;
    let t = resolve(cx, dirfd, path, Last::Entry, true)?;
    // SAFETY: checked path.
    Ok(unsafe { syscall3(SYS_mkdirat, t.dirfd, p(t.path), zx(mode)) }?)
}

/// `mkdir(pathname, mode)`
pub fn mkdir(cx: &mut WaliCtx, pathname: i32, mode: i32) -> SysResult {
    mkdirat(cx, AT_FDCWD, pathname, mode)
}

/// `mknodat(dirfd, pathname, mode, dev)`
pub fn mknodat(cx: &mut WaliCtx, dirfd: i32, pathname: i32, mode: i32, dev: i32) -> SysResult {
    let path = cx.mem.path(pathname as u32)?;
    let t = resolve(cx, dirfd, path, Last::Entry, true)?;
    // SAFETY: checked path.
    Ok(unsafe { syscall4(SYS_mknodat, t.dirfd, p(t.path), zx(mode), zx(dev)) }?)
}

/// `mknod(pathname, mode, dev)`
pub fn mknod(cx: &mut WaliCtx, pathname: i32, mode: i32, dev: i32) -> SysResult {
    mknodat(cx, AT_FDCWD, pathname, mode, dev)
}

/// `linkat(olddirfd, oldpath, newdirfd, newpath, flags)`
pub fn linkat(
    cx: &mut WaliCtx,
    olddirfd: i32,
    oldpath: i32,
    newdirfd: i32,
    newpath: i32,
    flags: i32,
) -> SysResult {
    let old = cx.mem.path(oldpath as u32)?;
    let new = cx.mem.path(newpath as u32)?;
    let follow = if flags & AT_SYMLINK_FOLLOW != 0 {
        Last::Follow
    } else {
        Last::Entry
    };
    let (a, b) = (
        resolve(cx, olddirfd, old, follow, true)?,
        resolve(cx, newdirfd, new, Last::Entry, true)?,
    );
    // A resolved source is a /proc/self/fd path: linking it needs AT_SYMLINK_FOLLOW.
    let flags = if a.dirfd == AT_FDCWD as isize as usize && active(cx) {
        flags | AT_SYMLINK_FOLLOW
    } else {
        flags
    };
    // SAFETY: checked paths.
    Ok(unsafe {
        syscall5(
            SYS_linkat,
            a.dirfd,
            p(a.path),
            b.dirfd,
            p(b.path),
            zx(flags),
        )
    }?)
}

/// `link(oldpath, newpath)`
pub fn link(cx: &mut WaliCtx, oldpath: i32, newpath: i32) -> SysResult {
    linkat(cx, AT_FDCWD, oldpath, AT_FDCWD, newpath, 0)
}

/// `symlinkat(target, newdirfd, linkpath)` (the target is data: where it
/// points is confined when it is followed)
pub fn symlinkat(cx: &mut WaliCtx, target: i32, newdirfd: i32, linkpath: i32) -> SysResult {
    let t = cx.mem.path(target as u32)?;
    let l = cx.mem.path(linkpath as u32)?;
    let at = resolve(cx, newdirfd, l, Last::Entry, true)?;
    // SAFETY: checked paths.
    Ok(unsafe { syscall3(SYS_symlinkat, p(t), at.dirfd, p(at.path)) }?)
}

/// `symlink(target, linkpath)`
pub fn symlink(cx: &mut WaliCtx, target: i32, linkpath: i32) -> SysResult {
    symlinkat(cx, target, AT_FDCWD, linkpath)
}

/// `readlinkat(dirfd, pathname, buf, bufsiz)`. `/proc/self/exe` names the
/// module being run (when the embedder said which), not the host binary.
pub fn readlinkat(cx: &mut WaliCtx, dirfd: i32, pathname: i32, buf: i32, bufsiz: i32) -> SysResult {
    if bufsiz <= 0 {
        return Err(Errno::INVAL.into());
    }
    let path = cx.mem.path(pathname as u32)?;
    let out = cx.mem.buf(buf as u32, bufsiz as usize)?;
    // SAFETY: `path` is a checked NUL-terminated string.
    if unsafe { std::ffi::CStr::from_ptr(path) }.to_bytes() == b"/proc/self/exe" {
        if let Some(prog) = cx.proc.program() {
            use std::os::unix::ffi::OsStrExt;
            let b = prog.as_os_str().as_bytes();
            let n = b.len().min(bufsiz as usize);
            cx.mem.write_bytes(buf as u32, &b[..n])?;
            return Ok(n as i64);
        }
    }
    let t = resolve(cx, dirfd, path, Last::Entry, false)?;
    // SAFETY: checked path; `out` holds `bufsiz` bytes.
    Ok(unsafe { syscall4(SYS_readlinkat, t.dirfd, p(t.path), p(out), zx(bufsiz)) }?)
}

/// `readlink(pathname, buf, bufsiz)`
pub fn readlink(cx: &mut WaliCtx, pathname: i32, buf: i32, bufsiz: i32) -> SysResult {
    readlinkat(cx, AT_FDCWD, pathname, buf, bufsiz)
}

/// `chdir(path)`
pub fn chdir(cx: &mut WaliCtx, path: i32) -> SysResult {
    let path = cx.mem.path(path as u32)?;
    let t = resolve(cx, AT_FDCWD, path, Last::Follow, false)?;
    // SAFETY: checked path.
    Ok(unsafe { syscall1(SYS_chdir, p(t.path)) }?)
}

/// `fchdir(fd)`
pub fn fchdir(_cx: &mut WaliCtx, fd: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall1(SYS_fchdir, sx(fd)) }?)
}

/// `getcwd(buf, size)`: returns the length including the NUL, as the kernel does.
pub fn getcwd(cx: &mut WaliCtx, buf: i32, size: i32) -> SysResult {
    let out = cx.mem.buf(buf as u32, size as u32 as usize)?;
    // SAFETY: `out` holds `size` bytes.
    Ok(unsafe { syscall2(SYS_getcwd, p(out), zx(size)) }?)
}

/// `chroot(path)`
pub fn chroot(cx: &mut WaliCtx, path: i32) -> SysResult {
    let path = cx.mem.path(path as u32)?;
    if active(cx) {
        // A confined guest keeps the root it was given.
        return Err(Errno::PERM.into());
    }
    // SAFETY: checked path.
    Ok(unsafe { syscall1(SYS_chroot, p(path)) }?)
}
