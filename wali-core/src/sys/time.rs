//! Clocks and sleeping. `timespec`/`timeval`/`timezone` have the x86-64
//! layout and pass in place.

use crate::raw::{p, sx, syscall1, syscall2, syscall4};
use crate::{SysResult, WaliCtx};
use libc::*;
use wali_spec::layout;

/// `clock_gettime(clockid, tp)`
#[inline]
pub fn clock_gettime(cx: &mut WaliCtx, clockid: i32, tp: i32) -> SysResult {
    let t = cx.mem.buf(tp as u32, layout::timespec::SIZE)?;
    // SAFETY: `t` holds a timespec.
    Ok(unsafe { syscall2(SYS_clock_gettime, sx(clockid), p(t)) }?)
}

/// `clock_getres(clockid, res)`
pub fn clock_getres(cx: &mut WaliCtx, clockid: i32, res: i32) -> SysResult {
    let t = cx.mem.buf_opt(res as u32, layout::timespec::SIZE)?;
    // SAFETY: `t` is NULL or a timespec.
    Ok(unsafe { syscall2(SYS_clock_getres, sx(clockid), p(t)) }?)
}

/// `nanosleep(req, rem)`
pub fn nanosleep(cx: &mut WaliCtx, req: i32, rem: i32) -> SysResult {
    let r = cx.mem.buf(req as u32, layout::timespec::SIZE)?;
    let m = cx.mem.buf_opt(rem as u32, layout::timespec::SIZE)?;
    // SAFETY: checked timespecs.
    Ok(unsafe { syscall2(SYS_nanosleep, p(r), p(m)) }?)
}

/// `clock_nanosleep(clockid, flags, request, remain)`
pub fn clock_nanosleep(
    cx: &mut WaliCtx,
    clockid: i32,
    flags: i32,
    request: i32,
    remain: i32,
) -> SysResult {
    let r = cx.mem.buf(request as u32, layout::timespec::SIZE)?;
    let m = cx.mem.buf_opt(remain as u32, layout::timespec::SIZE)?;
    // SAFETY: checked timespecs.
    Ok(unsafe { syscall4(SYS_clock_nanosleep, sx(clockid), sx(flags), p(r), p(m)) }?)
}

/// `gettimeofday(tv, tz)`
pub fn gettimeofday(cx: &mut WaliCtx, tv: i32, tz: i32) -> SysResult {
    let t = cx.mem.buf_opt(tv as u32, layout::timeval::SIZE)?;
    let z = cx.mem.buf_opt(tz as u32, layout::timezone::SIZE)?;
    // SAFETY: optional timeval and timezone.
    Ok(unsafe { syscall2(SYS_gettimeofday, p(t), p(z)) }?)
}

/// `time(tloc)`
pub fn time(cx: &mut WaliCtx, tloc: i32) -> SysResult {
    let t = cx.mem.buf_opt(tloc as u32, 8)?;
    // SAFETY: `t` is NULL or a time_t.
    Ok(unsafe { syscall1(SYS_time, p(t)) }?)
}
