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

/// Runs `f` with every signal but the engine's trap signals blocked on the
/// calling thread, whose own mask is back afterwards: the host threads `f`
/// starts (a compiler's pool) inherit that mask and leave the process's
/// asynchronous signals to its guest threads.
pub fn without_guest_signals<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(u64);
    impl Drop for Restore {
        fn drop(&mut self) {
            super::thread_sigmask(SIG_SETMASK, Some(self.0));
        }
    }
    let _restore = Restore(super::thread_sigmask(SIG_BLOCK, Some(!engine_mask())));
    f()
}

/// Makes rayon's global thread pool, on which the engines compile in
/// parallel, unless it exists: its threads start inside
/// [`without_guest_signals`]. The adapters call it before they compile,
/// so a process that only loads cached code starts no pool (its threads
/// would compete with the guest for the CPU while it starts).
pub fn start_compile_pool() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        without_guest_signals(|| {
            // An error: the pool exists already (the embedder made it).
            let _ = rayon::ThreadPoolBuilder::new().build_global();
        })
    });
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
        } else {
            // an init's stand-in for the default action, if asked for
            host_default(sig);
        }
    }
}

/// Set by [`end_init_by_default_actions`].
static INIT_DEFAULTS: AtomicBool = AtomicBool::new(false);

/// For a host process that is the init (PID 1) of a PID namespace, as a
/// container's first process is: the kernel never applies the default
/// action of a signal to an init that has no handler for it, so a guest
/// that leaves SIGTERM at `SIG_DFL` would survive `ctr task kill` (and a
/// pod's termination until its grace period ends). After this call, a
/// signal whose default action ends a process, left at `SIG_DFL` by the
/// guest, ends the process with status 128 + N (the status a container
/// runtime reports for a death by N), as `docker run --init` gives a native
/// program. Process-wide; a guest's own handlers and `SIG_IGN` are
/// unchanged, and a forked child (not PID 1) dies of the signal itself.
/// Call it before the guest's context is built (the containerd shim does).
pub fn end_init_by_default_actions() {
    INIT_DEFAULTS.store(true, Ordering::SeqCst);
}

/// Whether the default action of `sig` ends the process (Term or Core).
fn ends_process(sig: i32) -> bool {
    use libc::*;
    matches!(
        sig,
        SIGHUP
            | SIGINT
            | SIGQUIT
            | SIGABRT
            | SIGUSR1
            | SIGUSR2
            | SIGPIPE
            | SIGALRM
            | SIGTERM
            | SIGSTKFLT
            | SIGXCPU
            | SIGXFSZ
            | SIGVTALRM
            | SIGPROF
            | SIGIO
            | SIGPWR
            | SIGSYS
    ) || (SIGRTMIN()..=SIGRTMAX()).contains(&sig)
}

/// The host handler that stands for `SIG_DFL` in an init (see
/// [`end_init_by_default_actions`]).
extern "C" fn init_default_action(sig: libc::c_int) {
    // SAFETY: getpid, _exit, signal and raise are async-signal-safe.
    unsafe {
        if libc::getpid() == 1 {
            libc::_exit(128 + sig);
        }
        // Not an init (a forked child inherited the handler): the real
        // default action, once the handler returns and unblocks `sig`.
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// `SIG_DFL` for `sig` on the host: the kernel's own, or in an init (see
/// [`end_init_by_default_actions`]) a handler that ends the process as the
/// default action would. Whether it installed that handler.
pub(super) fn host_default(sig: i32) -> bool {
    if !INIT_DEFAULTS.load(Ordering::SeqCst) || !ends_process(sig) {
        return false;
    }
    // SAFETY: a zeroed sigaction is valid; the handler is async-signal-safe
    // (init_default_action).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = init_default_action as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut()) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask() -> u64 {
        super::super::thread_sigmask(SIG_BLOCK, None)
    }

    #[test]
    fn threads_started_without_guest_signals_leave_them_to_the_guest() {
        std::thread::spawn(|| {
            let before = mask();
            assert_eq!(before & (1u64 << (33 - 1)), 0);
            let (inner, child) = without_guest_signals(|| {
                let child = std::thread::spawn(mask).join().unwrap();
                (mask(), child)
            });
            let usr1 = 1u64 << (libc::SIGUSR1 - 1);
            let segv = 1u64 << (libc::SIGSEGV - 1);
            // glibc's SIGSETXID, which its setuid sends every thread
            let setxid = 1u64 << (33 - 1);
            // inside: blocked on the caller and in the thread it starts,
            // but for the trap signals the engines need and the C
            // library's own
            assert!(inner & usr1 != 0 && child & usr1 != 0);
            assert!(inner & segv == 0 && child & segv == 0);
            assert!(inner & setxid == 0 && child & setxid == 0);
            // after: the caller's own mask again
            assert_eq!(mask(), before);
        })
        .join()
        .unwrap();
    }
}
