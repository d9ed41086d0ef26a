/* System V IPC: message queues, semaphore sets, shared memory.
 *   ipc.wasm all          every check, objects private to this run; exit 0
 *   ipc.wasm shm-put KEY  makes a segment with key KEY, writes a greeting
 *                         in it and leaves it (a native process reads it)
 *   ipc.wasm shm-get KEY  attaches KEY's segment, checks the native reply
 *                         ("native says hi" at offset 100), removes it */
#include "wali.h"

WALI(SYS_shmget) i64 sys_shmget(int key, size_t size, int flg);
WALI(SYS_shmat) i64 sys_shmat(int id, const void *addr, int flg);
WALI(SYS_shmdt) i64 sys_shmdt(const void *addr);
WALI(SYS_shmctl) i64 sys_shmctl(int id, int cmd, void *buf);
WALI(SYS_msgget) i64 sys_msgget(int key, int flg);
WALI(SYS_msgsnd) i64 sys_msgsnd(int id, const void *m, size_t n, int flg);
WALI(SYS_msgrcv) i64 sys_msgrcv(int id, void *m, size_t n, long type, int flg);
WALI(SYS_msgctl) i64 sys_msgctl(int id, int cmd, void *buf);
WALI(SYS_semget) i64 sys_semget(int key, int n, int flg);
WALI(SYS_semop) i64 sys_semop(int id, void *sops, size_t n);
WALI(SYS_semtimedop) i64 sys_semtimedop(int id, void *sops, size_t n, const void *ts);
WALI(SYS_semctl) i64 sys_semctl(int id, int num, int cmd, long arg);
WALI(SYS_wait4) i64 sys_wait4(int pid, int *st, int opt, void *ru);

#define IPC_PRIVATE 0
#define IPC_CREAT 01000
#define IPC_EXCL 02000
#define IPC_NOWAIT 04000
#define IPC_RMID 0
#define IPC_SET 1
#define IPC_STAT 2
#define IPC_64 0x100
#define GETVAL 12
#define GETALL 13
#define SETVAL 16
#define SETALL 17
#define ENOMSG 42
#define EAGAIN 11
#define EINVAL 22
#define EIDRM 43

/* the wasm32 C library's layouts (4-byte long and size_t, 8-byte time_t) */
struct ipc_perm { int key; unsigned uid, gid, cuid, cgid, mode; int seq; long pad1, pad2; };
struct shmid_ds { struct ipc_perm perm; size_t segsz; long long atime, dtime, ctime;
                  int cpid, lpid; unsigned long nattch, pad1, pad2; };
struct msqid_ds { struct ipc_perm perm; long long stime, rtime, ctime;
                  unsigned long cbytes, qnum, qbytes; int lspid, lrpid; unsigned long unused[2]; };
struct semid_ds { struct ipc_perm perm; long long otime, ctime; unsigned short nsems;
                  char pad[2]; long unused3, unused4; };
struct msg { long type; char text[32]; };
struct sembuf { unsigned short num; short op; short flg; };

static void shm(void) {
    CHECK_EQ(sizeof(struct shmid_ds), 88);
    int id = (int)sys_shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
    CHECK(id >= 0);
    char *a = (char *)(unsigned long)sys_shmat(id, NULL, 0);
    CHECK((long)a > 0 && ((unsigned long)a & 4095) == 0);
    for (int i = 0; i < 10000; i++) CHECK_EQ(a[i], 0);
    for (int i = 0; i < 10000; i++) a[i] = (char)i;
    struct shmid_ds ds;
    CHECK_EQ(sys_shmctl(id, IPC_STAT | IPC_64, &ds), 0);
    CHECK_EQ(ds.segsz, 10000);
    CHECK_EQ(ds.nattch, 1);
    CHECK_EQ(ds.cpid, sys_getpid());
    CHECK_EQ(ds.perm.mode & 0777, 0600);
    CHECK(ds.ctime > 1600000000);
    /* a second attachment shows the same pages */
    char *b = (char *)(unsigned long)sys_shmat(id, NULL, 0);
    CHECK((long)b > 0 && b != a);
    CHECK_EQ(b[1234], (char)1234);
    b[9999] = 77;
    CHECK_EQ(a[9999], 77);
    CHECK_EQ(sys_shmctl(id, IPC_STAT | IPC_64, &ds), 0);
    CHECK_EQ(ds.nattch, 2);
    /* a forked child writes through its inherited attachment */
    i64 pid = sys_fork();
    if (pid == 0) { a[5] = 55; sys_exit_group(0); }
    int st;
    CHECK_EQ(sys_wait4((int)pid, &st, 0, NULL), pid);
    CHECK_EQ(b[5], 55);
    /* IPC_SET changes the mode */
    ds.perm.mode = 0640;
    CHECK_EQ(sys_shmctl(id, IPC_SET | IPC_64, &ds), 0);
    CHECK_EQ(sys_shmctl(id, IPC_STAT | IPC_64, &ds), 0);
    CHECK_EQ(ds.perm.mode & 0777, 0640);
    /* detach: zero pages again, and the kernel counts it */
    CHECK_EQ(sys_shmdt(b), 0);
    CHECK_EQ(b[5], 0);
    CHECK_EQ(sys_shmdt(b), -EINVAL);
    CHECK_EQ(sys_shmctl(id, IPC_STAT | IPC_64, &ds), 0);
    CHECK_EQ(ds.nattch, 1);
    CHECK_EQ(sys_shmdt(a), 0);
    CHECK_EQ(sys_shmctl(id, IPC_RMID, NULL), 0);
    CHECK_EQ(sys_shmat(id, NULL, 0), -EINVAL);
}

static void msg(void) {
    CHECK_EQ(sizeof(struct msqid_ds), 96);
    int q = (int)sys_msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    CHECK(q >= 0);
    struct msg m = {5, "abc"};
    CHECK_EQ(sys_msgsnd(q, &m, 3, 0), 0);
    struct msg m2 = {7, "defg"};
    CHECK_EQ(sys_msgsnd(q, &m2, 4, 0), 0);
    struct msqid_ds ds;
    CHECK_EQ(sys_msgctl(q, IPC_STAT | IPC_64, &ds), 0);
    CHECK_EQ(ds.qnum, 2);
    CHECK_EQ(ds.cbytes, 7);
    CHECK_EQ(ds.lspid, sys_getpid());
    struct msg r = {0, ""};
    CHECK_EQ(sys_msgrcv(q, &r, sizeof r.text, 7, 0), 4);
    CHECK_EQ(r.type, 7);
    CHECK(!wmemcmp(r.text, "defg", 4));
    CHECK_EQ(sys_msgrcv(q, &r, sizeof r.text, 0, 0), 3);
    CHECK_EQ(r.type, 5);
    CHECK(!wmemcmp(r.text, "abc", 3));
    CHECK_EQ(sys_msgrcv(q, &r, sizeof r.text, 0, IPC_NOWAIT), -ENOMSG);
    CHECK_EQ(sys_msgctl(q, IPC_STAT | IPC_64, &ds), 0);
    CHECK_EQ(ds.qnum, 0);
    CHECK_EQ(ds.lrpid, sys_getpid());
    CHECK_EQ(sys_msgctl(q, IPC_RMID, NULL), 0);
    CHECK_EQ(sys_msgsnd(q, &m, 3, 0), -EINVAL);
}

static void sem(void) {
    CHECK_EQ(sizeof(struct semid_ds), 72);
    int s = (int)sys_semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    CHECK(s >= 0);
    CHECK_EQ(sys_semctl(s, 0, SETVAL | IPC_64, 3), 0);
    CHECK_EQ(sys_semctl(s, 0, GETVAL | IPC_64, 0), 3);
    struct sembuf down = {0, -1, 0};
    CHECK_EQ(sys_semop(s, &down, 1), 0);
    CHECK_EQ(sys_semctl(s, 0, GETVAL | IPC_64, 0), 2);
    unsigned short vals[2] = {5, 6}, got[2] = {0, 0};
    CHECK_EQ(sys_semctl(s, 0, SETALL | IPC_64, (long)vals), 0);
    CHECK_EQ(sys_semctl(s, 0, GETALL | IPC_64, (long)got), 0);
    CHECK_EQ(got[0], 5);
    CHECK_EQ(got[1], 6);
    struct semid_ds ds;
    CHECK_EQ(sys_semctl(s, 0, IPC_STAT | IPC_64, (long)&ds), 0);
    CHECK_EQ(ds.nsems, 2);
    CHECK_EQ(ds.perm.mode & 0777, 0600);
    struct sembuf big = {1, -100, IPC_NOWAIT};
    CHECK_EQ(sys_semop(s, &big, 1), -EAGAIN);
    big.flg = 0;
    long long ts[2] = {0, 20000000};
    CHECK_EQ(sys_semtimedop(s, &big, 1, ts), -EAGAIN);
    CHECK_EQ(sys_semctl(s, 0, IPC_RMID, 0), 0);
    CHECK_EQ(sys_semop(s, &down, 1), -EINVAL);
}

static int shm_put(int key) {
    int id = (int)sys_shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
    CHECK(id >= 0);
    char *a = (char *)(unsigned long)sys_shmat(id, NULL, 0);
    CHECK((long)a > 0);
    const char *g = "wasm says hi";
    for (int i = 0; g[i]; i++) a[i] = g[i];
    return 0;
}

static int shm_get(int key) {
    int id = (int)sys_shmget(key, 0, 0);
    CHECK(id >= 0);
    char *a = (char *)(unsigned long)sys_shmat(id, NULL, 0);
    CHECK((long)a > 0);
    CHECK(!wmemcmp(a + 100, "native says hi", 14));
    CHECK(!wmemcmp(a, "wasm says hi", 12));
    CHECK_EQ(sys_shmctl(id, IPC_RMID, NULL), 0);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (!wstrcmp(argv[1], "all")) { shm(); msg(); sem(); return 0; }
    if (argc > 2 && !wstrcmp(argv[1], "shm-put")) return shm_put((int)watoi(argv[2]));
    if (argc > 2 && !wstrcmp(argv[1], "shm-get")) return shm_get((int)watoi(argv[2]));
    return 2;
}
