/* wali.h: a freestanding header for test guests that call WALI imports
 * directly (no libc). Build with build.sh (clang-19, --target=wasm32).
 *
 * Every syscall import returns the Linux result: the value, or -errno.
 * A guest defines `int main(int argc, char **argv)`; this header provides
 * `_start` (the WALI crt sequence: __init, argv, main, __proc_exit),
 * a bump allocator, string helpers and a CHECK macro that reports the
 * failing line on stderr and exits with status 1. */
#ifndef WALI_H
#define WALI_H

typedef unsigned long size_t;
typedef long ssize_t;
typedef long long i64;
typedef unsigned long long u64;
typedef int i32;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
#define NULL ((void *)0)

#define WALI(name) __attribute__((import_module("wali"), import_name(#name)))

/* syscalls (types from the WALI table: pointers/int -> i32, long/off_t -> i64) */
#define SYS0(n) WALI(SYS_##n) i64 sys_##n(void);
SYS0(getpid) SYS0(getppid) SYS0(gettid) SYS0(getuid) SYS0(geteuid) SYS0(getgid)
SYS0(getegid) SYS0(setsid) SYS0(sched_yield) SYS0(fork) SYS0(getpgrp) SYS0(pause) SYS0(sync)
WALI(SYS_read) i64 sys_read(int fd, void *buf, size_t n);
WALI(SYS_write) i64 sys_write(int fd, const void *buf, size_t n);
WALI(SYS_open) i64 sys_open(const char *p, int flags, int mode);
WALI(SYS_openat) i64 sys_openat(int dirfd, const char *p, int flags, int mode);
WALI(SYS_creat) i64 sys_creat(const char *p, int mode);
WALI(SYS_close) i64 sys_close(int fd);
WALI(SYS_stat) i64 sys_stat(const char *p, void *st);
WALI(SYS_fstat) i64 sys_fstat(int fd, void *st);
WALI(SYS_lstat) i64 sys_lstat(const char *p, void *st);
WALI(SYS_newfstatat) i64 sys_newfstatat(int dirfd, const char *p, void *st, int flags);
WALI(SYS_statx) i64 sys_statx(int dirfd, const char *p, int flags, unsigned mask, void *buf);
WALI(SYS_statfs) i64 sys_statfs(const char *p, void *buf);
WALI(SYS_fstatfs) i64 sys_fstatfs(int fd, void *buf);
WALI(SYS_lseek) i64 sys_lseek(int fd, i64 off, int whence);
WALI(SYS_pread64) i64 sys_pread64(int fd, void *buf, size_t n, i64 off);
WALI(SYS_pwrite64) i64 sys_pwrite64(int fd, const void *buf, size_t n, i64 off);
WALI(SYS_readv) i64 sys_readv(int fd, const void *iov, int cnt);
WALI(SYS_writev) i64 sys_writev(int fd, const void *iov, int cnt);
WALI(SYS_getdents64) i64 sys_getdents64(int fd, void *buf, int n);
WALI(SYS_fcntl) i64 sys_fcntl(int fd, int cmd, i64 arg);
WALI(SYS_flock) i64 sys_flock(int fd, int op);
WALI(SYS_dup) i64 sys_dup(int fd);
WALI(SYS_dup2) i64 sys_dup2(int fd, int nfd);
WALI(SYS_dup3) i64 sys_dup3(int fd, int nfd, int flags);
WALI(SYS_pipe) i64 sys_pipe(int *fds);
WALI(SYS_pipe2) i64 sys_pipe2(int *fds, int flags);
WALI(SYS_unlink) i64 sys_unlink(const char *p);
WALI(SYS_unlinkat) i64 sys_unlinkat(int dirfd, const char *p, int flags);
WALI(SYS_rename) i64 sys_rename(const char *a, const char *b);
WALI(SYS_renameat2) i64 sys_renameat2(int da, const char *a, int db, const char *b, int flags);
WALI(SYS_mkdir) i64 sys_mkdir(const char *p, int mode);
WALI(SYS_mkdirat) i64 sys_mkdirat(int dirfd, const char *p, int mode);
WALI(SYS_rmdir) i64 sys_rmdir(const char *p);
WALI(SYS_link) i64 sys_link(const char *a, const char *b);
WALI(SYS_linkat) i64 sys_linkat(int da, const char *a, int db, const char *b, int flags);
WALI(SYS_symlink) i64 sys_symlink(const char *t, const char *l);
WALI(SYS_symlinkat) i64 sys_symlinkat(const char *t, int dirfd, const char *l);
WALI(SYS_readlink) i64 sys_readlink(const char *p, char *buf, size_t n);
WALI(SYS_readlinkat) i64 sys_readlinkat(int dirfd, const char *p, char *buf, size_t n);
WALI(SYS_chdir) i64 sys_chdir(const char *p);
WALI(SYS_fchdir) i64 sys_fchdir(int fd);
WALI(SYS_getcwd) i64 sys_getcwd(char *buf, size_t n);
WALI(SYS_access) i64 sys_access(const char *p, int mode);
WALI(SYS_faccessat) i64 sys_faccessat(int dirfd, const char *p, int mode, int flags);
WALI(SYS_faccessat2) i64 sys_faccessat2(int dirfd, const char *p, int mode, int flags);
WALI(SYS_chmod) i64 sys_chmod(const char *p, int mode);
WALI(SYS_fchmod) i64 sys_fchmod(int fd, int mode);
WALI(SYS_fchmodat) i64 sys_fchmodat(int dirfd, const char *p, int mode, int flags);
WALI(SYS_chown) i64 sys_chown(const char *p, int u, int g);
WALI(SYS_fchown) i64 sys_fchown(int fd, int u, int g);
WALI(SYS_fchownat) i64 sys_fchownat(int dirfd, const char *p, int u, int g, int flags);
WALI(SYS_lchown) i64 sys_lchown(const char *p, int u, int g);
WALI(SYS_umask) i64 sys_umask(int m);
WALI(SYS_truncate) i64 sys_truncate(const char *p, i64 len);
WALI(SYS_ftruncate) i64 sys_ftruncate(int fd, i64 len);
WALI(SYS_fsync) i64 sys_fsync(int fd);
WALI(SYS_fdatasync) i64 sys_fdatasync(int fd);
WALI(SYS_fadvise) i64 sys_fadvise(int fd, i64 off, i64 len, int advice);
WALI(SYS_utimensat) i64 sys_utimensat(int dirfd, const char *p, const void *ts, int flags);
WALI(SYS_utimes) i64 sys_utimes(const char *p, const void *tv);
WALI(SYS_futimesat) i64 sys_futimesat(int dirfd, const char *p, const void *tv);
WALI(SYS_chroot) i64 sys_chroot(const char *p);
WALI(SYS_mmap) i64 sys_mmap(void *addr, size_t len, int prot, int flags, int fd, i64 off);
WALI(SYS_munmap) i64 sys_munmap(void *addr, size_t len);
WALI(SYS_mremap) i64 sys_mremap(void *old, size_t olen, size_t nlen, int flags, void *naddr);
WALI(SYS_mprotect) i64 sys_mprotect(void *addr, size_t len, int prot);
WALI(SYS_madvise) i64 sys_madvise(void *addr, size_t len, int advice);
WALI(SYS_msync) i64 sys_msync(void *addr, size_t len, int flags);
WALI(SYS_brk) i64 sys_brk(void *addr);
WALI(SYS_clock_gettime) i64 sys_clock_gettime(int clk, void *ts);
WALI(SYS_clock_getres) i64 sys_clock_getres(int clk, void *ts);
WALI(SYS_nanosleep) i64 sys_nanosleep(const void *req, void *rem);
WALI(SYS_clock_nanosleep) i64 sys_clock_nanosleep(int clk, int flags, const void *req, void *rem);
WALI(SYS_gettimeofday) i64 sys_gettimeofday(void *tv, void *tz);
WALI(SYS_time) i64 sys_time(i64 *t);
WALI(SYS_setuid) i64 sys_setuid(int id);
WALI(SYS_setgid) i64 sys_setgid(int id);
WALI(SYS_setreuid) i64 sys_setreuid(int a, int b);
WALI(SYS_setregid) i64 sys_setregid(int a, int b);
WALI(SYS_setresuid) i64 sys_setresuid(int a, int b, int c);
WALI(SYS_setresgid) i64 sys_setresgid(int a, int b, int c);
WALI(SYS_getgroups) i64 sys_getgroups(int n, u32 *list);
WALI(SYS_setgroups) i64 sys_setgroups(int n, const u32 *list);
WALI(SYS_getpgid) i64 sys_getpgid(int pid);
WALI(SYS_setpgid) i64 sys_setpgid(int pid, int pgid);
WALI(SYS_getsid) i64 sys_getsid(int pid);
WALI(SYS_uname) i64 sys_uname(void *buf);
WALI(SYS_sysinfo) i64 sys_sysinfo(void *buf);
WALI(SYS_getrandom) i64 sys_getrandom(void *buf, size_t n, int flags);
WALI(SYS_getrlimit) i64 sys_getrlimit(int res, void *rl);
WALI(SYS_setrlimit) i64 sys_setrlimit(int res, const void *rl);
WALI(SYS_prlimit64) i64 sys_prlimit64(int pid, int res, const void *nl, void *ol);
WALI(SYS_getrusage) i64 sys_getrusage(int who, void *ru);
WALI(SYS_prctl) i64 sys_prctl(int op, i64 a, i64 b, i64 c, i64 d);
WALI(SYS_sched_getaffinity) i64 sys_sched_getaffinity(int pid, size_t n, void *mask);
WALI(SYS_ioctl) i64 sys_ioctl(int fd, int req, void *arg);
WALI(SYS_poll) i64 sys_poll(void *fds, i64 n, int timeout);
WALI(SYS_ppoll) i64 sys_ppoll(void *fds, i64 n, const void *ts, const void *mask, size_t sz);
WALI(SYS_select) i64 sys_select(int n, void *r, void *w, void *e, void *tv);
WALI(SYS_pselect6) i64 sys_pselect6(int n, void *r, void *w, void *e, void *ts, void *mask);
WALI(SYS_socket) i64 sys_socket(int d, int t, int p);
WALI(SYS_socketpair) i64 sys_socketpair(int d, int t, int p, int *sv);
WALI(SYS_bind) i64 sys_bind(int fd, const void *a, u32 len);
WALI(SYS_listen) i64 sys_listen(int fd, int backlog);
WALI(SYS_accept) i64 sys_accept(int fd, void *a, u32 *len);
WALI(SYS_accept4) i64 sys_accept4(int fd, void *a, u32 *len, int flags);
WALI(SYS_connect) i64 sys_connect(int fd, const void *a, u32 len);
WALI(SYS_sendto) i64 sys_sendto(int fd, const void *b, size_t n, int flags, const void *a, u32 len);
WALI(SYS_recvfrom) i64 sys_recvfrom(int fd, void *b, size_t n, int flags, void *a, u32 *len);
WALI(SYS_sendmsg) i64 sys_sendmsg(int fd, const void *msg, int flags);
WALI(SYS_recvmsg) i64 sys_recvmsg(int fd, void *msg, int flags);
WALI(SYS_shutdown) i64 sys_shutdown(int fd, int how);
WALI(SYS_setsockopt) i64 sys_setsockopt(int fd, int lvl, int name, const void *v, u32 len);
WALI(SYS_getsockopt) i64 sys_getsockopt(int fd, int lvl, int name, void *v, u32 *len);
WALI(SYS_getsockname) i64 sys_getsockname(int fd, void *a, u32 *len);
WALI(SYS_getpeername) i64 sys_getpeername(int fd, void *a, u32 *len);
WALI(SYS_epoll_create) i64 sys_epoll_create(int size);
WALI(SYS_epoll_create1) i64 sys_epoll_create1(int flags);
WALI(SYS_epoll_ctl) i64 sys_epoll_ctl(int ep, int op, int fd, void *ev);
WALI(SYS_epoll_wait) i64 sys_epoll_wait(int ep, void *ev, int n, int timeout);
WALI(SYS_epoll_pwait) i64 sys_epoll_pwait(int ep, void *ev, int n, int timeout, const void *mask, size_t sz);
WALI(SYS_eventfd) i64 sys_eventfd(int init);
WALI(SYS_eventfd2) i64 sys_eventfd2(int init, int flags);
WALI(SYS_exit) i64 sys_exit(int code);
WALI(SYS_exit_group) i64 sys_exit_group(int code);
WALI(SYS_kill) i64 sys_kill(int pid, int sig);
WALI(SYS_rt_sigaction) i64 sys_rt_sigaction(int sig, const void *act, void *old, size_t sz);
WALI(SYS_rt_sigprocmask) i64 sys_rt_sigprocmask(int how, const void *set, void *old, size_t sz);
WALI(SYS_set_tid_address) i64 sys_set_tid_address(int *p);

/* auxiliary imports */
WALI(__init) int __init(void);
WALI(__deinit) int __deinit(void);
WALI(__proc_exit) void __proc_exit(int code);
WALI(__cl_get_argc) unsigned __cl_get_argc(void);
WALI(__cl_get_argv_len) unsigned __cl_get_argv_len(unsigned i);
WALI(__cl_copy_argv) int __cl_copy_argv(char *buf, unsigned i);
WALI(__get_init_envfile) int __get_init_envfile(char *buf, unsigned size);

/* Linux constants (x86-64 values, which WALI uses) */
#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EINTR 4
#define EBADF 9
#define ECHILD 10
#define EAGAIN 11
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EEXIST 17
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define ENOTTY 25
#define ESPIPE 29
#define EPIPE 32
#define ERANGE 34
#define ENAMETOOLONG 36
#define ENOSYS 38
#define ENOTEMPTY 39
#define ELOOP 40
#define ENOTSOCK 88
#define EOPNOTSUPP 95
#define EAFNOSUPPORT 97
#define EADDRINUSE 98
#define ECONNREFUSED 111
#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_CREAT 0100
#define O_EXCL 0200
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_DIRECTORY 0200000
#define O_NOFOLLOW 0400000
#define O_CLOEXEC 02000000
#define AT_FDCWD (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_REMOVEDIR 0x200
#define AT_EMPTY_PATH 0x1000
#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#define F_DUPFD_CLOEXEC 1030
#define FD_CLOEXEC 1
#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_SHARED 1
#define MAP_PRIVATE 2
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_FIXED_NOREPLACE 0x100000
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define MS_SYNC 4
#define MADV_DONTNEED 4
#define S_IFMT 0170000
#define S_IFDIR 0040000
#define S_IFREG 0100000
#define S_IFLNK 0120000
#define S_IFIFO 0010000
#define S_IFSOCK 0140000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_NONBLOCK 04000
#define SOCK_CLOEXEC 02000000
#define SOL_SOCKET 1
#define SO_REUSEADDR 2
#define SO_TYPE 3
#define SO_RCVBUF 8
#define SCM_RIGHTS 1
#define POLLIN 1
#define POLLOUT 4
#define POLLHUP 0x10
#define POLLNVAL 0x20
#define EPOLLIN 1
#define EPOLLOUT 4
#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1

struct timespec { i64 tv_sec; i64 tv_nsec; };
struct timeval { i64 tv_sec; i64 tv_usec; };
struct iovec { void *iov_base; size_t iov_len; };
struct stat {
    u64 st_dev, st_ino, st_nlink;
    u32 st_mode, st_uid, st_gid, __pad0;
    u64 st_rdev;
    i64 st_size, st_blksize, st_blocks;
    struct timespec st_atim, st_mtim, st_ctim;
    i64 __unused[3];
};
struct pollfd { int fd; short events, revents; };
struct sockaddr_in { u16 sin_family; u16 sin_port; u32 sin_addr; u8 sin_zero[8]; };
struct sockaddr_un { u16 sun_family; char sun_path[108]; };
struct msghdr {
    void *msg_name; u32 msg_namelen; struct iovec *msg_iov; int msg_iovlen, __pad1;
    void *msg_control; u32 msg_controllen; int __pad2; int msg_flags;
};
struct cmsghdr { u32 cmsg_len; int __pad; int cmsg_level; int cmsg_type; };
struct epoll_event { u32 events; u64 data; } __attribute__((packed));
struct flock { short l_type, l_whence; i64 l_start, l_len; int l_pid; };
struct rlimit { u64 rlim_cur, rlim_max; };

/* helpers */
static inline size_t wstrlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
static inline int wstrcmp(const char *a, const char *b) {
    while (*a && *a == *b) { a++; b++; }
    return (unsigned char)*a - (unsigned char)*b;
}
static inline int wmemcmp(const void *a, const void *b, size_t n) {
    const u8 *x = a, *y = b;
    for (size_t i = 0; i < n; i++) if (x[i] != y[i]) return x[i] - y[i];
    return 0;
}
static inline void puts_fd(int fd, const char *s) { sys_write(fd, s, wstrlen(s)); }
static inline i64 watoi(const char *s) {
    i64 v = 0, neg = *s == '-';
    for (s += neg; *s >= '0' && *s <= '9'; s++) v = v * 10 + (*s - '0');
    return neg ? -v : v;
}
static inline void put_i64(int fd, i64 v) {
    char b[24]; int i = 23; int neg = v < 0; u64 u = neg ? -(u64)v : (u64)v;
    b[i] = 0;
    do { b[--i] = '0' + u % 10; u /= 10; } while (u);
    if (neg) b[--i] = '-';
    puts_fd(fd, b + i);
}
static inline u16 htons(u16 v) { return (u16)((v << 8) | (v >> 8)); }

extern unsigned char __heap_base;
static unsigned long heap_top;
static void *wmalloc(size_t n) {
    if (!heap_top) heap_top = (unsigned long)&__heap_base;
    heap_top = (heap_top + 15) & ~15UL;
    void *p = (void *)heap_top;
    heap_top += n;
    unsigned long pages = __builtin_wasm_memory_size(0);
    if (heap_top > pages * 65536) __builtin_wasm_memory_grow(0, (heap_top - pages * 65536 + 65535) / 65536);
    return p;
}

static int checks_failed;
/* CHECK(cond): on failure print the line and the expression, and count it. */
#define CHECK(c) do { if (!(c)) { puts_fd(2, __FILE__ ":"); put_i64(2, __LINE__); \
    puts_fd(2, ": CHECK failed: " #c "\n"); checks_failed++; } } while (0)
/* CHECK_EQ(a, b) prints both values on failure. */
#define CHECK_EQ(a, b) do { i64 _a = (i64)(a), _b = (i64)(b); if (_a != _b) { \
    puts_fd(2, __FILE__ ":"); put_i64(2, __LINE__); puts_fd(2, ": " #a " == " #b ": got "); \
    put_i64(2, _a); puts_fd(2, ", expected "); put_i64(2, _b); puts_fd(2, "\n"); checks_failed++; } } while (0)

int main(int argc, char **argv);

__attribute__((export_name("_start"))) void _start(void) {
    int code = __init();
    if (code == 0) {
        unsigned argc = __cl_get_argc();
        char **argv = wmalloc((argc + 1) * sizeof(char *));
        for (unsigned i = 0; i < argc; i++) {
            argv[i] = wmalloc(__cl_get_argv_len(i) + 1);
            __cl_copy_argv(argv[i], i);
        }
        argv[argc] = NULL;
        code = main((int)argc, argv);
        if (code == 0 && checks_failed) code = 1;
        if (code == 0) code = __deinit();
    }
    __proc_exit(code);
}

#endif
