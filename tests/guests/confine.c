/* File-system confinement (wali-run --dir BOX --dir RO:ro).
 *   confine.wasm BOX OUTSIDE RO   escapes are EACCES, the trees work */
#include "wali.h"

WALI(SYS_wait4) i64 sys_wait4(int pid, int *st, int opt, void *ru);
WALI(SYS_execve) i64 sys_execve(const char *path, char *const argv[], char *const envp[]);

static char pbuf[8][512];
static int pi;
static const char *cat(const char *a, const char *b) {
    char *o = pbuf[pi++ & 7];
    size_t n = wstrlen(a), m = wstrlen(b);
    for (size_t i = 0; i < n; i++) o[i] = a[i];
    for (size_t i = 0; i <= m; i++) o[n + i] = b[i];
    return o;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    const char *box = argv[1], *out = argv[2], *ro = argv[3];
    struct stat st;
    /* inside: works */
    int fd = (int)sys_open(cat(box, "/f"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(sys_write(fd, "hello", 5), 5);
    sys_close(fd);
    CHECK_EQ(sys_stat(cat(box, "/f"), &st), 0);
    CHECK_EQ(st.st_size, 5);
    /* outside and escapes: EACCES */
    CHECK_EQ(sys_open("/etc/passwd", O_RDONLY, 0), -EACCES);
    CHECK_EQ(sys_open(cat(out, "/secret"), O_RDONLY, 0), -EACCES);
    CHECK_EQ(sys_open(cat(box, "/../"), O_RDONLY, 0), -EACCES);
    const char *dotdot = cat(cat(box, "/.."), cat(out + 0, "")); (void)dotdot;
    CHECK_EQ(sys_symlink("/etc", cat(box, "/abs")), 0);
    CHECK_EQ(sys_open(cat(box, "/abs/passwd"), O_RDONLY, 0), -EACCES);
    CHECK_EQ(sys_stat(cat(box, "/abs/passwd"), &st), -EACCES);
    CHECK_EQ(sys_lstat(cat(box, "/abs"), &st), 0); /* the link itself is inside */
    CHECK_EQ(sys_symlink(out, cat(box, "/rel")), 0);
    CHECK_EQ(sys_open(cat(box, "/rel/secret"), O_RDONLY, 0), -EACCES);
    CHECK_EQ(sys_open("/proc/self/root/etc/passwd", O_RDONLY, 0), -EACCES);
    int dfd = (int)sys_open(box, O_RDONLY | O_DIRECTORY, 0);
    CHECK(dfd >= 0);
    CHECK_EQ(sys_openat(dfd, "../", O_RDONLY, 0), -EACCES);
    CHECK_EQ(sys_openat(dfd, "f", O_RDONLY, 0) >= 0, 1);
    CHECK_EQ(sys_rename(cat(box, "/f"), cat(out, "/stolen")), -EACCES);
    CHECK_EQ(sys_link(cat(box, "/f"), cat(out, "/l")), -EACCES);
    CHECK_EQ(sys_unlink(cat(out, "/secret")), -EACCES);
    CHECK_EQ(sys_chmod(cat(box, "/abs/passwd"), 0777), -EACCES);
    CHECK_EQ(sys_access(cat(out, "/secret"), 0), -EACCES);
    /* directories, cwd, relative paths */
    CHECK_EQ(sys_mkdir(cat(box, "/d"), 0755), 0);
    CHECK_EQ(sys_chdir(cat(box, "/d")), 0);
    fd = (int)sys_open("x", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    sys_close(fd);
    CHECK_EQ(sys_stat(cat(box, "/d/x"), &st), 0);
    CHECK_EQ(sys_chdir(".."), 0);
    CHECK_EQ(sys_chdir(".."), -EACCES);
    CHECK_EQ(sys_rename(cat(box, "/d/x"), cat(box, "/y")), 0);
    CHECK_EQ(sys_unlink(cat(box, "/y")), 0);
    /* read-only tree */
    fd = (int)sys_open(cat(ro, "/r"), O_RDONLY, 0);
    CHECK(fd >= 0);
    sys_close(fd);
    CHECK_EQ(sys_open(cat(ro, "/r"), O_WRONLY, 0), -EACCES);
    CHECK_EQ(sys_unlink(cat(ro, "/r")), -EACCES);
    CHECK_EQ(sys_mkdir(cat(ro, "/nd"), 0755), -EACCES);
    /* AF_UNIX socket paths are confined too */
    struct sockaddr_un un = {AF_UNIX, {0}};
    const char *sp = cat(box, "/sock");
    for (size_t i = 0; sp[i] && i < 100; i++) un.sun_path[i] = sp[i];
    int ls = (int)sys_socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_EQ(sys_bind(ls, &un, sizeof un), 0);
    CHECK_EQ(sys_listen(ls, 1), 0);
    int cs = (int)sys_socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_EQ(sys_connect(cs, &un, sizeof un), 0);
    CHECK_EQ(sys_stat(sp, &st), 0);
    CHECK_EQ(st.st_mode & S_IFMT, S_IFSOCK);
    struct sockaddr_un bad = {AF_UNIX, {0}};
    const char *bp = cat(out, "/sock");
    for (size_t i = 0; bp[i] && i < 100; i++) bad.sun_path[i] = bp[i];
    int bs = (int)sys_socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_EQ(sys_bind(bs, &bad, sizeof bad), -EACCES);
    /* datagrams name their destination in sendto and sendmsg */
    struct sockaddr_un dn = {AF_UNIX, {0}};
    const char *dp = cat(box, "/dsock");
    for (size_t i = 0; dp[i] && i < 100; i++) dn.sun_path[i] = dp[i];
    int ds = (int)sys_socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK_EQ(sys_bind(ds, &dn, sizeof dn), 0);
    int us = (int)sys_socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK_EQ(sys_sendto(us, "x", 1, 0, &dn, sizeof dn), 1);
    CHECK_EQ(sys_sendto(us, "x", 1, 0, &bad, sizeof bad), -EACCES);
    struct iovec iv = {"yz", 2};
    struct msghdr mh = {0};
    mh.msg_name = &dn;
    mh.msg_namelen = sizeof dn;
    mh.msg_iov = &iv;
    mh.msg_iovlen = 1;
    CHECK_EQ(sys_sendmsg(us, &mh, 0), 2);
    char got[4];
    CHECK_EQ(sys_read(ds, got, sizeof got), 1);
    CHECK_EQ(sys_read(ds, got, sizeof got), 2);
    CHECK_EQ(got[1], 'z');
    mh.msg_name = &bad;
    mh.msg_namelen = sizeof bad;
    CHECK_EQ(sys_sendmsg(us, &mh, 0), -EACCES);
    mh.msg_name = (void *)0xFFFFFFF0u;
    CHECK_EQ(sys_sendmsg(us, &mh, 0), -EFAULT);
    /* native exec leaves the trees: refused */
    char *a[] = {"echo", NULL};
    CHECK_EQ(sys_execve("/bin/echo", a, a + 1), -EACCES);
    /* a forked child has the same policy */
    i64 pid = sys_fork();
    if (pid == 0) sys_exit_group((int)-sys_open("/etc/passwd", O_RDONLY, 0));
    int s = 0;
    sys_wait4((int)pid, &s, 0, NULL);
    CHECK_EQ((s >> 8) & 0xff, EACCES);
    return 0;
}
