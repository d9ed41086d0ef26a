/* cat-like file copy through a 64 KiB buffer: copy.wasm SRC DST */
#include "wali.h"

static char buf[64 << 10];

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int in = (int)sys_open(argv[1], O_RDONLY, 0);
    int out = (int)sys_open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0) return 3;
    i64 n;
    while ((n = sys_read(in, buf, sizeof buf)) > 0) {
        for (i64 done = 0; done < n;) {
            i64 w = sys_write(out, buf + done, (size_t)(n - done));
            if (w <= 0) return 4;
            done += w;
        }
    }
    return n < 0 ? 5 : 0;
}
