//! The close-on-exec sweep of a wasm exec (`sys::close_cloexec_fds`)
//! closes what the guest opened with `O_CLOEXEC` and leaves the host's own
//! descriptors alone: those it was told to keep, and those reserved with
//! `hostfd` (as the guest's `close` and `dup2` do). Run in a forked child:
//! the sweep closes every close-on-exec descriptor of its process.

use rustix::fd::AsRawFd;

fn cloexec_memfd() -> rustix::fd::OwnedFd {
    rustix::fs::memfd_create("t", rustix::fs::MemfdFlags::CLOEXEC).unwrap()
}

fn is_open(fd: i32) -> bool {
    // SAFETY: F_GETFD on a descriptor number touches no memory.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

#[test]
fn the_exec_sweep_keeps_reserved_and_kept_descriptors() {
    let guests = cloexec_memfd();
    let kept = cloexec_memfd();
    let reserved = cloexec_memfd();
    wali_core::hostfd::reserve(rustix::fd::AsFd::as_fd(&reserved));
    let (g, k, r) = (guests.as_raw_fd(), kept.as_raw_fd(), reserved.as_raw_fd());
    // SAFETY: the child only makes the calls below and `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        wali_core::sys::close_cloexec_fds(&[k]);
        let code = (!is_open(g)) as i32 | (is_open(k) as i32) << 1 | (is_open(r) as i32) << 2;
        // SAFETY: ends the child without running the test harness's code.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status));
    assert_eq!(
        libc::WEXITSTATUS(status),
        0b111,
        "bit 0: the guest's closed, 1: the kept one open, 2: the reserved one open"
    );
}
