//! File metadata: access checks, modes, owners, the umask and timestamps.

use super::last_of;
use crate::raw::{p, sx, syscall1, syscall2, syscall3, syscall4, syscall5, zx};
use crate::sys::confine::{resolve, Last};
use crate::{Errno, SysResult, WaliCtx};
use libc::*;
use wali_spec::layout;

/// `faccessat2(dirfd, pathname, mode, flags)`
pub fn faccessat2(cx: &mut WaliCtx, dirfd: i32, pathname: i32, mode: i32, flags: i32) -> SysResult {
    let path = cx.mem.path(pathname as u32)?;
    let t = resolve(cx, dirfd, path, last_of(flags), mode & W_OK != 0)?;
    // SAFETY: checked path.
    Ok(unsafe { syscall4(SYS_faccessat2, t.dirfd, p(t.path), zx(mode), zx(flags)) }?)
}

/// `faccessat(dirfd, pathname, mode, flags)`: the flags are honoured
/// (through faccessat2), as the C library function does.
pub fn faccessat(cx: &mut WaliCtx, dirfd: i32, pathname: i32, mode: i32, flags: i32) -> SysResult {
    if flags == 0 {
        let path = cx.mem.path(pathname as u32)?;
        let t = resolve(cx, dirfd, path, Last::Follow, mode & W_OK != 0)?;
        // SAFETY: checked path.
        return Ok(unsafe { syscall3(SYS_faccessat, t.dirfd, p(t.path), zx(mode)) }?);
    }
    faccessat2(cx, dirfd, pathname, mode, flags)
}

/// `access(pathname, mode)`
pub fn access(cx: &mut WaliCtx, pathname: i32, mode: i32) -> SysResult {
    faccessat(cx, AT_FDCWD, pathname, mode, 0)
}

/// `fchmodat(dirfd, pathname, mode, flags)`
pub fn fchmodat(cx: &mut WaliCtx, dirfd: i32, pathname: i32, mode: i32, flags: i32) -> SysResult {
    let path = cx.mem.path(pathname as u32)?;
    let t = resolve(cx, dirfd, path, last_of(flags), true)?;
    if flags == 0 {
        // SAFETY: checked path.
        return Ok(unsafe { syscall3(SYS_fchmodat, t.dirfd, p(t.path), zx(mode)) }?);
    }
    // fchmodat2 (Linux 6.6) takes the flags.
    // SAFETY: checked path.
    match unsafe { syscall4(452, t.dirfd, p(t.path), zx(mode), zx(flags)) } {
        Err(Errno::NOSYS) => Err(Errno::OPNOTSUPP.into()),
        r => Ok(r?),
    }
}

/// `chmod(pathname, mode)`
pub fn chmod(cx: &mut WaliCtx, pathname: i32, mode: i32) -> SysResult {
    fchmodat(cx, AT_FDCWD, pathname, mode, 0)
}

/// `fchmod(fd, mode)`
pub fn fchmod(_cx: &mut WaliCtx, fd: i32, mode: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall2(SYS_fchmod, sx(fd), zx(mode)) }?)
}

/// `fchownat(dirfd, pathname, owner, group, flags)`
pub fn fchownat(
    cx: &mut WaliCtx,
    dirfd: i32,
    pathname: i32,
    owner: i32,
    group: i32,
    flags: i32,
) -> SysResult {
    let path = if pathname == 0 && flags & AT_EMPTY_PATH != 0 {
        std::ptr::null()
    } else {
        cx.mem.path(pathname as u32)?
    };
    let t = resolve(cx, dirfd, path, last_of(flags), true)?;
    // SAFETY: checked path.
    Ok(unsafe {
        syscall5(
            SYS_fchownat,
            t.dirfd,
            p(t.path),
            zx(owner),
            zx(group),
            zx(flags),
        )
    }?)
}

/// `chown(pathname, owner, group)`
pub fn chown(cx: &mut WaliCtx, pathname: i32, owner: i32, group: i32) -> SysResult {
    fchownat(cx, AT_FDCWD, pathname, owner, group, 0)
}

/// `lchown(pathname, owner, group)`
pub fn lchown(cx: &mut WaliCtx, pathname: i32, owner: i32, group: i32) -> SysResult {
    fchownat(cx, AT_FDCWD, pathname, owner, group, AT_SYMLINK_NOFOLLOW)
}

/// `fchown(fd, owner, group)`
pub fn fchown(_cx: &mut WaliCtx, fd: i32, owner: i32, group: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall3(SYS_fchown, sx(fd), zx(owner), zx(group)) }?)
}

/// `umask(mask)`
pub fn umask(_cx: &mut WaliCtx, mask: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall1(SYS_umask, zx(mask)) }?)
}

/// `utimensat(dirfd, pathname, times, flags)`: a NULL path means `dirfd` itself.
pub fn utimensat(cx: &mut WaliCtx, dirfd: i32, pathname: i32, times: i32, flags: i32) -> SysResult {
    let path = if pathname == 0 {
        std::ptr::null()
    } else {
        cx.mem.path(pathname as u32)?
    };
    let t = cx.mem.buf_opt(times as u32, 2 * layout::timespec::SIZE)?;
    let at = resolve(cx, dirfd, path, last_of(flags), true)?;
    // SAFETY: checked path (or NULL); `t` is NULL or two timespecs.
    Ok(unsafe { syscall4(SYS_utimensat, at.dirfd, p(at.path), p(t), zx(flags)) }?)
}

/// `futimesat(dirfd, pathname, times)`
pub fn futimesat(cx: &mut WaliCtx, dirfd: i32, pathname: i32, times: i32) -> SysResult {
    let path = if pathname == 0 {
        std::ptr::null()
    } else {
        cx.mem.path(pathname as u32)?
    };
    let t = cx.mem.buf_opt(times as u32, 2 * layout::timeval::SIZE)?;
    let at = resolve(cx, dirfd, path, Last::Follow, true)?;
    // SAFETY: checked path (or NULL); `t` is NULL or two timevals.
    Ok(unsafe { syscall3(SYS_futimesat, at.dirfd, p(at.path), p(t)) }?)
}

/// `utimes(filename, times)`
pub fn utimes(cx: &mut WaliCtx, filename: i32, times: i32) -> SysResult {
    let path = cx.mem.path(filename as u32)?;
    let t = cx.mem.buf_opt(times as u32, 2 * layout::timeval::SIZE)?;
    let at = resolve(cx, AT_FDCWD, path, Last::Follow, true)?;
    // SAFETY: checked path; `t` is NULL or two timevals.
    Ok(unsafe { syscall2(SYS_utimes, p(at.path), p(t)) }?)
}
