//! Sockets. `sockaddr` variants (AF_UNIX, AF_INET, AF_INET6 ...) have the
//! same layout in the guest and on x86-64 and pass in place; `msghdr` and
//! its iovecs are converted; control messages (`cmsghdr`, SCM_RIGHTS ...)
//! have the x86-64 layout and pass in place.

use super::io::with_iovecs;
use crate::raw::{p, sx, syscall2, syscall3, syscall4, syscall5, syscall6, zx};
use crate::{Errno, SysResult, WaliCtx};
use libc::*;
use wali_spec::layout::msghdr as mh;

/// `socket(domain, type, protocol)`
pub fn socket(cx: &mut WaliCtx, domain: i32, type_: i32, protocol: i32) -> SysResult {
    if let Some(pol) = cx.proc.policy() {
        if pol.restrict_net && pol.allow_net.is_empty() && (domain == AF_INET || domain == AF_INET6)
        {
            return Err(Errno::ACCESS.into());
        }
    }
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall3(SYS_socket, sx(domain), sx(type_), sx(protocol)) }?)
}

/// `socketpair(domain, type, protocol, sv)`
pub fn socketpair(cx: &mut WaliCtx, domain: i32, type_: i32, protocol: i32, sv: i32) -> SysResult {
    let b = cx.mem.buf(sv as u32, 8)?;
    // SAFETY: `b` holds int[2].
    Ok(unsafe { syscall4(SYS_socketpair, sx(domain), sx(type_), sx(protocol), p(b)) }?)
}

/// A socket address argument: in guest memory, or (for an AF_UNIX path
/// under file-system confinement) rewritten to the resolved path.
struct AddrIn {
    ptr: *const u8,
    len: usize,
    _own: Option<Vec<u8>>,
    _hold: Option<super::confine::Target>,
}

fn addr_in(cx: &WaliCtx, addr: i32, addrlen: i32, create: bool) -> Result<AddrIn, Errno> {
    let ptr = addr_in_raw(cx, addr, addrlen)?;
    let plain = AddrIn {
        ptr,
        len: addrlen as usize,
        _own: None,
        _hold: None,
    };
    if ptr.is_null() || !super::confine::active(cx) || addrlen <= 2 {
        return Ok(plain);
    }
    let bytes = cx
        .mem
        .read_bytes(addr as u32, (addrlen as usize).min(110))?;
    if u16::from_le_bytes([bytes[0], bytes[1]]) as i32 != AF_UNIX || bytes[2] == 0 {
        // Not a path (an abstract AF_UNIX name has no file).
        return Ok(plain);
    }
    let path: Vec<u8> = bytes[2..].iter().copied().take_while(|c| *c != 0).collect();
    let c = std::ffi::CString::new(path).map_err(|_| Errno::INVAL)?;
    let last = if create {
        super::confine::Last::Entry
    } else {
        super::confine::Last::Follow
    };
    let t = super::confine::resolve(cx, AT_FDCWD, c.as_ptr(), last, create)?;
    // SAFETY: resolve returns a NUL-terminated host string.
    let name = unsafe { std::ffi::CStr::from_ptr(t.path) }
        .to_bytes()
        .to_vec();
    let host_path = if t.dirfd == AT_FDCWD as isize as usize {
        name
    } else {
        let mut v = format!("/proc/self/fd/{}/", t.dirfd).into_bytes();
        v.extend_from_slice(&name);
        v
    };
    if host_path.len() >= 108 {
        return Err(Errno::NAMETOOLONG);
    }
    let mut sa = vec![0u8; 110];
    sa[..2].copy_from_slice(&(AF_UNIX as u16).to_le_bytes());
    sa[2..2 + host_path.len()].copy_from_slice(&host_path);
    let len = 2 + host_path.len() + 1;
    Ok(AddrIn {
        ptr: sa.as_ptr(),
        len,
        _own: Some(sa),
        _hold: Some(t),
    })
}

fn addr_in_raw(cx: &WaliCtx, addr: i32, addrlen: i32) -> Result<*mut u8, Errno> {
    if addrlen < 0 {
        return Err(Errno::INVAL);
    }
    if let Some(pol) = cx.proc.policy() {
        if pol.restrict_net && addr != 0 {
            let bytes = cx
                .mem
                .read_bytes(addr as u32, (addrlen as usize).min(128))?;
            if !pol.net_allows(&bytes) {
                return Err(Errno::ACCESS);
            }
        }
    }
    cx.mem.buf_opt(addr as u32, addrlen as usize)
}

/// An optional (addr, *addrlen) output pair: returns host pointers.
fn addr_out(cx: &WaliCtx, addr: i32, addrlen: i32) -> Result<(*mut u8, *mut u8), Errno> {
    if addr == 0 {
        return Ok((std::ptr::null_mut(), cx.mem.buf_opt(addrlen as u32, 4)?));
    }
    let lenp = cx.mem.buf(addrlen as u32, 4)?;
    let len: i32 = cx.mem.read(addrlen as u32)?;
    if len < 0 {
        return Err(Errno::INVAL);
    }
    Ok((cx.mem.buf(addr as u32, len as usize)?, lenp))
}

/// `bind(sockfd, addr, addrlen)`
pub fn bind(cx: &mut WaliCtx, sockfd: i32, addr: i32, addrlen: i32) -> SysResult {
    let a = addr_in(cx, addr, addrlen, true)?;
    // SAFETY: `a` holds `a.len` bytes.
    Ok(unsafe { syscall3(SYS_bind, sx(sockfd), p(a.ptr), a.len) }?)
}

/// `connect(sockfd, addr, addrlen)`
pub fn connect(cx: &mut WaliCtx, sockfd: i32, addr: i32, addrlen: i32) -> SysResult {
    let a = addr_in(cx, addr, addrlen, false)?;
    // SAFETY: `a` holds `a.len` bytes.
    Ok(unsafe { syscall3(SYS_connect, sx(sockfd), p(a.ptr), a.len) }?)
}

/// `listen(sockfd, backlog)`
pub fn listen(_cx: &mut WaliCtx, sockfd: i32, backlog: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall2(SYS_listen, sx(sockfd), sx(backlog)) }?)
}

/// `accept4(sockfd, addr, addrlen, flags)`
pub fn accept4(cx: &mut WaliCtx, sockfd: i32, addr: i32, addrlen: i32, flags: i32) -> SysResult {
    let (a, l) = addr_out(cx, addr, addrlen)?;
    // SAFETY: `a` is NULL or holds *addrlen bytes; `l` is NULL or a socklen_t.
    Ok(unsafe { syscall4(SYS_accept4, sx(sockfd), p(a), p(l), zx(flags)) }?)
}

/// `accept(sockfd, addr, addrlen)`
pub fn accept(cx: &mut WaliCtx, sockfd: i32, addr: i32, addrlen: i32) -> SysResult {
    accept4(cx, sockfd, addr, addrlen, 0)
}

/// `getsockname(sockfd, addr, addrlen)`
pub fn getsockname(cx: &mut WaliCtx, sockfd: i32, addr: i32, addrlen: i32) -> SysResult {
    let (a, l) = addr_out(cx, addr, addrlen)?;
    // SAFETY: as accept4.
    Ok(unsafe { syscall3(SYS_getsockname, sx(sockfd), p(a), p(l)) }?)
}

/// `getpeername(sockfd, addr, addrlen)`
pub fn getpeername(cx: &mut WaliCtx, sockfd: i32, addr: i32, addrlen: i32) -> SysResult {
    let (a, l) = addr_out(cx, addr, addrlen)?;
    // SAFETY: as accept4.
    Ok(unsafe { syscall3(SYS_getpeername, sx(sockfd), p(a), p(l)) }?)
}

/// `sendto(sockfd, buf, len, flags, dest_addr, addrlen)`
pub fn sendto(
    cx: &mut WaliCtx,
    sockfd: i32,
    buf: i32,
    len: i32,
    flags: i32,
    dest_addr: i32,
    addrlen: i32,
) -> SysResult {
    let b = cx.mem.buf(buf as u32, len as u32 as usize)?;
    let a = addr_in(cx, dest_addr, addrlen, false)?;
    // SAFETY: checked buffer and optional address.
    Ok(unsafe {
        syscall6(
            SYS_sendto,
            sx(sockfd),
            p(b),
            zx(len),
            zx(flags),
            p(a.ptr),
            a.len,
        )
    }?)
}

/// `recvfrom(sockfd, buf, len, flags, src_addr, addrlen)`
pub fn recvfrom(
    cx: &mut WaliCtx,
    sockfd: i32,
    buf: i32,
    len: i32,
    flags: i32,
    src_addr: i32,
    addrlen: i32,
) -> SysResult {
    let b = cx.mem.buf(buf as u32, len as u32 as usize)?;
    let (a, l) = addr_out(cx, src_addr, addrlen)?;
    // SAFETY: checked buffer and optional address pair.
    Ok(unsafe {
        syscall6(
            SYS_recvfrom,
            sx(sockfd),
            p(b),
            zx(len),
            zx(flags),
            p(a),
            p(l),
        )
    }?)
}

/// Runs `f` with a host `msghdr` built from the guest's; when `out`, the
/// guest's `msg_namelen`, `msg_controllen` and `msg_flags` are updated
/// afterwards (recvmsg).
fn with_msghdr(
    cx: &WaliCtx,
    msg: i32,
    out: bool,
    f: impl FnOnce(*mut msghdr) -> Result<i64, Errno>,
) -> SysResult {
    let m = msg as u32;
    let raw: [u32; 9] = cx.mem.read(m)?;
    let (name, namelen, iov, iovlen, control, controllen) =
        (raw[0], raw[1], raw[2], raw[3] as i32, raw[5], raw[6]);
    if iovlen as u32 > 1024 {
        return Err(Errno::MSGSIZE.into());
    }
    // A destination (sendmsg) passes the same checks as sendto's: the net
    // policy, and confinement of an AF_UNIX path (then rewritten).
    let dest = if out {
        None
    } else {
        Some(addr_in(cx, name as i32, namelen as i32, false)?)
    };
    let (name_h, namelen) = match &dest {
        Some(a) => (a.ptr as *mut u8, a.len as u32),
        None => (cx.mem.buf_opt(name, namelen as usize)?, namelen),
    };
    let ctl_h = cx.mem.buf_opt(control, controllen as usize)?;
    let r = with_iovecs(&cx.mem, iov, iovlen, |v, n| {
        // SAFETY: zero is a valid msghdr.
        let mut h: msghdr = unsafe { std::mem::zeroed() };
        // A NULL name or control buffer keeps its length: the kernel
        // ignores it (name) or faults on it (control), as for a native caller.
        h.msg_name = name_h as *mut c_void;
        h.msg_namelen = namelen;
        h.msg_iov = v as *mut iovec;
        h.msg_iovlen = n;
        h.msg_control = ctl_h as *mut c_void;
        h.msg_controllen = controllen as usize;
        h.msg_flags = raw[8] as i32;
        let r = f(&mut h);
        (r, h.msg_namelen, h.msg_controllen, h.msg_flags)
    })?;
    let (res, nl, cl, fl) = r;
    let v = res?;
    if out {
        cx.mem.write::<u32>(m + mh::MSG_NAMELEN as u32, nl)?;
        cx.mem
            .write::<u32>(m + mh::MSG_CONTROLLEN as u32, cl as u32)?;
        cx.mem.write::<i32>(m + mh::MSG_FLAGS as u32, fl)?;
    }
    Ok(v)
}

/// `sendmsg(sockfd, msg, flags)`
pub fn sendmsg(cx: &mut WaliCtx, sockfd: i32, msg: i32, flags: i32) -> SysResult {
    // SAFETY: the host msghdr points at checked guest buffers.
    with_msghdr(cx, msg, false, |h| unsafe {
        syscall3(SYS_sendmsg, sx(sockfd), p(h), zx(flags))
    })
}

/// `recvmsg(sockfd, msg, flags)`: `msg_namelen`, `msg_controllen` and
/// `msg_flags` are written back.
pub fn recvmsg(cx: &mut WaliCtx, sockfd: i32, msg: i32, flags: i32) -> SysResult {
    // SAFETY: the host msghdr points at checked guest buffers.
    with_msghdr(cx, msg, true, |h| unsafe {
        syscall3(SYS_recvmsg, sx(sockfd), p(h), zx(flags))
    })
}

/// `shutdown(sockfd, how)`
pub fn shutdown(_cx: &mut WaliCtx, sockfd: i32, how: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall2(SYS_shutdown, sx(sockfd), sx(how)) }?)
}

/// Options whose value holds a pointer (a BPF program) cannot pass in place.
fn pointer_option(level: i32, optname: i32) -> bool {
    level == SOL_SOCKET && matches!(optname, SO_ATTACH_FILTER | SO_ATTACH_REUSEPORT_CBPF)
}

/// `setsockopt(sockfd, level, optname, optval, optlen)`
pub fn setsockopt(
    cx: &mut WaliCtx,
    sockfd: i32,
    level: i32,
    optname: i32,
    optval: i32,
    optlen: i32,
) -> SysResult {
    if pointer_option(level, optname) {
        return Err(Errno::NOPROTOOPT.into());
    }
    if optlen < 0 {
        return Err(Errno::INVAL.into());
    }
    let v = cx.mem.buf_opt(optval as u32, optlen as usize)?;
    // SAFETY: `v` is NULL or holds `optlen` bytes.
    Ok(unsafe {
        syscall5(
            SYS_setsockopt,
            sx(sockfd),
            sx(level),
            sx(optname),
            p(v),
            zx(optlen),
        )
    }?)
}

/// `getsockopt(sockfd, level, optname, optval, optlen)`
pub fn getsockopt(
    cx: &mut WaliCtx,
    sockfd: i32,
    level: i32,
    optname: i32,
    optval: i32,
    optlen: i32,
) -> SysResult {
    if pointer_option(level, optname) {
        return Err(Errno::NOPROTOOPT.into());
    }
    let (v, l) = addr_out(cx, optval, optlen)?;
    // SAFETY: `v` is NULL or holds *optlen bytes; `l` is a socklen_t.
    Ok(unsafe {
        syscall5(
            SYS_getsockopt,
            sx(sockfd),
            sx(level),
            sx(optname),
            p(v),
            p(l),
        )
    }?)
}
