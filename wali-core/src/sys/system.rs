//! System information, limits and randomness.

use crate::raw::{p, sx, syscall1, syscall2, syscall3, syscall4};
use crate::{SysResult, WaliCtx};
use libc::*;
use wali_spec::layout;

/// `uname(buf)`
pub fn uname(cx: &mut WaliCtx, buf: i32) -> SysResult {
    let b = cx.mem.buf(buf as u32, layout::utsname::SIZE)?;
    // SAFETY: `b` holds a struct utsname.
    Ok(unsafe { syscall1(SYS_uname, p(b)) }?)
}

/// `sysinfo(info)` (the kernel writes the first 112 bytes)
pub fn sysinfo(cx: &mut WaliCtx, info: i32) -> SysResult {
    let b = cx.mem.buf(info as u32, 112)?;
    // SAFETY: `b` holds the kernel's struct sysinfo.
    Ok(unsafe { syscall1(SYS_sysinfo, p(b)) }?)
}

/// `getrandom(buf, buflen, flags)`: the kernel fills guest memory in place.
pub fn getrandom(cx: &mut WaliCtx, buf: i32, buflen: i32, flags: i32) -> SysResult {
    let b = cx.mem.buf(buf as u32, buflen as u32 as usize)?;
    // SAFETY: `b` holds `buflen` bytes.
    Ok(unsafe {
        syscall3(
            SYS_getrandom,
            p(b),
            buflen as u32 as usize,
            flags as u32 as usize,
        )
    }?)
}

/// `getrlimit(resource, rlim)`
pub fn getrlimit(cx: &mut WaliCtx, resource: i32, rlim: i32) -> SysResult {
    let b = cx.mem.buf(rlim as u32, layout::rlimit::SIZE)?;
    // SAFETY: `b` holds a struct rlimit.
    Ok(unsafe { syscall2(SYS_getrlimit, sx(resource), p(b)) }?)
}

/// `setrlimit(resource, rlim)`
pub fn setrlimit(cx: &mut WaliCtx, resource: i32, rlim: i32) -> SysResult {
    let b = cx.mem.buf(rlim as u32, layout::rlimit::SIZE)?;
    // SAFETY: `b` holds a struct rlimit.
    Ok(unsafe { syscall2(SYS_setrlimit, sx(resource), p(b)) }?)
}

/// `prlimit64(pid, resource, new_limit, old_limit)`
pub fn prlimit64(
    cx: &mut WaliCtx,
    pid: i32,
    resource: i32,
    new_limit: i32,
    old_limit: i32,
) -> SysResult {
    let n = cx.mem.buf_opt(new_limit as u32, layout::rlimit::SIZE)?;
    let o = cx.mem.buf_opt(old_limit as u32, layout::rlimit::SIZE)?;
    // SAFETY: optional struct rlimits.
    Ok(unsafe { syscall4(SYS_prlimit64, sx(pid), sx(resource), p(n), p(o)) }?)
}
