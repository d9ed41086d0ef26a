/* Static data: the initialized data, read-only data and .bss a program
 * starts with, whichever way the runtime gives them (copied in by the
 * module's start function, or mapped copy-on-write from an image of the
 * compiled module); written, inherited by a forked child as a copy.
 * With the argument "image" it also checks that the engine mapped them
 * from an image (wasmtime's is a memfd named "wasm-memory-image", or the
 * cached .cwasm file itself), as /proc/self/maps shows. */
#include "wali.h"

WALI(SYS_waitid) i64 sys_waitid(int idtype, int id, void *info, int options, void *ru);

static int counter = 41;
static const char greeting[] = "static data survives";
/* .data across several pages, .bss after it */
static int table[5000] = {1, 2, 3, [2048] = 5, [4999] = 7};
static char zeros[3 * 65536];
/* read and written through these, so the compiler keeps the arrays whole */
static volatile int *const vtable = table;
static volatile char *const vzeros = zeros;

static int contains(const char *line, int n, const char *word) {
    int w = wstrlen(word);
    for (int i = 0; i + w <= n; i++) {
        int j = 0;
        while (j < w && line[i + j] == word[j]) j++;
        if (j == w) return 1;
    }
    return 0;
}

/* Whether a line of /proc/self/maps is a private writable mapping of an
 * engine's memory image. */
static int mapped_from_image(void) {
    static char buf[1 << 16];
    int fd = (int)sys_openat(AT_FDCWD, "/proc/self/maps", O_RDONLY, 0);
    if (fd < 0) return 0;
    i64 n = 0, r;
    while (n < (i64)sizeof buf && (r = sys_read(fd, buf + n, sizeof buf - n)) > 0) n += r;
    sys_close(fd);
    int found = 0;
    for (i64 s = 0; s < n && !found;) {
        i64 e = s;
        while (e < n && buf[e] != '\n') e++;
        const char *l = buf + s;
        int len = (int)(e - s);
        found = contains(l, len, "rw-p") &&
                (contains(l, len, "wasm-memory-image") || contains(l, len, ".cwasm"));
        s = e + 1;
    }
    return found;
}

int main(int argc, char **argv) {
    CHECK_EQ(counter, 41);
    CHECK_EQ(wstrlen(greeting), 20);
    CHECK_EQ(greeting[0], 's');
    CHECK_EQ(greeting[19], 's');
    CHECK_EQ(vtable[0] + vtable[1] + vtable[2], 6);
    CHECK_EQ(vtable[2048], 5);
    CHECK_EQ(vtable[4999], 7);
    CHECK_EQ(vtable[4998], 0);
    int nonzero = 0;
    for (unsigned i = 0; i < sizeof zeros; i += 512) nonzero += vzeros[i] != 0;
    CHECK_EQ(nonzero, 0);
    /* the data is the process's own to write */
    counter++;
    vtable[2048] = 50;
    vzeros[65536] = 1;
    CHECK_EQ(counter, 42);
    CHECK_EQ(vtable[2048], 50);
    /* a forked child writes its copy; the parent's stays */
    i64 pid = sys_fork();
    if (pid == 0) {
        counter = 100;
        vtable[4999] = 70;
        sys_exit_group(counter == 100 && vtable[2048] == 50 && vzeros[65536] == 1 ? 3 : 4);
    }
    u8 si[128] = {0};
    CHECK_EQ(sys_waitid(1 /* P_PID */, (int)pid, si, 4 /* WEXITED */, NULL), 0);
    CHECK_EQ(*(int *)(si + 24), 3); /* si_status */
    CHECK_EQ(counter, 42);
    CHECK_EQ(vtable[4999], 7);
    if (argc > 1 && argv[1][0] == 'i') CHECK(mapped_from_image());
    if (checks_failed == 0) puts_fd(1, "data ok\n");
    return 0;
}
