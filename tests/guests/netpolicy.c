/* Network policy, as wali-run's --deny-net / --allow-net set it.
 *   netpolicy.wasm deny         internet sockets refused (EACCES), AF_UNIX fine
 *   netpolicy.wasm allow PORT   only 127.0.0.1:PORT may be bound / connected */
#include "wali.h"

static int atoi_(const char *s) { int v = 0; while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0'); return v; }

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (!wstrcmp(argv[1], "deny")) {
        CHECK_EQ(sys_socket(AF_INET, SOCK_STREAM, 0), -EACCES);
        CHECK_EQ(sys_socket(AF_INET6, SOCK_DGRAM, 0), -EACCES);
        int sv[2];
        CHECK_EQ(sys_socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        CHECK(sys_socket(AF_UNIX, SOCK_DGRAM, 0) >= 0);
        return 0;
    }
    if (argc < 3) return 2;
    int port = atoi_(argv[2]);
    int s = (int)sys_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(s >= 0);
    struct sockaddr_in a = {AF_INET, htons((u16)(port + 1)), 0x0100007f, {0}};
    CHECK_EQ(sys_bind(s, &a, sizeof a), -EACCES);
    a.sin_port = htons((u16)port);
    CHECK_EQ(sys_bind(s, &a, sizeof a), 0);
    CHECK_EQ(sys_listen(s, 1), 0);
    int c = (int)sys_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in other = {AF_INET, htons((u16)port), 0x0200007f, {0}};
    CHECK_EQ(sys_connect(c, &other, sizeof other), -EACCES);
    CHECK_EQ(sys_connect(c, &a, sizeof a), 0);
    CHECK_EQ(sys_sendto(c, "x", 1, 0, &other, sizeof other), -EACCES);
    return 0;
}
