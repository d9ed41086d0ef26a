//! What the native handler records and what a safe point delivers.
//!
//! The native handler (installed for every signal a guest handles) runs
//! on whichever host thread the kernel chose. On a guest thread it records
//! the signal for that thread; on any other host thread, in a
//! process-wide set that only a guest thread not blocking the signal
//! takes. Standard signals coalesce (one pending instance, its first
//! `siginfo`); real-time signals (32 and up) queue every instance with its
//! own `siginfo` (the sender, `sigqueue`'s value) and are delivered in
//! order, lowest signal first, as Linux does.

use super::{engine_mask, GuestSigaction};
use crate::WaliCtx;
use libc::{SIG_BLOCK, SIG_SETMASK};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use wali_spec::consts::{WASM_SIG_DFL, WASM_SIG_ERR, WASM_SIG_IGN};

/// The `siginfo_t` fields a guest handler sees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: i32,
    pub code: i32,
    pub pid: i32,
    pub uid: i32,
    /// `si_value` (`sigqueue`'s value, a timer's), as an int.
    pub value: i32,
}

/// One queued instance of a real-time signal.
struct Slot {
    /// 0 free, 1 being written, 2 ready, 3 being read.
    state: AtomicU8,
    seq: AtomicU64,
    f: [AtomicI32; 5],
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            state: AtomicU8::new(0),
            seq: AtomicU64::new(0),
            f: [const { AtomicI32::new(0) }; 5],
        }
    }
}

const QUEUE: usize = 128;

/// Pending signals of one recipient (a guest thread, or the process):
/// a bit per signal, the first `siginfo` of each standard signal, and a
/// queue of real-time instances. Written by the native handler (atomics
/// only: async-signal-safe), read at safe points.
pub(crate) struct Pending {
    bits: AtomicU64,
    info: [[AtomicI32; 5]; 32],
    slots: [Slot; QUEUE],
    seq: AtomicU64,
}

impl Pending {
    const fn new() -> Pending {
        Pending {
            bits: AtomicU64::new(0),
            info: [const { [const { AtomicI32::new(0) }; 5] }; 32],
            slots: [const { Slot::new() }; QUEUE],
            seq: AtomicU64::new(0),
        }
    }

    /// Records one instance (from the native handler).
    fn record(&self, i: SigInfo) {
        let bit = 1u64 << (i.signo - 1);
        let fields = [i.signo, i.code, i.pid, i.uid, i.value];
        if i.signo >= 32 {
            let seq = self.seq.fetch_add(1, Ordering::SeqCst);
            // A full queue still leaves the signal pending once.
            if let Some(s) = self.slots.iter().find(|s| {
                s.state
                    .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            }) {
                for (d, v) in s.f.iter().zip(fields) {
                    d.store(v, Ordering::Relaxed);
                }
                s.seq.store(seq, Ordering::Relaxed);
                s.state.store(2, Ordering::Release);
            }
        } else if self.bits.load(Ordering::SeqCst) & bit == 0 {
            // a standard signal keeps the siginfo of its first instance
            for (d, v) in self.info[i.signo as usize].iter().zip(fields) {
                d.store(v, Ordering::Relaxed);
            }
        }
        self.bits.fetch_or(bit, Ordering::SeqCst);
    }

    fn any(&self) -> bool {
        self.bits.load(Ordering::Relaxed) != 0
    }

    /// The lowest pending signal of `allowed`, taken with its siginfo.
    fn take(&self, allowed: u64) -> Option<SigInfo> {
        loop {
            let bits = self.bits.load(Ordering::SeqCst) & allowed;
            if bits == 0 {
                return None;
            }
            let sig = bits.trailing_zeros() as i32 + 1;
            let bit = 1u64 << (sig - 1);
            if sig < 32 {
                if self.bits.fetch_and(!bit, Ordering::SeqCst) & bit == 0 {
                    continue; // another thread took it
                }
                let f = &self.info[sig as usize];
                let v = |k: usize| f[k].load(Ordering::Relaxed);
                return Some(SigInfo {
                    signo: sig,
                    code: v(1),
                    pid: v(2),
                    uid: v(3),
                    value: v(4),
                });
            }
            let got = self.pop(sig);
            if !self.queued(sig) {
                self.bits.fetch_and(!bit, Ordering::SeqCst);
                // an instance queued meanwhile keeps it pending
                if self.queued(sig) {
                    self.bits.fetch_or(bit, Ordering::SeqCst);
                }
            }
            match got {
                Some(i) => return Some(i),
                // the bit without an instance: the queue was full
                None if self.bits.load(Ordering::SeqCst) & bit == 0 => {
                    return Some(SigInfo {
                        signo: sig,
                        ..SigInfo::default()
                    })
                }
                None => continue,
            }
        }
    }

    fn queued(&self, sig: i32) -> bool {
        self.slots
            .iter()
            .any(|s| s.state.load(Ordering::Acquire) == 2 && s.f[0].load(Ordering::Relaxed) == sig)
    }

    /// The oldest queued instance of `sig`.
    fn pop(&self, sig: i32) -> Option<SigInfo> {
        loop {
            let oldest = self
                .slots
                .iter()
                .filter(|s| {
                    s.state.load(Ordering::Acquire) == 2 && s.f[0].load(Ordering::Relaxed) == sig
                })
                .min_by_key(|s| s.seq.load(Ordering::Relaxed))?;
            if oldest
                .state
                .compare_exchange(2, 3, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            let v = |k: usize| oldest.f[k].load(Ordering::Relaxed);
            let i = SigInfo {
                signo: sig,
                code: v(1),
                pid: v(2),
                uid: v(3),
                value: v(4),
            };
            oldest.state.store(0, Ordering::Release);
            return Some(i);
        }
    }
}

/// Signals the kernel gave to host threads that run no guest.
static PROCESS: Pending = Pending::new();

impl Pending {
    fn clear(&self) {
        self.bits.store(0, Ordering::SeqCst);
        for s in &self.slots {
            s.state.store(0, Ordering::SeqCst);
        }
    }
}

/// In a forked child: its set of pending signals starts empty, as on
/// Linux (the parent's stay the parent's).
pub(crate) fn clear_pending_in_child() {
    PROCESS.clear();
    THREAD.with(|p| p.clear());
}

thread_local! {
    /// Signals the kernel gave to this guest thread (thread-directed, or
    /// process-directed and picked for it). A const initialiser and no
    /// destructor: plain thread-local memory, safe in a signal handler.
    static THREAD: Pending = const { Pending::new() };
    /// Whether this host thread runs a guest.
    pub(super) static TL_GUEST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Called by the native handler: how the adapters interrupt a computing
/// guest (one per engine in the process).
static INTERRUPT: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

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

/// Whether a signal waits for delivery to the guest (one relaxed load: the
/// adapters call it on every syscall return).
#[inline]
pub fn pending() -> bool {
    PROCESS.any() || THREAD.with(|p| p.any())
}

pub(super) extern "C" fn on_signal(
    sig: libc::c_int,
    info: *mut libc::siginfo_t,
    _uctx: *mut libc::c_void,
) {
    if !(1..65).contains(&sig) {
        return;
    }
    let mut i = SigInfo {
        signo: sig,
        ..SigInfo::default()
    };
    if !info.is_null() {
        // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers;
        // pid, uid and value are the union members it fills for signals
        // sent by a process or queued (zero otherwise).
        unsafe {
            let k = &*info;
            i.code = k.si_code;
            i.pid = k.si_pid();
            i.uid = k.si_uid() as i32;
            i.value = *(info as *const u8).add(24).cast::<i32>();
        }
    }
    if TL_GUEST.try_with(|g| g.get()).unwrap_or(false) {
        THREAD.with(|p| p.record(i));
    } else {
        PROCESS.record(i);
    }
    interrupt_guests();
}

/// The calling thread's signal mask.
pub(super) fn thread_mask() -> u64 {
    super::thread_sigmask(SIG_BLOCK, None)
}

/// Signals waiting in the process-wide set that `mask` blocks (for
/// `sigpending`).
pub(super) fn parked(mask: u64) -> u64 {
    PROCESS.bits.load(Ordering::SeqCst) & mask
}

/// The next pending signal that has a guest handler, with its siginfo. A
/// signal the kernel gave to a host thread that runs no guest is taken
/// only by a guest thread that does not block it: until then it stays
/// pending (and `sigpending` shows it).
pub fn take_pending(cx: &WaliCtx) -> Option<(SigInfo, GuestSigaction)> {
    loop {
        let info = THREAD.with(|p| p.take(!0)).or_else(|| {
            if !PROCESS.any() {
                return None;
            }
            PROCESS.take(!thread_mask())
        })?;
        let act = cx
            .proc
            .signals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .actions[info.signo as usize];
        if act.handler != WASM_SIG_DFL && act.handler != WASM_SIG_IGN && act.handler != WASM_SIG_ERR
        {
            return Some((info, act));
        }
    }
}

/// For an `SA_SIGINFO` handler: the `siginfo_t` of `info` and a zeroed
/// `ucontext_t` in a scratch page mapped in the guest's memory; returns
/// `(info, ucontext)` addresses, `(0, 0)` when no page could be mapped.
/// [`release_siginfo`] unmaps it after the handler.
pub fn siginfo_frame(cx: &mut WaliCtx, info: &SigInfo) -> (i32, i32) {
    let Ok(a) = crate::sys::mmap(cx, 0, 4096, 3, 0x22, -1, 0) else {
        return (0, 0);
    };
    let a = a as u32;
    let _ = write_siginfo(cx, a, info);
    (a as i32, a as i32 + 512)
}

/// Writes `info` as the guest's `siginfo_t` at `a` (its first 28 bytes:
/// signo, errno, code, then pid, uid and the queued value).
pub(super) fn write_siginfo(cx: &WaliCtx, a: u32, info: &SigInfo) -> Result<(), crate::Errno> {
    cx.mem.buf(a, wali_spec::layout::siginfo::SIZE)?;
    cx.mem.write::<[i32; 4]>(a, [info.signo, 0, info.code, 0])?;
    cx.mem
        .write::<[i32; 3]>(a + 16, [info.pid, info.uid, info.value])
}

/// Moves the signals parked in the process-wide set that `allowed` lets
/// through to the calling guest thread's own pending set, to be delivered
/// at its next safe point (a thread that unblocks them in `sigsuspend`:
/// the kernel, which gave them to a host thread, does not wake it for
/// them); whether any moved.
pub(super) fn unpark(allowed: u64) -> bool {
    let mut moved = false;
    while let Some(i) = PROCESS.take(allowed) {
        THREAD.with(|p| p.record(i));
        moved = true;
    }
    moved
}

/// A signal of `set` parked in the process-wide set, taken (for
/// `sigtimedwait`, which the kernel answers only from its own pending
/// sets).
pub(super) fn take_parked(set: u64) -> Option<SigInfo> {
    PROCESS.take(set)
}

/// Unmaps the page of a [`siginfo_frame`].
pub fn release_siginfo(cx: &mut WaliCtx, info: i32) {
    if info != 0 {
        let _ = crate::sys::munmap(cx, info, 4096);
    }
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
    let old = super::thread_sigmask(SIG_BLOCK, Some(block));
    if act.flags & SA_RESETHAND != 0 {
        cx.proc
            .signals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .actions[sig as usize] = GuestSigaction::default();
        let _ = super::host_disposition(sig, false);
    }
    old
}

/// After the guest handler returned (or jumped out): restores the mask.
pub fn leave_handler(old: u64) {
    super::thread_sigmask(SIG_SETMASK, Some(old));
}
