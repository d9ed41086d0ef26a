/* Guest signal handlers: delivery on syscall return, in a compute loop,
 * during blocking calls (EINTR / SA_RESTART), masks, SA_SIGINFO,
 * SA_RESETHAND, longjmp out of a handler.
 *   signals.wasm all     every check; exit 0
 *   signals.wasm spin    installs nothing and spins (killed from outside) */
#include "wali.h"

WALI(SYS_setitimer) i64 sys_setitimer(int which, const void *nv, void *ov);
WALI(SYS_tkill) i64 sys_tkill(int tid, int sig);
WALI(SYS_wait4) i64 sys_wait4(int pid, int *st, int opt, void *ru);
typedef struct { unsigned long long jb[26]; unsigned long long fl; unsigned long long ss[16]; } jmp_buf[1];
__attribute__((import_module("wali"), import_name("sigsetjmp"), returns_twice)) int sigsetjmp(jmp_buf env, int savesigs);
__attribute__((import_module("wali"), import_name("longjmp"), noreturn)) void siglongjmp(jmp_buf env, int val);

#define SIGUSR1 10
#define SIGUSR2 12
#define SIGALRM 14
#define SA_SIGINFO 4
#define SA_RESTART 0x10000000
#define SA_RESETHAND 0x80000000
#define SA_NODEFER 0x40000000
#define SA_RESTORER 0x04000000
#define ITIMER_REAL 0

struct ksa { u32 handler; u64 flags; u32 restorer; u64 mask; } __attribute__((packed));
static volatile int hits, last_sig, depth_max, depth, info_ok;
static volatile u64 mask_in_handler;

static u64 mask_now(void) { u64 m = 0; sys_rt_sigprocmask(0, NULL, &m, 8); return m; }
static void on_sig(int s) {
    depth++;
    if (depth > depth_max) depth_max = depth;
    hits++;
    last_sig = s;
    mask_in_handler = mask_now();
    depth--;
}
static void on_info(int s, void *info, void *uc) {
    int *i = info;
    info_ok = (i[0] == s && i[4] == (int)sys_getpid() && uc != NULL);
    hits++;
}
static int install(int sig, void *h, u64 flags, u64 mask) {
    struct ksa a = {(u32)(unsigned long)h, flags | SA_RESTORER, 0, mask};
    return (int)sys_rt_sigaction(sig, &a, NULL, 8);
}
static void alarm_in(long usec) {
    i64 it[4] = {0, 0, usec / 1000000, usec % 1000000};
    sys_setitimer(ITIMER_REAL, it, NULL);
}

static void basic(void) {
    CHECK_EQ(install(SIGUSR1, on_sig, 0, 1ULL << (SIGUSR2 - 1)), 0);
    hits = 0;
    CHECK_EQ(sys_kill((int)sys_getpid(), SIGUSR1), 0);
    CHECK_EQ(hits, 1);                 /* delivered before kill() returned */
    CHECK_EQ(last_sig, SIGUSR1);
    CHECK(mask_in_handler & (1ULL << (SIGUSR1 - 1)));  /* the signal itself */
    CHECK(mask_in_handler & (1ULL << (SIGUSR2 - 1)));  /* sa_mask */
    CHECK(!(mask_now() & (1ULL << (SIGUSR1 - 1))));    /* restored */
    /* blocked: pending, delivered at unblock */
    u64 b = 1ULL << (SIGUSR1 - 1);
    hits = 0;
    sys_rt_sigprocmask(0, &b, NULL, 8);
    sys_tkill((int)sys_gettid(), SIGUSR1);
    CHECK_EQ(hits, 0);
    sys_rt_sigprocmask(1, &b, NULL, 8);
    CHECK_EQ(hits, 1);
    /* oldact reads the handler back */
    struct ksa old;
    CHECK_EQ(sys_rt_sigaction(SIGUSR1, NULL, &old, 8), 0);
    CHECK_EQ(old.handler, (u32)(unsigned long)on_sig);
    /* SA_SIGINFO */
    CHECK_EQ(install(SIGUSR2, on_info, SA_SIGINFO, 0), 0);
    hits = 0;
    sys_kill((int)sys_getpid(), SIGUSR2);
    CHECK_EQ(hits, 1);
    CHECK(info_ok);
    /* SA_RESETHAND: the second signal finds SIG_DFL -> ignore it safely by blocking check */
    CHECK_EQ(install(SIGUSR1, on_sig, SA_RESETHAND, 0), 0);
    hits = 0;
    sys_kill((int)sys_getpid(), SIGUSR1);
    CHECK_EQ(hits, 1);
    CHECK_EQ(sys_rt_sigaction(SIGUSR1, NULL, &old, 8), 0);
    CHECK_EQ(old.handler, 0);
}

static void compute(void) {
    CHECK_EQ(install(SIGALRM, on_sig, 0, 0), 0);
    hits = 0;
    alarm_in(20000);
    volatile unsigned long spins = 0;
    while (!hits) spins++;             /* no syscall: epoch interruption */
    CHECK_EQ(last_sig, SIGALRM);
}

static void blocking(void) {
    int p[2];
    sys_pipe(p);
    char c;
    /* without SA_RESTART: read is interrupted */
    CHECK_EQ(install(SIGALRM, on_sig, 0, 0), 0);
    hits = 0;
    alarm_in(20000);
    CHECK_EQ(sys_read(p[0], &c, 1), -EINTR);
    CHECK_EQ(hits, 1);
    /* with SA_RESTART: read is restarted and gets the child's byte */
    CHECK_EQ(install(SIGALRM, on_sig, SA_RESTART, 0), 0);
    hits = 0;
    i64 pid = sys_fork();
    if (pid == 0) {
        struct timespec t = {0, 80000000};
        sys_nanosleep(&t, NULL);
        sys_write(p[1], "z", 1);
        sys_exit_group(0);
    }
    alarm_in(20000);
    CHECK_EQ(sys_read(p[0], &c, 1), 1);
    CHECK_EQ(c, 'z');
    CHECK_EQ(hits, 1);
    int st;
    sys_wait4((int)pid, &st, 0, NULL);
    sys_close(p[0]);
    sys_close(p[1]);
}

WALI(SYS_signalfd4) i64 sys_signalfd4(int fd, const u64 *mask, size_t size, int flags);
static void sigfd(void) {
    u64 m = 1ULL << (SIGUSR2 - 1), old;
    sys_rt_sigprocmask(0, &m, &old, 8);
    int fd = (int)sys_signalfd4(-1, &m, 8, 0);
    CHECK(fd >= 0);
    sys_kill((int)sys_getpid(), SIGUSR2);
    u32 info[32];
    CHECK_EQ(sys_read(fd, info, sizeof info), 128);
    CHECK_EQ(info[0], SIGUSR2);              /* ssi_signo */
    CHECK_EQ(sys_signalfd4(-1, &m, 4, 0), -EINVAL);
    sys_close(fd);
    sys_rt_sigprocmask(2, &old, NULL, 8);
}

static jmp_buf jb;
static void jump_out(int s) { siglongjmp(jb, s); }
static void longjmp_out(void) {
    CHECK_EQ(install(SIGUSR1, jump_out, 0, 0), 0);
    u64 before = mask_now();
    int r = sigsetjmp(jb, 1);
    if (r == 0) {
        sys_kill((int)sys_getpid(), SIGUSR1);
        CHECK(0);
    }
    CHECK_EQ(r, SIGUSR1);
    CHECK_EQ(mask_now(), before);     /* the handler's mask is undone */
}

int main(int argc, char **argv) {
    if (argc > 1 && !wstrcmp(argv[1], "spin")) {
        for (;;) {}
    }
    basic();
    compute();
    blocking();
    longjmp_out();
    sigfd();
    return 0;
}
