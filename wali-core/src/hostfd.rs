//! Descriptors the host keeps for itself while guests run (the memfd
//! that carries the environment, ...). Guests share the host process's
//! descriptor table, so a guest's `close`, `close_range` (a daemon's
//! `closefrom(3)`), `dup2` or `dup3` could otherwise close one under the
//! host, which would then close (or use) whatever the guest opened under
//! the same number. Those calls leave reserved descriptors alone, as if
//! they belonged to another process.

use rustix::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

const SLOTS: usize = 16;
static RESERVED: [AtomicI32; SLOTS] = [const { AtomicI32::new(-1) }; SLOTS];
/// How many slots are in use: the syscall path checks this one word first.
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// A descriptor the host owns, out of the guest's reach while it lives.
#[derive(Debug)]
pub struct HostFd(OwnedFd);

impl HostFd {
    /// Reserves `fd` (all slots taken: it stays an ordinary descriptor).
    pub fn new(fd: OwnedFd) -> HostFd {
        let raw = fd.as_raw_fd();
        for s in &RESERVED {
            if s.compare_exchange(-1, raw, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                COUNT.fetch_add(1, Ordering::Release);
                break;
            }
        }
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
        let raw = self.0.as_raw_fd();
        for s in &RESERVED {
            if s.compare_exchange(raw, -1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                COUNT.fetch_sub(1, Ordering::Release);
                break;
            }
        }
    }
}

/// Whether `fd` is reserved by the host.
#[inline]
pub fn is_reserved(fd: i32) -> bool {
    fd >= 0
        && COUNT.load(Ordering::Acquire) != 0
        && RESERVED.iter().any(|s| s.load(Ordering::Acquire) == fd)
}

/// The reserved descriptors in `first..=last`, ascending.
pub(crate) fn reserved_in(first: u32, last: u32) -> Vec<u32> {
    if COUNT.load(Ordering::Acquire) == 0 {
        return Vec::new();
    }
    let mut v: Vec<u32> = RESERVED
        .iter()
        .map(|s| s.load(Ordering::Acquire))
        .filter(|&fd| fd >= 0 && (first..=last).contains(&(fd as u32)))
        .map(|fd| fd as u32)
        .collect();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_while_held() {
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
}
