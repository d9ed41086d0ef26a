/* Resource abuse: clean errors, no host crash.
 *   abuse.wasm fds     opens descriptors until EMFILE (under a lowered limit)
 *   abuse.wasm maps    maps memory until ENOMEM, then unmaps it all
 *   abuse.wasm grow    memory.grow past the 2 GiB maximum returns -1 */
#include "wali.h"

#define EMFILE 24
#define RLIMIT_NOFILE 7

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (!wstrcmp(argv[1], "fds")) {
        struct rlimit rl = {64, 64};
        CHECK_EQ(sys_setrlimit(RLIMIT_NOFILE, &rl), 0);
        i64 r;
        int n = 0;
        while ((r = sys_open("/dev/null", O_RDONLY, 0)) >= 0) n++;
        CHECK_EQ(r, -EMFILE);
        CHECK(n > 10 && n < 64);
        CHECK_EQ(sys_close(3), 0);
        CHECK_EQ(sys_open("/dev/null", O_RDONLY, 0), 3);
        return 0;
    }
    if (!wstrcmp(argv[1], "fds-under")) {
        /* under wali-run --max-fds 16: EMFILE after at most 13 more */
        struct rlimit rl = {64, 64};
        CHECK(sys_setrlimit(RLIMIT_NOFILE, &rl) < 0); /* cannot raise it */
        i64 r;
        int n = 0;
        while ((r = sys_open("/dev/null", O_RDONLY, 0)) >= 0) n++;
        CHECK_EQ(r, -EMFILE);
        CHECK(n > 0 && n <= 13);
        return 0;
    }
    if (!wstrcmp(argv[1], "maps")) {
        static i64 got[64];
        int n = 0;
        i64 a;
        while (n < 64 && (a = sys_mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) > 0) got[n++] = a;
        CHECK_EQ(a, -ENOMEM);
        CHECK(n >= 20 && n < 32); /* 2 GiB of linear memory at most */
        for (int i = 0; i < n; i++) CHECK_EQ(sys_munmap((void *)(long)got[i], 64 << 20), 0);
        /* and the space is usable again */
        a = sys_mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(a > 0);
        ((char *)(long)a)[(64 << 20) - 1] = 1;
        return 0;
    }
    if (!wstrcmp(argv[1], "grow")) {
        CHECK_EQ((int)__builtin_wasm_memory_grow(0, 40000), -1);
        CHECK((int)__builtin_wasm_memory_grow(0, 1) > 0);
        return 0;
    }
    return 2;
}
