//! The WebAssembly Linux Interface (WALI) ABI as data.
//!
//! This crate is the one source of truth for the WALI import surface: every
//! syscall import (`wali.SYS_<name>`), its x86-64 syscall number and its wasm
//! signature, every auxiliary import, and the wasm32 layout of every struct
//! that crosses the boundary. It has no dependencies. Engine adapters generate
//! their glue from [`for_each_syscall!`] and [`for_each_aux!`] so no signature
//! is ever typed twice.
//!
//! Type rule (from the WALI spec): pointers, function pointers (table
//! indexes) and C types of 32 bits or less are `i32`; 64-bit C types (`long`,
//! `off_t`, `nfds_t`, `rlim_t` ...) are `i64`. Every syscall returns `i64`
//! (the value, or `-errno`).

#![no_std]

pub mod layout;

/// Invokes `$callback!` with the whole syscall table.
///
/// Each row is `(name, x86_64_number, origin, [param: type, ...], "C parameters")`
/// where `origin` is `spec` for the 140 calls of the WALI specification and
/// `extra` for calls real guests import beyond it (see `abi.md`). The import
/// name is `SYS_<name>`; every syscall returns `i64`.
#[macro_export]
macro_rules! for_each_syscall {
    ($callback:ident) => {
        $callback! {
        (read, 0, spec, [fd: i32, buf: i32, count: i32], "int fd, void* buf, size_t count"),
        (write, 1, spec, [fd: i32, buf: i32, count: i32], "int fd, void* buf, size_t count"),
        (open, 2, spec, [pathname: i32, flags: i32, mode: i32], "char* pathname, int flags, mode_t mode"),
        (close, 3, spec, [fd: i32], "int fd"),
        (stat, 4, spec, [pathname: i32, statbuf: i32], "char* pathname, struct stat* statbuf"),
        (fstat, 5, spec, [fd: i32, statbuf: i32], "int fd, struct stat* statbuf"),
        (lstat, 6, spec, [pathname: i32, statbuf: i32], "char* pathname, struct stat* statbuf"),
        (poll, 7, spec, [fds: i32, nfds: i64, timeout: i32], "struct pollfd* fds, nfds_t nfds, int timeout"),
        (lseek, 8, spec, [fd: i32, offset: i64, whence: i32], "int fd, off_t offset, int whence"),
        (mmap, 9, spec, [addr: i32, length: i32, prot: i32, flags: i32, fd: i32, offset: i64], "void* addr, size_t length, int prot, int flags, int fd, off_t offset"),
        (mprotect, 10, spec, [addr: i32, len: i32, prot: i32], "void* addr, size_t len, int prot"),
        (munmap, 11, spec, [addr: i32, len: i32], "void* addr, size_t len"),
        (brk, 12, spec, [addr: i32], "void* addr"),
        (rt_sigaction, 13, spec, [signum: i32, act: i32, oldact: i32, sigsetsize: i32], "int signum, struct sigaction* act, struct sigaction* oldact, size_t sigsetsize"),
        (rt_sigprocmask, 14, spec, [how: i32, set: i32, oldset: i32, sigsetsize: i32], "int how, sigset_t* set, sigset_t* oldset, size_t sigsetsize"),
        (rt_sigreturn, 15, spec, [unused: i64], "long unused"),
        (ioctl, 16, spec, [fd: i32, request: i32, argp: i32], "int fd, int request, char* argp"),
        (pread64, 17, spec, [fd: i32, buf: i32, count: i32, offset: i64], "int fd, char* buf, size_t count, off_t offset"),
        (pwrite64, 18, spec, [fd: i32, buf: i32, count: i32, offset: i64], "int fd, char* buf, size_t count, off_t offset"),
        (readv, 19, spec, [fd: i32, iov: i32, iovcnt: i32], "int fd, struct iovec* iov, int iovcnt"),
        (writev, 20, spec, [fd: i32, iov: i32, iovcnt: i32], "int fd, struct iovec* iov, int iovcnt"),
        (access, 21, spec, [pathname: i32, mode: i32], "char* pathname, int mode"),
        (pipe, 22, spec, [pipefd: i32], "int* pipefd"),
        (select, 23, spec, [nfds: i32, readfds: i32, writefds: i32, exceptfds: i32, timeout: i32], "int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, struct timeval* timeout"),
        (sched_yield, 24, spec, [], ""),
        (mremap, 25, spec, [old_address: i32, old_size: i32, new_size: i32, flags: i32, new_address: i32], "void* old_address, size_t old_size, size_t new_size, int flags, void* new_address"),
        (msync, 26, spec, [addr: i32, length: i32, flags: i32], "void* addr, size_t length, int flags"),
        (madvise, 28, spec, [addr: i32, length: i32, advice: i32], "void* addr, size_t length, int advice"),
        (dup, 32, spec, [oldfd: i32], "int oldfd"),
        (dup2, 33, spec, [oldfd: i32, newfd: i32], "int oldfd, int newfd"),
        (nanosleep, 35, spec, [req: i32, rem: i32], "struct timespec* req, struct timespec* rem"),
        (setitimer, 38, spec, [which: i32, new_value: i32, old_value: i32], "int which, struct itimerval* new_value, struct itimerval* old_value"),
        (getpid, 39, spec, [], ""),
        (socket, 41, spec, [domain: i32, type_: i32, protocol: i32], "int domain, int type, int protocol"),
        (connect, 42, spec, [sockfd: i32, addr: i32, addrlen: i32], "int sockfd, struct sockaddr* addr, socklen_t addrlen"),
        (accept, 43, spec, [sockfd: i32, addr: i32, addrlen: i32], "int sockfd, struct sockaddr* addr, socklen_t* addrlen"),
        (sendto, 44, spec, [sockfd: i32, buf: i32, len: i32, flags: i32, dest_addr: i32, addrlen: i32], "int sockfd, void* buf, size_t len, int flags, struct sockaddr* dest_addr, socklen_t addrlen"),
        (recvfrom, 45, spec, [sockfd: i32, buf: i32, len: i32, flags: i32, src_addr: i32, addrlen: i32], "int sockfd, void* buf, size_t len, int flags, struct sockaddr* src_addr, socklen_t* addrlen"),
        (sendmsg, 46, spec, [sockfd: i32, msg: i32, flags: i32], "int sockfd, struct msghdr* msg, int flags"),
        (recvmsg, 47, spec, [sockfd: i32, msg: i32, flags: i32], "int sockfd, struct msghdr* msg, int flags"),
        (shutdown, 48, spec, [sockfd: i32, how: i32], "int sockfd, int how"),
        (bind, 49, spec, [sockfd: i32, addr: i32, addrlen: i32], "int sockfd, struct sockaddr* addr, socklen_t addrlen"),
        (listen, 50, spec, [sockfd: i32, backlog: i32], "int sockfd, int backlog"),
        (getsockname, 51, spec, [sockfd: i32, addr: i32, addrlen: i32], "int sockfd, struct sockaddr* addr, socklen_t* addrlen"),
        (getpeername, 52, spec, [sockfd: i32, addr: i32, addrlen: i32], "int sockfd, struct sockaddr* addr, socklen_t* addrlen"),
        (socketpair, 53, spec, [domain: i32, type_: i32, protocol: i32, sv: i32], "int domain, int type, int protocol, int* sv"),
        (setsockopt, 54, spec, [sockfd: i32, level: i32, optname: i32, optval: i32, optlen: i32], "int sockfd, int level, int optname, void* optval, socklen_t optlen"),
        (getsockopt, 55, spec, [sockfd: i32, level: i32, optname: i32, optval: i32, optlen: i32], "int sockfd, int level, int optname, void* optval, socklen_t* optlen"),
        (fork, 57, spec, [], ""),
        (execve, 59, spec, [pathname: i32, argv: i32, envp: i32], "char* pathname, char** argv, char** envp"),
        (exit, 60, spec, [status: i32], "int status"),
        (wait4, 61, spec, [pid: i32, wstatus: i32, options: i32, rusage: i32], "pid_t pid, int* wstatus, int options, struct rusage* rusage"),
        (kill, 62, spec, [pid: i32, sig: i32], "pid_t pid, int sig"),
        (uname, 63, spec, [buf: i32], "struct utsname* buf"),
        (fcntl, 72, spec, [fd: i32, cmd: i32, arg: i64], "int fd, int cmd, unsigned long arg"),
        (flock, 73, spec, [fd: i32, operation: i32], "int fd, int operation"),
        (fsync, 74, spec, [fd: i32], "int fd"),
        (fdatasync, 75, spec, [fd: i32], "int fd"),
        (ftruncate, 77, spec, [fd: i32, length: i64], "int fd, off_t length"),
        (getcwd, 79, spec, [buf: i32, size: i32], "char* buf, size_t size"),
        (chdir, 80, spec, [path: i32], "char* path"),
        (fchdir, 81, spec, [fd: i32], "int fd"),
        (rename, 82, spec, [oldpath: i32, newpath: i32], "char* oldpath, char* newpath"),
        (mkdir, 83, spec, [pathname: i32, mode: i32], "char* pathname, mode_t mode"),
        (rmdir, 84, spec, [pathname: i32], "char* pathname"),
        (link, 86, spec, [oldpath: i32, newpath: i32], "char* oldpath, char* newpath"),
        (unlink, 87, spec, [pathname: i32], "char* pathname"),
        (symlink, 88, spec, [target: i32, linkpath: i32], "char* target, char* linkpath"),
        (readlink, 89, spec, [pathname: i32, buf: i32, bufsiz: i32], "char* pathname, char* buf, size_t bufsiz"),
        (chmod, 90, spec, [pathname: i32, mode: i32], "char* pathname, mode_t mode"),
        (fchmod, 91, spec, [fd: i32, mode: i32], "int fd, mode_t mode"),
        (chown, 92, spec, [pathname: i32, owner: i32, group: i32], "char* pathname, uid_t owner, gid_t group"),
        (fchown, 93, spec, [fd: i32, owner: i32, group: i32], "int fd, uid_t owner, gid_t group"),
        (umask, 95, spec, [mask: i32], "mode_t mask"),
        (gettimeofday, 96, spec, [tv: i32, tz: i32], "struct timeval* tv, struct timezone* tz"),
        (getrlimit, 97, spec, [resource: i32, rlim: i32], "int resource, struct rlimit* rlim"),
        (getrusage, 98, spec, [who: i32, usage: i32], "int who, struct rusage* usage"),
        (sysinfo, 99, spec, [info: i32], "struct sysinfo* info"),
        (getuid, 102, spec, [], ""),
        (getgid, 104, spec, [], ""),
        (setuid, 105, spec, [uid: i32], "uid_t uid"),
        (setgid, 106, spec, [gid: i32], "gid_t gid"),
        (geteuid, 107, spec, [], ""),
        (getegid, 108, spec, [], ""),
        (setpgid, 109, spec, [pid: i32, pgid: i32], "pid_t pid, pid_t pgid"),
        (getppid, 110, spec, [], ""),
        (setsid, 112, spec, [], ""),
        (setreuid, 113, spec, [ruid: i32, euid: i32], "uid_t ruid, uid_t euid"),
        (setregid, 114, spec, [rgid: i32, egid: i32], "gid_t rgid, gid_t egid"),
        (getgroups, 115, spec, [size: i32, list: i32], "size_t size, gid_t* list"),
        (setgroups, 116, spec, [size: i32, list: i32], "size_t size, gid_t* list"),
        (setresuid, 117, spec, [ruid: i32, euid: i32, suid: i32], "uid_t ruid, uid_t euid, uid_t suid"),
        (setresgid, 119, spec, [rgid: i32, egid: i32, sgid: i32], "gid_t rgid, gid_t egid, gid_t sgid"),
        (getpgid, 121, spec, [pid: i32], "pid_t pid"),
        (getsid, 124, spec, [pid: i32], "pid_t pid"),
        (rt_sigpending, 127, spec, [set: i32, sigsetsize: i32], "sigset_t* set, size_t sigsetsize"),
        (rt_sigsuspend, 130, spec, [mask: i32, sigsetsize: i32], "sigset_t* mask, size_t sigsetsize"),
        (sigaltstack, 131, spec, [ss: i32, old_ss: i32], "stack_t* ss, stack_t* old_ss"),
        (statfs, 137, spec, [path: i32, buf: i32], "char* path, struct statfs* buf"),
        (fstatfs, 138, spec, [fd: i32, buf: i32], "int fd, struct statfs* buf"),
        (prctl, 157, spec, [option: i32, arg2: i64, arg3: i64, arg4: i64, arg5: i64], "int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5"),
        (setrlimit, 160, spec, [resource: i32, rlim: i32], "int resource, struct rlimit* rlim"),
        (chroot, 161, spec, [path: i32], "char* path"),
        (gettid, 186, spec, [], ""),
        (tkill, 200, spec, [tid: i32, sig: i32], "int tid, int sig"),
        (futex, 202, spec, [uaddr: i32, futex_op: i32, val: i32, timeout: i32, uaddr2: i32, val3: i32], "int* uaddr, int futex_op, int val, struct timespec* timeout, int* uaddr2, int val3"),
        (sched_getaffinity, 204, spec, [pid: i32, cpusetsize: i32, mask: i32], "pid_t pid, size_t cpusetsize, cpu_set_t* mask"),
        (getdents64, 217, spec, [fd: i32, dirp: i32, count: i32], "int fd, struct dirent* dirp, int count"),
        (set_tid_address, 218, spec, [tidptr: i32], "int* tidptr"),
        (fadvise, 221, spec, [fd: i32, offset: i64, len: i64, advice: i32], "int fd, off_t offset, off_t len, int advice"),
        (clock_gettime, 228, spec, [clockid: i32, tp: i32], "clockid_t clockid, struct timespec* tp"),
        (clock_getres, 229, spec, [clockid: i32, res: i32], "clockid_t clockid, struct timespec* res"),
        (clock_nanosleep, 230, spec, [clockid: i32, flags: i32, request: i32, remain: i32], "clockid_t clockid, int flags, struct timespec* request, struct timespec* remain"),
        (exit_group, 231, spec, [status: i32], "int status"),
        (epoll_ctl, 233, spec, [epfd: i32, op: i32, fd: i32, event: i32], "int epfd, int op, int fd, struct epoll_event* event"),
        (openat, 257, spec, [dirfd: i32, pathname: i32, flags: i32, mode: i32], "int dirfd, char* pathname, int flags, mode_t mode"),
        (mkdirat, 258, spec, [dirfd: i32, pathname: i32, mode: i32], "int dirfd, char* pathname, mode_t mode"),
        (fchownat, 260, spec, [dirfd: i32, pathname: i32, owner: i32, group: i32, flags: i32], "int dirfd, char* pathname, uid_t owner, gid_t group, int flags"),
        (newfstatat, 262, spec, [dirfd: i32, pathname: i32, statbuf: i32, flags: i32], "int dirfd, char* pathname, struct stat* statbuf, int flags"),
        (unlinkat, 263, spec, [dirfd: i32, pathname: i32, flags: i32], "int dirfd, char* pathname, int flags"),
        (linkat, 265, spec, [olddirfd: i32, oldpath: i32, newdirfd: i32, newpath: i32, flags: i32], "int olddirfd, char* oldpath, int newdirfd, char* newpath, int flags"),
        (symlinkat, 266, spec, [target: i32, newdirfd: i32, linkpath: i32], "char* target, int newdirfd, char* linkpath"),
        (readlinkat, 267, spec, [dirfd: i32, pathname: i32, buf: i32, bufsiz: i32], "int dirfd, char* pathname, char* buf, size_t bufsiz"),
        (fchmodat, 268, spec, [dirfd: i32, pathname: i32, mode: i32, flags: i32], "int dirfd, char* pathname, mode_t mode, int flags"),
        (faccessat, 269, spec, [dirfd: i32, pathname: i32, mode: i32, flags: i32], "int dirfd, char* pathname, int mode, int flags"),
        (pselect6, 270, spec, [nfds: i32, readfds: i32, writefds: i32, exceptfds: i32, timeout: i32, sigmask: i32], "int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, struct timespec* timeout, void* sigmask"),
        (ppoll, 271, spec, [fds: i32, nfds: i64, tmo_p: i32, sigmask: i32, sigsetsize: i32], "struct pollfd* fds, nfds_t nfds, struct timespec* tmo_p, sigset_t* sigmask, size_t sigsetsize"),
        (utimensat, 280, spec, [dirfd: i32, pathname: i32, times: i32, flags: i32], "int dirfd, char* pathname, struct timespec* times, int flags"),
        (epoll_pwait, 281, spec, [epfd: i32, events: i32, maxevents: i32, timeout: i32, sigmask: i32, sigsetsize: i32], "int epfd, struct epoll_event* events, int maxevents, int timeout, sigset_t* sigmask, size_t sigsetsize"),
        (eventfd, 284, spec, [initval: i32], "int initval"),
        (accept4, 288, spec, [sockfd: i32, addr: i32, addrlen: i32, flags: i32], "int sockfd, struct sockaddr* addr, socklen_t* addrlen, int flags"),
        (eventfd2, 290, spec, [initval: i32, flags: i32], "int initval, int flags"),
        (epoll_create1, 291, spec, [flags: i32], "int flags"),
        (dup3, 292, spec, [oldfd: i32, newfd: i32, flags: i32], "int oldfd, int newfd, int flags"),
        (pipe2, 293, spec, [pipefd: i32, flags: i32], "int* pipefd, int flags"),
        (prlimit64, 302, spec, [pid: i32, resource: i32, new_limit: i32, old_limit: i32], "pid_t pid, int resource, struct rlimit* new_limit, struct rlimit* old_limit"),
        (renameat2, 316, spec, [olddirfd: i32, oldpath: i32, newdirfd: i32, newpath: i32, flags: i32], "int olddirfd, char* oldpath, int newdirfd, char* newpath, int flags"),
        (getrandom, 318, spec, [buf: i32, buflen: i32, flags: i32], "void* buf, size_t buflen, int flags"),
        (statx, 332, spec, [dirfd: i32, pathname: i32, flags: i32, mask: i32, statxbuf: i32], "int dirfd, char* pathname, int flags, unsigned int mask, struct statx* statxbuf"),
        (faccessat2, 439, spec, [dirfd: i32, pathname: i32, mode: i32, flags: i32], "int dirfd, char* pathname, int mode, int flags"),
        (epoll_create, 213, extra, [size: i32], "int size"),
        (epoll_wait, 232, extra, [epfd: i32, events: i32, maxevents: i32, timeout: i32], "int epfd, struct epoll_event* events, int maxevents, int timeout"),
        (futimesat, 261, extra, [dirfd: i32, pathname: i32, times: i32], "int dirfd, char* pathname, struct timeval* times"),
        (utimes, 235, extra, [filename: i32, times: i32], "char* filename, struct timeval* times"),
        (truncate, 76, extra, [path: i32, length: i64], "char* path, off_t length"),
        (creat, 85, extra, [pathname: i32, mode: i32], "char* pathname, mode_t mode"),
        (lchown, 94, extra, [pathname: i32, owner: i32, group: i32], "char* pathname, uid_t owner, gid_t group"),
        (renameat, 264, extra, [olddirfd: i32, oldpath: i32, newdirfd: i32, newpath: i32], "int olddirfd, char* oldpath, int newdirfd, char* newpath"),
        (mknod, 133, extra, [pathname: i32, mode: i32, dev: i32], "char* pathname, mode_t mode, dev_t dev"),
        (mknodat, 259, extra, [dirfd: i32, pathname: i32, mode: i32, dev: i32], "int dirfd, char* pathname, mode_t mode, dev_t dev"),
        (preadv, 295, extra, [fd: i32, iov: i32, iovcnt: i32, pos_l: i64, pos_h: i64], "int fd, struct iovec* iov, int iovcnt, unsigned long pos_l, unsigned long pos_h"),
        (pwritev, 296, extra, [fd: i32, iov: i32, iovcnt: i32, pos_l: i64, pos_h: i64], "int fd, struct iovec* iov, int iovcnt, unsigned long pos_l, unsigned long pos_h"),
        (sendfile, 40, extra, [out_fd: i32, in_fd: i32, offset: i32, count: i32], "int out_fd, int in_fd, off_t* offset, size_t count"),
        (fallocate, 285, extra, [fd: i32, mode: i32, offset: i64, len: i64], "int fd, int mode, off_t offset, off_t len"),
        (sync, 162, extra, [], ""),
        (syncfs, 306, extra, [fd: i32], "int fd"),
        (memfd_create, 319, extra, [name: i32, flags: i32], "char* name, unsigned int flags"),
        (time, 201, extra, [tloc: i32], "time_t* tloc"),
        (times, 100, extra, [buf: i32], "struct tms* buf"),
        (getpgrp, 111, extra, [], ""),
        (getresuid, 118, extra, [ruid: i32, euid: i32, suid: i32], "uid_t* ruid, uid_t* euid, uid_t* suid"),
        (getresgid, 120, extra, [rgid: i32, egid: i32, sgid: i32], "gid_t* rgid, gid_t* egid, gid_t* sgid"),
        (getpriority, 140, extra, [which: i32, who: i32], "int which, id_t who"),
        (setpriority, 141, extra, [which: i32, who: i32, prio: i32], "int which, id_t who, int prio"),
        (sched_setaffinity, 203, extra, [pid: i32, cpusetsize: i32, mask: i32], "pid_t pid, size_t cpusetsize, cpu_set_t* mask"),
        (sched_setscheduler, 144, extra, [pid: i32, policy: i32, param: i32], "pid_t pid, int policy, struct sched_param* param"),
        (mlockall, 151, extra, [flags: i32], "int flags"),
        (set_robust_list, 273, extra, [head: i32, len: i32], "struct robust_list_head* head, size_t len"),
        (get_robust_list, 274, extra, [pid: i32, head_ptr: i32, len_ptr: i32], "int pid, struct robust_list_head** head_ptr, size_t* len_ptr"),
        (signalfd, 282, extra, [fd: i32, mask: i32, sizemask: i32], "int fd, sigset_t* mask, size_t sizemask"),
        (signalfd4, 289, extra, [fd: i32, mask: i32, sizemask: i32, flags: i32], "int fd, sigset_t* mask, size_t sizemask, int flags"),
        (timerfd_create, 283, extra, [clockid: i32, flags: i32], "int clockid, int flags"),
        (timerfd_settime, 286, extra, [fd: i32, flags: i32, new_value: i32, old_value: i32], "int fd, int flags, struct itimerspec* new_value, struct itimerspec* old_value"),
        (timerfd_gettime, 287, extra, [fd: i32, curr_value: i32], "int fd, struct itimerspec* curr_value"),
        (tgkill, 234, extra, [tgid: i32, tid: i32, sig: i32], "pid_t tgid, pid_t tid, int sig"),
        (alarm, 37, extra, [seconds: i32], "unsigned int seconds"),
        (getitimer, 36, extra, [which: i32, curr_value: i32], "int which, struct itimerval* curr_value"),
        (pause, 34, extra, [], ""),
        (vfork, 58, extra, [], ""),
        (execveat, 322, extra, [dirfd: i32, pathname: i32, argv: i32, envp: i32, flags: i32], "int dirfd, char* pathname, char** argv, char** envp, int flags"),
        (waitid, 247, extra, [idtype: i32, id: i32, infop: i32, options: i32, rusage: i32], "idtype_t idtype, id_t id, siginfo_t* infop, int options, struct rusage* rusage"),
        (rt_sigtimedwait, 128, extra, [set: i32, info: i32, timeout: i32, sigsetsize: i32], "sigset_t* set, siginfo_t* info, struct timespec* timeout, size_t sigsetsize"),
        (close_range, 436, extra, [first: i32, last: i32, flags: i32], "unsigned int first, unsigned int last, unsigned int flags"),
        (shmget, 29, extra, [key: i32, size: i32, shmflg: i32], "key_t key, size_t size, int shmflg"),
        (shmat, 30, extra, [shmid: i32, shmaddr: i32, shmflg: i32], "int shmid, void* shmaddr, int shmflg"),
        (shmctl, 31, extra, [shmid: i32, cmd: i32, buf: i32], "int shmid, int cmd, struct shmid_ds* buf"),
        (semget, 64, extra, [key: i32, nsems: i32, semflg: i32], "key_t key, int nsems, int semflg"),
        (semop, 65, extra, [semid: i32, sops: i32, nsops: i32], "int semid, struct sembuf* sops, size_t nsops"),
        (semctl, 66, extra, [semid: i32, semnum: i32, cmd: i32, arg: i32], "int semid, int semnum, int cmd, union semun arg"),
        (shmdt, 67, extra, [shmaddr: i32], "void* shmaddr"),
        (msgget, 68, extra, [key: i32, msgflg: i32], "key_t key, int msgflg"),
        (msgsnd, 69, extra, [msqid: i32, msgp: i32, msgsz: i32, msgflg: i32], "int msqid, void* msgp, size_t msgsz, int msgflg"),
        (msgrcv, 70, extra, [msqid: i32, msgp: i32, msgsz: i32, msgtyp: i32, msgflg: i32], "int msqid, void* msgp, size_t msgsz, long msgtyp, int msgflg"),
        (msgctl, 71, extra, [msqid: i32, cmd: i32, buf: i32], "int msqid, int cmd, struct msqid_ds* buf"),
        (semtimedop, 220, extra, [semid: i32, sops: i32, nsops: i32, timeout: i32], "int semid, struct sembuf* sops, size_t nsops, struct timespec* timeout"),
        (rt_sigqueueinfo, 129, extra, [tgid: i32, sig: i32, uinfo: i32], "pid_t tgid, int sig, siginfo_t* uinfo"),
        (rt_tgsigqueueinfo, 297, extra, [tgid: i32, tid: i32, sig: i32, uinfo: i32], "pid_t tgid, pid_t tid, int sig, siginfo_t* uinfo"),

        }
    };
}

/// Invokes `$callback!` with the auxiliary (non-syscall) imports.
///
/// Each row is `(name, [param: type, ...], result)` where `result` is `i32`
/// or `()` (no result).
#[macro_export]
macro_rules! for_each_aux {
    ($callback:ident) => {
        $callback! {
            (__init, [], i32),
            (__deinit, [], i32),
            (__proc_exit, [status: i32], ()),
            (__cl_get_argc, [], i32),
            (__cl_get_argv_len, [arg_index: i32], i32),
            (__cl_copy_argv, [argbuf: i32, arg_index: i32], i32),
            (__get_init_envfile, [pathbuf: i32, bufsize: i32], i32),
            (__wasm_thread_spawn, [start_fn: i32, args: i32], i32),
            (setjmp, [env: i32], i32),
            (sigsetjmp, [env: i32, savesigs: i32], i32),
            (longjmp, [env: i32, val: i32], ()),
        }
    };
}

/// A wasm value type as used by WALI imports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    I32,
    I64,
}

/// Where a syscall row comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// One of the 140 syscalls of the WALI specification.
    Spec,
    /// A syscall real guests import beyond the specification.
    Extra,
}

/// One syscall import.
#[derive(Clone, Copy, Debug)]
pub struct SyscallSpec {
    /// Linux name without prefix (`"read"`); the import is `SYS_<name>`.
    pub name: &'static str,
    /// The import name, `SYS_<name>`.
    pub import: &'static str,
    /// x86-64 syscall number.
    pub nr: u32,
    pub origin: Origin,
    /// Wasm parameter types; the result is always `i64`.
    pub params: &'static [ValType],
    /// Parameter names (as in the C prototype).
    pub param_names: &'static [&'static str],
    /// The C parameter list.
    pub c_params: &'static str,
}

/// One auxiliary import.
#[derive(Clone, Copy, Debug)]
pub struct AuxSpec {
    pub name: &'static str,
    pub params: &'static [ValType],
    pub param_names: &'static [&'static str],
    /// `None` for a function without result.
    pub result: Option<ValType>,
}

/// The Rust result type of an auxiliary import whose result is `$r` in
/// [`for_each_aux!`]: `()` for none, else the value type itself. For adapter
/// glue generated from that table.
#[macro_export]
macro_rules! aux_ret {
    (()) => {
        ()
    };
    ($t:ident) => {
        $t
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __valtype {
    (i32) => {
        $crate::ValType::I32
    };
    (i64) => {
        $crate::ValType::I64
    };
    (()) => {
        None
    };
}

macro_rules! origin {
    (spec) => {
        Origin::Spec
    };
    (extra) => {
        Origin::Extra
    };
}

macro_rules! aux_result {
    (()) => {
        None
    };
    ($t:ident) => {
        Some(__valtype!($t))
    };
}

macro_rules! build_syscalls {
    ($( ($name:ident, $nr:literal, $origin:ident, [$($p:ident : $t:ident),*], $c:literal) ),* $(,)?) => {
        /// Every syscall import, in x86-64 number order within each origin.
        pub static SYSCALLS: &[SyscallSpec] = &[
            $( SyscallSpec {
                name: stringify!($name),
                import: concat!("SYS_", stringify!($name)),
                nr: $nr,
                origin: origin!($origin),
                params: &[$(__valtype!($t)),*],
                param_names: &[$(stringify!($p)),*],
                c_params: $c,
            } ),*
        ];
    };
}
for_each_syscall!(build_syscalls);

macro_rules! build_aux {
    ($( ($name:ident, [$($p:ident : $t:ident),*], $r:tt) ),* $(,)?) => {
        /// Every auxiliary import.
        pub static AUX: &[AuxSpec] = &[
            $( AuxSpec {
                name: stringify!($name),
                params: &[$(__valtype!($t)),*],
                param_names: &[$(stringify!($p)),*],
                result: aux_result!($r),
            } ),*
        ];
    };
}
for_each_aux!(build_aux);

/// Import names that the WALI specification defines as aliases of a syscall
/// of the table: `(alias import, canonical syscall name)`.
pub static ALIASES: &[(&str, &str)] = &[
    ("SYS_getdents", "getdents64"),
    ("SYS_fstatat", "newfstatat"),
];

/// Imports that wali-musl declares but a correct program never calls
/// (signal restorers, thread internals): a host defines them so a module
/// that still imports them links.
pub static INTERNAL: &[&str] = &[
    "__restore",
    "__restore_rt",
    "__clone",
    "__set_thread_area",
    "__unmapself",
    "__call_ctors",
    "__call_dtors",
];

/// The import module of every WALI import.
pub const MODULE: &str = "wali";

/// Looks a syscall up by import name (`"SYS_read"`), following aliases.
pub fn syscall_by_import(import: &str) -> Option<&'static SyscallSpec> {
    let name = ALIASES
        .iter()
        .find(|(a, _)| *a == import)
        .map(|(_, c)| *c)
        .or_else(|| import.strip_prefix("SYS_"))?;
    SYSCALLS.iter().find(|s| s.name == name)
}

/// Looks a syscall up by its Linux name (`"read"`).
pub fn syscall_by_name(name: &str) -> Option<&'static SyscallSpec> {
    SYSCALLS.iter().find(|s| s.name == name)
}

/// Looks a syscall up by its x86-64 number.
pub fn syscall_by_nr(nr: u32) -> Option<&'static SyscallSpec> {
    SYSCALLS.iter().find(|s| s.nr == nr)
}

/// Looks an auxiliary import up by name.
pub fn aux_by_name(name: &str) -> Option<&'static AuxSpec> {
    AUX.iter().find(|s| s.name == name)
}

/// Linux/wasm32 constants the WALI guest ABI fixes.
pub mod consts {
    /// `SIG_DFL` as a wasm function-table index.
    pub const WASM_SIG_DFL: u32 = 0;
    /// `SIG_ERR` as a wasm function-table index.
    pub const WASM_SIG_ERR: u32 = u32::MAX;
    /// `SIG_IGN` as a wasm function-table index.
    pub const WASM_SIG_IGN: u32 = u32::MAX - 1;
    /// Size of a wasm page.
    pub const WASM_PAGE_SIZE: usize = 65536;
    /// Maximum linear memory of a WALI guest (wasm32): 2 GiB.
    pub const MAX_MEMORY: usize = 1 << 31;
    /// `_NSIG` of the guest libc.
    pub const NSIG: u32 = 65;
    /// Size of the kernel sigset the guest passes (`sigsetsize`).
    pub const SIGSET_SIZE: usize = 8;
    /// Startup failure codes of the WALI crt, passed to `__proc_exit`.
    pub const EXIT_STARTUP: i32 = 257;
    pub const EXIT_CLEANUP: i32 = 258;
    pub const EXIT_ENV_READ: i32 = 259;
    pub const EXIT_ENV_FILENAME: i32 = 260;
    pub const EXIT_ENV_MALLOC: i32 = 261;
}

/// Syscall groups, for policies (`--deny-syscall GROUP`).
pub mod groups {
    /// Sockets and the network.
    pub const NET: &[&str] = &[
        "socket",
        "socketpair",
        "bind",
        "listen",
        "accept",
        "accept4",
        "connect",
        "sendto",
        "recvfrom",
        "sendmsg",
        "recvmsg",
        "shutdown",
        "setsockopt",
        "getsockopt",
        "getsockname",
        "getpeername",
    ];
    /// Creating and replacing processes, and acting on other processes.
    pub const PROCESS: &[&str] = &[
        "fork",
        "vfork",
        "execve",
        "execveat",
        "kill",
        "tkill",
        "tgkill",
        "wait4",
        "waitid",
        "setsid",
        "setpgid",
        "prlimit64",
        "setpriority",
        "sched_setaffinity",
        "sched_setscheduler",
    ];
    /// Signals.
    pub const SIGNAL: &[&str] = &[
        "rt_sigaction",
        "rt_sigprocmask",
        "rt_sigreturn",
        "rt_sigpending",
        "rt_sigsuspend",
        "rt_sigtimedwait",
        "sigaltstack",
        "kill",
        "tkill",
        "tgkill",
        "rt_sigqueueinfo",
        "rt_tgsigqueueinfo",
        "alarm",
        "setitimer",
        "getitimer",
        "pause",
        "signalfd",
        "signalfd4",
    ];
    /// Calls that change the file system (besides opening files for writing).
    pub const FS_WRITE: &[&str] = &[
        "creat",
        "unlink",
        "unlinkat",
        "rename",
        "renameat",
        "renameat2",
        "mkdir",
        "mkdirat",
        "rmdir",
        "link",
        "linkat",
        "symlink",
        "symlinkat",
        "chmod",
        "fchmod",
        "fchmodat",
        "chown",
        "fchown",
        "fchownat",
        "lchown",
        "truncate",
        "ftruncate",
        "utimensat",
        "utimes",
        "futimesat",
        "mknod",
        "mknodat",
        "fallocate",
        "chroot",
    ];
    /// Identity changes.
    pub const IDENTITY: &[&str] = &[
        "setuid",
        "setgid",
        "setreuid",
        "setregid",
        "setresuid",
        "setresgid",
        "setgroups",
    ];

    /// The members of a group by name (`net`, `process`, `signal`, `fs-write`, `identity`).
    pub fn by_name(name: &str) -> Option<&'static [&'static str]> {
        Some(match name {
            "net" => NET,
            "process" => PROCESS,
            "signal" => SIGNAL,
            "fs-write" => FS_WRITE,
            "identity" => IDENTITY,
            _ => return None,
        })
    }
}
