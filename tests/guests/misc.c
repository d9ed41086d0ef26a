/* The less common calls: timerfd, memfd_create, sendfile, fallocate,
 * preadv/pwritev, close_range, times, priorities, affinity, alarm and
 * itimers, rt_sigtimedwait, waitid, sync/syncfs, mknod (FIFO), creat,
 * fadvise. argv[1]: a scratch directory. */
#include "wali.h"

WALI(SYS_timerfd_create) i64 sys_timerfd_create(int clk, int flags);
WALI(SYS_timerfd_settime) i64 sys_timerfd_settime(int fd, int flags, const void *nv, void *ov);
WALI(SYS_timerfd_gettime) i64 sys_timerfd_gettime(int fd, void *cur);
WALI(SYS_memfd_create) i64 sys_memfd_create(const char *name, unsigned flags);
WALI(SYS_sendfile) i64 sys_sendfile(int out, int in, i64 *off, size_t n);
WALI(SYS_fallocate) i64 sys_fallocate(int fd, int mode, i64 off, i64 len);
WALI(SYS_preadv) i64 sys_preadv(int fd, const void *iov, int cnt, i64 lo, i64 hi);
WALI(SYS_pwritev) i64 sys_pwritev(int fd, const void *iov, int cnt, i64 lo, i64 hi);
WALI(SYS_close_range) i64 sys_close_range(unsigned a, unsigned b, unsigned flags);
WALI(SYS_times) i64 sys_times(void *buf);
WALI(SYS_getpriority) i64 sys_getpriority(int which, int who);
WALI(SYS_setpriority) i64 sys_setpriority(int which, int who, int prio);
WALI(SYS_sched_setaffinity) i64 sys_sched_setaffinity(int pid, size_t n, const void *mask);
WALI(SYS_alarm) i64 sys_alarm(unsigned s);
WALI(SYS_getitimer) i64 sys_getitimer(int which, void *cur);
WALI(SYS_setitimer) i64 sys_setitimer(int which, const void *nv, void *ov);
WALI(SYS_rt_sigtimedwait) i64 sys_rt_sigtimedwait(const u64 *set, void *info, const void *ts, size_t sz);
WALI(SYS_waitid) i64 sys_waitid(int idtype, int id, void *info, int options, void *ru);
WALI(SYS_syncfs) i64 sys_syncfs(int fd);
WALI(SYS_mknod) i64 sys_mknod(const char *p, int mode, int dev);
WALI(SYS_tkill) i64 sys_tkill(int tid, int sig);
WALI(SYS_mlockall) i64 sys_mlockall(int flags);

static char path[512];
static const char *at(const char *dir, const char *name) {
    size_t n = wstrlen(dir), m = wstrlen(name);
    for (size_t i = 0; i < n; i++) path[i] = dir[i];
    path[n] = '/';
    for (size_t i = 0; i <= m; i++) path[n + 1 + i] = name[i];
    return path;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *dir = argv[1];
    /* timerfd */
    int t = (int)sys_timerfd_create(CLOCK_MONOTONIC, 0);
    CHECK(t >= 0);
    i64 its[4] = {0, 0, 0, 5000000}; /* 5 ms once */
    CHECK_EQ(sys_timerfd_settime(t, 0, its, NULL), 0);
    u64 ticks = 0;
    CHECK_EQ(sys_read(t, &ticks, 8), 8);
    CHECK_EQ(ticks, 1);
    i64 cur[4];
    CHECK_EQ(sys_timerfd_gettime(t, cur), 0);
    CHECK_EQ(sys_timerfd_settime(t, 0, (void *)0xFFFFFFF0u, NULL), -EFAULT);
    CHECK_EQ(sys_timerfd_create(12345, 0), -EINVAL);
    sys_close(t);
    /* memfd, pwritev/preadv, fallocate, sendfile */
    int m = (int)sys_memfd_create("wali-misc", 0);
    CHECK(m >= 0);
    char a[3] = "ab", b[4] = "cde";
    struct iovec wv[2] = {{a, 2}, {b, 3}};
    CHECK_EQ(sys_pwritev(m, wv, 2, 10, 0), 5);
    char r1[2], r2[3];
    struct iovec rv[2] = {{r1, 2}, {r2, 3}};
    CHECK_EQ(sys_preadv(m, rv, 2, 10, 0), 5);
    CHECK_EQ(wmemcmp(r1, "ab", 2) | wmemcmp(r2, "cde", 3), 0);
    CHECK_EQ(sys_fallocate(m, 0, 0, 8192), 0);
    struct stat st;
    CHECK_EQ(sys_fstat(m, &st), 0);
    CHECK_EQ(st.st_size, 8192);
    CHECK_EQ(sys_fallocate(-1, 0, 0, 1), -EBADF);
    int dst = (int)sys_open(at(dir, "copy"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    i64 off = 10;
    CHECK_EQ(sys_sendfile(dst, m, &off, 5), 5);
    CHECK_EQ(off, 15);
    char back[5];
    CHECK_EQ(sys_pread64(dst, back, 5, 0), 5);
    CHECK_EQ(wmemcmp(back, "abcde", 5), 0);
    CHECK_EQ(sys_sendfile(dst, m, (i64 *)0xFFFFFFF0u, 5), -EFAULT);
    CHECK_EQ(sys_fadvise(dst, 0, 0, 0), 0);
    CHECK_EQ(sys_fadvise(dst, 0, 0, 99), -EINVAL);
    CHECK_EQ(sys_syncfs(dst), 0);
    CHECK_EQ(sys_sync(), 0);
    /* close_range: close the two, then they are gone */
    int lo = m < dst ? m : dst, hi = m < dst ? dst : m;
    CHECK_EQ(sys_close_range(lo, hi, 0), 0);
    CHECK_EQ(sys_close(m), -EBADF);
    CHECK_EQ(sys_close_range(5, 2, 0), -EINVAL);
    /* creat, mknod (FIFO) */
    int c = (int)sys_creat(at(dir, "c"), 0600);
    CHECK(c >= 0);
    sys_close(c);
    CHECK_EQ(sys_mknod(at(dir, "fifo"), 0010000 | 0600, 0), 0);
    CHECK_EQ(sys_stat(path, &st), 0);
    CHECK_EQ(st.st_mode & S_IFMT, S_IFIFO);
    CHECK_EQ(sys_mknod(path, 0010000 | 0600, 0), -EEXIST);
    /* times, priorities, affinity */
    i64 tms[4];
    CHECK(sys_times(tms) > 0);
    CHECK(sys_times(NULL) > 0);
    i64 prio = sys_getpriority(0, 0); /* 20 - nice */
    CHECK(prio >= 1 && prio <= 40);
    CHECK_EQ(sys_setpriority(0, 0, (int)(20 - prio)), 0);
    CHECK_EQ(sys_getpriority(99, 0), -EINVAL);
    u8 mask[128] = {0};
    i64 msz = sys_sched_getaffinity(0, sizeof mask, mask);
    CHECK(msz > 0);
    CHECK_EQ(sys_sched_setaffinity(0, (size_t)msz, mask), 0);
    CHECK_EQ(sys_sched_setaffinity(0, 8, (void *)0xFFFFFFF8u + 4), -EFAULT);
    /* alarm and itimers */
    CHECK_EQ(sys_alarm(100), 0);
    CHECK(sys_alarm(0) >= 99);
    i64 it[4];
    CHECK_EQ(sys_getitimer(0, it), 0);
    CHECK_EQ(it[2] | it[3], 0);
    CHECK_EQ(sys_getitimer(7, it), -EINVAL);
    /* rt_sigtimedwait takes a blocked pending signal */
    u64 set = 1ULL << (10 - 1), old;
    sys_rt_sigprocmask(0, &set, &old, 8);
    sys_tkill((int)sys_gettid(), 10);
    u8 info[128];
    struct timespec zero = {0, 0};
    CHECK_EQ(sys_rt_sigtimedwait(&set, info, &zero, 8), 10);
    CHECK_EQ(*(int *)info, 10);
    CHECK_EQ(sys_rt_sigtimedwait(&set, NULL, &zero, 8), -EAGAIN);
    sys_rt_sigprocmask(2, &old, NULL, 8);
    /* waitid */
    i64 pid = sys_fork();
    if (pid == 0) sys_exit_group(9);
    u8 si[128] = {0};
    CHECK_EQ(sys_waitid(1 /* P_PID */, (int)pid, si, 4 /* WEXITED */, NULL), 0);
    CHECK_EQ(*(int *)(si + 24), 9); /* si_status */
    CHECK_EQ(sys_waitid(1, (int)pid, si, 4, NULL), -ECHILD);
    /* not provided: ENOSYS, not a crash */
    CHECK_EQ(sys_mlockall(1), -ENOSYS);
    return 0;
}
