/* The demo guest: greets its arguments and reports its pid and cwd. */
#include "wali.h"

int main(int argc, char **argv) {
    puts_fd(1, "Hello from a WALI guest!\n");
    for (int i = 1; i < argc; i++) {
        puts_fd(1, "  argv[");
        put_i64(1, i);
        puts_fd(1, "] = ");
        puts_fd(1, argv[i]);
        puts_fd(1, "\n");
    }
    char cwd[256];
    if (sys_getcwd(cwd, sizeof cwd) > 0) {
        puts_fd(1, "  cwd: ");
        puts_fd(1, cwd);
        puts_fd(1, "\n");
    }
    puts_fd(1, "  pid: ");
    put_i64(1, sys_getpid());
    puts_fd(1, "\n");
    return 0;
}
