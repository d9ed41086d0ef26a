//! wasmer-specific checks, and guests run in-process on both engines
//! beyond those `guests.rs` repeats on wasmer (its `on_wasmer` list).

use wali::WaliCtx;

fn run_on_both(name: &str, args: &[&str]) {
    let path = wali_tests::guest(name);
    // wasmtime
    let o = wali_tests::run_guest(name, args);
    assert_eq!(o, wali::Outcome::Exited(0), "{name} on wasmtime");
    // wasmer
    let r = wali_wasmer::Runner::new();
    let m = r.load(&path).expect("load on wasmer");
    let ctx = WaliCtx::builder().arg(&path).args(args).build().unwrap();
    assert_eq!(
        r.run(&m, ctx).unwrap(),
        wali_wasmer::Outcome::Exited(0),
        "{name} on wasmer"
    );
}

#[test]
fn wasmer_traps_and_exits() {
    let r = wali_wasmer::Runner::new();
    let path = wali_tests::guest("casts");
    let m = r.load(&path).unwrap();
    let ctx = WaliCtx::builder().arg(&path).arg("bad").build().unwrap();
    match r.run(&m, ctx).unwrap() {
        wali_wasmer::Outcome::Killed { signal, .. } => assert_eq!(signal, libc::SIGILL),
        o => panic!("{o:?}"),
    }
    let path = wali_tests::guest("sjlj");
    let m = r.load(&path).unwrap();
    let ctx = WaliCtx::builder().arg(&path).arg("stale").build().unwrap();
    assert!(matches!(
        r.run(&m, ctx).unwrap(),
        wali_wasmer::Outcome::Killed { .. }
    ));
    let wat = r#"(module (import "wali" "SYS_exit_group" (func $e (param i32) (result i64)))
        (memory (export "memory") 1 1 shared)
        (func (export "_start") (drop (call $e (i32.const 42)))))"#;
    let m = r.load_bytes(&wat::parse_str(wat).unwrap()).unwrap();
    let ctx = WaliCtx::builder().arg("x").build().unwrap();
    assert_eq!(r.run(&m, ctx).unwrap(), wali_wasmer::Outcome::Exited(42));
}

#[test]
fn synchronous_signals_and_environment_on_both_engines() {
    // sigself: raise/kill/tgkill on itself, handlers run at the syscall's
    // return (signals reaching a computing guest: signals.wasm, in the CLI
    // tests on both engines).
    run_on_both("sigself", &[]);
    let path = wali_tests::guest("env");
    let r = wali_wasmer::Runner::new();
    let m = r.load(&path).unwrap();
    let ctx = WaliCtx::builder()
        .arg(&path)
        .args(["expect", "GREETING=hello world", "EMPTY=", "!BAD-NAME=x"])
        .env("GREETING", "hello world")
        .env("EMPTY", "")
        .env("BAD-NAME", "x")
        .build()
        .unwrap();
    assert_eq!(r.run(&m, ctx).unwrap(), wali_wasmer::Outcome::Exited(0));
}

#[test]
fn wasmer_timeout_ends_a_spinning_guest_at_its_next_poll() {
    // the poll calls an argument-less import the module has
    let spin = r#"(module (import "wali" "__cl_get_argc" (func $argc (result i32)))
        (memory (export "memory") 1 1 shared)
        (func (export "_start") (loop $l (br $l))))"#;
    let r = wali_wasmer::Runner::new();
    let m = r.load_bytes(&wat::parse_str(spin).unwrap()).unwrap();
    let mut p = wali::Policy::default();
    p.timeout = Some(std::time::Duration::from_millis(200));
    let ctx = WaliCtx::builder().arg("spin").policy(p).build().unwrap();
    let t = std::time::Instant::now();
    match r.run(&m, ctx).unwrap() {
        wali_wasmer::Outcome::Killed { signal, message } => {
            assert_eq!(signal, libc::SIGKILL, "{message}");
        }
        o => panic!("{o:?}"),
    }
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
}
