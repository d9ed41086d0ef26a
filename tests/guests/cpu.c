/* binary-trees in C, with its own node allocator (a free list over a bump
 * area), so the same source built natively (cc -O2 -DNATIVE) and as a
 * guest measures the engine's code, not a libc's malloc:
 *   cpu.wasm DEPTH   prints the checksum line, exits 0.
 * Built for wasm by build.sh; the bench report builds the native twin. */
#ifdef NATIVE
#include <stdio.h>
#include <stdlib.h>
static void *grow(size_t n) { return malloc(n); }
static void out(long v) { printf("%ld\n", v); }
#else
#include "wali.h"
static void *grow(size_t n) { return wmalloc(n); }
static void out(long v) { put_i64(1, v); puts_fd(1, "\n"); }
#endif

struct node { struct node *l, *r; };
static struct node *free_list, *area, *area_end;

static struct node *alloc_node(void) {
    struct node *n = free_list;
    if (n) { free_list = n->l; return n; }
    if (area == area_end) {
        area = grow(4096 * sizeof(struct node));
        area_end = area + 4096;
    }
    return area++;
}
static void free_node(struct node *n) { n->l = free_list; free_list = n; }

static struct node *make(int d) {
    struct node *n = alloc_node();
    if (d > 0) { n->l = make(d - 1); n->r = make(d - 1); }
    else n->l = n->r = 0;
    return n;
}
static long check(struct node *n) { return 1 + (n->l ? check(n->l) + check(n->r) : 0); }
static void drop(struct node *n) {
    if (n->l) { drop(n->l); drop(n->r); }
    free_node(n);
}

static int atoi_(const char *s) { int v = 0; while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0'); return v; }

int main(int argc, char **argv) {
    int max = argc > 1 ? atoi_(argv[1]) : 16;
    long sum = 0;
    struct node *longlived = make(max);
    for (int d = 4; d <= max; d += 2) {
        int iters = 1 << (max - d + 4);
        for (int i = 0; i < iters; i++) {
            struct node *t = make(d);
            sum += check(t);
            drop(t);
        }
    }
    sum += check(longlived);
    out(sum);
    return 0;
}
