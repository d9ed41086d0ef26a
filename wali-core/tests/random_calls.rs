//! Every syscall of the table called with hostile arguments (pointers at
//! and past the end of memory, huge lengths, bad descriptors, unknown
//! flags) against a context over a scratch memory: no panic, no host
//! memory touched outside the guest's (the guard pages around it would
//! fault), every result a value or -errno.
//!
//! Calls that would change the *test process* (exit, fork, exec, kill,
//! set*id, chroot/chdir/umask, limits, blocking waits, signal state,
//! permissions of real files) are left out: they take no pointer the host
//! reads or writes itself, or are covered by guests run in processes of
//! their own. Memory is zeroed before each call, so every in-bounds path
//! is "" and no real file is named.
//!
//! `cargo test -p wali-core --test random_calls` runs a short seeded run;
//! `-- --ignored` runs 10^6 calls.

use std::sync::Arc;
use wali_core::{Errno, GuestMemory, WaliCtx};

/// 64 KiB of guest memory between two inaccessible guard regions.
struct Guarded {
    base: *mut u8,
    size: usize,
}
unsafe impl Send for Guarded {}
unsafe impl Sync for Guarded {}

const GUARD: usize = 1 << 20;

impl Guarded {
    fn new(size: usize) -> Guarded {
        // SAFETY: a fresh anonymous mapping; only the middle is made accessible.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                size + 2 * GUARD,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            let base = (p as *mut u8).add(GUARD);
            assert_eq!(
                libc::mprotect(base as *mut _, size, libc::PROT_READ | libc::PROT_WRITE),
                0
            );
            Guarded { base, size }
        }
    }
}

impl GuestMemory for Guarded {
    fn base(&self) -> *mut u8 {
        self.base
    }
    fn size(&self) -> usize {
        self.size
    }
    fn max_size(&self) -> usize {
        self.size
    }
    fn grow(&self, _: u64) -> Result<u64, Errno> {
        Err(Errno::NOMEM)
    }
}

const SKIP: &[&str] = &[
    "exit",
    "exit_group",
    "fork",
    "vfork",
    "execve",
    "execveat",
    "kill",
    "tkill",
    "tgkill",
    "pause",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigaction",
    "rt_sigprocmask",
    "sigaltstack",
    "alarm",
    "setitimer",
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setgroups",
    "setsid",
    "setpgid",
    "chroot",
    "chdir",
    "fchdir",
    "umask",
    "setrlimit",
    "prlimit64",
    "sched_setaffinity",
    "sched_setscheduler",
    "setpriority",
    "sync",
    "syncfs",
    "mlockall",
    "nanosleep",
    "clock_nanosleep",
    "select",
    "pselect6",
    "poll",
    "ppoll",
    "epoll_wait",
    "epoll_pwait",
    "futex",
    "chmod",
    "fchmod",
    "fchmodat",
    "chown",
    "fchown",
    "fchownat",
    "lchown",
    "utimes",
    "utimensat",
    "futimesat",
    "prctl",
    "close",
    "close_range",
    "dup2",
    "dup3",
    "ioctl",
    "fcntl",
    "read",
    "readv",
    "pread64",
    "preadv",
    "recvfrom",
    "recvmsg",
    "accept",
    "accept4",
    "wait4",
    "waitid",
    "flock",
    "write",
    "writev",
    "pwrite64",
    "pwritev",
    "sendto",
    "sendmsg",
    "sendfile",
    "shutdown",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn arg(r: &mut Rng, size: u64) -> i64 {
    let ptrs = [
        0,
        1,
        size - 1,
        size,
        size + 1,
        size + 4096,
        0xFFFF_FFFF,
        0xFFFF_FFF0,
        0x8000_0000,
    ];
    match r.next() % 6 {
        0 => ptrs[(r.next() % ptrs.len() as u64) as usize] as i64,
        1 => (r.next() % size) as i64,
        2 => -1,
        3 => [0i64, 1, 2, 0x7FFF_FFFF, 0xFFFF_FFFF, -100][(r.next() % 6) as usize],
        4 => r.next() as i32 as i64,
        _ => r.next() as i64,
    }
}

fn run(calls: u64, seed: u64) {
    let mem = Arc::new(Guarded::new(64 << 10));
    let mut cx = WaliCtx::builder().arg("fuzz").build().unwrap();
    cx.set_memory(mem.clone());
    let specs: Vec<&wali_spec::SyscallSpec> = wali_spec::SYSCALLS
        .iter()
        .filter(|s| !SKIP.contains(&s.name))
        .collect();
    let mut r = Rng(seed | 1);
    let size = mem.size as u64;
    // Descriptors the calls may use: a scratch pipe, beside -1 and garbage.
    let base = wali_core::sys::open_fds().into_iter().max().unwrap_or(2) as i64 + 2;
    let mut p = [0i32; 2];
    // SAFETY: pipe writes two ints into `p`.
    assert_eq!(
        unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) },
        0
    );
    for i in 0..calls {
        let spec = specs[(r.next() % specs.len() as u64) as usize];
        let name = spec.name;
        let f = wali_core::sys::raw(name).unwrap();
        let mut args = [0i64; 6];
        for (k, a) in args.iter_mut().enumerate() {
            *a = arg(&mut r, size);
            // Descriptors: never one the test process had before (its
            // stdio may be CI's log file): -1, the scratch pipe, one the
            // calls themselves opened, or one that is not open.
            let is_fd = spec.param_names.get(k).is_some_and(|n| n.ends_with("fd"));
            if is_fd {
                *a = match r.next() % 4 {
                    0 => -1,
                    1 => p[(i % 2) as usize] as i64,
                    2 => base + 1 + (r.next() % 64) as i64,
                    _ => 100_000 + (r.next() % 100) as i64,
                };
            }
        }
        // SAFETY: zeroing the guest memory we own.
        unsafe { std::ptr::write_bytes(mem.base, 0, mem.size) };
        match f(&mut cx, &args) {
            Ok(v) => assert!(v >= -4095, "{name}{args:?} = {v}"),
            Err(wali_core::Ctrl::Errno(_)) => {}
            Err(e) => panic!("{name}{args:?}: {e}"),
        }
        let e = wali_core::encode(f(&mut cx, &[-1; 6]));
        assert!(matches!(e, Ok(v) if v >= -4095), "{name}(-1...) = {e:?}");
    }
}

#[test]
fn seeded_hostile_calls() {
    run(20_000, 0x5eed);
}

#[test]
#[ignore]
fn million_hostile_calls() {
    run(1_000_000, 0x9e3779b97f4a7c15);
}
