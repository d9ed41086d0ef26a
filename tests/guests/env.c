/* The initial environment, as the WALI crt reads it: __get_init_envfile
 * names a file of KEY=VALUE lines.
 *   env.wasm print          writes the file's content to stdout
 *   env.wasm none           checks that no environment is designated
 *   env.wasm expect K=V...  checks that each K=V is a line of the file
 *                           (and that no !K=V is) */
#include "wali.h"

static char content[65536];

static i64 load(void) {
    char path[1024];
    int has = __get_init_envfile(path, sizeof path);
    if (!has) return -1;
    CHECK_EQ(__get_init_envfile(path, 2), 0); /* does not fit: none */
    int fd = (int)sys_open(path, O_RDONLY, 0);
    CHECK(fd >= 0);
    if (fd < 0) return -1;
    i64 n = 0, r;
    while ((r = sys_read(fd, content + n, sizeof content - 1 - n)) > 0) n += r;
    content[n] = 0;
    sys_close(fd);
    return n;
}

static int has_line(const char *want) {
    size_t w = wstrlen(want);
    const char *p = content;
    while (*p) {
        const char *e = p;
        while (*e && *e != '\n') e++;
        if ((size_t)(e - p) == w && !wmemcmp(p, want, w)) return 1;
        p = *e ? e + 1 : e;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    i64 n = load();
    if (!wstrcmp(argv[1], "none")) {
        CHECK_EQ(n, -1);
        return 0;
    }
    if (n < 0) return 3;
    if (!wstrcmp(argv[1], "print")) {
        sys_write(1, content, n);
        return 0;
    }
    for (int i = 2; i < argc; i++) {
        if (argv[i][0] == '!') { /* "!K=V": must not be there */
            if (has_line(argv[i] + 1)) return 5;
            continue;
        }
        if (!has_line(argv[i])) {
            puts_fd(2, "missing: ");
            puts_fd(2, argv[i]);
            puts_fd(2, "\n");
            return 4;
        }
    }
    return 0;
}
