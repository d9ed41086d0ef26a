//! Syscall tracing, strace-style, through the `tracing` crate (target
//! `wali::syscall`, level TRACE) so an embedder can route it. Off unless
//! [`enable`] was called: the syscall path then pays one relaxed load.

use crate::WaliCtx;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);

/// Turns syscall tracing on or off (process-wide).
pub fn enable(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

/// Whether syscall tracing is on.
#[inline]
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Formats one call as strace would:
/// `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3`.
/// String arguments (`char*` paths) are read from guest memory; flags,
/// commands and errnos are named where Linux names them.
pub fn format_call(cx: &WaliCtx, spec: &wali_spec::SyscallSpec, args: &[i64], ret: i64) -> String {
    let mut s = String::with_capacity(64);
    s.push_str(spec.name);
    s.push('(');
    let mut ctypes = spec.c_params.split(',').map(str::trim);
    for (k, a) in args.iter().enumerate() {
        if k > 0 {
            s.push_str(", ");
        }
        let cty = ctypes.next().unwrap_or("");
        let name = spec.param_names.get(k).copied().unwrap_or("");
        if cty.starts_with("char*")
            && !cty.starts_with("char**")
            && !name.contains("buf")
            && name != "argp"
        {
            match cx.mem.string(*a as u32, 256) {
                Ok(b) => {
                    let _ = write!(s, "{:?}", String::from_utf8_lossy(&b));
                }
                Err(_) => {
                    let _ = write!(s, "{:#x}", *a as u32);
                }
            }
        } else if cty.contains('*') {
            if *a == 0 {
                s.push_str("NULL");
            } else {
                let _ = write!(s, "{:#x}", *a as u32);
            }
        } else if !decode(&mut s, spec.name, name, *a) {
            let _ = write!(s, "{a}");
        }
    }
    s.push_str(") = ");
    if (-4095..0).contains(&ret) {
        match errno_name(-ret as i32) {
            Some(name) => {
                let _ = write!(s, "-1 {name}");
            }
            None => {
                let _ = write!(s, "-1 errno {}", -ret);
            }
        }
    } else if ret > 0xffff && matches!(spec.name, "mmap" | "mremap" | "brk") {
        let _ = write!(s, "{ret:#x}");
    } else {
        let _ = write!(s, "{ret}");
    }
    s
}

/// Writes `a` as the names of the `bits` it has set (`A|B|0x40`); `zero`
/// when none is set.
fn bit_names(s: &mut String, a: u32, bits: &[(u32, &str)], zero: &str) {
    let mut rest = a;
    let mut first = true;
    for &(b, n) in bits {
        if b != 0 && rest & b == b {
            if !first {
                s.push('|');
            }
            s.push_str(n);
            rest &= !b;
            first = false;
        }
    }
    if rest != 0 || first {
        if !first {
            s.push('|');
        }
        if rest == 0 {
            s.push_str(zero);
        } else {
            let _ = write!(s, "{rest:#x}");
        }
    }
}

/// The name `u` has in `names`.
fn name_in(u: u32, names: &[(u32, &'static str)]) -> Option<&'static str> {
    names.iter().find(|(v, _)| *v == u).map(|(_, n)| *n)
}

/// Writes the name `u` has in `names`, or the number.
fn named(s: &mut String, u: u32, names: &[(u32, &'static str)]) {
    match name_in(u, names) {
        Some(n) => s.push_str(n),
        None => {
            let _ = write!(s, "{u}");
        }
    }
}

const OPEN_FLAGS: &[(u32, &str)] = &[
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o4010000, "O_SYNC"),
    (0o10000, "O_DSYNC"),
    (0o20000, "O_ASYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o20200000, "O_TMPFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o20000000, "O_PATH"),
];

const MAP_FLAGS: &[(u32, &str)] = &[
    (0x01, "MAP_SHARED"),
    (0x02, "MAP_PRIVATE"),
    (0x10, "MAP_FIXED"),
    (0x20, "MAP_ANONYMOUS"),
    (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"),
    (0x1000, "MAP_EXECUTABLE"),
    (0x2000, "MAP_LOCKED"),
    (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"),
    (0x10000, "MAP_NONBLOCK"),
    (0x20000, "MAP_STACK"),
    (0x40000, "MAP_HUGETLB"),
    (0x100000, "MAP_FIXED_NOREPLACE"),
];

const PROT_FLAGS: &[(u32, &str)] = &[(1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC")];

const AT_FLAGS: &[(u32, &str)] = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_REMOVEDIR"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
];

const FCNTL_CMDS: &[(u32, &str)] = &[
    (0, "F_DUPFD"),
    (1, "F_GETFD"),
    (2, "F_SETFD"),
    (3, "F_GETFL"),
    (4, "F_SETFL"),
    (5, "F_GETLK"),
    (6, "F_SETLK"),
    (7, "F_SETLKW"),
    (8, "F_SETOWN"),
    (9, "F_GETOWN"),
    (36, "F_OFD_GETLK"),
    (37, "F_OFD_SETLK"),
    (38, "F_OFD_SETLKW"),
    (1024, "F_SETLEASE"),
    (1025, "F_GETLEASE"),
    (1030, "F_DUPFD_CLOEXEC"),
    (1031, "F_SETPIPE_SZ"),
    (1032, "F_GETPIPE_SZ"),
    (1033, "F_ADD_SEALS"),
    (1034, "F_GET_SEALS"),
];

const IOCTL_REQUESTS: &[(u32, &str)] = &[
    (0x5401, "TCGETS"),
    (0x5402, "TCSETS"),
    (0x5403, "TCSETSW"),
    (0x5404, "TCSETSF"),
    (0x540b, "TCFLSH"),
    (0x540e, "TIOCSCTTY"),
    (0x540f, "TIOCGPGRP"),
    (0x5410, "TIOCSPGRP"),
    (0x5413, "TIOCGWINSZ"),
    (0x5414, "TIOCSWINSZ"),
    (0x541b, "FIONREAD"),
    (0x5421, "FIONBIO"),
    (0x5450, "FIONCLEX"),
    (0x5451, "FIOCLEX"),
    (0x5452, "FIOASYNC"),
];

const SIGNALS: [&str; 32] = [
    "0",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// Writes the symbolic form of argument `param` of `call`, if it has one.
fn decode(s: &mut String, call: &str, param: &str, a: i64) -> bool {
    let u = a as u32;
    match (call, param) {
        (_, "dirfd" | "olddirfd" | "newdirfd" | "fd") if a as i32 == -100 => {
            s.push_str("AT_FDCWD");
        }
        ("open" | "openat", "flags") => {
            s.push_str(match u & 3 {
                0 => "O_RDONLY",
                1 => "O_WRONLY",
                2 => "O_RDWR",
                _ => "O_ACCMODE",
            });
            if u & !3 != 0 {
                s.push('|');
                bit_names(s, u & !3, OPEN_FLAGS, "0");
            }
        }
        ("access" | "faccessat" | "faccessat2", "mode") => {
            bit_names(s, u, &[(4, "R_OK"), (2, "W_OK"), (1, "X_OK")], "F_OK")
        }
        ("rt_sigprocmask", "how") => named(
            s,
            u,
            &[(0, "SIG_BLOCK"), (1, "SIG_UNBLOCK"), (2, "SIG_SETMASK")],
        ),
        ("socket" | "socketpair", "domain") => named(
            s,
            u,
            &[
                (0, "AF_UNSPEC"),
                (1, "AF_UNIX"),
                (2, "AF_INET"),
                (10, "AF_INET6"),
                (16, "AF_NETLINK"),
                (17, "AF_PACKET"),
            ],
        ),
        ("socket" | "socketpair", "type_" | "type") => {
            named(
                s,
                u & 0xf,
                &[
                    (1, "SOCK_STREAM"),
                    (2, "SOCK_DGRAM"),
                    (3, "SOCK_RAW"),
                    (5, "SOCK_SEQPACKET"),
                ],
            );
            if u & !0xf != 0 {
                s.push('|');
                bit_names(
                    s,
                    u & !0xf,
                    &[(0o4000, "SOCK_NONBLOCK"), (0o2000000, "SOCK_CLOEXEC")],
                    "0",
                );
            }
        }
        (_, "clockid") => named(
            s,
            u,
            &[
                (0, "CLOCK_REALTIME"),
                (1, "CLOCK_MONOTONIC"),
                (2, "CLOCK_PROCESS_CPUTIME_ID"),
                (3, "CLOCK_THREAD_CPUTIME_ID"),
                (4, "CLOCK_MONOTONIC_RAW"),
                (5, "CLOCK_REALTIME_COARSE"),
                (6, "CLOCK_MONOTONIC_COARSE"),
                (7, "CLOCK_BOOTTIME"),
            ],
        ),
        ("lseek", "whence") => named(
            s,
            u,
            &[
                (0, "SEEK_SET"),
                (1, "SEEK_CUR"),
                (2, "SEEK_END"),
                (3, "SEEK_DATA"),
                (4, "SEEK_HOLE"),
            ],
        ),
        ("shutdown", "how") => named(s, u, &[(0, "SHUT_RD"), (1, "SHUT_WR"), (2, "SHUT_RDWR")]),
        ("epoll_ctl", "op") => named(
            s,
            u,
            &[
                (1, "EPOLL_CTL_ADD"),
                (2, "EPOLL_CTL_DEL"),
                (3, "EPOLL_CTL_MOD"),
            ],
        ),
        ("futex", "futex_op") => {
            named(
                s,
                u & 127,
                &[
                    (0, "FUTEX_WAIT"),
                    (1, "FUTEX_WAKE"),
                    (3, "FUTEX_REQUEUE"),
                    (4, "FUTEX_CMP_REQUEUE"),
                    (5, "FUTEX_WAKE_OP"),
                    (9, "FUTEX_WAIT_BITSET"),
                    (10, "FUTEX_WAKE_BITSET"),
                ],
            );
            if u & !127 != 0 {
                s.push('|');
                bit_names(
                    s,
                    u & !127,
                    &[(128, "FUTEX_PRIVATE_FLAG"), (256, "FUTEX_CLOCK_REALTIME")],
                    "0",
                );
            }
        }
        (_, "mode") => {
            let _ = write!(s, "0{u:o}");
        }
        ("mmap" | "mprotect", "prot") => bit_names(s, u, PROT_FLAGS, "PROT_NONE"),
        ("mmap", "flags") => bit_names(s, u, MAP_FLAGS, "0"),
        ("fcntl", "cmd") => match name_in(u, FCNTL_CMDS) {
            Some(n) => s.push_str(n),
            None => return false,
        },
        // an int (or a pointer) in a 64-bit slot whose high half the C
        // library leaves undefined
        ("fcntl", "arg") => {
            let _ = write!(s, "{}", a as i32);
        }
        ("ioctl", "request") => match name_in(u, IOCTL_REQUESTS) {
            Some(n) => s.push_str(n),
            None => {
                let _ = write!(s, "{u:#x}");
            }
        },
        (_, "sig" | "signum") if u < 32 => s.push_str(SIGNALS[u as usize]),
        (_, "flags") if call.ends_with("at") || call.ends_with("at2") || call == "statx" => {
            bit_names(s, u, AT_FLAGS, "0")
        }
        (_, "flags") => {
            let _ = write!(s, "{u:#x}");
        }
        _ => return false,
    }
    true
}

/// The name of errno `e` (`ENOENT`), as strace prints it.
pub fn errno_name(e: i32) -> Option<&'static str> {
    const NAMES: [&str; 134] = [
        "",
        "EPERM",
        "ENOENT",
        "ESRCH",
        "EINTR",
        "EIO",
        "ENXIO",
        "E2BIG",
        "ENOEXEC",
        "EBADF",
        "ECHILD",
        "EAGAIN",
        "ENOMEM",
        "EACCES",
        "EFAULT",
        "ENOTBLK",
        "EBUSY",
        "EEXIST",
        "EXDEV",
        "ENODEV",
        "ENOTDIR",
        "EISDIR",
        "EINVAL",
        "ENFILE",
        "EMFILE",
        "ENOTTY",
        "ETXTBSY",
        "EFBIG",
        "ENOSPC",
        "ESPIPE",
        "EROFS",
        "EMLINK",
        "EPIPE",
        "EDOM",
        "ERANGE",
        "EDEADLK",
        "ENAMETOOLONG",
        "ENOLCK",
        "ENOSYS",
        "ENOTEMPTY",
        "ELOOP",
        "",
        "ENOMSG",
        "EIDRM",
        "ECHRNG",
        "EL2NSYNC",
        "EL3HLT",
        "EL3RST",
        "ELNRNG",
        "EUNATCH",
        "ENOCSI",
        "EL2HLT",
        "EBADE",
        "EBADR",
        "EXFULL",
        "ENOANO",
        "EBADRQC",
        "EBADSLT",
        "",
        "EBFONT",
        "ENOSTR",
        "ENODATA",
        "ETIME",
        "ENOSR",
        "ENONET",
        "ENOPKG",
        "EREMOTE",
        "ENOLINK",
        "EADV",
        "ESRMNT",
        "ECOMM",
        "EPROTO",
        "EMULTIHOP",
        "EDOTDOT",
        "EBADMSG",
        "EOVERFLOW",
        "ENOTUNIQ",
        "EBADFD",
        "EREMCHG",
        "ELIBACC",
        "ELIBBAD",
        "ELIBSCN",
        "ELIBMAX",
        "ELIBEXEC",
        "EILSEQ",
        "ERESTART",
        "ESTRPIPE",
        "EUSERS",
        "ENOTSOCK",
        "EDESTADDRREQ",
        "EMSGSIZE",
        "EPROTOTYPE",
        "ENOPROTOOPT",
        "EPROTONOSUPPORT",
        "ESOCKTNOSUPPORT",
        "EOPNOTSUPP",
        "EPFNOSUPPORT",
        "EAFNOSUPPORT",
        "EADDRINUSE",
        "EADDRNOTAVAIL",
        "ENETDOWN",
        "ENETUNREACH",
        "ENETRESET",
        "ECONNABORTED",
        "ECONNRESET",
        "ENOBUFS",
        "EISCONN",
        "ENOTCONN",
        "ESHUTDOWN",
        "ETOOMANYREFS",
        "ETIMEDOUT",
        "ECONNREFUSED",
        "EHOSTDOWN",
        "EHOSTUNREACH",
        "EALREADY",
        "EINPROGRESS",
        "ESTALE",
        "EUCLEAN",
        "ENOTNAM",
        "ENAVAIL",
        "EISNAM",
        "EREMOTEIO",
        "EDQUOT",
        "ENOMEDIUM",
        "EMEDIUMTYPE",
        "ECANCELED",
        "ENOKEY",
        "EKEYEXPIRED",
        "EKEYREVOKED",
        "EKEYREJECTED",
        "EOWNERDEAD",
        "ENOTRECOVERABLE",
        "ERFKILL",
        "EHWPOISON",
    ];
    match NAMES.get(usize::try_from(e).ok()?) {
        Some(n) if !n.is_empty() => Some(n),
        _ => None,
    }
}

/// Emits the trace line of one call of syscall number `nr` (when tracing
/// is on).
#[cold]
pub fn syscall(cx: &WaliCtx, nr: u32, args: &[i64], ret: i64) {
    if let Some(spec) = wali_spec::syscall_by_nr(nr) {
        let line = format_call(cx, spec, args, ret);
        tracing::trace!(target: "wali::syscall", "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names_match_libc() {
        for (e, n) in [
            (libc::ENOENT, "ENOENT"),
            (libc::ENOTSOCK, "ENOTSOCK"),
            (libc::ENOTRECOVERABLE, "ENOTRECOVERABLE"),
            (libc::ECONNREFUSED, "ECONNREFUSED"),
            (libc::ELOOP, "ELOOP"),
            (libc::EOVERFLOW, "EOVERFLOW"),
        ] {
            assert_eq!(errno_name(e), Some(n));
        }
        assert_eq!(errno_name(0), None);
        assert_eq!(errno_name(41), None);
        assert_eq!(errno_name(4000), None);
    }

    #[test]
    fn flags_and_commands_are_named() {
        for (call, param, value, want) in [
            (
                "openat",
                "flags",
                0o2101101,
                "O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE|O_CLOEXEC",
            ),
            ("openat", "dirfd", -100, "AT_FDCWD"),
            ("open", "flags", 0o20200002, "O_RDWR|O_TMPFILE"),
            ("open", "flags", 0o4000000000, "O_RDONLY|0x20000000"),
            ("mmap", "flags", 0x22, "MAP_PRIVATE|MAP_ANONYMOUS"),
            ("mmap", "prot", 0, "PROT_NONE"),
            ("fcntl", "cmd", 1030, "F_DUPFD_CLOEXEC"),
            ("fcntl", "arg", 0x7fff_0000_0000_000a, "10"),
            ("ioctl", "request", 0x5413, "TIOCGWINSZ"),
            ("unlinkat", "flags", 0x200, "AT_REMOVEDIR"),
            ("kill", "sig", 15, "SIGTERM"),
            ("openat", "mode", 0o644, "0644"),
            ("access", "mode", 6, "R_OK|W_OK"),
            ("faccessat", "mode", 0, "F_OK"),
            ("rt_sigprocmask", "how", 2, "SIG_SETMASK"),
            ("socket", "domain", 10, "AF_INET6"),
            (
                "socket",
                "type_",
                0o2004001,
                "SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC",
            ),
            ("clock_gettime", "clockid", 1, "CLOCK_MONOTONIC"),
            ("clock_gettime", "clockid", 99, "99"),
            ("lseek", "whence", 2, "SEEK_END"),
            (
                "futex",
                "futex_op",
                128 | 9,
                "FUTEX_WAIT_BITSET|FUTEX_PRIVATE_FLAG",
            ),
            ("epoll_ctl", "op", 1, "EPOLL_CTL_ADD"),
        ] {
            let mut s = String::new();
            assert!(decode(&mut s, call, param, value), "{call} {param}");
            assert_eq!(s, want);
        }
    }
}
