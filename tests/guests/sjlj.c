/* setjmp/longjmp and sigsetjmp/siglongjmp, as the WALI libc declares them
 * (host imports that the load-time transform makes jump).
 *   sjlj.wasm all      every check below; exit 0
 *   sjlj.wasm stale    longjmp to a frame that has returned (a guest bug)
 *   sjlj.wasm o2       only the `r = setjmp(env)` stores below (also in all) */
#include "wali.h"

typedef struct { unsigned long long jb[26]; unsigned long long fl; unsigned long long ss[16]; } jmp_buf[1];
__attribute__((import_module("wali"), import_name("setjmp"), returns_twice)) int setjmp(jmp_buf env);
__attribute__((import_module("wali"), import_name("sigsetjmp"), returns_twice)) int sigsetjmp(jmp_buf env, int savesigs);
__attribute__((import_module("wali"), import_name("longjmp"), noreturn)) void longjmp(jmp_buf env, int val);

static jmp_buf outer, inner;
static volatile int trace;

__attribute__((noinline)) static void deep(int n, jmp_buf to, int val) {
    volatile char pad[64];
    pad[0] = (char)n;
    if (n == 0) longjmp(to, val);
    deep(n - 1, to, val);
    trace += pad[0];
}

static void nested(void) {
    volatile int step = 0;
    int r = setjmp(outer);
    if (r == 0) {
        step = 1;
        int q = setjmp(inner);
        if (q == 0) {
            step = 2;
            deep(3, inner, 7);
            CHECK(0); /* not reached */
        }
        CHECK_EQ(q, 7);
        CHECK_EQ(step, 2);
        step = 3;
        deep(5, outer, 0); /* val 0 arrives as 1 */
        CHECK(0);
    }
    CHECK_EQ(r, 1);
    CHECK_EQ(step, 3);
}

/* 50 frames between setjmp and longjmp; the stack pointer comes back */
__attribute__((noinline)) static unsigned long sp_at(void) { volatile char x[16]; x[0] = 1; return (unsigned long)&x[0]; }
static void across_frames(void) {
    jmp_buf env;
    volatile unsigned long before = sp_at();
    int r = setjmp(env);
    if (r == 0) deep(50, env, 42);
    CHECK_EQ(r, 42);
    CHECK_EQ(sp_at(), before);
}

/* 100k setjmp/longjmp rounds: memory does not grow */
static void loop(void) {
    unsigned long pages = __builtin_wasm_memory_size(0);
    volatile int count = 0;
    for (int i = 0; i < 100000; i++) {
        jmp_buf env;
        if (setjmp(env) == 0) {
            if (i % 2) longjmp(env, i);
        } else {
            count++;
        }
    }
    CHECK_EQ(count, 50000);
    CHECK_EQ(__builtin_wasm_memory_size(0), pages);
}

/* sigsetjmp(env, 1) saves the mask; siglongjmp restores it */
#define SIGUSR1 10
#define SIGUSR2 12
static u64 mask_now(void) {
    u64 m = 0;
    sys_rt_sigprocmask(0, NULL, &m, 8);
    return m;
}
static void masks(void) {
    u64 a = 1ULL << (SIGUSR1 - 1), b = 1ULL << (SIGUSR2 - 1);
    u64 orig = mask_now();
    jmp_buf env;
    sys_rt_sigprocmask(0 /* BLOCK */, &a, NULL, 8);
    if (sigsetjmp(env, 1) == 0) {
        sys_rt_sigprocmask(0, &b, NULL, 8);
        CHECK(mask_now() & b);
        longjmp(env, 1);
    }
    CHECK(mask_now() & a);
    CHECK(!(mask_now() & b));
    /* savesigs 0: the mask is left as it is at the jump */
    if (sigsetjmp(env, 0) == 0) {
        sys_rt_sigprocmask(0, &b, NULL, 8);
        longjmp(env, 1);
    }
    CHECK(mask_now() & b);
    sys_rt_sigprocmask(2 /* SETMASK */, &orig, NULL, 8);
}

/* values: a value on the operand stack across setjmp survives re-entry */
static int twice(jmp_buf env, int *n) {
    return 100 + setjmp(env) + (*n)++ * 0;
}
static void values(void) {
    static jmp_buf e;
    int n = 0;
    volatile int got = 0;
    volatile int rounds = 0;
    got = twice(e, &n);
    /* twice() returned: its frame is gone; jumping to e would be the stale case */
    CHECK_EQ(got, 100);
    for (int i = 0; i < 3; i++) {
        jmp_buf env;
        int r = setjmp(env);
        rounds++;
        if (r < 3) longjmp(env, r + 1);
        CHECK_EQ(r, 3);
    }
    CHECK_EQ(rounds, 12);
}

/* o2: `*r = setjmp(a)` and `volatile int s = setjmp(b)` in one function.
 * At -O2 the address each result is stored to is pushed before the call
 * (`i32.const r; i32.const a; call $setjmp; i32.store`): it is an operand
 * value live across the call, which the return by longjmp must find as
 * the call left it, although the second call pushed another address. */
static jmp_buf o2a, o2b;
static volatile int o2_r;
__attribute__((noinline)) static void o2_jump(jmp_buf e, int v) { longjmp(e, v); }
__attribute__((noinline)) static void o2_stores(volatile int *r, long long k, double d) {
    volatile int passes = 0;
    volatile int s;
    *r = setjmp(o2a);
    s = setjmp(o2b);
    passes++;
    if (passes == 1) {
        CHECK_EQ(*r, 0);
        CHECK_EQ(s, 0);
        longjmp(o2a, 7); /* r = 7; then s = setjmp(o2b) returns 0 again */
    }
    if (passes == 2) {
        CHECK_EQ(*r, 7);
        CHECK_EQ(s, 0);
        o2_jump(o2b, 0); /* s = 1 */
    }
    CHECK_EQ(passes, 3);
    CHECK_EQ(*r, 7);
    CHECK_EQ(s, 1);
    CHECK(k == 0x1122334455667788LL);
    CHECK(d == 2.5);
}
static void o2(void) {
    o2_r = -1;
    o2_stores(&o2_r, 0x1122334455667788LL, 2.5);
    CHECK_EQ(o2_r, 7);
    /* the plain form: one setjmp, the jump from a deeper frame */
    volatile int r = setjmp(o2a);
    if (r == 0) o2_jump(o2a, 7);
    CHECK_EQ(r, 7);
}

static jmp_buf stale_env;
__attribute__((noinline)) static int set_and_return(void) { return setjmp(stale_env); }

int main(int argc, char **argv) {
    if (argc > 1 && !wstrcmp(argv[1], "stale")) {
        if (set_and_return() == 0) longjmp(stale_env, 1);
        return 3;
    }
    if (argc > 1 && !wstrcmp(argv[1], "o2")) {
        o2();
        return 0;
    }
    nested();
    across_frames();
    loop();
    masks();
    values();
    o2();
    return 0;
}
