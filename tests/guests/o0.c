/* Built at -O0, as the WALI toolchain builds its applications: every C
 * local lives in a stack frame in linear memory, which the frame-promotion
 * transform turns into wasm locals where the frame's address stays in its
 * function. Each function below is a shape that pass must keep right
 * (promoted, or left in memory because its frame's address leaves it):
 *   o0.wasm      every check; exit 0 (1 with the failing line on stderr) */
/* build-opt: -O0 */
#include "wali.h"
#include <stdarg.h>

/* scalars in a loop: promoted */
static int sum_to(int n) { int s = 0; for (int i = 1; i <= n; i++) s += i; return s; }
/* the address of a local goes to a call that writes it */
static void set_via(int *p, int v) { *p = v; }
static int escapes(void) { int x = 1; set_via(&x, 42); return x; }
/* a struct by pointer, and by value (copied through memory) */
struct pt { int x, y; double w; };
static void grow(struct pt *p) { p->x *= 2; p->y += 3; p->w *= 1.5; }
static double by_pointer(void) { struct pt p = {5, 6, 2.0}; grow(&p); return p.x + p.y + p.w; }
static struct pt by_value(struct pt p) { p.x += 1; return p; }
/* an array indexed by a variable */
static int array_sum(int n) {
    int a[16];
    for (int i = 0; i < 16; i++) a[i] = i * n;
    int s = 0;
    for (int i = 0; i < 16; i++) s += a[i];
    return s;
}
/* one slot read with another width */
static int low_byte(int v) { union { int i; unsigned char c[4]; } u; u.i = v; return u.c[0]; }
static long long wide(long long a, int b) { long long r = a; short s = (short)b; r = r * s; return r; }
static float fl(float a) { float b = a * 2.0f; double d = b; return (float)(d + 0.25); }
/* varargs: the caller's frame holds them, the callee walks a va_list */
static int va_sum(int n, ...) {
    va_list ap;
    va_start(ap, n);
    int s = 0;
    for (int i = 0; i < n; i++) s += va_arg(ap, int);
    va_end(ap);
    return s;
}
static int fib(int n) { int a = n; if (a < 2) return a; return fib(a - 1) + fib(a - 2); }
static int twice(int v) { int t = v + v; return t; }
static int apply(int (*f)(int), int v) { int r = f(v); return r; }
static int counter(void) { static int c; int before = c; c++; return before; }
static int loop_break(int limit) {
    int i = 0, found = -1;
    while (1) {
        if (i * i > limit) { found = i; break; }
        i++;
    }
    return found;
}
static int switcher(int k) {
    int r;
    switch (k) { case 0: r = 10; break; case 1: r = 20; break; case 5: r = 50; break; default: r = -1; }
    return r;
}
static int nested_scopes(int n) {
    int total = 0;
    for (int i = 0; i < n; i++) { int sq = i * i; { int cube = sq * i; total += cube; } }
    return total;
}
/* a variable-length array: the stack pointer moves again in the body */
static int vla_sum(int n) {
    int v[n];
    for (int i = 0; i < n; i++) v[i] = i;
    int s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s;
}
/* a local a callee reaches through a pointer it keeps in a global */
static int *kept;
static void keep(int *p) { kept = p; }
static void bump(void) { (*kept)++; }
static int through_a_global(void) { int x = 5; keep(&x); bump(); bump(); return x; }

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    CHECK_EQ(sum_to(100), 5050);
    CHECK_EQ(escapes(), 42);
    CHECK_EQ((int)by_pointer(), 22);
    struct pt q = {1, 2, 3.0};
    struct pt r = by_value(q);
    CHECK_EQ(r.x, 2);
    CHECK_EQ(q.x, 1);
    CHECK_EQ((int)r.w, 3);
    CHECK_EQ(array_sum(3), 360);
    CHECK_EQ(low_byte(0x12345678), 0x78);
    CHECK_EQ(wide(1000000000000LL, 70000), 1000000000000LL * (short)70000);
    CHECK_EQ((int)(fl(1.5f) * 100), 325);
    CHECK_EQ(va_sum(4, 1, 2, 3, 4), 10);
    CHECK_EQ(fib(20), 6765);
    CHECK_EQ(apply(twice, 21), 42);
    CHECK_EQ(counter(), 0);
    CHECK_EQ(counter(), 1);
    CHECK_EQ(loop_break(50), 8);
    CHECK_EQ(switcher(5) + switcher(1) + switcher(3), 69);
    CHECK_EQ(nested_scopes(5), 0 + 1 + 8 + 27 + 64);
    CHECK_EQ(vla_sum(10), 45);
    CHECK_EQ(through_a_global(), 7);
    return checks_failed ? 1 : 0;
}
