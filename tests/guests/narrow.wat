;; C locals narrower than their wasm value, as `-O0` code keeps them in its
;; stack frame (fp = __stack_pointer - 16): a `char` by i32.store8, a
;; `short` by i32.store16, and i64 values stored in 8, 16 and 32 bits,
;; each read back zero- and sign-extended. Frame promotion keeps these five
;; slots in locals; the slot at offset 12 is stored as i32 and read as i64
;; (two value types), so it stays in memory. `_start` exits with 0 when
;; every load gives what it gives in memory, else with the bits of the
;; checks that failed; the same with frame promotion on and off
;; (tests/tests/wat.rs), and the function's text is checked in
;; wali-core/tests/transform.rs.
(module
  (import "wali" "SYS_exit_group" (func $exit (param i32) (result i64)))
  (global $__stack_pointer (mut i32) (i32.const 65536))
  (memory (export "memory") 2 2 shared)
  (func $narrow (param $v i32) (result i32) (local $fp i32) (local $r i32)
    global.get $__stack_pointer
    i32.const 16
    i32.sub
    local.set $fp
    (i32.store8 offset=0 (local.get $fp) (local.get $v))
    (i32.store16 offset=2 (local.get $fp) (i32.add (local.get $v) (i32.const 0x17e02)))
    (i64.store8 offset=4 (local.get $fp) (i64.const 0x180))
    (i64.store16 offset=6 (local.get $fp) (i64.const 0x1fffe))
    (i64.store32 offset=8 (local.get $fp) (i64.const 0x180000002))
    (i32.store8 offset=12 (local.get $fp) (i32.const 0x2ff))
    (local.set $r (i32.or (local.get $r) (i32.mul (i32.ne
      (i32.load8_u offset=0 (local.get $fp)) (i32.const 255)) (i32.const 1))))
    (local.set $r (i32.or (local.get $r) (i32.mul (i32.ne
      (i32.load8_s offset=0 (local.get $fp)) (i32.const -1)) (i32.const 2))))
    (local.set $r (i32.or (local.get $r) (i32.mul (i32.ne
      (i32.load16_u offset=2 (local.get $fp)) (i32.const 32769)) (i32.const 4))))
    (local.set $r (i32.or (local.get $r) (i32.mul (i32.ne
      (i32.load16_s offset=2 (local.get $fp)) (i32.const -32767)) (i32.const 8))))
    (local.set $r (i32.or (local.get $r) (i32.mul (i64.ne
      (i64.load8_u offset=4 (local.get $fp)) (i64.const 128)) (i32.const 16))))
    (local.set $r (i32.or (local.get $r) (i32.mul (i64.ne
      (i64.load8_s offset=4 (local.get $fp)) (i64.const -128)) (i32.const 32))))
    (local.set $r (i32.or (local.get $r) (i32.mul (i64.ne
      (i64.load16_u offset=6 (local.get $fp)) (i64.const 65534)) (i32.const 64))))
    (local.set $r (i32.or (local.get $r) (i32.mul (i64.ne
      (i64.load16_s offset=6 (local.get $fp)) (i64.const -2)) (i32.const 128))))
    (local.set $r (i32.or (local.get $r) (i32.mul (i64.ne
      (i64.load32_u offset=8 (local.get $fp)) (i64.const 2147483650)) (i32.const 256))))
    (local.set $r (i32.or (local.get $r) (i32.mul (i64.ne
      (i64.load32_s offset=8 (local.get $fp)) (i64.const -2147483646)) (i32.const 512))))
    (local.set $r (i32.or (local.get $r) (i32.mul (i64.ne
      (i64.load8_u offset=12 (local.get $fp)) (i64.const 255)) (i32.const 1024))))
    local.get $r)
  (func (export "_start")
    (local $r i32)
    (local.set $r (call $narrow (i32.const 0x1ff)))
    ;; exit statuses are 8 bits: fold the high bits in
    (drop (call $exit (i32.or (i32.and (local.get $r) (i32.const 0xff))
      (i32.ne (i32.shr_u (local.get $r) (i32.const 8)) (i32.const 0)))))))
