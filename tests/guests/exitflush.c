/* A guest whose output sits in a stdio-like buffer until exit() flushes it,
 * and whose main returns instead of calling exit(): the WALI crt's _start
 * then calls __proc_exit, so only the exit-on-return transform (which makes
 * _start call this module's `exit`) gets the output written. */
#include "wali.h"

static char buf[256];
static size_t used;
static void out(const char *s) {
    while (*s && used < sizeof buf) buf[used++] = *s++;
}

/* The C library's exit(): run the "atexit" work (flush), then end. */
__attribute__((noinline)) void exit(int code) {
    sys_write(1, buf, used);
    used = 0;
    sys_exit_group(code);
    __builtin_unreachable();
}

static volatile int never;

int main(int argc, char **argv) {
    if (never) exit(99); /* keeps exit() in the module */
    out("buffered until exit\n");
    return argc > 1 ? 3 : 0;
}
