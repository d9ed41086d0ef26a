/* sjlj.c built at -O0 (build-opt below): its volatile locals and jump
 * buffers live in stack frames in linear memory, which frame promotion
 * and the setjmp rewrite both change. Same modes as sjlj.c. */
/* build-opt: -O0 */
#include "sjlj.c"
