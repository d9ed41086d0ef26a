/* fork, wait4, execve, pipes between processes.
 *   procs.wasm all <self.wasm> <scratch>   every check; exit 0
 *   procs.wasm child <n>                   exits with status n (exec target) */
#include "wali.h"

WALI(SYS_wait4) i64 sys_wait4(int pid, int *status, int options, void *ru);
WALI(SYS_execve) i64 sys_execve(const char *path, char *const argv[], char *const envp[]);
WALI(SYS_vfork) i64 sys_vfork(void);
#define ENOEXEC 8
#define WNOHANG 1

static int atoi_(const char *s) { int v = 0; while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0'); return v; }
static int exited(int st) { return (st & 0x7f) == 0; }
static int exitcode(int st) { return (st >> 8) & 0xff; }

static void fork_wait(void) {
    volatile int shared = 1;
    i64 pid = sys_fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        shared = 2; /* the child's copy only */
        sys_exit_group(shared == 2 ? 42 : 1);
    }
    int st = 0;
    CHECK_EQ(sys_wait4((int)pid, &st, 0, NULL), pid);
    CHECK(exited(st));
    CHECK_EQ(exitcode(st), 42);
    CHECK_EQ(shared, 1);
    CHECK_EQ(sys_wait4(-1, &st, WNOHANG, NULL), -ECHILD);
    pid = sys_vfork();
    if (pid == 0) sys_exit_group(7);
    CHECK_EQ(sys_wait4((int)pid, &st, 0, NULL), pid);
    CHECK_EQ(exitcode(st), 7);
}

static void pipe_between(void) {
    int p[2];
    CHECK_EQ(sys_pipe(p), 0);
    i64 pid = sys_fork();
    if (pid == 0) {
        sys_close(p[0]);
        sys_write(p[1], "from child", 10);
        sys_exit_group(0);
    }
    sys_close(p[1]);
    char buf[32];
    i64 n, got = 0;
    while ((n = sys_read(p[0], buf + got, sizeof buf - got)) > 0) got += n;
    CHECK_EQ(got, 10);
    CHECK_EQ(wmemcmp(buf, "from child", 10), 0);
    sys_close(p[0]);
    int st;
    CHECK_EQ(sys_wait4((int)pid, &st, 0, NULL), pid);
}

/* exec `path argv` in a child with stdout on a pipe; returns status, output in out */
static int run_capture(const char *path, char *const argv[], char *out, int cap) {
    int p[2];
    sys_pipe(p);
    i64 pid = sys_fork();
    if (pid == 0) {
        sys_dup2(p[1], 1);
        sys_close(p[0]);
        sys_close(p[1]);
        char *envp[] = {"WALI_EXEC_TEST=yes", NULL};
        i64 r = sys_execve(path, argv, envp);
        sys_exit_group((int)(100 - r)); /* 100 + errno */
    }
    sys_close(p[1]);
    int got = 0;
    i64 n;
    while ((n = sys_read(p[0], out + got, cap - 1 - got)) > 0) got += (int)n;
    out[got] = 0;
    sys_close(p[0]);
    int st = 0;
    sys_wait4((int)pid, &st, 0, NULL);
    return exitcode(st);
}

static void exec(const char *self, const char *scratch) {
    char out[256];
    /* a wasm module replaces the guest in the child */
    char *a1[] = {(char *)self, "child", "9", NULL};
    CHECK_EQ(run_capture(self, a1, out, sizeof out), 9);
    CHECK_EQ(wstrcmp(out, "child 9 env=yes\n"), 0);
    /* a native program */
    char *a2[] = {"echo", "native", "echo", NULL};
    CHECK_EQ(run_capture("/bin/echo", a2, out, sizeof out), 0);
    CHECK_EQ(wstrcmp(out, "native echo\n"), 0);
    /* failures return the errno and the caller goes on */
    char *a3[] = {"x", NULL};
    CHECK_EQ(sys_execve("/nonexistent/prog", a3, a3 + 1), -ENOENT);
    char f[256];
    size_t n = wstrlen(scratch);
    for (size_t i = 0; i < n; i++) f[i] = scratch[i];
    const char *name = "/plain";
    for (size_t i = 0; i <= 6; i++) f[n + i] = name[i];
    int fd = (int)sys_open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    sys_write(fd, "just text\n", 10);
    sys_close(fd);
    CHECK_EQ(sys_execve(f, a3, a3 + 1), -EACCES);   /* not executable */
    CHECK_EQ(sys_chmod(f, 0755), 0);
    CHECK_EQ(sys_execve(f, a3, a3 + 1), -ENOEXEC);  /* not a format */
    CHECK_EQ(sys_execve(scratch, a3, a3 + 1), -EACCES); /* a directory */
    CHECK_EQ(sys_execve((const char *)0xFFFFFFF0u, a3, a3 + 1), -EFAULT);
}

/* open descriptors of this process, counted in /proc/self/fd */
static int count_fds(void) {
    static char buf[4096];
    int fd = (int)sys_open("/proc/self/fd", O_RDONLY | O_DIRECTORY, 0);
    int n = 0;
    i64 got;
    while ((got = sys_getdents64(fd, buf, sizeof buf)) > 0)
        for (i64 off = 0; off < got; off += *(u16 *)(buf + off + 16)) n++;
    sys_close(fd);
    return n - 3; /* ".", "..", and the directory's own descriptor */
}

/* n fork+wait cycles: no descriptor or memory growth */
/* resident pages of the host process (the guest runs inside it) */
static long rss_pages(void) {
    char b[128] = {0};
    int fd = (int)sys_open("/proc/self/statm", O_RDONLY, 0);
    sys_read(fd, b, sizeof b - 1);
    sys_close(fd);
    const char *p = b;
    while (*p && *p != ' ') p++;
    return atoi_(p + 1);
}

static void fork_loop(int n) {
    long rss = rss_pages();
    int fds = count_fds();
    unsigned long pages = __builtin_wasm_memory_size(0);
    for (int i = 0; i < n; i++) {
        i64 pid = sys_fork();
        if (pid == 0) sys_exit_group(i & 0x7f);
        int st = 0;
        if (sys_wait4((int)pid, &st, 0, NULL) != pid || exitcode(st) != (i & 0x7f)) {
            CHECK(0);
            return;
        }
    }
    CHECK_EQ(count_fds(), fds);
    CHECK_EQ(__builtin_wasm_memory_size(0), pages);
    CHECK(rss_pages() - rss < 256); /* under 1 MiB of host growth */
}

int main(int argc, char **argv) {
    if (argc >= 3 && !wstrcmp(argv[1], "forkloop")) {
        fork_loop(atoi_(argv[2]));
        return 0;
    }
    if (argc >= 3 && !wstrcmp(argv[1], "child")) {
        char env[1024];
        int has = __get_init_envfile(env, sizeof env);
        char buf[256] = {0};
        if (has) {
            int fd = (int)sys_open(env, O_RDONLY, 0);
            sys_read(fd, buf, sizeof buf - 1);
            sys_close(fd);
        }
        puts_fd(1, "child ");
        puts_fd(1, argv[2]);
        puts_fd(1, wstrcmp(buf, "WALI_EXEC_TEST=yes\n") == 0 ? " env=yes\n" : " env=no\n");
        return atoi_(argv[2]);
    }
    if (argc < 4) return 2;
    fork_wait();
    pipe_between();
    exec(argv[2], argv[3]);
    return 0;
}
