//! The C guests of tests/guests, run through the library API. Each guest
//! checks its syscalls' results (success and errno paths) against what
//! Linux gives, and exits 1 with the failing line on stderr otherwise.

use wali::{Outcome, WaliCtx};
use wali_tests::{guest, run_guest, runner};

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn assert_ok(o: Outcome) {
    assert_eq!(
        o,
        Outcome::Exited(0),
        "guest failed (its stderr names the failing check)"
    );
}

#[test]
fn memory_mappings() {
    let d = scratch();
    assert_ok(run_guest("mm", &[d.path().to_str().unwrap()]));
}

#[test]
fn identity_system_time_futex_signals() {
    assert_ok(run_guest("proc", &["all"]));
}

#[test]
fn env_from_builder_reaches_the_guest() {
    let r = runner();
    let path = guest("env");
    let m = r.load(&path).unwrap();
    let ctx = WaliCtx::builder()
        .arg(&path)
        .args(["expect", "GREETING=hello world", "EMPTY=", "EQ=a=b"])
        .env("GREETING", "hello world")
        .env("EMPTY", "")
        .env("EQ", "a=b")
        .build()
        .unwrap();
    assert_eq!(r.run(&m, ctx).unwrap(), Outcome::Exited(0));
}

#[test]
fn env_file_and_no_env() {
    let d = scratch();
    let f = d.path().join("env");
    std::fs::write(&f, "ONE=1\nTWO=2").unwrap();
    let r = runner();
    let path = guest("env");
    let m = r.load(&path).unwrap();
    let ctx = WaliCtx::builder()
        .arg(&path)
        .args(["expect", "ONE=1", "TWO=2"])
        .env_file(&f)
        .build()
        .unwrap();
    assert_eq!(r.run(&m, ctx).unwrap(), Outcome::Exited(0));
    let ctx = WaliCtx::builder().arg(&path).arg("none").build().unwrap();
    assert_eq!(r.run(&m, ctx).unwrap(), Outcome::Exited(0));
    // A check that must fail does fail (the guest is not vacuous).
    let ctx = WaliCtx::builder()
        .arg(&path)
        .args(["expect", "THREE=3"])
        .env_file(&f)
        .build()
        .unwrap();
    assert_eq!(r.run(&m, ctx).unwrap(), Outcome::Exited(4));
}

#[test]
fn demo_guest_runs() {
    assert_ok(run_guest("hello", &["x"]));
}

#[test]
fn setjmp_longjmp_jump() {
    assert_ok(run_guest("sjlj", &["all"]));
    // `r = setjmp(env)` at -O2: the address of r is on the operand stack
    // below the call (also part of `all`)
    assert_ok(run_guest("sjlj", &["o2"]));
}

/// `o0.wasm` and `sjlj_o0.wasm` are built at `-O0`, as the WALI toolchain
/// builds its applications: the frame-promotion transform keeps most of
/// their functions' C locals in wasm locals (the setjmp-calling ones of
/// `sjlj_o0` too, whose volatile locals must survive a longjmp), and every
/// check of both still passes.
#[test]
fn unoptimized_code_runs_with_its_frames_in_locals() {
    assert_ok(run_guest("o0", &[]));
    assert_ok(run_guest("sjlj_o0", &["all"]));
    for (name, at_least) in [("o0", 15), ("sjlj_o0", 10)] {
        let wasm = std::fs::read(guest(name)).unwrap();
        let out = wali_core::transform::transform(&wasm, &Default::default()).unwrap();
        let note = out
            .applied
            .iter()
            .find(|a| a.starts_with("frames: "))
            .unwrap_or_else(|| panic!("{name}: no frame promotion: {:?}", out.applied));
        let funcs: usize = note
            .split(" of ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("a count");
        assert!(funcs >= at_least, "{name}: {note}");
    }
}

/// `data.wasm`'s initialized data, read-only data and `.bss` are as the
/// program built them, its own to write, and copied into a forked child
/// whichever way the engine gives them: the static-data transform makes the
/// passive segments active (checked here), and wasmtime then maps them
/// from a copy-on-write image (`static_data_is_mapped_on_wasmtime`).
#[test]
fn static_data_is_the_programs_own() {
    assert_ok(run_guest("data", &[]));
    let wasm = std::fs::read(guest("data")).unwrap();
    let out = wali_core::transform::transform(&wasm, &Default::default()).unwrap();
    assert!(
        out.applied
            .iter()
            .any(|a| a.starts_with("static data: 2 passive")),
        "{:?}",
        out.applied
    );
}

#[test]
fn longjmp_to_a_returned_frame_is_reported() {
    match run_guest("sjlj", &["stale"]) {
        Outcome::Killed { message, .. } => assert!(message.contains("longjmp"), "{message}"),
        o => panic!("{o:?}"),
    }
}

#[test]
fn files_and_directories() {
    let d = scratch();
    assert_ok(run_guest("fs", &[d.path().to_str().unwrap()]));
}

#[test]
fn sockets() {
    let d = scratch();
    assert_ok(run_guest("net", &[d.path().to_str().unwrap()]));
}

#[test]
fn polling_epoll_eventfd_terminals() {
    let d = scratch();
    assert_ok(run_guest("poll", &[d.path().to_str().unwrap()]));
}

#[test]
fn calls_through_cast_function_pointers() {
    assert_ok(run_guest("casts", &["all"]));
    match run_guest("casts", &["bad"]) {
        Outcome::Killed { signal, message } => {
            assert_eq!(signal, libc::SIGILL);
            assert!(
                message.contains("indirect call type mismatch")
                    && message.contains("__wali_cast_dispatch"),
                "{message}"
            );
        }
        o => panic!("{o:?}"),
    }
}

static HOST_USR2: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
extern "C" fn host_usr2(_: libc::c_int) {
    HOST_USR2.store(true, std::sync::atomic::Ordering::SeqCst);
}

#[test]
fn two_guests_in_one_host_keep_their_signals_and_the_host_keeps_its_handlers() {
    // SAFETY: installing a handler that only stores to an atomic.
    unsafe { libc::signal(libc::SIGUSR2, host_usr2 as *const () as libc::sighandler_t) };
    let guests: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(|| run_guest("sigself", &[])))
        .collect();
    for g in guests {
        assert_eq!(g.join().unwrap(), Outcome::Exited(0));
    }
    // SAFETY: raising a signal whose handler is the one above.
    unsafe { libc::raise(libc::SIGUSR2) };
    assert!(
        HOST_USR2.load(std::sync::atomic::Ordering::SeqCst),
        "the host's own handler still runs"
    );
}

#[test]
fn an_embedder_sets_a_policy() {
    let r = runner();
    let path = guest("netpolicy");
    let m = r.load(&path).unwrap();
    let mut p = wali::Policy::default();
    p.restrict_net = true;
    let ctx = WaliCtx::builder()
        .arg(&path)
        .arg("deny")
        .policy(p)
        .build()
        .unwrap();
    assert_eq!(r.run(&m, ctx).unwrap(), Outcome::Exited(0));
    let ctx = WaliCtx::builder().arg(&path).arg("deny").build().unwrap();
    assert_eq!(
        r.run(&m, ctx).unwrap(),
        Outcome::Exited(1),
        "without the policy the checks fail"
    );
}

#[test]
fn environment_names_the_wali_crt_refuses_are_left_out() {
    let r = runner();
    let path = guest("env");
    let m = r.load(&path).unwrap();
    let ctx = WaliCtx::builder()
        .arg(&path)
        .args(["expect", "GOOD_1=yes", "!BAD-NAME=x", "!1BAD=x"])
        .env("GOOD_1", "yes")
        .env("BAD-NAME", "x")
        .env("1BAD", "x")
        .build()
        .unwrap();
    assert_eq!(r.run(&m, ctx).unwrap(), Outcome::Exited(0));
}

/// `Stdio::Fd` redirects the guest's standard output (the host process's
/// descriptor 1), so the check runs in a child copy of this test binary.
#[test]
fn stdio_redirection_from_the_builder() {
    let out = std::env::temp_dir().join(format!("wali-stdio-{}", std::process::id()));
    if let Some(target) = std::env::var_os("WALI_STDIO_CHILD") {
        let f = std::fs::File::create(&target).unwrap();
        let r = runner();
        let path = guest("hello");
        let m = r.load(&path).unwrap();
        let ctx = WaliCtx::builder()
            .arg(&path)
            .arg("redirected")
            .stdout(wali::Stdio::Fd(f.into()))
            .build()
            .unwrap();
        let o = r.run(&m, ctx).unwrap();
        std::process::exit(o.exit_code());
    }
    let st = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "stdio_redirection_from_the_builder",
            "--nocapture",
        ])
        .env("WALI_STDIO_CHILD", &out)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let text = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    assert!(text.starts_with("Hello from a WALI guest!\n"), "{text}");
    assert!(text.contains("argv[1] = redirected\n"), "{text}");
}

wali_tests::also_on_wasmer!(
    memory_mappings,
    identity_system_time_futex_signals,
    demo_guest_runs,
    setjmp_longjmp_jump,
    unoptimized_code_runs_with_its_frames_in_locals,
    static_data_is_the_programs_own,
    longjmp_to_a_returned_frame_is_reported,
    files_and_directories,
    sockets,
    polling_epoll_eventfd_terminals,
    calls_through_cast_function_pointers,
);

#[test]
fn an_embedder_with_its_own_store_type_runs_threads() {
    struct Host {
        wali: WaliCtx,
        #[allow(dead_code)]
        name: &'static str,
    }
    fn get(h: &mut Host) -> &mut WaliCtx {
        &mut h.wali
    }
    let engine = wasmtime::Engine::new(&wali::config()).unwrap();
    let wasm = std::fs::read(guest("threads")).unwrap();
    // the transforms make the module import its memory, so threads share it
    let module = wali::compile(
        &engine,
        &wasm,
        &wali::TransformOptions::default(),
        &mut Vec::new(),
    )
    .unwrap();
    let mut linker = wasmtime::Linker::new(&engine);
    wali::add_to_linker(&mut linker, get).unwrap();
    // shadowing stays off: this module declares every import as the table does
    wali::link_module(&mut linker, &module, get).unwrap();
    let ctx = WaliCtx::builder()
        .arg("threads.wasm")
        .args(["count", "16"])
        .build()
        .unwrap();
    let mut store = wali::new_store(
        &engine,
        Host {
            wali: ctx,
            name: "main",
        },
        get,
    );
    wali::define_memory(&mut linker, &store, &module).unwrap();
    let threads = wali::ThreadSupport::new(&engine, 8 << 20, get, |wali| Host {
        wali,
        name: "thread",
    });
    let pre = linker.instantiate_pre(&module).unwrap();
    threads.ready(pre.clone());
    threads.attach(&store.data().wali);
    let instance = pre.instantiate(&mut store).unwrap();
    assert_ok(wali::run_instance(&mut store, &instance, get).unwrap());
}
