/* Robust and priority-inheritance mutexes, as a C library builds them.
 *   robust.wasm robust   a thread locks a robust mutex and ends without
 *                        unlocking it while the main thread waits for it:
 *                        the waiter is woken and the word says
 *                        FUTEX_OWNER_DIED (the next lock is EOWNERDEAD);
 *                        get_robust_list reads the head back; exit 0
 *   robust.wasm pi       FUTEX_LOCK_PI / TRYLOCK_PI / UNLOCK_PI; exit 0 */
#include "wali.h"

WALI(SYS_futex) i64 sys_futex(volatile int *uaddr, int op, int val, const void *ts, int *uaddr2, int val3);
WALI(SYS_set_robust_list) i64 sys_set_robust_list(void *head, size_t len);
WALI(SYS_get_robust_list) i64 sys_get_robust_list(int pid, void **head, size_t *len);
WALI(SYS_nanosleep) i64 sys_nanosleep(const void *req, void *rem);
WALI(__wasm_thread_spawn) int __wasm_thread_spawn(void (*fn)(int, void *), void *arg);

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_TRYLOCK_PI 8
#define FUTEX_PRIVATE 128
#define WAITERS 0x80000000u
#define OWNER_DIED 0x40000000u

struct node { struct node *next; };
struct robust_head { struct node *list; long futex_offset; struct node *pending; };
struct mutex { volatile int lock; int kind; struct node node; };

/* the thread has no shadow stack of its own: globals only */
static struct mutex m;
static struct robust_head thead;
static volatile int locked, thread_tid;
static const long long fifty_ms[2] = {0, 50000000};

static void holder(int tid, void *arg) {
    (void)arg;
    thread_tid = tid;
    sys_set_tid_address((int *)&thread_tid);
    /* the list: head -> m.node -> head (circular, as the kernel walks it) */
    thead.futex_offset = (long)((char *)&m.lock - (char *)&m.node);
    thead.pending = NULL;
    m.node.next = (struct node *)&thead;
    thead.list = &m.node;
    sys_set_robust_list(&thead, sizeof thead);
    int zero = 0;
    __atomic_compare_exchange_n(&m.lock, &zero, tid, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    locked = 1;
    sys_futex(&locked, FUTEX_WAKE | FUTEX_PRIVATE, 1, NULL, NULL, 0);
    sys_nanosleep(fifty_ms, NULL);
    sys_exit(0); /* ends holding the mutex */
}

static int robust(void) {
    CHECK_EQ(sizeof(struct robust_head), 12);
    void *h = (void *)1;
    size_t len = 0;
    CHECK_EQ(sys_get_robust_list(0, &h, &len), 0);
    CHECK(h == NULL);
    CHECK_EQ(len, 12);
    static struct robust_head mine = {(struct node *)&mine, 0, NULL};
    CHECK_EQ(sys_set_robust_list(&mine, sizeof mine), 0);
    CHECK_EQ(sys_get_robust_list(0, &h, &len), 0);
    CHECK(h == &mine);
    CHECK_EQ(sys_set_robust_list(&mine, 24), -22);
    CHECK(__wasm_thread_spawn(holder, NULL) > 0);
    while (!locked) sys_futex(&locked, FUTEX_WAIT | FUTEX_PRIVATE, 0, NULL, NULL, 0);
    int owner = m.lock;
    CHECK(owner > 0);
    /* a waiter, as pthread_mutex_lock waits: mark it, sleep on the word */
    __atomic_or_fetch(&m.lock, (int)WAITERS, __ATOMIC_SEQ_CST);
    int w;
    while (((w = m.lock) & 0x3fffffff) == owner)
        sys_futex(&m.lock, FUTEX_WAIT | FUTEX_PRIVATE, w, NULL, NULL, 0);
    CHECK_EQ((unsigned)m.lock, WAITERS | OWNER_DIED);
    /* the thread is gone: its tid word was cleared after the release */
    while (thread_tid) sys_futex(&thread_tid, FUTEX_WAIT, thread_tid, NULL, NULL, 0);
    return 0;
}

static volatile int pw;
static int pi(void) {
    int tid = (int)sys_gettid();
    CHECK_EQ(sys_futex(&pw, FUTEX_TRYLOCK_PI | FUTEX_PRIVATE, 0, NULL, NULL, 0), 0);
    CHECK_EQ(pw, tid);
    CHECK_EQ(sys_futex(&pw, FUTEX_UNLOCK_PI | FUTEX_PRIVATE, 0, NULL, NULL, 0), 0);
    CHECK_EQ(pw, 0);
    CHECK_EQ(sys_futex(&pw, FUTEX_LOCK_PI | FUTEX_PRIVATE, 0, NULL, NULL, 0), 0);
    CHECK_EQ(pw, tid);
    CHECK_EQ(sys_futex(&pw, FUTEX_TRYLOCK_PI | FUTEX_PRIVATE, 0, NULL, NULL, 0), -35 /* EDEADLK */);
    CHECK_EQ(sys_futex(&pw, FUTEX_UNLOCK_PI | FUTEX_PRIVATE, 0, NULL, NULL, 0), 0);
    CHECK_EQ(pw, 0);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (!wstrcmp(argv[1], "robust")) return robust();
    if (!wstrcmp(argv[1], "pi")) return pi();
    return 2;
}
