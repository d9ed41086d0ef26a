/* Signal state as a native program sees it.
 *   sigstate.wasm start         SIGPIPE is SIG_DFL and no signal is blocked at start
 *                               (when wali-run's parent left it so); exit 0
 *   sigstate.wasm start-ign     SIGPIPE is SIG_IGN at start (the parent ignored it);
 *                               a write to a closed pipe is -EPIPE; exit 0
 *   sigstate.wasm exec P A...   execve(P, [A...]) (a native program inherits
 *                               the guest's dispositions and mask)
 *   sigstate.wasm pipe          write to a pipe whose reader is gone: dies of
 *                               SIGPIPE (status 141) when SIGPIPE is SIG_DFL
 *   sigstate.wasm chld N        N times: SIGCHLD blocked, fork, the child exits;
 *                               the handler must not run while SIGCHLD is
 *                               blocked, sigpending shows it, and it runs once
 *                               the signal is unblocked; exit 0
 *   sigstate.wasm status N      N times, as a shell runs a command: SIGCHLD
 *                               blocked, fork a child that exits 127, record
 *                               its job, unblock, wait; the SIGCHLD handler
 *                               reaps (WNOHANG) and fills in the job's status,
 *                               so a handler run in the blocked window loses
 *                               it: the status must be 127 every time; exit 0
 *   sigstate.wasm parked        SIGUSR1 blocked and sent to the process by a
 *                               child (while a host thread that does not block
 *                               it may exist, an embedder's): sigtimedwait takes
 *                               it, and a second one is delivered by sigsuspend,
 *                               which returns EINTR; exit 0 */
#include "wali.h"

WALI(SYS_wait4) i64 sys_wait4(int pid, int *st, int opt, void *ru);
WALI(SYS_waitid) i64 sys_waitid(int idtype, int id, void *info, int opt, void *ru);
WALI(SYS_rt_sigpending) i64 sys_rt_sigpending(void *set, size_t sz);
WALI(SYS_rt_sigtimedwait) i64 sys_rt_sigtimedwait(const void *set, void *info, const void *ts, size_t sz);
WALI(SYS_rt_sigsuspend) i64 sys_rt_sigsuspend(const void *mask, size_t sz);
WALI(SYS_execve) i64 sys_execve(const char *path, char *const argv[], char *const envp[]);

#define SIGPIPE 13
#define SIGCHLD 17
#define SA_RESTORER 0x04000000
#define SA_RESTART 0x10000000
#define WNOHANG 1
#define WEXITED 4
#define WNOWAIT 0x01000000
#define P_PID 1
#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define EPIPE 32
#define ECHILD 10

struct ksa { u32 handler; u64 flags; u32 restorer; u64 mask; } __attribute__((packed));
static volatile int chld_runs, reaped, job_pid, job_done, job_status;

static u64 bit(int s) { return 1ULL << (s - 1); }

static void on_chld(int s) {
    (void)s;
    chld_runs++;
    int st;
    i64 r;
    while ((r = sys_wait4(-1, &st, WNOHANG, NULL)) > 0) {
        reaped++;
        /* a shell's job table: a child reaped before its job is recorded
         * loses its status */
        if (r == job_pid) {
            job_status = st;
            job_done = 1;
        }
    }
}

static int install(int sig, void *h, u64 flags) {
    struct ksa a = {(u32)(unsigned long)h, flags | SA_RESTORER, 0, 0};
    return (int)sys_rt_sigaction(sig, &a, NULL, 8);
}

static int check_start(int want_ign) {
    struct ksa old;
    CHECK_EQ(sys_rt_sigaction(SIGPIPE, NULL, &old, 8), 0);
    CHECK_EQ(old.handler, want_ign ? 0xfffffffeu : 0);  /* WALI: SIG_IGN is -2, SIG_DFL 0 */
    u64 m = ~0ULL;
    CHECK_EQ(sys_rt_sigprocmask(SIG_BLOCK, NULL, &m, 8), 0);
    CHECK_EQ(m, 0);
    if (want_ign) {
        int fds[2];
        CHECK_EQ(sys_pipe(fds), 0);
        sys_close(fds[0]);
        CHECK_EQ(sys_write(fds[1], "x", 1), -EPIPE);
    }
    return 0;
}

static int write_to_closed_pipe(void) {
    int fds[2];
    CHECK_EQ(sys_pipe(fds), 0);
    sys_close(fds[0]);
    sys_write(fds[1], "x", 1);
    puts_fd(2, "sigstate: still alive after writing to a closed pipe\n");
    return 3;
}

static int chld(int n) {
    CHECK_EQ(install(SIGCHLD, on_chld, SA_RESTART), 0);
    u64 b = bit(SIGCHLD);
    for (int i = 0; i < n; i++) {
        CHECK_EQ(sys_rt_sigprocmask(SIG_BLOCK, &b, NULL, 8), 0);
        int before = chld_runs;
        i64 pid = sys_fork();
        if (pid == 0) sys_exit_group(i & 0x7f);
        CHECK(pid > 0);
        /* wait until the child has exited, without reaping it */
        int info[32];
        CHECK_EQ(sys_waitid(P_PID, (int)pid, info, WEXITED | WNOWAIT, NULL), 0);
        for (int k = 0; k < 50; k++) sys_sched_yield();
        CHECK_EQ(chld_runs, before);             /* blocked: not delivered */
        u64 pend = 0;
        CHECK_EQ(sys_rt_sigpending(&pend, 8), 0);
        CHECK(pend & b);                          /* ... but pending */
        CHECK_EQ(sys_rt_sigprocmask(SIG_UNBLOCK, &b, NULL, 8), 0);
        CHECK_EQ(chld_runs, before + 1);          /* delivered at the unblock */
        if (checks_failed) {
            puts_fd(2, "sigstate: failed at iteration ");
            put_i64(2, i);
            puts_fd(2, "\n");
            return 1;
        }
    }
    CHECK_EQ(reaped, n);
    return 0;
}

static int status(int n) {
    CHECK_EQ(install(SIGCHLD, on_chld, SA_RESTART), 0);
    u64 b = bit(SIGCHLD);
    for (int i = 0; i < n; i++) {
        job_pid = 0;
        job_done = 0;
        CHECK_EQ(sys_rt_sigprocmask(SIG_BLOCK, &b, NULL, 8), 0);
        i64 pid = sys_fork();
        if (pid == 0) sys_exit_group(127);
        for (int k = 0; k < 20; k++) sys_sched_yield();  /* the shell's bookkeeping */
        job_pid = (int)pid;
        CHECK_EQ(sys_rt_sigprocmask(SIG_UNBLOCK, &b, NULL, 8), 0);
        int st = -1, seen = -1;
        while (!job_done) {
            i64 r = sys_wait4((int)pid, &st, 0, NULL);
            if (r == pid) {
                job_status = st;
                job_done = 1;
            } else if (r != -4 /* EINTR */) {
                break;  /* ECHILD: reaped by a handler that ran too early */
            }
        }
        if (job_done) seen = job_status;
        CHECK_EQ((seen >> 8) & 0xff, 127);
        if (checks_failed) {
            puts_fd(2, "sigstate: status lost at iteration ");
            put_i64(2, i);
            puts_fd(2, "\n");
            return 1;
        }
    }
    return 0;
}

#define SIGUSR1 10
#define SIGALRM 14
static volatile int usr1_runs, alrm_runs;
static void on_usr1(int s) { (void)s; usr1_runs++; }
static void on_alrm(int s) { (void)s; alrm_runs++; }
WALI(SYS_alarm) i64 sys_alarm(unsigned s);

/* SIGUSR1 from another process (a child), so that it is process-directed
 * (a guest's kill of its own process goes to the calling thread) */
static int usr1_from_child(void) {
    i64 pid = sys_fork();
    if (pid == 0) {
        sys_kill((int)sys_getppid(), SIGUSR1);
        sys_exit_group(0);
    }
    int st;
    CHECK_EQ(sys_wait4((int)pid, &st, 0, NULL), pid);
    for (int k = 0; k < 50; k++) sys_sched_yield();
    return (int)pid;
}

static int parked(void) {
    CHECK_EQ(install(SIGUSR1, on_usr1, 0), 0);
    CHECK_EQ(install(SIGALRM, on_alrm, 0), 0);
    u64 b = bit(SIGUSR1);
    CHECK_EQ(sys_rt_sigprocmask(SIG_BLOCK, &b, NULL, 8), 0);
    int from = usr1_from_child();
    CHECK_EQ(usr1_runs, 0);
    u64 pend = 0;
    CHECK_EQ(sys_rt_sigpending(&pend, 8), 0);
    CHECK(pend & b);
    int info[32] = {0};
    i64 ts[2] = {2, 0};
    CHECK_EQ(sys_rt_sigtimedwait(&b, info, ts, 8), SIGUSR1);
    CHECK_EQ(info[0], SIGUSR1);
    CHECK_EQ(info[4], from);  /* si_pid */
    CHECK_EQ(usr1_runs, 0);
    /* again, then wait for it with everything but SIGUSR1 blocked... */
    usr1_from_child();
    sys_alarm(3); /* ...and an alarm, so a lost wake-up fails under wali-run */
    u64 all_but = ~b & ~bit(SIGALRM);
    CHECK_EQ(sys_rt_sigsuspend(&all_but, 8), -EINTR);
    CHECK_EQ(usr1_runs, 1);
    CHECK_EQ(alrm_runs, 0);
    sys_alarm(0);
    u64 now = 0;
    CHECK_EQ(sys_rt_sigprocmask(SIG_BLOCK, NULL, &now, 8), 0);
    CHECK(now & b);  /* the mask is the one from before the suspension */
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int n = argc > 2 ? (int)watoi(argv[2]) : 200;
    if (!wstrcmp(argv[1], "start")) return check_start(0);
    if (!wstrcmp(argv[1], "start-ign")) return check_start(1);
    if (!wstrcmp(argv[1], "pipe")) return write_to_closed_pipe();
    if (!wstrcmp(argv[1], "chld")) return chld(n);
    if (!wstrcmp(argv[1], "exec") && argc > 3) {
        char *envp[] = {NULL};
        sys_execve(argv[2], argv + 3, envp);
        return 4;
    }
    if (!wstrcmp(argv[1], "status")) return status(n);
    if (!wstrcmp(argv[1], "parked")) return parked();
    return 2;
}
