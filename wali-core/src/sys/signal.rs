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

use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};

/// Signals caught for a guest handler and not yet delivered.
static PENDING: AtomicU64 = AtomicU64::new(0);
/// Called by the native handler: how the adapters interrupt a computing
/// guest (one per engine in the process).
static INTERRUPT: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];
/// The last `si_code`/`si_pid`/`si_uid` seen per signal (for SA_SIGINFO).
static INFO: [[AtomicI32; 3]; 65] = [const { [const { AtomicI32::new(0) }; 3] }; 65];

/// Registers the function the native signal handler calls after recording
/// a signal, to make a computing guest reach a safe point soon (wasmtime:
/// bump the epoch; wasmer: set the poll flags). It must be
/// async-signal-safe. Each adapter registers one; registering the same
/// function again changes nothing.
pub fn set_interrupt_hook(f: fn()) {
    let f = f as usize;
    for slot in &INTERRUPT {
        match slot.compare_exchange(0, f, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return,
            Err(cur) if cur == f => return,
            Err(_) => {}
        }
    }
}

/// Whether a signal waits for delivery to the guest (one relaxed load: the
/// adapters call it on every syscall return).
#[inline]
pub fn pending() -> bool {
    PENDING.load(Ordering::Relaxed) != 0 || TL_PENDING.with(|p| p.load(Ordering::Relaxed)) != 0
}

thread_local! {
    /// Signals the kernel gave to this guest thread (thread-directed, or
    /// process-directed and picked for it).
    static TL_PENDING: AtomicU64 = const { AtomicU64::new(0) };
    /// Whether this host thread runs a guest.
    static TL_GUEST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the calling host thread as running a guest: signals the kernel
/// gives to it are delivered to this guest thread only (another host
/// thread's signals go to whichever guest thread reaches a safe point).
/// The first guest thread of a host process that called
/// [`reserve_signals_for_guests`] gets the signal mask the process
/// started with (later ones, and programs exec'd in place, keep the mask
/// they inherited, as on Linux).
pub fn mark_guest_thread() {
    TL_GUEST.with(|g| g.set(true));
    if RESERVED.swap(false, Ordering::SeqCst) {
        let m = STARTUP_MASK.load(Ordering::SeqCst);
        // SAFETY: a host u64 set, for this thread only.
        let _ = unsafe { syscall4(SYS_rt_sigprocmask, SIG_SETMASK as usize, p(&m), 0, 8) };
    }
}

/// The mask the process had when [`reserve_signals_for_guests`] ran.
static STARTUP_MASK: AtomicU64 = AtomicU64::new(0);
/// Set by [`reserve_signals_for_guests`] until the first guest thread
/// takes the startup mask.
static RESERVED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Leaves the process's asynchronous signals to its guest threads: blocks
/// every signal but the engine's trap signals on the calling thread, so
/// the host threads made after it (the compiler's pool, an epoch or
/// timeout thread, the thread that then runs the guest) inherit that
/// mask, and the kernel gives a process-directed signal only to a guest
/// thread that does not block it, or keeps it pending (visible to
/// `sigpending`, `sigtimedwait`, `sigsuspend`) while every guest thread
/// blocks it. The first guest thread gets the mask the process had here.
/// A host calls it first thing in `main`, before it starts any thread
/// (`wali-run` does).
pub fn reserve_signals_for_guests() {
    let mut all: u64 = !engine_mask();
    let mut old: u64 = 0;
    // SAFETY: host u64 sets, for this thread only.
    let _ = unsafe {
        syscall4(
            SYS_rt_sigprocmask,
            SIG_BLOCK as usize,
            p(&mut all as *mut u64),
            p(&mut old as *mut u64),
            8,
        )
    };
    STARTUP_MASK.store(old, Ordering::SeqCst);
    RESERVED.store(true, Ordering::SeqCst);
}

/// Dispositions as the process started, before any runtime code changed
/// them: the Rust runtime ignores SIGPIPE for itself before `main` runs.
/// Bit `n - 1` is set for each signal `n` the parent left ignored.
static STARTUP_IGNORED: AtomicU64 = AtomicU64::new(0);
/// Whether [`STARTUP_IGNORED`] was read (the constructor ran).
static STARTUP_READ: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Reads which signals the process started with ignored, before the Rust
/// runtime's start-up (which ignores SIGPIPE) runs: a constructor in
/// `.init_array`, which the loader calls before `main`.
extern "C" fn read_startup_dispositions() {
    let mut ignored = 0u64;
    for sig in 1..NSIG as i32 {
        // SAFETY: querying a disposition into a zeroed local sigaction.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == SIG_IGN
            {
                ignored |= 1u64 << (sig - 1);
            }
        }
    }
    STARTUP_IGNORED.store(ignored, Ordering::SeqCst);
    STARTUP_READ.store(true, Ordering::SeqCst);
}

#[used]
#[link_section = ".init_array"]
static READ_STARTUP: extern "C" fn() = read_startup_dispositions;

/// Once per host process, before the first guest runs: gives back the
/// dispositions the process started with where the host runtime changed
/// them for itself (SIGPIPE, which the Rust runtime ignores: a guest, and
/// the native programs it runs, start with it at `SIG_DFL` unless the
/// parent ignored it, so `yes | head -1` ends `yes` by SIGPIPE as
/// natively); then records the host's ignored signals in the guest's
/// table, as execve passes ignored signals on.
pub(crate) fn start_dispositions(cx: &WaliCtx) {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !DONE.swap(true, Ordering::SeqCst) && STARTUP_READ.load(Ordering::SeqCst) {
        let pipe_ignored = STARTUP_IGNORED.load(Ordering::SeqCst) & (1 << (SIGPIPE - 1)) != 0;
        let _ = host_disposition(SIGPIPE, pipe_ignored);
    }
    let mut tab = cx.proc.signals.lock().unwrap_or_else(|e| e.into_inner());
    for sig in 1..NSIG as i32 {
        if engine_owned(sig) || tab.actions[sig as usize] != GuestSigaction::default() {
            continue;
        }
        // SAFETY: querying a disposition into a zeroed local sigaction.
        let ignored = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == SIG_IGN
        };
        if ignored {
            tab.actions[sig as usize].handler = WASM_SIG_IGN;
        }
    }
}

extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _uctx: *mut libc::c_void) {
    if !(1..65).contains(&sig) {
        return;
    }
    if !info.is_null() {
        // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
        let i = unsafe { &*info };
        INFO[sig as usize][0].store(i.si_code, Ordering::Relaxed);
        // SAFETY: reading the pid/uid union members the kernel filled for
        // user-sent signals (zero otherwise).
        unsafe {
            INFO[sig as usize][1].store(i.si_pid(), Ordering::Relaxed);
            INFO[sig as usize][2].store(i.si_uid() as i32, Ordering::Relaxed);
        }
    }
    let bit = 1u64 << (sig - 1);
    // Thread-locals with const initialisers and no destructor are plain
    // thread-local memory: safe to touch in a signal handler.
    if TL_GUEST.try_with(|g| g.get()).unwrap_or(false) {
        TL_PENDING.with(|p| p.fetch_or(bit, Ordering::SeqCst));
    } else {
        PENDING.fetch_or(bit, Ordering::SeqCst);
    }
    interrupt_guests();
}

/// Makes every computing guest thread of the process reach a safe point
/// soon (the adapters' interrupt hooks). Async-signal-safe.
pub fn interrupt_guests() {
    for slot in &INTERRUPT {
        let f = slot.load(Ordering::SeqCst);
        if f != 0 {
            // SAFETY: only `fn()` values are stored by `set_interrupt_hook`.
            let f: fn() = unsafe { std::mem::transmute::<usize, fn()>(f) };
            f();
        }
    }
}

/// Installs the native handler for `sig` with the guest's restart flags.
fn host_catch(sig: i32, flags: u64) -> Result<(), Errno> {
    // SAFETY: a zeroed sigaction is valid; the handler only does atomic
    // operations and calls the async-signal-safe interrupt hook.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO
            | (flags as i32 & (libc::SA_RESTART | libc::SA_NOCLDSTOP | libc::SA_NOCLDWAIT));
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
            return Err(Errno::INVAL);
        }
    }
    Ok(())
}

/// For an `SA_SIGINFO` handler: a `siginfo_t` (signal, code, sender's
/// pid and uid) and a zeroed `ucontext_t` in a scratch page mapped in the
/// guest's memory; returns `(info, ucontext)` addresses, `(0, 0)` when no
/// page could be mapped. [`release_siginfo`] unmaps it after the handler.
pub fn siginfo_frame(cx: &mut WaliCtx, signo: i32) -> (i32, i32) {
    let Ok(a) = super::mmap(cx, 0, 4096, 3, 0x22, -1, 0) else {
        return (0, 0);
    };
    let a = a as u32;
    let [code, pid, uid] = last_info(signo);
    let _ = cx.mem.write::<[i32; 4]>(a, [signo, 0, code, 0]);
    let _ = cx.mem.write::<[i32; 2]>(a + 16, [pid, uid]);
    (a as i32, a as i32 + 512)
}

/// Unmaps the page of a [`siginfo_frame`].
pub fn release_siginfo(cx: &mut WaliCtx, info: i32) {
    if info != 0 {
        let _ = super::munmap(cx, info, 4096);
    }
}

/// The calling thread's signal mask.
fn thread_mask() -> u64 {
    let mut cur: u64 = 0;
    // SAFETY: reading this thread's mask into a host u64.
    let _ = unsafe {
        syscall4(
            SYS_rt_sigprocmask,
            SIG_BLOCK as usize,
            0,
            p(&mut cur as *mut u64),
            8,
        )
    };
    cur
}

/// The next pending signal that has a guest handler: its bit is cleared.
/// A signal the kernel gave to a host thread that runs no guest (it waits
/// in the process-wide set) is taken only by a guest thread that does
/// not block it: until then it stays pending (and `sigpending` shows it).
pub fn take_pending(cx: &WaliCtx) -> Option<(i32, GuestSigaction)> {
    loop {
        let sig = TL_PENDING.with(take_bit).or_else(|| {
            if PENDING.load(Ordering::SeqCst) == 0 {
                return None;
            }
            take_bit_of(&PENDING, !thread_mask())
        })?;
        let act = cx
            .proc
            .signals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .actions[sig as usize];
        if act.handler != WASM_SIG_DFL && act.handler != WASM_SIG_IGN && act.handler != WASM_SIG_ERR
        {
            return Some((sig, act));
        }
    }
}

/// Clears and returns the lowest signal of `set`.
fn take_bit(set: &AtomicU64) -> Option<i32> {
    take_bit_of(set, !0)
}

/// Clears and returns the lowest signal of `set` that is in `allowed`.
fn take_bit_of(set: &AtomicU64, allowed: u64) -> Option<i32> {
    loop {
        let p = set.load(Ordering::SeqCst);
        if p & allowed == 0 {
            return None;
        }
        let sig = (p & allowed).trailing_zeros() as i32 + 1;
        if set
            .compare_exchange(
                p,
                p & !(1u64 << (sig - 1)),
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
        {
            return Some(sig);
        }
    }
}

/// `si_code`, `si_pid`, `si_uid` of the last `sig` caught.
pub fn last_info(sig: i32) -> [i32; 3] {
    let i = &INFO[sig.clamp(0, 64) as usize];
    [
        i[0].load(Ordering::Relaxed),
        i[1].load(Ordering::Relaxed),
        i[2].load(Ordering::Relaxed),
    ]
}

/// Before running the guest handler for `sig`: blocks the handler's mask
/// (and the signal unless SA_NODEFER), applies SA_RESETHAND; returns the
/// mask to restore afterwards.
pub fn enter_handler(cx: &WaliCtx, sig: i32, act: &GuestSigaction) -> u64 {
    const SA_NODEFER: u64 = 0x4000_0000;
    const SA_RESETHAND: u64 = 0x8000_0000;
    let mut block = act.mask;
    if act.flags & SA_NODEFER == 0 {
        block |= 1u64 << (sig - 1);
    }
    block &= !engine_mask();
    let mut old: u64 = 0;
    // SAFETY: host u64 sets.
    let _ = unsafe {
        syscall4(
            SYS_rt_sigprocmask,
            SIG_BLOCK as usize,
            p(&block),
            p(&mut old as *mut u64),
            8,
        )
    };
    if act.flags & SA_RESETHAND != 0 {
        cx.proc
            .signals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .actions[sig as usize] = GuestSigaction::default();
        let _ = host_disposition(sig, false);
    }
    old
}

/// After the guest handler returned (or jumped out): restores the mask.
pub fn leave_handler(old: u64) {
    // SAFETY: host u64 set.
    let _ = unsafe { syscall4(SYS_rt_sigprocmask, SIG_SETMASK as usize, p(&old), 0, 8) };
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
    let parked = PENDING.load(Ordering::SeqCst) & thread_mask();
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
