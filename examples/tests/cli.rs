//! `wali-run` as a user runs it: arguments, environment, exit statuses,
//! diagnostics, the module cache.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use wali_tests::guest;

/// `wali-run` on the engine of this test (wasmtime, or wasmer for the
/// tests `also_on_wasmer!` repeats).
fn wali_run() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wali-run"));
    if wali_tests::engine() != wali_tests::Engine::Wasmtime {
        c.args(["--engine", wali_tests::engine().name()]);
    }
    // Tests never share the user's cache.
    c.env(
        "WALI_CACHE_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("wali-cli-test-cache"),
    );
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn wat_file(dir: &Path, name: &str, wat: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, wat::parse_str(wat).unwrap()).unwrap();
    p
}

fn one_clean_line(o: &Output) {
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "one line on stderr: {err:?}");
    assert!(err.starts_with("wali-run: "), "{err:?}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err:?}"
    );
}

#[test]
fn demo_guest_gets_its_arguments() {
    let g = guest("hello");
    let o = wali_run()
        .arg(&g)
        .args(["one", "-e", "--env", "x y"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.starts_with("Hello from a WALI guest!\n"), "{out}");
    assert!(
        out.contains("argv[1] = one\n") && out.contains("argv[2] = -e\n"),
        "{out}"
    );
    assert!(
        out.contains("argv[3] = --env\n") && out.contains("argv[4] = x y\n"),
        "{out}"
    );
}

#[test]
fn guest_environment_is_wali_runs_unless_an_env_file_is_given() {
    let g = guest("env");
    let o = wali_run()
        .env("WALI_T_VAR", "inherited")
        .arg(&g)
        .args(["expect", "WALI_T_VAR=inherited"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = wali_run()
        .env("WALI_T_VAR", "x")
        .args(["--env", "EXTRA=1"])
        .arg(&g)
        .args(["expect", "WALI_T_VAR=x", "EXTRA=1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("env");
    std::fs::write(&f, "ONLY=this\n").unwrap();
    let o = wali_run()
        .env("WALI_T_VAR", "x")
        .arg(format!("--env-file={}", f.display()))
        .arg(&g)
        .arg("print")
        .output()
        .unwrap();
    assert_eq!(text(&o.stdout), "ONLY=this\n");
    let o = wali_run()
        .arg("--clear-env")
        .arg(&g)
        .arg("none")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    // no environment file is left in /tmp
    let leaked = std::fs::read_dir("/tmp")
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("wali_env."));
    assert!(!leaked);
}

#[test]
fn exit_status_is_the_guests() {
    let d = tempfile::tempdir().unwrap();
    let m = wat_file(
        d.path(),
        "exit.wasm",
        r#"(module (import "wali" "SYS_exit_group" (func $e (param i32) (result i64)))
            (memory (export "memory") 1 1 shared)
            (func (export "_start") (drop (call $e (i32.const 42)))))"#,
    );
    let o = wali_run().arg(&m).output().unwrap();
    assert_eq!(o.status.code(), Some(42));
    let t = wat_file(
        d.path(),
        "trap.wasm",
        r#"(module (import "wali" "SYS_getpid" (func (result i64))) (memory (export "memory") 1 1 shared) (func (export "_start") unreachable))"#,
    );
    let o = wali_run().arg(&t).output().unwrap();
    assert_eq!(o.status.code(), Some(128 + 4), "SIGILL");
    one_clean_line(&o);
    assert!(
        text(&o.stderr).contains("unreachable"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn bad_inputs_get_one_clear_line() {
    let d = tempfile::tempdir().unwrap();
    let o = wali_run()
        .arg(d.path().join("missing.wasm"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    one_clean_line(&o);
    assert!(text(&o.stderr).contains("No such file"));
    let notwasm = d.path().join("x.wasm");
    std::fs::write(&notwasm, "#!/bin/sh\necho hi\n").unwrap();
    let o = wali_run().arg(&notwasm).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    one_clean_line(&o);
    assert!(text(&o.stderr).contains("not a WebAssembly module"));
    let notwali = wat_file(d.path(), "plain.wasm", r#"(module (func (export "main")))"#);
    let o = wali_run().arg(&notwali).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    one_clean_line(&o);
    assert!(text(&o.stderr).contains("not a WALI module"));
    let broken = d.path().join("broken.wasm");
    std::fs::write(&broken, b"\0asm\x01\0\0\0\x05garbage").unwrap();
    let o = wali_run().arg(&broken).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(!text(&o.stderr).contains("panicked"));
    let o = wali_run()
        .arg("--no-such-flag")
        .arg(guest("hello"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(!text(&o.stderr).contains("panicked"));
    let o = wali_run().output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = wali_run().arg(d.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    one_clean_line(&o);
}

#[test]
fn verbose_reports_unsupported_syscalls() {
    let d = tempfile::tempdir().unwrap();
    let m = wat_file(
        d.path(),
        "u.wasm",
        r#"(module (import "wali" "SYS_frobnicate" (func $f (result i64)))
            (memory (export "memory") 1 1 shared)
            (func (export "_start") (drop (call $f))))"#,
    );
    let o = wali_run().arg("-v=2").arg(&m).output().unwrap();
    assert!(o.status.success());
    assert!(
        text(&o.stderr).contains("SYS_frobnicate"),
        "{}",
        text(&o.stderr)
    );
    let o = wali_run().arg(&m).output().unwrap();
    assert!(o.stderr.is_empty(), "silent by default");
}

#[test]
fn session_calls_in_a_process_of_their_own() {
    let o = wali_run()
        .arg(guest("proc"))
        .arg("session")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn a_home_that_does_not_exist_still_caches() {
    // test suites run programs with HOME pointing nowhere: the cache is
    // then a private directory in TMPDIR, not skipped (a compile per start)
    let d = tempfile::tempdir().unwrap();
    let run = || {
        wali_run()
            .env_remove("WALI_CACHE_DIR")
            .env_remove("XDG_CACHE_HOME")
            .env("HOME", d.path().join("nowhere"))
            .env("TMPDIR", d.path())
            .arg(guest("hello"))
            .output()
            .unwrap()
    };
    assert!(run().status.success());
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let cache = d.path().join(format!("wali-cache-{uid}"));
    let compiled = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .count();
    assert_eq!(compiled, 1);
    assert!(run().status.success());
    assert!(!d.path().join("nowhere").exists());
}

#[test]
fn compiled_modules_are_cached() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let prog = d.path().join("prog.wasm");
    std::fs::copy(guest("hello"), &prog).unwrap();
    let run = || {
        wali_run()
            .env("WALI_CACHE_DIR", &cache)
            .arg(&prog)
            .output()
            .unwrap()
    };
    let compiled = || -> Vec<PathBuf> {
        std::fs::read_dir(&cache)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
            .collect()
    };
    for _ in 0..2 {
        let o = run();
        assert!(o.status.success());
        assert!(text(&o.stdout).starts_with("Hello"));
    }
    assert_eq!(compiled().len(), 1, "one compiled module");
    let stamps = std::fs::read_dir(cache.join("files")).unwrap().count();
    assert_eq!(stamps, 1, "the module file's stamp is recorded");
    // the module file is found again by its stamp; a new version of the
    // file at the same path is compiled, never served the old code
    std::fs::write(&prog, std::fs::read(guest("exitflush")).unwrap()).unwrap();
    let o = run();
    assert_eq!(text(&o.stdout), "buffered until exit\n");
    assert_eq!(compiled().len(), 2);
    std::fs::copy(guest("hello"), &prog).unwrap();
    assert!(text(&run().stdout).starts_with("Hello"));
    // a corrupt cache entry is recompiled, not trusted
    for c in compiled() {
        std::fs::write(c, b"garbage").unwrap();
    }
    let o = run();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).starts_with("Hello"));
    let o = wali_run()
        .env("WALI_CACHE_DIR", &cache)
        .arg("--no-cache")
        .arg(guest("hello"))
        .output()
        .unwrap();
    assert!(o.status.success());
}

/// A start from the cache makes no compiler threads: the process is the
/// main thread and the guest's (the guest reads its `/proc/self/status`).
/// The first start compiles, and its compile pool's threads are there.
#[test]
fn a_cached_start_makes_no_compiler_threads() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let out = d.path().join("status");
    let threads = || {
        let o = wali_run()
            .env("WALI_CACHE_DIR", &cache)
            .arg(guest("copy"))
            .arg("/proc/self/status")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        let status = std::fs::read_to_string(&out).unwrap();
        let line = status.lines().find(|l| l.starts_with("Threads:")).unwrap();
        line["Threads:".len()..].trim().parse::<u32>().unwrap()
    };
    let cold = threads();
    assert!(cold > 2, "the compile pool runs beside the guest: {cold}");
    assert_eq!(threads(), 2, "main and the guest's thread");
}

#[test]
fn working_directory_option() {
    let d = tempfile::tempdir().unwrap();
    let o = wali_run()
        .arg("--cwd")
        .arg(d.path())
        .arg(guest("hello"))
        .output()
        .unwrap();
    assert!(o.status.success());
    let canon = std::fs::canonicalize(d.path()).unwrap();
    assert!(
        text(&o.stdout).contains(&format!("cwd: {}\n", canon.display())),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn returning_from_main_flushes_like_exit() {
    let o = wali_run().arg(guest("exitflush")).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o.stdout), "buffered until exit\n");
    let o = wali_run()
        .arg(guest("exitflush"))
        .arg("x")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "main's status");
    assert_eq!(text(&o.stdout), "buffered until exit\n");
    // Without the transform, the crt's __proc_exit loses the buffer.
    let o = wali_run()
        .arg("--no-transforms")
        .arg(guest("exitflush"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o.stdout), "");
}

#[test]
fn transforms_are_reported_at_v1() {
    let o = wali_run()
        .arg("-v=1")
        .arg("--no-cache")
        .arg(guest("casts"))
        .arg("all")
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains("function-pointer casts"), "{err}");
    assert!(
        err.contains("names no `exit`, `__stdio_exit` or `fflush`"),
        "{err}"
    );
    let o = wali_run()
        .arg("--no-transforms")
        .arg(guest("casts"))
        .arg("all")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(128 + 4),
        "the cast call traps without the transform"
    );
}

#[test]
fn fork_wait_exec_and_pipes() {
    let d = tempfile::tempdir().unwrap();
    let g = guest("procs");
    let o = wali_run()
        .arg(&g)
        .arg("all")
        .arg(&g)
        .arg(d.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn a_forked_child_that_traps_dies_of_the_signal() {
    // the child traps (unreachable -> SIGILL); the parent reports its wait status
    let d = tempfile::tempdir().unwrap();
    let m = wat_file(
        d.path(),
        "forktrap.wasm",
        r#"(module
            (import "wali" "SYS_fork" (func $fork (result i64)))
            (import "wali" "SYS_wait4" (func $wait4 (param i32 i32 i32 i32) (result i64)))
            (import "wali" "SYS_exit_group" (func $exit (param i32) (result i64)))
            (memory (export "memory") 1 1 shared)
            (func (export "_start") (local $pid i32)
              (local.set $pid (i32.wrap_i64 (call $fork)))
              (if (i32.eqz (local.get $pid)) (then unreachable))
              (drop (call $wait4 (local.get $pid) (i32.const 64) (i32.const 0) (i32.const 0)))
              ;; exit with the raw wait status's signal number
              (drop (call $exit (i32.and (i32.load (i32.const 64)) (i32.const 127))))))"#,
    );
    let o = wali_run().arg(&m).output().unwrap();
    assert_eq!(o.status.code(), Some(libc_sigill()), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("unreachable"),
        "{}",
        text(&o.stderr)
    );
}

fn libc_sigill() -> i32 {
    4
}

#[test]
fn guest_signal_handlers_run() {
    let o = wali_run()
        .arg(guest("signals"))
        .arg("all")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
}

/// `--timeout`'s thread blocks the signals a guest can take, so the kernel
/// gives a process-directed signal to the guest's thread (where it
/// interrupts a blocking call), as it does for the runtime's other threads.
#[test]
fn the_timeout_thread_leaves_signals_to_the_guest() {
    use std::time::{Duration, Instant};
    let mut child = wali_run()
        .args(["--timeout", "30"])
        .arg(guest("signals"))
        .arg("spin")
        .spawn()
        .unwrap();
    let task = PathBuf::from(format!("/proc/{}/task", child.id()));
    let t = Instant::now();
    let blocked = loop {
        let found = std::fs::read_dir(&task).ok().and_then(|d| {
            d.flatten().find_map(|e| {
                let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
                if comm.trim() != "wali-timeout" {
                    return None;
                }
                let status = std::fs::read_to_string(e.path().join("status")).ok()?;
                let l = status.lines().find(|l| l.starts_with("SigBlk:"))?;
                u64::from_str_radix(l["SigBlk:".len()..].trim(), 16).ok()
            })
        });
        if let Some(m) = found {
            break m;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no wali-timeout thread"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = child.kill();
    let _ = child.wait();
    for sig in [
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGALRM,
        libc::SIGCHLD,
    ] {
        assert!(
            blocked & (1 << (sig - 1)) != 0,
            "signal {sig} not blocked on the timeout thread: {blocked:#x}"
        );
    }
}

#[test]
fn a_spinning_guest_dies_of_the_signal_it_gets() {
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};
    for (sig, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let mut cmd = wali_run();
        cmd.arg(guest("signals")).arg("spin");
        // The test may run with SIGINT ignored (a background job of a
        // non-interactive shell has it so), and an ignored signal stays
        // ignored across exec, for the guest too, as natively: the child
        // starts with both at their default.
        // SAFETY: between fork and exec the closure only calls signal(),
        // which is async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                libc::signal(sig, libc::SIG_DFL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(child.id() as i32, sig) };
        let st = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(st.signal(), Some(sig), "killed by the signal itself");
        assert!(
            t.elapsed() < Duration::from_millis(1000),
            "{:?}",
            t.elapsed()
        );
        let _ = code;
    }
}

#[test]
fn threads_share_memory_and_futexes() {
    for n in ["16", "64"] {
        let o = wali_run()
            .arg(guest("threads"))
            .args(["count", n])
            .output()
            .unwrap();
        assert!(o.status.success(), "{n} threads: {}", text(&o.stderr));
    }
    // private futexes (a libc's mutexes) wait with the engine's waiters
    let o = wali_run()
        .arg(guest("threads"))
        .args(["count", "64", "private"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    // wasm's memory.atomic.notify wakes a private futex waiter
    let o = wali_run()
        .arg(guest("threads"))
        .arg("notifywait")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    // a thread in wasm's memory.atomic.wait is woken by a futex wake
    let o = wali_run()
        .arg(guest("threads"))
        .arg("atomicwait")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    // exit_group from a thread ends the process with its status
    let o = wali_run()
        .arg(guest("threads"))
        .arg("group")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(7), "{}", text(&o.stderr));
}

#[test]
fn resource_abuse_gets_clean_errors() {
    for mode in ["fds", "maps", "grow"] {
        let o = wali_run().arg(guest("abuse")).arg(mode).output().unwrap();
        assert!(o.status.success(), "{mode}: {}", text(&o.stderr));
    }
}

#[test]
fn trace_prints_syscalls_strace_style() {
    let d = tempfile::tempdir().unwrap();
    let o = wali_run()
        .arg("--trace")
        .arg(guest("mm"))
        .arg(d.path())
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = text(&o.stderr);
    let file = d.path().join("mapped.txt");
    assert!(
        err.contains(&format!(
            "open(\"{}\", O_RDWR|O_CREAT|O_TRUNC, 0644) = ",
            file.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("mmap(NULL, 0, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 EINVAL"),
        "{err}"
    );
    assert!(
        err.lines()
            .any(|l| l.starts_with("munmap(") && l.ends_with(") = 0")),
        "{err}"
    );
    let o = wali_run().arg(guest("mm")).arg(d.path()).output().unwrap();
    assert!(o.stderr.is_empty(), "no trace by default");
}

#[test]
fn policy_options() {
    let g = |n: &str| guest(n);
    // syscalls denied by name or group return EPERM
    let o = wali_run()
        .args(["--deny-syscall", "getpid"])
        .arg(g("hello"))
        .output()
        .unwrap();
    assert!(text(&o.stdout).contains("pid: -1\n"), "{}", text(&o.stdout));
    let o = wali_run()
        .args(["--deny-syscall", "net", "--allow-syscall", "socketpair"])
        .arg(g("netpolicy"))
        .arg("deny")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "socket() is EPERM, not EACCES, under --deny-syscall net"
    );
    let o = wali_run()
        .args(["--deny-syscall", "nonsense"])
        .arg(g("hello"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    one_clean_line(&o);
    // network
    let o = wali_run()
        .arg("--deny-net")
        .arg(g("netpolicy"))
        .arg("deny")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let port = 20000 + (std::process::id() % 20000);
    let o = wali_run()
        .arg("--allow-net")
        .arg(format!("127.0.0.1/32:{port}"))
        .arg(g("netpolicy"))
        .args(["allow", &port.to_string()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    // native exec refused, wasm exec still fine
    let d = tempfile::tempdir().unwrap();
    let o = wali_run()
        .arg("--deny-native-exec")
        .arg(g("procs"))
        .arg("all")
        .arg(g("procs"))
        .arg(d.path())
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert!(
        err.contains("run_capture(\"/bin/echo\", a2, out, sizeof out) == 0: got 113"),
        "{err}"
    );
    assert!(
        !err.contains("run_capture(self"),
        "wasm exec still works: {err}"
    );
    // limits
    let o = wali_run()
        .args(["--max-threads", "4"])
        .arg(g("threads"))
        .args(["limit", "3"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = wali_run()
        .args(["--max-memory", "256M"])
        .arg(g("abuse"))
        .arg("maps")
        .output()
        .unwrap();
    assert!(
        text(&o.stderr).contains("n >= 20"),
        "fewer maps fit: {}",
        text(&o.stderr)
    );
    let o = wali_run()
        .args(["--max-fds", "16"])
        .arg(g("abuse"))
        .arg("fds-under")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let t = std::time::Instant::now();
    let o = wali_run()
        .args(["--timeout", "0.5"])
        .arg(g("signals"))
        .arg("spin")
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(o.status.signal(), Some(9), "ended as by SIGKILL");
    assert!(t.elapsed() < std::time::Duration::from_secs(3));
}

#[test]
fn confinement_to_directories() {
    let (b, o, ro) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    std::fs::write(o.path().join("secret"), "s").unwrap();
    std::fs::write(ro.path().join("r"), "r").unwrap();
    let mut ro_arg = ro.path().as_os_str().to_owned();
    ro_arg.push(":ro");
    let o1 = wali_run()
        .arg("--dir")
        .arg(b.path())
        .arg("--dir")
        .arg(&ro_arg)
        .arg(guest("confine"))
        .args([b.path(), o.path(), ro.path()])
        .output()
        .unwrap();
    assert!(o1.status.success(), "{}", text(&o1.stderr));
    assert!(!o.path().join("stolen").exists() && o.path().join("secret").exists());
    // The same guest without confinement: its escape checks fail.
    let b2 = tempfile::tempdir().unwrap();
    let o2 = wali_run()
        .arg(guest("confine"))
        .args([b2.path(), o.path(), ro.path()])
        .output()
        .unwrap();
    // (it ends by exec'ing /bin/echo, which nothing stops then)

    assert!(
        text(&o2.stderr).contains("/etc/passwd"),
        "{}",
        text(&o2.stderr)
    );
    let o3 = wali_run()
        .args(["--dir", "/nonexistent/dir"])
        .arg(guest("hello"))
        .output()
        .unwrap();
    assert_eq!(o3.status.code(), Some(1));
    one_clean_line(&o3);
}

/// Runs `script` with sh in a new user and mount namespace (as its root),
/// where binfmt_misc can be mounted privately; None where the kernel
/// does not allow that here.
fn in_userns(script: &str) -> Option<Output> {
    let probe = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg("mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc")
        .output()
        .ok()?;
    if !probe.status.success() {
        eprintln!(
            "skipped: no private binfmt_misc here: {}",
            text(&probe.stderr)
        );
        return None;
    }
    Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", script])
        .output()
        .ok()
}

#[test]
fn binfmt_registration_runs_wasm_like_elf() {
    let d = tempfile::tempdir().unwrap();
    let prog = d.path().join("hello.wasm");
    std::fs::copy(guest("hello"), &prog).unwrap();
    let script = d.path().join("script");
    std::fs::write(&script, format!("#!{}\n", prog.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    for p in [&prog, &script] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let run = env!("CARGO_BIN_EXE_wali-run");
    let sh = format!(
        "mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && {run} --register-binfmt && cd {} && ./hello.wasm one && ./script two && {run} --unregister-binfmt && ./hello.wasm three",
        d.path().display()
    );
    let Some(o) = in_userns(&sh) else { return };
    let out = text(&o.stdout);
    assert!(
        out.contains("registered wasm modules"),
        "{out} {}",
        text(&o.stderr)
    );
    assert!(out.contains("argv[1] = one\n"), "{out}");
    // a #! script whose interpreter is a wasm module: argv[1] is the script
    assert!(
        out.contains(&format!("argv[1] = {}\n", script.display()))
            || out.contains("argv[1] = ./script\n"),
        "{out}"
    );
    assert!(out.contains("argv[2] = two\n"), "{out}");
    assert!(out.contains("removed the binfmt_misc entry"), "{out}");
    assert!(
        !o.status.success(),
        "after unregistering, the kernel refuses the wasm again"
    );
    assert!(
        text(&o.stderr).contains("Exec format error"),
        "{}",
        text(&o.stderr)
    );
    // not mounted: one clear line
    let o = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg(format!(
            "umount /proc/sys/fs/binfmt_misc 2>/dev/null; {run} --register-binfmt"
        ))
        .output()
        .unwrap();
    if !o.status.success() {
        assert!(
            text(&o.stderr).contains("not mounted") || text(&o.stderr).contains("cannot register"),
            "{}",
            text(&o.stderr)
        );
    }
}

#[test]
fn a_guest_cannot_close_the_hosts_own_descriptors() {
    // dup2 onto, close, and close_range over every descriptor from 3 up
    // (a daemon's closefrom): the guest's own go, the host's (the memfd
    // carrying the environment) stay, and the host does not abort.
    let d = tempfile::tempdir().unwrap();
    let wat = r#"(module
      (import "wali" "SYS_close_range" (func $cr (param i32 i32 i32) (result i64)))
      (import "wali" "SYS_dup2" (func $dup2 (param i32 i32) (result i64)))
      (import "wali" "SYS_close" (func $close (param i32) (result i64)))
      (import "wali" "SYS_open" (func $open (param i32 i32 i32) (result i64)))
      (import "wali" "SYS_read" (func $read (param i32 i32 i32) (result i64)))
      (import "wali" "SYS_exit_group" (func $exit (param i32) (result i64)))
      (import "wali" "__get_init_envfile" (func $envfile (param i32 i32) (result i32)))
      (memory (export "memory") 1 1 shared)
      (func $fail (param i32) (drop (call $exit (local.get 0))) (unreachable))
      (func (export "_start") (local $i i32) (local $fd i32)
        (local.set $i (i32.const 3))
        (loop $l
          ;; below 100 every number is the guest's to take (sshd's re-exec
          ;; dup2s onto 3, 4 and 5); the host keeps its own above
          ;; (i32.and evaluates both sides: every number gets the dup2)
          (if (i32.and (i32.lt_u (local.get $i) (i32.const 100))
                       (i64.ne (call $dup2 (i32.const 0) (local.get $i))
                               (i64.extend_i32_u (local.get $i))))
            (then (call $fail (i32.const 8))))
          (drop (call $close (local.get $i)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 1024))))
        ;; a guest descriptor in the range is closed
        (if (i64.ne (call $dup2 (i32.const 0) (i32.const 50)) (i64.const 50))
          (then (call $fail (i32.const 9))))
        (if (i64.ne (call $cr (i32.const 3) (i32.const -1) (i32.const 0)) (i64.const 0))
          (then (call $fail (i32.const 10))))
        (if (i64.ne (call $close (i32.const 50)) (i64.const -9))
          (then (call $fail (i32.const 11))))
        (if (i64.ne (call $cr (i32.const 3) (i32.const -1) (i32.const 64)) (i64.const -22))
          (then (call $fail (i32.const 12))))
        ;; the environment file the host keeps is still there
        (if (i32.ne (call $envfile (i32.const 16) (i32.const 64)) (i32.const 1))
          (then (call $fail (i32.const 13))))
        (local.set $fd (i32.wrap_i64 (call $open (i32.const 16) (i32.const 0) (i32.const 0))))
        (if (i32.lt_s (local.get $fd) (i32.const 0)) (then (call $fail (i32.const 14))))
        (if (i64.ne (call $read (local.get $fd) (i32.const 128) (i32.const 64)) (i64.const 5))
          (then (call $fail (i32.const 15))))))"#;
    let m = wat_file(d.path(), "closefrom.wasm", wat);
    // twice: compiled, then mapped from the module cache (wasmtime keeps
    // that file open while the module lives)
    for _ in 0..2 {
        let o = wali_run()
            .args(["--clear-env", "--env", "A=bc"])
            .arg(&m)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
}

#[test]
fn less_common_calls() {
    let d = tempfile::tempdir().unwrap();
    let o = wali_run()
        .arg(guest("misc"))
        .arg(d.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn engine_wasmer_runs_the_same_guests() {
    let d = tempfile::tempdir().unwrap();
    let w = || {
        let mut c = wali_run();
        c.args(["--engine", "wasmer"]);
        c
    };
    let o = w()
        .arg(guest("procs"))
        .args(["forkloop", "50"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = w().arg(guest("fs")).arg(d.path()).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = w().arg(guest("misc")).arg(d.path()).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = w().arg(guest("exitflush")).output().unwrap();
    assert_eq!(text(&o.stdout), "buffered until exit\n");
    let o = w().arg(guest("hello")).arg("w").output().unwrap();
    assert!(text(&o.stdout).contains("argv[1] = w\n"));
    let o = wali_run()
        .args(["--engine", "v8"])
        .arg(guest("hello"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// Without the feature `llvm`, `--engine wasmer-llvm` is one clear line
/// naming the feature (not clap's "invalid value").
#[cfg(not(feature = "llvm"))]
#[test]
fn engine_wasmer_llvm_needs_the_llvm_feature() {
    let o = wali_run()
        .args(["--engine", "wasmer-llvm"])
        .arg(guest("hello"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("built without LLVM (cargo feature `llvm`)"),
        "{}",
        text(&o.stderr)
    );
    assert!(o.stdout.is_empty());
}

/// The LLVM tier compiles a module of its own (cached under its own name,
/// beside wasmer's cranelift one) and runs it as the other engines do.
#[cfg(feature = "llvm")]
#[test]
fn engine_wasmer_llvm_caches_its_own_code() {
    let cache = tempfile::tempdir().unwrap();
    let entries = || {
        std::fs::read_dir(cache.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some())
            .count()
    };
    for (engine, n) in [("wasmer", 1), ("wasmer-llvm", 2), ("wasmer-llvm", 2)] {
        let o = Command::new(env!("CARGO_BIN_EXE_wali-run"))
            .env("WALI_CACHE_DIR", cache.path())
            .args(["--engine", engine])
            .arg(guest("cpu"))
            .arg("10")
            .output()
            .unwrap();
        assert!(o.status.success(), "{engine}: {}", text(&o.stderr));
        assert_eq!(text(&o.stdout), "131759\n");
        assert_eq!(entries(), n, "{engine}");
    }
}

#[test]
fn copy_guest_copies_a_file_exactly() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    let dst = d.path().join("dst");
    // 1 MiB and a bit: several full 64 KiB reads and a short last one
    let data: Vec<u8> = (0..(1u32 << 20) + 12345)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&src, &data).unwrap();
    let o = wali_run()
        .arg(guest("copy"))
        .arg(&src)
        .arg(&dst)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(std::fs::read(&dst).unwrap() == data, "copy differs");
    // a missing source: the guest's own status
    let o = wali_run()
        .arg(guest("copy"))
        .arg(d.path().join("missing"))
        .arg(&dst)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn fuel_caps_a_computing_guest() {
    let o = wali_run()
        .args(["--fuel", "1000000"])
        .arg(guest("signals"))
        .arg("spin")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(128 + libc::SIGXCPU),
        "{}",
        text(&o.stderr)
    );
    assert!(text(&o.stderr).contains("fuel"), "{}", text(&o.stderr));
    // enough fuel: the guest runs to its end
    let o = wali_run()
        .args(["--fuel", "100000000"])
        .arg(guest("hello"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn compute_guest_gives_the_native_checksum() {
    // binary-trees depth 10 over cpu.c's own allocator: 131759 nodes checked
    let o = wali_run().arg(guest("cpu")).arg("10").output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "131759\n");
}

/// Stress (run with `cargo test -p wali-examples --test cli -- --ignored`):
/// 1000 fork+wait cycles on each engine leave the host process with the
/// descriptors, linear memory and (within 1 MiB) resident memory it had.
#[test]
#[ignore]
fn stress_a_thousand_forks_leave_nothing_behind() {
    for engine in ["wasmtime", "wasmer"] {
        let o = wali_run()
            .args(["--engine", engine])
            .arg(guest("procs"))
            .args(["forkloop", "1000"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{engine}: {}", text(&o.stderr));
    }
}

#[test]
fn posix_spawn_through_the_c_librarys_clone() {
    // the WALI C library's posix_spawn code path: its `__clone` stub
    // (-ENOSYS) is replaced by the host's fork; exit statuses, an exec
    // failure reported through the pipe, file actions (open, dup2, chdir),
    // a popen-style pipe, and SETSID/SETPGROUP/SETSIGMASK/SETSIGDEF seen
    // by a spawned .wasm program (an exec of a module runs in place)
    let o = wali_run()
        .arg("--no-cache")
        .arg("-v=1")
        .arg(guest("spawn"))
        .arg("all")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("clone: __clone forks through the host"),
        "{}",
        text(&o.stderr)
    );
    // the policy sees the fork: denied, posix_spawn fails with EPERM
    let o = wali_run()
        .args(["--deny-syscall", "fork"])
        .arg(guest("spawn"))
        .arg("all")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("got 1, expected 0"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn the_c_stack_is_rlimit_stack_sized_and_its_overflow_ends_cleanly() {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    // as a trap: wali-run exits 128+11 (a forked guest dies of the signal)
    let segv = |s: &std::process::ExitStatus| {
        s.code() == Some(128 + libc::SIGSEGV) || s.signal() == Some(libc::SIGSEGV)
    };
    // a guest linked with the linker's 64 KiB C stack recurses 10 000
    // frames deep (2.7 MB) on the 8 MiB stack the runtime maps
    let o = wali_run()
        .arg(guest("stack"))
        .args(["deep", "10000"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    // unbounded recursion: death by SIGSEGV with a message, as natively
    // (the data below the stack is never reached)
    let o = wali_run()
        .arg(guest("stack"))
        .arg("overflow")
        .output()
        .unwrap();
    assert!(segv(&o.status), "{:?} {}", o.status, text(&o.stderr));
    assert!(
        text(&o.stderr).contains("stack overflow: the guest's C stack (8192 KiB) is exhausted"),
        "{}",
        text(&o.stderr)
    );
    // the size is RLIMIT_STACK's, as for a native main thread: 256 KiB
    // does not hold 2000 frames of 256 bytes
    let mut c = wali_run();
    c.arg(guest("stack")).args(["deep", "2000"]);
    // SAFETY: only setrlimit (async-signal-safe) between fork and exec.
    unsafe {
        c.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 256 << 10,
                rlim_max: libc::RLIM_INFINITY,
            };
            libc::setrlimit(libc::RLIMIT_STACK, &lim);
            Ok(())
        });
    }
    let o = c.output().unwrap();
    assert!(segv(&o.status), "{:?} {}", o.status, text(&o.stderr));
    assert!(text(&o.stderr).contains("(256 KiB)"), "{}", text(&o.stderr));
    // and --stack-size gives it explicitly
    let o = wali_run()
        .args(["--stack-size", "16777216"])
        .arg(guest("stack"))
        .arg("overflow")
        .output()
        .unwrap();
    assert!(
        text(&o.stderr).contains("(16384 KiB)"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn deep_wasm_recursion_and_runaway_recursion_end_as_natively() {
    // each level makes a syscall and keeps eight i64 locals live across
    // the next: 40 000 levels need more than wasmer's own 1 MiB stack
    // (wali-run gives both engines --stack-size, 8 MiB)
    let d = tempfile::tempdir().unwrap();
    let m = wat_file(
        d.path(),
        "deep",
        r#"(module
        (import "wali" "SYS_getpid" (func $getpid (result i64)))
        (import "wali" "__cl_get_argc" (func $argc (result i32)))
        (import "wali" "SYS_exit_group" (func $exit (param i32) (result i64)))
        (memory (export "memory") 1 1 shared)
        (func $f (param $n i32) (result i64)
          (local $a i64) (local $b i64) (local $c i64) (local $d i64)
          (local.set $a (call $getpid))
          (local.set $b (i64.add (local.get $a) (i64.const 1)))
          (local.set $c (i64.mul (local.get $b) (i64.const 3)))
          (local.set $d (i64.xor (local.get $c) (local.get $a)))
          (if (result i64) (i32.eqz (local.get $n))
            (then (i64.const 0))
            (else (i64.add
              (i64.add (local.get $a) (local.get $b))
              (i64.add (i64.add (local.get $c) (local.get $d))
                (call $f (i32.sub (local.get $n) (i32.const 1))))))))
        (func $runaway (param $n i64) (result i64)
          (i64.add (local.get $n) (call $runaway (i64.add (local.get $n) (i64.const 1)))))
        (func (export "_start")
          ;; argc 1: 40 000 levels, then exit 0; more: without end
          (if (i32.eq (call $argc) (i32.const 1))
            (then (drop (call $f (i32.const 40000))))
            (else (drop (call $runaway (i64.const 0)))))
          (drop (call $exit (i32.const 0)))))"#,
    );
    let o = wali_run().arg(&m).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    // runaway recursion: a trap (128+11, as a native stack overflow),
    // never a hang
    let t = std::time::Instant::now();
    let o = wali_run().arg(&m).arg("forever").output().unwrap();
    assert_eq!(o.status.code(), Some(139), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("call stack exhausted"),
        "{}",
        text(&o.stderr)
    );
    assert!(t.elapsed() < std::time::Duration::from_secs(60));
}

wali_tests::also_on_wasmer!(
    demo_guest_gets_its_arguments,
    guest_environment_is_wali_runs_unless_an_env_file_is_given,
    exit_status_is_the_guests,
    bad_inputs_get_one_clear_line,
    verbose_reports_unsupported_syscalls,
    session_calls_in_a_process_of_their_own,
    working_directory_option,
    a_cached_start_makes_no_compiler_threads,
    returning_from_main_flushes_like_exit,
    transforms_are_reported_at_v1,
    fork_wait_exec_and_pipes,
    a_forked_child_that_traps_dies_of_the_signal,
    guest_signal_handlers_run,
    a_spinning_guest_dies_of_the_signal_it_gets,
    the_timeout_thread_leaves_signals_to_the_guest,
    threads_share_memory_and_futexes,
    resource_abuse_gets_clean_errors,
    trace_prints_syscalls_strace_style,
    policy_options,
    confinement_to_directories,
    less_common_calls,
    a_guest_cannot_close_the_hosts_own_descriptors,
    the_policy_and_the_trace_cover_mistyped_and_alias_imports,
    old_crt_constructor_imports_return_zero,
    exit_group_from_a_thread_ends_every_thread_with_its_status,
    exec_from_a_thread_replaces_the_whole_process,
    a_guest_starts_with_the_signal_state_a_native_program_would,
    a_blocked_signal_stays_pending_until_it_is_unblocked,
    a_shells_exit_status_is_never_lost,
    real_time_signals_queue_with_their_values,
    sa_onstack_handlers_run_on_the_alternate_stack,
    signals_reach_a_computing_thread_and_its_handler_can_fork,
    argv0_option_names_the_program,
    system_v_ipc_queues_semaphores_and_shared_memory,
    returning_from_main_flushes_through_stdio_exit_or_fflush_without_exit,
    robust_and_priority_inheritance_mutexes,
    posix_spawn_through_the_c_librarys_clone,
    the_c_stack_is_rlimit_stack_sized_and_its_overflow_ends_cleanly,
    deep_wasm_recursion_and_runaway_recursion_end_as_natively,
    copy_guest_copies_a_file_exactly,
    compiled_modules_are_cached,
    fuel_caps_a_computing_guest,
    compute_guest_gives_the_native_checksum,
);

/// A module whose `_start` exits with minus what `call` (code returning
/// an i64 or an i32 syscall result, as `result` says) returned.
fn exit_with_negated(imports: &str, call: &str, result: &str) -> String {
    let value = if result == "i32" {
        format!("(i32.sub (i32.const 0) {call})")
    } else {
        format!("(i32.wrap_i64 (i64.sub (i64.const 0) {call}))")
    };
    format!(
        r#"(module
            {imports}
            (import "wali" "SYS_exit_group" (func $exit_group (param i32) (result i64)))
            (memory (export "memory") 1 10 shared)
            (data (i32.const 64) "/\00")
            (func (export "_start") (drop (call $exit_group {value}))))"#
    )
}

#[test]
fn the_policy_and_the_trace_cover_mistyped_and_alias_imports() {
    let d = tempfile::tempdir().unwrap();
    let eperm = libc::EPERM;
    for (name, imports, call, result, deny, traced) in [
        (
            "getpid_i32",
            r#"(import "wali" "SYS_getpid" (func $f (result i32)))"#,
            "(call $f)",
            "i32",
            "getpid",
            "getpid() = -1 EPERM",
        ),
        (
            "fork_i32",
            r#"(import "wali" "SYS_fork" (func $f (result i32)))"#,
            "(call $f)",
            "i32",
            "process",
            "fork() = -1 EPERM",
        ),
        (
            "getdents_alias",
            r#"(import "wali" "SYS_getdents" (func $f (param i32 i32 i32) (result i64)))"#,
            "(call $f (i32.const 0) (i32.const 256) (i32.const 256))",
            "i64",
            "getdents64",
            "getdents64(0, 0x100, 256) = -1 EPERM",
        ),
        (
            "fstatat_alias_i32",
            r#"(import "wali" "SYS_fstatat" (func $f (param i32 i32 i32 i32) (result i32)))"#,
            "(call $f (i32.const -100) (i32.const 64) (i32.const 512) (i32.const 0))",
            "i32",
            "newfstatat",
            "newfstatat(AT_FDCWD, \"/\", 0x200, 0) = -1 EPERM",
        ),
    ] {
        let m = wat_file(
            d.path(),
            &format!("{name}.wasm"),
            &exit_with_negated(imports, call, result),
        );
        let o = wali_run()
            .args(["--trace", "--deny-syscall", deny])
            .arg(&m)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(eperm), "{name}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(traced),
            "{name}: {}",
            text(&o.stderr)
        );
        // without the policy the call is made (and traced as such)
        let o = wali_run().arg("--trace").arg(&m).output().unwrap();
        assert_ne!(o.status.code(), Some(eperm), "{name}: {}", text(&o.stderr));
        let first = traced.split(" = ").next().unwrap();
        assert!(
            text(&o.stderr).contains(first),
            "{name}: {}",
            text(&o.stderr)
        );
    }
}

#[test]
fn old_crt_constructor_imports_return_zero() {
    let d = tempfile::tempdir().unwrap();
    let m = wat_file(
        d.path(),
        "ctors.wasm",
        r#"(module
            (import "wali" "__call_ctors" (func $c (result i32)))
            (import "wali" "__call_dtors" (func $d))
            (import "wali" "SYS_exit_group" (func $exit_group (param i32) (result i64)))
            (memory (export "memory") 1 10 shared)
            (func (export "_start")
              (call $d)
              (drop (call $exit_group (i32.add (call $c) (i32.const 5))))))"#,
    );
    let o = wali_run().arg(&m).output().unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", text(&o.stderr));
}

/// A threaded module: `_start` runs `init`, spawns a thread running
/// `thread_body`, then waits (a private futex wait on a word no one
/// changes) forever.
fn thread_module(thread_body: &str, data: &str, init: &str) -> String {
    format!(
        r#"(module
            (import "wali" "__wasm_thread_spawn" (func $spawn (param i32 i32) (result i32)))
            (import "wali" "SYS_exit_group" (func $exit_group (param i32) (result i64)))
            (import "wali" "SYS_execve" (func $execve (param i32 i32 i32) (result i64)))
            (import "wali" "SYS_futex" (func $futex (param i32 i32 i32 i32 i32 i32) (result i64)))
            (memory (export "memory") 1 10 shared)
            {data}
            (table 2 funcref)
            (elem (i32.const 1) $thread)
            (func $thread (param $tid i32) (param $arg i32) {thread_body})
            (func (export "_start")
              {init}
              (if (i32.lt_s (call $spawn (i32.const 1) (i32.const 0)) (i32.const 0))
                (then (drop (call $exit_group (i32.const 99)))))
              (loop $wait
                (drop (call $futex (i32.const 0) (i32.const 128) (i32.const 0)
                                   (i32.const 0) (i32.const 0) (i32.const 0)))
                (br $wait))))"#
    )
}

#[test]
fn exit_group_from_a_thread_ends_every_thread_with_its_status() {
    let d = tempfile::tempdir().unwrap();
    let m = wat_file(
        d.path(),
        "tgexit.wasm",
        &thread_module("(drop (call $exit_group (i32.const 7)))", "", ""),
    );
    let o = wali_run().arg(&m).output().unwrap();
    assert_eq!(o.status.code(), Some(7), "{}", text(&o.stderr));
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
}

#[test]
fn exec_from_a_thread_replaces_the_whole_process() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let target = wat_file(
        d.path(),
        "target.wasm",
        &exit_with_negated("", "(i64.const -33)", "i64"),
    );
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = target.to_str().unwrap();
    // the path at 64 (a passive segment, as WALI guests have), argv = { path, NULL } at 16
    let data = format!(r#"(data $path "{path}\00")"#);
    let init = format!(
        "(memory.init $path (i32.const 64) (i32.const 0) (i32.const {}))
         (i32.store (i32.const 16) (i32.const 64))",
        path.len() + 1
    );
    let m = wat_file(
        d.path(),
        "texec.wasm",
        &thread_module(
            "(drop (call $execve (i32.const 64) (i32.const 16) (i32.const 24)))
             (drop (call $exit_group (i32.const 98)))",
            &data,
            &init,
        ),
    );
    let t = std::time::Instant::now();
    let o = wali_run().arg(&m).output().unwrap();
    assert_eq!(o.status.code(), Some(33), "{}", text(&o.stderr));
    assert!(t.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn a_guest_starts_with_the_signal_state_a_native_program_would() {
    use std::os::unix::process::CommandExt;
    // SIGPIPE at SIG_DFL (the Rust runtime's own SIG_IGN is not passed on),
    // nothing blocked; a write to a pipe without reader kills with SIGPIPE
    let o = wali_run()
        .arg(guest("sigstate"))
        .arg("start")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = wali_run()
        .arg(guest("sigstate"))
        .arg("pipe")
        .output()
        .unwrap();
    // it dies of SIGPIPE itself, as a native program does (a shell shows 141)
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&o.status),
        Some(libc::SIGPIPE),
        "{}",
        text(&o.stderr)
    );
    // a parent that ignores SIGPIPE passes that on, as to a native program
    let mut c = wali_run();
    c.arg(guest("sigstate")).arg("start-ign");
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(|| {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            Ok(())
        });
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    // and a native program the guest execs starts with SIGPIPE at SIG_DFL
    let o = wali_run()
        .arg(guest("sigstate"))
        .args(["exec", "/bin/grep", "grep", "SigIgn", "/proc/self/status"])
        .output()
        .unwrap();
    let line = text(&o.stdout);
    let hex = line.trim().rsplit('\t').next().unwrap();
    let ignored = u64::from_str_radix(hex, 16).unwrap();
    assert_eq!(ignored & 1 << (libc::SIGPIPE - 1), 0, "{line}");
}

#[test]
fn a_blocked_signal_stays_pending_until_it_is_unblocked() {
    // --no-cache: the compiler's threads exist while the guest runs, and
    // must not take the guest's signals
    let o = wali_run()
        .arg("--no-cache")
        .arg(guest("sigstate"))
        .args(["chld", "200"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn a_shells_exit_status_is_never_lost() {
    // as a shell runs a command: fork, the child fails, the SIGCHLD
    // handler and wait4 race for it; 200 times in a guest compiled in this
    // run (the compiler's threads exist), then 200 fresh runs (cached)
    let o = wali_run()
        .arg("--no-cache")
        .arg(guest("sigstate"))
        .args(["status", "200"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    for i in 0..200 {
        let o = wali_run()
            .arg(guest("sigstate"))
            .args(["status", "1"])
            .output()
            .unwrap();
        assert!(o.status.success(), "run {i}: {}", text(&o.stderr));
    }
}

#[test]
fn real_time_signals_queue_with_their_values() {
    let o = wali_run()
        .arg(guest("sigrt"))
        .arg("queue")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn sa_onstack_handlers_run_on_the_alternate_stack() {
    let o = wali_run()
        .arg(guest("sigrt"))
        .arg("altstack")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn signals_reach_a_computing_thread_and_its_handler_can_fork() {
    let t = std::time::Instant::now();
    let o = wali_run()
        .arg("--timeout")
        .arg("30")
        .arg(guest("sigrt"))
        .arg("threads")
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?} {}", o.status, text(&o.stderr));
    assert!(t.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn argv0_option_names_the_program() {
    // exits with strlen(argv[0]), plus 100 when it starts with 'x'
    let d = tempfile::tempdir().unwrap();
    let m = wat_file(
        d.path(),
        "argv0.wasm",
        r#"(module
            (import "wali" "__cl_get_argv_len" (func $len (param i32) (result i32)))
            (import "wali" "__cl_copy_argv" (func $copy (param i32 i32) (result i32)))
            (import "wali" "SYS_exit_group" (func $exit_group (param i32) (result i64)))
            (memory (export "memory") 1 1 shared)
            (func (export "_start")
              (drop (call $copy (i32.const 64) (i32.const 0)))
              (drop (call $exit_group (i32.add (call $len (i32.const 0))
                (select (i32.const 100) (i32.const 0)
                  (i32.eq (i32.load8_u (i32.const 64)) (i32.const 120))))))))"#,
    );
    let o = wali_run()
        .args(["--argv0", "xsh"])
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(103), "{}", text(&o.stderr));
    // a login shell's name starts with '-' (`exec -l`, `--argv0 -bash`)
    let o = wali_run()
        .args(["--argv0", "-bash"])
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", text(&o.stderr));
    let o = wali_run().arg(&m).output().unwrap();
    let len = m.as_os_str().len() as i32;
    assert_eq!(
        o.status.code(),
        Some(len & 0xff),
        "argv[0] is the path as given"
    );
}

#[test]
fn system_v_ipc_queues_semaphores_and_shared_memory() {
    let o = wali_run().arg(guest("ipc")).arg("all").output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    // one segment shared by a guest and this (native) process
    let key = 0x5a10_0000 | (std::process::id() as i32 & 0xffff) << 2 | wali_tests::engine() as i32;
    let o = wali_run()
        .arg(guest("ipc"))
        .args(["shm-put", &key.to_string()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    // SAFETY: a System V segment of this test's key, attached, read and
    // written within its 4096 bytes, detached.
    let seen = unsafe {
        let id = libc::shmget(key, 0, 0);
        assert!(id >= 0, "the guest's segment is the kernel's");
        let a = libc::shmat(id, std::ptr::null(), 0) as *mut u8;
        assert_ne!(a as isize, -1);
        let seen = std::slice::from_raw_parts(a, 12).to_vec();
        let reply = b"native says hi";
        std::ptr::copy_nonoverlapping(reply.as_ptr(), a.add(100), reply.len());
        libc::shmdt(a as *const _);
        seen
    };
    assert_eq!(seen, b"wasm says hi");
    let o = wali_run()
        .arg(guest("ipc"))
        .args(["shm-get", &key.to_string()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn returning_from_main_flushes_through_stdio_exit_or_fflush_without_exit() {
    // The linker dropped exit(): _start calls __proc_exit directly; the
    // module still has the C library's __stdio_exit (or fflush), which
    // writes the buffered output.
    let d = tempfile::tempdir().unwrap();
    for (name, flush) in [
        ("stdio_exit", "(func $__stdio_exit (call $flush_buffer))"),
        (
            "fflush",
            "(func $fflush (param i32) (result i32) (call $flush_buffer) (i32.const 0))",
        ),
    ] {
        let m = wat_file(
            d.path(),
            &format!("{name}.wasm"),
            &format!(
                r#"(module
                (import "wali" "SYS_write" (func $write (param i32 i32 i32) (result i64)))
                (import "wali" "__proc_exit" (func $proc_exit (param i32)))
                (memory (export "memory") 1 1 shared)
                (data $text "buffered\0a")
                (func $flush_buffer
                  (memory.init $text (i32.const 64) (i32.const 0) (i32.const 9))
                  (drop (call $write (i32.const 1) (i32.const 64) (i32.const 9))))
                {flush}
                (func $main (result i32) (i32.const 4))
                (func (export "_start") (call $proc_exit (call $main))))"#
            ),
        );
        // (compiled in this run: -v=1 reports the transforms as they apply)
        let o = wali_run()
            .args(["-v=1", "--no-cache"])
            .arg(&m)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(4), "{name}: {}", text(&o.stderr));
        assert_eq!(text(&o.stdout), "buffered\n", "{name}");
        assert!(
            text(&o.stderr).contains("has no exit()"),
            "{}",
            text(&o.stderr)
        );
        let o = wali_run().arg("--no-transforms").arg(&m).output().unwrap();
        assert_eq!(text(&o.stdout), "", "{name}: without the transform");
    }
}

#[test]
fn robust_and_priority_inheritance_mutexes() {
    for mode in ["robust", "pi"] {
        let o = wali_run()
            .args(["--timeout", "20"])
            .arg(guest("robust"))
            .arg(mode)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{mode}: {:?} {}",
            o.status,
            text(&o.stderr)
        );
    }
}
