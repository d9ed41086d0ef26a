//! The load-time transforms on small modules: a module that needs none is
//! returned unchanged; rewritten modules validate.

use wali_core::transform::{transform, Options};

fn validate(wasm: &[u8]) {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(wasm)
        .expect("valid output");
}

#[test]
fn untouched_module_is_not_rewritten() {
    let m = wat::parse_str(
        r#"(module (import "wali" "SYS_getpid" (func (result i64)))
            (memory (export "memory") 1 1 shared)
            (table 2 funcref) (elem (i32.const 0) $a $b)
            (func $a (param i32) (result i32) local.get 0)
            (func $b (param i32) (result i32) i32.const 1)
            (func (export "_start") (drop (call_indirect (param i32) (result i32) (i32.const 1) (i32.const 0)))))"#,
    )
    .unwrap();
    let out = transform(&m, &Options::default()).unwrap();
    assert!(out.wasm.is_none(), "{:?}", out.applied);
    assert!(!out.needs_exceptions);
}

#[test]
fn casts_only_where_a_table_function_has_an_adaptable_type() {
    let m = wat::parse_str(
        r#"(module
            (memory (export "memory") 1 1 shared)
            (table 3 funcref) (elem (i32.const 0) $a $v $d)
            (func $a (param i32) (result i32) local.get 0)
            (func $v (param i32))
            (func $d (param f64) (result i32) i32.const 0)
            (func (export "_start")
              (drop (call_indirect (param i32) (result i32) (i32.const 1) (i32.const 1)))
              (call_indirect (param i64) (i64.const 1) (i32.const 1))))"#,
    )
    .unwrap();
    let out = transform(&m, &Options::default()).unwrap();
    let w = out.wasm.expect("rewritten");
    validate(&w);
    assert!(
        out.applied
            .iter()
            .any(|a| a.contains("1 call_indirect type")),
        "{:?}",
        out.applied
    );
}

#[test]
fn setjmp_module_validates_and_needs_exceptions() {
    let m = wat::parse_str(
        r#"(module
            (import "wali" "sigsetjmp" (func $ssj (param i32 i32) (result i32)))
            (import "wali" "longjmp" (func $lj (param i32 i32)))
            (memory (export "memory") 1 1 shared)
            (global $__stack_pointer (mut i32) (i32.const 1024))
            (func (export "_start") (local i32)
              (i32.const 3)
              (block (result i32)
                (drop (call $ssj (i32.const 64) (i32.const 1)))
                (i32.const 4))
              i32.add
              local.set 0
              (call $lj (i32.const 64) (i32.const 1))))"#,
    )
    .unwrap();
    let out = transform(&m, &Options::default()).unwrap();
    assert!(out.needs_exceptions);
    let w = out.wasm.expect("rewritten");
    validate(&w);
    let names: Vec<String> = wasmparser::Parser::new(0)
        .parse_all(&w)
        .filter_map(|p| match p {
            Ok(wasmparser::Payload::ImportSection(r)) => Some(
                r.into_imports()
                    .map(|i| i.unwrap().name.to_string())
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(
        names.contains(&"__wali_sjlj_sigsave".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"__wali_sjlj_longjmp".to_string()),
        "{names:?}"
    );
    // every transform can be turned off
    let none = Options {
        setjmp: false,
        fn_casts: false,
        exit_on_return: false,
        legacy_exceptions: false,
        signal_poll: false,
        fuel: false,
        spawn: false,
        stack: false,
        frames: false,
        static_data: false,
        inline: false,
    };
    assert!(transform(&m, &none).unwrap().wasm.is_none());
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    assert!(transform(b"\0asm\x01\0\0\0\x01\xff", &Options::default()).is_err());
    assert!(
        transform(b"", &Options::default()).is_err()
            || transform(b"", &Options::default()).unwrap().wasm.is_none()
    );
}

#[test]
fn an_exec_keeps_the_policy() {
    let mut p = wali_core::Policy::default();
    p.deny("net").unwrap();
    p.deny_native_exec = true;
    let req = wali_core::ExecRequest {
        path: "/x.wasm".into(),
        argv: vec![c"x.wasm".into()],
        env: vec![c"A=1".into()],
        policy: Some(p.clone()),
        c_stack: Some(1 << 20),
    };
    let ctx = req.builder(0).build().unwrap();
    assert_eq!(ctx.process().policy(), Some(&p));
    assert_eq!(ctx.process().c_stack_size(), 1 << 20);
    let socket = wali_spec::syscall_by_name("socket").unwrap().nr;
    assert!(ctx.process().policy().unwrap().denies(socket));
    assert!(!ctx
        .process()
        .policy()
        .unwrap()
        .denies(wali_spec::syscall_by_name("read").unwrap().nr));
}

#[test]
fn signal_poll_checks_a_flag_at_loops_and_recursive_entries() {
    let opts = Options {
        signal_poll: true,
        ..Options::NONE
    };
    let m = wat::parse_str(
        r#"(module (import "wali" "__cl_get_argc" (func $argc (result i32)))
            (memory (export "memory") 1 1 shared)
            (func $rec (call $rec))
            (func (export "_start") (loop $l (br $l)) (call $rec)))"#,
    )
    .unwrap();
    let out = transform(&m, &opts).unwrap();
    let wasm = out.wasm.expect("rewritten");
    validate(&wasm);
    assert!(out.applied.iter().any(|a| a.contains("signal polling")));
    // the flag memory is the second memory, exported; it is loaded twice,
    // at `_start`'s loop header and at the entry of `$rec` (which calls
    // itself; `_start` is on no call cycle), each time guarding a call to
    // the import
    let text = wasmprinter::print_bytes(&wasm).unwrap();
    assert!(
        text.contains(r#"(export "__wali_signal_flag" (memory 1))"#),
        "{text}"
    );
    assert_eq!(text.matches("i32.load 1").count(), 2, "{text}");
    assert_eq!(text.matches("call $argc").count(), 2, "{text}");
    let rec = text.find("func $rec").unwrap();
    let start = text
        .find("func (;2;)")
        .or_else(|| text.rfind("(func "))
        .unwrap();
    assert!(text[rec..start].contains("i32.load 1"), "{text}");
    // a module that imports no argument-less call polls through a
    // one-slot table it exports for the host to fill (no maximum: see
    // rebuild.rs), with a note
    let m = wat::parse_str(
        r#"(module (import "wali" "SYS_write" (func $w (param i32 i32 i32) (result i64)))
            (memory (export "memory") 1 1 shared)
            (func (export "_start") (loop $l (br $l))))"#,
    )
    .unwrap();
    let out = transform(&m, &opts).unwrap();
    let wasm = out.wasm.expect("rewritten");
    validate(&wasm);
    let text = wasmprinter::print_bytes(&wasm).unwrap();
    assert!(
        text.contains(r#"(export "__wali_poll" (table 0))"#)
            && text.contains("(table (;0;) 1 funcref)"),
        "{text}"
    );
    assert!(text.contains("call_indirect (type "), "{text}");
    assert!(!text.contains("call $w"), "{text}");
    assert!(out.notes.iter().any(|n| n.contains("__wali_poll")));
    // nothing loops and no call cycle: every call ends, nothing to check
    let m = wat::parse_str(
        r#"(module (import "wali" "__cl_get_argc" (func $argc (result i32)))
            (memory (export "memory") 1 1 shared)
            (func $f (result i32) (call $argc))
            (func (export "_start") (drop (call $f))))"#,
    )
    .unwrap();
    assert!(transform(&m, &opts).unwrap().wasm.is_none());
}

#[test]
fn fuel_charges_function_entries_and_loop_bodies() {
    let opts = Options {
        fuel: true,
        ..Options::NONE
    };
    let m = wat::parse_str(
        r#"(module (import "wali" "SYS_getpid" (func $pid (result i64)))
            (memory (export "memory") 1 1 shared)
            (func (export "_start") (loop $l (nop) (nop) (br $l))))"#,
    )
    .unwrap();
    let out = transform(&m, &opts).unwrap();
    let wasm = out.wasm.expect("rewritten");
    validate(&wasm);
    let text = wasmprinter::print_bytes(&wasm).unwrap();
    // an exported i64 global, no flag memory (signals are not polled)
    assert!(
        text.contains(r#"(export "__wali_fuel" (global 0))"#),
        "{text}"
    );
    assert!(!text.contains("__wali_signal_flag"), "{text}");
    // the entry charges the function (loop, 2 nops, br, end, end = 6); the
    // loop header its body (nop, nop, br, end = 4)
    assert!(text.contains("i64.const 6\n"), "{text}");
    assert!(text.contains("i64.const 4\n"), "{text}");
    assert_eq!(text.matches("call $pid").count(), 2, "{text}");
}

/// What a module the setjmp rewrite and the poll transform both change
/// needs: an import to poll with, setjmp and longjmp, memory and the C
/// stack pointer.
const SETJMP_POLLED: &str = r#"
    (import "wali" "__cl_get_argc" (func $argc (result i32)))
    (import "wali" "setjmp" (func $sj (param i32) (result i32)))
    (import "wali" "longjmp" (func $lj (param i32 i32)))
    (memory (export "memory") 1 1 shared)
    (global $__stack_pointer (mut i32) (i32.const 1024))"#;

#[test]
fn polls_reach_into_functions_the_setjmp_rewrite_replaces() {
    // `_start` calls setjmp (its body is rebuilt) and loops around the call
    let m = wat::parse_str(format!(
        r#"(module {SETJMP_POLLED}
            (global $n (mut i32) (i32.const 0))
            (func (export "_start")
              (loop $l
                (drop (call $sj (i32.const 64)))
                (global.set $n (i32.add (global.get $n) (i32.const 1)))
                (br_if $l (i32.lt_u (global.get $n) (i32.const 3))))))"#
    ))
    .unwrap();
    let opts = Options {
        signal_poll: true,
        fuel: true,
        ..Options::default()
    };
    let out = transform(&m, &opts).unwrap();
    let w = out.wasm.expect("rewritten");
    validate(&w);
    let text = wasmprinter::print_bytes(&w).unwrap();
    // the entry check and the loop's, each reading the flag and the fuel
    assert!(text.matches("i32.load 1").count() >= 2, "{text}");
    assert!(text.matches("call $argc").count() >= 2, "{text}");
    assert!(
        text.contains(r#"(export "__wali_fuel" (global 2))"#),
        "{text}"
    );
}

/// Without fuel, a function the setjmp rewrite rebuilds checks at its entry
/// only when it is on a call cycle, as other functions do.
#[test]
fn setjmp_rebuilt_functions_check_at_entry_only_on_a_call_cycle() {
    let m = wat::parse_str(format!(
        r#"(module {SETJMP_POLLED}
            (func $once (drop (call $sj (i32.const 64))))
            (func $rec (param i32)
              (drop (call $sj (i32.const 64)))
              (if (local.get 0) (then (call $rec (i32.sub (local.get 0) (i32.const 1))))))
            (func (export "_start") (call $once) (call $rec (i32.const 3))))"#
    ))
    .unwrap();
    let opts = Options {
        signal_poll: true,
        ..Options::default()
    };
    let out = transform(&m, &opts).unwrap();
    let w = out.wasm.expect("rewritten");
    validate(&w);
    let text = wasmprinter::print_bytes(&w).unwrap();
    let body = |name: &str| {
        let at = text.find(&format!("(func {name} ")).unwrap();
        let end = text[at + 1..]
            .find("\n  (func ")
            .map_or(text.len(), |e| at + 1 + e);
        &text[at..end]
    };
    assert!(
        out.applied.iter().any(|a| a.contains("setjmp")),
        "{:?}",
        out.applied
    );
    assert!(!body("$once").contains("i32.load 1"), "{text}");
    assert_eq!(body("$rec").matches("i32.load 1").count(), 1, "{text}");
}

#[test]
fn a_64_bit_table_or_memory_is_left_alone() {
    // found by the transform fuzz target: the trampolines index table 0
    // with an i32, which a 64-bit table refuses
    for decl in ["(table i64 0 5 funcref)", "(memory i64 1)"] {
        let m = wat::parse_str(format!(
            r#"(module
                (import "wali" "__wasm_thread_spawn" (func (param i32 i32) (result i32)))
                {decl}
                (func (export "_start")))"#
        ))
        .unwrap();
        let out = transform(&m, &Options::default()).unwrap();
        assert!(out.wasm.is_none(), "{decl}");
        assert!(out.notes.iter().any(|n| n.contains("64-bit")), "{decl}");
    }
}

#[test]
fn a_table_0_of_externrefs_gets_no_trampolines() {
    // found by the transform fuzz target: call_indirect needs a funcref table
    let m = wat::parse_str(
        r#"(module
            (import "wali" "__wasm_thread_spawn" (func (param i32 i32) (result i32)))
            (table 1 externref)
            (memory (export "memory") 1 1 shared)
            (func (export "_start")))"#,
    )
    .unwrap();
    let out = transform(&m, &Options::default()).unwrap();
    if let Some(w) = &out.wasm {
        validate(w);
    }
    assert!(
        !out.applied.iter().any(|a| a.contains("trampolines")),
        "{:?}",
        out.applied
    );
}

#[test]
fn setjmp_without_a_memory_is_left_alone() {
    // found by the transform fuzz target: the jump buffer needs memory 0
    let m = wat::parse_str(
        r#"(module
            (import "wali" "setjmp" (func $sj (param i32) (result i32)))
            (func (export "_start") (drop (call $sj (i32.const 0)))))"#,
    )
    .unwrap();
    let out = transform(&m, &Options::default()).unwrap();
    if let Some(w) = &out.wasm {
        validate(w);
    }
    assert!(
        out.notes.iter().any(|n| n.contains("no memory")),
        "{:?}",
        out.notes
    );
}

#[test]
fn a_module_exporting_wali_names_is_not_transformed_again() {
    // found by the transform fuzz target: an export named like ours
    let m = wat::parse_str(
        r#"(module
            (import "wali" "__cl_get_argc" (func (result i32)))
            (memory (export "memory") 1 1 shared)
            (global (export "__wali_fuel") (mut i64) (i64.const 0))
            (func (export "_start") (loop $l (br $l))))"#,
    )
    .unwrap();
    let opts = Options {
        signal_poll: true,
        fuel: true,
        ..Options::default()
    };
    let out = transform(&m, &opts).unwrap();
    assert!(out.wasm.is_none());
    assert!(
        out.notes.iter().any(|n| n.contains("__wali_fuel")),
        "{:?}",
        out.notes
    );
}

/// Validation as the engines do it: exceptions, but not the legacy ones.
fn validate_standard(wasm: &[u8]) -> Result<(), wasmparser::BinaryReaderError> {
    let f = wasmparser::WasmFeatures::all() - wasmparser::WasmFeatures::LEGACY_EXCEPTIONS;
    wasmparser::Validator::new_with_features(f)
        .validate_all(wasm)
        .map(|_| ())
}

#[test]
fn legacy_exceptions_become_try_table() {
    let m = wat::parse_str(
        r#"(module
            (memory (export "memory") 1 1 shared)
            (tag $e (param i32)) (tag $f) (tag $g (param i32 i64))
            (func $rethrows (param i32) (result i32)
              try (result i32)
                try
                  (throw $e (local.get 0))
                catch $e
                  drop
                  try
                    throw $f
                  catch_all
                    rethrow 1
                  end
                catch_all
                  rethrow 0
                end
                i32.const 0
              catch $e
              end)
            ;; a delegate to a try that delegates, past a catch_all
            (func $chain (result i32)
              try (result i32)
                try
                  try
                    try
                      throw $f
                    delegate 0
                  delegate 1
                catch_all
                end
                i32.const 0
              catch $f
                i32.const 1
              end)
            ;; a delegate to a try_table, and to the caller
            (func $to_try_table (result i32)
              (block $h (result i32)
                (try_table (catch $e $h)
                  try
                    try
                      (throw $e (i32.const 5))
                    delegate 1
                  catch_all
                  end)
                try
                  try
                    throw $f
                  delegate 2
                catch_all
                end
                (i32.const 0)))
            ;; branches from bodies and catches, params, multi-value payloads
            (func $branches (param i32) (result i32)
              (block $a (result i32)
                (block $b (result i32)
                  (loop $l
                    try $t (result i32)
                      (br_if $l (local.get 0))
                      (throw $e (local.get 0))
                    catch $e
                      (local.set 0)
                      (i32.const 7)
                      (local.get 0)
                      (br_table $a $b $t 0)
                    catch $f
                      (br $l)
                    end
                    drop)
                  (i32.const 1)
                  try (param i32) (result i32)
                    throw $e
                  catch $e
                  end
                  try (result i32 i64)
                    (throw $g (i32.const 1) (i64.const 2))
                  catch $g
                  end
                  drop
                  i32.add
                  unreachable
                  try
                    nop
                  catch_all
                  end
                  try
                    nop
                  end
                  br 0)))
            (func (export "_start")))"#,
    )
    .unwrap();
    assert!(validate_standard(&m).is_err(), "the input uses legacy EH");
    let out = transform(&m, &Options::default()).unwrap();
    assert!(out.needs_exceptions);
    assert!(
        out.applied
            .iter()
            .any(|a| a.starts_with("legacy exceptions: 4 functions")),
        "{:?} {:?}",
        out.applied,
        out.notes
    );
    let w = out.wasm.expect("rewritten");
    validate_standard(&w)
        .unwrap_or_else(|e| panic!("{e}\n{}", wasmprinter::print_bytes(&w).unwrap_or_default()));
    let text = wasmprinter::print_bytes(&w).unwrap();
    assert!(text.contains("try_table") && text.contains("throw_ref"));
    // off: left as it is (the module loops: no polling either)
    let off = Options {
        legacy_exceptions: false,
        signal_poll: false,
        ..Options::default()
    };
    assert!(transform(&m, &off).unwrap().wasm.is_none());
}

#[test]
fn setjmp_still_applies_in_a_module_with_legacy_exceptions() {
    let m = wat::parse_str(
        r#"(module
            (import "wali" "setjmp" (func $sj (param i32) (result i32)))
            (import "wali" "longjmp" (func $lj (param i32 i32)))
            (memory (export "memory") 1 1 shared)
            (global $__stack_pointer (mut i32) (i32.const 1024))
            (tag $e (param i32))
            (func $jumps (result i32)
              (if (call $sj (i32.const 64)) (then (return (i32.const 1))))
              (call $lj (i32.const 64) (i32.const 1))
              (i32.const 0))
            (func (export "_start")
              try
                (drop (call $jumps))
                (throw $e (i32.const 1))
              catch $e
                drop
              end))"#,
    )
    .unwrap();
    let out = transform(&m, &Options::default()).unwrap();
    assert!(
        out.applied
            .iter()
            .any(|a| a.starts_with("setjmp/longjmp: 1 of 1")),
        "{:?} {:?}",
        out.applied,
        out.notes
    );
    assert!(out
        .applied
        .iter()
        .any(|a| a.starts_with("legacy exceptions")));
    validate_standard(&out.wasm.expect("rewritten")).expect("standard EH only");
}

#[test]
fn clone_is_given_the_hosts_implementation_found_by_name() {
    // a defined `__clone` of the C library's type (a stub), called by a
    // posix_spawn; its body becomes the call of wali.__wali_clone and the
    // child trampoline is exported; without a name section, a note
    let src = |named: bool| {
        let name = if named { "$__clone" } else { "" };
        format!(
            r#"(module
            (import "wali" "SYS_execve" (func $execve (param i32 i32 i32) (result i64)))
            (memory (export "memory") 1)
            (table 1 funcref)
            (elem (i32.const 0) func $child)
            (func $child (param i32) (result i32) i32.const 0)
            (func {name} (param i32 i32 i32 i32 i32) (result i32) i32.const -38)
            (func (export "_start")
              i32.const 0 i32.const 0 i32.const 16657 i32.const 0 i32.const 0
              call 2 drop))"#
        )
    };
    let wasm = wat::parse_str(src(true)).unwrap();
    let out = transform(&wasm, &Options::default()).unwrap();
    let w = out.wasm.expect("rewritten");
    validate(&w);
    let text = wasmprinter::print_bytes(&w).unwrap();
    assert!(text.contains(r#"(import "wali" "__wali_clone""#), "{text}");
    assert!(text.contains(r#"(export "__wali_call_i_i""#), "{text}");
    // `_start`'s call of __clone (index 2 before) follows it to index 3
    assert!(text.contains("call $__clone"), "{text}");
    let clone_body = text.split("(func $__clone").nth(1).unwrap();
    let clone_body = clone_body.split("(func").next().unwrap();
    assert!(
        clone_body.contains("call $__wali_clone") || clone_body.contains("call 1"),
        "{clone_body}"
    );
    assert!(!clone_body.contains("-38"), "{clone_body}");
    assert!(
        out.applied.iter().any(|a| a.starts_with("clone:")),
        "{:?}",
        out.applied
    );

    let bare = wat::parse_str(src(false)).unwrap();
    // wat writes a name section for named items only: strip it entirely
    let stripped = strip_names(&bare);
    let out = transform(&stripped, &Options::default()).unwrap();
    assert!(
        out.notes.iter().any(|n| n.contains("no name section")),
        "{:?}",
        out.notes
    );
}

/// `wasm` without its custom sections.
fn strip_names(wasm: &[u8]) -> Vec<u8> {
    use wasm_encoder::reencode::Reencode;
    struct NoCustom;
    impl Reencode for NoCustom {
        type Error = std::convert::Infallible;
        fn parse_custom_section(
            &mut self,
            _: &mut wasm_encoder::Module,
            _: wasmparser::CustomSectionReader<'_>,
        ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
            Ok(())
        }
    }
    let mut m = wasm_encoder::Module::new();
    NoCustom
        .parse_core_module(&mut m, wasmparser::Parser::new(0), wasm)
        .unwrap();
    m.finish()
}

#[test]
fn the_stack_check_guards_each_lowering_of_the_stack_pointer() {
    // a prologue (sub, tee, set) is checked against the limit; the
    // epilogue's restore (add, set) and a saved value's (local.get, set)
    // are not
    let m = wat::parse_str(
        r#"(module
        (import "wali" "SYS_getpid" (func $getpid (result i64)))
        (memory (export "memory") 1 1 shared)
        (global $__stack_pointer (mut i32) (i32.const 65536))
        (func $f (local i32)
          global.get $__stack_pointer
          i32.const 32
          i32.sub
          local.tee 0
          global.set $__stack_pointer
          local.get 0
          i32.const 32
          i32.add
          global.set $__stack_pointer
          local.get 0
          global.set $__stack_pointer)
        (func (export "_start") call $f))"#,
    )
    .unwrap();
    let out = transform(&m, &Options::default()).unwrap();
    let w = out.wasm.expect("rewritten");
    validate(&w);
    let text = wasmprinter::print_bytes(&w).unwrap();
    assert!(text.contains(r#"(export "__wali_stack_limit""#), "{text}");
    assert!(text.contains(r#"(export "__wali_stack_pointer""#), "{text}");
    assert!(
        text.contains(r#"(import "wali" "__wali_stack_overflow""#),
        "{text}"
    );
    let f = text.split("(func $f").nth(1).unwrap();
    let f = f.split("(func").next().unwrap();
    assert_eq!(f.matches("i32.lt_u").count(), 1, "{f}");
    assert_eq!(f.matches("global.set $__stack_pointer").count(), 3, "{f}");
    // without a name for the global, nothing (an unnamed guess could
    // corrupt another global)
    let out = transform(&strip_names(&m), &Options::default()).unwrap();
    assert!(
        out.notes.iter().any(|n| n.contains("no `__stack_pointer`")),
        "{:?}",
        out.notes
    );
}

#[test]
fn a_function_the_setjmp_rewrite_replaces_keeps_its_stack_check() {
    let m = wat::parse_str(
        r#"(module
        (import "wali" "setjmp" (func $sj (param i32) (result i32)))
        (import "wali" "longjmp" (func $lj (param i32 i32)))
        (memory (export "memory") 1 1 shared)
        (global $__stack_pointer (mut i32) (i32.const 65536))
        (func $f (local i32)
          global.get $__stack_pointer
          i32.const 256
          i32.sub
          local.tee 0
          global.set $__stack_pointer
          (drop (call $sj (local.get 0)))
          local.get 0
          i32.const 256
          i32.add
          global.set $__stack_pointer)
        (func (export "_start") call $f (call $lj (i32.const 0) (i32.const 1))))"#,
    )
    .unwrap();
    let out = transform(&m, &Options::default()).unwrap();
    assert!(
        out.applied.iter().any(|a| a.starts_with("setjmp")),
        "{:?}",
        out.applied
    );
    let w = out.wasm.expect("rewritten");
    validate(&w);
    let text = wasmprinter::print_bytes(&w).unwrap();
    let f = text.split("(func $f").nth(1).unwrap();
    let f = f.split("(func").next().unwrap();
    // the prologue's lowering is checked, the epilogue's restore is not
    assert_eq!(f.matches("i32.lt_u").count(), 1, "{f}");
}

/// `m` transformed with `opts`: it must be rewritten, validate and say
/// `applied` among what was applied; its text.
fn rewritten_text(m: &[u8], opts: &Options, applied: &str) -> String {
    let out = transform(m, opts).unwrap();
    let wasm = out.wasm.expect("rewritten");
    validate(&wasm);
    assert!(
        out.applied.iter().any(|a| a == applied),
        "{:?}",
        out.applied
    );
    wasmprinter::print_bytes(&wasm).unwrap()
}

/// The body text of function `$name` in the printed module.
fn func_text<'t>(text: &'t str, name: &str) -> &'t str {
    let at = text.find(&format!("(func ${name} ")).expect(name);
    let end = text[at + 1..]
        .find("(func ")
        .map_or(text.len(), |e| at + 1 + e);
    &text[at..end]
}

#[test]
fn frame_slots_become_locals_only_where_the_frame_stays_private() {
    let opts = Options {
        frames: true,
        ..Options::NONE
    };
    // Frames as `-O0` code makes them (fp = __stack_pointer - 16).
    let m = wat::parse_str(
        r#"(module
          (global $__stack_pointer (mut i32) (i32.const 65536))
          (memory (export "memory") 2 2 shared)
          (func $set7 (param i32) local.get 0 i32.const 7 i32.store)
          ;; fp kept in one local: slots 12 and 8 promoted
          (func $direct (param i32) (result i32) (local i32)
            global.get $__stack_pointer i32.const 16 i32.sub local.set 1
            local.get 1 local.get 0 i32.store offset=12
            local.get 1 local.get 1 i32.load offset=12 i32.store offset=8
            local.get 1 i32.load offset=8)
          ;; every value through a local of its own: slot 12 promoted
          (func $copies (param i32) (result i32) (local i32 i32 i32 i32 i32)
            global.get $__stack_pointer local.set 1
            i32.const 16 local.set 2
            local.get 1 local.get 2 i32.sub local.set 3
            local.get 3 global.set $__stack_pointer
            local.get 3 local.get 0 i32.store offset=12
            i32.const 16 local.set 4
            local.get 3 local.get 4 i32.add local.set 5
            local.get 5 global.set $__stack_pointer
            local.get 3 i32.load offset=12)
          ;; the address of a slot leaves: nothing promoted
          (func $escapes (result i32) (local i32)
            global.get $__stack_pointer i32.const 16 i32.sub local.tee 0
            global.set $__stack_pointer
            local.get 0 i32.const 12 i32.add call $set7
            local.get 0 i32.load offset=12)
          ;; one slot read with two widths: it stays in memory
          (func $widths (param i32) (result i32) (local i32)
            global.get $__stack_pointer i32.const 16 i32.sub local.set 1
            local.get 1 local.get 0 i32.store offset=12
            local.get 1 i32.load8_u offset=12)
          ;; __stack_pointer read again once the frame exists: left alone
          (func $rereads (result i32) (local i32)
            global.get $__stack_pointer i32.const 16 i32.sub local.set 0
            local.get 0 i32.const 1 i32.store offset=12
            global.get $__stack_pointer i32.load offset=12)
          ;; the stack pointer read before the frame reaches it (sp - 4 is
          ;; fp + 12): left alone
          (func $above (result i32) (local i32 i32)
            global.get $__stack_pointer local.tee 0
            i32.const 16 i32.sub local.set 1
            local.get 1 i32.const 1 i32.store offset=12
            local.get 0 i32.const -4 i32.add i32.load)
          (func (export "_start")))"#,
    )
    .unwrap();
    let text = rewritten_text(
        &m,
        &opts,
        "frames: 3 C stack slots of 2 functions kept in locals",
    );
    for promoted in ["direct", "copies"] {
        let f = func_text(&text, promoted);
        assert!(!f.contains("i32.load") && !f.contains("i32.store"), "{f}");
    }
    for kept in ["escapes", "widths", "rereads", "above"] {
        assert!(func_text(&text, kept).contains("offset=12"), "{text}");
    }
    // off: left as it is
    assert!(transform(&m, &Options::NONE).unwrap().wasm.is_none());
}

/// Narrow C locals (`char`, `short`, i64 values stored in 8, 16 or 32
/// bits) become locals too, each load taking the low bytes as it did; a
/// slot stored as i32 and read as i64 stays in memory. Their values are
/// checked on both engines in tests/tests/wat.rs.
#[test]
fn narrow_frame_slots_become_locals_with_their_loads_extending() {
    let opts = Options {
        frames: true,
        ..Options::NONE
    };
    let m = wat::parse_str(include_str!("../../tests/guests/narrow.wat")).unwrap();
    let text = rewritten_text(
        &m,
        &opts,
        "frames: 5 C stack slots of 1 functions kept in locals",
    );
    let f = func_text(&text, "narrow");
    // only the slot of two value types is still loaded and stored
    assert_eq!(f.matches("load").count(), 1, "{f}");
    assert_eq!(f.matches("store").count(), 1, "{f}");
    assert!(
        f.contains("i64.load8_u offset=12") && f.contains("i32.store8 offset=12"),
        "{f}"
    );
    for widened in [
        "i32.extend8_s",
        "i32.extend16_s",
        "i64.extend8_s",
        "i64.extend16_s",
        "i64.extend32_s",
        "i32.const 65535",
        "i64.const 4294967295",
    ] {
        assert!(f.contains(widened), "{widened}: {f}");
    }
}

/// LLVM's start function for a shared memory (`wasm-ld --shared-memory`):
/// the first instance sets the TLS base, copies the passive segments in
/// and zeroes `.bss` (with `fill`); `other` is `_start`'s body.
fn init_memory_module(import: &str, fill: i32, other: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
          {import}
          (memory (export "memory") 2 2 shared)
          (global $__tls_base (mut i32) (i32.const 0))
          (start $__wasm_init_memory)
          (func $__wasm_init_memory
            block block block
              i32.const 8192 i32.const 0 i32.const 1 i32.atomic.rmw.cmpxchg
              br_table 0 1 2
            end
            i32.const 1024 i32.const 1024 global.set $__tls_base
            i32.const 0 i32.const 4 memory.init $tdata
            i32.const 2048 i32.const 0 i32.const 5 memory.init $rodata
            i32.const 4096 i32.const {fill} i32.const 4096 memory.fill
            i32.const 8192 i32.const 2 i32.atomic.store
            i32.const 8192 i32.const -1 memory.atomic.notify drop
            br 1
            end
            i32.const 8192 i32.const 1 i64.const -1 memory.atomic.wait32 drop
            end
            data.drop $rodata)
          (func (export "_start") {other})
          (data $tdata "\01\02\03\04")
          (data $rodata "hello"))"#
    ))
    .unwrap()
}

#[test]
fn static_data_becomes_active_where_one_instance_owns_the_memory() {
    let opts = Options {
        static_data: true,
        ..Options::NONE
    };
    let out = transform(&init_memory_module("", 0, ""), &opts).unwrap();
    assert_eq!(
        out.applied,
        ["static data: 2 passive data segments (9 bytes) are active, not copied by the start function"]
    );
    let w = out.wasm.unwrap();
    validate(&w);
    let text = wasmprinter::print_bytes(&w).unwrap();
    assert!(
        text.contains(r#"(i32.const 1024) "\01\02\03\04")"#),
        "{text}"
    );
    assert!(text.contains(r#"(i32.const 2048) "hello")"#), "{text}");
    let init = func_text(&text, "__wasm_init_memory");
    assert!(
        !init.contains("memory.init") && !init.contains("memory.fill"),
        "{init}"
    );
    // the TLS base, the flag, the wake-up and the drop stay
    for kept in [
        "i32.const 1024\n        global.set $__tls_base",
        "i32.atomic.store",
        "memory.atomic.notify",
        "memory.atomic.wait32",
        "data.drop",
    ] {
        assert!(init.contains(kept), "{kept} missing: {init}");
    }

    // threads: the memory becomes an import, each thread's instance runs
    // the start function again over it, so the copies stay
    let threads = r#"(import "wali" "__wasm_thread_spawn" (func (param i32 i32) (result i32)))"#;
    let out = transform(
        &init_memory_module(threads, 0, ""),
        &Options {
            static_data: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(!out.applied.iter().any(|a| a.starts_with("static data")));
    assert!(out.applied.iter().any(|a| a.starts_with("threads:")));
    let text = wasmprinter::print_bytes(out.wasm.unwrap()).unwrap();
    assert!(func_text(&text, "__wasm_init_memory").contains("memory.init"));

    // a fill that is not of zero, or a segment another function copies
    // too: left as it is, with the reason
    for (m, why) in [
        (init_memory_module("", 7, ""), "is not of zero"),
        (
            init_memory_module(
                "",
                0,
                "i32.const 0 i32.const 0 i32.const 5 memory.init $rodata",
            ),
            "data segment 1 is copied by another function too",
        ),
    ] {
        let out = transform(&m, &opts).unwrap();
        assert!(out.wasm.is_none(), "{:?}", out.applied);
        assert!(out.notes.iter().any(|n| n.contains(why)), "{:?}", out.notes);
    }
}

#[test]
fn short_leaf_functions_are_copied_into_their_callers() {
    let opts = Options {
        inline: true,
        ..Options::NONE
    };
    let m = wat::parse_str(include_str!("../../tests/guests/inline.wat")).unwrap();
    let text = rewritten_text(
        &m,
        &opts,
        "inlining: 20 calls of short leaf functions in 2 functions",
    );
    let start = func_text(&text, "_start");
    for leaf in [
        "sub", "clamp", "fresh", "maybe", "nonzero", "pick", "scale", "put", "nothing",
    ] {
        assert!(
            !start.contains(&format!("call ${leaf}\n")),
            "{leaf}: {start}"
        );
    }
    // a loop, a call or too many operators: still called
    for kept in ["sum", "twice", "long", "check"] {
        assert!(
            start.contains(&format!("call ${kept}\n")),
            "{kept}: {start}"
        );
    }
    assert!(!func_text(&text, "twice").contains("call $sub"), "{text}");
    // the leaves themselves stay (a table or an export may still reach them)
    assert!(text.contains("(func $sub "), "{text}");
    // off: left as it is
    assert!(transform(&m, &Options::NONE).unwrap().wasm.is_none());
}
