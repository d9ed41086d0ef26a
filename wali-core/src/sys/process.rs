//! Process identity, exit, futexes, scheduling, resource usage.

use crate::raw::{p, sx, syscall0, syscall1, syscall2, syscall3, syscall4, syscall5, zx};
use crate::{Ctrl, Errno, SysResult, WaliCtx};
use libc::*;
use wali_spec::layout;

macro_rules! noarg {
    ($($name:ident => $nr:ident),* $(,)?) => { $(
        #[doc = concat!("`", stringify!($name), "()`")]
        pub fn $name(_cx: &mut WaliCtx) -> SysResult {
            // SAFETY: no argument.
            Ok(unsafe { syscall0($nr) }?)
        }
    )* };
}
noarg!(
    getpid => SYS_getpid, getppid => SYS_getppid, gettid => SYS_gettid, getuid => SYS_getuid,
    geteuid => SYS_geteuid, getgid => SYS_getgid, getegid => SYS_getegid, setsid => SYS_setsid,
    getpgrp => SYS_getpgrp, sched_yield => SYS_sched_yield,
);

/// Result of a libc call that returns -1 and sets errno.
fn libc_ret(r: c_int) -> SysResult {
    if r == -1 {
        Err(Errno::from_io_error(&std::io::Error::last_os_error())
            .unwrap_or(Errno::INVAL)
            .into())
    } else {
        Ok(r as i64)
    }
}

// The set*id calls go through the C library, which applies them to every
// thread of the host process (the raw syscall changes one thread only).

/// `setuid(uid)`
pub fn setuid(_cx: &mut WaliCtx, uid: i32) -> SysResult {
    // SAFETY: plain libc call.
    libc_ret(unsafe { libc::setuid(uid as u32) })
}
/// `setgid(gid)`
pub fn setgid(_cx: &mut WaliCtx, gid: i32) -> SysResult {
    // SAFETY: plain libc call.
    libc_ret(unsafe { libc::setgid(gid as u32) })
}
/// `setreuid(ruid, euid)`
pub fn setreuid(_cx: &mut WaliCtx, ruid: i32, euid: i32) -> SysResult {
    // SAFETY: plain libc call.
    libc_ret(unsafe { libc::setreuid(ruid as u32, euid as u32) })
}
/// `setregid(rgid, egid)`
pub fn setregid(_cx: &mut WaliCtx, rgid: i32, egid: i32) -> SysResult {
    // SAFETY: plain libc call.
    libc_ret(unsafe { libc::setregid(rgid as u32, egid as u32) })
}
/// `setresuid(ruid, euid, suid)`
pub fn setresuid(_cx: &mut WaliCtx, ruid: i32, euid: i32, suid: i32) -> SysResult {
    // SAFETY: plain libc call.
    libc_ret(unsafe { libc::setresuid(ruid as u32, euid as u32, suid as u32) })
}
/// `setresgid(rgid, egid, sgid)`
pub fn setresgid(_cx: &mut WaliCtx, rgid: i32, egid: i32, sgid: i32) -> SysResult {
    // SAFETY: plain libc call.
    libc_ret(unsafe { libc::setresgid(rgid as u32, egid as u32, sgid as u32) })
}

/// `getresuid(ruid, euid, suid)`
pub fn getresuid(cx: &mut WaliCtx, ruid: i32, euid: i32, suid: i32) -> SysResult {
    let (a, b, c) = (
        cx.mem.buf(ruid as u32, 4)?,
        cx.mem.buf(euid as u32, 4)?,
        cx.mem.buf(suid as u32, 4)?,
    );
    // SAFETY: three checked uid_t.
    Ok(unsafe { syscall3(SYS_getresuid, p(a), p(b), p(c)) }?)
}
/// `getresgid(rgid, egid, sgid)`
pub fn getresgid(cx: &mut WaliCtx, rgid: i32, egid: i32, sgid: i32) -> SysResult {
    let (a, b, c) = (
        cx.mem.buf(rgid as u32, 4)?,
        cx.mem.buf(egid as u32, 4)?,
        cx.mem.buf(sgid as u32, 4)?,
    );
    // SAFETY: three checked gid_t.
    Ok(unsafe { syscall3(SYS_getresgid, p(a), p(b), p(c)) }?)
}

/// `getgroups(size, list)`
pub fn getgroups(cx: &mut WaliCtx, size: i32, list: i32) -> SysResult {
    if size < 0 {
        return Err(Errno::INVAL.into());
    }
    let l = cx.mem.buf(list as u32, size as usize * 4)?;
    // SAFETY: `l` holds `size` gid_t (or is NULL for size 0).
    Ok(unsafe { syscall2(SYS_getgroups, sx(size), p(l)) }?)
}

/// `setgroups(size, list)`
pub fn setgroups(cx: &mut WaliCtx, size: i32, list: i32) -> SysResult {
    if !(0..=65536).contains(&size) {
        return Err(Errno::INVAL.into());
    }
    let l = cx.mem.buf(list as u32, size as usize * 4)?;
    // SAFETY: `l` holds `size` gid_t; libc applies it to every thread.
    libc_ret(unsafe { libc::setgroups(size as usize, l as *const gid_t) })
}

/// `getpgid(pid)`
pub fn getpgid(_cx: &mut WaliCtx, pid: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall1(SYS_getpgid, sx(pid)) }?)
}
/// `setpgid(pid, pgid)`
pub fn setpgid(_cx: &mut WaliCtx, pid: i32, pgid: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall2(SYS_setpgid, sx(pid), sx(pgid)) }?)
}
/// `getsid(pid)`
pub fn getsid(_cx: &mut WaliCtx, pid: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall1(SYS_getsid, sx(pid)) }?)
}

/// `exit(status)`: ends the calling thread; the last thread ends the process.
pub fn exit(_cx: &mut WaliCtx, status: i32) -> SysResult {
    Err(Ctrl::ExitThread(status))
}

/// `exit_group(status)`: ends the process.
pub fn exit_group(cx: &mut WaliCtx, status: i32) -> SysResult {
    // The crt's __proc_exit becomes exit() after the exit-on-return
    // transform, so its startup codes arrive here.
    crate::aux::note_crt_failure(cx, status);
    Err(Ctrl::Exit(status))
}

/// `set_tid_address(tidptr)`: recorded for this thread (cleared and woken
/// when the guest thread ends); returns the thread id. The host thread's own
/// clear-child-tid is not changed, so the kernel never writes into guest
/// memory after the guest is gone.
pub fn set_tid_address(cx: &mut WaliCtx, tidptr: i32) -> SysResult {
    cx.mem.buf_opt(tidptr as u32, 4)?;
    cx.clear_child_tid = tidptr as u32;
    Ok(cx.tid as i64)
}

/// `set_robust_list(head, len)`: recorded for this guest thread. The
/// kernel cannot walk the list (its pointers are guest addresses): wali
/// does, when the thread ends (see `futex::release_robust_list`).
pub fn set_robust_list(cx: &mut WaliCtx, head: i32, len: i32) -> SysResult {
    // The wasm32 robust_list_head is 12 bytes.
    if len != 12 {
        return Err(Errno::INVAL.into());
    }
    cx.mem.buf_opt(head as u32, 12)?;
    cx.robust_list = head as u32;
    Ok(0)
}

/// `get_robust_list(pid, head_ptr, len_ptr)`: the calling thread's list
/// (pid 0 or its own tid); another thread's is `EPERM` (wali does not
/// keep other threads' heads where this thread can read them).
pub fn get_robust_list(cx: &mut WaliCtx, pid: i32, head_ptr: i32, len_ptr: i32) -> SysResult {
    if pid != 0 && pid != cx.tid {
        // SAFETY: kill with signal 0 probes a pid without side effects.
        let exists = unsafe { libc::kill(pid, 0) } == 0
            || Errno::from_io_error(&std::io::Error::last_os_error()) == Some(Errno::PERM);
        return Err(if exists { Errno::PERM } else { Errno::SRCH }.into());
    }
    cx.mem.write::<u32>(head_ptr as u32, cx.robust_list)?;
    cx.mem.write::<u32>(len_ptr as u32, 12)?;
    Ok(0)
}

/// `prctl(option, arg2, arg3, arg4, arg5)`: thread names, and the options
/// that take and return plain integers; anything else is EINVAL.
pub fn prctl(
    cx: &mut WaliCtx,
    option: i32,
    arg2: i64,
    arg3: i64,
    arg4: i64,
    arg5: i64,
) -> SysResult {
    let a2 = match option {
        PR_SET_NAME => {
            let ptr = match cx.mem.buf(arg2 as u32, 16) {
                Ok(b) => b as *const c_char,
                Err(_) => cx.mem.cstr_max(arg2 as u32, 15)?,
            };
            p(ptr)
        }
        PR_GET_NAME => p(cx.mem.buf(arg2 as u32, 16)?),
        PR_GET_PDEATHSIG | PR_GET_CHILD_SUBREAPER => p(cx.mem.buf(arg2 as u32, 4)?),
        PR_SET_PDEATHSIG
        | PR_GET_DUMPABLE
        | PR_SET_DUMPABLE
        | PR_GET_KEEPCAPS
        | PR_SET_KEEPCAPS
        | PR_SET_CHILD_SUBREAPER
        | PR_SET_NO_NEW_PRIVS
        | PR_GET_NO_NEW_PRIVS
        | PR_GET_TIMERSLACK
        | PR_SET_TIMERSLACK
        | PR_CAPBSET_READ
        | PR_GET_SECCOMP => arg2 as usize,
        _ => return Err(Errno::INVAL.into()),
    };
    // SAFETY: `a2` is an integer or a checked pointer per the option.
    Ok(unsafe {
        syscall5(
            SYS_prctl,
            sx(option),
            a2,
            arg3 as usize,
            arg4 as usize,
            arg5 as usize,
        )
    }?)
}

/// `sched_getaffinity(pid, cpusetsize, mask)`
pub fn sched_getaffinity(cx: &mut WaliCtx, pid: i32, cpusetsize: i32, mask: i32) -> SysResult {
    let m = cx.mem.buf(mask as u32, cpusetsize as u32 as usize)?;
    // SAFETY: `m` holds `cpusetsize` bytes.
    Ok(unsafe { syscall3(SYS_sched_getaffinity, sx(pid), zx(cpusetsize), p(m)) }?)
}

/// `sched_setaffinity(pid, cpusetsize, mask)`
pub fn sched_setaffinity(cx: &mut WaliCtx, pid: i32, cpusetsize: i32, mask: i32) -> SysResult {
    let m = cx.mem.buf(mask as u32, cpusetsize as u32 as usize)?;
    // SAFETY: `m` holds `cpusetsize` bytes.
    Ok(unsafe { syscall3(SYS_sched_setaffinity, sx(pid), zx(cpusetsize), p(m)) }?)
}

/// `sched_setscheduler(pid, policy, param)`
pub fn sched_setscheduler(cx: &mut WaliCtx, pid: i32, policy: i32, param: i32) -> SysResult {
    let m = cx.mem.buf(param as u32, layout::sched_param::SIZE)?;
    // SAFETY: `m` is a sched_param.
    Ok(unsafe { syscall3(SYS_sched_setscheduler, sx(pid), sx(policy), p(m)) }?)
}

/// `getpriority(which, who)` (the raw kernel value, 20 - nice)
pub fn getpriority(_cx: &mut WaliCtx, which: i32, who: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall2(SYS_getpriority, sx(which), zx(who)) }?)
}

/// `setpriority(which, who, prio)`
pub fn setpriority(_cx: &mut WaliCtx, which: i32, who: i32, prio: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall3(SYS_setpriority, sx(which), zx(who), sx(prio)) }?)
}

/// `getrusage(who, usage)` (the kernel writes the first 144 bytes)
pub fn getrusage(cx: &mut WaliCtx, who: i32, usage: i32) -> SysResult {
    let u = cx.mem.buf(usage as u32, 144)?;
    // SAFETY: `u` holds the kernel's struct rusage.
    Ok(unsafe { syscall2(SYS_getrusage, sx(who), p(u)) }?)
}

/// `times(buf)`
pub fn times(cx: &mut WaliCtx, buf: i32) -> SysResult {
    let b = cx.mem.buf_opt(buf as u32, layout::tms::SIZE)?;
    // SAFETY: `b` is NULL or a struct tms.
    Ok(unsafe { syscall1(SYS_times, p(b)) }?)
}

/// `wait4(pid, wstatus, options, rusage)`
pub fn wait4(cx: &mut WaliCtx, pid: i32, wstatus: i32, options: i32, rusage: i32) -> SysResult {
    let s = cx.mem.buf_opt(wstatus as u32, 4)?;
    let r = cx.mem.buf_opt(rusage as u32, 144)?;
    // SAFETY: optional int and struct rusage.
    Ok(unsafe { syscall4(SYS_wait4, sx(pid), p(s), zx(options), p(r)) }?)
}

/// `waitid(idtype, id, infop, options, rusage)`
pub fn waitid(
    cx: &mut WaliCtx,
    idtype: i32,
    id: i32,
    infop: i32,
    options: i32,
    rusage: i32,
) -> SysResult {
    let i = cx.mem.buf_opt(infop as u32, layout::siginfo::SIZE)?;
    let r = cx.mem.buf_opt(rusage as u32, 144)?;
    // SAFETY: optional siginfo_t and struct rusage.
    Ok(unsafe { syscall5(SYS_waitid, sx(idtype), zx(id), p(i), zx(options), p(r)) }?)
}

/// `fork()`: the child is a real Linux process (the host process is
/// forked) that continues the guest right after the call with a copy of
/// its memory and descriptors; the parent gets the child's pid.
///
/// As with POSIX `fork`, only the calling thread exists in the child: an
/// embedding host's other threads do not, so a host that forks guests
/// should not hold locks in other threads that the child needs.
pub fn fork(cx: &mut WaliCtx) -> SysResult {
    // SAFETY: fork has no memory preconditions; the child continues in
    // this host call with a copy-on-write image of the process.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Errno::from_io_error(&std::io::Error::last_os_error())
            .unwrap_or(Errno::AGAIN)
            .into());
    }
    if pid == 0 {
        let parent_tid = cx.tid;
        cx.tid = rustix::thread::gettid().as_raw_nonzero().get();
        cx.proc.forked_from(parent_tid);
        super::signal::clear_pending_in_child();
    }
    Ok(pid as i64)
}

/// `vfork()`: a fork (the child gets its own copy of memory, which is
/// what vfork's rules allow a child to assume anyway).
pub fn vfork(cx: &mut WaliCtx) -> SysResult {
    fork(cx)
}

/// Reads a NULL-terminated array of guest string pointers (argv/envp).
fn read_strv(cx: &WaliCtx, v: i32) -> Result<Vec<std::ffi::CString>, Errno> {
    let mut out = Vec::new();
    if v == 0 {
        return Ok(out);
    }
    let mut total = 0usize;
    for i in 0u32.. {
        let p: u32 = cx
            .mem
            .read((v as u32).checked_add(i * 4).ok_or(Errno::FAULT)?)?;
        if p == 0 {
            break;
        }
        let s = cx.mem.string(p, 128 * 1024)?;
        total += s.len() + 1 + 8;
        if total > 2 << 20 || i > 1 << 17 {
            return Err(Errno::TOOBIG);
        }
        out.push(std::ffi::CString::new(s).expect("no NUL inside"));
    }
    Ok(out)
}

/// What a file starts with, for exec.
enum Image {
    Wasm,
    /// `#!` with this interpreter and optional argument.
    Script(Vec<u8>, Option<Vec<u8>>),
    Other,
}

fn image_of(dirfd: i32, path: &std::ffi::CStr, flags: i32) -> Image {
    let mut oflags = O_RDONLY | O_CLOEXEC;
    if flags & AT_SYMLINK_NOFOLLOW != 0 {
        oflags |= O_NOFOLLOW;
    }
    let fd = if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        // SAFETY: dup of a descriptor number; no memory involved.
        unsafe { libc::fcntl(dirfd, F_DUPFD_CLOEXEC, 0) }
    } else {
        // SAFETY: `path` is a valid C string.
        unsafe { libc::openat(dirfd, path.as_ptr(), oflags) }
    };
    if fd < 0 {
        return Image::Other;
    }
    let mut head = [0u8; 256];
    // SAFETY: reads into a host buffer of that size.
    let n = unsafe { libc::pread(fd, head.as_mut_ptr() as *mut c_void, head.len(), 0) };
    // SAFETY: closing the descriptor opened above.
    unsafe { libc::close(fd) };
    let head = &head[..n.max(0) as usize];
    if head.starts_with(b"\0asm") {
        return Image::Wasm;
    }
    if let Some(rest) = head.strip_prefix(b"#!") {
        let line = rest.split(|c| *c == b'\n').next().unwrap_or(&[]);
        let line: Vec<u8> = line
            .iter()
            .copied()
            .skip_while(|c| *c == b' ' || *c == b'\t')
            .collect();
        let mut parts = line.splitn(2, |c| *c == b' ' || *c == b'\t');
        let interp = parts.next().unwrap_or(&[]).to_vec();
        let arg = parts
            .next()
            .map(|a| a.trim_ascii().to_vec())
            .filter(|a| !a.is_empty());
        if !interp.is_empty() {
            return Image::Script(interp, arg);
        }
    }
    Image::Other
}

fn is_wasm_file(path: &[u8]) -> bool {
    let Ok(c) = std::ffi::CString::new(path) else {
        return false;
    };
    matches!(image_of(AT_FDCWD, &c, 0), Image::Wasm)
}

fn exec_common(
    cx: &mut WaliCtx,
    dirfd: i32,
    path: std::ffi::CString,
    argv: Vec<std::ffi::CString>,
    env: Vec<std::ffi::CString>,
    flags: i32,
) -> SysResult {
    // Under file-system confinement, the file is the one resolved inside
    // the allowed trees: its canonical path, read back from the descriptor
    // the kernel resolved beneath the tree's root.
    if super::confine::active(cx) && !path.as_bytes().is_empty() {
        let t = super::confine::resolve(
            cx,
            dirfd,
            path.as_ptr(),
            super::confine::Last::Follow,
            false,
        )?;
        // SAFETY: resolve returns a NUL-terminated host string.
        let proc_path = unsafe { std::ffi::CStr::from_ptr(t.path) }
            .to_string_lossy()
            .into_owned();
        let real = std::fs::read_link(&proc_path).map_err(|_| Errno::ACCESS)?;
        use std::os::unix::ffi::OsStrExt;
        let real = std::ffi::CString::new(real.as_os_str().as_bytes()).map_err(|_| Errno::INVAL)?;
        return exec_resolved(cx, AT_FDCWD, real, argv, env, flags & !AT_SYMLINK_NOFOLLOW);
    }
    exec_resolved(cx, dirfd, path, argv, env, flags)
}

fn exec_resolved(
    cx: &mut WaliCtx,
    dirfd: i32,
    path: std::ffi::CString,
    argv: Vec<std::ffi::CString>,
    env: Vec<std::ffi::CString>,
    flags: i32,
) -> SysResult {
    use std::os::unix::ffi::OsStrExt;
    match image_of(dirfd, &path, flags) {
        Image::Wasm => {
            // The kernel's own checks: execute permission, not a directory.
            let ok = if path.as_bytes().is_empty() {
                // SAFETY: plain libc call on a descriptor.
                unsafe { libc::faccessat(dirfd, c"".as_ptr(), X_OK, AT_EMPTY_PATH) }
            } else {
                // SAFETY: `path` is a valid C string.
                unsafe { libc::faccessat(dirfd, path.as_ptr(), X_OK, 0) }
            };
            if ok != 0 {
                return Err(Errno::ACCESS.into());
            }
            let host_path = if dirfd == AT_FDCWD || path.as_bytes().starts_with(b"/") {
                std::path::PathBuf::from(std::ffi::OsStr::from_bytes(path.as_bytes()))
            } else if path.as_bytes().is_empty() {
                std::path::PathBuf::from(format!("/proc/self/fd/{dirfd}"))
            } else {
                std::path::PathBuf::from(format!("/proc/self/fd/{dirfd}"))
                    .join(std::ffi::OsStr::from_bytes(path.as_bytes()))
            };
            cx.log(
                2,
                format_args!("execve: {} replaces the guest", host_path.display()),
            );
            super::signal::reset_caught_signals(cx);
            Err(crate::Ctrl::Exec(Box::new(crate::ExecRequest {
                path: host_path,
                argv,
                env,
                policy: cx.proc.policy().cloned(),
                c_stack: cx.proc.c_stack,
            })))
        }
        Image::Script(interp, arg) if is_wasm_file(&interp) => {
            let mut args = vec![std::ffi::CString::new(interp.clone()).expect("no NUL")];
            if let Some(a) = arg {
                args.push(std::ffi::CString::new(a).map_err(|_| Errno::NOEXEC)?);
            }
            args.push(path);
            args.extend(argv.into_iter().skip(1));
            let interp = std::ffi::CString::new(interp).expect("no NUL");
            exec_common(cx, AT_FDCWD, interp, args, env, 0)
        }
        _ if cx.proc.policy().is_some_and(|p| p.deny_native_exec) => {
            // A missing file is still ENOENT; an existing native one is refused.
            // SAFETY: `path` is a valid C string.
            if unsafe { libc::faccessat(dirfd, path.as_ptr(), F_OK, 0) } != 0 {
                return Err(Errno::from_io_error(&std::io::Error::last_os_error())
                    .unwrap_or(Errno::NOENT)
                    .into());
            }
            Err(Errno::ACCESS.into())
        }
        _ => {
            let mut a: Vec<*const c_char> = argv.iter().map(|s| s.as_ptr()).collect();
            a.push(std::ptr::null());
            let mut e: Vec<*const c_char> = env.iter().map(|s| s.as_ptr()).collect();
            e.push(std::ptr::null());
            // SAFETY: NUL-terminated host arrays of host C strings, alive
            // for the call; on success this process image is replaced.
            Ok(unsafe {
                syscall5(
                    SYS_execveat,
                    sx(dirfd),
                    p(path.as_ptr()),
                    p(a.as_ptr()),
                    p(e.as_ptr()),
                    zx(flags),
                )
            }?)
        }
    }
}

/// `execve(pathname, argv, envp)`: a wasm module (or a `#!` script whose
/// interpreter is one) replaces the guest in this process (same pid, open
/// descriptors without close-on-exec, working directory; new arguments and
/// environment); anything else is a real execve. A failed exec returns the
/// errno Linux gives and the guest goes on.
pub fn execve(cx: &mut WaliCtx, pathname: i32, argv: i32, envp: i32) -> SysResult {
    let path = std::ffi::CString::new(
        cx.mem
            .string(pathname as u32, crate::memory::PATH_MAX - 1)?,
    )
    .expect("no NUL");
    let args = read_strv(cx, argv)?;
    let env = read_strv(cx, envp)?;
    exec_common(cx, AT_FDCWD, path, args, env, 0)
}

/// `execveat(dirfd, pathname, argv, envp, flags)`
pub fn execveat(
    cx: &mut WaliCtx,
    dirfd: i32,
    pathname: i32,
    argv: i32,
    envp: i32,
    flags: i32,
) -> SysResult {
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::INVAL.into());
    }
    let path = std::ffi::CString::new(
        cx.mem
            .string(pathname as u32, crate::memory::PATH_MAX - 1)?,
    )
    .expect("no NUL");
    let args = read_strv(cx, argv)?;
    let env = read_strv(cx, envp)?;
    exec_common(cx, dirfd, path, args, env, flags)
}

/// The descriptors open in this process now.
pub fn open_fds() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Closes the close-on-exec descriptors of the process, as the kernel's
/// execve does, except those in `keep` (the host's own, open before the
/// guest started) and those the host reserved ([`crate::hostfd`]); used
/// when a wasm exec replaces the guest in place.
pub fn close_cloexec_fds(keep: &[i32]) {
    for fd in open_fds() {
        if keep.contains(&fd) || crate::hostfd::is_reserved(fd) {
            continue;
        }
        // SAFETY: F_GETFD/close on descriptor numbers the guest opened; a
        // number that is no longer open (the read_dir handle) just fails.
        unsafe {
            let f = libc::fcntl(fd, F_GETFD);
            if f >= 0 && f & FD_CLOEXEC != 0 {
                libc::close(fd);
            }
        }
    }
}
