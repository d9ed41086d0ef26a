/* Threads: __wasm_thread_spawn over one shared memory, futexes, exit of a
 * thread vs exit_group.
 *   threads.wasm count <n>   n threads add 1000 each to a futex-locked counter
 *   threads.wasm group       a thread's exit_group ends the process (status 7) */
#include "wali.h"

WALI(__wasm_thread_spawn) int __wasm_thread_spawn(void (*fn)(int, void *), void *arg);
WALI(SYS_futex) i64 sys_futex(volatile int *uaddr, int op, int val, const void *ts, int *uaddr2, int val3);
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1

/* Thread entry points use no shadow stack (they only touch globals): a
 * libc's thread start would first give the thread a stack of its own. */
static volatile int lock_word, counter, done, tids[64];

/* odd-numbered runs use private futexes (what a libc's mutexes use) */
static int fpriv;
static void lock(void) {
    while (__atomic_exchange_n(&lock_word, 1, __ATOMIC_ACQUIRE) != 0)
        sys_futex(&lock_word, FUTEX_WAIT | fpriv, 1, NULL, NULL, 0);
}
static void unlock(void) {
    __atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE);
    sys_futex(&lock_word, FUTEX_WAKE | fpriv, 1, NULL, NULL, 0);
}

static void worker(int tid, void *arg) {
    int slot = (int)(long)arg;
    tids[slot] = tid;
    for (int i = 0; i < 1000; i++) {
        lock();
        counter = counter + 1;
        unlock();
    }
    __atomic_fetch_add(&done, 1, __ATOMIC_SEQ_CST);
    sys_futex(&done, FUTEX_WAKE, 1, NULL, NULL, 0);
    sys_exit(0); /* ends this thread only */
}

static void group_exit_never(int tid, void *arg) {
    (void)tid; (void)arg;
    for (;;) {
        struct timespec t = {10, 0};
        sys_nanosleep(&t, NULL);
    }
}

static void group_exit(int tid, void *arg) {
    (void)tid; (void)arg;
    sys_exit_group(7);
}

/* a thread that waits with wasm's memory.atomic.wait, woken by a futex wake */
static volatile int flag, woke;
static void atomic_waiter(int tid, void *arg) {
    (void)tid; (void)arg;
    __builtin_wasm_memory_atomic_wait32((int *)&flag, 0, -1);
    woke = 1;
    sys_futex(&woke, FUTEX_WAKE, 1, NULL, NULL, 0);
    sys_exit(0);
}

/* a wasm memory.atomic.notify wakes a private futex waiter */
static volatile int word;
static void notifier(int tid, void *arg) {
    (void)tid; (void)arg;
    struct timespec t = {0, 30000000};
    sys_nanosleep(&t, NULL);
    word = 1;
    __builtin_wasm_memory_atomic_notify((int *)&word, 1);
    sys_exit(0);
}

static int atoi_(const char *s) { int v = 0; while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0'); return v; }

int main(int argc, char **argv) {
    if (argc > 1 && !wstrcmp(argv[1], "group")) {
        CHECK(__wasm_thread_spawn(group_exit, NULL) > 0);
        for (;;) {
            struct timespec t = {1, 0};
            sys_nanosleep(&t, NULL);
        }
    }
    if (argc > 1 && !wstrcmp(argv[1], "atomicwait")) {
        CHECK(__wasm_thread_spawn(atomic_waiter, NULL) > 0);
        struct timespec t = {0, 50000000};
        sys_nanosleep(&t, NULL);
        flag = 1;
        sys_futex(&flag, FUTEX_WAKE, 1, NULL, NULL, 0);
        struct timespec limit = {2, 0};
        while (!woke && sys_futex(&woke, FUTEX_WAIT, 0, &limit, NULL, 0) != -110) {}
        CHECK_EQ(woke, 1);
        return 0;
    }
    if (argc > 1 && !wstrcmp(argv[1], "notifywait")) {
        CHECK(__wasm_thread_spawn(notifier, NULL) > 0);
        struct timespec limit = {2, 0};
        i64 r = sys_futex(&word, FUTEX_WAIT | 128, 0, &limit, NULL, 0);
        CHECK(r == 0 || r == -EAGAIN);
        CHECK_EQ(word, 1);
        return 0;
    }
    if (argc > 2 && !wstrcmp(argv[1], "limit")) {
        /* spawn until the runtime refuses: -EAGAIN after the limit */
        int want = atoi_(argv[2]), made = 0;
        for (int i = 0; i < 64; i++) {
            int tid = __wasm_thread_spawn(group_exit_never, NULL);
            if (tid < 0) {
                CHECK_EQ(tid, -EAGAIN);
                break;
            }
            made++;
        }
        CHECK_EQ(made, want);
        return 0;
    }
    int n = argc > 2 ? atoi_(argv[2]) : 16;
    if (n > 64) n = 64;
    if (argc > 3) fpriv = 128;
    for (int i = 0; i < n; i++) {
        int tid = __wasm_thread_spawn(worker, (void *)(long)i);
        CHECK(tid > 0);
        CHECK(tid != (int)sys_gettid());
    }
    int d;
    while ((d = done) < n) sys_futex(&done, FUTEX_WAIT, d, NULL, NULL, 0);
    CHECK_EQ(counter, n * 1000);
    for (int i = 0; i < n; i++) CHECK(tids[i] > 0 && tids[i] != (int)sys_gettid());
    return 0;
}
