/* Sockets: socket, socketpair, bind, listen, connect, accept, accept4,
 * getsockname, getpeername, sendto, recvfrom, sendmsg, recvmsg (scatter/
 * gather, SCM_RIGHTS, MSG_TRUNC), shutdown, setsockopt, getsockopt; success
 * paths and the errno Linux gives on the error paths.
 * argv[1] is a scratch directory (AF_UNIX socket paths are made there).
 * Only loopback addresses and kernel-chosen ports (port 0) are used; client
 * and server run in this one process (connect completes against the
 * listener's backlog before accept is called). */
#include "wali.h"

#define EDESTADDRREQ 89
#define EMSGSIZE 90
#define ENOPROTOOPT 92
#define EADDRNOTAVAIL 99
#define ENOTCONN 107
#define MSG_CTRUNC 0x8
#define MSG_TRUNC 0x20
#define MSG_DONTWAIT 0x40
#define MSG_NOSIGNAL 0x4000
#define MSG_CMSG_CLOEXEC 0x40000000
#define SHUT_RD 0
#define SHUT_WR 1
#define SHUT_RDWR 2
#define SO_ERROR 4
#define SO_SNDBUF 7
#define IPPROTO_TCP 6
#define TCP_NODELAY 1

#define BADPTR ((void *)0xFFFFFFF0u) /* past the end of any wasm32 memory */
#define LOOPBACK4 0x0100007fu        /* 127.0.0.1 in network byte order */

struct sockaddr_in6 {
    u16 sin6_family;
    u16 sin6_port;
    u32 sin6_flowinfo;
    u8 sin6_addr[16];
    u32 sin6_scope_id;
};

static char *scratch;

static void mzero(void *p, size_t n) {
    u8 *b = p;
    for (size_t i = 0; i < n; i++) b[i] = 0;
}
static void mcopy(void *d, const void *s, size_t n) {
    u8 *a = d;
    const u8 *b = s;
    for (size_t i = 0; i < n; i++) a[i] = b[i];
}

/* scratch + "/" + name into a sockaddr_un; returns the address length */
static u32 unix_addr(struct sockaddr_un *a, const char *name) {
    mzero(a, sizeof *a);
    a->sun_family = AF_UNIX;
    size_t n = wstrlen(scratch), m = wstrlen(name);
    if (n + 1 + m + 1 > sizeof a->sun_path) {
        puts_fd(2, "net: scratch path too long for sun_path\n");
        checks_failed++;
        return 0;
    }
    mcopy(a->sun_path, scratch, n);
    a->sun_path[n] = '/';
    mcopy(a->sun_path + n + 1, name, m + 1);
    return (u32)(2 + n + 1 + m + 1);
}

static void loop4(struct sockaddr_in *a, u16 port_be) {
    mzero(a, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = port_be;
    a->sin_addr = LOOPBACK4;
}

/* A socket bound to 127.0.0.1:0; its address (with the chosen port) in *a */
static int bound4(int type, struct sockaddr_in *a) {
    int fd = (int)sys_socket(AF_INET, type, 0);
    CHECK(fd >= 0);
    loop4(a, 0);
    CHECK_EQ(sys_bind(fd, a, sizeof *a), 0);
    u32 len = 64;
    u8 buf[64];
    CHECK_EQ(sys_getsockname(fd, buf, &len), 0);
    CHECK_EQ(len, sizeof(struct sockaddr_in));
    mcopy(a, buf, sizeof *a);
    CHECK_EQ(a->sin_family, AF_INET);
    CHECK_EQ(a->sin_addr, LOOPBACK4);
    CHECK(a->sin_port != 0);
    return fd;
}

static i64 getint(int fd, int level, int name) {
    int v = -12345;
    u32 len = sizeof v;
    i64 r = sys_getsockopt(fd, level, name, &v, &len);
    CHECK_EQ(r, 0);
    CHECK_EQ(len, 4);
    return r < 0 ? r : v;
}

/* ------------------------------------------------------------------ */

static void test_socket(void) {
    CHECK_EQ(sys_socket(12345, SOCK_STREAM, 0), -EAFNOSUPPORT);
    CHECK_EQ(sys_socket(AF_INET, 12345, 0), -EINVAL);
    int s = (int)sys_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    CHECK(s >= 0);
    CHECK_EQ(sys_fcntl(s, F_GETFD, 0), FD_CLOEXEC);
    CHECK(sys_fcntl(s, F_GETFL, 0) & O_NONBLOCK);
    struct stat st;
    CHECK_EQ(sys_fstat(s, &st), 0);
    CHECK_EQ(st.st_mode & S_IFMT, S_IFSOCK);
    CHECK_EQ(getint(s, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
    CHECK_EQ(sys_close(s), 0);
    s = (int)sys_socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(s >= 0);
    CHECK_EQ(sys_fcntl(s, F_GETFD, 0), 0);
    CHECK_EQ(getint(s, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
    CHECK_EQ(sys_close(s), 0);
}

static void test_socketpair(void) {
    int sv[2] = {-1, -1};
    char buf[16];
    CHECK_EQ(sys_socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK(sv[0] >= 0 && sv[1] >= 0 && sv[0] != sv[1]);
    CHECK_EQ(sys_write(sv[0], "ping", 4), 4);
    CHECK_EQ(sys_read(sv[1], buf, sizeof buf), 4);
    CHECK(wmemcmp(buf, "ping", 4) == 0);
    CHECK_EQ(sys_write(sv[1], "pong!", 5), 5);
    CHECK_EQ(sys_read(sv[0], buf, sizeof buf), 5);
    CHECK(wmemcmp(buf, "pong!", 5) == 0);
    /* both ends are connected, unnamed unix sockets */
    u8 a[128];
    u32 len = sizeof a;
    CHECK_EQ(sys_getpeername(sv[0], a, &len), 0);
    CHECK_EQ(len, 2);
    CHECK_EQ(*(u16 *)a, AF_UNIX);
    CHECK_EQ(sys_close(sv[0]), 0);
    CHECK_EQ(sys_close(sv[1]), 0);

    CHECK_EQ(sys_socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    CHECK_EQ(sys_fcntl(sv[0], F_GETFD, 0), FD_CLOEXEC);
    CHECK_EQ(sys_fcntl(sv[1], F_GETFD, 0), FD_CLOEXEC);
    sys_close(sv[0]);
    sys_close(sv[1]);

    /* errors */
    CHECK_EQ(sys_socketpair(AF_INET, SOCK_STREAM, 0, sv), -EOPNOTSUPP);
    CHECK_EQ(sys_socketpair(12345, SOCK_STREAM, 0, sv), -EAFNOSUPPORT);
    CHECK_EQ(sys_socketpair(AF_UNIX, SOCK_STREAM, 0, BADPTR), -EFAULT);
}

static void test_unix(void) {
    struct sockaddr_un a, b;
    u32 alen = unix_addr(&a, "listen.sock");
    int l = (int)sys_socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(l >= 0);
    CHECK_EQ(sys_bind(l, &a, alen), 0);
    struct stat st;
    CHECK_EQ(sys_stat(a.sun_path, &st), 0);
    CHECK_EQ(st.st_mode & S_IFMT, S_IFSOCK);

    /* the same path twice */
    int l2 = (int)sys_socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_EQ(sys_bind(l2, &a, alen), -EADDRINUSE);
    /* binding an already bound socket */
    u32 blen = unix_addr(&b, "other.sock");
    CHECK_EQ(sys_bind(l, &b, blen), -EINVAL);
    /* bad fd, bad address pointer, not a socket */
    CHECK_EQ(sys_bind(9999, &b, blen), -EBADF);
    CHECK_EQ(sys_bind(l2, BADPTR, blen), -EFAULT);
    int p[2];
    CHECK_EQ(sys_pipe(p), 0);
    CHECK_EQ(sys_bind(p[0], &b, blen), -ENOTSOCK);
    CHECK_EQ(sys_listen(p[0], 1), -ENOTSOCK);
    sys_close(p[0]);
    sys_close(p[1]);

    /* getsockname: the bound path, length 2 + strlen + 1 */
    struct sockaddr_un got;
    u32 glen = sizeof got;
    mzero(&got, sizeof got);
    CHECK_EQ(sys_getsockname(l, &got, &glen), 0);
    CHECK_EQ(glen, alen);
    CHECK_EQ(got.sun_family, AF_UNIX);
    CHECK(wstrcmp(got.sun_path, a.sun_path) == 0);

    /* connect to a bound but not listening socket */
    int c = (int)sys_socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_EQ(sys_connect(c, &a, alen), -ECONNREFUSED);
    CHECK_EQ(sys_listen(l, 4), 0);
    /* a nonexistent path */
    CHECK_EQ(sys_connect(c, &b, blen), -ENOENT);
    CHECK_EQ(sys_connect(c, &a, alen), 0);

    /* accept: the client is unnamed, so the address is just the family */
    struct sockaddr_un peer;
    mzero(&peer, sizeof peer);
    u32 plen = sizeof peer;
    int s = (int)sys_accept(l, &peer, &plen);
    CHECK(s >= 0);
    CHECK_EQ(plen, 2);
    CHECK_EQ(peer.sun_family, AF_UNIX);
    /* the client's peer is the listener's path */
    glen = sizeof got;
    mzero(&got, sizeof got);
    CHECK_EQ(sys_getpeername(c, &got, &glen), 0);
    CHECK_EQ(glen, alen);
    CHECK(wstrcmp(got.sun_path, a.sun_path) == 0);

    char buf[8];
    CHECK_EQ(sys_write(c, "unix", 4), 4);
    CHECK_EQ(sys_read(s, buf, sizeof buf), 4);
    CHECK(wmemcmp(buf, "unix", 4) == 0);

    /* a bound client: the server sees its path */
    int c2 = (int)sys_socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_EQ(sys_bind(c2, &b, blen), 0);
    CHECK_EQ(sys_connect(c2, &a, alen), 0);
    plen = sizeof peer;
    mzero(&peer, sizeof peer);
    int s2 = (int)sys_accept4(l, &peer, &plen, SOCK_CLOEXEC);
    CHECK(s2 >= 0);
    CHECK_EQ(plen, blen);
    CHECK(wstrcmp(peer.sun_path, b.sun_path) == 0);
    CHECK_EQ(sys_fcntl(s2, F_GETFD, 0), FD_CLOEXEC);

    sys_close(s2);
    sys_close(c2);
    sys_close(s);
    sys_close(c);
    sys_close(l2);
    sys_close(l);
    CHECK_EQ(sys_unlink(a.sun_path), 0);
    CHECK_EQ(sys_unlink(b.sun_path), 0);
}

static void test_tcp(void) {
    struct sockaddr_in la, ca, pa;
    int l = (int)sys_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(l >= 0);
    int one = 1;
    CHECK_EQ(sys_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    CHECK_EQ(getint(l, SOL_SOCKET, SO_REUSEADDR), 1);
    loop4(&la, 0);
    CHECK_EQ(sys_bind(l, &la, sizeof la), 0);
    u32 len = sizeof la;
    CHECK_EQ(sys_getsockname(l, &la, &len), 0);
    CHECK_EQ(len, sizeof la);
    CHECK_EQ(la.sin_family, AF_INET);
    CHECK_EQ(la.sin_addr, LOOPBACK4);
    CHECK(la.sin_port != 0);
    /* getsockname with a short buffer truncates and reports the full size */
    u8 small[4] = {0xAA, 0xAA, 0xAA, 0xAA};
    len = 2;
    CHECK_EQ(sys_getsockname(l, small, &len), 0);
    CHECK_EQ(len, sizeof la);
    CHECK_EQ(*(u16 *)small, AF_INET);
    CHECK_EQ(small[2], 0xAA);
    CHECK_EQ(sys_getsockname(l, BADPTR, &len), -EFAULT);
    CHECK_EQ(sys_getsockname(9999, &la, &len), -EBADF);

    /* unconnected: no peer */
    len = sizeof pa;
    CHECK_EQ(sys_getpeername(l, &pa, &len), -ENOTCONN);
    /* accept on a socket that is not listening */
    CHECK_EQ(sys_accept(l, NULL, NULL), -EINVAL);
    CHECK_EQ(sys_listen(l, 8), 0);

    /* connect to the listener; accept returns the peer's address */
    int c1 = (int)sys_socket(AF_INET, SOCK_STREAM, 0);
    CHECK_EQ(sys_connect(c1, &la, sizeof la), 0);
    /* connecting again */
    CHECK_EQ(sys_connect(c1, &la, sizeof la), -106 /* EISCONN */);
    len = sizeof ca;
    CHECK_EQ(sys_getsockname(c1, &ca, &len), 0);
    CHECK_EQ(ca.sin_addr, LOOPBACK4);
    u8 pbuf[128];
    for (int i = 0; i < 128; i++) pbuf[i] = 0xEE;
    len = sizeof pbuf;
    int a1 = (int)sys_accept(l, pbuf, &len);
    CHECK(a1 >= 0);
    CHECK_EQ(len, sizeof(struct sockaddr_in));
    mcopy(&pa, pbuf, sizeof pa);
    CHECK_EQ(pa.sin_family, AF_INET);
    CHECK_EQ(pa.sin_addr, LOOPBACK4);
    CHECK_EQ(pa.sin_port, ca.sin_port);
    CHECK_EQ(pbuf[16], 0xEE); /* nothing written past addrlen */
    CHECK_EQ(sys_fcntl(a1, F_GETFD, 0), 0);
    CHECK_EQ(sys_fcntl(a1, F_GETFL, 0) & O_NONBLOCK, 0);
    /* both sides' peers */
    len = sizeof pa;
    CHECK_EQ(sys_getpeername(c1, &pa, &len), 0);
    CHECK_EQ(len, sizeof pa);
    CHECK_EQ(pa.sin_port, la.sin_port);
    CHECK_EQ(pa.sin_addr, LOOPBACK4);
    len = sizeof pa;
    CHECK_EQ(sys_getpeername(a1, &pa, &len), 0);
    CHECK_EQ(pa.sin_port, ca.sin_port);
    CHECK_EQ(sys_getpeername(a1, BADPTR, &len), -EFAULT);

    /* accept4 with flags and a NULL address */
    int c2 = (int)sys_socket(AF_INET, SOCK_STREAM, 0);
    CHECK_EQ(sys_connect(c2, &la, sizeof la), 0);
    int a2 = (int)sys_accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    CHECK(a2 >= 0);
    CHECK_EQ(sys_fcntl(a2, F_GETFD, 0), FD_CLOEXEC);
    CHECK(sys_fcntl(a2, F_GETFL, 0) & O_NONBLOCK);
    char buf[32];
    CHECK_EQ(sys_read(a2, buf, sizeof buf), -EAGAIN);
    CHECK_EQ(sys_write(c2, "xyz", 3), 3);
    CHECK_EQ(sys_read(a2, buf, sizeof buf), 3);
    CHECK(wmemcmp(buf, "xyz", 3) == 0);

    /* accept4 with an address and only SOCK_NONBLOCK */
    int c3 = (int)sys_socket(AF_INET, SOCK_STREAM, 0);
    CHECK_EQ(sys_connect(c3, &la, sizeof la), 0);
    len = sizeof pa;
    mzero(&pa, sizeof pa);
    int a3 = (int)sys_accept4(l, &pa, &len, SOCK_NONBLOCK);
    CHECK(a3 >= 0);
    CHECK_EQ(len, sizeof pa);
    CHECK_EQ(pa.sin_addr, LOOPBACK4);
    CHECK_EQ(sys_fcntl(a3, F_GETFD, 0), 0);
    CHECK(sys_fcntl(a3, F_GETFL, 0) & O_NONBLOCK);
    /* bad flags */
    CHECK_EQ(sys_accept4(l, NULL, NULL, 0x1), -EINVAL);
    /* nothing pending on a non-blocking listener */
    CHECK_EQ(sys_fcntl(l, F_SETFL, O_NONBLOCK), 0);
    CHECK_EQ(sys_accept(l, NULL, NULL), -EAGAIN);
    CHECK_EQ(sys_accept4(l, NULL, NULL, SOCK_CLOEXEC), -EAGAIN);
    CHECK_EQ(sys_accept(9999, NULL, NULL), -EBADF);
    /* a bad addrlen pointer (with a connection pending, so Linux gets as
     * far as writing the address back) */
    int c4 = (int)sys_socket(AF_INET, SOCK_STREAM, 0);
    CHECK_EQ(sys_connect(c4, &la, sizeof la), 0);
    CHECK_EQ(sys_accept(l, &pa, BADPTR), -EFAULT);
    sys_close(c4);

    /* data both ways, then shutdown(SHUT_WR): the peer reads EOF */
    CHECK_EQ(sys_write(c1, "hello", 5), 5);
    CHECK_EQ(sys_read(a1, buf, sizeof buf), 5);
    CHECK(wmemcmp(buf, "hello", 5) == 0);
    CHECK_EQ(sys_shutdown(c1, SHUT_WR), 0);
    CHECK_EQ(sys_read(a1, buf, sizeof buf), 0);
    CHECK_EQ(sys_sendto(c1, "x", 1, MSG_NOSIGNAL, NULL, 0), -EPIPE);
    /* the other direction still works */
    CHECK_EQ(sys_write(a1, "back", 4), 4);
    CHECK_EQ(sys_read(c1, buf, sizeof buf), 4);
    CHECK(wmemcmp(buf, "back", 4) == 0);
    CHECK_EQ(sys_shutdown(a1, SHUT_RDWR), 0);
    CHECK_EQ(sys_read(c1, buf, sizeof buf), 0);
    CHECK_EQ(sys_shutdown(c1, 99), -EINVAL);
    int un = (int)sys_socket(AF_INET, SOCK_STREAM, 0);
    CHECK_EQ(sys_shutdown(un, SHUT_WR), -ENOTCONN);
    CHECK_EQ(sys_shutdown(9999, SHUT_WR), -EBADF);

    /* connect to a port nobody listens on: a socket bound to 127.0.0.1:N
     * without listen() keeps N ours and answers SYNs with a reset */
    struct sockaddr_in closed;
    int holder = bound4(SOCK_STREAM, &closed);
    CHECK_EQ(sys_connect(un, &closed, sizeof closed), -ECONNREFUSED);
    int un2 = (int)sys_socket(AF_INET, SOCK_STREAM, 0);
    CHECK_EQ(sys_connect(un2, BADPTR, sizeof closed), -EFAULT);
    CHECK_EQ(sys_connect(un2, &closed, 4), -EINVAL);
    CHECK_EQ(sys_connect(9999, &closed, sizeof closed), -EBADF);
    struct sockaddr_un ua;
    u32 ualen = unix_addr(&ua, "nothing");
    CHECK_EQ(sys_connect(un2, &ua, ualen), -EAFNOSUPPORT);

    sys_close(holder);
    sys_close(un2);
    sys_close(un);
    sys_close(a3);
    sys_close(c3);
    sys_close(a2);
    sys_close(c2);
    sys_close(a1);
    sys_close(c1);
    sys_close(l);
}

static void test_ipv6(void) {
    int l = (int)sys_socket(AF_INET6, SOCK_STREAM, 0);
    if (l == -EAFNOSUPPORT) return; /* no IPv6 in this kernel */
    CHECK(l >= 0);
    struct sockaddr_in6 a;
    mzero(&a, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr[15] = 1; /* ::1 */
    i64 r = sys_bind(l, &a, sizeof a);
    if (r == -EADDRNOTAVAIL) { /* IPv6 disabled on lo */
        sys_close(l);
        return;
    }
    CHECK_EQ(r, 0);
    u32 len = sizeof a;
    CHECK_EQ(sys_getsockname(l, &a, &len), 0);
    CHECK_EQ(len, 28);
    CHECK_EQ(a.sin6_family, AF_INET6);
    CHECK(a.sin6_port != 0);
    CHECK_EQ(a.sin6_addr[15], 1);
    CHECK_EQ(sys_bind(l, &a, 8), -EINVAL); /* short address */
    CHECK_EQ(sys_listen(l, 2), 0);
    int c = (int)sys_socket(AF_INET6, SOCK_STREAM, 0);
    CHECK_EQ(sys_connect(c, &a, sizeof a), 0);
    struct sockaddr_in6 p, ca;
    len = sizeof ca;
    CHECK_EQ(sys_getsockname(c, &ca, &len), 0);
    mzero(&p, sizeof p);
    len = sizeof p;
    int s = (int)sys_accept4(l, &p, &len, SOCK_CLOEXEC);
    CHECK(s >= 0);
    CHECK_EQ(len, 28);
    CHECK_EQ(p.sin6_family, AF_INET6);
    CHECK_EQ(p.sin6_port, ca.sin6_port);
    CHECK_EQ(p.sin6_addr[15], 1);
    CHECK_EQ(p.sin6_addr[0], 0);
    char buf[8];
    CHECK_EQ(sys_write(s, "six", 3), 3);
    CHECK_EQ(sys_read(c, buf, sizeof buf), 3);
    CHECK(wmemcmp(buf, "six", 3) == 0);
    sys_close(s);
    sys_close(c);
    sys_close(l);
}

static void test_udp(void) {
    struct sockaddr_in a1, a2, src;
    int u1 = bound4(SOCK_DGRAM, &a1);
    int u2 = bound4(SOCK_DGRAM, &a2);
    char buf[64];
    CHECK_EQ(sys_sendto(u2, "hello", 5, 0, &a1, sizeof a1), 5);
    u8 sbuf[128];
    for (int i = 0; i < 128; i++) sbuf[i] = 0xEE;
    u32 slen = sizeof sbuf;
    CHECK_EQ(sys_recvfrom(u1, buf, sizeof buf, 0, sbuf, &slen), 5);
    CHECK(wmemcmp(buf, "hello", 5) == 0);
    CHECK_EQ(slen, sizeof(struct sockaddr_in));
    mcopy(&src, sbuf, sizeof src);
    CHECK_EQ(src.sin_family, AF_INET);
    CHECK_EQ(src.sin_port, a2.sin_port);
    CHECK_EQ(src.sin_addr, LOOPBACK4);
    CHECK_EQ(sbuf[16], 0xEE);

    /* NULL source address */
    CHECK_EQ(sys_sendto(u1, "abc", 3, 0, &a2, sizeof a2), 3);
    CHECK_EQ(sys_recvfrom(u2, buf, sizeof buf, 0, NULL, NULL), 3);
    CHECK(wmemcmp(buf, "abc", 3) == 0);

    /* a datagram into a too-small buffer is truncated; MSG_TRUNC gives
     * the real length */
    CHECK_EQ(sys_sendto(u2, "0123456789", 10, 0, &a1, sizeof a1), 10);
    CHECK_EQ(sys_recvfrom(u1, buf, 4, 0, NULL, NULL), 4);
    CHECK(wmemcmp(buf, "0123", 4) == 0);
    CHECK_EQ(sys_sendto(u2, "0123456789", 10, 0, &a1, sizeof a1), 10);
    CHECK_EQ(sys_recvfrom(u1, buf, 4, MSG_TRUNC, NULL, NULL), 10);

    /* empty queue, MSG_DONTWAIT */
    CHECK_EQ(sys_recvfrom(u1, buf, sizeof buf, MSG_DONTWAIT, NULL, NULL), -EAGAIN);
    /* no destination on an unconnected socket */
    CHECK_EQ(sys_sendto(u1, "x", 1, 0, NULL, 0), -EDESTADDRREQ);
    /* bad buffer, bad address */
    CHECK_EQ(sys_sendto(u1, BADPTR, 32, 0, &a2, sizeof a2), -EFAULT);
    CHECK_EQ(sys_sendto(u1, "x", 1, 0, BADPTR, sizeof a2), -EFAULT);
    CHECK_EQ(sys_sendto(9999, "x", 1, 0, &a2, sizeof a2), -EBADF);
    CHECK_EQ(sys_recvfrom(9999, buf, 1, 0, NULL, NULL), -EBADF);

    /* connected UDP: plain send/recv without addresses */
    CHECK_EQ(sys_connect(u1, &a2, sizeof a2), 0);
    CHECK_EQ(sys_sendto(u1, "conn", 4, 0, NULL, 0), 4);
    slen = sizeof src;
    CHECK_EQ(sys_recvfrom(u2, buf, sizeof buf, 0, &src, &slen), 4);
    CHECK_EQ(src.sin_port, a1.sin_port);
    struct sockaddr_in pa;
    slen = sizeof pa;
    CHECK_EQ(sys_getpeername(u1, &pa, &slen), 0);
    CHECK_EQ(pa.sin_port, a2.sin_port);
    CHECK_EQ(getint(u1, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);

    sys_close(u1);
    sys_close(u2);
}

static void test_msg(void) {
    struct sockaddr_in a1, a2;
    int u1 = bound4(SOCK_DGRAM, &a1);
    int u2 = bound4(SOCK_DGRAM, &a2);
    CHECK_EQ(sizeof(struct msghdr), 36);
    CHECK_EQ(sizeof(struct cmsghdr), 16);

    /* gather: two iovecs into one datagram */
    struct iovec siov[2] = {{"abc", 3}, {"defgh", 5}};
    struct msghdr m;
    mzero(&m, sizeof m);
    m.msg_name = &a1;
    m.msg_namelen = sizeof a1;
    m.msg_iov = siov;
    m.msg_iovlen = 2;
    CHECK_EQ(sys_sendmsg(u2, &m, 0), 8);

    /* scatter: 4 + 10 bytes of buffers */
    char b1[4], b2[10];
    for (int i = 0; i < 10; i++) b2[i] = '.';
    struct iovec riov[2] = {{b1, sizeof b1}, {b2, sizeof b2}};
    u8 name[128];
    for (int i = 0; i < 128; i++) name[i] = 0xEE;
    _Alignas(8) u8 ctl[64];
    mzero(ctl, sizeof ctl);
    mzero(&m, sizeof m);
    m.msg_name = name;
    m.msg_namelen = sizeof name;
    m.msg_iov = riov;
    m.msg_iovlen = 2;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    m.msg_flags = 0x7777; /* input ignored, overwritten */
    CHECK_EQ(sys_recvmsg(u1, &m, 0), 8);
    CHECK(wmemcmp(b1, "abcd", 4) == 0);
    CHECK(wmemcmp(b2, "efgh..", 6) == 0);
    CHECK_EQ(m.msg_namelen, sizeof(struct sockaddr_in));
    struct sockaddr_in src;
    mcopy(&src, name, sizeof src);
    CHECK_EQ(src.sin_family, AF_INET);
    CHECK_EQ(src.sin_port, a2.sin_port);
    CHECK_EQ(src.sin_addr, LOOPBACK4);
    CHECK_EQ(name[16], 0xEE);
    CHECK_EQ(m.msg_controllen, 0); /* no control messages */
    CHECK_EQ(m.msg_flags, 0);
    CHECK(m.msg_iov == riov && m.msg_iovlen == 2 && m.msg_name == name);

    /* a datagram into a too-small buffer: MSG_TRUNC in msg_flags */
    CHECK_EQ(sys_sendto(u2, "0123456789", 10, 0, &a1, sizeof a1), 10);
    struct iovec one = {b1, sizeof b1};
    mzero(&m, sizeof m);
    m.msg_iov = &one;
    m.msg_iovlen = 1;
    CHECK_EQ(sys_recvmsg(u1, &m, 0), 4);
    CHECK(wmemcmp(b1, "0123", 4) == 0);
    CHECK_EQ(m.msg_flags, MSG_TRUNC);
    CHECK_EQ(m.msg_namelen, 0);
    CHECK_EQ(m.msg_controllen, 0);

    /* a stream socketpair: sendmsg/recvmsg with two iovecs each way */
    int sv[2];
    CHECK_EQ(sys_socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct iovec s2[2] = {{"12", 2}, {"345", 3}};
    mzero(&m, sizeof m);
    m.msg_iov = s2;
    m.msg_iovlen = 2;
    CHECK_EQ(sys_sendmsg(sv[0], &m, 0), 5);
    char c1[3], c2[8];
    struct iovec r2[2] = {{c1, 3}, {c2, 8}};
    mzero(&m, sizeof m);
    m.msg_iov = r2;
    m.msg_iovlen = 2;
    m.msg_name = name;
    m.msg_namelen = sizeof name;
    CHECK_EQ(sys_recvmsg(sv[1], &m, 0), 5);
    CHECK(wmemcmp(c1, "123", 3) == 0);
    CHECK(wmemcmp(c2, "45", 2) == 0);
    CHECK_EQ(m.msg_namelen, 0); /* unnamed peer */
    CHECK_EQ(m.msg_flags, 0);
    /* MSG_DONTWAIT on an empty stream */
    CHECK_EQ(sys_recvmsg(sv[1], &m, MSG_DONTWAIT), -EAGAIN);

    /* errors */
    mzero(&m, sizeof m);
    struct iovec bad = {BADPTR, 8};
    m.msg_iov = &bad;
    m.msg_iovlen = 1;
    CHECK_EQ(sys_sendmsg(sv[0], &m, 0), -EFAULT);
    m.msg_iov = s2;
    m.msg_iovlen = 2;
    CHECK_EQ(sys_sendmsg(9999, &m, 0), -EBADF);
    CHECK_EQ(sys_recvmsg(9999, &m, 0), -EBADF);
    CHECK_EQ(sys_sendmsg(sv[0], BADPTR, 0), -EFAULT);
    CHECK_EQ(sys_recvmsg(sv[1], BADPTR, 0), -EFAULT);
    m.msg_iovlen = 1025; /* > UIO_MAXIOV */
    CHECK_EQ(sys_sendmsg(sv[0], &m, 0), -EMSGSIZE);

    sys_close(sv[0]);
    sys_close(sv[1]);
    sys_close(u1);
    sys_close(u2);
}

/* Sends `fd` over `s` with SCM_RIGHTS (one data byte). */
static void send_fd(int s, int fd) {
    _Alignas(8) u8 ctl[24]; /* CMSG_SPACE(sizeof(int)) */
    mzero(ctl, sizeof ctl);
    struct cmsghdr *h = (struct cmsghdr *)ctl;
    h->cmsg_len = 16 + 4; /* CMSG_LEN(sizeof(int)) */
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    mcopy(ctl + 16, &fd, 4);
    struct iovec iov = {"F", 1};
    struct msghdr m;
    mzero(&m, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    CHECK_EQ(sys_sendmsg(s, &m, 0), 1);
}

static void test_scm_rights(void) {
    int sv[2], p[2];
    CHECK_EQ(sys_socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK_EQ(sys_pipe(p), 0);

    send_fd(sv[0], p[1]);
    char c = 0;
    struct iovec iov = {&c, 1};
    _Alignas(8) u8 ctl[64];
    for (int i = 0; i < 64; i++) ctl[i] = 0xEE;
    struct msghdr m;
    mzero(&m, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    m.msg_flags = -1;
    CHECK_EQ(sys_recvmsg(sv[1], &m, 0), 1);
    CHECK_EQ(c, 'F');
    CHECK_EQ(m.msg_flags, 0);
    CHECK_EQ(m.msg_controllen, 24); /* CMSG_SPACE(sizeof(int)) */
    struct cmsghdr *h = (struct cmsghdr *)ctl;
    CHECK_EQ(h->cmsg_len, 20);
    CHECK_EQ(h->__pad, 0); /* the upper half of the native size_t length */
    CHECK_EQ(h->cmsg_level, SOL_SOCKET);
    CHECK_EQ(h->cmsg_type, SCM_RIGHTS);
    int nfd;
    mcopy(&nfd, ctl + 16, 4);
    CHECK(nfd >= 0);
    CHECK(nfd != p[1] && nfd != p[0] && nfd != sv[0] && nfd != sv[1]);
    CHECK_EQ(sys_fcntl(nfd, F_GETFD, 0), 0);
    /* the received fd is the pipe's write end */
    char buf[16];
    CHECK_EQ(sys_write(nfd, "through", 7), 7);
    CHECK_EQ(sys_read(p[0], buf, sizeof buf), 7);
    CHECK(wmemcmp(buf, "through", 7) == 0);
    sys_close(nfd);

    /* MSG_CMSG_CLOEXEC */
    send_fd(sv[1], p[1]);
    mzero(ctl, sizeof ctl);
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    CHECK_EQ(sys_recvmsg(sv[0], &m, MSG_CMSG_CLOEXEC), 1);
    CHECK_EQ(m.msg_controllen, 24);
    mcopy(&nfd, ctl + 16, 4);
    CHECK(nfd >= 0);
    CHECK_EQ(sys_fcntl(nfd, F_GETFD, 0), FD_CLOEXEC);
    CHECK_EQ(sys_write(nfd, "again", 5), 5);
    CHECK_EQ(sys_read(p[0], buf, sizeof buf), 5);
    CHECK(wmemcmp(buf, "again", 5) == 0);
    sys_close(nfd);

    /* a control buffer too small for the fd: MSG_CTRUNC */
    send_fd(sv[0], p[1]);
    mzero(ctl, sizeof ctl);
    m.msg_control = ctl;
    m.msg_controllen = 16;
    m.msg_flags = 0;
    CHECK_EQ(sys_recvmsg(sv[1], &m, 0), 1);
    CHECK(m.msg_flags & MSG_CTRUNC);

    /* SCM_RIGHTS with a bad fd */
    _Alignas(8) u8 bctl[24];
    mzero(bctl, sizeof bctl);
    h = (struct cmsghdr *)bctl;
    h->cmsg_len = 20;
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    int badfd = 9999;
    mcopy(bctl + 16, &badfd, 4);
    struct iovec siov = {"F", 1};
    mzero(&m, sizeof m);
    m.msg_iov = &siov;
    m.msg_iovlen = 1;
    m.msg_control = bctl;
    m.msg_controllen = sizeof bctl;
    CHECK_EQ(sys_sendmsg(sv[0], &m, 0), -EBADF);
    /* a cmsg_len larger than the buffer */
    h->cmsg_len = 200;
    mcopy(bctl + 16, &p[0], 4);
    CHECK_EQ(sys_sendmsg(sv[0], &m, 0), -EINVAL);
    /* a control buffer outside memory */
    m.msg_control = BADPTR;
    CHECK_EQ(sys_sendmsg(sv[0], &m, 0), -EFAULT);

    sys_close(p[0]);
    sys_close(p[1]);
    sys_close(sv[0]);
    sys_close(sv[1]);
}

static void test_sockopt(void) {
    int s = (int)sys_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(s >= 0);
    int v;
    u32 len;

    /* SO_REUSEADDR: off, on, off */
    CHECK_EQ(getint(s, SOL_SOCKET, SO_REUSEADDR), 0);
    v = 1;
    CHECK_EQ(sys_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v), 0);
    CHECK_EQ(getint(s, SOL_SOCKET, SO_REUSEADDR), 1);
    v = 0;
    CHECK_EQ(sys_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v), 0);
    CHECK_EQ(getint(s, SOL_SOCKET, SO_REUSEADDR), 0);

    /* SO_RCVBUF: the kernel doubles the value it is given */
    v = 8192;
    CHECK_EQ(sys_setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v), 0);
    CHECK_EQ(getint(s, SOL_SOCKET, SO_RCVBUF), 16384);
    v = 16384;
    CHECK_EQ(sys_setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v), 0);
    CHECK_EQ(getint(s, SOL_SOCKET, SO_SNDBUF), 32768);

    /* SO_TYPE, SO_ERROR; optlen is updated to the real size */
    u8 big[16];
    for (int i = 0; i < 16; i++) big[i] = 0xEE;
    len = sizeof big;
    CHECK_EQ(sys_getsockopt(s, SOL_SOCKET, SO_TYPE, big, &len), 0);
    CHECK_EQ(len, 4);
    CHECK_EQ(*(int *)big, SOCK_STREAM);
    CHECK_EQ(big[4], 0xEE);
    /* a short optlen truncates */
    len = 1;
    big[0] = 0xEE;
    CHECK_EQ(sys_getsockopt(s, SOL_SOCKET, SO_TYPE, big, &len), 0);
    CHECK_EQ(len, 1);
    CHECK_EQ(big[0], SOCK_STREAM);
    CHECK_EQ(getint(s, SOL_SOCKET, SO_ERROR), 0);
    /* TCP level */
    v = 1;
    CHECK_EQ(sys_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v), 0);
    CHECK_EQ(getint(s, IPPROTO_TCP, TCP_NODELAY), 1);

    /* bad names and levels: what Linux returns */
    v = 1;
    len = sizeof v;
    CHECK_EQ(sys_getsockopt(s, SOL_SOCKET, 12345, &v, &len), -ENOPROTOOPT);
    CHECK_EQ(sys_setsockopt(s, SOL_SOCKET, 12345, &v, sizeof v), -ENOPROTOOPT);
    CHECK_EQ(sys_setsockopt(s, 12345, 1, &v, sizeof v), -ENOPROTOOPT);
    len = sizeof v;
    CHECK_EQ(sys_getsockopt(s, 12345, 1, &v, &len), -EOPNOTSUPP); /* ip_getsockopt */
    /* short option value */
    CHECK_EQ(sys_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 2), -EINVAL);
    /* negative optlen */
    len = (u32)-1;
    CHECK_EQ(sys_getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len), -EINVAL);
    /* bad pointers */
    CHECK_EQ(sys_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, BADPTR, 4), -EFAULT);
    len = sizeof v;
    CHECK_EQ(sys_getsockopt(s, SOL_SOCKET, SO_TYPE, BADPTR, &len), -EFAULT);
    CHECK_EQ(sys_getsockopt(s, SOL_SOCKET, SO_TYPE, &v, BADPTR), -EFAULT);
    /* bad fd, not a socket */
    len = sizeof v;
    CHECK_EQ(sys_getsockopt(9999, SOL_SOCKET, SO_TYPE, &v, &len), -EBADF);
    CHECK_EQ(sys_setsockopt(9999, SOL_SOCKET, SO_REUSEADDR, &v, 4), -EBADF);
    int p[2];
    CHECK_EQ(sys_pipe(p), 0);
    len = sizeof v;
    CHECK_EQ(sys_getsockopt(p[0], SOL_SOCKET, SO_TYPE, &v, &len), -ENOTSOCK);
    CHECK_EQ(sys_setsockopt(p[0], SOL_SOCKET, SO_REUSEADDR, &v, 4), -ENOTSOCK);
    sys_close(p[0]);
    sys_close(p[1]);
    sys_close(s);

    /* a unix socket: SO_TYPE, a bad level */
    s = (int)sys_socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_EQ(getint(s, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
    CHECK_EQ(sys_setsockopt(s, 12345, 1, &v, sizeof v), -EOPNOTSUPP);
    sys_close(s);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        puts_fd(2, "usage: net.wasm <scratch dir>\n");
        return 2;
    }
    scratch = argv[1];
    test_socket();
    test_socketpair();
    test_unix();
    test_tcp();
    test_ipv6();
    test_udp();
    test_msg();
    test_scm_rights();
    test_sockopt();
    return 0;
}
