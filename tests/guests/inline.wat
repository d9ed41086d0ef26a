;; Shapes the inlining transform copies into their callers (short leaf
;; functions), and shapes it must leave as calls. `_start` checks each
;; result against what the function gives when called, exits with the
;; number of the first check that fails, or 77 when all pass; the same with
;; inlining on and off (tests/tests/wat.rs), and the callers' text is
;; checked in wali-core/tests/transform.rs.
(module
  (import "wali" "SYS_exit_group" (func $exit (param i32) (result i64)))
  (memory (export "memory") 1 1 shared)
  ;; the arguments in order
  (func $sub (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.sub)
  ;; `return` from inside an if inside a block, and a br_if to a block
  (func $clamp (param i32) (result i32)
    block
      local.get 0
      i32.const 0
      i32.lt_s
      if
        i32.const 0
        return
      end
      local.get 0
      i32.const 100
      i32.gt_s
      br_if 0
      local.get 0
      return
    end
    i32.const 100)
  ;; a local read before it is written: zero at every call
  (func $fresh (param i32) (result i32) (local i32)
    local.get 1
    local.get 0
    local.set 1
    local.get 1
    i32.add)
  ;; a local written only inside an `if`, read after it: zero when the
  ;; branch is not taken, though an earlier copy in the same caller set it
  (func $maybe (param i32) (result i32) (local i32)
    local.get 0
    if
      i32.const 5
      local.set 1
    end
    local.get 1)
  ;; a br_if to the function's own label, with its result
  (func $nonzero (param i32) (result i32)
    i32.const 1
    local.get 0
    br_if 0
    drop
    i32.const 2)
  ;; br_table to two blocks and the function's label
  (func $pick (param i32) (result i32)
    block (result i32)
      block (result i32)
        i32.const 30
        local.get 0
        br_table 0 1 2
      end
      i32.const 10
      i32.add
      return
    end
    i32.const 20
    i32.add)
  ;; other number types
  (func $scale (param i64 f64) (result f64)
    local.get 1
    local.get 0
    f64.convert_i64_s
    f64.mul)
  ;; no result, a store
  (func $put (param i32 i32)
    local.get 0
    local.get 1
    i32.store)
  (func $nothing)
  ;; a loop: stays a call
  (func $sum (param i32) (result i32) (local i32)
    loop
      local.get 1
      local.get 0
      i32.add
      local.set 1
      local.get 0
      i32.const 1
      i32.sub
      local.tee 0
      br_if 0
    end
    local.get 1)
  ;; calls: stays a call (the leaf inside it is inlined)
  (func $twice (param i32) (result i32)
    local.get 0
    i32.const -1
    call $sub
    local.get 0
    i32.add)
  ;; too long: 23 additions, stays a call
  (func $long (param i32) (result i32)
    local.get 0 i32.const 1 i32.add local.get 0 i32.const 2 i32.add i32.add
    local.get 0 i32.const 3 i32.add local.get 0 i32.const 4 i32.add i32.add
    local.get 0 i32.const 5 i32.add local.get 0 i32.const 6 i32.add i32.add
    local.get 0 i32.const 7 i32.add local.get 0 i32.const 8 i32.add i32.add
    local.get 0 i32.const 9 i32.add local.get 0 i32.const 10 i32.add i32.add
    local.get 0 i32.const 11 i32.add local.get 0 i32.const 12 i32.add i32.add
    i32.add i32.add i32.add i32.add i32.add)
  (func $check (param $got i32) (param $want i32) (param $n i32)
    local.get $got
    local.get $want
    i32.ne
    if
      local.get $n
      call $exit
      drop
    end)
  (func $_start (export "_start") (local i32)
    (call $check (call $sub (i32.const 10) (i32.const 3)) (i32.const 7) (i32.const 1))
    (call $check (call $sub (call $sub (i32.const 50) (i32.const 8)) (i32.const 2))
      (i32.const 40) (i32.const 2))
    (call $check (call $clamp (i32.const -5)) (i32.const 0) (i32.const 3))
    (call $check (call $clamp (i32.const 55)) (i32.const 55) (i32.const 4))
    (call $check (call $clamp (i32.const 555)) (i32.const 100) (i32.const 5))
    (call $check (call $fresh (i32.const 5)) (i32.const 5) (i32.const 6))
    (call $check (call $fresh (i32.const 7)) (i32.const 7) (i32.const 7))
    (call $check (call $maybe (i32.const 1)) (i32.const 5) (i32.const 19))
    (call $check (call $maybe (i32.const 0)) (i32.const 0) (i32.const 20))
    (call $check (call $nonzero (i32.const 9)) (i32.const 1) (i32.const 8))
    (call $check (call $nonzero (i32.const 0)) (i32.const 2) (i32.const 9))
    (call $check (call $pick (i32.const 0)) (i32.const 40) (i32.const 10))
    (call $check (call $pick (i32.const 1)) (i32.const 50) (i32.const 11))
    (call $check (call $pick (i32.const 7)) (i32.const 30) (i32.const 12))
    (call $check
      (i32.trunc_f64_s (call $scale (i64.const -3) (f64.const 2.5)))
      (i32.const -7) (i32.const 13))
    (call $put (i32.const 64) (i32.const 1234))
    (call $nothing)
    (call $check (i32.load (i32.const 64)) (i32.const 1234) (i32.const 14))
    (call $check (call $sum (i32.const 10)) (i32.const 55) (i32.const 15))
    (call $check (call $twice (i32.const 20)) (i32.const 41) (i32.const 16))
    (call $check (call $long (i32.const 1)) (i32.const 90) (i32.const 17))
    ;; in a loop: the copy's locals are set again on every pass
    (local.set 0 (i32.const 3))
    (loop
      (call $check (call $fresh (local.get 0)) (local.get 0) (i32.const 18))
      (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (drop (call $exit (i32.const 77)))))
