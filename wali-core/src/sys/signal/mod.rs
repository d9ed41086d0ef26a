//! Signals.
//!
//! Dispositions are real: `SIG_DFL` and `SIG_IGN` are applied to the host
//! process (a default action kills the process *of the signal*, as for a
//! native program), and a guest handler installs a small native handler
//! (with the guest's `SA_RESTART`, so blocking calls are interrupted or
//! restarted exactly as Linux does) that records the signal as pending and
//! asks the engine to interrupt a computing guest. The adapter delivers
//! pending signals at safe points — on return from every syscall and at the
//! engine's interruption checks — by calling the guest handler through the
//! module's table, with the handler's mask applied (`sa_mask`, the signal
//! itself unless `SA_NODEFER`) and `SA_RESETHAND` honoured. Signal masks
//! are the host thread's own. Signals the engine owns (SIGSEGV, SIGBUS,
//! SIGILL, SIGFPE, SIGTRAP) are never changed on the host: they report wasm
//! traps.

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

mod deliver;
mod flags;
mod startup;

pub(crate) use deliver::clear_pending_in_child;
pub use deliver::{
    enter_handler, interrupt_guests, leave_handler, pending, release_siginfo, set_interrupt_hook,
    siginfo_frame, take_pending, SigInfo,
};
pub use flags::{FlagSlot, PollFlag};
pub(crate) use startup::start_dispositions;
pub use startup::{
    end_init_by_default_actions, mark_guest_thread, reserve_signals_for_guests,
    restore_startup_mask, start_compile_pool, without_guest_signals,
};

/// The host C library's own signals (glibc: 32 and 33, below
/// `SIGRTMIN()`), which no host thread may block: glibc's `setuid` and
/// thread cancellation signal every thread and wait for it, as its own
/// `pthread_sigmask` knows.
fn host_libc_signals() -> u64 {
    (32..libc::SIGRTMIN()).fold(0, |m, s| m | 1u64 << (s - 1))
}

/// `rt_sigprocmask(how, set)` for the calling host thread (`None`: only
/// read it); returns the mask it had. The host C library's own signals are
/// never blocked ([`host_libc_signals`]).
fn thread_sigmask(how: i32, set: Option<u64>) -> u64 {
    let mut old: u64 = 0;
    let set = set.map(|s| {
        if how == libc::SIG_UNBLOCK {
            s
        } else {
            s & !host_libc_signals()
        }
    });
    let set_ptr = set.as_ref().map_or(std::ptr::null(), |s| s as *const u64);
    // SAFETY: `set_ptr` is NULL or a host u64, `old` a host u64.
    let _ = unsafe {
        syscall4(
            SYS_rt_sigprocmask,
            sx(how),
            p(set_ptr),
            p(&mut old as *mut u64),
            8,
        )
    };
    old
}

/// Installs the native handler for `sig` with the guest's restart flags.
fn host_catch(sig: i32, flags: u64) -> Result<(), Errno> {
    // SAFETY: a zeroed sigaction is valid; the handler only does atomic
    // operations and calls the async-signal-safe interrupt hook.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = deliver::on_signal as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO
            | (flags as i32 & (libc::SA_RESTART | libc::SA_NOCLDSTOP | libc::SA_NOCLDWAIT));
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
            return Err(Errno::INVAL);
        }
    }
    Ok(())
}

/// Sets the host disposition of `sig` to DFL or IGN.
fn host_disposition(sig: i32, ignore: bool) -> Result<(), Errno> {
    if !ignore && startup::host_default(sig) {
        return Ok(());
    }
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
            if n.handler == WASM_SIG_DFL || n.handler == WASM_SIG_IGN {
                host_disposition(signum, n.handler == WASM_SIG_IGN)?;
            } else {
                host_catch(signum, n.flags)?;
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
    let r = unsafe { syscall2(SYS_rt_sigpending, p(s), 8) }?;
    // Signals that wait for a guest thread that does not block them.
    let parked = deliver::parked(deliver::thread_mask());
    if parked != 0 {
        let k: u64 = cx.mem.read(set as u32)?;
        cx.mem.write(set as u32, k | parked)?;
    }
    Ok(r)
}

/// `rt_sigsuspend(mask, sigsetsize)`
pub fn rt_sigsuspend(cx: &mut WaliCtx, mask: i32, sigsetsize: i32) -> SysResult {
    if sigsetsize != 8 {
        return Err(Errno::INVAL.into());
    }
    let m = cx.mem.read::<u64>(mask as u32)? & !engine_mask();
    // a signal a host thread took while this one blocked it, which `m`
    // unblocks: delivered now (the kernel would not wake the suspension)
    if deliver::unpark(!m) {
        return Err(Errno::INTR.into());
    }
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
    let want = cx.mem.read::<u64>(set as u32)?;
    let s = cx.mem.buf(set as u32, 8)?;
    let i = cx
        .mem
        .buf_opt(info as u32, wali_spec::layout::siginfo::SIZE)?;
    // one a host thread took while the guest blocked it comes first
    if let Some(si) = deliver::take_parked(want & !engine_mask()) {
        if info != 0 {
            deliver::write_siginfo(cx, info as u32, &si)?;
        }
        return Ok(si.signo as i64);
    }
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

/// `sigaltstack(ss, old_ss)`: the alternate stack of this thread, where
/// handlers installed with `SA_ONSTACK` run; `old_ss` reads it back, with
/// `SS_ONSTACK` while a handler runs on it (when changing it is `EPERM`).
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
    let on_stack = cx.altstack_depth > 0;
    let mut old = cx.altstack;
    if on_stack {
        old[1] = SS_ONSTACK as u32 | (old[1] & SS_AUTODISARM as u32);
    }
    if let Some([sp, flags, size]) = new {
        let flags = flags as i32;
        if flags & !(SS_DISABLE | SS_AUTODISARM | SS_ONSTACK) != 0
            || flags & SS_ONSTACK != 0 && flags & SS_DISABLE != 0
        {
            return Err(Errno::INVAL.into());
        }
        if on_stack {
            // the stack a handler runs on cannot change under it
            return Err(Errno::PERM.into());
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

/// `kill(pid, sig)`. A guest signalling its own process gets the signal
/// on the calling thread (a choice Linux may make too): with several
/// guests in one host process, a guest's signal to itself stays its own.
pub fn kill(cx: &mut WaliCtx, pid: i32, sig: i32) -> SysResult {
    if sig != 0 && pid > 0 && pid as u32 == std::process::id() {
        return tgkill(cx, pid, cx.tid, sig);
    }
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall2(SYS_kill, sx(pid), sx(sig)) }?)
}

/// `rt_sigqueueinfo(tgid, sig, uinfo)` (`sigqueue`): a signal with the
/// sender's `siginfo_t` (the wasm32 layout is the kernel's). As with
/// `kill`, a guest queueing to its own process gets it on the calling
/// thread.
pub fn rt_sigqueueinfo(cx: &mut WaliCtx, tgid: i32, sig: i32, uinfo: i32) -> SysResult {
    if tgid > 0 && tgid as u32 == std::process::id() {
        return rt_tgsigqueueinfo(cx, tgid, cx.tid, sig, uinfo);
    }
    let i = cx.mem.buf(uinfo as u32, wali_spec::layout::siginfo::SIZE)?;
    // SAFETY: a checked guest siginfo_t the kernel reads.
    Ok(unsafe { syscall3(SYS_rt_sigqueueinfo, sx(tgid), sx(sig), p(i)) }?)
}

/// `rt_tgsigqueueinfo(tgid, tid, sig, uinfo)` (`pthread_sigqueue`)
pub fn rt_tgsigqueueinfo(cx: &mut WaliCtx, tgid: i32, tid: i32, sig: i32, uinfo: i32) -> SysResult {
    let i = cx.mem.buf(uinfo as u32, wali_spec::layout::siginfo::SIZE)?;
    // SAFETY: a checked guest siginfo_t the kernel reads.
    Ok(unsafe { syscall4(SYS_rt_tgsigqueueinfo, sx(tgid), sx(tid), sx(sig), p(i)) }?)
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

/// `signalfd4(fd, mask, sizemask, flags)`: a real signalfd (the mask is
/// the kernel's 8-byte set; the engine's trap signals are left out).
pub fn signalfd4(cx: &mut WaliCtx, fd: i32, mask: i32, sizemask: i32, flags: i32) -> SysResult {
    if sizemask != 8 {
        return Err(Errno::INVAL.into());
    }
    let m = cx.mem.read::<u64>(mask as u32)? & !engine_mask();
    // SAFETY: a host u64 set.
    Ok(unsafe { syscall4(SYS_signalfd4, sx(fd), p(&m), 8, flags as u32 as usize) }?)
}

/// `signalfd(fd, mask, sizemask)`
pub fn signalfd(cx: &mut WaliCtx, fd: i32, mask: i32, sizemask: i32) -> SysResult {
    signalfd4(cx, fd, mask, sizemask, 0)
}

/// What execve does to dispositions, for an exec that replaces the guest
/// in place: signals with a guest handler go back to their default action
/// (ignored ones stay ignored).
pub fn reset_caught_signals(cx: &WaliCtx) {
    let tab = cx.proc.signals.lock().unwrap_or_else(|e| e.into_inner());
    for (sig, a) in tab.actions.iter().enumerate() {
        if a.handler != WASM_SIG_DFL
            && a.handler != WASM_SIG_IGN
            && !engine_owned(sig as i32)
            && sig > 0
        {
            let _ = host_disposition(sig as i32, false);
        }
    }
}
