//! Signals.
//!
//! Dispositions `SIG_DFL` and `SIG_IGN` are applied to the host process,
//! so ignoring SIGPIPE or SIGCHLD behaves as on Linux. Guest handler
//! functions are recorded (and read back by `oldact`), but not yet
//! delivered: the signal keeps its default action on the host, except
//! SIGPIPE, which is ignored so that writes to a closed pipe return EPIPE
//! as the guest expects. Signals the engine owns (SIGSEGV, SIGBUS, SIGILL,
//! SIGFPE, SIGTRAP) are never changed on the host: they report wasm traps.

use crate::raw::{p, sx, syscall0, syscall1, syscall2, syscall3, syscall4};
use crate::{Errno, SysResult, WaliCtx};
use libc::*;
use wali_spec::consts::{NSIG, WASM_SIG_DFL, WASM_SIG_ERR, WASM_SIG_IGN};
use wali_spec::layout::{k_sigaction as ks, stack_t as st};

/// The guest's view of one signal's disposition (`struct k_sigaction`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuestSigaction {
    pub handler: u32,
    pub flags: u64,
    pub restorer: u32,
    pub mask: u64,
}

/// Per-process signal dispositions as the guest set them.
#[derive(Debug)]
pub struct SignalTable {
    pub actions: [GuestSigaction; NSIG as usize],
}

impl Default for SignalTable {
    fn default() -> Self {
        SignalTable {
            actions: [GuestSigaction::default(); NSIG as usize],
        }
    }
}

/// Signals the engine uses to report traps: never changed on the host.
fn engine_owned(sig: i32) -> bool {
    matches!(sig, SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP)
}

fn engine_mask() -> u64 {
    [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP]
        .iter()
        .fold(0, |m, s| m | 1u64 << (s - 1))
}

fn read_ksa(cx: &WaliCtx, a: u32) -> Result<GuestSigaction, Errno> {
    let raw: [u8; ks::SIZE] = cx.mem.read(a)?;
    let u32_at = |o: usize| u32::from_le_bytes(raw[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(raw[o..o + 8].try_into().unwrap());
    Ok(GuestSigaction {
        handler: u32_at(ks::HANDLER),
        flags: u64_at(ks::FLAGS),
        restorer: u32_at(ks::RESTORER),
        mask: u64_at(ks::MASK),
    })
}

fn write_ksa(cx: &WaliCtx, a: u32, s: &GuestSigaction) -> Result<(), Errno> {
    let mut raw = [0u8; ks::SIZE];
    raw[ks::HANDLER..ks::HANDLER + 4].copy_from_slice(&s.handler.to_le_bytes());
    raw[ks::FLAGS..ks::FLAGS + 8].copy_from_slice(&s.flags.to_le_bytes());
    raw[ks::RESTORER..ks::RESTORER + 4].copy_from_slice(&s.restorer.to_le_bytes());
    raw[ks::MASK..ks::MASK + 8].copy_from_slice(&s.mask.to_le_bytes());
    cx.mem.write(a, raw)
}

/// Sets the host disposition of `sig` to DFL or IGN.
fn host_disposition(sig: i32, ignore: bool) -> Result<(), Errno> {
    // SAFETY: installing SIG_DFL/SIG_IGN (no handler code) for a signal the
    // engine does not own.
    let r = unsafe { libc::signal(sig, if ignore { SIG_IGN } else { SIG_DFL }) };
    if r == SIG_ERR {
        return Err(Errno::INVAL);
    }
    Ok(())
}

/// `rt_sigaction(signum, act, oldact, sigsetsize)`
pub fn rt_sigaction(
    cx: &mut WaliCtx,
    signum: i32,
    act: i32,
    oldact: i32,
    sigsetsize: i32,
) -> SysResult {
    if sigsetsize != 8 || signum < 1 || signum >= NSIG as i32 {
        return Err(Errno::INVAL.into());
    }
    let new = if act != 0 {
        Some(read_ksa(cx, act as u32)?)
    } else {
        None
    };
    if new.is_some() && (signum == SIGKILL || signum == SIGSTOP) {
        return Err(Errno::INVAL.into());
    }
    if oldact != 0 {
        cx.mem.buf(oldact as u32, ks::SIZE)?;
    }
    let proc = cx.proc.clone();
    let mut tab = proc.signals.lock().unwrap_or_else(|e| e.into_inner());
    let old = tab.actions[signum as usize];
    if let Some(n) = new {
        if n.handler == WASM_SIG_ERR {
            return Err(Errno::INVAL.into());
        }
        if !engine_owned(signum) {
            let ignore =
                n.handler == WASM_SIG_IGN || (n.handler != WASM_SIG_DFL && signum == SIGPIPE);
            host_disposition(signum, ignore)?;
            if n.handler != WASM_SIG_DFL && n.handler != WASM_SIG_IGN {
                cx.log(1, format_args!("signal {signum}: guest handlers are not delivered yet; default action kept"));
            }
        }
        tab.actions[signum as usize] = n;
    }
    drop(tab);
    if oldact != 0 {
        write_ksa(cx, oldact as u32, &old)?;
    }
    Ok(0)
}

fn sigset_in(cx: &WaliCtx, set: i32) -> Result<Option<u64>, Errno> {
    if set == 0 {
        return Ok(None);
    }
    Ok(Some(cx.mem.read::<u64>(set as u32)?))
}

/// `rt_sigprocmask(how, set, oldset, sigsetsize)`: applied to the calling
/// host thread; the engine's trap signals cannot be blocked.
pub fn rt_sigprocmask(
    cx: &mut WaliCtx,
    how: i32,
    set: i32,
    oldset: i32,
    sigsetsize: i32,
) -> SysResult {
    if sigsetsize != 8 {
        return Err(Errno::INVAL.into());
    }
    let new = sigset_in(cx, set)?.map(|s| s & !engine_mask());
    let old_out = cx.mem.buf_opt(oldset as u32, 8)?;
    let n = new.as_ref().map_or(std::ptr::null(), |v| v as *const u64);
    // SAFETY: `n` is NULL or a host u64; `old_out` is NULL or a checked guest sigset.
    Ok(unsafe { syscall4(SYS_rt_sigprocmask, sx(how), p(n), p(old_out), 8) }?)
}

/// `rt_sigpending(set, sigsetsize)`
pub fn rt_sigpending(cx: &mut WaliCtx, set: i32, sigsetsize: i32) -> SysResult {
    if sigsetsize != 8 {
        return Err(Errno::INVAL.into());
    }
    let s = cx.mem.buf(set as u32, 8)?;
    // SAFETY: checked sigset.
    Ok(unsafe { syscall2(SYS_rt_sigpending, p(s), 8) }?)
}

/// `rt_sigsuspend(mask, sigsetsize)`
pub fn rt_sigsuspend(cx: &mut WaliCtx, mask: i32, sigsetsize: i32) -> SysResult {
    if sigsetsize != 8 {
        return Err(Errno::INVAL.into());
    }
    let m = cx.mem.read::<u64>(mask as u32)? & !engine_mask();
    // SAFETY: host u64.
    Ok(unsafe { syscall2(SYS_rt_sigsuspend, p(&m), 8) }?)
}

/// `rt_sigtimedwait(set, info, timeout, sigsetsize)`
pub fn rt_sigtimedwait(
    cx: &mut WaliCtx,
    set: i32,
    info: i32,
    timeout: i32,
    sigsetsize: i32,
) -> SysResult {
    if sigsetsize != 8 {
        return Err(Errno::INVAL.into());
    }
    let s = cx.mem.buf(set as u32, 8)?;
    let i = cx
        .mem
        .buf_opt(info as u32, wali_spec::layout::siginfo::SIZE)?;
    let t = cx.mem.buf_opt(timeout as u32, 16)?;
    // SAFETY: checked sigset, optional siginfo and timespec.
    Ok(unsafe { syscall4(SYS_rt_sigtimedwait, p(s), p(i), p(t), 8) }?)
}

/// `rt_sigreturn`: only a host-built signal frame may return; a guest
/// calling it directly gets ENOSYS.
pub fn rt_sigreturn(cx: &mut WaliCtx, _unused: i64) -> SysResult {
    cx.log(1, format_args!("rt_sigreturn called by the guest"));
    Err(Errno::NOSYS.into())
}

/// `sigaltstack(ss, old_ss)`: the alternate stack is recorded per thread
/// (and used once guest handlers are delivered); `old_ss` reads it back.
pub fn sigaltstack(cx: &mut WaliCtx, ss: i32, old_ss: i32) -> SysResult {
    const SS_ONSTACK: i32 = 1;
    const SS_DISABLE: i32 = 2;
    const SS_AUTODISARM: i32 = 1 << 31;
    const MINSIGSTKSZ: u32 = 2048;
    let new = if ss != 0 {
        Some(cx.mem.read::<[u32; 3]>(ss as u32)?)
    } else {
        None
    };
    if old_ss != 0 {
        cx.mem.buf(old_ss as u32, st::SIZE)?;
    }
    let old = cx.altstack;
    if let Some([sp, flags, size]) = new {
        let flags = flags as i32;
        if flags & !(SS_DISABLE | SS_AUTODISARM | SS_ONSTACK) != 0
            || flags & SS_ONSTACK != 0 && flags & SS_DISABLE != 0
        {
            return Err(Errno::INVAL.into());
        }
        if flags & SS_DISABLE != 0 {
            cx.altstack = [0, SS_DISABLE as u32, 0];
        } else {
            if size < MINSIGSTKSZ {
                return Err(Errno::NOMEM.into());
            }
            cx.mem.buf(sp, size as usize)?;
            cx.altstack = [sp, (flags & SS_AUTODISARM) as u32, size];
        }
    }
    if old_ss != 0 {
        cx.mem.write::<[u32; 3]>(old_ss as u32, old)?;
    }
    Ok(0)
}

/// `kill(pid, sig)`
pub fn kill(_cx: &mut WaliCtx, pid: i32, sig: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall2(SYS_kill, sx(pid), sx(sig)) }?)
}

/// `tkill(tid, sig)`
pub fn tkill(_cx: &mut WaliCtx, tid: i32, sig: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall2(SYS_tkill, sx(tid), sx(sig)) }?)
}

/// `tgkill(tgid, tid, sig)`
pub fn tgkill(_cx: &mut WaliCtx, tgid: i32, tid: i32, sig: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall3(SYS_tgkill, sx(tgid), sx(tid), sx(sig)) }?)
}

/// `setitimer(which, new_value, old_value)`
pub fn setitimer(cx: &mut WaliCtx, which: i32, new_value: i32, old_value: i32) -> SysResult {
    let n = cx.mem.buf_opt(new_value as u32, 32)?;
    let o = cx.mem.buf_opt(old_value as u32, 32)?;
    // SAFETY: optional itimervals.
    Ok(unsafe { syscall3(SYS_setitimer, sx(which), p(n), p(o)) }?)
}

/// `getitimer(which, curr_value)`
pub fn getitimer(cx: &mut WaliCtx, which: i32, curr_value: i32) -> SysResult {
    let c = cx.mem.buf(curr_value as u32, 32)?;
    // SAFETY: checked itimerval.
    Ok(unsafe { syscall2(SYS_getitimer, sx(which), p(c)) }?)
}

/// `alarm(seconds)`
pub fn alarm(_cx: &mut WaliCtx, seconds: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall1(SYS_alarm, seconds as u32 as usize) }?)
}

/// `pause()`
pub fn pause(_cx: &mut WaliCtx) -> SysResult {
    // SAFETY: no argument.
    Ok(unsafe { syscall0(SYS_pause) }?)
}
