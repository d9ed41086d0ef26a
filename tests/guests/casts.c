/* Calls through cast function pointers, as C programs (bash) make them.
 *   casts.wasm all   every adaptable shape; exit 0
 *   casts.wasm bad   a call whose parameter types differ: still a trap */
#include "wali.h"

static volatile int side;
static void v_p(void *p) { side = p ? *(int *)p : -1; }
static void v_v(void) { side = 77; }
static int i_v(void) { return 5; }
static int i_ii(int a, int b) { return a * 10 + b; }
static int i_i(int a) { side = a; return a + 1; }
static long long l_l(long long a) { return a * 2; }
static int i_d(double d) { return (int)d; }

typedef int (*int_ptr_fn)(void *);
typedef int (*int_ii_fn)(int, int);
typedef int (*int_i_fn)(int);
typedef void (*void_i_fn)(int);
typedef long long (*l_ll_fn)(long long, long long);

/* volatile: the compiler must call through the table */
static void *volatile table[8];

int main(int argc, char **argv) {
    table[0] = (void *)v_p;
    table[1] = (void *)v_v;
    table[2] = (void *)i_v;
    table[3] = (void *)i_ii;
    table[4] = (void *)i_i;
    table[5] = (void *)l_l;
    table[6] = (void *)i_d;
    if (argc > 1 && !wstrcmp(argv[1], "bad")) {
        /* double parameter called as int: not adaptable, traps as before */
        return ((int_i_fn)table[6])(3);
    }
    int x = 9;
    /* void f(void *) as int (*)(void *): the missing result reads as 0 */
    CHECK_EQ(((int_ptr_fn)table[0])(&x), 0);
    CHECK_EQ(side, 9);
    /* void f(void) as int (*)(void *): the extra argument is ignored */
    CHECK_EQ(((int_ptr_fn)table[1])(&x), 0);
    CHECK_EQ(side, 77);
    /* int f(void) as int (*)(int, int) */
    CHECK_EQ(((int_ii_fn)table[2])(1, 2), 5);
    /* int f(int, int) as int (*)(int): the missing argument is 0 */
    CHECK_EQ(((int_i_fn)table[3])(4), 40);
    /* int f(int) as void (*)(int): the result is dropped */
    ((void_i_fn)table[4])(12);
    CHECK_EQ(side, 12);
    /* long long f(long long) as long long (*)(long long, long long) */
    CHECK_EQ(((l_ll_fn)table[5])(21, 99), 42);
    /* and calls by the right type still work */
    CHECK_EQ(((int_i_fn)table[4])(1), 2);
    CHECK_EQ(((int_ii_fn)table[3])(3, 4), 34);
    return 0;
}
