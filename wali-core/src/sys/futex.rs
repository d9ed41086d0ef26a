//! Futexes on guest addresses: private ones wait where wasm's
//! `memory.atomic.wait` waits (so the two wake each other), shared ones in
//! the kernel.

use crate::raw::{p, syscall3, syscall6, zx};
use crate::{Errno, SysResult, WaliCtx};
use libc::*;
use rustix::time::ClockId;
use wali_spec::layout;

/// `futex(uaddr, futex_op, val, timeout, uaddr2, val3)` on guest addresses.
pub fn futex(
    cx: &mut WaliCtx,
    uaddr: i32,
    futex_op: i32,
    val: i32,
    timeout: i32,
    uaddr2: i32,
    val3: i32,
) -> SysResult {
    const WAIT: i32 = 0;
    const WAKE: i32 = 1;
    const REQUEUE: i32 = 3;
    const CMP_REQUEUE: i32 = 4;
    const WAKE_OP: i32 = 5;
    const WAIT_BITSET: i32 = 9;
    const WAKE_BITSET: i32 = 10;
    const LOCK_PI: i32 = 6;
    const UNLOCK_PI: i32 = 7;
    const TRYLOCK_PI: i32 = 8;
    const WAIT_REQUEUE_PI: i32 = 11;
    const CMP_REQUEUE_PI: i32 = 12;
    const LOCK_PI2: i32 = 13;
    let cmd = futex_op & 0x7f;
    if uaddr as u32 % 4 != 0 {
        return Err(Errno::INVAL.into());
    }
    let u = cx.mem.buf(uaddr as u32, 4)?;
    // Private futexes (threads of this process) wait where wasm's
    // memory.atomic.wait waits, so the two wake each other.
    const PRIVATE: i32 = 128;
    if futex_op & PRIVATE != 0 {
        if let Some(r) = private_futex(cx, cmd, futex_op, uaddr as u32, val, timeout as u32, val3)?
        {
            return Ok(r);
        }
    }
    let (arg4, u2) = match cmd {
        WAIT | WAIT_BITSET => (
            p(cx.mem.buf_opt(timeout as u32, layout::timespec::SIZE)?),
            std::ptr::null_mut(),
        ),
        WAKE | WAKE_BITSET => (0, std::ptr::null_mut()),
        REQUEUE | CMP_REQUEUE | WAKE_OP | CMP_REQUEUE_PI => {
            if uaddr2 as u32 % 4 != 0 {
                return Err(Errno::INVAL.into());
            }
            (zx(timeout), cx.mem.buf(uaddr2 as u32, 4)?)
        }
        // Priority inheritance: the kernel's, on the guest's words (the
        // owner's tid in them is the host thread's, which is the guest's).
        LOCK_PI | LOCK_PI2 => (
            p(cx.mem.buf_opt(timeout as u32, layout::timespec::SIZE)?),
            std::ptr::null_mut(),
        ),
        UNLOCK_PI | TRYLOCK_PI => (0, std::ptr::null_mut()),
        WAIT_REQUEUE_PI => {
            if uaddr2 as u32 % 4 != 0 {
                return Err(Errno::INVAL.into());
            }
            (
                p(cx.mem.buf_opt(timeout as u32, layout::timespec::SIZE)?),
                cx.mem.buf(uaddr2 as u32, 4)?,
            )
        }
        _ => return Err(Errno::NOSYS.into()),
    };
    // SAFETY: `u` (and `u2`) are aligned guest words; arg4 is a checked
    // timespec or an integer, per the command.
    let r = unsafe {
        syscall6(
            SYS_futex,
            p(u),
            zx(futex_op),
            zx(val),
            arg4,
            p(u2),
            zx(val3),
        )
    }?;
    if cmd == WAKE || cmd == WAKE_BITSET {
        // Threads waiting with wasm's memory.atomic.wait on the same word
        // wait in the engine, not in the kernel: wake them too.
        let left = (val as u32).saturating_sub(r as u32);
        if left > 0 {
            if let Some(m) = cx.mem.source() {
                return Ok(r + m.atomic_notify(uaddr as u32, left) as i64);
            }
        }
    }
    Ok(r)
}

/// Private futex wakes (and thread-exit tid wakes) the process made, per
/// bucket of word addresses: a waiter whose word changed without a wake
/// keeps waiting, and ends on a wake of its bucket made since it began.
static PRIVATE_WAKES: [std::sync::atomic::AtomicU64; 256] =
    [const { std::sync::atomic::AtomicU64::new(0) }; 256];

fn wake_bucket(uaddr: u32) -> &'static std::sync::atomic::AtomicU64 {
    &PRIVATE_WAKES[(uaddr as usize >> 2) % PRIVATE_WAKES.len()]
}

fn private_wakes(uaddr: u32) -> u64 {
    wake_bucket(uaddr).load(std::sync::atomic::Ordering::SeqCst)
}

/// Counts a wake of the private futex waiters on `uaddr` (before the
/// engine's notify).
pub(crate) fn note_private_wake(uaddr: u32) {
    wake_bucket(uaddr).fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// Private futex operations on the engine's waiters (see `futex`);
/// `None` when this one goes to the kernel.
fn private_futex(
    cx: &WaliCtx,
    cmd: i32,
    op: i32,
    uaddr: u32,
    val: i32,
    timeout: u32,
    val3: i32,
) -> Result<Option<i64>, crate::Ctrl> {
    use crate::memory::WaitResult;
    use std::time::{Duration, Instant};
    let Some(mem) = cx.mem.source().cloned() else {
        return Ok(None);
    };
    match cmd {
        0 | 9 if cmd == 0 || val3 == -1 => {
            // WAIT: relative timeout; WAIT_BITSET (any bit): absolute.
            let deadline = if timeout == 0 {
                None
            } else {
                let [sec, nsec]: [i64; 2] = cx.mem.read(timeout)?;
                if !(0..1_000_000_000).contains(&nsec) || sec < 0 {
                    return Err(Errno::INVAL.into());
                }
                let mut d = Duration::new(sec as u64, nsec as u32);
                if cmd == 9 {
                    let clock = if op & 256 != 0 {
                        ClockId::Realtime
                    } else {
                        ClockId::Monotonic
                    };
                    let now = rustix::time::clock_gettime(clock);
                    let now = Duration::new(now.tv_sec as u64, now.tv_nsec as u32);
                    d = d.saturating_sub(now);
                }
                Some(Instant::now() + d)
            };
            // Linux compares the word once, then sleeps until a wake, a
            // signal or the timeout, whatever is stored meanwhile: later
            // slices wait on the value the word holds then, and end on a
            // private wake of the word made since the wait began (of a
            // word in the same bucket: a spurious wake-up at worst, which
            // futex users allow for).
            let woken_at_start = private_wakes(uaddr);
            let mut expected = val as u32;
            let mut first = true;
            loop {
                // Short slices, so a signal for this thread interrupts the
                // wait (EINTR) as it interrupts a kernel futex wait.
                let mut slice = Duration::from_millis(10);
                if let Some(dl) = deadline {
                    let left = dl.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Errno::TIMEDOUT.into());
                    }
                    slice = slice.min(left);
                }
                let r = mem.atomic_wait32(uaddr, expected, slice);
                if !first && private_wakes(uaddr) != woken_at_start {
                    return Ok(Some(0));
                }
                match r {
                    None => return Ok(None),
                    Some(WaitResult::Woken) => return Ok(Some(0)),
                    Some(WaitResult::Mismatch) if first => return Err(Errno::AGAIN.into()),
                    Some(WaitResult::Mismatch) => {
                        // changed without a wake: keep sleeping
                        expected = cx.mem.read::<u32>(uaddr)?;
                    }
                    Some(WaitResult::TimedOut) => {
                        // A signal, or the process's end (the safe point
                        // after this call ends the thread).
                        if super::signal::pending() || cx.proc.is_killed() {
                            return Err(Errno::INTR.into());
                        }
                    }
                }
                first = false;
            }
        }
        1 | 10 => {
            // WAKE: the engine's waiters, then any in the kernel.
            note_private_wake(uaddr);
            let n = mem.atomic_notify(uaddr, val.max(0) as u32);
            let h = cx.mem.buf(uaddr, 4)?;
            let left = (val.max(0) as u32).saturating_sub(n) as usize;
            let k = if left > 0 {
                // SAFETY: futex wake on an aligned guest word.
                unsafe { syscall3(SYS_futex, p(h), zx(op), left) }?
            } else {
                0
            };
            Ok(Some(n as i64 + k))
        }
        3 | 4 => {
            // REQUEUE / CMP_REQUEUE: waiters are not moved between words
            // here; waking them all instead is a spurious wakeup, which
            // futex users handle.
            if cmd == 4 {
                let cur: i32 = cx.mem.read(uaddr)?;
                if cur != val3 {
                    return Err(Errno::AGAIN.into());
                }
            }
            note_private_wake(uaddr);
            let n = mem.atomic_notify(uaddr, u32::MAX);
            Ok(Some(n.min(val.max(0) as u32 + timeout) as i64))
        }
        _ => Ok(None),
    }
}

/// The end of a guest thread with a robust futex list (`set_robust_list`),
/// as the kernel does for a native thread: each mutex on the list (and
/// the one whose operation was pending) that the thread still owns gets
/// `FUTEX_OWNER_DIED`, its waiters bit kept, and one waiter is woken, so
/// the next locker sees `EOWNERDEAD`. The list is in guest memory (the
/// kernel cannot walk guest addresses); at most 2048 entries, as Linux.
pub(crate) fn release_robust_list(cx: &mut WaliCtx) {
    use std::sync::atomic::{AtomicU32, Ordering};
    const WAITERS: u32 = 0x8000_0000;
    const OWNER_DIED: u32 = 0x4000_0000;
    const TID_MASK: u32 = 0x3fff_ffff;
    let head = std::mem::take(&mut cx.robust_list);
    if head == 0 {
        return;
    }
    let Ok([first, offset, pending]) = cx.mem.read::<[u32; 3]>(head) else {
        return;
    };
    let tid = cx.tid as u32;
    let release = |cx: &WaliCtx, entry: u32| {
        let word = (entry & !1).wrapping_add(offset);
        let Ok(h) = cx.mem.buf(word, 4) else {
            return;
        };
        if word % 4 != 0 {
            return;
        }
        // SAFETY: an aligned word inside the shared linear memory, which
        // other threads access atomically.
        let a = unsafe { &*(h as *const AtomicU32) };
        let mut cur = a.load(Ordering::SeqCst);
        loop {
            if cur & TID_MASK != tid {
                return;
            }
            match a.compare_exchange(
                cur,
                (cur & WAITERS) | OWNER_DIED,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        // one waiter, wherever it waits: the engine (private futexes) or
        // the kernel (shared ones)
        note_private_wake(word);
        if let Some(m) = cx.mem.source() {
            m.atomic_notify(word, 1);
        }
        // SAFETY: futex wake on an aligned guest word.
        let _ = unsafe { syscall3(SYS_futex, p(h), FUTEX_WAKE as usize, 1) };
    };
    let mut entry = first;
    for _ in 0..2048 {
        if entry & !1 == head || entry == 0 {
            break;
        }
        let Ok(next) = cx.mem.read::<u32>(entry & !1) else {
            break;
        };
        if entry != pending {
            release(cx, entry);
        }
        entry = next;
    }
    if pending != 0 {
        release(cx, pending);
    }
}
