/* Signals a guest sends itself stay its own: 100 kill(getpid(), SIGUSR1)
 * with a handler; exits 0 when exactly 100 arrived. Run two at once in
 * one host process and neither sees the other's. */
#include "wali.h"

#define SIGUSR1 10
struct ksa { u32 handler; u64 flags; u32 restorer; u64 mask; } __attribute__((packed));
static volatile int hits;
static void on_usr1(int s) { (void)s; hits++; }

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    struct ksa a = {(u32)(unsigned long)on_usr1, 0x04000000, 0, 0};
    CHECK_EQ(sys_rt_sigaction(SIGUSR1, &a, NULL, 8), 0);
    for (int i = 0; i < 100; i++) {
        CHECK_EQ(sys_kill((int)sys_getpid(), SIGUSR1), 0);
        CHECK_EQ(hits, i + 1);
        sys_sched_yield();
    }
    CHECK_EQ(hits, 100);
    return 0;
}
