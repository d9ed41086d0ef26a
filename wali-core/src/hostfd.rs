//! Descriptors the host keeps for itself while guests run (the memfd
//! that carries the environment, the file a compiled module is mapped
//! from, ...). Guests share the host process's descriptor table, so a
//! guest's `close`, `close_range` (a daemon's `closefrom(3)`), `dup2` or
//! `dup3` could otherwise close one under the host, which would then
//! close (or use) whatever the guest opened under the same number. Those
//! calls leave reserved descriptors alone, as if they belonged to another
//! process.
//!
//! A reservation names the descriptor and the file it refers to (device
//! and inode): once the host closes it and the number is reused for
//! another file, the reservation lapses by itself.

use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};

/// Where the host puts the descriptors it keeps (`F_DUPFD_CLOEXEC` from
/// here): above the numbers programs open first or `dup2` onto by habit.
pub const HIGH: i32 = 100;

const SLOTS: usize = 16;
static FD: [AtomicI32; SLOTS] = [const { AtomicI32::new(-1) }; SLOTS];
static DEV: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static INO: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
/// How many slots are in use: the syscall path checks this one word first.
static COUNT: AtomicUsize = AtomicUsize::new(0);

fn identity(fd: BorrowedFd<'_>) -> Option<(u64, u64)> {
    let st = rustix::fs::fstat(fd).ok()?;
    Some((st.st_dev, st.st_ino))
}

/// Reserves `fd` for the host as long as it refers to the file it refers
/// to now (all slots taken: it stays an ordinary descriptor).
pub fn reserve(fd: BorrowedFd<'_>) {
    let Some((dev, ino)) = identity(fd) else {
        return;
    };
    let raw = fd.as_raw_fd();
    for round in 0..2 {
        for k in 0..SLOTS {
            // claim the slot with a placeholder, then fill it in
            if FD[k]
                .compare_exchange(-1, -2, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                DEV[k].store(dev, Ordering::Relaxed);
                INO[k].store(ino, Ordering::Relaxed);
                FD[k].store(raw, Ordering::Release);
                COUNT.fetch_add(1, Ordering::Release);
                return;
            }
        }
        if round == 0 {
            // all taken: free the ones that lapsed (closed, or reused for
            // another file), then try once more
            for slot in &FD {
                let fd = slot.load(Ordering::Acquire);
                if fd >= 0 {
                    check(fd);
                }
            }
        }
    }
}

fn release_slot(k: usize, fd: i32) {
    if FD[k]
        .compare_exchange(fd, -1, Ordering::AcqRel, Ordering::Relaxed)
        .is_ok()
    {
        COUNT.fetch_sub(1, Ordering::Release);
    }
}

/// Ends the reservation of `fd`.
pub fn release(fd: i32) {
    for k in 0..SLOTS {
        release_slot(k, fd);
    }
}

/// `fd` moved to `HIGH` or above (close-on-exec), where programs do not
/// expect their own descriptors; `fd` itself where that fails (a low
/// `RLIMIT_NOFILE`).
pub fn lift(fd: OwnedFd) -> OwnedFd {
    rustix::io::fcntl_dupfd_cloexec(&fd, HIGH).unwrap_or(fd)
}

/// A descriptor the host owns, out of the guest's reach while it lives.
#[derive(Debug)]
pub struct HostFd(OwnedFd);

impl HostFd {
    /// Takes `fd` and reserves it.
    pub fn new(fd: OwnedFd) -> HostFd {
        reserve(fd.as_fd());
        HostFd(fd)
    }
}

impl AsRawFd for HostFd {
    fn as_raw_fd(&self) -> i32 {
        self.0.as_raw_fd()
    }
}

impl Drop for HostFd {
    fn drop(&mut self) {
        release(self.0.as_raw_fd());
    }
}

/// Whether `fd` is reserved by the host (and still refers to the file it
/// was reserved with; a lapsed reservation is dropped here).
#[inline]
pub fn is_reserved(fd: i32) -> bool {
    fd >= 0 && COUNT.load(Ordering::Acquire) != 0 && check(fd)
}

#[cold]
fn check(fd: i32) -> bool {
    for k in 0..SLOTS {
        if FD[k].load(Ordering::Acquire) == fd {
            // SAFETY: only inspected with fstat; a closed number gives EBADF.
            let b = unsafe { BorrowedFd::borrow_raw(fd) };
            if identity(b)
                == Some((
                    DEV[k].load(Ordering::Relaxed),
                    INO[k].load(Ordering::Relaxed),
                ))
            {
                return true;
            }
            release_slot(k, fd);
        }
    }
    false
}

/// The reserved descriptors in `first..=last`, ascending.
pub(crate) fn reserved_in(first: u32, last: u32) -> Vec<u32> {
    if COUNT.load(Ordering::Acquire) == 0 {
        return Vec::new();
    }
    let mut v: Vec<u32> = FD
        .iter()
        .map(|s| s.load(Ordering::Acquire))
        .filter(|&fd| fd >= 0 && (first..=last).contains(&(fd as u32)) && check(fd))
        .map(|fd| fd as u32)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// These tests check that a number is not reserved once its file is
    /// closed; run side by side, another one's new file can get the number
    /// and reserve it.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[test]
    fn reserved_while_held() {
        let _one = serial();
        let fd = rustix::fs::memfd_create("t", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        let raw = fd.as_raw_fd();
        let h = HostFd::new(fd);
        assert!(is_reserved(raw));
        assert!(!is_reserved(-1), "an empty slot is not descriptor -1");
        assert!(reserved_in(0, u32::MAX).contains(&(raw as u32)));
        assert!(!reserved_in(raw as u32 + 1, u32::MAX).contains(&(raw as u32)));
        drop(h);
        assert!(!is_reserved(raw));
    }

    #[test]
    fn lapsed_reservations_make_room() {
        let _one = serial();
        // more reservations than slots, each closed before the next (as
        // modules loaded one after another by wasm execs): all get a slot
        for _ in 0..3 * SLOTS {
            let f = rustix::fs::memfd_create("r", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
            let raw = f.as_raw_fd();
            reserve(f.as_fd());
            assert!(is_reserved(raw));
            drop(f);
        }
    }

    #[test]
    fn a_reservation_lapses_when_the_number_is_reused() {
        let _one = serial();
        let a = rustix::fs::memfd_create("a", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        let raw = a.as_raw_fd();
        reserve(a.as_fd());
        assert!(is_reserved(raw));
        // the host closes it without releasing (a library's own file)
        drop(a);
        assert!(!is_reserved(raw), "closed: no longer the reserved file");
        let b = rustix::fs::memfd_create("b", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        reserve(b.as_fd());
        drop(b);
        let c = rustix::fs::memfd_create("c", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        // `c` may get the same number: it is another file, not reserved
        assert!(!is_reserved(c.as_raw_fd()));
    }
}
