//! Small WAT guests for the lifecycle, import linking, bad pointers and
//! traps.

use wali::{Outcome, WaliCtx};
use wali_tests::run_wat;

fn ctx() -> WaliCtx {
    WaliCtx::builder().arg("test.wasm").build().unwrap()
}

/// A WALI module around `body` (the code of `_start`) with `imports`.
fn module(imports: &str, body: &str) -> String {
    format!(
        r#"(module
            {imports}
            (memory (export "memory") 1 32768 shared)
            (func (export "_start") {body}))"#
    )
}

const EXIT_GROUP: &str =
    r#"(import "wali" "SYS_exit_group" (func $exit_group (param i32) (result i64)))"#;
const PROC_EXIT: &str = r#"(import "wali" "__proc_exit" (func $proc_exit (param i32)))"#;

#[test]
fn exit_status_paths() {
    let m = module(EXIT_GROUP, "(drop (call $exit_group (i32.const 42)))");
    assert_eq!(run_wat(&m, ctx()).unwrap(), Outcome::Exited(42));
    let m = module(PROC_EXIT, "(call $proc_exit (i32.const 3))");
    assert_eq!(run_wat(&m, ctx()).unwrap(), Outcome::Exited(3));
    let m = module("", "");
    assert_eq!(
        run_wat(&m, ctx()).unwrap(),
        Outcome::Exited(0),
        "returning from _start is exit 0"
    );
    // exit status keeps the low 8 bits, as Linux does
    assert_eq!(Outcome::Exited(257).exit_code(), 1);
    assert_eq!(
        Outcome::Killed {
            signal: 11,
            message: String::new()
        }
        .exit_code(),
        139
    );
}

#[test]
fn older_exit_type_and_unknown_imports_link() {
    // SYS_exit declared without a result (older guests)
    let m = module(
        r#"(import "wali" "SYS_exit" (func $exit (param i32)))"#,
        "(call $exit (i32.const 7))",
    );
    assert_eq!(run_wat(&m, ctx()).unwrap(), Outcome::Exited(7));
    // an unknown syscall returns -ENOSYS with its declared type
    let m = module(
        &format!(
            r#"(import "wali" "SYS_frobnicate" (func $f (param i32) (result i64))) {EXIT_GROUP}"#
        ),
        "(drop (call $exit_group (i32.wrap_i64 (i64.sub (i64.const 0) (call $f (i32.const 1))))))",
    );
    assert_eq!(run_wat(&m, ctx()).unwrap(), Outcome::Exited(38));
    // a table syscall declared with another type is adapted: getpid () -> i32
    let m = module(
        &format!(r#"(import "wali" "SYS_getpid" (func $g (result i32))) {EXIT_GROUP}"#),
        "(drop (call $exit_group (i32.eqz (i32.eq (call $g) (i32.const 0)))))",
    );
    assert_eq!(run_wat(&m, ctx()).unwrap(), Outcome::Exited(1));
    // an alias of the spec: SYS_fstatat == newfstatat; fstatat(AT_FDCWD, "/", buf, 0) == 0
    let m = format!(
        r#"(module
            (import "wali" "SYS_fstatat" (func $st (param i32 i32 i32 i32) (result i64)))
            {EXIT_GROUP}
            (memory (export "memory") 1 10 shared)
            (data (i32.const 16) "/\00")
            (func (export "_start")
              (drop (call $exit_group (i32.wrap_i64 (call $st (i32.const -100) (i32.const 16) (i32.const 1024) (i32.const 0)))))))"#
    );
    assert_eq!(run_wat(&m, ctx()).unwrap(), Outcome::Exited(0));
    // a wali-musl internal that is never called links too
    let m = module(r#"(import "wali" "__restore_rt" (func))"#, "");
    assert_eq!(run_wat(&m, ctx()).unwrap(), Outcome::Exited(0));
}

/// `wali::link_imports` binds exactly the module's `wali` imports, odd ones
/// included, on a linker without shadowing (where `add_to_linker` followed
/// by `link_module` refuses a retyped table syscall).
#[test]
fn link_imports_defines_only_what_the_module_imports() {
    let wat = module(
        &format!(
            r#"(import "wali" "SYS_getpid" (func $g (result i32)))
               (import "wali" "SYS_frobnicate" (func $f (param i32) (result i64)))
               {EXIT_GROUP}"#
        ),
        // exit(38 when SYS_frobnicate gave -ENOSYS and getpid a pid, else 0)
        "(drop (call $exit_group (select (i32.wrap_i64 (i64.sub (i64.const 0) (call $f (i32.const 1)))) (i32.const 0) (i32.gt_s (call $g) (i32.const 0)))))",
    );
    let engine = wasmtime::Engine::new(&wali::config()).unwrap();
    let module = wasmtime::Module::new(&engine, wat::parse_str(&wat).unwrap()).unwrap();
    fn get(c: &mut WaliCtx) -> &mut WaliCtx {
        c
    }
    let mut linker = wasmtime::Linker::new(&engine);
    wali::link_imports(&mut linker, &module, get).unwrap();
    let mut store = wali::new_store(&engine, ctx(), get);
    let mut names: Vec<String> = linker
        .iter(&mut store)
        .map(|(m, n, _)| format!("{m}.{n}"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "wali.SYS_exit_group",
            "wali.SYS_frobnicate",
            "wali.SYS_getpid"
        ]
    );
    let instance = linker.instantiate(&mut store, &module).unwrap();
    assert_eq!(
        wali::run_instance(&mut store, &instance, get).unwrap(),
        Outcome::Exited(38)
    );
    // the two-call way needs shadowing for the retyped getpid
    let mut both = wasmtime::Linker::<WaliCtx>::new(&engine);
    wali::add_to_linker(&mut both, get).unwrap();
    assert!(wali::link_module(&mut both, &module, get).is_err());
}

/// `write(-1, ptr, len)` returns -errno as the exit status: EFAULT when
/// the buffer is bad, else EBADF from the kernel.
fn write_status(ptr: i64, len: i64) -> Outcome {
    let m = module(
        &format!(r#"(import "wali" "SYS_write" (func $w (param i32 i32 i32) (result i64))) {EXIT_GROUP}"#),
        &format!("(drop (call $exit_group (i32.wrap_i64 (i64.sub (i64.const 0) (call $w (i32.const -1) (i32.const {ptr}) (i32.const {len}))))))"),
    );
    run_wat(&m, ctx()).unwrap()
}

#[test]
fn bad_pointers_are_efault() {
    // memory is 1 page (65536 bytes)
    assert_eq!(
        write_status(65536, 1),
        Outcome::Exited(14),
        "just past the end"
    );
    assert_eq!(write_status(-1, 1), Outcome::Exited(14), "0xffffffff");
    assert_eq!(write_status(0, 1), Outcome::Exited(14), "NULL");
    // a buffer that starts inside memory is cut at its end, as a native
    // buffer is cut by the end of its mapping: the kernel then sees the fd
    assert_eq!(
        write_status(65534, 4),
        Outcome::Exited(9),
        "runs off the end"
    );
    assert_eq!(write_status(100, -1), Outcome::Exited(9), "huge length");
    assert_eq!(
        write_status(65536, 0),
        Outcome::Exited(9),
        "empty write: the fd decides"
    );
}

#[test]
fn unterminated_path_is_efault() {
    // open(path at the last byte, no NUL before the end of memory)
    let m = format!(
        r#"(module
            (import "wali" "SYS_open" (func $open (param i32 i32 i32) (result i64)))
            {EXIT_GROUP}
            (memory (export "memory") 1 1 shared)
            (func (export "_start")
              (i32.store8 (i32.const 65535) (i32.const 65))
              (drop (call $exit_group (i32.wrap_i64 (i64.sub (i64.const 0) (call $open (i32.const 65535) (i32.const 0) (i32.const 0))))))))"#
    );
    assert_eq!(run_wat(&m, ctx()).unwrap(), Outcome::Exited(14));
}

#[test]
fn traps_end_the_guest_as_signals_and_the_host_goes_on() {
    let cases = [
        ("unreachable", libc::SIGILL),
        ("(drop (i32.load (i32.const -4)))", libc::SIGSEGV),
        (
            "(drop (i32.div_s (i32.const 1) (i32.const 0)))",
            libc::SIGFPE,
        ),
    ];
    for (body, sig) in cases {
        match run_wat(&module("", body), ctx()).unwrap() {
            Outcome::Killed { signal, message } => {
                assert_eq!(signal, sig, "{body}");
                assert!(message.contains("wasm trap"), "{message}");
            }
            o => panic!("{body}: {o:?}"),
        }
    }
    // indirect calls: to a null slot, past the table, and through a type
    // the callee does not have (no cast can make `(i32) -> i32` out of a
    // callee that needs an f64) are traps of their own, as SIGSEGV/SIGILL
    let table = r#"(type $ii (func (param i32) (result i32)))
        (table 2 funcref) (elem (i32.const 1) $f)
        (func $f (param f64) (result f64) (local.get 0))"#;
    for (call, sig, what) in [
        (
            "(call_indirect (type $ii) (i32.const 7) (i32.const 0))",
            libc::SIGSEGV,
            "uninitialized element",
        ),
        (
            "(call_indirect (type $ii) (i32.const 7) (i32.const 5))",
            libc::SIGSEGV,
            "bounds",
        ),
        (
            "(call_indirect (type $ii) (i32.const 7) (i32.const 1))",
            libc::SIGILL,
            "type mismatch",
        ),
    ] {
        let m = module(table, &format!("(drop {call})"));
        match run_wat(&m, ctx()).unwrap() {
            Outcome::Killed { signal, message } => {
                assert_eq!(signal, sig, "{call}: {message}");
                assert!(message.contains(what), "{message}");
            }
            o => panic!("{call}: {o:?}"),
        }
    }
    // memory.grow past the 2 GiB maximum fails with -1 and the guest goes on
    let m = module(
        EXIT_GROUP,
        "(drop (call $exit_group (i32.add (i32.const 10)
             (memory.grow (i32.const 40000)))))",
    );
    assert_eq!(run_wat(&m, ctx()).unwrap(), Outcome::Exited(9));
    // longjmp without the transform: a clear message, not a host crash
    let m = module(
        r#"(import "wali" "longjmp" (func $lj (param i32 i32)))"#,
        "(call $lj (i32.const 0) (i32.const 1))",
    );
    match run_wat(&m, ctx()).unwrap() {
        Outcome::Killed { signal, message } => {
            assert_eq!(signal, libc::SIGABRT);
            assert!(message.contains("longjmp"), "{message}");
        }
        o => panic!("{o:?}"),
    }
    // and the host still runs guests
    assert_eq!(
        run_wat(
            &module(EXIT_GROUP, "(drop (call $exit_group (i32.const 5)))"),
            ctx()
        )
        .unwrap(),
        Outcome::Exited(5)
    );
}

#[test]
fn modules_that_are_not_wali_get_a_clear_error() {
    let plain = r#"(module (memory (export "memory") 1) (func (export "_start")))"#;
    let e = run_wat(plain, ctx()).unwrap_err().to_string();
    assert!(e.contains("not shared"), "{e}");
    let nomem =
        r#"(module (import "wali" "SYS_getpid" (func (result i64))) (func (export "_start")))"#;
    let e = run_wat(nomem, ctx()).unwrap_err().to_string();
    assert!(e.contains("not a WALI module"), "{e}");
    let nothing = r#"(module (func (export "f")))"#;
    let e = run_wat(nothing, ctx()).unwrap_err().to_string();
    assert!(e.contains("imports nothing from \"wali\""), "{e}");
}

#[test]
fn mmap_grows_memory_and_returns_addresses_in_it() {
    // mmap 1 MiB anonymous: the result is page-aligned, past the initial
    // memory, and memory.size covers it.
    let m = format!(
        r#"(module
            (import "wali" "SYS_mmap" (func $mmap (param i32 i32 i32 i32 i32 i64) (result i64)))
            {EXIT_GROUP}
            (memory (export "memory") 2 32768 shared)
            (func (export "_start") (local $a i64)
              (local.set $a (call $mmap (i32.const 0) (i32.const 1048576) (i32.const 3) (i32.const 34) (i32.const -1) (i64.const 0)))
              (if (i64.ne (local.get $a) (i64.const 131072)) (then (drop (call $exit_group (i32.const 1)))))
              (if (i32.lt_u (memory.size) (i32.const 18)) (then (drop (call $exit_group (i32.const 2)))))
              (i32.store (i32.add (i32.wrap_i64 (local.get $a)) (i32.const 1048572)) (i32.const 7))
              (drop (call $exit_group (i32.const 0)))))"#
    );
    assert_eq!(run_wat(&m, ctx()).unwrap(), Outcome::Exited(0));
}

/// Unmapped private anonymous pages are kept and zeroed when mapped again
/// (a C library's allocator unmaps and maps small groups of pages all the
/// time; a fresh page costs a fault): the new mapping reads zero, and
/// touching it again faults fewer than 8 of its 16 pages. A shared mapping
/// is not kept: the private mapping that takes its place gets fresh pages.
#[test]
fn unmapped_private_pages_are_reused_zeroed() {
    let m = format!(
        r#"(module
          (import "wali" "SYS_mmap" (func $mmap (param i32 i32 i32 i32 i32 i64) (result i64)))
          (import "wali" "SYS_munmap" (func $munmap (param i32 i32) (result i64)))
          (import "wali" "SYS_getrusage" (func $getrusage (param i32 i32) (result i64)))
          {EXIT_GROUP}
          (memory (export "memory") 2 32768 shared)
          ;; ru_minflt of this thread (RUSAGE_THREAD)
          (func $minflt (result i64)
            (drop (call $getrusage (i32.const 1) (i32.const 1024)))
            (i64.load (i32.const 1088)))
          (func $touch (param $a i32) (param $v i32) (local $i i32)
            (loop $l
              (i32.store8 (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 12)))
                (local.get $v))
              (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                (i32.const 16)))))
          (func $sum (param $a i32) (result i32) (local $i i32) (local $s i32)
            (loop $l
              (local.set $s (i32.add (local.get $s) (i32.load8_u
                (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 12))))))
              (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                (i32.const 16))))
            (local.get $s))
          ;; map with $flags, write, unmap, map private again: the faults of
          ;; writing the new mapping
          (func $round (param $flags i32) (result i32) (local $a i32) (local $b i32) (local $f i64)
            (local.set $a (i32.wrap_i64 (call $mmap (i32.const 0) (i32.const 65536)
              (i32.const 3) (local.get $flags) (i32.const -1) (i64.const 0))))
            (call $touch (local.get $a) (i32.const 7))
            (drop (call $munmap (local.get $a) (i32.const 65536)))
            (local.set $b (i32.wrap_i64 (call $mmap (i32.const 0) (i32.const 65536)
              (i32.const 3) (i32.const 34) (i32.const -1) (i64.const 0))))
            (if (i32.ne (local.get $a) (local.get $b)) (then (drop (call $exit_group (i32.const 10)))))
            (if (call $sum (local.get $b)) (then (drop (call $exit_group (i32.const 11)))))
            (local.set $f (call $minflt))
            (call $touch (local.get $b) (i32.const 9))
            (drop (call $munmap (local.get $b) (i32.const 65536)))
            (i32.wrap_i64 (i64.sub (call $minflt) (local.get $f))))
          (func (export "_start")
            (if (i32.ge_u (call $round (i32.const 34)) (i32.const 8))
              (then (drop (call $exit_group (i32.const 1)))))
            (if (i32.lt_u (call $round (i32.const 33)) (i32.const 8))
              (then (drop (call $exit_group (i32.const 2)))))
            (drop (call $exit_group (i32.const 0)))))"#
    );
    for &engine in wali_tests::ENGINES {
        assert_eq!(
            wali_tests::run_wat_on(engine, &m, ctx()).unwrap(),
            Outcome::Exited(0),
            "{engine:?}"
        );
    }
}

#[test]
fn setjmp_reentry_keeps_operand_stack_values_and_takes_the_right_arm() {
    // f: 100 stays on the operand stack under a loop that holds setjmp;
    //    longjmp(env, 7) re-enters and f returns 100 + 7.
    // g: setjmp in the else arm of an if; longjmp(env2, 5) -> 5 + 20.
    let m = r#"(module
      (import "wali" "setjmp" (func $setjmp (param i32) (result i32)))
      (import "wali" "longjmp" (func $longjmp (param i32 i32)))
      (import "wali" "SYS_exit_group" (func $exit (param i32) (result i64)))
      (memory (export "memory") 1 10 shared)
      (global $__stack_pointer (mut i32) (i32.const 4096))
      (func $jump (param i32 i32) (call $longjmp (local.get 0) (local.get 1)))
      (func $f (result i32) (local $n i32)
        (block $b (result i32)
          (i32.const 100)
          (loop $l (result i32)
            (local.set $n (call $setjmp (i32.const 1024)))
            (if (i32.eqz (local.get $n)) (then (call $jump (i32.const 1024) (i32.const 7))))
            (local.get $n))
          i32.add))
      (func $g (param $c i32) (result i32) (local $n i32)
        (if (result i32) (local.get $c)
          (then (i32.const 1))
          (else
            (local.set $n (call $setjmp (i32.const 2048)))
            (if (i32.eqz (local.get $n)) (then (call $jump (i32.const 2048) (i32.const 5))))
            (i32.add (local.get $n) (i32.const 20)))))
      (func (export "_start")
        (drop (call $exit (i32.add (call $f) (call $g (i32.const 0)))))))"#;
    assert_eq!(run_wat(m, ctx()).unwrap(), Outcome::Exited(132));
}

/// Values on the operand stack below setjmp calls, as -O2 code leaves them
/// (`local.get $p; i32.const $env; call $setjmp; i32.store`): each return
/// by longjmp must find them as its call left them, although later code
/// of the same nesting level pushed other values of the same types there.
const SETJMP_STACK_VALUES: &str = r#"(module
  (import "wali" "setjmp" (func $setjmp (param i32) (result i32)))
  (import "wali" "sigsetjmp" (func $sigsetjmp (param i32 i32) (result i32)))
  (import "wali" "longjmp" (func $longjmp (param i32 i32)))
  (import "wali" "SYS_exit_group" (func $exit (param i32) (result i64)))
  (memory (export "memory") 1 10 shared)
  (global $__stack_pointer (mut i32) (i32.const 4096))
  (global $one (mut i32) (i32.const 1))
  (global $gpass (mut i32) (i32.const 0))
  (global $fpass (mut i32) (i32.const 0))
  (func $jump (param i32 i32) (call $longjmp (local.get 0) (local.get 1)))
  (func $check (param $ok i32) (param $code i32)
    (if (i32.eqz (local.get $ok))
      (then (drop (call $exit (local.get $code))) (unreachable))))
  ;; g: two `*addr = setjmp(env)` at the top level, with different
  ;; addresses; the jump back to the first must store to its own address
  (func $g (local $p i32) (local $q i32) (local $k i64)
    (local.set $p (i32.sub (global.get $__stack_pointer) (i32.const 32)))
    (global.set $__stack_pointer (local.get $p))
    (local.set $q (i32.const 3600))
    local.get $q
    i32.const 3072
    call $setjmp
    i32.store offset=4
    local.get $p
    i32.const 3328
    call $setjmp
    i32.store offset=8
    ;; a local keeps its value at the longjmp
    (local.set $k (i64.add (local.get $k) (i64.const 1)))
    (global.set $gpass (i32.add (global.get $gpass) (i32.const 1)))
    (if (i32.eq (global.get $gpass) (i32.const 1))
      (then
        (call $check (i32.eqz (i32.load offset=4 (local.get $q))) (i32.const 11))
        (call $check (i32.eqz (i32.load offset=8 (local.get $p))) (i32.const 12))
        (call $longjmp (i32.const 3072) (i32.const 7))))
    (if (i32.eq (global.get $gpass) (i32.const 2))
      (then
        (call $check (i32.eq (i32.load offset=4 (local.get $q)) (i32.const 7)) (i32.const 21))
        (call $check (i32.eqz (i32.load offset=8 (local.get $p))) (i32.const 22))
        (call $jump (i32.const 3328) (i32.const 0))))
    ;; back to the first call, passed on the way to the second one
    (if (i32.eq (global.get $gpass) (i32.const 3))
      (then
        (call $check (i32.eq (i32.load offset=4 (local.get $q)) (i32.const 7)) (i32.const 31))
        (call $check (i32.eq (i32.load offset=8 (local.get $p)) (i32.const 1)) (i32.const 32))
        (call $longjmp (i32.const 3072) (i32.const 9))))
    (call $check (i32.eq (global.get $gpass) (i32.const 4)) (i32.const 33))
    (call $check (i32.eq (i32.load offset=4 (local.get $q)) (i32.const 9)) (i32.const 34))
    (call $check (i32.eqz (i32.load offset=8 (local.get $p))) (i32.const 35))
    (call $check (i64.eq (local.get $k) (i64.const 4)) (i32.const 36))
    (global.set $__stack_pointer (i32.add (local.get $p) (i32.const 32))))
  ;; f: i32, i64, f64, i64, f32 and i32 values below setjmp and sigsetjmp
  ;; calls in a block, a loop and an if, 0.5 + 3 + 0.25 + 100 = 103.75 on
  ;; every return
  (func $f (local $t f32)
    i32.const 256
    i64.const 0x1122334455667788
    block (result f64)
      f64.const 0.5
      loop (result f32)
        i64.const 3
        global.get $one
        if (result f32)
          f32.const 0.25
          i32.const 512
          i32.const 1024
          call $setjmp
          i32.store
          f32.const 100
          f32.add
          i32.const 516
          i32.const 2048
          i32.const 1
          call $sigsetjmp
          i32.store
        else
          f32.const 9
        end
        local.set $t
        f32.convert_i64_s
        local.get $t
        f32.add
      end
      f64.promote_f32
      f64.add
    end
    f64.const 103.75
    f64.eq
    (i32.add (global.get $fpass) (i32.const 40))
    call $check
    i64.const 0x1122334455667788
    i64.eq
    (i32.add (global.get $fpass) (i32.const 50))
    call $check
    i32.const 256
    i32.eq
    (i32.add (global.get $fpass) (i32.const 60))
    call $check
    (global.set $fpass (i32.add (global.get $fpass) (i32.const 1)))
    (if (i32.eq (global.get $fpass) (i32.const 1))
      (then
        (call $check (i32.eqz (i32.load (i32.const 512))) (i32.const 71))
        (call $check (i32.eqz (i32.load (i32.const 516))) (i32.const 72))
        (call $jump (i32.const 1024) (i32.const 7))))
    (if (i32.eq (global.get $fpass) (i32.const 2))
      (then
        (call $check (i32.eq (i32.load (i32.const 512)) (i32.const 7)) (i32.const 81))
        (call $check (i32.eqz (i32.load (i32.const 516))) (i32.const 82))
        (call $longjmp (i32.const 2048) (i32.const 0))))
    (if (i32.eq (global.get $fpass) (i32.const 3))
      (then
        (call $check (i32.eq (i32.load (i32.const 512)) (i32.const 7)) (i32.const 91))
        (call $check (i32.eq (i32.load (i32.const 516)) (i32.const 1)) (i32.const 92))
        (call $jump (i32.const 1024) (i32.const -5))))
    (call $check (i32.eq (global.get $fpass) (i32.const 4)) (i32.const 101))
    (call $check (i32.eq (i32.load (i32.const 512)) (i32.const -5)) (i32.const 102))
    (call $check (i32.eqz (i32.load (i32.const 516))) (i32.const 103)))
  (func (export "_start")
    (call $g)
    (call $f)
    (drop (call $exit (i32.const 0)))))"#;

#[test]
fn setjmp_keeps_the_operand_values_below_each_call_on_both_engines() {
    for &engine in wali_tests::ENGINES {
        assert_eq!(
            wali_tests::run_wat_on(engine, SETJMP_STACK_VALUES, ctx()).unwrap(),
            Outcome::Exited(0),
            "{engine:?}"
        );
    }
}

#[test]
fn stack_overflow_is_a_trap_and_the_host_runs_the_next_guest() {
    let m = module("", "(call $rec)").replace(
        "(func (export \"_start\")",
        "(func $rec (call $rec)) (func (export \"_start\")",
    );
    match run_wat(&m, ctx()).unwrap() {
        Outcome::Killed { signal, message } => {
            assert_eq!(signal, libc::SIGSEGV);
            assert!(
                message.contains("call stack exhausted") && message.contains("rec"),
                "{message}"
            );
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(
        run_wat(
            &module(EXIT_GROUP, "(drop (call $exit_group (i32.const 6)))"),
            ctx()
        )
        .unwrap(),
        Outcome::Exited(6)
    );
}

#[test]
fn an_embedders_timeout_and_fuel_end_a_spinning_guest() {
    // (a module that imports nothing: its checks poll through a table the
    // host fills)
    let spin = module("", "(loop $l (br $l))");
    for &engine in wali_tests::ENGINES {
        let mut p = wali::Policy::default();
        p.timeout = Some(std::time::Duration::from_millis(200));
        let ctx = WaliCtx::builder().arg("spin").policy(p).build().unwrap();
        let t = std::time::Instant::now();
        match wali_tests::run_wat_on(engine, &spin, ctx).unwrap() {
            Outcome::Killed { signal, message } => {
                assert_eq!(signal, libc::SIGKILL, "{engine:?}: {message}")
            }
            o => panic!("{engine:?}: {o:?}"),
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{engine:?}"
        );
    }
    // fuel: with metering on in the engine's config
    let mut config = wali::config();
    config.consume_fuel(true);
    let r = wali::Runner::with_config(&config).unwrap().cache(None);
    let m = r.load_bytes(&wat::parse_str(&spin).unwrap()).unwrap();
    let mut p = wali::Policy::default();
    p.fuel = Some(100_000);
    let ctx = WaliCtx::builder().arg("spin").policy(p).build().unwrap();
    match r.run(&m, ctx).unwrap() {
        Outcome::Killed { signal, message } => {
            assert_eq!(signal, libc::SIGXCPU, "{message}");
        }
        o => panic!("{o:?}"),
    }
}

/// A computation without a loop: fib(60) by recursion, through a function
/// pointer and between two functions that call each other. No loop header
/// runs, so only the checks at the entries of the functions on a call cycle
/// let the timeout end it. The third fib starts with a short loop, whose
/// header's check stands in for its entry's.
#[test]
fn a_timeout_ends_a_loop_free_recursion() {
    let fib = r#"(module
      (import "wali" "__cl_get_argc" (func $argc (result i32)))
      (memory (export "memory") 1 1 shared)
      (type $t (func (param i64) (result i64)))
      (table 1 funcref) (elem (i32.const 0) $viatable)
      (func $viatable (param i64) (result i64)
        (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
          (then (local.get 0))
          (else (i64.add
            (call_indirect (type $t) (i64.sub (local.get 0) (i64.const 1)) (i32.const 0))
            (call_indirect (type $t) (i64.sub (local.get 0) (i64.const 2)) (i32.const 0))))))
      (func $a (param i64) (result i64)
        (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
          (then (local.get 0))
          (else (i64.add (call $b (i64.sub (local.get 0) (i64.const 1)))
                         (call $b (i64.sub (local.get 0) (i64.const 2)))))))
      (func $b (param i64) (result i64) (call $a (local.get 0)))
      (func $c (param i64) (result i64) (local i32)
        (loop $l (br_if $l (i32.lt_u
          (local.tee 1 (i32.add (local.get 1) (i32.const 1))) (i32.const 3))))
        (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
          (then (local.get 0))
          (else (i64.add (call $c (i64.sub (local.get 0) (i64.const 1)))
                         (call $c (i64.sub (local.get 0) (i64.const 2)))))))
      (func (export "_start")
        (drop (if (result i64) (i32.eq (call $argc) (i32.const 1))
          (then (call $viatable (i64.const 60)))
          (else (if (result i64) (i32.eq (call $argc) (i32.const 2))
            (then (call $a (i64.const 60)))
            (else (call $c (i64.const 60)))))))))"#;
    for &engine in wali_tests::ENGINES {
        for args in [&["fib"][..], &["fib", "mutual"], &["fib", "a", "loop"]] {
            let mut p = wali::Policy::default();
            p.timeout = Some(std::time::Duration::from_millis(200));
            let ctx = WaliCtx::builder().args(args).policy(p).build().unwrap();
            let t = std::time::Instant::now();
            match wali_tests::run_wat_on(engine, fib, ctx).unwrap() {
                Outcome::Killed { signal, .. } => assert_eq!(signal, libc::SIGKILL),
                o => panic!("{engine:?} {args:?}: {o:?}"),
            }
            assert!(
                t.elapsed() < std::time::Duration::from_secs(5),
                "{engine:?}"
            );
        }
    }
}

/// A call through an `int (*)(int)` pointer to `int a(int)`, `void v(int)`
/// and `int two(int, int)`: 42 + 0 + (5 + 0), as C behaves natively, with
/// the exact-type fast path and (in a module with code that writes its
/// table) without it.
#[test]
fn cast_calls_behave_as_native() {
    for mutating in [false, true] {
        let extra = if mutating {
            "(func $mut (table.set 0 (i32.const 2) (ref.func $two)))"
        } else {
            ""
        };
        let m = format!(
            r#"(module
              {EXIT_GROUP}
              (memory (export "memory") 1 1 shared)
              (table 3 funcref) (elem (i32.const 0) $a $v $two)
              (func $a (param i32) (result i32) (i32.add (local.get 0) (i32.const 40)))
              (func $v (param i32))
              (func $two (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
              {extra}
              (func (export "_start")
                (drop (call $exit_group (i32.add (i32.add
                  (call_indirect (param i32) (result i32) (i32.const 2) (i32.const 0))
                  (call_indirect (param i32) (result i32) (i32.const 9) (i32.const 1)))
                  (call_indirect (param i32) (result i32) (i32.const 5) (i32.const 2)))))))"#
        );
        assert_eq!(
            run_wat(&m, ctx()).unwrap(),
            Outcome::Exited(47),
            "table-writing code: {mutating}"
        );
        // exact-type calls take the fast path unless the table can change
        let out = wali_core::transform::transform(
            &wat::parse_str(&m).unwrap(),
            &wali_core::transform::Options::default(),
        )
        .unwrap();
        let fast = out.applied.iter().any(|a| a.contains("fast path"));
        assert_eq!(fast, !mutating, "{:?}", out.applied);
    }
}

#[test]
fn a_futex_wait_sleeps_until_woken_whatever_is_stored_meanwhile() {
    // main: FUTEX_WAIT_PRIVATE on a word holding 0 for 300 ms; a thread
    // stores 5 into it 50 ms later and wakes nobody. Linux compares once:
    // the wait ends by its timeout (ETIMEDOUT), not EAGAIN. Then a thread
    // that stores and wakes ends a wait at once (0).
    let m = r#"(module
        (import "wali" "__wasm_thread_spawn" (func $spawn (param i32 i32) (result i32)))
        (import "wali" "SYS_exit_group" (func $exit_group (param i32) (result i64)))
        (import "wali" "SYS_exit" (func $exit (param i32) (result i64)))
        (import "wali" "SYS_nanosleep" (func $nanosleep (param i32 i32) (result i64)))
        (import "wali" "SYS_futex" (func $futex (param i32 i32 i32 i32 i32 i32) (result i64)))
        (memory (export "memory") 1 10 shared)
        (table 3 funcref)
        (elem (i32.const 1) $store $store_wake)
        (func $store (param $tid i32) (param $arg i32)
          (drop (call $nanosleep (i32.const 48) (i32.const 0)))
          (i32.atomic.store (i32.const 64) (i32.const 5))
          (drop (call $exit (i32.const 0))))
        (func $store_wake (param $tid i32) (param $arg i32)
          (drop (call $nanosleep (i32.const 48) (i32.const 0)))
          (i32.atomic.store (i32.const 128) (i32.const 5))
          (drop (call $futex (i32.const 128) (i32.const 129) (i32.const 1)
                             (i32.const 0) (i32.const 0) (i32.const 0)))
          (drop (call $exit (i32.const 0))))
        (func (export "_start") (local $r i64)
          ;; timeout {0 s, 300 ms} at 32; the threads sleep {0, 50 ms} (at 48)
          (i64.store (i32.const 32) (i64.const 0))
          (i64.store (i32.const 40) (i64.const 300000000))
          (i64.store (i32.const 48) (i64.const 0))
          (i64.store (i32.const 56) (i64.const 50000000))
          (drop (call $spawn (i32.const 1) (i32.const 0)))
          (local.set $r (call $futex (i32.const 64) (i32.const 128) (i32.const 0)
                                     (i32.const 32) (i32.const 0) (i32.const 0)))
          (if (i64.ne (local.get $r) (i64.const -110))
            (then (drop (call $exit_group (i32.wrap_i64 (i64.sub (i64.const 0) (local.get $r)))))))
          (drop (call $spawn (i32.const 2) (i32.const 0)))
          (local.set $r (call $futex (i32.const 128) (i32.const 128) (i32.const 0)
                                     (i32.const 32) (i32.const 0) (i32.const 0)))
          ;; woken (0), or EAGAIN if the store came first
          (drop (call $exit_group (i32.add (i32.const 100)
            (i32.wrap_i64 (i64.sub (i64.const 0) (local.get $r))))))))"#;
    for &engine in wali_tests::ENGINES {
        let t = std::time::Instant::now();
        let o = wali_tests::run_wat_on(engine, m, ctx()).unwrap();
        assert!(
            o == Outcome::Exited(100) || o == Outcome::Exited(100 + libc::EAGAIN),
            "{engine:?}: {o:?}"
        );
        assert!(
            t.elapsed() >= std::time::Duration::from_millis(300),
            "{engine:?}"
        );
    }
}

#[test]
fn legacy_exception_handling_runs_on_both_engines() {
    // C++-style: a throw two frames deep caught in _start, catch_all and
    // rethrow to an outer try, delegates, results out of try blocks and a
    // br out of a catch body; in the legacy encoding, translated at load
    let m = include_str!("../guests/exceptions.wat");
    for &engine in wali_tests::ENGINES {
        let o = wali_tests::run_wat_on(engine, m, ctx());
        assert_eq!(o, Ok(Outcome::Exited(42)), "{engine:?}");
    }
}

/// Functions in the shape `-O0` code has: every C local in a frame at
/// `__stack_pointer - 16`. `$sq` keeps its frame to itself (its slots become
/// locals); `$esc` passes the address of its local to `$set7`, which writes
/// it (the frame stays in memory, or the 7 is lost); `$lo` reads the low
/// byte of an int it stored (that slot stays in memory, or the byte is
/// wrong); `$loop` sums 1..=10 in frame slots through a loop and blocks.
/// Exit status: 81 + 7 + 0x34 + 55 = 195.
const O0_FRAMES: &str = r#"(module
  (import "wali" "SYS_exit_group" (func $exit (param i32) (result i64)))
  (global $__stack_pointer (mut i32) (i32.const 65536))
  (memory (export "memory") 2 2 shared)
  (func $sq (param i32) (result i32) (local i32)
    global.get $__stack_pointer
    i32.const 16
    i32.sub
    local.set 1
    local.get 1
    local.get 0
    i32.store offset=12
    local.get 1
    local.get 1
    i32.load offset=12
    local.get 1
    i32.load offset=12
    i32.mul
    i32.store offset=8
    local.get 1
    i32.load offset=8)
  (func $set7 (param i32) local.get 0 i32.const 7 i32.store)
  (func $esc (result i32) (local i32)
    global.get $__stack_pointer
    i32.const 16
    i32.sub
    local.tee 0
    global.set $__stack_pointer
    local.get 0
    i32.const 0
    i32.store offset=12
    local.get 0
    i32.const 12
    i32.add
    call $set7
    local.get 0
    i32.load offset=12
    local.get 0
    i32.const 16
    i32.add
    global.set $__stack_pointer)
  (func $lo (param i32) (result i32) (local i32)
    global.get $__stack_pointer
    i32.const 16
    i32.sub
    local.set 1
    local.get 1
    local.get 0
    i32.store offset=12
    local.get 1
    i32.load8_u offset=12)
  (func $loop (result i32) (local i32)
    global.get $__stack_pointer
    i32.const 16
    i32.sub
    local.set 0
    local.get 0
    i32.const 0
    i32.store offset=8
    local.get 0
    i32.const 1
    i32.store offset=12
    block
      loop
        local.get 0
        i32.load offset=12
        i32.const 10
        i32.gt_s
        br_if 1
        local.get 0
        local.get 0
        i32.load offset=8
        local.get 0
        i32.load offset=12
        i32.add
        i32.store offset=8
        local.get 0
        local.get 0
        i32.load offset=12
        i32.const 1
        i32.add
        i32.store offset=12
        br 0
      end
    end
    local.get 0
    i32.load offset=8)
  (func (export "_start")
    (drop (call $exit
      (i32.add
        (i32.add (call $sq (i32.const 9)) (call $esc))
        (i32.add (call $lo (i32.const 0x1234)) (call $loop)))))))"#;

#[test]
fn promoted_frame_slots_keep_c_semantics_on_both_engines() {
    for &engine in wali_tests::ENGINES {
        assert_eq!(
            wali_tests::run_wat_on(engine, O0_FRAMES, ctx()).unwrap(),
            Outcome::Exited(195),
            "{engine:?}"
        );
    }
}

/// Narrow C locals kept in locals by frame promotion read back as they do
/// in memory: zero- and sign-extended from 8, 16 and 32 bits, in i32 and
/// i64 (`narrow.wat` exits with the bits of the checks that failed). The
/// same guest without frame promotion is the control.
#[test]
fn promoted_narrow_slots_extend_as_their_loads_on_both_engines() {
    exits_with_and_without(
        include_str!("../guests/narrow.wat"),
        0,
        wali::TransformOptions {
            frames: false,
            ..Default::default()
        },
    );
}

/// Short leaf functions copied into their callers (the inlining
/// transform) give what their calls give: arguments in order, `return` and
/// branches to the function's label from any depth, locals zero at every
/// call, other number types, no result; and what is not inlined (a loop, a
/// call, a long body) still runs. The same guest without the transform is
/// the control.
#[test]
fn inlined_leaf_functions_behave_as_their_calls_on_both_engines() {
    exits_with_and_without(
        include_str!("../guests/inline.wat"),
        77,
        wali::TransformOptions {
            inline: false,
            ..Default::default()
        },
    );
}

/// `wat` exits with `code` on every engine, and also on wasmtime with the
/// transforms `control` (the one under test turned off).
fn exits_with_and_without(wat: &str, code: i32, control: wali::TransformOptions) {
    for &engine in wali_tests::ENGINES {
        assert_eq!(
            wali_tests::run_wat_on(engine, wat, ctx()).unwrap(),
            Outcome::Exited(code),
            "{engine:?}"
        );
    }
    let r = wali_tests::runner().transforms(control);
    let module = r.load_bytes(&wat::parse_str(wat).unwrap()).unwrap();
    assert_eq!(r.run(&module, ctx()).unwrap(), Outcome::Exited(code));
}
