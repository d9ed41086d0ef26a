#!/bin/sh
# Rebuilds the C test guests (*.c -> *.wasm) with Debian's clang-19/lld-19.
# The built .wasm files are committed, so the tests need no C toolchain.
# A guest may give its own stack layout with a line
#   /* build-stack: LINKER FLAGS */
# (default: a 1 MiB stack placed first in memory), and its own optimization
# level with a line
#   /* build-opt: -ON */
# (default: -O2).
set -eu
cd "$(dirname "$0")"
CC=${CC:-clang-19}
for c in ${@:-*.c}; do
  out="${c%.c}.wasm"
  stack=$(sed -n 's|^/\* build-stack: \(.*\) \*/$|\1|p' "$c")
  stack=${stack:--Wl,--stack-first -Wl,-z,stack-size=1048576}
  opt=$(sed -n 's|^/\* build-opt: \(.*\) \*/$|\1|p' "$c")
  opt=${opt:--O2}
  # shellcheck disable=SC2086 # the stack flags are words
  $CC --target=wasm32 -nostdlib $opt -matomics -mbulk-memory -Wall -Wno-unused-function \
    -fuse-ld=lld -Wl,--shared-memory -Wl,--max-memory=2147483648 -Wl,--export-memory \
    -Wl,--no-entry $stack -Wl,--allow-undefined \
    -o "$out" "$c"
  echo "built $out"
done
