/* The main thread's C stack (the part of the stack C code keeps in linear
 * memory). Built as the WALI toolchain builds programs: the linker's
 * default 64 KiB stack, placed after the data, so that an overflow runs
 * into the data below it unless the runtime stops it.
 *   stack.wasm deep N    recursion N frames deep, each with a 256-byte
 *                        buffer in linear memory; exit 0 when every frame
 *                        kept its own values
 *   stack.wasm overflow  unbounded recursion: must end the process (SIGSEGV,
 *                        with a message), never return or corrupt `canary`
 */
/* build-stack: -Wl,-z,stack-size=65536 */
#include "wali.h"

static volatile u64 canary[64] = {0x5555aaaa5555aaaaULL};

/* the buffer's address escapes, so all of it is on the C stack */
__attribute__((noinline)) static void fill(volatile u8 *p, int len, int n) {
    for (int i = 0; i < len; i += 64) p[i] = (u8)(n + i);
}
__attribute__((noinline)) static i64 frames(int n) {
    volatile u8 buf[256];
    fill(buf, 256, n);
    if (n == 0) return 0;
    i64 below = frames(n - 1);
    for (int i = 0; i < 256; i += 64)
        if (buf[i] != (u8)(n + i)) return -1000000000;
    return below + buf[0];
}

/* 4 KiB frames (the buffer's address escapes, so all of it is on the C
 * stack): the C stack ends long before the engine's own call stack */
__attribute__((noinline)) static void touch(volatile u8 *p, int n) {
    p[(unsigned)n % 4096] = (u8)n;
}
__attribute__((noinline)) static i64 big_frames(int n) {
    volatile u8 buf[4096];
    touch(buf, n);
    if (n == 0) return 0;
    return big_frames(n - 1) + buf[(unsigned)n % 4096];
}

int main(int argc, char **argv) {
    if (argc > 2 && !wstrcmp(argv[1], "deep")) {
        int n = (int)watoi(argv[2]);
        i64 want = 0;
        for (int k = 1; k <= n; k++) want += (u8)k;
        CHECK_EQ(frames(n), want);
        CHECK(canary[0] == 0x5555aaaa5555aaaaULL);
        return 0;
    }
    if (argc > 1 && !wstrcmp(argv[1], "overflow")) {
        i64 r = big_frames(100000000);
        /* not reached: the stack ends long before */
        puts_fd(2, "returned from the overflow\n");
        return canary[0] == 0x5555aaaa5555aaaaULL ? 3 : 4 + (int)(r & 0);
    }
    return 2;
}
