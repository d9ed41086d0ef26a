/* posix_spawn as the WALI C library does it: the library's `__clone` is a
 * stub returning -ENOSYS, and posix_spawn calls it with
 * CLONE_VM|CLONE_VFORK|SIGCHLD and a child function that applies the file
 * actions and attributes, execs, and reports a failure through a
 * close-on-exec pipe. The runtime must make that `__clone` work (it finds
 * it by name) for system(), popen() and posix_spawn to work unmodified.
 *   spawn.wasm all      every check below; exit 0
 *   spawn.wasm report   prints "pid pgid sid blocked ignored" (signal masks
 *                       as decimal bit sets; what a spawned child checks) */
#include "wali.h"

WALI(SYS_wait4) i64 sys_wait4(int pid, int *st, int opt, void *ru);
WALI(SYS_execve) i64 sys_execve(const char *path, char *const argv[], char *const envp[]);

#define CLONE_VM 0x100
#define CLONE_VFORK 0x4000
#define SIGUSR1 10
#define SIGUSR2 12
#define SIGTERM 15
#define SIGCHLD 17
#define SIG_BLOCK 0
#define SIG_SETMASK 2
#define WALI_SIG_IGN 0xfffffffeu
#define SPAWN_SETPGROUP 2
#define SPAWN_SETSIGDEF 4
#define SPAWN_SETSIGMASK 8
#define SPAWN_SETSID 0x80

struct ksa { u32 handler; u64 flags; u32 restorer; u64 mask; } __attribute__((packed));
static u64 bit(int s) { return 1ULL << (s - 1); }

/* The C library's stub, which the runtime replaces: weak, so the compiler
 * cannot fold its -ENOSYS into the caller. */
__attribute__((weak, noinline)) int __clone(int (*fn)(void *), void *stack, int flags, void *arg, ...) {
    (void)fn; (void)stack; (void)flags; (void)arg;
    return -ENOSYS;
}

enum { FA_CLOSE, FA_DUP2, FA_OPEN, FA_CHDIR };
struct action { int op, fd, src, oflag, mode; const char *path; };
struct attr { int flags, pgrp; u64 mask, def; };
struct args {
    int p[2];
    u64 oldmask;
    const char *path;
    const struct action *fa;
    int nfa;
    const struct attr *attr;
    char *const *argv, *const *envp;
};

static int child(void *vp) {
    struct args *a = vp;
    const struct attr *at = a->attr;
    int p = a->p[1];
    i64 ret = 0;
    sys_close(a->p[0]);
    if (at->flags & SPAWN_SETSIGDEF) {
        struct ksa dfl = {0};
        for (int s = 1; s < 65; s++)
            if (at->def & bit(s)) sys_rt_sigaction(s, &dfl, NULL, 8);
    }
    if ((at->flags & SPAWN_SETSID) && (ret = sys_setsid()) < 0) goto fail;
    if ((at->flags & SPAWN_SETPGROUP) && (ret = sys_setpgid(0, at->pgrp))) goto fail;
    for (int i = 0; i < a->nfa; i++) {
        const struct action *op = &a->fa[i];
        /* the report pipe must not be where an action puts a descriptor */
        if (op->fd == p) {
            if ((ret = sys_fcntl(p, F_DUPFD_CLOEXEC, 0)) < 0) goto fail;
            p = (int)ret;
        }
        switch (op->op) {
        case FA_CLOSE:
            sys_close(op->fd);
            break;
        case FA_DUP2:
            if (op->src == p) { ret = -EBADF; goto fail; }
            if ((ret = sys_dup2(op->src, op->fd)) < 0) goto fail;
            break;
        case FA_OPEN: {
            i64 fd = sys_open(op->path, op->oflag, op->mode);
            if ((ret = fd) < 0) goto fail;
            if (fd != op->fd) {
                if ((ret = sys_dup2((int)fd, op->fd)) < 0) goto fail;
                sys_close((int)fd);
            }
            break;
        }
        case FA_CHDIR:
            if ((ret = sys_chdir(op->path)) < 0) goto fail;
            break;
        }
    }
    sys_fcntl(p, F_SETFD, FD_CLOEXEC);
    sys_rt_sigprocmask(SIG_SETMASK, (at->flags & SPAWN_SETSIGMASK) ? &at->mask : &a->oldmask, NULL, 8);
    ret = sys_execve(a->path, a->argv, a->envp);
fail: {
        int e = (int)-ret;
        if (e) sys_write(p, &e, sizeof e);
    }
    sys_exit_group(127);
    return 0;
}

/* 0 and the child's pid, or the errno of the failed step. */
static int spawn(int *pid, const char *path, const struct action *fa, int nfa,
                 const struct attr *at, char *const argv[]) {
    static char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
    static const struct attr none;
    char stack[1024 + 4096];
    struct args a = {.path = path, .fa = fa, .nfa = nfa, .attr = at ? at : &none,
                     .argv = argv, .envp = envp};
    u64 all = ~0ULL;
    int ec = 0, st;
    if (sys_pipe2(a.p, O_CLOEXEC)) return EAGAIN;
    sys_rt_sigprocmask(SIG_BLOCK, &all, &a.oldmask, 8);
    int r = __clone(child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
    sys_close(a.p[1]);
    if (r > 0) {
        if (sys_read(a.p[0], &ec, sizeof ec) != sizeof ec) ec = 0;
        else sys_wait4(r, &st, 0, NULL);
    } else {
        ec = -r;
    }
    sys_close(a.p[0]);
    if (!ec && pid) *pid = r;
    sys_rt_sigprocmask(SIG_SETMASK, &a.oldmask, NULL, 8);
    return ec;
}

static int wait_status(int pid) {
    int st = -1;
    CHECK_EQ(sys_wait4(pid, &st, 0, NULL), pid);
    return st;
}

static int slurp(const char *path, char *buf, int n) {
    i64 fd = sys_open(path, O_RDONLY, 0);
    if (fd < 0) return -1;
    i64 got = sys_read((int)fd, buf, n - 1);
    sys_close((int)fd);
    buf[got < 0 ? 0 : got] = 0;
    return (int)got;
}

/* "a b c d e" -> five numbers */
static void numbers(const char *s, i64 *v, int n) {
    for (int i = 0; i < n; i++) {
        while (*s == ' ') s++;
        v[i] = watoi(s);
        while (*s && *s != ' ') s++;
    }
}

static void ignore(int s) {
    struct ksa ign = {.handler = WALI_SIG_IGN};
    sys_rt_sigaction(s, &ign, NULL, 8);
}

static int report(void) {
    u64 blocked = 0, ignored = 0;
    sys_rt_sigprocmask(SIG_BLOCK, NULL, &blocked, 8);
    for (int s = 1; s < 32; s++) {
        struct ksa old;
        if (sys_rt_sigaction(s, NULL, &old, 8) == 0 && old.handler == WALI_SIG_IGN) ignored |= bit(s);
    }
    put_i64(1, sys_getpid()); puts_fd(1, " ");
    put_i64(1, sys_getpgid(0)); puts_fd(1, " ");
    put_i64(1, sys_getsid(0)); puts_fd(1, " ");
    put_i64(1, (i64)blocked); puts_fd(1, " ");
    put_i64(1, (i64)ignored); puts_fd(1, "\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !wstrcmp(argv[1], "report")) return report();
    char buf[512];
    int pid = 0;

    /* system("exit 5") */
    char *const sh5[] = {"sh", "-c", "exit 5", NULL};
    CHECK_EQ(spawn(&pid, "/bin/sh", NULL, 0, NULL, sh5), 0);
    CHECK(pid > 0);
    CHECK_EQ(wait_status(pid), 5 << 8);

    /* an exec that fails comes back as posix_spawn's error */
    char *const none[] = {"x", NULL};
    pid = 0;
    CHECK_EQ(spawn(&pid, "/nonexistent/x", NULL, 0, NULL, none), ENOENT);
    CHECK_EQ(pid, 0);

    /* file actions: open onto stdout, dup2 it to stderr, chdir */
    /* per process: both engines' tests may run at once */
    char out[64] = "/tmp/wali-spawn-";
    {
        char *e = out + wstrlen(out);
        i64 me = sys_getpid(), d = 1;
        while (d * 10 <= me) d *= 10;
        for (; d; d /= 10) *e++ = (char)('0' + me / d % 10);
        *e = 0;
    }
    const struct action fa[] = {
        {FA_OPEN, 1, 0, O_WRONLY | O_CREAT | O_TRUNC, 0644, out},
        {FA_DUP2, 2, 1, 0, 0, NULL},
        {FA_CHDIR, 0, 0, 0, 0, "/"},
    };
    char *const pwd[] = {"sh", "-c", "pwd; echo err >&2", NULL};
    CHECK_EQ(spawn(&pid, "/bin/sh", fa, 3, NULL, pwd), 0);
    CHECK_EQ(wait_status(pid), 0);
    CHECK_EQ(slurp(out, buf, sizeof buf), 6);
    CHECK(!wstrcmp(buf, "/\nerr\n"));

    /* popen("echo hello", "r"): the child's stdout is a pipe's write end */
    int q[2];
    CHECK_EQ(sys_pipe2(q, O_CLOEXEC), 0);
    const struct action pipe_fa[] = {{FA_DUP2, 1, q[1], 0, 0, NULL}};
    char *const hello[] = {"sh", "-c", "echo hello", NULL};
    CHECK_EQ(spawn(&pid, "/bin/sh", pipe_fa, 1, NULL, hello), 0);
    sys_close(q[1]);
    i64 n = sys_read(q[0], buf, sizeof buf - 1);
    CHECK_EQ(n, 6);
    buf[n < 0 ? 0 : n] = 0;
    CHECK(!wstrcmp(buf, "hello\n"));
    sys_close(q[0]);
    CHECK_EQ(wait_status(pid), 0);

    /* attributes, with this module as the spawned program (an exec of a
     * .wasm file runs in place): a new session; SIGUSR1 blocked; SIGUSR2
     * back to SIG_DFL while the ignored SIGTERM stays ignored */
    ignore(SIGUSR2);
    ignore(SIGTERM);
    struct attr at = {SPAWN_SETSID | SPAWN_SETSIGMASK | SPAWN_SETSIGDEF, 0, bit(SIGUSR1), bit(SIGUSR2)};
    const struct action rep_fa[] = {{FA_OPEN, 1, 0, O_WRONLY | O_CREAT | O_TRUNC, 0644, out}};
    char *const rep[] = {argv[0], "report", NULL};
    CHECK_EQ(spawn(&pid, argv[0], rep_fa, 1, &at, rep), 0);
    CHECK_EQ(wait_status(pid), 0);
    i64 v[5] = {0};
    CHECK(slurp(out, buf, sizeof buf) > 0);
    numbers(buf, v, 5);
    CHECK_EQ(v[0], pid);
    CHECK_EQ(v[1], pid);
    CHECK_EQ(v[2], pid);
    CHECK_EQ(v[3], (i64)bit(SIGUSR1));
    CHECK_EQ(v[4], (i64)bit(SIGTERM));

    /* a process group of its own, in this session; without SETSIGDEF the
     * ignored SIGUSR2 stays ignored, and the mask is the parent's */
    struct attr pg = {SPAWN_SETPGROUP, 0, 0, 0};
    CHECK_EQ(spawn(&pid, argv[0], rep_fa, 1, &pg, rep), 0);
    CHECK_EQ(wait_status(pid), 0);
    CHECK(slurp(out, buf, sizeof buf) > 0);
    numbers(buf, v, 5);
    CHECK_EQ(v[1], pid);
    CHECK_EQ(v[2], sys_getsid(0));
    CHECK_EQ(v[3], 0);
    CHECK_EQ(v[4], (i64)(bit(SIGTERM) | bit(SIGUSR2)));
    sys_unlink(out);
    return 0;
}
