//! The signal state a guest starts with: the process's startup mask and
//! dispositions, as a native program started by the same parent has them,
//! whatever the host runtime did for itself.

use super::deliver::TL_GUEST;
use super::{engine_mask, engine_owned, host_disposition, GuestSigaction};
use crate::WaliCtx;
use libc::{SIGPIPE, SIG_BLOCK, SIG_IGN, SIG_SETMASK};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use wali_spec::consts::{NSIG, WASM_SIG_IGN};

/// Marks the calling host thread as running a guest: signals the kernel
/// gives to it are delivered to this guest thread only (another host
/// thread's signals go to whichever guest thread reaches a safe point).
/// The first guest thread of a host process that called
/// [`reserve_signals_for_guests`] gets the signal mask the process
/// started with (later ones, and programs exec'd in place, keep the mask
/// they inherited, as on Linux).
pub fn mark_guest_thread() {
    TL_GUEST.with(|g| g.set(true));
    restore_startup_mask();
}

static STARTUP_MASK: AtomicU64 = AtomicU64::new(0);
/// Set by [`reserve_signals_for_guests`] until the first guest thread
/// takes the startup mask.
static RESERVED: AtomicBool = AtomicBool::new(false);

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
    let old = super::thread_sigmask(SIG_BLOCK, Some(!engine_mask()));
    STARTUP_MASK.store(old, Ordering::SeqCst);
    RESERVED.store(true, Ordering::SeqCst);
}

/// Gives the calling thread the mask the process had when
/// [`reserve_signals_for_guests`] ran (a host's thread that will run the
/// guest calls it once the pools that must not take the guest's signals
/// exist, so a signal during the module's compilation still acts at once).
pub fn restore_startup_mask() {
    if RESERVED.swap(false, Ordering::SeqCst) {
        super::thread_sigmask(SIG_SETMASK, Some(STARTUP_MASK.load(Ordering::SeqCst)));
    }
}

/// Dispositions as the process started, before any runtime code changed
/// them: the Rust runtime ignores SIGPIPE for itself before `main` runs.
/// Bit `n - 1` is set for each signal `n` the parent left ignored.
static STARTUP_IGNORED: AtomicU64 = AtomicU64::new(0);
/// Whether [`STARTUP_IGNORED`] was read (the constructor ran).
static STARTUP_READ: AtomicBool = AtomicBool::new(false);

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
    static DONE: AtomicBool = AtomicBool::new(false);
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
