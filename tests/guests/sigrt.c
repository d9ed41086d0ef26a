/* Real-time signals, alternate signal stacks, signals to a computing thread.
 *   sigrt.wasm queue      10 sigqueue()d instances of a real-time signal while it
 *                         is blocked: all 10 delivered at the unblock, in order,
 *                         each with its value; 3 of a standard signal: one; exit 0
 *   sigrt.wasm altstack   an SA_ONSTACK handler runs on the sigaltstack (its
 *                         locals are there, SS_ONSTACK is reported, changing the
 *                         stack is EPERM); without SA_ONSTACK it does not; exit 0
 *   sigrt.wasm threads    a thread computes (no syscalls) until 100 real-time
 *                         signals sent to it by tgkill arrived; its handler forks
 *                         (the child exits at once) and reaps; exit 0 */
#include "wali.h"

WALI(SYS_rt_tgsigqueueinfo) i64 sys_rt_tgsigqueueinfo(int tgid, int tid, int sig, void *info);
WALI(SYS_tgkill) i64 sys_tgkill(int tgid, int tid, int sig);
WALI(SYS_sigaltstack) i64 sys_sigaltstack(const void *ss, void *old);
WALI(SYS_wait4) i64 sys_wait4(int pid, int *st, int opt, void *ru);
WALI(SYS_futex) i64 sys_futex(volatile int *uaddr, int op, int val, const void *ts, int *uaddr2, int val3);
WALI(__wasm_thread_spawn) int __wasm_thread_spawn(void (*fn)(int, void *), void *arg);

#define SIGUSR1 10
#define SIGRT 40
#define SA_SIGINFO 4
#define SA_ONSTACK 0x08000000
#define SA_RESTORER 0x04000000
#define SA_RESTART 0x10000000
#define SS_ONSTACK 1
#define SI_QUEUE (-1)
#define EPERM 1

struct ksa { u32 handler; u64 flags; u32 restorer; u64 mask; } __attribute__((packed));
struct stk { u32 sp; int flags; u32 size; };

static int install(int sig, void *h, u64 flags) {
    struct ksa a = {(u32)(unsigned long)h, flags | SA_RESTORER, 0, 0};
    return (int)sys_rt_sigaction(sig, &a, NULL, 8);
}
static u64 bit(int s) { return 1ULL << (s - 1); }

/* queue */
static volatile int got[32], ngot, usr1;
static void on_rt(int s, void *info, void *uc) {
    (void)uc;
    int *i = info;
    if (s == SIGRT && i[0] == SIGRT && i[2] == SI_QUEUE && ngot < 32) got[ngot++] = i[6];
}
static void on_usr1(int s) { (void)s; usr1++; }

static int queue(void) {
    CHECK_EQ(install(SIGRT, on_rt, SA_SIGINFO), 0);
    CHECK_EQ(install(SIGUSR1, on_usr1, 0), 0);
    u64 b = bit(SIGRT) | bit(SIGUSR1);
    CHECK_EQ(sys_rt_sigprocmask(0, &b, NULL, 8), 0);
    int pid = (int)sys_getpid(), tid = (int)sys_gettid();
    for (int k = 0; k < 10; k++) {
        int info[32] = {0};
        info[0] = SIGRT;
        info[2] = SI_QUEUE;
        info[4] = pid;
        info[6] = 100 + k;  /* si_value */
        CHECK_EQ(sys_rt_tgsigqueueinfo(pid, tid, SIGRT, info), 0);
    }
    for (int k = 0; k < 3; k++) CHECK_EQ(sys_tgkill(pid, tid, SIGUSR1), 0);
    CHECK_EQ(ngot, 0);
    CHECK_EQ(sys_rt_sigprocmask(1, &b, NULL, 8), 0);
    CHECK_EQ(ngot, 10);
    for (int k = 0; k < ngot; k++) CHECK_EQ(got[k], 100 + k);
    CHECK_EQ(usr1, 1);
    return 0;
}

/* altstack */
static char alt[16384] __attribute__((aligned(16)));
static volatile int on_alt, flags_in, eperm, ran;
static volatile unsigned long where;
static void on_stack_handler(int s) {
    (void)s;
    volatile char here = 0;
    unsigned long a = (unsigned long)&here;
    where = a;
    on_alt = a >= (unsigned long)alt && a < (unsigned long)alt + sizeof alt;
    struct stk old = {0, 0, 0};
    sys_sigaltstack(NULL, &old);
    flags_in = old.flags;
    struct stk again = {(u32)(unsigned long)alt, 0, sizeof alt};
    eperm = (int)sys_sigaltstack(&again, NULL);
    ran++;
    (void)here;
}

static int altstack(void) {
    struct stk ss = {(u32)(unsigned long)alt, 0, sizeof alt};
    CHECK_EQ(sys_sigaltstack(&ss, NULL), 0);
    CHECK_EQ(install(SIGUSR1, on_stack_handler, SA_ONSTACK), 0);
    CHECK_EQ(sys_kill((int)sys_getpid(), SIGUSR1), 0);
    CHECK_EQ(ran, 1);
    if (!on_alt) {
        puts_fd(2, "handler local at ");
        put_i64(2, (i64)where);
        puts_fd(2, ", alternate stack at ");
        put_i64(2, (i64)(unsigned long)alt);
        puts_fd(2, "\n");
    }
    CHECK(on_alt);
    CHECK(flags_in & SS_ONSTACK);
    CHECK_EQ(eperm, -EPERM);
    struct stk old = {0, 0, 0};
    CHECK_EQ(sys_sigaltstack(NULL, &old), 0);
    CHECK(!(old.flags & SS_ONSTACK));
    CHECK_EQ(old.sp, (u32)(unsigned long)alt);
    /* without SA_ONSTACK: the normal stack */
    CHECK_EQ(install(SIGUSR1, on_stack_handler, 0), 0);
    CHECK_EQ(sys_kill((int)sys_getpid(), SIGUSR1), 0);
    CHECK_EQ(ran, 2);
    CHECK(!on_alt);
    CHECK(!(flags_in & SS_ONSTACK));
    return 0;
}

/* threads: no shadow-stack use on the thread (it has none of its own) */
static volatile int hits, thread_tid, forks_ok, done;
static void on_rt_fork(int s) {
    (void)s;
    i64 pid = sys_fork();
    if (pid == 0) sys_exit_group(0);
    int st;
    if (pid > 0 && sys_wait4((int)pid, &st, 0, NULL) == pid) forks_ok++;
    hits++;
}
static void spinner(int tid, void *arg) {
    (void)arg;
    thread_tid = tid;
    while (hits < 100) __asm__ volatile("" ::: "memory");  /* computes, no syscalls */
    __atomic_store_n(&done, 1, __ATOMIC_SEQ_CST);
    sys_futex(&done, 1 /* FUTEX_WAKE */, 1, NULL, NULL, 0);
    sys_exit(0);
}

static int threads(void) {
    CHECK_EQ(install(SIGRT, on_rt_fork, SA_RESTART), 0);
    CHECK(__wasm_thread_spawn(spinner, NULL) > 0);
    while (!thread_tid) sys_sched_yield();
    int pid = (int)sys_getpid();
    for (int k = 0; k < 100; k++) {
        CHECK_EQ(sys_tgkill(pid, thread_tid, SIGRT), 0);
        if (k % 10 == 0) sys_sched_yield();
    }
    while (!__atomic_load_n(&done, __ATOMIC_SEQ_CST)) sys_futex(&done, 0 /* FUTEX_WAIT */, 0, NULL, NULL, 0);
    CHECK_EQ(hits, 100);
    CHECK_EQ(forks_ok, 100);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (!wstrcmp(argv[1], "queue")) return queue();
    if (!wstrcmp(argv[1], "altstack")) return altstack();
    if (!wstrcmp(argv[1], "threads")) return threads();
    return 2;
}
