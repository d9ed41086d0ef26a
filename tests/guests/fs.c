/* Files and directories through the runtime, success paths (with their
 * effect checked: data read back, stat of the result) and error paths (the
 * errno Linux gives): open/openat/creat/close, read/write, pread64/pwrite64,
 * readv/writev, lseek, the stat family, statx, statfs/fstatfs, getdents64,
 * fcntl (descriptor and status flags, F_DUPFD*, record locks), flock,
 * dup/dup2/dup3, pipe/pipe2, unlink/unlinkat, rename/renameat2,
 * mkdir/mkdirat/rmdir, link/linkat, symlink/symlinkat, readlink/readlinkat,
 * chdir/fchdir/getcwd, access/faccessat/faccessat2, chmod/fchmod/fchmodat,
 * chown/fchown/fchownat/lchown, umask, truncate/ftruncate, fsync/fdatasync,
 * fadvise, utimensat/utimes/futimesat, chroot (error paths only), and guest
 * paths that run off memory or are too long.
 * argv[1]: a scratch directory (an absolute path); every file the test
 * creates is inside it. The test changes the process's working directory
 * and umask while it runs, and restores both. */
#include "wali.h"

#define F_OK 0
#define X_OK 1
#define W_OK 2
#define R_OK 4
#define O_ACCMODE 3
#define O_PATH 010000000
#define AT_EACCESS 0x200
#define AT_SYMLINK_FOLLOW 0x400
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define LOCK_SH 1
#define LOCK_EX 2
#define LOCK_NB 4
#define LOCK_UN 8
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#define STATX_TYPE 0x1
#define STATX_MODE 0x2
#define STATX_INO 0x100
#define STATX_SIZE 0x200
#define STATX_BASIC_STATS 0x7ff
#define STATX__RESERVED 0x80000000u
#define UTIME_OMIT ((1L << 30) - 2)
#define DT_DIR 4
#define DT_REG 8
#define DT_LNK 10
#define POSIX_FADV_NORMAL 0
#define POSIX_FADV_SEQUENTIAL 2
#define POSIX_FADV_WILLNEED 3
#define POSIX_FADV_DONTNEED 4

/* A guest address far outside linear memory (the memory is at most 2 GiB). */
#define BAD ((void *)0xFFFFFFF0)

/* ---- helpers ---------------------------------------------------------- */

static const char *scratch;

/* scratch/name, in one of 8 rotating buffers (so a call can take several) */
static const char *P(const char *name) {
    static char bufs[8][1024];
    static int next;
    char *b = bufs[next++ & 7];
    size_t n = wstrlen(scratch), m = wstrlen(name);
    for (size_t i = 0; i < n; i++) b[i] = scratch[i];
    b[n] = '/';
    for (size_t i = 0; i <= m; i++) b[n + 1 + i] = name[i];
    return b;
}

static void fill(void *p, int c, size_t n) {
    u8 *d = p;
    for (size_t i = 0; i < n; i++) d[i] = (u8)c;
}

static int all_bytes(const void *p, int c, size_t n) {
    const u8 *s = p;
    for (size_t i = 0; i < n; i++) if (s[i] != (u8)c) return 0;
    return 1;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = wstrlen(s), m = wstrlen(suffix);
    return n >= m && !wstrcmp(s + n - m, suffix);
}

/* The last n bytes (n <= 65536) of linear memory: a 64 KiB block is
 * reserved first, so everything from it to the end of memory is ours. */
static u8 *mem_tail(size_t n) {
    wmalloc(65536);
    return (u8 *)(__builtin_wasm_memory_size(0) * 65536UL - n);
}

/* Creates (or truncates) `path` holding `data`. */
static void put_file(const char *path, const char *data) {
    int fd = (int)sys_open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    CHECK(fd >= 0);
    size_t n = wstrlen(data);
    CHECK_EQ(sys_write(fd, data, n), n);
    CHECK_EQ(sys_close(fd), 0);
}

/* Whether `path` holds exactly `data`. */
static int file_is(const char *path, const char *data) {
    char buf[256];
    int fd = (int)sys_open(path, O_RDONLY, 0);
    if (fd < 0) return 0;
    i64 n = sys_read(fd, buf, sizeof buf);
    sys_close(fd);
    return n == (i64)wstrlen(data) && !wmemcmp(buf, data, n);
}

static struct stat st_path(const char *path) {
    struct stat st;
    fill(&st, 0, sizeof st);
    CHECK_EQ(sys_stat(path, &st), 0);
    return st;
}

static struct stat st_link(const char *path) {
    struct stat st;
    fill(&st, 0, sizeof st);
    CHECK_EQ(sys_lstat(path, &st), 0);
    return st;
}

static struct stat st_fd(int fd) {
    struct stat st;
    fill(&st, 0, sizeof st);
    CHECK_EQ(sys_fstat(fd, &st), 0);
    return st;
}

static int missing(const char *path) {
    struct stat st;
    return sys_lstat(path, &st) == -ENOENT;
}

static int open_dir(const char *path) {
    int fd = (int)sys_open(path, O_RDONLY | O_DIRECTORY, 0);
    CHECK(fd >= 0);
    return fd;
}

/* Whether the running kernel is at least maj.min (from uname's release). */
static int kernel_at_least(int maj, int min) {
    static char u[6 * 65];
    if (sys_uname(u) != 0) return 0;
    const char *r = u + 2 * 65; /* release */
    int a = 0, b = 0;
    while (*r >= '0' && *r <= '9') a = a * 10 + (*r++ - '0');
    if (*r == '.') r++;
    while (*r >= '0' && *r <= '9') b = b * 10 + (*r++ - '0');
    return a > maj || (a == maj && b >= min);
}

static void make_pipe(int p[2]) {
    CHECK_EQ(sys_pipe(p), 0);
}

static void close_pipe(int p[2]) {
    CHECK_EQ(sys_close(p[0]), 0);
    CHECK_EQ(sys_close(p[1]), 0);
}

/* ---- open, openat, creat, close ---------------------------------------- */

static void test_open_close(void) {
    struct stat st;
    int fd = (int)sys_open(P("a"), O_CREAT | O_EXCL | O_RDWR, 0644);
    CHECK(fd >= 0);
    st = st_fd(fd);
    CHECK_EQ(st.st_mode, S_IFREG | 0644);
    CHECK_EQ(st.st_size, 0);
    CHECK_EQ(st.st_uid, sys_getuid());
    CHECK_EQ(sys_fcntl(fd, F_GETFD, 0), 0);
    CHECK_EQ(sys_fcntl(fd, F_GETFL, 0) & O_ACCMODE, O_RDWR);
    CHECK_EQ(sys_write(fd, "0123456789", 10), 10);
    CHECK_EQ(sys_close(fd), 0);
    CHECK_EQ(sys_close(fd), -EBADF);
    CHECK_EQ(sys_close(-1), -EBADF);
    CHECK_EQ(sys_close(1000000), -EBADF);
    CHECK(file_is(P("a"), "0123456789"));

    /* O_CLOEXEC is visible in F_GETFD; O_TRUNC empties the file */
    fd = (int)sys_open(P("a"), O_RDONLY | O_CLOEXEC, 0);
    CHECK(fd >= 0);
    CHECK_EQ(sys_fcntl(fd, F_GETFD, 0), FD_CLOEXEC);
    CHECK_EQ(sys_fcntl(fd, F_GETFL, 0) & O_ACCMODE, O_RDONLY);
    CHECK_EQ(sys_write(fd, "x", 1), -EBADF);
    CHECK_EQ(sys_close(fd), 0);
    fd = (int)sys_open(P("a"), O_WRONLY | O_TRUNC, 0);
    CHECK(fd >= 0);
    CHECK_EQ(st_fd(fd).st_size, 0);
    char c;
    CHECK_EQ(sys_read(fd, &c, 1), -EBADF);
    CHECK_EQ(sys_close(fd), 0);

    /* open errors */
    CHECK_EQ(sys_open(P("a"), O_CREAT | O_EXCL | O_RDWR, 0644), -EEXIST);
    CHECK_EQ(sys_open(P("missing"), O_RDONLY, 0), -ENOENT);
    CHECK_EQ(sys_open(P("nodir/x"), O_CREAT | O_RDWR, 0644), -ENOENT);
    CHECK_EQ(sys_open(P("a/x"), O_RDONLY, 0), -ENOTDIR);
    CHECK_EQ(sys_open(P("a"), O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
    CHECK_EQ(sys_open(scratch, O_WRONLY, 0), -EISDIR);
    CHECK_EQ(sys_open(scratch, O_RDWR, 0), -EISDIR);
    CHECK_EQ(sys_open("", O_RDONLY, 0), -ENOENT);
    CHECK_EQ(sys_open(BAD, O_RDONLY, 0), -EFAULT);
    CHECK_EQ(sys_open(NULL, O_RDONLY, 0), -EFAULT);
    CHECK(missing(P("nodir")));

    /* openat: relative to a directory fd */
    int dfd = open_dir(scratch);
    fd = (int)sys_openat(dfd, "b", O_CREAT | O_EXCL | O_WRONLY, 0600);
    CHECK(fd >= 0);
    CHECK_EQ(sys_write(fd, "bee", 3), 3);
    CHECK_EQ(sys_close(fd), 0);
    st = st_path(P("b"));
    CHECK_EQ(st.st_mode, S_IFREG | 0600);
    CHECK_EQ(st.st_size, 3);
    fd = (int)sys_openat(dfd, "b", O_RDONLY, 0);
    CHECK(fd >= 0);
    CHECK_EQ(st_fd(fd).st_ino, st.st_ino);
    /* openat errors */
    CHECK_EQ(sys_openat(dfd, "b", O_CREAT | O_EXCL | O_WRONLY, 0600), -EEXIST);
    CHECK_EQ(sys_openat(dfd, "nope", O_RDONLY, 0), -ENOENT);
    CHECK_EQ(sys_openat(-1, "b", O_RDONLY, 0), -EBADF);
    CHECK_EQ(sys_openat(1000000, "b", O_RDONLY, 0), -EBADF);
    CHECK_EQ(sys_openat(fd, "b", O_RDONLY, 0), -ENOTDIR);
    CHECK_EQ(sys_openat(dfd, BAD, O_RDONLY, 0), -EFAULT);
    CHECK_EQ(sys_close(fd), 0);
    if (scratch[0] == '/') {
        /* an absolute path ignores dirfd, even a bad one */
        fd = (int)sys_openat(-1, P("b"), O_RDONLY, 0);
        CHECK(fd >= 0);
        CHECK_EQ(st_fd(fd).st_ino, st.st_ino);
        CHECK_EQ(sys_close(fd), 0);
    }

    /* creat: O_CREAT | O_WRONLY | O_TRUNC */
    fd = (int)sys_creat(P("c"), 0640);
    CHECK(fd >= 0);
    st = st_fd(fd);
    CHECK_EQ(st.st_mode, S_IFREG | 0640);
    CHECK_EQ(sys_fcntl(fd, F_GETFL, 0) & O_ACCMODE, O_WRONLY);
    CHECK_EQ(sys_write(fd, "xyz", 3), 3);
    CHECK_EQ(sys_read(fd, &c, 1), -EBADF);
    CHECK_EQ(sys_close(fd), 0);
    CHECK_EQ(st_path(P("c")).st_size, 3);
    /* again: truncates, and the existing mode stays */
    fd = (int)sys_creat(P("c"), 0600);
    CHECK(fd >= 0);
    st = st_fd(fd);
    CHECK_EQ(st.st_size, 0);
    CHECK_EQ(st.st_mode, S_IFREG | 0640);
    CHECK_EQ(sys_close(fd), 0);
    CHECK_EQ(sys_creat(P("nodir/c"), 0644), -ENOENT);
    CHECK_EQ(sys_creat(scratch, 0644), -EISDIR);
    CHECK_EQ(sys_creat(BAD, 0644), -EFAULT);
    CHECK_EQ(sys_close(dfd), 0);
}

/* ---- read, write, pread64, pwrite64, readv, writev ---------------------- */

static void test_read_write(void) {
    char buf[64];
    int fd = (int)sys_open(P("rw"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(sys_write(fd, "hello world", 11), 11);
    CHECK_EQ(sys_lseek(fd, 0, SEEK_CUR), 11);
    CHECK_EQ(sys_lseek(fd, 0, SEEK_SET), 0);
    fill(buf, 0, sizeof buf);
    CHECK_EQ(sys_read(fd, buf, sizeof buf), 11);
    CHECK(!wmemcmp(buf, "hello world", 12));
    CHECK_EQ(sys_read(fd, buf, sizeof buf), 0); /* end of file */
    CHECK_EQ(sys_read(fd, buf, 0), 0);
    CHECK_EQ(sys_write(fd, buf, 0), 0);
    CHECK_EQ(sys_lseek(fd, 6, SEEK_SET), 6);
    CHECK_EQ(sys_read(fd, buf, 3), 3);
    CHECK(!wmemcmp(buf, "wor", 3));
    CHECK_EQ(sys_lseek(fd, 0, SEEK_CUR), 9);

    /* read/write errors (the offset is inside the file, so a fault is not
     * hidden by end of file) */
    CHECK_EQ(sys_lseek(fd, 0, SEEK_SET), 0);
    CHECK_EQ(sys_read(-1, buf, 4), -EBADF);
    CHECK_EQ(sys_write(-1, "x", 1), -EBADF);
    CHECK_EQ(sys_read(fd, BAD, 4), -EFAULT);
    CHECK_EQ(sys_write(fd, BAD, 4), -EFAULT);
    CHECK_EQ(sys_read(fd, NULL, 4), -EFAULT);
    u8 *end = mem_tail(0); /* the first byte past the end of memory */
    CHECK_EQ(sys_read(fd, end, 4), -EFAULT);
    CHECK_EQ(sys_write(fd, end, 4), -EFAULT);
    CHECK_EQ(sys_lseek(fd, 0, SEEK_CUR), 0);
    CHECK(file_is(P("rw"), "hello world"));
    int dfd = open_dir(scratch);
    CHECK_EQ(sys_read(dfd, buf, sizeof buf), -EISDIR);
    CHECK_EQ(sys_write(dfd, "x", 1), -EBADF);

    /* pread64/pwrite64: explicit offset, file offset unchanged */
    CHECK_EQ(sys_lseek(fd, 2, SEEK_SET), 2);
    CHECK_EQ(sys_pwrite64(fd, "XY", 2, 6), 2);
    CHECK_EQ(sys_lseek(fd, 0, SEEK_CUR), 2);
    fill(buf, 0, sizeof buf);
    CHECK_EQ(sys_pread64(fd, buf, 5, 6), 5);
    CHECK(!wmemcmp(buf, "XYrld", 5));
    CHECK_EQ(sys_pread64(fd, buf, 5, 9), 2);
    CHECK_EQ(sys_pread64(fd, buf, 5, 100), 0);
    CHECK_EQ(sys_lseek(fd, 0, SEEK_CUR), 2);
    CHECK(file_is(P("rw"), "hello XYrld"));
    /* a write past the end leaves a hole of zeros */
    CHECK_EQ(sys_pwrite64(fd, "!", 1, 20), 1);
    CHECK_EQ(st_fd(fd).st_size, 21);
    fill(buf, 0x55, sizeof buf);
    CHECK_EQ(sys_pread64(fd, buf, 64, 11), 10);
    CHECK(all_bytes(buf, 0, 9));
    CHECK_EQ(buf[9], '!');
    /* offsets past 4 GiB travel as 64 bits */
    i64 big = 0x100000000LL + 3;
    CHECK_EQ(sys_pwrite64(fd, "H", 1, big), 1);
    CHECK_EQ(st_fd(fd).st_size, big + 1);
    buf[0] = 0;
    CHECK_EQ(sys_pread64(fd, buf, 4, big), 1);
    CHECK_EQ(buf[0], 'H');
    CHECK_EQ(sys_pread64(fd, buf, 4, 3), 4); /* not confused with offset 3 */
    CHECK(!wmemcmp(buf, "lo X", 4));
    CHECK_EQ(sys_ftruncate(fd, 11), 0);
    /* pread64/pwrite64 errors */
    CHECK_EQ(sys_pread64(fd, buf, 4, -1), -EINVAL);
    CHECK_EQ(sys_pwrite64(fd, "x", 1, -1), -EINVAL);
    CHECK_EQ(sys_pread64(-1, buf, 4, 0), -EBADF);
    CHECK_EQ(sys_pwrite64(-1, "x", 1, 0), -EBADF);
    CHECK_EQ(sys_pread64(fd, BAD, 4, 0), -EFAULT);
    CHECK_EQ(sys_pwrite64(fd, BAD, 4, 0), -EFAULT);
    CHECK_EQ(sys_pread64(dfd, buf, 4, 0), -EISDIR);
    int p[2];
    make_pipe(p);
    CHECK_EQ(sys_pwrite64(p[1], "x", 1, 0), -ESPIPE);
    CHECK_EQ(sys_pread64(p[0], buf, 1, 0), -ESPIPE);
    close_pipe(p);
    int wo = (int)sys_open(P("rw"), O_WRONLY, 0);
    CHECK(wo >= 0);
    CHECK_EQ(sys_pread64(wo, buf, 4, 0), -EBADF);
    CHECK_EQ(sys_close(wo), 0);
    CHECK(file_is(P("rw"), "hello XYrld"));
    CHECK_EQ(sys_close(fd), 0);

    /* writev/readv: gather and scatter, empty entries allowed */
    fd = (int)sys_open(P("vec"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd >= 0);
    struct iovec wv[3] = {{(void *)"ab", 2}, {(void *)"", 0}, {(void *)"cde", 3}};
    CHECK_EQ(sys_writev(fd, wv, 3), 5);
    CHECK_EQ(sys_writev(fd, wv, 0), 0);
    CHECK(file_is(P("vec"), "abcde"));
    CHECK_EQ(sys_lseek(fd, 0, SEEK_SET), 0);
    char x[2], y[10];
    fill(y, 0, sizeof y);
    struct iovec rv[2] = {{x, 2}, {y, 10}};
    CHECK_EQ(sys_readv(fd, rv, 2), 5);
    CHECK(!wmemcmp(x, "ab", 2));
    CHECK(!wmemcmp(y, "cde\0", 4));
    CHECK_EQ(sys_readv(fd, rv, 2), 0); /* end of file */
    /* a larger count goes beyond any on-stack fast path */
    static struct iovec many[40];
    static char one[40];
    for (int i = 0; i < 40; i++) { one[i] = (char)('A' + i % 26); many[i].iov_base = &one[i]; many[i].iov_len = 1; }
    CHECK_EQ(sys_writev(fd, many, 40), 40);
    CHECK_EQ(st_fd(fd).st_size, 45);
    CHECK_EQ(sys_pread64(fd, buf, 3, 5 + 26), 3);
    CHECK(!wmemcmp(buf, "ABC", 3));
    /* readv/writev errors */
    CHECK_EQ(sys_writev(fd, wv, -1), -EINVAL);
    CHECK_EQ(sys_readv(fd, rv, 1025), -EINVAL); /* more than IOV_MAX */
    CHECK_EQ(sys_readv(-1, rv, 2), -EBADF);
    CHECK_EQ(sys_writev(-1, wv, 3), -EBADF);
    CHECK_EQ(sys_lseek(fd, 0, SEEK_SET), 0);
    CHECK_EQ(sys_readv(fd, BAD, 1), -EFAULT);
    CHECK_EQ(sys_writev(fd, BAD, 1), -EFAULT);
    struct iovec bad[2] = {{BAD, 4}, {x, 2}};
    CHECK_EQ(sys_readv(fd, bad, 1), -EFAULT);
    CHECK_EQ(sys_writev(fd, bad, 1), -EFAULT);
    /* the iovec array itself runs past the end of memory */
    struct iovec *tail = (struct iovec *)mem_tail(sizeof(struct iovec) / 2);
    CHECK_EQ(sys_writev(fd, tail, 1), -EFAULT);
    CHECK_EQ(sys_lseek(fd, 0, SEEK_CUR), 0);
    CHECK_EQ(st_fd(fd).st_size, 45);
    CHECK_EQ(sys_close(fd), 0);
    CHECK_EQ(sys_close(dfd), 0);
}

/* ---- lseek --------------------------------------------------------------- */

static void test_lseek(void) {
    char c;
    put_file(P("seek"), "0123456789");
    int fd = (int)sys_open(P("seek"), O_RDWR, 0);
    CHECK(fd >= 0);
    CHECK_EQ(sys_lseek(fd, 5, SEEK_SET), 5);
    CHECK_EQ(sys_lseek(fd, 2, SEEK_CUR), 7);
    CHECK_EQ(sys_read(fd, &c, 1), 1);
    CHECK_EQ(c, '7');
    CHECK_EQ(sys_lseek(fd, -3, SEEK_CUR), 5);
    CHECK_EQ(sys_lseek(fd, -1, SEEK_END), 9);
    CHECK_EQ(sys_read(fd, &c, 1), 1);
    CHECK_EQ(c, '9');
    CHECK_EQ(sys_lseek(fd, 0, SEEK_END), 10);
    /* past the end is allowed; a write there leaves a hole */
    CHECK_EQ(sys_lseek(fd, 15, SEEK_SET), 15);
    CHECK_EQ(sys_write(fd, "Z", 1), 1);
    CHECK_EQ(st_fd(fd).st_size, 16);
    CHECK_EQ(sys_pread64(fd, &c, 1, 12), 1);
    CHECK_EQ(c, 0);
    /* 64-bit offsets */
    CHECK_EQ(sys_lseek(fd, 0x100000000LL, SEEK_SET), 0x100000000LL);
    CHECK_EQ(sys_lseek(fd, 0x100000000LL, SEEK_CUR), 0x200000000LL);
    CHECK_EQ(sys_read(fd, &c, 1), 0);
    /* errors: the offset is unchanged after each */
    CHECK_EQ(sys_lseek(fd, 3, SEEK_SET), 3);
    CHECK_EQ(sys_lseek(fd, -1, SEEK_SET), -EINVAL);
    CHECK_EQ(sys_lseek(fd, -4, SEEK_CUR), -EINVAL);
    CHECK_EQ(sys_lseek(fd, -17, SEEK_END), -EINVAL);
    CHECK_EQ(sys_lseek(fd, 0, 7), -EINVAL);
    CHECK_EQ(sys_lseek(fd, 0, -1), -EINVAL);
    CHECK_EQ(sys_lseek(fd, 0, SEEK_CUR), 3);
    CHECK_EQ(sys_lseek(-1, 0, SEEK_SET), -EBADF);
    CHECK_EQ(sys_lseek(1000000, 0, SEEK_SET), -EBADF);
    int p[2];
    make_pipe(p);
    CHECK_EQ(sys_lseek(p[0], 0, SEEK_CUR), -ESPIPE);
    CHECK_EQ(sys_lseek(p[1], 0, SEEK_SET), -ESPIPE);
    close_pipe(p);
    CHECK_EQ(sys_close(fd), 0);
}

/* ---- stat, fstat, lstat, newfstatat, statx, statfs, fstatfs -------------- */

static void test_stat(void) {
    struct stat st, st2;
    put_file(P("st"), "twelve bytes");
    CHECK_EQ(sys_symlink("st", P("st-link")), 0);
    CHECK_EQ(sys_mkdir(P("st-dir"), 0755), 0);
    int fd = (int)sys_open(P("st"), O_RDONLY, 0);
    CHECK(fd >= 0);
    int dfd = open_dir(scratch);

    /* stat follows links, lstat does not; fstat agrees with stat */
    fill(&st, 0xAA, sizeof st);
    CHECK_EQ(sys_stat(P("st"), &st), 0);
    CHECK_EQ(st.st_mode, S_IFREG | 0644);
    CHECK_EQ(st.st_size, 12);
    CHECK_EQ(st.st_nlink, 1);
    CHECK_EQ(st.st_uid, sys_getuid());
    CHECK_EQ(st.st_gid, sys_getgid());
    CHECK(st.st_ino != 0);
    CHECK(st.st_blksize > 0);
    CHECK(st.st_mtim.tv_nsec >= 0 && st.st_mtim.tv_nsec < 1000000000);
    CHECK(st.st_mtim.tv_sec > 1000000000);
    st2 = st_fd(fd);
    CHECK_EQ(st2.st_ino, st.st_ino);
    CHECK_EQ(st2.st_dev, st.st_dev);
    CHECK_EQ(st2.st_size, 12);
    st2 = st_path(P("st-link"));
    CHECK_EQ(st2.st_ino, st.st_ino);
    st2 = st_link(P("st-link"));
    CHECK_EQ(st2.st_mode & S_IFMT, S_IFLNK);
    CHECK_EQ(st2.st_size, 2); /* the target's length */
    CHECK(st2.st_ino != st.st_ino);
    CHECK_EQ(st_path(P("st-dir")).st_mode, S_IFDIR | 0755);
    CHECK_EQ(st_path(P("st")).st_ino, st_link(P("st")).st_ino);
    /* errors */
    CHECK_EQ(sys_stat(P("missing"), &st), -ENOENT);
    CHECK_EQ(sys_lstat(P("missing"), &st), -ENOENT);
    CHECK_EQ(sys_stat(P("st/x"), &st), -ENOTDIR);
    CHECK_EQ(sys_lstat(P("st/x"), &st), -ENOTDIR);
    CHECK_EQ(sys_stat("", &st), -ENOENT);
    CHECK_EQ(sys_stat(BAD, &st), -EFAULT);
    CHECK_EQ(sys_stat(NULL, &st), -EFAULT);
    CHECK_EQ(sys_lstat(BAD, &st), -EFAULT);
    CHECK_EQ(sys_stat(P("st"), BAD), -EFAULT);
    CHECK_EQ(sys_stat(P("st"), NULL), -EFAULT);
    CHECK_EQ(sys_lstat(P("st"), BAD), -EFAULT);
    CHECK_EQ(sys_stat(P("st"), mem_tail(64)), -EFAULT); /* runs past the end */
    CHECK_EQ(sys_fstat(-1, &st), -EBADF);
    CHECK_EQ(sys_fstat(1000000, &st), -EBADF);
    CHECK_EQ(sys_fstat(fd, BAD), -EFAULT);
    CHECK_EQ(sys_fstat(fd, mem_tail(100)), -EFAULT);

    /* newfstatat: relative, AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW */
    fill(&st2, 0, sizeof st2);
    CHECK_EQ(sys_newfstatat(dfd, "st", &st2, 0), 0);
    CHECK_EQ(st2.st_ino, st.st_ino);
    CHECK_EQ(st2.st_size, 12);
    fill(&st2, 0, sizeof st2);
    CHECK_EQ(sys_newfstatat(fd, "", &st2, AT_EMPTY_PATH), 0);
    CHECK_EQ(st2.st_ino, st.st_ino);
    if (kernel_at_least(6, 11)) { /* a NULL path with AT_EMPTY_PATH */
        fill(&st2, 0, sizeof st2);
        CHECK_EQ(sys_newfstatat(fd, NULL, &st2, AT_EMPTY_PATH), 0);
        CHECK_EQ(st2.st_ino, st.st_ino);
    }
    fill(&st2, 0, sizeof st2);
    CHECK_EQ(sys_newfstatat(dfd, "st-link", &st2, AT_SYMLINK_NOFOLLOW), 0);
    CHECK_EQ(st2.st_mode & S_IFMT, S_IFLNK);
    CHECK_EQ(sys_newfstatat(dfd, "st-link", &st2, 0), 0);
    CHECK_EQ(st2.st_mode, S_IFREG | 0644);
    CHECK_EQ(sys_newfstatat(AT_FDCWD, P("st"), &st2, 0), 0);
    CHECK_EQ(st2.st_ino, st.st_ino);
    CHECK_EQ(sys_newfstatat(dfd, "", &st2, AT_EMPTY_PATH), 0);
    CHECK_EQ(st2.st_mode & S_IFMT, S_IFDIR);
    /* newfstatat errors */
    CHECK_EQ(sys_newfstatat(dfd, "", &st2, 0), -ENOENT);
    CHECK_EQ(sys_newfstatat(dfd, "missing", &st2, 0), -ENOENT);
    CHECK_EQ(sys_newfstatat(fd, "x", &st2, 0), -ENOTDIR);
    CHECK_EQ(sys_newfstatat(-1, "st", &st2, 0), -EBADF);
    CHECK_EQ(sys_newfstatat(-1, "", &st2, AT_EMPTY_PATH), -EBADF);
    CHECK_EQ(sys_newfstatat(dfd, "st", &st2, 0x200), -EINVAL); /* unknown flag */
    CHECK_EQ(sys_newfstatat(dfd, BAD, &st2, 0), -EFAULT);
    CHECK_EQ(sys_newfstatat(dfd, "st", BAD, 0), -EFAULT);

    /* statx */
    static u8 sx[256];
    fill(sx, 0xAA, sizeof sx);
    CHECK_EQ(sys_statx(AT_FDCWD, P("st"), 0, STATX_BASIC_STATS, sx), 0);
    u32 mask = *(u32 *)(sx + 0);
    CHECK_EQ(mask & (STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_INO), STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_INO);
    CHECK_EQ(*(u16 *)(sx + 28), S_IFREG | 0644);
    CHECK_EQ(*(u64 *)(sx + 40), 12);
    CHECK_EQ(*(u64 *)(sx + 32), st.st_ino);     /* stx_ino */
    CHECK_EQ(*(u32 *)(sx + 20), sys_getuid());  /* stx_uid */
    CHECK_EQ(*(u32 *)(sx + 16), 1);             /* stx_nlink */
    CHECK_EQ(*(i64 *)(sx + 112), st.st_mtim.tv_sec);  /* stx_mtime */
    CHECK_EQ(*(u32 *)(sx + 120), st.st_mtim.tv_nsec);
    fill(sx, 0, sizeof sx);
    CHECK_EQ(sys_statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, sx), 0);
    CHECK_EQ(*(u64 *)(sx + 32), st.st_ino);
    CHECK_EQ(*(u64 *)(sx + 40), 12);
    if (kernel_at_least(6, 11)) { /* a NULL path with AT_EMPTY_PATH */
        fill(sx, 0, sizeof sx);
        CHECK_EQ(sys_statx(fd, NULL, AT_EMPTY_PATH, STATX_BASIC_STATS, sx), 0);
        CHECK_EQ(*(u64 *)(sx + 32), st.st_ino);
    }
    CHECK_EQ(sys_statx(dfd, "st-link", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, sx), 0);
    CHECK_EQ(*(u16 *)(sx + 28) & S_IFMT, S_IFLNK);
    CHECK_EQ(*(u64 *)(sx + 40), 2);
    CHECK_EQ(sys_statx(dfd, "st-link", 0, STATX_BASIC_STATS, sx), 0);
    CHECK_EQ(*(u16 *)(sx + 28), S_IFREG | 0644);
    CHECK_EQ(sys_statx(dfd, "st-dir", 0, STATX_TYPE, sx), 0);
    CHECK_EQ(*(u16 *)(sx + 28) & S_IFMT, S_IFDIR);
    /* statx errors */
    CHECK_EQ(sys_statx(AT_FDCWD, P("missing"), 0, STATX_BASIC_STATS, sx), -ENOENT);
    CHECK_EQ(sys_statx(AT_FDCWD, P("st/x"), 0, STATX_BASIC_STATS, sx), -ENOTDIR);
    CHECK_EQ(sys_statx(-1, "st", 0, STATX_BASIC_STATS, sx), -EBADF);
    CHECK_EQ(sys_statx(dfd, "st", 0, STATX__RESERVED, sx), -EINVAL);
    CHECK_EQ(sys_statx(dfd, "st", 0x200, STATX_BASIC_STATS, sx), -EINVAL);
    CHECK_EQ(sys_statx(dfd, BAD, 0, STATX_BASIC_STATS, sx), -EFAULT);
    CHECK_EQ(sys_statx(dfd, "st", 0, STATX_BASIC_STATS, BAD), -EFAULT);
    CHECK_EQ(sys_statx(dfd, "st", 0, STATX_BASIC_STATS, mem_tail(128)), -EFAULT);

    /* statfs, fstatfs: the same filesystem either way */
    static u8 fs1[120], fs2[120];
    fill(fs1, 0xAA, sizeof fs1);
    fill(fs2, 0x55, sizeof fs2);
    CHECK_EQ(sys_statfs(scratch, fs1), 0);
    CHECK_EQ(sys_fstatfs(fd, fs2), 0);
    CHECK(*(i64 *)(fs1 + 0) != 0);                          /* f_type */
    CHECK_EQ(*(i64 *)(fs1 + 0), *(i64 *)(fs2 + 0));
    CHECK(*(i64 *)(fs1 + 8) > 0);                           /* f_bsize */
    CHECK_EQ(*(i64 *)(fs1 + 8), *(i64 *)(fs2 + 8));
    CHECK_EQ(*(i64 *)(fs1 + 16), *(i64 *)(fs2 + 16));       /* f_blocks */
    CHECK_EQ(*(u64 *)(fs1 + 56), *(u64 *)(fs2 + 56));       /* f_fsid */
    CHECK(*(i64 *)(fs1 + 64) > 0);                          /* f_namelen */
    CHECK_EQ(*(i64 *)(fs1 + 64), *(i64 *)(fs2 + 64));
    CHECK_EQ(sys_statfs(P("st-link"), fs2), 0);
    CHECK_EQ(*(i64 *)(fs1 + 0), *(i64 *)(fs2 + 0));
    /* errors */
    CHECK_EQ(sys_statfs(P("missing"), fs1), -ENOENT);
    CHECK_EQ(sys_statfs(P("st/x"), fs1), -ENOTDIR);
    CHECK_EQ(sys_statfs(BAD, fs1), -EFAULT);
    CHECK_EQ(sys_statfs(scratch, BAD), -EFAULT);
    CHECK_EQ(sys_statfs(scratch, mem_tail(60)), -EFAULT);
    CHECK_EQ(sys_fstatfs(-1, fs1), -EBADF);
    CHECK_EQ(sys_fstatfs(fd, BAD), -EFAULT);
    CHECK_EQ(sys_fstatfs(fd, mem_tail(60)), -EFAULT);

    CHECK_EQ(sys_close(fd), 0);
    CHECK_EQ(sys_close(dfd), 0);
}

/* ---- getdents64 ------------------------------------------------------------ */

struct seen { const char *name; int type; int count; };

/* Walks the linux_dirent64 records in buf[0..n), counting known names. */
static int scan_dirents(const u8 *buf, i64 n, struct seen *names, int nnames) {
    int records = 0;
    i64 off = 0;
    while (off < n) {
        const u8 *rec = buf + off;
        u16 reclen = *(const u16 *)(rec + 16);
        u8 type = rec[18];
        const char *name = (const char *)(rec + 19);
        CHECK(reclen >= 20 && reclen % 8 == 0 && off + reclen <= n);
        CHECK(*(const u64 *)rec != 0); /* d_ino */
        if (reclen < 20) break;
        int known = 0;
        for (int i = 0; i < nnames; i++) {
            if (!wstrcmp(name, names[i].name)) {
                names[i].count++;
                CHECK_EQ(type, names[i].type);
                known = 1;
            }
        }
        CHECK(known);
        records++;
        off += reclen;
    }
    return records;
}

static void test_getdents(void) {
    CHECK_EQ(sys_mkdir(P("d"), 0755), 0);
    put_file(P("d/f1"), "1");
    put_file(P("d/file-two"), "2");
    CHECK_EQ(sys_mkdir(P("d/sub"), 0755), 0);
    CHECK_EQ(sys_symlink("f1", P("d/ln")), 0);
    struct seen names[] = {
        {".", DT_DIR, 0}, {"..", DT_DIR, 0}, {"f1", DT_REG, 0},
        {"file-two", DT_REG, 0}, {"sub", DT_DIR, 0}, {"ln", DT_LNK, 0},
    };
    int nn = sizeof names / sizeof names[0];
    static u8 buf[4096] __attribute__((aligned(8)));

    int dfd = open_dir(P("d"));
    int records = 0;
    for (int round = 0; round < 100; round++) {
        i64 n = sys_getdents64(dfd, buf, sizeof buf);
        CHECK(n >= 0);
        if (n <= 0) break;
        records += scan_dirents(buf, n, names, nn);
    }
    CHECK_EQ(records, 6);
    for (int i = 0; i < nn; i++) CHECK_EQ(names[i].count, 1);
    CHECK_EQ(sys_getdents64(dfd, buf, sizeof buf), 0); /* at the end */

    /* the inode in the record is the file's */
    CHECK_EQ(sys_lseek(dfd, 0, SEEK_SET), 0);
    i64 n = sys_getdents64(dfd, buf, sizeof buf);
    CHECK(n > 0);
    u64 f1_ino = 0;
    for (i64 off = 0; off < n && *(u16 *)(buf + off + 16) >= 20; off += *(u16 *)(buf + off + 16))
        if (!wstrcmp((char *)buf + off + 19, "f1")) f1_ino = *(u64 *)(buf + off);
    CHECK_EQ(f1_ino, st_path(P("d/f1")).st_ino);

    /* a 32-byte buffer holds one record at a time: 6 calls, then 0 */
    CHECK_EQ(sys_lseek(dfd, 0, SEEK_SET), 0);
    for (int i = 0; i < nn; i++) names[i].count = 0;
    int calls = 0;
    for (int round = 0; round < 100; round++) {
        n = sys_getdents64(dfd, buf, 32);
        CHECK(n >= 0);
        if (n <= 0) break;
        CHECK_EQ(scan_dirents(buf, n, names, nn), 1);
        calls++;
    }
    CHECK_EQ(calls, 6);
    for (int i = 0; i < nn; i++) CHECK_EQ(names[i].count, 1);

    /* the scratch directory lists what the test created there */
    int sfd = open_dir(scratch);
    int found = 0;
    for (int round = 0; round < 1000; round++) {
        n = sys_getdents64(sfd, buf, sizeof buf);
        CHECK(n >= 0);
        if (n <= 0) break;
        for (i64 off = 0; off < n && *(u16 *)(buf + off + 16) >= 20; off += *(u16 *)(buf + off + 16)) {
            const char *name = (const char *)buf + off + 19;
            if (!wstrcmp(name, "d")) { found |= 1; CHECK_EQ(buf[off + 18], DT_DIR); }
            if (!wstrcmp(name, "rw")) { found |= 2; CHECK_EQ(buf[off + 18], DT_REG); }
            if (!wstrcmp(name, "st-link")) { found |= 4; CHECK_EQ(buf[off + 18], DT_LNK); }
        }
    }
    CHECK_EQ(found, 7);
    CHECK_EQ(sys_close(sfd), 0);

    /* errors */
    CHECK_EQ(sys_lseek(dfd, 0, SEEK_SET), 0);
    CHECK_EQ(sys_getdents64(dfd, buf, 8), -EINVAL); /* too small for a record */
    CHECK_EQ(sys_getdents64(dfd, BAD, 4096), -EFAULT);
    CHECK_EQ(sys_getdents64(-1, buf, sizeof buf), -EBADF);
    int fd = (int)sys_open(P("d/f1"), O_RDONLY, 0);
    CHECK(fd >= 0);
    CHECK_EQ(sys_getdents64(fd, buf, sizeof buf), -ENOTDIR);
    CHECK_EQ(sys_close(fd), 0);
    CHECK_EQ(sys_close(dfd), 0);
}

/* ---- fcntl, flock ---------------------------------------------------------- */

static void test_fcntl(void) {
    put_file(P("fc"), "0123456789");
    int fd = (int)sys_open(P("fc"), O_RDWR, 0);
    CHECK(fd >= 0);

    /* descriptor flags */
    CHECK_EQ(sys_fcntl(fd, F_GETFD, 0), 0);
    CHECK_EQ(sys_fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
    CHECK_EQ(sys_fcntl(fd, F_GETFD, 0), FD_CLOEXEC);
    CHECK_EQ(sys_fcntl(fd, F_SETFD, 0), 0);
    CHECK_EQ(sys_fcntl(fd, F_GETFD, 0), 0);

    /* status flags: O_APPEND makes writes go to the end */
    i64 fl = sys_fcntl(fd, F_GETFL, 0);
    CHECK(fl >= 0);
    CHECK_EQ(fl & O_ACCMODE, O_RDWR);
    CHECK_EQ(fl & (O_APPEND | O_NONBLOCK), 0);
    CHECK_EQ(sys_fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK), 0);
    fl = sys_fcntl(fd, F_GETFL, 0);
    CHECK_EQ(fl & (O_APPEND | O_NONBLOCK), O_APPEND | O_NONBLOCK);
    CHECK_EQ(fl & O_ACCMODE, O_RDWR);
    CHECK_EQ(sys_lseek(fd, 0, SEEK_SET), 0);
    CHECK_EQ(sys_write(fd, "A", 1), 1);
    CHECK(file_is(P("fc"), "0123456789A"));
    /* the access mode cannot be changed */
    CHECK_EQ(sys_fcntl(fd, F_SETFL, O_WRONLY), 0);
    fl = sys_fcntl(fd, F_GETFL, 0);
    CHECK_EQ(fl & O_ACCMODE, O_RDWR);
    CHECK_EQ(fl & (O_APPEND | O_NONBLOCK), 0);
    CHECK_EQ(sys_lseek(fd, 0, SEEK_SET), 0);
    CHECK_EQ(sys_write(fd, "a", 1), 1);
    CHECK(file_is(P("fc"), "a123456789A"));
    /* O_NONBLOCK on a pipe: an empty read is EAGAIN */
    int p[2];
    make_pipe(p);
    char c;
    CHECK_EQ(sys_fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
    CHECK_EQ(sys_fcntl(p[0], F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK);
    CHECK_EQ(sys_read(p[0], &c, 1), -EAGAIN);
    close_pipe(p);

    /* F_DUPFD, F_DUPFD_CLOEXEC: lowest free fd >= arg, sharing the offset */
    int d1 = (int)sys_fcntl(fd, F_DUPFD, 100);
    CHECK(d1 >= 100);
    CHECK_EQ(sys_fcntl(d1, F_GETFD, 0), 0);
    int d2 = (int)sys_fcntl(fd, F_DUPFD_CLOEXEC, 50);
    CHECK(d2 >= 50);
    CHECK(d2 != d1);
    CHECK_EQ(sys_fcntl(d2, F_GETFD, 0), FD_CLOEXEC);
    CHECK_EQ(sys_fcntl(fd, F_GETFD, 0), 0);
    CHECK_EQ(sys_lseek(d1, 4, SEEK_SET), 4);
    CHECK_EQ(sys_lseek(fd, 0, SEEK_CUR), 4);
    CHECK_EQ(sys_lseek(d2, 0, SEEK_CUR), 4);
    CHECK_EQ(st_fd(d2).st_ino, st_fd(fd).st_ino);
    CHECK_EQ(sys_close(d1), 0);
    CHECK_EQ(sys_close(d2), 0);
    CHECK_EQ(sys_fcntl(fd, F_DUPFD, -1), -EINVAL);
    CHECK_EQ(sys_fcntl(fd, F_DUPFD_CLOEXEC, 1 << 30), -EINVAL);

    /* record locks: a second open file description holds an OFD lock, which
     * conflicts with this process's own F_SETLK/F_GETLK */
    int fd2 = (int)sys_open(P("fc"), O_RDWR, 0);
    CHECK(fd2 >= 0);
    struct flock fl1 = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10, .l_pid = 0};
    CHECK_EQ(sizeof(struct flock), 32);
    CHECK_EQ(sys_fcntl(fd, F_SETLK, (i64)(long)&fl1), 0);
    /* our own lock never conflicts with us */
    struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 5};
    CHECK_EQ(sys_fcntl(fd2, F_GETLK, (i64)(long)&q), 0);
    CHECK_EQ(q.l_type, F_UNLCK);
    /* but it conflicts with an OFD lock on another description */
    q = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 2, .l_len = 1};
    CHECK_EQ(sys_fcntl(fd2, F_OFD_GETLK, (i64)(long)&q), 0);
    CHECK_EQ(q.l_type, F_WRLCK);
    CHECK_EQ(q.l_whence, SEEK_SET);
    CHECK_EQ(q.l_start, 0);
    CHECK_EQ(q.l_len, 10);
    CHECK_EQ(q.l_pid, sys_getpid());
    q = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 2, .l_len = 1};
    CHECK_EQ(sys_fcntl(fd2, F_OFD_SETLK, (i64)(long)&q), -EAGAIN);
    /* beyond the locked range is free */
    struct flock ofd = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 20, .l_len = 5};
    CHECK_EQ(sys_fcntl(fd2, F_OFD_SETLK, (i64)(long)&ofd), 0);
    q = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 22, .l_len = 0};
    CHECK_EQ(sys_fcntl(fd, F_GETLK, (i64)(long)&q), 0);
    CHECK_EQ(q.l_type, F_WRLCK);
    CHECK_EQ(q.l_start, 20);
    CHECK_EQ(q.l_len, 5);
    CHECK_EQ(q.l_pid, -1); /* an OFD lock has no owning process */
    q = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 20, .l_len = 1};
    CHECK_EQ(sys_fcntl(fd, F_SETLK, (i64)(long)&q), -EAGAIN);
    /* unlock ours: the OFD side can now lock that range */
    fl1.l_type = F_UNLCK;
    CHECK_EQ(sys_fcntl(fd, F_SETLK, (i64)(long)&fl1), 0);
    q = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    CHECK_EQ(sys_fcntl(fd2, F_OFD_SETLK, (i64)(long)&q), 0);
    q = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_CUR, .l_start = 0, .l_len = 1};
    CHECK_EQ(sys_lseek(fd, 3, SEEK_SET), 3);
    CHECK_EQ(sys_fcntl(fd, F_GETLK, (i64)(long)&q), 0);
    CHECK_EQ(q.l_type, F_WRLCK);
    CHECK_EQ(q.l_whence, SEEK_SET);
    CHECK_EQ(q.l_start, 0);
    CHECK_EQ(q.l_len, 10);
    /* record lock errors */
    q = (struct flock){.l_type = 99, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    CHECK_EQ(sys_fcntl(fd, F_SETLK, (i64)(long)&q), -EINVAL);
    q = (struct flock){.l_type = F_RDLCK, .l_whence = 9, .l_start = 0, .l_len = 1};
    CHECK_EQ(sys_fcntl(fd, F_SETLK, (i64)(long)&q), -EINVAL);
    q = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = -5, .l_len = 1};
    CHECK_EQ(sys_fcntl(fd, F_SETLK, (i64)(long)&q), -EINVAL);
    CHECK_EQ(sys_fcntl(fd, F_GETLK, (i64)(long)BAD), -EFAULT);
    CHECK_EQ(sys_fcntl(fd, F_SETLK, 0), -EFAULT);
    CHECK_EQ(sys_fcntl(fd, F_GETLK, (i64)(long)mem_tail(16)), -EFAULT);
    int ro = (int)sys_open(P("fc"), O_RDONLY, 0);
    CHECK(ro >= 0);
    q = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 30, .l_len = 1};
    CHECK_EQ(sys_fcntl(ro, F_SETLK, (i64)(long)&q), -EBADF); /* not open for writing */
    CHECK_EQ(sys_close(ro), 0);
    CHECK_EQ(sys_close(fd2), 0);

    /* other fcntl errors */
    CHECK_EQ(sys_fcntl(fd, 9999, 0), -EINVAL);
    CHECK_EQ(sys_fcntl(-1, F_GETFD, 0), -EBADF);
    CHECK_EQ(sys_fcntl(1000000, F_GETFL, 0), -EBADF);
    CHECK_EQ(sys_fcntl(-1, F_DUPFD, 0), -EBADF);

    /* flock: whole-file locks held by the open file description */
    fd2 = (int)sys_open(P("fc"), O_RDONLY, 0);
    CHECK(fd2 >= 0);
    CHECK_EQ(sys_flock(fd, LOCK_EX), 0);
    CHECK_EQ(sys_flock(fd2, LOCK_SH | LOCK_NB), -EAGAIN);
    CHECK_EQ(sys_flock(fd2, LOCK_EX | LOCK_NB), -EAGAIN);
    CHECK_EQ(sys_flock(fd, LOCK_SH), 0); /* convert */
    CHECK_EQ(sys_flock(fd2, LOCK_SH | LOCK_NB), 0);
    CHECK_EQ(sys_flock(fd, LOCK_EX | LOCK_NB), -EAGAIN);
    CHECK_EQ(sys_flock(fd2, LOCK_UN), 0);
    CHECK_EQ(sys_flock(fd, LOCK_EX | LOCK_NB), 0);
    CHECK_EQ(sys_flock(fd, LOCK_UN), 0);
    CHECK_EQ(sys_flock(fd2, LOCK_EX | LOCK_NB), 0);
    CHECK_EQ(sys_close(fd2), 0); /* closing releases it */
    CHECK_EQ(sys_flock(fd, LOCK_EX | LOCK_NB), 0);
    CHECK_EQ(sys_flock(fd, LOCK_UN), 0);
    CHECK_EQ(sys_flock(-1, LOCK_EX), -EBADF);
    CHECK_EQ(sys_flock(fd, 0), -EINVAL);
    CHECK_EQ(sys_flock(fd, LOCK_NB), -EINVAL);
    CHECK_EQ(sys_close(fd), 0);
}

/* ---- dup, dup2, dup3 --------------------------------------------------------- */

static void test_dup(void) {
    put_file(P("dup"), "abcdef");
    int fd = (int)sys_open(P("dup"), O_RDONLY, 0);
    CHECK(fd >= 0);
    char c;

    int d = (int)sys_dup(fd);
    CHECK(d >= 0);
    CHECK(d != fd);
    CHECK_EQ(sys_read(d, &c, 1), 1);
    CHECK_EQ(c, 'a');
    CHECK_EQ(sys_lseek(fd, 0, SEEK_CUR), 1); /* shared offset */
    CHECK_EQ(sys_fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
    int d2 = (int)sys_dup(fd);
    CHECK_EQ(sys_fcntl(d2, F_GETFD, 0), 0); /* dup never copies FD_CLOEXEC */
    CHECK_EQ(sys_close(d2), 0);
    CHECK_EQ(sys_close(d), 0);
    CHECK_EQ(sys_dup(-1), -EBADF);
    CHECK_EQ(sys_dup(1000000), -EBADF);
    CHECK_EQ(sys_dup(d), -EBADF); /* closed */

    /* dup2 onto a chosen fd, replacing what was there. The targets are
     * slots this test owns (so a host sharing the fd table loses nothing):
     * a free one is the lowest above 200, taken and released again. */
    int other = (int)sys_open(P("dup"), O_RDONLY, 0);
    CHECK(other >= 0);
    int t1 = (int)sys_fcntl(fd, F_DUPFD, 200);
    CHECK(t1 >= 200);
    int t2 = (int)sys_fcntl(fd, F_DUPFD, t1 + 1);
    CHECK(t2 > t1);
    CHECK_EQ(sys_close(t2), 0);
    CHECK_EQ(sys_fcntl(t2, F_GETFD, 0), -EBADF);
    CHECK_EQ(sys_dup2(other, t1), t1); /* replaces a dup of fd */
    CHECK_EQ(sys_lseek(other, 4, SEEK_SET), 4);
    CHECK_EQ(sys_read(t1, &c, 1), 1);
    CHECK_EQ(c, 'e');
    CHECK_EQ(sys_lseek(fd, 0, SEEK_CUR), 1);
    CHECK_EQ(sys_dup2(fd, t2), t2); /* onto a free slot */
    CHECK_EQ(st_fd(t2).st_ino, st_fd(fd).st_ino);
    CHECK_EQ(sys_fcntl(t2, F_GETFD, 0), 0); /* FD_CLOEXEC is not copied */
    CHECK_EQ(sys_dup2(fd, fd), fd); /* same fd: a no-op */
    CHECK_EQ(sys_fcntl(fd, F_GETFD, 0), FD_CLOEXEC);
    CHECK_EQ(sys_dup2(-1, t2), -EBADF);
    CHECK_EQ(sys_dup2(fd, -1), -EBADF);
    CHECK_EQ(sys_dup2(1000000, 1000000), -EBADF);
    CHECK_EQ(st_fd(t2).st_ino, st_fd(fd).st_ino); /* untouched by the errors */

    /* dup3 with O_CLOEXEC; dup3 without it and dup2 clear it */
    CHECK_EQ(sys_dup3(fd, t2, O_CLOEXEC), t2);
    CHECK_EQ(sys_fcntl(t2, F_GETFD, 0), FD_CLOEXEC);
    CHECK_EQ(sys_dup3(other, t2, 0), t2);
    CHECK_EQ(sys_fcntl(t2, F_GETFD, 0), 0);
    CHECK_EQ(sys_lseek(t2, 0, SEEK_CUR), 5); /* now other's description */
    CHECK_EQ(sys_dup3(fd, t2, O_CLOEXEC), t2);
    CHECK_EQ(sys_dup2(fd, t2), t2);
    CHECK_EQ(sys_fcntl(t2, F_GETFD, 0), 0);
    CHECK_EQ(sys_dup3(fd, fd, 0), -EINVAL);
    CHECK_EQ(sys_dup3(fd, t2, O_NONBLOCK), -EINVAL); /* only O_CLOEXEC */
    CHECK_EQ(sys_dup3(-1, t2, 0), -EBADF);
    CHECK_EQ(sys_dup3(fd, -1, 0), -EBADF);
    CHECK_EQ(sys_lseek(t2, 0, SEEK_CUR), 1); /* still fd's description */

    CHECK_EQ(sys_close(t1), 0);
    CHECK_EQ(sys_close(t2), 0);
    CHECK_EQ(sys_close(other), 0);
    CHECK_EQ(sys_close(fd), 0);
}

/* ---- pipe, pipe2 ----------------------------------------------------------- */

static void test_pipe(void) {
    int p[2] = {-1, -1};
    char buf[8];
    CHECK_EQ(sys_pipe(p), 0);
    CHECK(p[0] >= 0 && p[1] >= 0 && p[0] != p[1]);
    CHECK_EQ(sys_write(p[1], "abc", 3), 3);
    CHECK_EQ(sys_read(p[0], buf, sizeof buf), 3);
    CHECK(!wmemcmp(buf, "abc", 3));
    CHECK_EQ(sys_fcntl(p[0], F_GETFD, 0), 0);
    CHECK_EQ(sys_fcntl(p[1], F_GETFD, 0), 0);
    CHECK_EQ(sys_fcntl(p[0], F_GETFL, 0) & O_ACCMODE, O_RDONLY);
    CHECK_EQ(sys_fcntl(p[1], F_GETFL, 0) & O_ACCMODE, O_WRONLY);
    CHECK_EQ(st_fd(p[0]).st_mode & S_IFMT, S_IFIFO);
    CHECK_EQ(st_fd(p[0]).st_ino, st_fd(p[1]).st_ino);
    CHECK_EQ(sys_write(p[0], "x", 1), -EBADF);
    CHECK_EQ(sys_read(p[1], buf, 1), -EBADF);
    CHECK_EQ(sys_close(p[1]), 0);
    CHECK_EQ(sys_read(p[0], buf, sizeof buf), 0); /* no writer left: end of file */
    CHECK_EQ(sys_close(p[0]), 0);
    CHECK_EQ(sys_pipe(BAD), -EFAULT);
    CHECK_EQ(sys_pipe(NULL), -EFAULT);
    CHECK_EQ(sys_pipe((int *)mem_tail(4)), -EFAULT); /* int[2] runs past the end */

    /* pipe2: O_CLOEXEC on both ends (F_GETFD), O_NONBLOCK (F_GETFL, EAGAIN) */
    CHECK_EQ(sys_pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    CHECK_EQ(sys_fcntl(p[0], F_GETFD, 0), FD_CLOEXEC);
    CHECK_EQ(sys_fcntl(p[1], F_GETFD, 0), FD_CLOEXEC);
    CHECK_EQ(sys_fcntl(p[0], F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK);
    CHECK_EQ(sys_fcntl(p[1], F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK);
    CHECK_EQ(sys_read(p[0], buf, 1), -EAGAIN);
    CHECK_EQ(sys_write(p[1], "z", 1), 1);
    CHECK_EQ(sys_read(p[0], buf, 4), 1);
    CHECK_EQ(buf[0], 'z');
    close_pipe(p);
    CHECK_EQ(sys_pipe2(p, O_CLOEXEC), 0);
    CHECK_EQ(sys_fcntl(p[0], F_GETFD, 0), FD_CLOEXEC);
    CHECK_EQ(sys_fcntl(p[0], F_GETFL, 0) & O_NONBLOCK, 0);
    close_pipe(p);
    CHECK_EQ(sys_pipe2(p, 0), 0);
    CHECK_EQ(sys_fcntl(p[1], F_GETFD, 0), 0);
    close_pipe(p);
    CHECK_EQ(sys_pipe2(p, O_APPEND), -EINVAL);
    CHECK_EQ(sys_pipe2(BAD, O_CLOEXEC), -EFAULT);
}

/* ---- mkdir, mkdirat, rmdir, unlink, unlinkat, rename, renameat2 ------------ */

static void test_names(void) {
    int dfd = open_dir(scratch);

    /* mkdir / mkdirat */
    CHECK_EQ(sys_mkdir(P("m"), 0750), 0);
    CHECK_EQ(st_path(P("m")).st_mode, S_IFDIR | 0750);
    CHECK_EQ(sys_mkdir(P("m"), 0750), -EEXIST);
    CHECK_EQ(sys_mkdir(P("nodir/m"), 0750), -ENOENT);
    CHECK_EQ(sys_mkdir(P("rw/m"), 0750), -ENOTDIR);
    CHECK_EQ(sys_mkdir(BAD, 0750), -EFAULT);
    CHECK_EQ(sys_mkdirat(dfd, "m2", 0700), 0);
    CHECK_EQ(st_path(P("m2")).st_mode, S_IFDIR | 0700);
    CHECK_EQ(sys_mkdirat(dfd, "m/inner", 0755), 0);
    CHECK_EQ(st_path(P("m/inner")).st_mode, S_IFDIR | 0755);
    CHECK_EQ(sys_mkdirat(dfd, "m2", 0700), -EEXIST);
    CHECK_EQ(sys_mkdirat(-1, "m3", 0700), -EBADF);
    int fd = (int)sys_open(P("rw"), O_RDONLY, 0);
    CHECK(fd >= 0);
    CHECK_EQ(sys_mkdirat(fd, "m3", 0700), -ENOTDIR);
    CHECK(missing(P("m3")));

    /* rmdir */
    CHECK_EQ(sys_rmdir(P("m")), -ENOTEMPTY);
    CHECK_EQ(sys_rmdir(P("rw")), -ENOTDIR);
    CHECK_EQ(sys_rmdir(P("missing")), -ENOENT);
    CHECK_EQ(sys_rmdir(P("m2/.")), -EINVAL);
    CHECK_EQ(sys_rmdir(BAD), -EFAULT);
    CHECK_EQ(sys_rmdir(P("m/inner")), 0);
    CHECK(missing(P("m/inner")));
    CHECK_EQ(sys_rmdir(P("m")), 0);
    CHECK(missing(P("m")));

    /* unlink */
    put_file(P("u"), "u");
    CHECK_EQ(sys_unlink(P("u")), 0);
    CHECK(missing(P("u")));
    CHECK_EQ(sys_unlink(P("u")), -ENOENT);
    CHECK_EQ(sys_unlink(P("m2")), -EISDIR);
    CHECK_EQ(sys_unlink(P("rw/x")), -ENOTDIR);
    CHECK_EQ(sys_unlink(BAD), -EFAULT);
    /* an open file survives its name */
    put_file(P("u"), "still here");
    int ufd = (int)sys_open(P("u"), O_RDONLY, 0);
    CHECK(ufd >= 0);
    CHECK_EQ(sys_unlink(P("u")), 0);
    CHECK_EQ(st_fd(ufd).st_nlink, 0);
    char buf[16];
    CHECK_EQ(sys_read(ufd, buf, sizeof buf), 10);
    CHECK_EQ(sys_close(ufd), 0);

    /* unlinkat, with and without AT_REMOVEDIR */
    put_file(P("ua"), "x");
    CHECK_EQ(sys_unlinkat(dfd, "ua", AT_REMOVEDIR), -ENOTDIR);
    CHECK_EQ(sys_unlinkat(dfd, "m2", 0), -EISDIR);
    CHECK_EQ(sys_unlinkat(dfd, "ua", 0), 0);
    CHECK(missing(P("ua")));
    CHECK_EQ(sys_unlinkat(dfd, "m2", AT_REMOVEDIR), 0);
    CHECK(missing(P("m2")));
    CHECK_EQ(sys_unlinkat(dfd, "ua", 0), -ENOENT);
    CHECK_EQ(sys_unlinkat(dfd, "m2", AT_REMOVEDIR), -ENOENT);
    CHECK_EQ(sys_unlinkat(dfd, "rw", 0x1), -EINVAL);
    CHECK_EQ(sys_unlinkat(-1, "rw", 0), -EBADF);
    CHECK_EQ(sys_unlinkat(fd, "rw", 0), -ENOTDIR);
    CHECK_EQ(sys_unlinkat(dfd, BAD, 0), -EFAULT);
    CHECK(!missing(P("rw")));

    /* rename */
    put_file(P("r1"), "one");
    u64 ino = st_path(P("r1")).st_ino;
    CHECK_EQ(sys_rename(P("r1"), P("r2")), 0);
    CHECK(missing(P("r1")));
    CHECK(file_is(P("r2"), "one"));
    CHECK_EQ(st_path(P("r2")).st_ino, ino);
    put_file(P("r3"), "three");
    CHECK_EQ(sys_rename(P("r3"), P("r2")), 0); /* replaces */
    CHECK(file_is(P("r2"), "three"));
    CHECK(missing(P("r3")));
    CHECK_EQ(sys_rename(P("r2"), P("r2")), 0); /* same file: nothing happens */
    CHECK(file_is(P("r2"), "three"));
    CHECK_EQ(sys_mkdir(P("rd"), 0755), 0);
    CHECK_EQ(sys_mkdir(P("rd/sub"), 0755), 0);
    CHECK_EQ(sys_mkdir(P("rd2"), 0755), 0);
    CHECK_EQ(sys_rename(P("rd2"), P("rd3")), 0);
    CHECK_EQ(st_path(P("rd3")).st_mode & S_IFMT, S_IFDIR);
    /* rename errors */
    CHECK_EQ(sys_rename(P("missing"), P("r9")), -ENOENT);
    CHECK_EQ(sys_rename(P("r2"), P("nodir/r9")), -ENOENT);
    CHECK_EQ(sys_rename(P("r2"), P("rd")), -EISDIR);
    CHECK_EQ(sys_rename(P("rd3"), P("r2")), -ENOTDIR);
    CHECK_EQ(sys_rename(P("rd3"), P("rd")), -ENOTEMPTY);
    CHECK_EQ(sys_rename(P("rd"), P("rd/sub/in")), -EINVAL);
    CHECK_EQ(sys_rename(P("rw/x"), P("r9")), -ENOTDIR);
    CHECK_EQ(sys_rename(BAD, P("r9")), -EFAULT);
    CHECK_EQ(sys_rename(P("r2"), BAD), -EFAULT);
    CHECK(file_is(P("r2"), "three"));

    /* renameat2: RENAME_NOREPLACE, RENAME_EXCHANGE */
    put_file(P("x1"), "first");
    put_file(P("x2"), "second");
    CHECK_EQ(sys_renameat2(dfd, "x1", dfd, "x2", RENAME_NOREPLACE), -EEXIST);
    CHECK(file_is(P("x1"), "first"));
    CHECK_EQ(sys_renameat2(dfd, "x1", dfd, "x3", RENAME_NOREPLACE), 0);
    CHECK(missing(P("x1")));
    CHECK(file_is(P("x3"), "first"));
    CHECK_EQ(sys_renameat2(dfd, "x3", dfd, "x2", RENAME_EXCHANGE), 0);
    CHECK(file_is(P("x3"), "second"));
    CHECK(file_is(P("x2"), "first"));
    CHECK_EQ(sys_renameat2(dfd, "x3", dfd, "x1", RENAME_EXCHANGE), -ENOENT);
    CHECK_EQ(sys_renameat2(dfd, "x3", dfd, "x1", RENAME_EXCHANGE | RENAME_NOREPLACE), -EINVAL);
    CHECK_EQ(sys_renameat2(dfd, "x3", dfd, "x1", 0x100), -EINVAL);
    CHECK_EQ(sys_renameat2(dfd, "x3", AT_FDCWD, P("x4"), 0), 0);
    CHECK(file_is(P("x4"), "second"));
    CHECK_EQ(sys_renameat2(-1, "x4", dfd, "x5", 0), -EBADF);
    CHECK_EQ(sys_renameat2(dfd, "x4", -1, "x5", 0), -EBADF);
    CHECK_EQ(sys_renameat2(dfd, "x4", fd, "x5", 0), -ENOTDIR);
    CHECK_EQ(sys_renameat2(dfd, "missing", dfd, "x5", 0), -ENOENT);
    CHECK_EQ(sys_renameat2(dfd, BAD, dfd, "x5", 0), -EFAULT);
    CHECK(file_is(P("x4"), "second"));
    CHECK(missing(P("x5")));

    CHECK_EQ(sys_close(fd), 0);
    CHECK_EQ(sys_close(dfd), 0);
}

/* ---- link, linkat, symlink, symlinkat, readlink, readlinkat --------------- */

static void test_links(void) {
    char buf[64];
    int dfd = open_dir(scratch);
    put_file(P("la"), "target data");
    u64 ino = st_path(P("la")).st_ino;

    /* link */
    CHECK_EQ(sys_link(P("la"), P("lb")), 0);
    CHECK_EQ(st_path(P("lb")).st_ino, ino);
    CHECK_EQ(st_path(P("la")).st_nlink, 2);
    CHECK(file_is(P("lb"), "target data"));
    CHECK_EQ(sys_link(P("la"), P("lb")), -EEXIST);
    CHECK_EQ(sys_link(P("missing"), P("lc")), -ENOENT);
    CHECK_EQ(sys_link(P("la"), P("nodir/lc")), -ENOENT);
    CHECK_EQ(sys_link(scratch, P("lc")), -EPERM); /* no hard links to directories */
    CHECK_EQ(sys_link(BAD, P("lc")), -EFAULT);
    CHECK_EQ(sys_link(P("la"), BAD), -EFAULT);
    CHECK(missing(P("lc")));

    /* symlink */
    CHECK_EQ(sys_symlink("la", P("ls")), 0);
    struct stat st = st_link(P("ls"));
    CHECK_EQ(st.st_mode & S_IFMT, S_IFLNK);
    CHECK_EQ(st.st_size, 2);
    CHECK_EQ(st_path(P("ls")).st_ino, ino);
    CHECK(file_is(P("ls"), "target data"));
    CHECK_EQ(sys_symlink("nowhere", P("dangling")), 0);
    CHECK_EQ(st_link(P("dangling")).st_mode & S_IFMT, S_IFLNK);
    CHECK_EQ(sys_stat(P("dangling"), &st), -ENOENT);
    CHECK_EQ(sys_symlink("la", P("ls")), -EEXIST);
    CHECK_EQ(sys_symlink("la", P("nodir/ls")), -ENOENT);
    CHECK_EQ(sys_symlink("", P("empty")), -ENOENT);
    CHECK_EQ(sys_symlink(BAD, P("lt")), -EFAULT);
    CHECK_EQ(sys_symlink("la", BAD), -EFAULT);
    /* loops */
    CHECK_EQ(sys_symlink("loop2", P("loop1")), 0);
    CHECK_EQ(sys_symlink("loop1", P("loop2")), 0);
    CHECK_EQ(sys_stat(P("loop1"), &st), -ELOOP);
    CHECK_EQ(sys_open(P("loop1"), O_RDONLY, 0), -ELOOP);
    CHECK_EQ(sys_open(P("ls"), O_RDONLY | O_NOFOLLOW, 0), -ELOOP);

    /* symlinkat */
    CHECK_EQ(sys_symlinkat("la", dfd, "ls2"), 0);
    CHECK_EQ(st_path(P("ls2")).st_ino, ino);
    CHECK_EQ(sys_symlinkat("la", dfd, "ls2"), -EEXIST);
    CHECK_EQ(sys_symlinkat("la", -1, "ls3"), -EBADF);
    int fd = (int)sys_open(P("la"), O_RDONLY, 0);
    CHECK(fd >= 0);
    CHECK_EQ(sys_symlinkat("la", fd, "ls3"), -ENOTDIR);
    CHECK_EQ(sys_symlinkat("la", dfd, BAD), -EFAULT);
    CHECK(missing(P("ls3")));

    /* linkat: the link itself, or (AT_SYMLINK_FOLLOW) its target */
    CHECK_EQ(sys_linkat(dfd, "la", dfd, "lc", 0), 0);
    CHECK_EQ(st_path(P("lc")).st_ino, ino);
    CHECK_EQ(st_path(P("la")).st_nlink, 3);
    CHECK_EQ(sys_linkat(dfd, "ls", dfd, "ld", 0), 0);
    CHECK_EQ(st_link(P("ld")).st_mode & S_IFMT, S_IFLNK);
    CHECK_EQ(st_link(P("ld")).st_ino, st_link(P("ls")).st_ino);
    CHECK_EQ(sys_linkat(dfd, "ls", AT_FDCWD, P("le"), AT_SYMLINK_FOLLOW), 0);
    CHECK_EQ(st_link(P("le")).st_mode & S_IFMT, S_IFREG);
    CHECK_EQ(st_link(P("le")).st_ino, ino);
    CHECK_EQ(sys_linkat(dfd, "la", dfd, "lc", 0), -EEXIST);
    CHECK_EQ(sys_linkat(dfd, "missing", dfd, "lf", 0), -ENOENT);
    CHECK_EQ(sys_linkat(dfd, "dangling", dfd, "lf", AT_SYMLINK_FOLLOW), -ENOENT);
    CHECK_EQ(sys_linkat(-1, "la", dfd, "lf", 0), -EBADF);
    CHECK_EQ(sys_linkat(dfd, "la", fd, "lf", 0), -ENOTDIR);
    CHECK_EQ(sys_linkat(dfd, "la", dfd, "lf", 0x1), -EINVAL);
    CHECK_EQ(sys_linkat(dfd, BAD, dfd, "lf", 0), -EFAULT);
    CHECK(missing(P("lf")));

    /* readlink: no NUL is added; a short buffer truncates */
    fill(buf, '#', sizeof buf);
    CHECK_EQ(sys_readlink(P("dangling"), buf, sizeof buf), 7);
    CHECK(!wmemcmp(buf, "nowhere#", 8));
    fill(buf, '#', sizeof buf);
    CHECK_EQ(sys_readlink(P("dangling"), buf, 3), 3);
    CHECK(!wmemcmp(buf, "now#", 4));
    CHECK_EQ(sys_readlink(P("ls"), buf, sizeof buf), 2);
    CHECK(!wmemcmp(buf, "la", 2));
    CHECK_EQ(sys_readlink(P("la"), buf, sizeof buf), -EINVAL); /* not a link */
    CHECK_EQ(sys_readlink(scratch, buf, sizeof buf), -EINVAL);
    CHECK_EQ(sys_readlink(P("missing"), buf, sizeof buf), -ENOENT);
    CHECK_EQ(sys_readlink(P("la/x"), buf, sizeof buf), -ENOTDIR);
    CHECK_EQ(sys_readlink(P("ls"), buf, 0), -EINVAL);
    CHECK_EQ(sys_readlink(P("ls"), buf, (size_t)-1), -EINVAL);
    CHECK_EQ(sys_readlink(P("ls"), BAD, sizeof buf), -EFAULT);
    CHECK_EQ(sys_readlink(BAD, buf, sizeof buf), -EFAULT);

    /* readlinkat, including an empty path on an O_PATH fd of the link */
    fill(buf, '#', sizeof buf);
    CHECK_EQ(sys_readlinkat(dfd, "ls2", buf, sizeof buf), 2);
    CHECK(!wmemcmp(buf, "la#", 3));
    CHECK_EQ(sys_readlinkat(AT_FDCWD, P("ls2"), buf, 1), 1);
    CHECK_EQ(buf[0], 'l');
    int lfd = (int)sys_openat(dfd, "dangling", O_PATH | O_NOFOLLOW, 0);
    CHECK(lfd >= 0);
    fill(buf, '#', sizeof buf);
    CHECK_EQ(sys_readlinkat(lfd, "", buf, sizeof buf), 7);
    CHECK(!wmemcmp(buf, "nowhere#", 8));
    CHECK_EQ(st_fd(lfd).st_mode & S_IFMT, S_IFLNK);
    CHECK_EQ(sys_close(lfd), 0);
    CHECK_EQ(sys_readlinkat(dfd, "", buf, sizeof buf), -ENOENT);
    CHECK_EQ(sys_readlinkat(dfd, "la", buf, sizeof buf), -EINVAL);
    CHECK_EQ(sys_readlinkat(dfd, "missing", buf, sizeof buf), -ENOENT);
    CHECK_EQ(sys_readlinkat(-1, "ls2", buf, sizeof buf), -EBADF);
    CHECK_EQ(sys_readlinkat(fd, "ls2", buf, sizeof buf), -ENOTDIR);
    CHECK_EQ(sys_readlinkat(dfd, "ls2", BAD, sizeof buf), -EFAULT);

    CHECK_EQ(sys_close(fd), 0);
    CHECK_EQ(sys_close(dfd), 0);
}

/* ---- getcwd, chdir, fchdir --------------------------------------------------- */

static void test_cwd(void) {
    static char orig[4096], cwd[4096];
    i64 n = sys_getcwd(orig, sizeof orig);
    CHECK(n > 1);
    CHECK_EQ(n, wstrlen(orig) + 1); /* the length includes the NUL */
    CHECK_EQ(orig[0], '/');

    /* /proc/self/exe names the same program wherever the cwd is */
    static char exe1[1024], exe2[1024];
    i64 e1 = sys_readlink("/proc/self/exe", exe1, sizeof exe1);
    CHECK(e1 > 0);

    CHECK_EQ(sys_chdir(scratch), 0);
    i64 e2 = sys_readlink("/proc/self/exe", exe2, sizeof exe2);
    CHECK_EQ(e2, e1);
    CHECK(e1 > 0 && e2 == e1 && !wmemcmp(exe1, exe2, e1));
    n = sys_getcwd(cwd, sizeof cwd);
    CHECK_EQ(n, wstrlen(cwd) + 1);
    CHECK_EQ(st_path(cwd).st_ino, st_path(scratch).st_ino);
    CHECK_EQ(st_path(".").st_ino, st_path(scratch).st_ino);
    /* relative paths now resolve in the scratch directory */
    put_file("cwd-file", "here");
    CHECK(file_is(P("cwd-file"), "here"));
    CHECK_EQ(sys_mkdir("cwd-sub", 0755), 0);
    /* getcwd: exact size fits, one less is ERANGE */
    CHECK_EQ(sys_getcwd(cwd, n), n);
    CHECK_EQ(sys_getcwd(cwd, n - 1), -ERANGE);
    CHECK_EQ(sys_getcwd(cwd, 1), -ERANGE);
    CHECK_EQ(sys_getcwd(cwd, 0), -ERANGE);
    CHECK_EQ(sys_getcwd(BAD, sizeof cwd), -EFAULT);
    CHECK_EQ(sys_getcwd((char *)mem_tail(4), sizeof cwd), -EFAULT);

    /* fchdir */
    int sub = open_dir("cwd-sub");
    CHECK_EQ(sys_fchdir(sub), 0);
    n = sys_getcwd(cwd, sizeof cwd);
    CHECK_EQ(n, wstrlen(cwd) + 1);
    CHECK(ends_with(cwd, "/cwd-sub"));
    put_file("in-sub", "sub");
    CHECK(file_is(P("cwd-sub/in-sub"), "sub"));
    CHECK_EQ(sys_chdir(".."), 0);
    CHECK_EQ(st_path(".").st_ino, st_path(scratch).st_ino);
    int fd = (int)sys_open("cwd-file", O_RDONLY, 0);
    CHECK(fd >= 0);
    CHECK_EQ(sys_fchdir(fd), -ENOTDIR);
    CHECK_EQ(sys_fchdir(-1), -EBADF);
    CHECK_EQ(sys_fchdir(1000000), -EBADF);
    CHECK_EQ(sys_close(fd), 0);
    CHECK_EQ(sys_close(sub), 0);

    /* chdir errors leave the directory alone */
    CHECK_EQ(sys_chdir("missing"), -ENOENT);
    CHECK_EQ(sys_chdir("cwd-file"), -ENOTDIR);
    CHECK_EQ(sys_chdir(""), -ENOENT);
    CHECK_EQ(sys_chdir(BAD), -EFAULT);
    CHECK_EQ(st_path(".").st_ino, st_path(scratch).st_ino);

    CHECK_EQ(sys_chdir(orig), 0);
    n = sys_getcwd(cwd, sizeof cwd);
    CHECK(n > 0 && !wstrcmp(cwd, orig));
}

/* ---- access, faccessat, faccessat2 ------------------------------------------ */

static void test_access(void) {
    put_file(P("acc"), "x");
    CHECK_EQ(sys_chmod(P("acc"), 0644), 0);
    int dfd = open_dir(scratch);
    CHECK_EQ(sys_access(P("acc"), F_OK), 0);
    CHECK_EQ(sys_access(P("acc"), R_OK | W_OK), 0);
    /* no execute bit for anybody: EACCES even for root */
    CHECK_EQ(sys_access(P("acc"), X_OK), -EACCES);
    CHECK_EQ(sys_access(scratch, R_OK | X_OK), 0);
    CHECK_EQ(sys_access(P("missing"), F_OK), -ENOENT);
    CHECK_EQ(sys_access(P("acc/x"), F_OK), -ENOTDIR);
    CHECK_EQ(sys_access(P("acc"), 8), -EINVAL);
    CHECK_EQ(sys_access(BAD, F_OK), -EFAULT);
    CHECK_EQ(sys_chmod(P("acc"), 0744), 0);
    CHECK_EQ(sys_access(P("acc"), X_OK), 0);
    CHECK_EQ(sys_chmod(P("acc"), 0644), 0);

    /* faccessat: relative; its flags are honoured like the C function's */
    CHECK_EQ(sys_symlink("nowhere", P("acc-dangling")), 0);
    CHECK_EQ(sys_faccessat(dfd, "acc", R_OK, 0), 0);
    CHECK_EQ(sys_faccessat(dfd, "acc", X_OK, 0), -EACCES);
    CHECK_EQ(sys_faccessat(dfd, "acc-dangling", F_OK, 0), -ENOENT);
    /* (the raw Linux faccessat ignores flags; WALI's honours them, as the C
     * library's faccessat does through faccessat2) */
    CHECK_EQ(sys_faccessat(dfd, "acc-dangling", F_OK, AT_SYMLINK_NOFOLLOW), 0);
    CHECK_EQ(sys_faccessat(dfd, "acc", R_OK, AT_EACCESS), 0);
    CHECK_EQ(sys_faccessat(dfd, "missing", F_OK, 0), -ENOENT);
    CHECK_EQ(sys_faccessat(-1, "acc", F_OK, 0), -EBADF);
    CHECK_EQ(sys_faccessat(dfd, BAD, F_OK, 0), -EFAULT);

    /* faccessat2 */
    CHECK_EQ(sys_faccessat2(dfd, "acc", R_OK | W_OK, 0), 0);
    CHECK_EQ(sys_faccessat2(dfd, "acc-dangling", F_OK, 0), -ENOENT);
    CHECK_EQ(sys_faccessat2(dfd, "acc-dangling", F_OK, AT_SYMLINK_NOFOLLOW), 0);
    CHECK_EQ(sys_faccessat2(dfd, "acc", R_OK, AT_EACCESS), 0);
    int fd = (int)sys_open(P("acc"), O_RDONLY, 0);
    CHECK(fd >= 0);
    CHECK_EQ(sys_faccessat2(fd, "", R_OK, AT_EMPTY_PATH), 0);
    CHECK_EQ(sys_faccessat2(fd, "", X_OK, AT_EMPTY_PATH), -EACCES);
    CHECK_EQ(sys_faccessat2(fd, "", R_OK, 0), -ENOENT);
    CHECK_EQ(sys_faccessat2(dfd, "acc", R_OK, 0x1), -EINVAL);
    CHECK_EQ(sys_faccessat2(dfd, "acc", 8, 0), -EINVAL);
    CHECK_EQ(sys_faccessat2(-1, "acc", F_OK, 0), -EBADF);
    CHECK_EQ(sys_faccessat2(fd, "acc", F_OK, 0), -ENOTDIR);
    CHECK_EQ(sys_faccessat2(dfd, BAD, F_OK, 0), -EFAULT);
    CHECK_EQ(sys_close(fd), 0);
    CHECK_EQ(sys_close(dfd), 0);
}

/* ---- chmod, fchmod, fchmodat ------------------------------------------------ */

static void test_chmod(void) {
    put_file(P("mod"), "x");
    CHECK_EQ(sys_symlink("mod", P("mod-link")), 0);
    int dfd = open_dir(scratch);
    CHECK_EQ(sys_chmod(P("mod"), 0600), 0);
    CHECK_EQ(st_path(P("mod")).st_mode, S_IFREG | 0600);
    CHECK_EQ(sys_chmod(P("mod-link"), 0604), 0); /* follows the link */
    CHECK_EQ(st_path(P("mod")).st_mode, S_IFREG | 0604);
    CHECK_EQ(st_link(P("mod-link")).st_mode, S_IFLNK | 0777);
    CHECK_EQ(sys_chmod(P("mod"), 01755), 0); /* sticky bit */
    CHECK_EQ(st_path(P("mod")).st_mode, S_IFREG | 01755);
    CHECK_EQ(sys_chmod(P("missing"), 0600), -ENOENT);
    CHECK_EQ(sys_chmod(P("mod/x"), 0600), -ENOTDIR);
    CHECK_EQ(sys_chmod(BAD, 0600), -EFAULT);

    int fd = (int)sys_open(P("mod"), O_RDONLY, 0);
    CHECK(fd >= 0);
    CHECK_EQ(sys_fchmod(fd, 0640), 0);
    CHECK_EQ(st_fd(fd).st_mode, S_IFREG | 0640);
    CHECK_EQ(st_path(P("mod")).st_mode, S_IFREG | 0640);
    CHECK_EQ(sys_fchmod(-1, 0640), -EBADF);
    int pfd = (int)sys_open(P("mod"), O_PATH, 0);
    CHECK(pfd >= 0);
    CHECK_EQ(sys_fchmod(pfd, 0600), -EBADF); /* an O_PATH fd */
    CHECK_EQ(sys_close(pfd), 0);

    CHECK_EQ(sys_fchmodat(dfd, "mod", 0444, 0), 0);
    CHECK_EQ(st_path(P("mod")).st_mode, S_IFREG | 0444);
    CHECK_EQ(sys_fchmodat(AT_FDCWD, P("mod-link"), 0644, 0), 0);
    CHECK_EQ(st_path(P("mod")).st_mode, S_IFREG | 0644);
    /* flags go to fchmodat2 (Linux 6.6): AT_SYMLINK_NOFOLLOW works on a
     * file and is EOPNOTSUPP on a link (links have no mode of their own);
     * the runtime gives EOPNOTSUPP for any flag on older kernels */
    if (kernel_at_least(6, 6)) {
        CHECK_EQ(sys_fchmodat(dfd, "mod", 0640, AT_SYMLINK_NOFOLLOW), 0);
        CHECK_EQ(st_path(P("mod")).st_mode, S_IFREG | 0640);
        CHECK_EQ(sys_fchmodat(dfd, "mod", 0600, 0x1), -EINVAL);
    }
    CHECK_EQ(sys_fchmodat(dfd, "mod", 0600, 0), 0);
    CHECK_EQ(st_path(P("mod")).st_mode, S_IFREG | 0600);
    CHECK_EQ(sys_fchmodat(dfd, "mod-link", 0600, AT_SYMLINK_NOFOLLOW), -EOPNOTSUPP);
    CHECK_EQ(st_link(P("mod-link")).st_mode, S_IFLNK | 0777);
    CHECK_EQ(sys_fchmodat(dfd, "missing", 0600, 0), -ENOENT);
    CHECK_EQ(sys_fchmodat(-1, "mod", 0600, 0), -EBADF);
    CHECK_EQ(sys_fchmodat(fd, "mod", 0600, 0), -ENOTDIR);
    CHECK_EQ(sys_fchmodat(dfd, BAD, 0600, 0), -EFAULT);
    CHECK_EQ(st_path(P("mod")).st_mode, S_IFREG | 0600);
    CHECK_EQ(sys_close(fd), 0);
    CHECK_EQ(sys_close(dfd), 0);
}

/* ---- chown, fchown, fchownat, lchown (to our own ids) ---------------------- */

static void test_chown(void) {
    int uid = (int)sys_getuid(), gid = (int)sys_getgid();
    put_file(P("own"), "x");
    CHECK_EQ(sys_symlink("nowhere", P("own-dangling")), 0);
    int dfd = open_dir(scratch);
    struct stat st;

    CHECK_EQ(sys_chown(P("own"), uid, gid), 0);
    st = st_path(P("own"));
    CHECK_EQ(st.st_uid, uid);
    CHECK_EQ(st.st_gid, gid);
    CHECK_EQ(sys_chown(P("own"), -1, -1), 0); /* change nothing */
    CHECK_EQ(st_path(P("own")).st_uid, uid);
    CHECK_EQ(sys_chown(P("own-dangling"), uid, gid), -ENOENT); /* follows */
    CHECK_EQ(sys_chown(P("missing"), uid, gid), -ENOENT);
    CHECK_EQ(sys_chown(P("own/x"), uid, gid), -ENOTDIR);
    CHECK_EQ(sys_chown(BAD, uid, gid), -EFAULT);

    int fd = (int)sys_open(P("own"), O_RDONLY, 0);
    CHECK(fd >= 0);
    CHECK_EQ(sys_fchown(fd, uid, gid), 0);
    CHECK_EQ(st_fd(fd).st_gid, gid);
    CHECK_EQ(sys_fchown(fd, -1, gid), 0);
    CHECK_EQ(sys_fchown(-1, uid, gid), -EBADF);
    CHECK_EQ(sys_fchown(1000000, uid, gid), -EBADF);

    CHECK_EQ(sys_fchownat(dfd, "own", uid, gid, 0), 0);
    CHECK_EQ(sys_fchownat(fd, "", uid, gid, AT_EMPTY_PATH), 0);
    CHECK_EQ(sys_fchownat(dfd, "own-dangling", uid, gid, AT_SYMLINK_NOFOLLOW), 0);
    CHECK_EQ(st_link(P("own-dangling")).st_uid, uid);
    CHECK_EQ(sys_fchownat(dfd, "own-dangling", uid, gid, 0), -ENOENT);
    CHECK_EQ(sys_fchownat(fd, "", uid, gid, 0), -ENOENT);
    CHECK_EQ(sys_fchownat(-1, "own", uid, gid, 0), -EBADF);
    CHECK_EQ(sys_fchownat(fd, "own", uid, gid, 0), -ENOTDIR);
    CHECK_EQ(sys_fchownat(dfd, "own", uid, gid, 0x1), -EINVAL);
    CHECK_EQ(sys_fchownat(dfd, BAD, uid, gid, 0), -EFAULT);

    CHECK_EQ(sys_lchown(P("own-dangling"), uid, gid), 0); /* the link itself */
    st = st_link(P("own-dangling"));
    CHECK_EQ(st.st_uid, uid);
    CHECK_EQ(st.st_gid, gid);
    CHECK_EQ(sys_lchown(P("own"), uid, gid), 0);
    CHECK_EQ(sys_lchown(P("missing"), uid, gid), -ENOENT);
    CHECK_EQ(sys_lchown(BAD, uid, gid), -EFAULT);
    CHECK_EQ(sys_close(fd), 0);
    CHECK_EQ(sys_close(dfd), 0);
}

/* ---- umask ----------------------------------------------------------------- */

static void test_umask(void) {
    CHECK_EQ(sys_umask(027), 022); /* returns the old mask */
    CHECK_EQ(sys_umask(027), 027);
    int fd = (int)sys_open(P("um-file"), O_CREAT | O_EXCL | O_WRONLY, 0777);
    CHECK(fd >= 0);
    CHECK_EQ(st_fd(fd).st_mode, S_IFREG | 0750);
    CHECK_EQ(sys_close(fd), 0);
    CHECK_EQ(sys_mkdir(P("um-dir"), 0777), 0);
    CHECK_EQ(st_path(P("um-dir")).st_mode, S_IFDIR | 0750);
    /* only the permission bits are kept */
    CHECK_EQ(sys_umask(0177777), 027);
    CHECK_EQ(sys_umask(0), 0777);
    fd = (int)sys_creat(P("um-zero"), 0666);
    CHECK(fd >= 0);
    CHECK_EQ(st_fd(fd).st_mode, S_IFREG | 0666);
    CHECK_EQ(sys_close(fd), 0);
    CHECK_EQ(sys_umask(022), 0);
}

/* ---- truncate, ftruncate, fsync, fdatasync, fadvise ------------------------ */

static void test_truncate_sync(void) {
    char buf[128];
    put_file(P("tr"), "0123456789");
    CHECK_EQ(sys_truncate(P("tr"), 100), 0);
    CHECK_EQ(st_path(P("tr")).st_size, 100);
    int fd = (int)sys_open(P("tr"), O_RDWR, 0);
    CHECK(fd >= 0);
    fill(buf, 0x55, sizeof buf);
    CHECK_EQ(sys_read(fd, buf, sizeof buf), 100);
    CHECK(!wmemcmp(buf, "0123456789", 10));
    CHECK(all_bytes(buf + 10, 0, 90));
    CHECK_EQ(sys_truncate(P("tr"), 3), 0);
    CHECK(file_is(P("tr"), "012"));
    CHECK_EQ(sys_truncate(P("tr"), 0x140000000LL), 0); /* 5 GiB: a 64-bit length */
    CHECK_EQ(st_path(P("tr")).st_size, 0x140000000LL);
    CHECK_EQ(sys_truncate(P("tr"), 3), 0);
    CHECK_EQ(sys_truncate(P("tr"), -1), -EINVAL);
    CHECK_EQ(sys_truncate(P("missing"), 0), -ENOENT);
    CHECK_EQ(sys_truncate(P("tr/x"), 0), -ENOTDIR);
    CHECK_EQ(sys_truncate(scratch, 0), -EISDIR);
    CHECK_EQ(sys_truncate(BAD, 0), -EFAULT);
    CHECK(file_is(P("tr"), "012"));

    CHECK_EQ(sys_ftruncate(fd, 10), 0);
    CHECK_EQ(st_fd(fd).st_size, 10);
    CHECK_EQ(sys_ftruncate(fd, 0x140000000LL), 0);
    CHECK_EQ(st_fd(fd).st_size, 0x140000000LL);
    CHECK_EQ(sys_ftruncate(fd, 1), 0);
    CHECK(file_is(P("tr"), "0"));
    CHECK_EQ(sys_ftruncate(fd, -1), -EINVAL);
    CHECK_EQ(sys_ftruncate(-1, 0), -EBADF);
    int ro = (int)sys_open(P("tr"), O_RDONLY, 0);
    CHECK(ro >= 0);
    CHECK_EQ(sys_ftruncate(ro, 0), -EINVAL); /* not open for writing */
    int p[2];
    make_pipe(p);
    CHECK_EQ(sys_ftruncate(p[1], 0), -EINVAL);
    CHECK_EQ(st_fd(fd).st_size, 1);

    /* fsync, fdatasync */
    CHECK_EQ(sys_lseek(fd, 1, SEEK_SET), 1);
    CHECK_EQ(sys_write(fd, "sync", 4), 4);
    CHECK_EQ(sys_fsync(fd), 0);
    CHECK_EQ(sys_fdatasync(fd), 0);
    CHECK_EQ(sys_fsync(ro), 0);
    int dfd = open_dir(scratch);
    CHECK_EQ(sys_fsync(dfd), 0);
    CHECK_EQ(sys_fsync(-1), -EBADF);
    CHECK_EQ(sys_fdatasync(-1), -EBADF);
    CHECK_EQ(sys_fsync(p[1]), -EINVAL);
    CHECK_EQ(sys_fdatasync(p[0]), -EINVAL);

    /* fadvise */
    CHECK_EQ(sys_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL), 0);
    CHECK_EQ(sys_fadvise(fd, 0, 4096, POSIX_FADV_WILLNEED), 0);
    CHECK_EQ(sys_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    CHECK_EQ(sys_fadvise(ro, 0x100000000LL, 0x100000000LL, POSIX_FADV_NORMAL), 0);
    CHECK_EQ(sys_fadvise(fd, 0, 0, 99), -EINVAL);
    CHECK_EQ(sys_fadvise(fd, 0, -1, POSIX_FADV_NORMAL), -EINVAL);
    CHECK_EQ(sys_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL), -ESPIPE);
    CHECK_EQ(sys_fadvise(-1, 0, 0, POSIX_FADV_NORMAL), -EBADF);
    CHECK(file_is(P("tr"), "0sync"));

    close_pipe(p);
    CHECK_EQ(sys_close(dfd), 0);
    CHECK_EQ(sys_close(ro), 0);
    CHECK_EQ(sys_close(fd), 0);
}

/* ---- utimensat, utimes, futimesat ------------------------------------------ */

static void test_times(void) {
    put_file(P("tm"), "x");
    CHECK_EQ(sys_symlink("tm", P("tm-link")), 0);
    int dfd = open_dir(scratch);
    struct stat st;

    struct timespec ts[2] = {{1000000000, 123456789}, {1234567890, 987654321}};
    CHECK_EQ(sys_utimensat(AT_FDCWD, P("tm"), ts, 0), 0);
    st = st_path(P("tm"));
    CHECK_EQ(st.st_atim.tv_sec, 1000000000);
    CHECK_EQ(st.st_atim.tv_nsec, 123456789);
    CHECK_EQ(st.st_mtim.tv_sec, 1234567890);
    CHECK_EQ(st.st_mtim.tv_nsec, 987654321);
    /* UTIME_OMIT keeps one of them */
    struct timespec omit[2] = {{0, UTIME_OMIT}, {5, 6}};
    CHECK_EQ(sys_utimensat(dfd, "tm", omit, 0), 0);
    st = st_path(P("tm"));
    CHECK_EQ(st.st_atim.tv_sec, 1000000000);
    CHECK_EQ(st.st_atim.tv_nsec, 123456789);
    CHECK_EQ(st.st_mtim.tv_sec, 5);
    CHECK_EQ(st.st_mtim.tv_nsec, 6);
    /* NULL path: the times of dirfd's file */
    int fd = (int)sys_open(P("tm"), O_RDONLY, 0);
    CHECK(fd >= 0);
    struct timespec t2[2] = {{2000000000, 1}, {2000000001, 2}};
    CHECK_EQ(sys_utimensat(fd, NULL, t2, 0), 0);
    st = st_fd(fd);
    CHECK_EQ(st.st_atim.tv_sec, 2000000000);
    CHECK_EQ(st.st_mtim.tv_sec, 2000000001);
    CHECK_EQ(st.st_mtim.tv_nsec, 2);
    /* AT_SYMLINK_NOFOLLOW: the link's own times */
    struct timespec t3[2] = {{777, 0}, {888, 0}};
    CHECK_EQ(sys_utimensat(dfd, "tm-link", t3, AT_SYMLINK_NOFOLLOW), 0);
    CHECK_EQ(st_link(P("tm-link")).st_mtim.tv_sec, 888);
    CHECK_EQ(st_path(P("tm")).st_mtim.tv_sec, 2000000001);
    /* NULL times: now */
    struct timespec now;
    CHECK_EQ(sys_clock_gettime(CLOCK_REALTIME, &now), 0);
    CHECK_EQ(sys_utimensat(dfd, "tm", NULL, 0), 0);
    st = st_path(P("tm"));
    CHECK(st.st_mtim.tv_sec >= now.tv_sec - 1 && st.st_mtim.tv_sec <= now.tv_sec + 5);
    /* utimensat errors */
    CHECK_EQ(sys_utimensat(AT_FDCWD, P("missing"), ts, 0), -ENOENT);
    CHECK_EQ(sys_utimensat(dfd, "tm/x", ts, 0), -ENOTDIR);
    struct timespec badns[2] = {{1, 1000000000}, {1, 0}};
    CHECK_EQ(sys_utimensat(dfd, "tm", badns, 0), -EINVAL);
    CHECK_EQ(sys_utimensat(dfd, "tm", ts, 0x1), -EINVAL);
    CHECK_EQ(sys_utimensat(fd, NULL, ts, AT_SYMLINK_NOFOLLOW), -EINVAL);
    CHECK_EQ(sys_utimensat(-1, NULL, ts, 0), -EBADF);
    CHECK_EQ(sys_utimensat(-1, "tm", ts, 0), -EBADF);
    CHECK_EQ(sys_utimensat(dfd, "tm", BAD, 0), -EFAULT);
    CHECK_EQ(sys_utimensat(dfd, "tm", mem_tail(16), 0), -EFAULT);
    CHECK_EQ(sys_utimensat(dfd, BAD, ts, 0), -EFAULT);

    /* utimes: microseconds */
    struct timeval tv[2] = {{100, 500000}, {200, 250000}};
    CHECK_EQ(sys_utimes(P("tm"), tv), 0);
    st = st_path(P("tm"));
    CHECK_EQ(st.st_atim.tv_sec, 100);
    CHECK_EQ(st.st_atim.tv_nsec, 500000000);
    CHECK_EQ(st.st_mtim.tv_sec, 200);
    CHECK_EQ(st.st_mtim.tv_nsec, 250000000);
    CHECK_EQ(sys_utimes(P("tm-link"), tv), 0); /* follows */
    CHECK_EQ(st_link(P("tm-link")).st_mtim.tv_sec, 888);
    CHECK_EQ(sys_utimes(P("tm"), NULL), 0);
    CHECK(st_path(P("tm")).st_mtim.tv_sec >= now.tv_sec - 1);
    CHECK_EQ(sys_utimes(P("missing"), tv), -ENOENT);
    struct timeval badus[2] = {{1, 1000000}, {1, 0}};
    CHECK_EQ(sys_utimes(P("tm"), badus), -EINVAL);
    CHECK_EQ(sys_utimes(P("tm"), BAD), -EFAULT);
    CHECK_EQ(sys_utimes(BAD, tv), -EFAULT);

    /* futimesat: relative, and NULL path for dirfd's own file */
    struct timeval tv2[2] = {{300, 1}, {400, 2}};
    CHECK_EQ(sys_futimesat(dfd, "tm", tv2), 0);
    st = st_path(P("tm"));
    CHECK_EQ(st.st_atim.tv_sec, 300);
    CHECK_EQ(st.st_mtim.tv_sec, 400);
    CHECK_EQ(st.st_mtim.tv_nsec, 2000);
    struct timeval tv3[2] = {{500, 0}, {600, 0}};
    CHECK_EQ(sys_futimesat(fd, NULL, tv3), 0);
    CHECK_EQ(st_fd(fd).st_mtim.tv_sec, 600);
    CHECK_EQ(sys_futimesat(AT_FDCWD, P("tm"), tv2), 0);
    CHECK_EQ(st_fd(fd).st_mtim.tv_sec, 400);
    CHECK_EQ(sys_futimesat(dfd, "missing", tv2), -ENOENT);
    CHECK_EQ(sys_futimesat(-1, "tm", tv2), -EBADF);
    CHECK_EQ(sys_futimesat(fd, "tm", tv2), -ENOTDIR);
    CHECK_EQ(sys_futimesat(dfd, "tm", badus), -EINVAL);
    CHECK_EQ(sys_futimesat(dfd, "tm", BAD), -EFAULT);

    CHECK_EQ(sys_close(fd), 0);
    CHECK_EQ(sys_close(dfd), 0);
}

/* ---- chroot: error paths only (as root a success would trap the test) ------ */

static void test_chroot(void) {
    put_file(P("not-a-dir"), "x");
    CHECK_EQ(sys_chroot(P("missing")), -ENOENT);
    CHECK_EQ(sys_chroot(P("not-a-dir")), -ENOTDIR);
    CHECK_EQ(sys_chroot(P("not-a-dir/x")), -ENOTDIR);
    CHECK_EQ(sys_chroot(""), -ENOENT);
    CHECK_EQ(sys_chroot(BAD), -EFAULT);
}

/* ---- paths that run off memory or are too long ----------------------------- */

static void test_paths(void) {
    struct stat st;
    /* not NUL-terminated before the end of linear memory */
    u8 *tail = mem_tail(16);
    fill(tail, 'a', 16);
    CHECK_EQ(sys_stat((char *)tail, &st), -EFAULT);
    CHECK_EQ(sys_open((char *)tail, O_RDONLY, 0), -EFAULT);
    CHECK_EQ(sys_mkdir((char *)tail, 0755), -EFAULT);
    CHECK_EQ(sys_chdir((char *)tail), -EFAULT);
    CHECK_EQ(sys_unlink((char *)tail), -EFAULT);
    CHECK_EQ(sys_symlink("x", (char *)tail), -EFAULT);
    CHECK_EQ(sys_access((char *)tail, F_OK), -EFAULT);
    /* terminated on the very last byte: a valid (relative, missing) path */
    tail[15] = 0;
    CHECK_EQ(sys_stat((char *)tail, &st), -ENOENT);

    /* PATH_MAX is 4096 with the NUL: 4095 bytes work, 4096 do not */
    static char longp[8192];
    fill(longp, '/', 4094);
    longp[4094] = '.';
    longp[4095] = 0;
    CHECK_EQ(wstrlen(longp), 4095);
    CHECK_EQ(sys_stat(longp, &st), 0); /* "/" */
    CHECK_EQ(st.st_mode & S_IFMT, S_IFDIR);
    CHECK_EQ(sys_access(longp, F_OK), 0);
    fill(longp, '/', 4095);
    longp[4095] = '.';
    longp[4096] = 0;
    CHECK_EQ(sys_stat(longp, &st), -ENAMETOOLONG);
    CHECK_EQ(sys_open(longp, O_RDONLY, 0), -ENAMETOOLONG);
    CHECK_EQ(sys_access(longp, F_OK), -ENAMETOOLONG);
    CHECK_EQ(sys_chdir(longp), -ENAMETOOLONG);
    fill(longp, 'a', 6000);
    longp[6000] = 0;
    CHECK_EQ(sys_stat(longp, &st), -ENAMETOOLONG);
    CHECK_EQ(sys_mkdir(longp, 0755), -ENAMETOOLONG);
    CHECK_EQ(sys_rename(longp, P("x")), -ENAMETOOLONG);
    CHECK_EQ(sys_rename(P("rw"), longp), -ENAMETOOLONG);
    CHECK_EQ(sys_symlink(longp, P("long-link")), -ENAMETOOLONG);
    CHECK(missing(P("long-link")));
    /* a component longer than NAME_MAX (255) */
    static char name[300];
    fill(name, 'n', 255);
    name[255] = 0;
    int fd = (int)sys_open(P(name), O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(sys_close(fd), 0);
    CHECK_EQ(sys_unlink(P(name)), 0);
    name[255] = 'n';
    name[256] = 0;
    CHECK_EQ(sys_open(P(name), O_CREAT | O_WRONLY, 0644), -ENAMETOOLONG);
    CHECK_EQ(sys_stat(P(name), &st), -ENAMETOOLONG);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        puts_fd(2, "usage: fs.wasm SCRATCH_DIR\n");
        return 2;
    }
    scratch = argv[1];
    i64 old_mask = sys_umask(022);

    test_open_close();
    test_read_write();
    test_lseek();
    test_stat();
    test_getdents();
    test_fcntl();
    test_dup();
    test_pipe();
    test_names();
    test_links();
    test_cwd();
    test_access();
    test_chmod();
    test_chown();
    test_umask();
    test_truncate_sync();
    test_times();
    test_chroot();
    test_paths();

    sys_umask((int)old_mask);
    return 0;
}
