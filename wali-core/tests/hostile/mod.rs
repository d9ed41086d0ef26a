//! The hostile-call harness shared by `tests/random_calls.rs` (a seeded
//! run in `cargo test`) and the cargo-fuzz target under `fuzz/`: every
//! syscall of the table called with hostile arguments against a context
//! over guest memory that sits between two inaccessible guard regions, so
//! a host access outside the guest's memory faults instead of passing
//! silently.

#![allow(dead_code)]

use std::sync::Arc;
use wali_core::{Errno, GuestMemory, WaliCtx};

/// 64 KiB of guest memory between two inaccessible guard regions.
pub struct Guarded {
    pub base: *mut u8,
    pub size: usize,
}
// SAFETY: the mapping is never unmapped or moved; calls reach it only
// through `Mem`'s checked accessors.
unsafe impl Send for Guarded {}
// SAFETY: as above.
unsafe impl Sync for Guarded {}

const GUARD: usize = 1 << 20;

impl Guarded {
    pub fn new(size: usize) -> Guarded {
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

// SAFETY: the accessible middle of a mapping that is never unmapped, at a
// fixed address, of a fixed size.
unsafe impl GuestMemory for Guarded {
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

pub const SKIP: &[&str] = &[
    "exit",
    "exit_group",
    "fork",
    "vfork",
    "execve",
    "execveat",
    "kill",
    "tkill",
    "tgkill",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    // System V IPC objects are the machine's: random ids and keys would
    // create, remove or block on other programs' queues and segments
    "shmget",
    "shmat",
    "shmctl",
    "shmdt",
    "semget",
    "semop",
    "semtimedop",
    "semctl",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
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
    "accept",
    "accept4",
    "wait4",
    "waitid",
    "flock",
    "sendfile",
    "shutdown",
    // a FIFO made in the scratch directory would block a later open of it,
    // as on Linux: a guest may hang itself, the harness must not
    "mknod",
    "mknodat",
    // real space: a random length on a memfd (RAM) or a scratch file
    // (disk) would exhaust the machine, not the host's checks
    "fallocate",
];

/// Calls that would block, or change a descriptor the process depends on,
/// if given any descriptor: their descriptors are only the scratch pipe
/// and socket pair (non-blocking, put back so after every call), -1, or a
/// number that is not open.
pub const SCRATCH_FDS_ONLY: &[&str] = &[
    "read", "readv", "pread64", "preadv", "recvfrom", "recvmsg", "write", "writev", "pwrite64",
    "pwritev", "sendto", "sendmsg", "fcntl",
];

/// Calls whose descriptor is only the scratch pipe, -1 or one not open
/// (a socket's ioctls reach network devices).
pub const PIPE_ONLY: &[&str] = &["ioctl"];

/// Where the arguments come from: a seeded generator in the test, the
/// fuzzer's input in the fuzz target.
pub trait Source {
    fn next(&mut self) -> u64;
}

/// xorshift64, for the seeded runs.
pub struct Rng(pub u64);
impl Source for Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The fuzzer's bytes, 8 at a time (zeros once they run out).
pub struct Bytes<'a>(pub &'a [u8]);
impl Bytes<'_> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
impl Source for Bytes<'_> {
    fn next(&mut self) -> u64 {
        let n = self.0.len().min(8);
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        u64::from_le_bytes(b)
    }
}

fn arg(r: &mut impl Source, size: u64) -> i64 {
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

/// A context over guarded memory, the calls it may make, and the
/// descriptors they may name.
pub struct Harness {
    pub mem: Arc<Guarded>,
    pub cx: WaliCtx,
    specs: Vec<&'static wali_spec::SyscallSpec>,
    pipe: [i32; 2],
    socks: [i32; 2],
    base: i64,
    /// Bytes of guest memory (from its start) the source may fill before
    /// a call; 0 keeps memory zeroed, so every in-bounds path is "" and no
    /// real file is named. Set it only with a confining policy.
    pub fill: usize,
    pub calls: u64,
}

impl Harness {
    pub fn new(cx: WaliCtx) -> Harness {
        let mem = Arc::new(Guarded::new(64 << 10));
        let mut cx = cx;
        cx.set_memory(mem.clone());
        let specs = wali_spec::SYSCALLS
            .iter()
            .filter(|s| !SKIP.contains(&s.name))
            .collect();
        // Descriptors the calls may use: a scratch pipe and socket pair,
        // beside -1 and garbage, and those the calls open (above `base`).
        let mut pipe = [0i32; 2];
        // SAFETY: pipe2 writes two ints into `pipe`.
        let r = unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) };
        assert_eq!(r, 0);
        let mut socks = [0i32; 2];
        let ty = libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;
        // SAFETY: socketpair writes two ints into `socks`.
        let r = unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, socks.as_mut_ptr()) };
        assert_eq!(r, 0);
        let base = wali_core::sys::open_fds().into_iter().max().unwrap_or(2) as i64 + 2;
        Harness {
            mem,
            cx,
            specs,
            pipe,
            socks,
            base,
            fill: 0,
            calls: 0,
        }
    }

    /// Closes every descriptor the calls opened and starts over with the
    /// fresh context `cx` (the fuzz target does this for each input).
    pub fn reset(&mut self, cx: WaliCtx) {
        // SAFETY: closes only descriptors above those the process had.
        unsafe { libc::syscall(libc::SYS_close_range, self.base as u32 + 1, u32::MAX, 0) };
        self.cx = cx;
        self.cx.set_memory(self.mem.clone());
    }

    /// One syscall with arguments from `r`, then the same syscall with
    /// every argument -1; both must give a value or -errno.
    pub fn call(&mut self, r: &mut impl Source) {
        let spec = self.specs[(r.next() % self.specs.len() as u64) as usize];
        let name = spec.name;
        let f = wali_core::sys::raw(name).unwrap();
        let size = self.mem.size as u64;
        let mut args = [0i64; 6];
        for (k, a) in args.iter_mut().enumerate() {
            *a = arg(r, size);
            // Descriptors: never one the test process had before (its
            // stdio may be CI's log file): -1, the scratch pipe, one the
            // calls themselves opened, or one that is not open.
            let is_fd = spec.param_names.get(k).is_some_and(|n| n.ends_with("fd"));
            if is_fd {
                let scratch = SCRATCH_FDS_ONLY.contains(&name) || PIPE_ONLY.contains(&name);
                *a = match r.next() % 4 {
                    0 => -1,
                    1 => self.pipe[(self.calls % 2) as usize] as i64,
                    2 if PIPE_ONLY.contains(&name) => self.pipe[(r.next() % 2) as usize] as i64,
                    2 if scratch => self.socks[(r.next() % 2) as usize] as i64,
                    2 => self.base + 1 + (r.next() % 64) as i64,
                    _ => 100_000 + (r.next() % 100) as i64,
                };
            }
        }
        self.calls += 1;
        // SAFETY: `mem` is ours: `size` writable bytes at `base`, and no
        // other reference to them exists during this call.
        let m = unsafe { std::slice::from_raw_parts_mut(self.mem.base, self.mem.size) };
        m.fill(0);
        let mut i = 0;
        while i + 8 <= self.fill.min(m.len()) {
            m[i..i + 8].copy_from_slice(&r.next().to_le_bytes());
            i += 8;
        }
        match f(&mut self.cx, &args) {
            Ok(v) => assert!(v >= -4095, "{name}{args:?} = {v}"),
            Err(wali_core::Ctrl::Errno(_)) => {}
            Err(e) => panic!("{name}{args:?}: {e}"),
        }
        self.restore_scratch();
        let e = wali_core::encode(f(&mut self.cx, &[-1; 6]));
        assert!(matches!(e, Ok(v) if v >= -4095), "{name}(-1...) = {e:?}");
    }

    /// Puts the scratch descriptors back as they were made (a call may
    /// have cleared `O_NONBLOCK`, set `O_ASYNC` or `FD_CLOEXEC` off), and
    /// drains what the calls wrote into them, so a later read never
    /// blocks and a write never fills them for good.
    fn restore_scratch(&self) {
        let mut buf = [0u8; 4096];
        for fd in self.pipe.iter().chain(&self.socks) {
            // SAFETY: fcntl and read on descriptors the harness owns, into
            // a local buffer.
            unsafe {
                libc::fcntl(*fd, libc::F_SETFL, libc::O_NONBLOCK);
                libc::fcntl(*fd, libc::F_SETFD, libc::FD_CLOEXEC);
                while libc::read(*fd, buf.as_mut_ptr().cast(), buf.len()) > 0 {}
            }
        }
    }
}
