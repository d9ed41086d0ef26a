/* I/O multiplexing and friends: poll, ppoll, select, pselect6, epoll_create,
 * epoll_create1, epoll_ctl, epoll_wait, epoll_pwait, eventfd, eventfd2 and
 * ioctl (FIONREAD, FIONBIO, FIOCLEX/FIONCLEX, terminal requests, and a
 * /dev/ptmx round trip when one can be opened); success paths and the
 * errno Linux gives on the error paths.
 * argv[1] is a scratch directory (one regular file is made there). */
#include "wali.h"

#define POLLPRI 0x2
#define POLLERR 0x8
#define EPOLLHUP 0x10
#define EPOLL_CLOEXEC 02000000
#define EFD_SEMAPHORE 1
#define EFD_NONBLOCK 04000
#define EFD_CLOEXEC 02000000
#define O_NOCTTY 0400
#define SIG_BLOCK 0
#define SIGUSR1 10
#define SIGUSR2 12

#define TCGETS 0x5401
#define TCSETS 0x5402
#define TIOCGWINSZ 0x5413
#define TIOCSWINSZ 0x5414
#define FIONREAD 0x541B
#define FIONBIO 0x5421
#define FIONCLEX 0x5450
#define FIOCLEX 0x5451
#define TIOCGPTN 0x80045430u
#define ECHO_ 0000010 /* c_lflag */

#define BADPTR ((void *)0xFFFFFFF0u) /* past the end of any wasm32 memory */
#define BADFD 9999

struct winsize { u16 ws_row, ws_col, ws_xpixel, ws_ypixel; };
struct pselect_sigmask { u64 ss; u64 ss_len; }; /* pselect6's 6th argument */

static char *scratch;

static void mfill(void *p, int c, size_t n) {
    u8 *b = p;
    for (size_t i = 0; i < n; i++) b[i] = (u8)c;
}
static void mcopy(void *d, const void *s, size_t n) {
    u8 *a = d;
    const u8 *b = s;
    for (size_t i = 0; i < n; i++) a[i] = b[i];
}

static i64 now_ms(void) {
    struct timespec t;
    CHECK_EQ(sys_clock_gettime(CLOCK_MONOTONIC, &t), 0);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* fd_set: 128 bytes, bit fd%8 of byte fd/8 */
typedef struct { u8 b[128]; } fdset;
static void fd_zero(fdset *s) { mfill(s, 0, sizeof *s); }
static void fd_set1(fdset *s, int fd) { s->b[fd / 8] |= (u8)(1 << (fd % 8)); }
static int fd_isset(const fdset *s, int fd) { return (s->b[fd / 8] >> (fd % 8)) & 1; }
static int fd_count(const fdset *s) {
    int n = 0;
    for (int i = 0; i < 1024; i++) n += fd_isset(s, i);
    return n;
}

/* A closed descriptor number (below any open one that follows). */
static int closed_fd(void) {
    int q[2];
    CHECK_EQ(sys_pipe(q), 0);
    CHECK_EQ(sys_close(q[0]), 0);
    CHECK_EQ(sys_close(q[1]), 0);
    return q[0];
}

static u64 cur_sigmask(void) {
    u64 m = 0;
    CHECK_EQ(sys_rt_sigprocmask(SIG_BLOCK, NULL, &m, 8), 0);
    return m;
}

/* ------------------------------------------------------------------ */

static void test_poll(void) {
    int p[2];
    CHECK_EQ(sys_pipe(p), 0);
    struct pollfd f[4];
    CHECK_EQ(sizeof(struct pollfd), 8);

    /* nothing to read: timeout 0 returns 0 and clears revents */
    f[0].fd = p[0];
    f[0].events = POLLIN;
    f[0].revents = 0x777;
    CHECK_EQ(sys_poll(f, 1, 0), 0);
    CHECK_EQ(f[0].revents, 0);
    /* a short timeout expires */
    i64 t0 = now_ms();
    CHECK_EQ(sys_poll(f, 1, 20), 0);
    CHECK(now_ms() - t0 >= 15);

    /* readable after a write; the write end is writable */
    CHECK_EQ(sys_write(p[1], "x", 1), 1);
    CHECK_EQ(sys_poll(f, 1, 0), 1);
    CHECK_EQ(f[0].revents, POLLIN);
    CHECK_EQ(sys_poll(f, 1, -1), 1); /* ready: no wait */
    f[1].fd = p[1];
    f[1].events = POLLOUT;
    f[1].revents = 0;
    CHECK_EQ(sys_poll(f, 2, 0), 2);
    CHECK_EQ(f[0].revents, POLLIN);
    CHECK_EQ(f[1].revents, POLLOUT);

    /* a closed fd: POLLNVAL, and it counts; a negative fd is ignored */
    f[2].fd = closed_fd();
    f[2].events = POLLIN;
    f[2].revents = 0;
    f[3].fd = -1;
    f[3].events = POLLIN;
    f[3].revents = 0x55;
    CHECK_EQ(sys_poll(f + 2, 2, 0), 1);
    CHECK_EQ(f[2].revents, POLLNVAL);
    CHECK_EQ(f[3].revents, 0);
    CHECK_EQ(sys_poll(f, 4, 0), 3);

    /* writer closed: POLLHUP (with POLLIN while data remains) */
    CHECK_EQ(sys_close(p[1]), 0);
    CHECK_EQ(sys_poll(f, 1, 0), 1);
    CHECK_EQ(f[0].revents, POLLIN | POLLHUP);
    char c;
    CHECK_EQ(sys_read(p[0], &c, 1), 1);
    CHECK_EQ(sys_poll(f, 1, 0), 1);
    CHECK_EQ(f[0].revents, POLLHUP);
    /* reader closed: the write end reports POLLERR */
    int q[2];
    CHECK_EQ(sys_pipe(q), 0);
    CHECK_EQ(sys_close(q[0]), 0);
    f[1].fd = q[1];
    f[1].events = POLLOUT;
    CHECK_EQ(sys_poll(f + 1, 1, 0), 1);
    CHECK(f[1].revents & POLLERR);
    sys_close(q[1]);
    sys_close(p[0]);

    /* errors */
    CHECK_EQ(sys_poll(BADPTR, 1, 0), -EFAULT);
    CHECK_EQ(sys_poll(f, 1LL << 30, 0), -EINVAL); /* > RLIMIT_NOFILE */
    CHECK_EQ(sys_poll(NULL, 0, 0), 0);
}

static void test_ppoll(void) {
    int p[2];
    CHECK_EQ(sys_pipe(p), 0);
    struct pollfd f = {p[0], POLLIN, 0};
    struct timespec ts = {0, 0};
    CHECK_EQ(sys_ppoll(&f, 1, &ts, NULL, 8), 0);
    CHECK_EQ(f.revents, 0);
    /* a 5 ms timeout: expires, the remaining time is written back */
    ts.tv_sec = 0;
    ts.tv_nsec = 5000000;
    i64 t0 = now_ms();
    CHECK_EQ(sys_ppoll(&f, 1, &ts, NULL, 8), 0);
    CHECK(now_ms() - t0 >= 4);
    CHECK_EQ(ts.tv_sec, 0);
    CHECK(ts.tv_nsec >= 0 && ts.tv_nsec <= 5000000);

    CHECK_EQ(sys_write(p[1], "ab", 2), 2);
    ts.tv_sec = 1;
    ts.tv_nsec = 0;
    CHECK_EQ(sys_ppoll(&f, 1, &ts, NULL, 8), 1);
    CHECK_EQ(f.revents, POLLIN);
    CHECK(ts.tv_sec <= 1);
    /* NULL timeout (infinite) with a ready fd */
    f.revents = 0;
    CHECK_EQ(sys_ppoll(&f, 1, NULL, NULL, 0), 1);
    CHECK_EQ(f.revents, POLLIN);
    /* a real sigmask; the thread's own mask is restored afterwards */
    u64 before = cur_sigmask();
    u64 mask = 1ULL << (SIGUSR1 - 1);
    ts.tv_sec = 0;
    ts.tv_nsec = 0;
    CHECK_EQ(sys_ppoll(&f, 1, &ts, &mask, 8), 1);
    CHECK_EQ(cur_sigmask(), before);

    /* errors */
    CHECK_EQ(sys_ppoll(&f, 1, &ts, &mask, 4), -EINVAL); /* sigsetsize */
    ts.tv_nsec = 2000000000;
    CHECK_EQ(sys_ppoll(&f, 1, &ts, NULL, 8), -EINVAL);
    ts.tv_sec = -1;
    ts.tv_nsec = 0;
    CHECK_EQ(sys_ppoll(&f, 1, &ts, NULL, 8), -EINVAL);
    CHECK_EQ(sys_ppoll(&f, 1, BADPTR, NULL, 8), -EFAULT);
    CHECK_EQ(sys_ppoll(BADPTR, 1, NULL, NULL, 8), -EFAULT);
    sys_close(p[0]);
    sys_close(p[1]);
}

static void test_select(void) {
    int p[2];
    CHECK_EQ(sys_pipe(p), 0);
    int n = (p[0] > p[1] ? p[0] : p[1]) + 1;
    fdset r, w;
    struct timeval tv = {0, 0};

    /* empty pipe: timeout, the set is cleared */
    fd_zero(&r);
    fd_set1(&r, p[0]);
    CHECK_EQ(sys_select(n, &r, NULL, NULL, &tv), 0);
    CHECK_EQ(fd_count(&r), 0);
    /* a 10 ms timeout: expires, the remaining time is written back */
    fd_set1(&r, p[0]);
    tv.tv_sec = 0;
    tv.tv_usec = 10000;
    i64 t0 = now_ms();
    CHECK_EQ(sys_select(n, &r, NULL, NULL, &tv), 0);
    CHECK(now_ms() - t0 >= 8);
    CHECK_EQ(tv.tv_sec, 0);
    CHECK(tv.tv_usec >= 0 && tv.tv_usec <= 10000);

    /* readable pipe; writable write end */
    CHECK_EQ(sys_write(p[1], "z", 1), 1);
    fd_zero(&r);
    fd_set1(&r, p[0]);
    fd_zero(&w);
    fd_set1(&w, p[1]);
    fd_set1(&w, p[0]); /* the read end is never writable */
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    CHECK_EQ(sys_select(n, &r, &w, NULL, &tv), 2);
    CHECK(fd_isset(&r, p[0]));
    CHECK_EQ(fd_count(&r), 1);
    CHECK(fd_isset(&w, p[1]));
    CHECK_EQ(fd_count(&w), 1);
    /* NULL timeout with a ready fd */
    fd_zero(&r);
    fd_set1(&r, p[0]);
    CHECK_EQ(sys_select(n, &r, NULL, NULL, NULL), 1);
    CHECK(fd_isset(&r, p[0]));
    /* nfds 0: a plain sleep */
    tv.tv_sec = 0;
    tv.tv_usec = 1000;
    CHECK_EQ(sys_select(0, NULL, NULL, NULL, &tv), 0);
    /* an fd at a higher byte of the set (fd >= 64: a second long) */
    int hi = (int)sys_dup2(p[0], 70);
    CHECK_EQ(hi, 70);
    fd_zero(&r);
    fd_set1(&r, hi);
    tv.tv_usec = 0;
    CHECK_EQ(sys_select(hi + 1, &r, NULL, NULL, &tv), 1);
    CHECK(fd_isset(&r, hi));
    CHECK_EQ(fd_count(&r), 1);
    sys_close(hi);

    /* errors */
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    CHECK_EQ(sys_select(-1, &r, NULL, NULL, &tv), -EINVAL);
    tv.tv_sec = -1;
    CHECK_EQ(sys_select(n, &r, NULL, NULL, &tv), -EINVAL);
    tv.tv_sec = 0;
    int cl = closed_fd();
    fd_zero(&r);
    fd_set1(&r, cl);
    CHECK_EQ(sys_select(cl + 1, &r, NULL, NULL, &tv), -EBADF);
    CHECK_EQ(sys_select(n, BADPTR, NULL, NULL, &tv), -EFAULT);
    fd_zero(&r);
    CHECK_EQ(sys_select(n, &r, NULL, NULL, BADPTR), -EFAULT);
    sys_close(p[0]);
    sys_close(p[1]);
}

static void test_pselect6(void) {
    int p[2];
    CHECK_EQ(sys_pipe(p), 0);
    int n = p[0] + 1;
    fdset r;
    struct timespec ts = {0, 0};

    fd_zero(&r);
    fd_set1(&r, p[0]);
    CHECK_EQ(sys_pselect6(n, &r, NULL, NULL, &ts, NULL), 0);
    CHECK_EQ(fd_count(&r), 0);
    /* a 5 ms timeout */
    fd_set1(&r, p[0]);
    ts.tv_nsec = 5000000;
    i64 t0 = now_ms();
    CHECK_EQ(sys_pselect6(n, &r, NULL, NULL, &ts, NULL), 0);
    CHECK(now_ms() - t0 >= 4);
    CHECK(ts.tv_nsec >= 0 && ts.tv_nsec <= 5000000);

    CHECK_EQ(sys_write(p[1], "q", 1), 1);
    /* 6th argument NULL */
    ts.tv_nsec = 0;
    fd_zero(&r);
    fd_set1(&r, p[0]);
    CHECK_EQ(sys_pselect6(n, &r, NULL, NULL, &ts, NULL), 1);
    CHECK(fd_isset(&r, p[0]));
    /* 6th argument { NULL, 8 } */
    struct pselect_sigmask sm = {0, 8};
    fd_zero(&r);
    fd_set1(&r, p[0]);
    CHECK_EQ(sys_pselect6(n, &r, NULL, NULL, &ts, &sm), 1);
    CHECK(fd_isset(&r, p[0]));
    /* 6th argument { &sigset, 8 }: the own mask is restored afterwards */
    u64 before = cur_sigmask();
    u64 mask = (1ULL << (SIGUSR1 - 1)) | (1ULL << (SIGUSR2 - 1));
    sm.ss = (u64)(unsigned long)&mask;
    sm.ss_len = 8;
    fd_zero(&r);
    fd_set1(&r, p[0]);
    CHECK_EQ(sys_pselect6(n, &r, NULL, NULL, &ts, &sm), 1);
    CHECK(fd_isset(&r, p[0]));
    CHECK_EQ(cur_sigmask(), before);
    /* NULL timeout with a ready fd */
    fd_zero(&r);
    fd_set1(&r, p[0]);
    CHECK_EQ(sys_pselect6(n, &r, NULL, NULL, NULL, &sm), 1);

    /* errors */
    sm.ss_len = 4;
    CHECK_EQ(sys_pselect6(n, &r, NULL, NULL, &ts, &sm), -EINVAL);
    sm.ss_len = 8;
    CHECK_EQ(sys_pselect6(-1, &r, NULL, NULL, &ts, &sm), -EINVAL);
    ts.tv_nsec = 1000000000;
    CHECK_EQ(sys_pselect6(n, &r, NULL, NULL, &ts, NULL), -EINVAL);
    ts.tv_nsec = 0;
    CHECK_EQ(sys_pselect6(n, &r, NULL, NULL, &ts, BADPTR), -EFAULT);
    sm.ss = (u64)(unsigned long)BADPTR;
    CHECK_EQ(sys_pselect6(n, &r, NULL, NULL, &ts, &sm), -EFAULT);
    sys_close(p[0]);
    sys_close(p[1]);
}

/* Finds the record with `data` among n events; returns its index or -1. */
static int find_ev(const struct epoll_event *ev, int n, u64 data) {
    for (int i = 0; i < n; i++)
        if (ev[i].data == data) return i;
    return -1;
}

static void test_epoll(void) {
    CHECK_EQ(sizeof(struct epoll_event), 12);
    CHECK_EQ(sys_epoll_create(0), -EINVAL);
    CHECK_EQ(sys_epoll_create(-5), -EINVAL);
    int ep = (int)sys_epoll_create(1);
    CHECK(ep >= 0);
    CHECK_EQ(sys_fcntl(ep, F_GETFD, 0), 0);
    int ep2 = (int)sys_epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep2 >= 0);
    CHECK_EQ(sys_fcntl(ep2, F_GETFD, 0), FD_CLOEXEC);
    CHECK_EQ(sys_epoll_create1(1), -EINVAL);

    int a[2], b[2], c[2], d[2];
    CHECK_EQ(sys_pipe(a), 0);
    CHECK_EQ(sys_pipe(b), 0);
    CHECK_EQ(sys_pipe(c), 0);
    CHECK_EQ(sys_pipe(d), 0);
    const u64 da = 0x1111111100000001ULL, db = 0x2222222200000002ULL,
              dc = 0xF333333300000003ULL, dd = 0x4444444400000004ULL;
    struct epoll_event e;
    e.events = EPOLLIN;
    e.data = da;
    CHECK_EQ(sys_epoll_ctl(ep, EPOLL_CTL_ADD, a[0], &e), 0);
    e.data = db;
    CHECK_EQ(sys_epoll_ctl(ep, EPOLL_CTL_ADD, b[0], &e), 0);
    e.data = dc;
    CHECK_EQ(sys_epoll_ctl(ep, EPOLL_CTL_ADD, c[0], &e), 0);
    /* ADD twice, DEL/MOD of an unregistered fd */
    CHECK_EQ(sys_epoll_ctl(ep, EPOLL_CTL_ADD, a[0], &e), -EEXIST);
    CHECK_EQ(sys_epoll_ctl(ep, EPOLL_CTL_DEL, d[0], NULL), -ENOENT);
    CHECK_EQ(sys_epoll_ctl(ep, EPOLL_CTL_MOD, d[0], &e), -ENOENT);

    /* nothing ready yet */
    struct epoll_event ev[5];
    CHECK_EQ(sys_epoll_wait(ep, ev, 4, 0), 0);
    i64 t0 = now_ms();
    CHECK_EQ(sys_epoll_wait(ep, ev, 4, 10), 0);
    CHECK(now_ms() - t0 >= 8);

    /* three ready fds, room for four records */
    CHECK_EQ(sys_write(a[1], "a", 1), 1);
    CHECK_EQ(sys_write(b[1], "b", 1), 1);
    CHECK_EQ(sys_write(c[1], "c", 1), 1);
    mfill(ev, 0xEE, sizeof ev);
    CHECK_EQ(sys_epoll_wait(ep, ev, 4, 0), 3);
    int ia = find_ev(ev, 3, da), ib = find_ev(ev, 3, db), ic = find_ev(ev, 3, dc);
    CHECK(ia >= 0 && ib >= 0 && ic >= 0);
    CHECK(ia != ib && ib != ic && ia != ic);
    for (int i = 0; i < 3; i++) CHECK_EQ(ev[i].events, EPOLLIN);
    /* the packed layout: record i at byte 12*i, data at +4 */
    const u8 *raw = (const u8 *)ev;
    u64 d1;
    mcopy(&d1, raw + 12 + 4, 8);
    CHECK_EQ(d1, ev[1].data);
    u32 e2;
    mcopy(&e2, raw + 24, 4);
    CHECK_EQ(e2, EPOLLIN);
    /* the fourth record is untouched */
    for (int i = 36; i < 48; i++) CHECK_EQ(raw[i], 0xEE);
    /* fewer records than ready fds */
    CHECK_EQ(sys_epoll_wait(ep, ev, 2, 0), 2);
    CHECK_EQ(sys_epoll_wait(ep, ev, 1, -1), 1); /* ready: no wait */

    /* MOD: new data for a; b asks for EPOLLOUT, which a read end never is */
    e.events = EPOLLIN;
    e.data = dd;
    CHECK_EQ(sys_epoll_ctl(ep, EPOLL_CTL_MOD, a[0], &e), 0);
    e.events = EPOLLOUT;
    e.data = db;
    CHECK_EQ(sys_epoll_ctl(ep, EPOLL_CTL_MOD, b[0], &e), 0);
    mfill(ev, 0, sizeof ev);
    CHECK_EQ(sys_epoll_wait(ep, ev, 4, 0), 2);
    CHECK(find_ev(ev, 2, dd) >= 0);
    CHECK(find_ev(ev, 2, dc) >= 0);
    CHECK_EQ(find_ev(ev, 2, da), -1);
    /* a write end with EPOLLOUT */
    e.events = EPOLLOUT;
    e.data = 77;
    CHECK_EQ(sys_epoll_ctl(ep, EPOLL_CTL_ADD, d[1], &e), 0);
    mfill(ev, 0, sizeof ev);
    CHECK_EQ(sys_epoll_wait(ep, ev, 4, 0), 3);
    int id = find_ev(ev, 3, 77);
    CHECK(id >= 0);
    if (id >= 0) CHECK_EQ(ev[id].events, EPOLLOUT);
    /* DEL */
    CHECK_EQ(sys_epoll_ctl(ep, EPOLL_CTL_DEL, c[0], NULL), 0);
    CHECK_EQ(sys_epoll_ctl(ep, EPOLL_CTL_DEL, d[1], &e), 0);
    CHECK_EQ(sys_epoll_ctl(ep, EPOLL_CTL_DEL, c[0], NULL), -ENOENT);
    mfill(ev, 0, sizeof ev);
    CHECK_EQ(sys_epoll_wait(ep, ev, 4, 0), 1);
    CHECK_EQ(ev[0].data, dd);
    /* the writer of a closes: EPOLLHUP is reported even though not asked */
    CHECK_EQ(sys_close(a[1]), 0);
    mfill(ev, 0, sizeof ev);
    CHECK_EQ(sys_epoll_wait(ep, ev, 4, 0), 1);
    CHECK_EQ(ev[0].events, EPOLLIN | EPOLLHUP);

    /* epoll_pwait: NULL sigmask, a real one (restored afterwards) */
    mfill(ev, 0, sizeof ev);
    CHECK_EQ(sys_epoll_pwait(ep, ev, 4, 0, NULL, 8), 1);
    CHECK_EQ(ev[0].data, dd);
    u64 before = cur_sigmask();
    u64 mask = 1ULL << (SIGUSR1 - 1);
    mfill(ev, 0, sizeof ev);
    CHECK_EQ(sys_epoll_pwait(ep, ev, 4, 0, &mask, 8), 1);
    CHECK_EQ(ev[0].data, dd);
    CHECK_EQ(cur_sigmask(), before);
    CHECK_EQ(sys_epoll_pwait(ep2, ev, 4, 5, &mask, 8), 0);
    CHECK_EQ(sys_epoll_pwait(ep, ev, 4, 0, &mask, 4), -EINVAL);
    CHECK_EQ(sys_epoll_pwait(ep, ev, 0, 0, NULL, 8), -EINVAL);

    /* errors */
    CHECK_EQ(sys_epoll_wait(ep, ev, 0, 0), -EINVAL);
    CHECK_EQ(sys_epoll_wait(ep, ev, -1, 0), -EINVAL);
    CHECK_EQ(sys_epoll_wait(ep, BADPTR, 4, 0), -EFAULT);
    CHECK_EQ(sys_epoll_wait(BADFD, ev, 4, 0), -EBADF);
    CHECK_EQ(sys_epoll_wait(a[0], ev, 4, 0), -EINVAL); /* not an epoll fd */
    e.events = EPOLLIN;
    e.data = 0;
    CHECK_EQ(sys_epoll_ctl(a[0], EPOLL_CTL_ADD, b[0], &e), -EINVAL);
    CHECK_EQ(sys_epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e), -EINVAL);
    CHECK_EQ(sys_epoll_ctl(ep, 99, d[0], &e), -EINVAL);
    CHECK_EQ(sys_epoll_ctl(ep, EPOLL_CTL_ADD, BADFD, &e), -EBADF);
    CHECK_EQ(sys_epoll_ctl(BADFD, EPOLL_CTL_ADD, d[0], &e), -EBADF);
    CHECK_EQ(sys_epoll_ctl(ep, EPOLL_CTL_ADD, d[0], BADPTR), -EFAULT);
    /* regular files cannot be watched */
    char path[256];
    size_t sl = wstrlen(scratch);
    mcopy(path, scratch, sl);
    mcopy(path + sl, "/regular", 9);
    int f = (int)sys_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(f >= 0);
    CHECK_EQ(sys_epoll_ctl(ep, EPOLL_CTL_ADD, f, &e), -EPERM);
    sys_close(f);
    CHECK_EQ(sys_unlink(path), 0);

    /* an epoll fd is itself pollable */
    struct pollfd pf = {ep, POLLIN, 0};
    CHECK_EQ(sys_poll(&pf, 1, 0), 1);
    CHECK_EQ(pf.revents, POLLIN);

    sys_close(a[0]);
    sys_close(b[0]);
    sys_close(b[1]);
    sys_close(c[0]);
    sys_close(c[1]);
    sys_close(d[0]);
    sys_close(d[1]);
    sys_close(ep2);
    sys_close(ep);
}

static void test_eventfd(void) {
    u64 v = 0;
    int e = (int)sys_eventfd(5);
    CHECK(e >= 0);
    CHECK_EQ(sys_fcntl(e, F_GETFD, 0), 0);
    CHECK_EQ(sys_fcntl(e, F_GETFL, 0) & O_NONBLOCK, 0);
    CHECK_EQ(sys_read(e, &v, 8), 8);
    CHECK_EQ(v, 5);
    /* writes add up */
    v = 7;
    CHECK_EQ(sys_write(e, &v, 8), 8);
    v = 0x100000003ULL; /* more than 32 bits */
    CHECK_EQ(sys_write(e, &v, 8), 8);
    v = 0;
    CHECK_EQ(sys_read(e, &v, 8), 8);
    CHECK_EQ(v, 0x10000000AULL);
    /* polling: always writable, readable when non-zero */
    struct pollfd pf = {e, POLLIN | POLLOUT, 0};
    CHECK_EQ(sys_poll(&pf, 1, 0), 1);
    CHECK_EQ(pf.revents, POLLOUT);
    v = 1;
    CHECK_EQ(sys_write(e, &v, 8), 8);
    CHECK_EQ(sys_poll(&pf, 1, 0), 1);
    CHECK_EQ(pf.revents, POLLIN | POLLOUT);
    /* errors: short buffers, the reserved value */
    CHECK_EQ(sys_read(e, &v, 4), -EINVAL);
    CHECK_EQ(sys_write(e, &v, 4), -EINVAL);
    v = ~0ULL;
    CHECK_EQ(sys_write(e, &v, 8), -EINVAL);
    CHECK_EQ(sys_read(e, BADPTR, 8), -EFAULT);
    sys_close(e);

    /* EFD_NONBLOCK: reading a zero counter */
    e = (int)sys_eventfd2(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(e >= 0);
    CHECK(sys_fcntl(e, F_GETFL, 0) & O_NONBLOCK);
    CHECK_EQ(sys_fcntl(e, F_GETFD, 0), FD_CLOEXEC);
    CHECK_EQ(sys_read(e, &v, 8), -EAGAIN);
    v = 42;
    CHECK_EQ(sys_write(e, &v, 8), 8);
    v = 0;
    CHECK_EQ(sys_read(e, &v, 8), 8);
    CHECK_EQ(v, 42);
    CHECK_EQ(sys_read(e, &v, 8), -EAGAIN);
    sys_close(e);

    /* EFD_SEMAPHORE: each read takes one */
    e = (int)sys_eventfd2(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    CHECK(e >= 0);
    v = 0;
    CHECK_EQ(sys_read(e, &v, 8), 8);
    CHECK_EQ(v, 1);
    v = 0;
    CHECK_EQ(sys_read(e, &v, 8), 8);
    CHECK_EQ(v, 1);
    CHECK_EQ(sys_read(e, &v, 8), -EAGAIN);
    sys_close(e);

    CHECK_EQ(sys_eventfd2(0, 2), -EINVAL); /* unknown flag */
}

static void test_ioctl(void) {
    int p[2];
    CHECK_EQ(sys_pipe(p), 0);
    /* FIONREAD: bytes pending */
    int n = -1;
    CHECK_EQ(sys_ioctl(p[0], FIONREAD, &n), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(sys_write(p[1], "12345", 5), 5);
    n = -1;
    CHECK_EQ(sys_ioctl(p[0], FIONREAD, &n), 0);
    CHECK_EQ(n, 5);
    CHECK_EQ(sys_ioctl(p[0], FIONREAD, BADPTR), -EFAULT);

    /* FIONBIO sets and clears O_NONBLOCK */
    int on = 1;
    CHECK_EQ(sys_ioctl(p[0], FIONBIO, &on), 0);
    CHECK(sys_fcntl(p[0], F_GETFL, 0) & O_NONBLOCK);
    char buf[8];
    CHECK_EQ(sys_read(p[0], buf, 8), 5);
    CHECK_EQ(sys_read(p[0], buf, 8), -EAGAIN);
    on = 0;
    CHECK_EQ(sys_ioctl(p[0], FIONBIO, &on), 0);
    CHECK_EQ(sys_fcntl(p[0], F_GETFL, 0) & O_NONBLOCK, 0);

    /* FIOCLEX / FIONCLEX toggle FD_CLOEXEC */
    CHECK_EQ(sys_fcntl(p[1], F_GETFD, 0), 0);
    CHECK_EQ(sys_ioctl(p[1], FIOCLEX, NULL), 0);
    CHECK_EQ(sys_fcntl(p[1], F_GETFD, 0), FD_CLOEXEC);
    CHECK_EQ(sys_ioctl(p[1], FIONCLEX, NULL), 0);
    CHECK_EQ(sys_fcntl(p[1], F_GETFD, 0), 0);

    /* terminal requests on a pipe, unknown requests */
    u8 t[64];
    CHECK_EQ(sys_ioctl(p[0], TCGETS, t), -ENOTTY);
    CHECK_EQ(sys_ioctl(p[0], TIOCGWINSZ, t), -ENOTTY);
    CHECK_EQ(sys_ioctl(p[0], 0x12345678, t), -ENOTTY);
    CHECK_EQ(sys_ioctl(p[0], 0x5499, t), -ENOTTY);

    /* a bad fd is EBADF whatever the request */
    CHECK_EQ(sys_ioctl(BADFD, FIONREAD, &n), -EBADF);
    CHECK_EQ(sys_ioctl(BADFD, TCGETS, t), -EBADF);
    CHECK_EQ(sys_ioctl(BADFD, FIOCLEX, NULL), -EBADF);
    CHECK_EQ(sys_ioctl(BADFD, 0x12345678, t), -EBADF);

    /* FIONREAD on a regular file: bytes after the offset */
    char path[256];
    size_t sl = wstrlen(scratch);
    mcopy(path, scratch, sl);
    mcopy(path + sl, "/fionread", 10);
    int f = (int)sys_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(f >= 0);
    CHECK_EQ(sys_write(f, "hello world", 11), 11);
    CHECK_EQ(sys_lseek(f, 4, SEEK_SET), 4);
    n = -1;
    CHECK_EQ(sys_ioctl(f, FIONREAD, &n), 0);
    CHECK_EQ(n, 7);
    CHECK_EQ(sys_ioctl(f, TCGETS, t), -ENOTTY);
    sys_close(f);
    CHECK_EQ(sys_unlink(path), 0);
    sys_close(p[0]);
    sys_close(p[1]);
}

static void test_pty(void) {
    int m = (int)sys_open("/dev/ptmx", O_RDWR | O_NOCTTY, 0);
    if (m < 0) return; /* no pseudo-terminals here: skip */

    /* TCGETS writes exactly the 36-byte kernel termios */
    u8 t[64], t2[64];
    mfill(t, 0xEE, sizeof t);
    CHECK_EQ(sys_ioctl(m, TCGETS, t), 0);
    for (int i = 36; i < 64; i++) CHECK_EQ(t[i], 0xEE);
    u32 lflag;
    mcopy(&lflag, t + 12, 4);
    /* TCSETS with ECHO flipped, read back */
    u32 nl = lflag ^ ECHO_;
    mcopy(t + 12, &nl, 4);
    CHECK_EQ(sys_ioctl(m, TCSETS, t), 0);
    mfill(t2, 0xEE, sizeof t2);
    CHECK_EQ(sys_ioctl(m, TCGETS, t2), 0);
    u32 got;
    mcopy(&got, t2 + 12, 4);
    CHECK_EQ(got, nl);
    CHECK(wmemcmp(t, t2, 16) == 0);  /* the four flag words */
    CHECK(wmemcmp(t + 17, t2 + 17, 19) == 0); /* c_cc */
    mcopy(t + 12, &lflag, 4);
    CHECK_EQ(sys_ioctl(m, TCSETS, t), 0);
    CHECK_EQ(sys_ioctl(m, TCGETS, BADPTR), -EFAULT);

    /* TIOCSWINSZ / TIOCGWINSZ: 4 x u16 */
    struct winsize ws = {33, 101, 707, 909};
    CHECK_EQ(sys_ioctl(m, TIOCSWINSZ, &ws), 0);
    u8 wb[16];
    mfill(wb, 0xEE, sizeof wb);
    CHECK_EQ(sys_ioctl(m, TIOCGWINSZ, wb), 0);
    struct winsize gw;
    mcopy(&gw, wb, 8);
    CHECK_EQ(gw.ws_row, 33);
    CHECK_EQ(gw.ws_col, 101);
    CHECK_EQ(gw.ws_xpixel, 707);
    CHECK_EQ(gw.ws_ypixel, 909);
    for (int i = 8; i < 16; i++) CHECK_EQ(wb[i], 0xEE);
    CHECK_EQ(sys_ioctl(m, TIOCGWINSZ, BADPTR), -EFAULT);

    /* TIOCGPTN: the slave's number */
    int ptn = -1;
    CHECK_EQ(sys_ioctl(m, (int)TIOCGPTN, &ptn), 0);
    CHECK(ptn >= 0);
    /* the master is writable */
    struct pollfd pf = {m, POLLOUT, 0};
    CHECK_EQ(sys_poll(&pf, 1, 0), 1);
    CHECK(pf.revents & POLLOUT);
    sys_close(m);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        puts_fd(2, "usage: poll.wasm <scratch dir>\n");
        return 2;
    }
    scratch = argv[1];
    test_poll();
    test_ppoll();
    test_select();
    test_pselect6();
    test_epoll();
    test_eventfd();
    test_ioctl();
    test_pty();
    return 0;
}
