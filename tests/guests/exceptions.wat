;; A "C++-style" guest in legacy wasm exception handling (try/catch/
;; catch_all/rethrow/delegate, LLVM's -fwasm-exceptions encoding), which
;; the runtime rewrites into try_table/exnref at load. Each check exits
;; with its own code when it fails; at the end, an exception thrown two
;; frames below _start (past a delegate to the caller) is caught there
;; and its payload (42) is the exit status.
(module
  (import "wali" "SYS_exit_group" (func $exit_group (param i32) (result i64)))
  (memory (export "memory") 1 1 shared)
  (tag $e (param i32))
  (tag $f)
  (tag $g (param i32 i64))

  (func $thrower (param i32) (throw $e (local.get 0)))
  (func $middle (param i32) (call $thrower (local.get 0)))

  ;; catch_all + rethrow to an outer try, which takes the payload
  (func $rethrow (param i32) (result i32)
    try (result i32)
      try
        (call $middle (local.get 0))
      catch_all
        rethrow 0
      end
      i32.const -1
    catch $e
    end)

  ;; a rethrow from a nested catch (rethrow 1) rethrows the outer
  ;; exception ($e 7), not the one the nested catch holds ($f)
  (func $rethrow_outer (result i32)
    try (result i32)
      try
        (throw $e (i32.const 7))
      catch $e
        drop
        try
          throw $f
        catch $f
          rethrow 1
        end
      end
      i32.const -1
    catch $f
      i32.const -2
    catch $e
    end)

  ;; delegate 1 skips the middle try's catch: the outer one adds 10
  (func $delegate (result i32)
    try (result i32)
      try (result i32)
        try
          (call $middle (i32.const 5))
        delegate 1
        i32.const -1
      catch $e
        drop
        i32.const 100
      end
    catch $e
      i32.const 10
      i32.add
    end)

  ;; delegate to a block: the next try outside it, past a catch_all
  (func $delegate_block (result i32)
    try (result i32)
      block
        try
          try
            (throw $e (i32.const 3))
          delegate 1
        catch_all
          unreachable
        end
      end
      i32.const -1
    catch $e
    end)

  ;; delegate to the caller: this function's catch_all does not run
  (func $delegate_caller (param i32)
    try
      try
        (call $middle (local.get 0))
      delegate 1
    catch_all
      unreachable
    end)

  ;; results flow out of try and catch; a br leaves a catch body
  (func $results (result i32)
    ;; no exception: the body's result (4)
    try (result i32)
      i32.const 4
    catch_all
      i32.const -100
    end
    ;; a br from the body to the try's label (60)
    try $t (result i32)
      (br $t (i32.const 60))
    catch_all
      i32.const -100
    end
    i32.add
    ;; a br out of a catch body, past the code after the try (9 + 1)
    block $b (result i32)
      try (result i32)
        (call $middle (i32.const 9))
        i32.const -100
      catch $e
        i32.const 1
        i32.add
        br $b
      end
      drop
      i32.const -100
    end
    i32.add
    ;; a try with a parameter (200 + 100)
    i32.const 200
    try (param i32) (result i32)
      call $thrower
      i32.const -100
    catch $e
      i32.const 100
      i32.add
    end
    i32.add
    ;; a two-value payload and result (1000 + 2000)
    try (result i32 i64)
      (throw $g (i32.const 1000) (i64.const 2000))
    catch $g
    end
    i32.wrap_i64
    i32.add
    i32.add)

  (func $check (param $got i32) (param $want i32) (param $code i32)
    (if (i32.ne (local.get $got) (local.get $want))
      (then (drop (call $exit_group (local.get $code))))))

  (func (export "_start")
    (call $check (call $rethrow (i32.const 8)) (i32.const 8) (i32.const 1))
    (call $check (call $rethrow_outer) (i32.const 7) (i32.const 2))
    (call $check (call $delegate) (i32.const 15) (i32.const 3))
    (call $check (call $delegate_block) (i32.const 3) (i32.const 4))
    (call $check (call $results) (i32.const 3374) (i32.const 5))
    try
      (call $delegate_caller (i32.const 42))
    catch $e
      call $exit_group
      drop
    end
    (drop (call $exit_group (i32.const 99)))))
