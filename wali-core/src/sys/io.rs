//! Reading, writing, vectored I/O, polling, terminals, epoll, eventfd, timerfd.

use crate::memory::Mem;
use crate::raw::{p, sx, syscall1, syscall2, syscall3, syscall4, syscall5, syscall6, zx};
use crate::{Errno, SysResult, WaliCtx};
use libc::*;
use wali_spec::layout;

/// `read(fd, buf, count)`: the kernel reads into guest memory in place.
#[inline]
pub fn read(cx: &mut WaliCtx, fd: i32, buf: i32, count: i32) -> SysResult {
    let (b, n) = cx.mem.buf_prefix(buf as u32, count as u32 as usize)?;
    // SAFETY: `b` holds `n` bytes of guest memory.
    Ok(unsafe { syscall3(SYS_read, sx(fd), p(b), n) }?)
}

/// `write(fd, buf, count)`: the kernel reads guest memory in place.
#[inline]
pub fn write(cx: &mut WaliCtx, fd: i32, buf: i32, count: i32) -> SysResult {
    let (b, n) = cx.mem.buf_prefix(buf as u32, count as u32 as usize)?;
    // SAFETY: `b` holds `n` bytes of guest memory.
    Ok(unsafe { syscall3(SYS_write, sx(fd), p(b), n) }?)
}

/// `pread64(fd, buf, count, offset)`
pub fn pread64(cx: &mut WaliCtx, fd: i32, buf: i32, count: i32, offset: i64) -> SysResult {
    let (b, n) = cx.mem.buf_prefix(buf as u32, count as u32 as usize)?;
    // SAFETY: `b` holds `n` bytes.
    Ok(unsafe { syscall4(SYS_pread64, sx(fd), p(b), n, offset as usize) }?)
}

/// `pwrite64(fd, buf, count, offset)`
pub fn pwrite64(cx: &mut WaliCtx, fd: i32, buf: i32, count: i32, offset: i64) -> SysResult {
    let (b, n) = cx.mem.buf_prefix(buf as u32, count as u32 as usize)?;
    // SAFETY: `b` holds `n` bytes.
    Ok(unsafe { syscall4(SYS_pwrite64, sx(fd), p(b), n, offset as usize) }?)
}

/// `lseek(fd, offset, whence)`
pub fn lseek(_cx: &mut WaliCtx, fd: i32, offset: i64, whence: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall3(SYS_lseek, sx(fd), offset as usize, zx(whence)) }?)
}

const IOV_MAX: usize = 1024;
const IOV_STACK: usize = 16;

/// Converts a guest iovec array to host iovecs and calls `f` with them.
/// Each buffer is bounds-checked; up to 16 entries live on the stack.
pub(crate) fn with_iovecs<R>(
    mem: &Mem,
    iov: u32,
    iovcnt: i32,
    f: impl FnOnce(*const iovec, usize) -> R,
) -> Result<R, Errno> {
    if iovcnt < 0 || iovcnt as usize > IOV_MAX {
        return Err(Errno::INVAL);
    }
    let n = iovcnt as usize;
    let raw = mem.buf(iov, n * layout::iovec::SIZE)?;
    let convert = |out: &mut [iovec]| -> Result<(), Errno> {
        let mut total: usize = 0;
        for (i, slot) in out.iter_mut().enumerate() {
            // SAFETY: `raw` holds `n` guest iovecs; entry `i < n`.
            let e: [u32; 2] = unsafe { std::ptr::read_unaligned((raw as *const [u32; 2]).add(i)) };
            let len = e[1] as usize;
            total = total
                .checked_add(len)
                .filter(|t| *t <= isize::MAX as usize)
                .ok_or(Errno::INVAL)?;
            *slot = iovec {
                iov_base: mem.buf(e[0], len)? as *mut c_void,
                iov_len: len,
            };
        }
        Ok(())
    };
    let empty = iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    };
    if n <= IOV_STACK {
        let mut v = [empty; IOV_STACK];
        convert(&mut v[..n])?;
        Ok(f(v.as_ptr(), n))
    } else {
        let mut v = vec![empty; n];
        convert(&mut v)?;
        Ok(f(v.as_ptr(), n))
    }
}

/// `readv(fd, iov, iovcnt)`
pub fn readv(cx: &mut WaliCtx, fd: i32, iov: i32, iovcnt: i32) -> SysResult {
    // SAFETY: host iovecs point at checked guest buffers.
    Ok(with_iovecs(&cx.mem, iov as u32, iovcnt, |v, n| unsafe {
        syscall3(SYS_readv, sx(fd), p(v), n)
    })??)
}

/// `writev(fd, iov, iovcnt)`
pub fn writev(cx: &mut WaliCtx, fd: i32, iov: i32, iovcnt: i32) -> SysResult {
    // SAFETY: host iovecs point at checked guest buffers.
    Ok(with_iovecs(&cx.mem, iov as u32, iovcnt, |v, n| unsafe {
        syscall3(SYS_writev, sx(fd), p(v), n)
    })??)
}

/// `preadv(fd, iov, iovcnt, pos_l, pos_h)`
pub fn preadv(
    cx: &mut WaliCtx,
    fd: i32,
    iov: i32,
    iovcnt: i32,
    pos_l: i64,
    pos_h: i64,
) -> SysResult {
    // SAFETY: host iovecs point at checked guest buffers.
    Ok(with_iovecs(&cx.mem, iov as u32, iovcnt, |v, n| unsafe {
        syscall5(SYS_preadv, sx(fd), p(v), n, pos_l as usize, pos_h as usize)
    })??)
}

/// `pwritev(fd, iov, iovcnt, pos_l, pos_h)`
pub fn pwritev(
    cx: &mut WaliCtx,
    fd: i32,
    iov: i32,
    iovcnt: i32,
    pos_l: i64,
    pos_h: i64,
) -> SysResult {
    // SAFETY: host iovecs point at checked guest buffers.
    Ok(with_iovecs(&cx.mem, iov as u32, iovcnt, |v, n| unsafe {
        syscall5(SYS_pwritev, sx(fd), p(v), n, pos_l as usize, pos_h as usize)
    })??)
}

/// `ioctl(fd, request, argp)`: terminal and file requests whose argument
/// layout is known are translated; any other request is `ENOTTY`.
pub fn ioctl(cx: &mut WaliCtx, fd: i32, request: i32, argp: i32) -> SysResult {
    match ioctl_arg(cx, request, argp) {
        // SAFETY: pointer arguments were checked with the request's struct size.
        Ok(a) => Ok(unsafe { syscall3(SYS_ioctl, sx(fd), request as u32 as usize, a) }?),
        Err(e) => {
            // A bad descriptor is reported first, as the kernel does.
            // SAFETY: F_GETFD takes no pointer.
            unsafe { syscall2(SYS_fcntl, sx(fd), F_GETFD as usize) }?;
            Err(e.into())
        }
    }
}

fn ioctl_arg(cx: &WaliCtx, request: i32, argp: i32) -> Result<usize, Errno> {
    let req = request as u32 as c_ulong;
    let ptr = |len: usize| cx.mem.buf(argp as u32, len).map(|h| h as usize);
    let a = match req {
        TCGETS | TCSETS | TCSETSW | TCSETSF => ptr(layout::termios::SIZE)?,
        TIOCGWINSZ | TIOCSWINSZ => ptr(layout::winsize::SIZE)?,
        TIOCGPGRP | TIOCSPGRP | FIONREAD | TIOCOUTQ | FIONBIO | FIOASYNC | TIOCGSID | TIOCMGET
        | TIOCMSET | TIOCMBIS | TIOCMBIC | TIOCGPTN | TIOCSPTLCK | TIOCGETD | TIOCSETD => ptr(4)?,
        FIOCLEX | FIONCLEX | TIOCNOTTY | TIOCEXCL | TIOCNXCL => 0,
        TIOCSCTTY | TCSBRK | TCXONC | TCFLSH | TCSBRKP => sx(argp),
        _ => return Err(Errno::NOTTY),
    };
    Ok(a)
}

fn pollfds(cx: &WaliCtx, fds: i32, nfds: i64) -> Result<*mut u8, Errno> {
    if !(0..=1 << 20).contains(&nfds) {
        return Err(Errno::INVAL);
    }
    cx.mem.buf(fds as u32, nfds as usize * layout::pollfd::SIZE)
}

/// Reads an optional guest sigset (8 bytes); NULL stays NULL.
fn sigset_arg(cx: &WaliCtx, set: i32, size: i32) -> Result<*mut u8, Errno> {
    if set != 0 && size as usize != layout::sigset::SIZE {
        return Err(Errno::INVAL);
    }
    cx.mem.buf_opt(set as u32, layout::sigset::SIZE)
}

/// `poll(fds, nfds, timeout)`
pub fn poll(cx: &mut WaliCtx, fds: i32, nfds: i64, timeout: i32) -> SysResult {
    let f = pollfds(cx, fds, nfds)?;
    // SAFETY: `f` holds `nfds` pollfds.
    Ok(unsafe { syscall3(SYS_poll, p(f), nfds as usize, sx(timeout)) }?)
}

/// `ppoll(fds, nfds, tmo_p, sigmask, sigsetsize)`: a NULL sigmask is valid.
pub fn ppoll(
    cx: &mut WaliCtx,
    fds: i32,
    nfds: i64,
    tmo_p: i32,
    sigmask: i32,
    sigsetsize: i32,
) -> SysResult {
    let f = pollfds(cx, fds, nfds)?;
    let t = cx.mem.buf_opt(tmo_p as u32, layout::timespec::SIZE)?;
    let m = sigset_arg(cx, sigmask, sigsetsize)?;
    // SAFETY: checked pollfds, optional timespec and sigset.
    Ok(unsafe {
        syscall5(
            SYS_ppoll,
            p(f),
            nfds as usize,
            p(t),
            p(m),
            layout::sigset::SIZE,
        )
    }?)
}

fn fdset(cx: &WaliCtx, set: i32, nfds: i32) -> Result<*mut u8, Errno> {
    // The kernel touches whole longs: DIV_ROUND_UP(nfds, 64) * 8 bytes.
    let bytes = (nfds as usize).div_ceil(64) * 8;
    cx.mem.buf_opt(set as u32, bytes)
}

fn fdsets(cx: &WaliCtx, nfds: &mut i32, r: i32, w: i32, e: i32) -> Result<[*mut u8; 3], Errno> {
    if *nfds < 0 {
        return Err(Errno::INVAL);
    }
    if *nfds > 1024 {
        // The kernel only looks at descriptors the process can have.
        let lim = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        let max = lim.current.unwrap_or(1 << 20).min(1 << 20) as i32;
        *nfds = (*nfds).min(max.max(1024));
    }
    let nfds = *nfds;
    Ok([
        fdset(cx, r, nfds)?,
        fdset(cx, w, nfds)?,
        fdset(cx, e, nfds)?,
    ])
}

/// `select(nfds, readfds, writefds, exceptfds, timeout)`
pub fn select(
    cx: &mut WaliCtx,
    mut nfds: i32,
    readfds: i32,
    writefds: i32,
    exceptfds: i32,
    timeout: i32,
) -> SysResult {
    let [r, w, e] = fdsets(cx, &mut nfds, readfds, writefds, exceptfds)?;
    let t = cx.mem.buf_opt(timeout as u32, layout::timeval::SIZE)?;
    // SAFETY: checked fd_sets and optional timeval.
    Ok(unsafe { syscall5(SYS_select, sx(nfds), p(r), p(w), p(e), p(t)) }?)
}

/// `pselect6(nfds, readfds, writefds, exceptfds, timeout, sigmask)`: the 6th
/// argument points at `{ u64 sigset pointer, u64 sigset size }`; both it and
/// the sigset pointer may be NULL.
pub fn pselect6(
    cx: &mut WaliCtx,
    mut nfds: i32,
    readfds: i32,
    writefds: i32,
    exceptfds: i32,
    timeout: i32,
    sigmask: i32,
) -> SysResult {
    let [r, w, e] = fdsets(cx, &mut nfds, readfds, writefds, exceptfds)?;
    let t = cx.mem.buf_opt(timeout as u32, layout::timespec::SIZE)?;
    let mut arg = [0usize; 2];
    let argp = if sigmask != 0 {
        let [ss, len]: [u64; 2] = cx.mem.read(sigmask as u32)?;
        let ss = u32::try_from(ss).map_err(|_| Errno::FAULT)?;
        if ss != 0 && len as usize != layout::sigset::SIZE {
            return Err(Errno::INVAL.into());
        }
        arg[0] = p(cx.mem.buf_opt(ss, layout::sigset::SIZE)?);
        arg[1] = len as usize;
        arg.as_mut_ptr()
    } else {
        std::ptr::null_mut()
    };
    // SAFETY: checked fd_sets, optional timespec; `argp` is NULL or a host
    // pair whose pointer is a checked sigset.
    Ok(unsafe { syscall6(SYS_pselect6, sx(nfds), p(r), p(w), p(e), p(t), p(argp)) }?)
}

/// `epoll_create(size)`
pub fn epoll_create(_cx: &mut WaliCtx, size: i32) -> SysResult {
    if size <= 0 {
        return Err(Errno::INVAL.into());
    }
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall1(SYS_epoll_create1, 0) }?)
}

/// `epoll_create1(flags)`
pub fn epoll_create1(_cx: &mut WaliCtx, flags: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall1(SYS_epoll_create1, zx(flags)) }?)
}

/// `epoll_ctl(epfd, op, fd, event)`: `struct epoll_event` is the packed
/// 12-byte x86-64 layout, passed in place.
pub fn epoll_ctl(cx: &mut WaliCtx, epfd: i32, op: i32, fd: i32, event: i32) -> SysResult {
    let ev = if op == EPOLL_CTL_DEL {
        cx.mem.buf_opt(event as u32, layout::epoll_event::SIZE)?
    } else {
        cx.mem.buf(event as u32, layout::epoll_event::SIZE)?
    };
    // SAFETY: `ev` is NULL (DEL) or a checked epoll_event.
    Ok(unsafe { syscall4(SYS_epoll_ctl, sx(epfd), sx(op), sx(fd), p(ev)) }?)
}

fn events(cx: &WaliCtx, events: i32, maxevents: i32) -> Result<*mut u8, Errno> {
    if maxevents <= 0 || maxevents as usize > i32::MAX as usize / layout::epoll_event::SIZE {
        return Err(Errno::INVAL);
    }
    cx.mem.buf(
        events as u32,
        maxevents as usize * layout::epoll_event::SIZE,
    )
}

/// `epoll_wait(epfd, events, maxevents, timeout)`
pub fn epoll_wait(
    cx: &mut WaliCtx,
    epfd: i32,
    events_: i32,
    maxevents: i32,
    timeout: i32,
) -> SysResult {
    let ev = events(cx, events_, maxevents)?;
    // SAFETY: `ev` holds `maxevents` records.
    Ok(unsafe {
        syscall6(
            SYS_epoll_pwait,
            sx(epfd),
            p(ev),
            sx(maxevents),
            sx(timeout),
            0,
            8,
        )
    }?)
}

/// `epoll_pwait(epfd, events, maxevents, timeout, sigmask, sigsetsize)`
pub fn epoll_pwait(
    cx: &mut WaliCtx,
    epfd: i32,
    events_: i32,
    maxevents: i32,
    timeout: i32,
    sigmask: i32,
    sigsetsize: i32,
) -> SysResult {
    let ev = events(cx, events_, maxevents)?;
    let m = sigset_arg(cx, sigmask, sigsetsize)?;
    // SAFETY: `ev` holds `maxevents` records; `m` is NULL or a sigset.
    Ok(unsafe {
        syscall6(
            SYS_epoll_pwait,
            sx(epfd),
            p(ev),
            sx(maxevents),
            sx(timeout),
            p(m),
            8,
        )
    }?)
}

/// `eventfd2(initval, flags)`
pub fn eventfd2(_cx: &mut WaliCtx, initval: i32, flags: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall2(SYS_eventfd2, zx(initval), zx(flags)) }?)
}

/// `eventfd(initval)`
pub fn eventfd(cx: &mut WaliCtx, initval: i32) -> SysResult {
    eventfd2(cx, initval, 0)
}

/// `timerfd_create(clockid, flags)`
pub fn timerfd_create(_cx: &mut WaliCtx, clockid: i32, flags: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall2(SYS_timerfd_create, sx(clockid), zx(flags)) }?)
}

/// `timerfd_settime(fd, flags, new_value, old_value)`
pub fn timerfd_settime(
    cx: &mut WaliCtx,
    fd: i32,
    flags: i32,
    new_value: i32,
    old_value: i32,
) -> SysResult {
    let n = cx.mem.buf(new_value as u32, layout::itimerspec::SIZE)?;
    let o = cx.mem.buf_opt(old_value as u32, layout::itimerspec::SIZE)?;
    // SAFETY: checked itimerspecs.
    Ok(unsafe { syscall4(SYS_timerfd_settime, sx(fd), zx(flags), p(n), p(o)) }?)
}

/// `timerfd_gettime(fd, curr_value)`
pub fn timerfd_gettime(cx: &mut WaliCtx, fd: i32, curr_value: i32) -> SysResult {
    let c = cx.mem.buf(curr_value as u32, layout::itimerspec::SIZE)?;
    // SAFETY: checked itimerspec.
    Ok(unsafe { syscall2(SYS_timerfd_gettime, sx(fd), p(c)) }?)
}
