/* Identity, system information, limits, time, futex, signals basics.
 * argv[1] selects a part: "all" (safe in any host process) or "session"
 * (setsid/setpgid: run it in a process of its own). */
#include "wali.h"

WALI(SYS_getresuid) i64 sys_getresuid(u32 *r, u32 *e, u32 *s);
WALI(SYS_getresgid) i64 sys_getresgid(u32 *r, u32 *e, u32 *s);
WALI(SYS_futex) i64 sys_futex(int *uaddr, int op, int val, const void *ts, int *uaddr2, int val3);
WALI(SYS_tkill) i64 sys_tkill(int tid, int sig);
WALI(SYS_rt_sigpending) i64 sys_rt_sigpending(u64 *set, size_t sz);
WALI(SYS_sigaltstack) i64 sys_sigaltstack(const void *ss, void *old);
WALI(SYS_rt_sigreturn) i64 sys_rt_sigreturn(i64 unused);
WALI(SYS_set_robust_list) i64 sys_set_robust_list(void *head, size_t len);
WALI(SYS_sched_setscheduler) i64 sys_sched_setscheduler(int pid, int policy, const void *param);

#define ETIMEDOUT 110
#define RLIMIT_NOFILE 7
#define SIGUSR1 10
#define SIGPIPE 13
#define SIGKILL 9
#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2
#define PR_SET_NAME 15
#define PR_GET_NAME 16
#define TIMER_ABSTIME 1

static i64 now_ns(int clk) {
    struct timespec t;
    CHECK_EQ(sys_clock_gettime(clk, &t), 0);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void ids(void) {
    CHECK(sys_getpid() > 0);
    CHECK(sys_getppid() > 0);
    CHECK(sys_gettid() > 0);
    u32 r, e, s;
    CHECK_EQ(sys_getresuid(&r, &e, &s), 0);
    CHECK_EQ(r, sys_getuid());
    CHECK_EQ(e, sys_geteuid());
    CHECK_EQ(sys_getresgid(&r, &e, &s), 0);
    CHECK_EQ(r, sys_getgid());
    CHECK_EQ(e, sys_getegid());
    CHECK_EQ(sys_getresuid(&r, &e, (u32 *)0xFFFFFFF0u), -EFAULT);
    /* setting one's own ids is always allowed */
    CHECK_EQ(sys_setuid((int)sys_getuid()), 0);
    CHECK_EQ(sys_setgid((int)sys_getgid()), 0);
    CHECK_EQ(sys_setreuid(-1, -1), 0);
    CHECK_EQ(sys_setregid(-1, -1), 0);
    CHECK_EQ(sys_setresuid(-1, -1, -1), 0);
    CHECK_EQ(sys_setresgid(-1, -1, -1), 0);
    i64 n = sys_getgroups(0, NULL);
    CHECK(n >= 0);
    u32 groups[256];
    CHECK_EQ(sys_getgroups(256, groups), n);
    CHECK_EQ(sys_getgroups(-1, groups), -EINVAL);
    if (n > 0) {
        CHECK_EQ(sys_getgroups((int)n, (u32 *)0xFFFFFFF0u), -EFAULT);
        CHECK_EQ(sys_getgroups(0 < n - 1 ? 0 : 0, groups), n);
    }
    i64 sg = sys_setgroups((int)n, groups);
    CHECK(sg == 0 || sg == -EPERM);
    CHECK_EQ(sys_setgroups(1, (u32 *)0xFFFFFFF0u), -EFAULT);
    /* 0 is a real answer when the group or session leader lives outside
       our pid namespace (containers, CI runners) */
    CHECK(sys_getpgid(0) >= 0);
    CHECK_EQ(sys_getpgid(0), sys_getpgrp());
    CHECK_EQ(sys_getpgid(0), sys_getpgid(sys_getpid()));
    CHECK_EQ(sys_getpgid(-1), -ESRCH);
    CHECK(sys_getsid(0) >= 0);
    CHECK_EQ(sys_getsid(0), sys_getsid(sys_getpid()));
    CHECK_EQ(sys_getsid(-1), -ESRCH);
    CHECK_EQ(sys_setpgid(-1, 0), -EINVAL);
}

static void session(void) {
    /* a fresh process (not a group leader) may create a session */
    i64 sid = sys_setsid();
    CHECK_EQ(sid, sys_getpid());
    CHECK_EQ(sys_getsid(0), sid);
    CHECK_EQ(sys_getpgid(0), sid);
    /* a session leader cannot change its group or make a new session */
    CHECK_EQ(sys_setsid(), -EPERM);
    CHECK_EQ(sys_setpgid(0, 0), -EPERM);
}

static void system(void) {
    char uts[390];
    CHECK_EQ(sys_uname(uts), 0);
    CHECK_EQ(wstrcmp(uts, "Linux"), 0);
    CHECK(uts[260] != 0); /* machine */
    CHECK_EQ(sys_uname((void *)0xFFFFFF00u), -EFAULT);
    u8 si[368];
    CHECK_EQ(sys_sysinfo(si), 0);
    CHECK(*(u64 *)(si + 32) > 0);  /* totalram */
    CHECK(*(u32 *)(si + 104) >= 1); /* mem_unit */
    CHECK_EQ(sys_sysinfo(NULL), -EFAULT);
    u8 rnd[64] = {0};
    CHECK_EQ(sys_getrandom(rnd, sizeof rnd, 0), 64);
    int nz = 0;
    for (int i = 0; i < 64; i++) nz += rnd[i] != 0;
    CHECK(nz > 32);
    CHECK_EQ(sys_getrandom(rnd, 8, 0x100), -EINVAL);
    CHECK_EQ(sys_getrandom((void *)0xFFFFFFF0u, 64, 0), -EFAULT);
    struct rlimit rl, old;
    CHECK_EQ(sys_getrlimit(RLIMIT_NOFILE, &rl), 0);
    CHECK(rl.rlim_cur <= rl.rlim_max);
    CHECK_EQ(sys_setrlimit(RLIMIT_NOFILE, &rl), 0);
    struct rlimit bad = {rl.rlim_max + 1, rl.rlim_max};
    if (rl.rlim_max != ~0ULL) CHECK_EQ(sys_setrlimit(RLIMIT_NOFILE, &bad), -EINVAL);
    CHECK_EQ(sys_getrlimit(999, &rl), -EINVAL);
    CHECK_EQ(sys_prlimit64(0, RLIMIT_NOFILE, NULL, &old), 0);
    CHECK_EQ(old.rlim_cur, rl.rlim_cur);
    CHECK_EQ(sys_prlimit64(0, RLIMIT_NOFILE, &rl, NULL), 0);
    CHECK_EQ(sys_prlimit64(0, RLIMIT_NOFILE, NULL, (void *)0xFFFFFFF8u), -EFAULT);
    u8 ru[272];
    CHECK_EQ(sys_getrusage(0, ru), 0);
    CHECK(*(i64 *)(ru + 32) > 0); /* maxrss */
    CHECK_EQ(sys_getrusage(99, ru), -EINVAL);
    char name[16] = {0};
    CHECK_EQ(sys_prctl(PR_SET_NAME, (long)"wali-test", 0, 0, 0), 0);
    CHECK_EQ(sys_prctl(PR_GET_NAME, (long)name, 0, 0, 0), 0);
    CHECK_EQ(wstrcmp(name, "wali-test"), 0);
    CHECK_EQ(sys_prctl(PR_GET_NAME, 0xFFFFFFF8u, 0, 0, 0), -EFAULT);
    CHECK_EQ(sys_prctl(12345, 0, 0, 0, 0), -EINVAL);
    u8 mask[128] = {0};
    i64 m = sys_sched_getaffinity(0, sizeof mask, mask);
    CHECK(m > 0);
    int bits = 0;
    for (int i = 0; i < m; i++) bits += mask[i] != 0;
    CHECK(bits > 0);
    CHECK_EQ(sys_sched_getaffinity(0, 1, mask), -EINVAL);
    CHECK_EQ(sys_sched_yield(), 0);
    CHECK_EQ(sys_sched_setscheduler(0, 0, (void *)0xFFFFFFF0u), -EFAULT);
    CHECK_EQ(sys_set_robust_list(NULL, 12), 0);
    CHECK_EQ(sys_set_robust_list(NULL, 24), -EINVAL);
}

static void time(void) {
    i64 a = now_ns(CLOCK_MONOTONIC), b = now_ns(CLOCK_MONOTONIC);
    CHECK(b >= a);
    CHECK(now_ns(CLOCK_REALTIME) > 1600000000LL * 1000000000LL);
    struct timespec t;
    CHECK_EQ(sys_clock_gettime(999, &t), -EINVAL);
    CHECK_EQ(sys_clock_gettime(CLOCK_MONOTONIC, (void *)0xFFFFFFF8u), -EFAULT);
    CHECK_EQ(sys_clock_getres(CLOCK_MONOTONIC, &t), 0);
    CHECK(t.tv_sec == 0 && t.tv_nsec > 0 && t.tv_nsec <= 1000000);
    CHECK_EQ(sys_clock_getres(CLOCK_MONOTONIC, NULL), 0);
    struct timespec req = {0, 10000000};
    a = now_ns(CLOCK_MONOTONIC);
    CHECK_EQ(sys_nanosleep(&req, NULL), 0);
    CHECK(now_ns(CLOCK_MONOTONIC) - a >= 10000000);
    struct timespec badreq = {0, 1000000000};
    CHECK_EQ(sys_nanosleep(&badreq, NULL), -EINVAL);
    CHECK_EQ(sys_nanosleep(NULL, NULL), -EFAULT);
    req.tv_nsec = 5000000;
    a = now_ns(CLOCK_MONOTONIC);
    CHECK_EQ(sys_clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL), 0);
    CHECK(now_ns(CLOCK_MONOTONIC) - a >= 5000000);
    struct timespec past = {1, 0};
    CHECK_EQ(sys_clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL), 0);
    CHECK_EQ(sys_clock_nanosleep(CLOCK_MONOTONIC, 0, &badreq, NULL), -EINVAL);
    struct timeval tv;
    int tz[2];
    CHECK_EQ(sys_gettimeofday(&tv, tz), 0);
    i64 rt = now_ns(CLOCK_REALTIME) / 1000000000LL;
    CHECK(tv.tv_sec >= rt - 1 && tv.tv_sec <= rt + 1);
    CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    CHECK_EQ(sys_gettimeofday(NULL, NULL), 0);
    CHECK_EQ(sys_gettimeofday((void *)0xFFFFFFF8u, NULL), -EFAULT);
    i64 tt = 0;
    i64 r = sys_time(&tt);
    CHECK(r >= rt - 1 && r <= rt + 1);
    CHECK_EQ(tt, r);
    CHECK(sys_time(NULL) >= r);
}

static int futex_word;
static void futex(void) {
    futex_word = 5;
    CHECK_EQ(sys_futex(&futex_word, 1 /* WAKE */, 1, NULL, NULL, 0), 0);
    CHECK_EQ(sys_futex(&futex_word, 0 /* WAIT */, 4, NULL, NULL, 0), -EAGAIN);
    struct timespec ms = {0, 1000000};
    CHECK_EQ(sys_futex(&futex_word, 0 | 128 /* PRIVATE */, 5, &ms, NULL, 0), -ETIMEDOUT);
    CHECK_EQ(sys_futex((int *)((char *)&futex_word + 1), 1, 1, NULL, NULL, 0), -EINVAL);
    CHECK_EQ(sys_futex((int *)0xFFFFFFF0u, 1, 1, NULL, NULL, 0), -EFAULT);
    CHECK_EQ(sys_futex(&futex_word, 3 /* REQUEUE */, 1, (void *)1, &futex_word, 0), 0);
    int tid_word = 0;
    CHECK_EQ(sys_set_tid_address(&tid_word), sys_gettid());
}

static void signals(void) {
    CHECK_EQ(sys_kill((int)sys_getpid(), 0), 0);
    CHECK_EQ(sys_kill((int)sys_getpid(), 999), -EINVAL);
    CHECK_EQ(sys_kill(0x7ffffff0, 0), -ESRCH);
    /* SIGPIPE ignored: writing to a pipe without reader is EPIPE */
    u8 act[24] = {0}, old[24];
    *(u32 *)act = 0xFFFFFFFEu; /* SIG_IGN */
    CHECK_EQ(sys_rt_sigaction(SIGPIPE, act, old, 8), 0);
    CHECK_EQ(sys_rt_sigaction(SIGPIPE, NULL, old, 8), 0);
    CHECK_EQ(*(u32 *)old, 0xFFFFFFFEu);
    int p[2];
    CHECK_EQ(sys_pipe(p), 0);
    sys_close(p[0]);
    CHECK_EQ(sys_write(p[1], "x", 1), -EPIPE);
    sys_close(p[1]);
    *(u32 *)act = 0; /* SIG_DFL */
    CHECK_EQ(sys_rt_sigaction(SIGPIPE, act, NULL, 8), 0);
    CHECK_EQ(sys_rt_sigaction(SIGKILL, act, NULL, 8), -EINVAL);
    CHECK_EQ(sys_rt_sigaction(SIGPIPE, act, NULL, 4), -EINVAL);
    CHECK_EQ(sys_rt_sigaction(0, NULL, old, 8), -EINVAL);
    CHECK_EQ(sys_rt_sigaction(SIGPIPE, (void *)0xFFFFFFF0u, NULL, 8), -EFAULT);
    /* mask: block SIGUSR1, raise it, see it pending, then ignore and unblock */
    u64 set = 1ULL << (SIGUSR1 - 1), oldset = 0, pend = 0;
    CHECK_EQ(sys_rt_sigprocmask(SIG_BLOCK, &set, &oldset, 8), 0);
    CHECK_EQ(sys_tkill((int)sys_gettid(), SIGUSR1), 0);
    CHECK_EQ(sys_rt_sigpending(&pend, 8), 0);
    CHECK(pend & set);
    *(u32 *)act = 0xFFFFFFFEu;
    CHECK_EQ(sys_rt_sigaction(SIGUSR1, act, NULL, 8), 0);
    CHECK_EQ(sys_rt_sigprocmask(SIG_SETMASK, &oldset, NULL, 8), 0);
    *(u32 *)act = 0;
    CHECK_EQ(sys_rt_sigaction(SIGUSR1, act, NULL, 8), 0);
    CHECK_EQ(sys_rt_sigprocmask(SIG_BLOCK, NULL, &oldset, 8), 0);
    CHECK_EQ(oldset & set, 0);
    CHECK_EQ(sys_rt_sigprocmask(SIG_BLOCK, &set, NULL, 16), -EINVAL);
    CHECK_EQ(sys_rt_sigprocmask(99, &set, NULL, 8), -EINVAL);
    CHECK_EQ(sys_rt_sigprocmask(SIG_BLOCK, (void *)0xFFFFFFF8u, NULL, 8), -EFAULT);
    CHECK_EQ(sys_rt_sigreturn(0), -ENOSYS);
    /* sigaltstack: recorded and read back */
    u32 ss[3], oss[3];
    CHECK_EQ(sys_sigaltstack(NULL, oss), 0);
    CHECK_EQ(oss[1], 2 /* SS_DISABLE */);
    static u8 stack[8192];
    ss[0] = (u32)(long)stack; ss[1] = 0; ss[2] = sizeof stack;
    CHECK_EQ(sys_sigaltstack(ss, NULL), 0);
    CHECK_EQ(sys_sigaltstack(NULL, oss), 0);
    CHECK_EQ(oss[0], ss[0]);
    CHECK_EQ(oss[2], sizeof stack);
    ss[2] = 100;
    CHECK_EQ(sys_sigaltstack(ss, NULL), -ENOMEM);
    ss[1] = 77;
    CHECK_EQ(sys_sigaltstack(ss, NULL), -EINVAL);
}

static void lifecycle(int argc, char **argv) {
    CHECK_EQ(__init(), 1); /* a second initialisation is refused */
    CHECK_EQ(__cl_get_argc(), (unsigned)argc);
    CHECK_EQ(__cl_get_argv_len(0), wstrlen(argv[0]));
    CHECK_EQ((int)__cl_get_argv_len(argc), -1);
    CHECK_EQ(__cl_copy_argv(NULL, 0), -1);
    char tmp[8];
    CHECK_EQ(__cl_copy_argv(tmp, argc + 5), -1);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (!wstrcmp(argv[1], "session")) {
        session();
        return 0;
    }
    ids();
    system();
    time();
    futex();
    signals();
    lifecycle(argc, argv);
    return 0;
}
