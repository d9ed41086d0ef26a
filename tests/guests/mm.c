/* Memory mappings inside linear memory: mmap (anonymous, file-backed,
 * private, shared, fixed), munmap, mremap, mprotect, madvise, msync, brk.
 * argv[1]: a scratch directory. */
#include "wali.h"

#define PAGE 4096
#define MAP_FAILED_P(x) ((x) < 0)
#define MADV_WILLNEED 3

static char path[512];
static const char *join(const char *dir, const char *name) {
    size_t n = wstrlen(dir);
    for (size_t i = 0; i < n; i++) path[i] = dir[i];
    path[n] = '/';
    size_t m = wstrlen(name);
    for (size_t i = 0; i <= m; i++) path[n + 1 + i] = name[i];
    return path;
}

static int all_zero(const u8 *p, size_t n) {
    for (size_t i = 0; i < n; i++) if (p[i]) return 0;
    return 1;
}

static void anonymous(void) {
    unsigned long mem_before = __builtin_wasm_memory_size(0) * 65536UL;
    i64 a = sys_mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a > 0);
    CHECK_EQ(a % PAGE, 0);
    CHECK(__builtin_wasm_memory_size(0) * 65536UL >= (unsigned long)a + 3 * PAGE);
    CHECK((unsigned long)a >= mem_before - 65536 || 1);
    u8 *p = (u8 *)(long)a;
    CHECK(all_zero(p, 3 * PAGE));
    for (int i = 0; i < 3 * PAGE; i++) p[i] = (u8)i;
    CHECK_EQ(p[4097], (u8)4097);

    /* munmap then map again: the range is reused and reads as zero */
    CHECK_EQ(sys_munmap(p, 3 * PAGE), 0);
    i64 b = sys_mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK_EQ(b, a);
    CHECK(all_zero((u8 *)(long)b, 3 * PAGE));

    /* MAP_FIXED over a used page replaces it with zero pages */
    p = (u8 *)(long)b;
    p[PAGE] = 7;
    i64 f = sys_mmap(p + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK_EQ(f, b + PAGE);
    CHECK_EQ(p[PAGE], 0);
    /* MAP_FIXED_NOREPLACE on a used range is EEXIST */
    CHECK_EQ(sys_mmap(p, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), -EEXIST);
    /* misaligned fixed address */
    CHECK_EQ(sys_mmap(p + 1, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), -EINVAL);

    /* errors */
    CHECK_EQ(sys_mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), -EINVAL);
    CHECK_EQ(sys_mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0), -EINVAL);
    CHECK_EQ(sys_mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, -1, 123), -EINVAL);
    CHECK_EQ(sys_mmap(NULL, 0xF0000000u, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), -ENOMEM);
    CHECK_EQ(sys_munmap(p + 1, PAGE), -EINVAL);
    CHECK_EQ(sys_munmap(p, 0), -EINVAL);

    /* a larger mapping grows linear memory */
    unsigned long pages = __builtin_wasm_memory_size(0);
    i64 big = sys_mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(big > 0);
    CHECK(__builtin_wasm_memory_size(0) >= pages + 64);
    ((u8 *)(long)big)[(4 << 20) - 1] = 1;
    CHECK_EQ(sys_munmap((void *)(long)big, 4 << 20), 0);
    CHECK_EQ(sys_munmap(p, 3 * PAGE), 0);
}

static void remap(void) {
    i64 a = sys_mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a > 0);
    /* block growth in place */
    i64 guard = sys_mmap((void *)(long)(a + PAGE), PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK_EQ(guard, a + PAGE);
    u8 *p = (u8 *)(long)a;
    for (int i = 0; i < PAGE; i++) p[i] = (u8)(i * 3);
    CHECK_EQ(sys_mremap(p, PAGE, 4 * PAGE, 0, NULL), -ENOMEM);
    i64 n = sys_mremap(p, PAGE, 4 * PAGE, MREMAP_MAYMOVE, NULL);
    CHECK(n > 0 && n != a);
    u8 *q = (u8 *)(long)n;
    CHECK_EQ(q[100], (u8)300);
    CHECK_EQ(q[PAGE - 1], (u8)((PAGE - 1) * 3));
    CHECK(all_zero(q + PAGE, 3 * PAGE));
    /* shrink keeps the address */
    CHECK_EQ(sys_mremap(q, 4 * PAGE, PAGE, 0, NULL), n);
    CHECK_EQ(q[100], (u8)300);
    CHECK_EQ(sys_mremap(q + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE, NULL), -EINVAL);
    CHECK_EQ(sys_mremap(q, PAGE, 2 * PAGE, MREMAP_FIXED, NULL), -EINVAL);
    CHECK_EQ(sys_munmap(q, PAGE), 0);
    CHECK_EQ(sys_munmap((void *)(long)guard, PAGE), 0);
}

static void files(const char *dir) {
    const char *f = join(dir, "mapped.txt");
    int fd = (int)sys_open(f, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    char content[PAGE + 10];
    for (int i = 0; i < (int)sizeof content; i++) content[i] = 'a' + i % 26;
    CHECK_EQ(sys_write(fd, content, sizeof content), sizeof content);

    /* private: reads the file, writes stay private */
    i64 a = sys_mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(a > 0);
    char *p = (char *)(long)a;
    CHECK_EQ(wmemcmp(p, content, sizeof content), 0);
    CHECK_EQ(p[sizeof content], 0); /* past EOF in the last page: zero */
    p[0] = 'Z';
    char c;
    CHECK_EQ(sys_pread64(fd, &c, 1, 0), 1);
    CHECK_EQ(c, 'a');
    CHECK_EQ(sys_munmap(p, 2 * PAGE), 0);

    /* offset mapping */
    i64 o = sys_mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, PAGE);
    CHECK(o > 0);
    CHECK_EQ(((char *)(long)o)[0], content[PAGE]);
    CHECK_EQ(sys_munmap((void *)(long)o, PAGE), 0);

    /* shared: writes reach the file */
    i64 s = sys_mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(s > 0);
    char *sp = (char *)(long)s;
    sp[1] = 'Q';
    CHECK_EQ(sys_msync(sp, PAGE, MS_SYNC), 0);
    CHECK_EQ(sys_pread64(fd, &c, 1, 1), 1);
    CHECK_EQ(c, 'Q');
    /* and the file's changes are seen in the mapping */
    CHECK_EQ(sys_pwrite64(fd, "R", 1, 2), 1);
    CHECK_EQ(sp[2], 'R');
    CHECK_EQ(sys_msync(sp + 1, PAGE, MS_SYNC), -EINVAL);
    CHECK_EQ(sys_munmap(sp, PAGE), 0);
    sys_close(fd);

    /* a read-only descriptor: shared read mapping works, shared write is EACCES */
    int ro = (int)sys_open(f, O_RDONLY, 0);
    CHECK(ro >= 0);
    i64 r = sys_mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
    CHECK(r > 0);
    CHECK_EQ(((char *)(long)r)[1], 'Q');
    CHECK_EQ(sys_munmap((void *)(long)r, PAGE), 0);
    CHECK_EQ(sys_mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), -EACCES);
    sys_close(ro);

    /* a bad descriptor, and the region is still usable afterwards */
    CHECK_EQ(sys_mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 999, 0), -EBADF);
    i64 after = sys_mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(after > 0);
    CHECK(all_zero((u8 *)(long)after, PAGE));
    sys_munmap((void *)(long)after, PAGE);

    /* a shared anonymous mapping */
    i64 sa = sys_mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sa > 0);
    CHECK(all_zero((u8 *)(long)sa, PAGE));
    ((u8 *)(long)sa)[5] = 9;
    CHECK_EQ(((u8 *)(long)sa)[5], 9);
    sys_munmap((void *)(long)sa, PAGE);
    sys_unlink(f);
}

static void protect_advise(void) {
    i64 a = sys_mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a > 0);
    u8 *p = (u8 *)(long)a;
    CHECK_EQ(sys_mprotect(p, PAGE, PROT_READ), 0);
    CHECK_EQ(sys_mprotect(p, PAGE, PROT_READ | PROT_WRITE), 0);
    CHECK_EQ(sys_mprotect(p + 1, PAGE, PROT_READ), -EINVAL);
    CHECK_EQ(sys_mprotect(NULL, PAGE, PROT_READ), -ENOMEM);
    CHECK_EQ(sys_mprotect((void *)0xFFFF0000u, PAGE, PROT_READ), -ENOMEM);
    CHECK_EQ(sys_mprotect(p, PAGE, 0x1000), -EINVAL);
    p[10] = 42;
    CHECK_EQ(sys_madvise(p, PAGE, MADV_WILLNEED), 0);
    CHECK_EQ(p[10], 42);
    CHECK_EQ(sys_madvise(p, PAGE, MADV_DONTNEED), 0);
    CHECK_EQ(p[10], 0);
    CHECK_EQ(sys_madvise(p, PAGE, 100), -EINVAL);
    CHECK_EQ(sys_madvise(p + 3, PAGE, MADV_DONTNEED), -EINVAL);
    CHECK_EQ(sys_msync(p, PAGE, MS_SYNC), 0);
    CHECK_EQ(sys_munmap(p, 2 * PAGE), 0);
}

static void brk(void) {
    i64 cur = sys_brk(NULL);
    CHECK(cur > 0);
    /* the break does not move (the region above belongs to mmap): like a
       failed brk on Linux, the current break is returned */
    CHECK_EQ(sys_brk((void *)(long)(cur + 65536)), cur);
    CHECK_EQ(sys_brk(NULL), cur);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    anonymous();
    remap();
    files(argv[1]);
    protect_advise();
    brk();
    return 0;
}
