//! Opening and closing files, stat, descriptors (fcntl, dup, pipes) and
//! file contents (truncate, sync, allocation, sendfile).

use super::last_of;
use crate::raw::{p, sx, syscall1, syscall2, syscall3, syscall4, syscall5, zx};
use crate::sys::confine::{resolve, Last};
use crate::{Errno, SysResult, WaliCtx};
use libc::*;
use wali_spec::layout;

/// `openat(dirfd, pathname, flags, mode)`
pub fn openat(cx: &mut WaliCtx, dirfd: i32, pathname: i32, flags: i32, mode: i32) -> SysResult {
    let path = cx.mem.path(pathname as u32)?;
    if let Some(fd) = crate::sys::confine::open(cx, dirfd, path, flags, mode)? {
        return Ok(fd);
    }
    // SAFETY: `path` is a checked NUL-terminated guest string.
    Ok(unsafe { syscall4(SYS_openat, sx(dirfd), p(path), zx(flags), zx(mode)) }?)
}

/// `open(pathname, flags, mode)`
pub fn open(cx: &mut WaliCtx, pathname: i32, flags: i32, mode: i32) -> SysResult {
    openat(cx, AT_FDCWD, pathname, flags, mode)
}

/// `creat(pathname, mode)`
pub fn creat(cx: &mut WaliCtx, pathname: i32, mode: i32) -> SysResult {
    openat(cx, AT_FDCWD, pathname, O_CREAT | O_WRONLY | O_TRUNC, mode)
}

/// `close(fd)`
pub fn close(_cx: &mut WaliCtx, fd: i32) -> SysResult {
    if crate::hostfd::is_reserved(fd) {
        return Err(Errno::BADF.into());
    }
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall1(SYS_close, sx(fd)) }?)
}

/// `newfstatat(dirfd, pathname, statbuf, flags)` (x86-64 `struct stat`, written in place)
pub fn newfstatat(
    cx: &mut WaliCtx,
    dirfd: i32,
    pathname: i32,
    statbuf: i32,
    flags: i32,
) -> SysResult {
    let path = if pathname == 0 && flags & AT_EMPTY_PATH != 0 {
        std::ptr::null()
    } else {
        cx.mem.path(pathname as u32)?
    };
    let buf = cx.mem.buf(statbuf as u32, layout::stat::SIZE)?;
    let t = resolve(cx, dirfd, path, last_of(flags), false)?;
    // SAFETY: checked path (or NULL with AT_EMPTY_PATH); `buf` holds a whole struct stat.
    Ok(unsafe { syscall4(SYS_newfstatat, t.dirfd, p(t.path), p(buf), zx(flags)) }?)
}

/// `stat(pathname, statbuf)`
pub fn stat(cx: &mut WaliCtx, pathname: i32, statbuf: i32) -> SysResult {
    newfstatat(cx, AT_FDCWD, pathname, statbuf, 0)
}

/// `lstat(pathname, statbuf)`
pub fn lstat(cx: &mut WaliCtx, pathname: i32, statbuf: i32) -> SysResult {
    newfstatat(cx, AT_FDCWD, pathname, statbuf, AT_SYMLINK_NOFOLLOW)
}

/// `fstat(fd, statbuf)`
pub fn fstat(cx: &mut WaliCtx, fd: i32, statbuf: i32) -> SysResult {
    let buf = cx.mem.buf(statbuf as u32, layout::stat::SIZE)?;
    // SAFETY: `buf` holds a whole struct stat.
    Ok(unsafe { syscall2(SYS_fstat, sx(fd), p(buf)) }?)
}

/// `statx(dirfd, pathname, flags, mask, statxbuf)`
pub fn statx(
    cx: &mut WaliCtx,
    dirfd: i32,
    pathname: i32,
    flags: i32,
    mask: i32,
    statxbuf: i32,
) -> SysResult {
    let path = if pathname == 0 && flags & AT_EMPTY_PATH != 0 {
        std::ptr::null()
    } else {
        cx.mem.path(pathname as u32)?
    };
    let buf = cx.mem.buf(statxbuf as u32, layout::statx::SIZE)?;
    let t = resolve(cx, dirfd, path, last_of(flags), false)?;
    // SAFETY: checked path; `buf` holds a whole struct statx.
    Ok(unsafe { syscall5(SYS_statx, t.dirfd, p(t.path), zx(flags), zx(mask), p(buf)) }?)
}

/// `statfs(path, buf)`
pub fn statfs(cx: &mut WaliCtx, path: i32, buf: i32) -> SysResult {
    let path = cx.mem.path(path as u32)?;
    let buf = cx.mem.buf(buf as u32, layout::statfs::SIZE)?;
    let t = resolve(cx, AT_FDCWD, path, Last::Follow, false)?;
    // SAFETY: checked path and a whole struct statfs.
    Ok(unsafe { syscall2(SYS_statfs, p(t.path), p(buf)) }?)
}

/// `fstatfs(fd, buf)`
pub fn fstatfs(cx: &mut WaliCtx, fd: i32, buf: i32) -> SysResult {
    let buf = cx.mem.buf(buf as u32, layout::statfs::SIZE)?;
    // SAFETY: a whole struct statfs.
    Ok(unsafe { syscall2(SYS_fstatfs, sx(fd), p(buf)) }?)
}

/// `fcntl(fd, cmd, arg)`: pointer arguments (record locks, owners) are
/// translated; integer arguments pass through; unknown commands are EINVAL.
pub fn fcntl(cx: &mut WaliCtx, fd: i32, cmd: i32, arg: i64) -> SysResult {
    let a = match cmd {
        F_GETLK | F_SETLK | F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW => {
            p(cx.mem.buf(arg as u32, layout::flock::SIZE)?)
        }
        16 | 15 /* F_GETOWN_EX, F_SETOWN_EX */ => p(cx.mem.buf(arg as u32, layout::f_owner_ex::SIZE)?),
        // F_GETOWNER_UIDS
        17 => p(cx.mem.buf(arg as u32, 8)?),
        F_DUPFD | F_GETFD | F_SETFD | F_GETFL | F_SETFL | F_SETOWN | F_GETOWN | 10 | 11 /* F_SETSIG, F_GETSIG */
        | F_SETLEASE | F_GETLEASE | F_NOTIFY | F_DUPFD_CLOEXEC | F_SETPIPE_SZ | F_GETPIPE_SZ
        | F_ADD_SEALS | F_GET_SEALS => arg as usize,
        _ => return Err(Errno::INVAL.into()),
    };
    // SAFETY: pointer arguments were translated with their struct size.
    Ok(unsafe { syscall3(SYS_fcntl, sx(fd), zx(cmd), a) }?)
}

/// `flock(fd, operation)`
pub fn flock(_cx: &mut WaliCtx, fd: i32, operation: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall2(SYS_flock, sx(fd), zx(operation)) }?)
}

/// `dup(oldfd)`
pub fn dup(_cx: &mut WaliCtx, oldfd: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall1(SYS_dup, sx(oldfd)) }?)
}

/// dup2/dup3 onto a descriptor the host keeps: EBADF, as for a number out
/// of the process's range (EBUSY would make musl's dup2 retry forever).
fn not_onto_host_fd(oldfd: i32, newfd: i32) -> Result<(), Errno> {
    if crate::hostfd::is_reserved(newfd) && oldfd != newfd {
        return Err(Errno::BADF);
    }
    Ok(())
}

/// `dup2(oldfd, newfd)`
pub fn dup2(_cx: &mut WaliCtx, oldfd: i32, newfd: i32) -> SysResult {
    not_onto_host_fd(oldfd, newfd)?;
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall2(SYS_dup2, sx(oldfd), sx(newfd)) }?)
}

/// `dup3(oldfd, newfd, flags)`
pub fn dup3(_cx: &mut WaliCtx, oldfd: i32, newfd: i32, flags: i32) -> SysResult {
    not_onto_host_fd(oldfd, newfd)?;
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall3(SYS_dup3, sx(oldfd), sx(newfd), zx(flags)) }?)
}

/// `pipe2(pipefd, flags)`
pub fn pipe2(cx: &mut WaliCtx, pipefd: i32, flags: i32) -> SysResult {
    let buf = cx.mem.buf(pipefd as u32, 8)?;
    // SAFETY: `buf` holds int[2].
    Ok(unsafe { syscall2(SYS_pipe2, p(buf), zx(flags)) }?)
}

/// `pipe(pipefd)`
pub fn pipe(cx: &mut WaliCtx, pipefd: i32) -> SysResult {
    pipe2(cx, pipefd, 0)
}

/// `truncate(path, length)`
pub fn truncate(cx: &mut WaliCtx, path: i32, length: i64) -> SysResult {
    let path = cx.mem.path(path as u32)?;
    let t = resolve(cx, AT_FDCWD, path, Last::Follow, true)?;
    // SAFETY: checked path.
    Ok(unsafe { syscall2(SYS_truncate, p(t.path), length as usize) }?)
}

/// `ftruncate(fd, length)`
pub fn ftruncate(_cx: &mut WaliCtx, fd: i32, length: i64) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall2(SYS_ftruncate, sx(fd), length as usize) }?)
}

/// `fsync(fd)`
pub fn fsync(_cx: &mut WaliCtx, fd: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall1(SYS_fsync, sx(fd)) }?)
}

/// `fdatasync(fd)`
pub fn fdatasync(_cx: &mut WaliCtx, fd: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall1(SYS_fdatasync, sx(fd)) }?)
}

/// `sync()`
pub fn sync(_cx: &mut WaliCtx) -> SysResult {
    // SAFETY: no argument.
    Ok(unsafe { crate::raw::syscall0(SYS_sync) }?)
}

/// `syncfs(fd)`
pub fn syncfs(_cx: &mut WaliCtx, fd: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall1(SYS_syncfs, sx(fd)) }?)
}

/// `fadvise(fd, offset, len, advice)` (the kernel's fadvise64)
pub fn fadvise(_cx: &mut WaliCtx, fd: i32, offset: i64, len: i64, advice: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe {
        syscall4(
            SYS_fadvise64,
            sx(fd),
            offset as usize,
            len as usize,
            sx(advice),
        )
    }?)
}

/// `fallocate(fd, mode, offset, len)`
pub fn fallocate(_cx: &mut WaliCtx, fd: i32, mode: i32, offset: i64, len: i64) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe {
        syscall4(
            SYS_fallocate,
            sx(fd),
            zx(mode),
            offset as usize,
            len as usize,
        )
    }?)
}

/// `sendfile(out_fd, in_fd, offset, count)`
pub fn sendfile(cx: &mut WaliCtx, out_fd: i32, in_fd: i32, offset: i32, count: i32) -> SysResult {
    let off = cx.mem.buf_opt(offset as u32, 8)?;
    // SAFETY: `off` is NULL or an off_t.
    Ok(unsafe { syscall4(SYS_sendfile, sx(out_fd), sx(in_fd), p(off), zx(count)) }?)
}

/// `memfd_create(name, flags)`
pub fn memfd_create(cx: &mut WaliCtx, name: i32, flags: i32) -> SysResult {
    let n = cx.mem.cstr_max(name as u32, 249)?;
    // SAFETY: checked string.
    Ok(unsafe { syscall2(SYS_memfd_create, p(n), zx(flags)) }?)
}

/// `close_range(first, last, flags)`
pub fn close_range(_cx: &mut WaliCtx, first: i32, last: i32, flags: i32) -> SysResult {
    let (first, last) = (first as u32, last as u32);
    let call = |a: u32, b: u32| {
        // SAFETY: no pointer argument.
        unsafe { syscall3(SYS_close_range, a as usize, b as usize, zx(flags)) }
    };
    let keep = crate::hostfd::reserved_in(first, last);
    if keep.is_empty() {
        return Ok(call(first, last)?);
    }
    // the kernel's flag check, before any stretch is closed; then the
    // stretches between the host's descriptors
    const KNOWN: u32 = CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC;
    if flags as u32 & !KNOWN != 0 {
        return Err(Errno::INVAL.into());
    }
    let mut from = first;
    for k in keep {
        if k > from {
            call(from, k - 1)?;
        }
        from = k.saturating_add(1);
        if k == u32::MAX {
            return Ok(0);
        }
    }
    if from <= last {
        call(from, last)?;
    }
    Ok(0)
}
