//! `wali-run`: run a WALI program.
//!
//! ```text
//! wali-run [OPTIONS] <MODULE> [ARGS]...
//! ```
//! Everything after the module goes to the guest; its `argv[0]` is the
//! module path as given. Flags of the reference runtime (`-v=N`,
//! `--env-file=FILE`, `--stack-size=N`, `--max-threads=N`) are accepted.

use clap::Parser;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "wali-run",
    version,
    about = "Run a WebAssembly Linux Interface (WALI) program"
)]
struct Cli {
    /// Diagnostics: 0 none, 1 notes, 2 unsupported syscalls (`-v=2`).
    #[arg(short = 'v', long = "verbose", value_name = "N", num_args = 0..=1, require_equals = true, default_value_t = 0, default_missing_value = "1")]
    verbose: u8,
    /// Start the guest with the environment in FILE (KEY=VALUE lines)
    /// instead of wali-run's own.
    #[arg(long = "env-file", value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// Set an environment variable for the guest (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Start the guest with an empty environment (plus any --env).
    #[arg(long = "clear-env")]
    clear_env: bool,
    /// The guest's `argv[0]` (default: the module path as given), as
    /// `wasmtime run --argv0` and bash's `exec -a` set it.
    #[arg(long = "argv0", value_name = "NAME", allow_hyphen_values = true)]
    argv0: Option<OsString>,
    /// Working directory of the guest.
    #[arg(long = "cwd", value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// The guest's stack in bytes: its C stack in linear memory (default:
    /// `RLIMIT_STACK`, 8 MiB on most systems, as Linux gives a main
    /// thread) and the engine's limit for wasm frames.
    #[arg(long = "stack-size", value_name = "N")]
    stack_size: Option<usize>,
    /// At most N guest threads, the main one included (the reference
    /// runtime's flag too).
    #[arg(long = "max-threads", value_name = "N")]
    max_threads: Option<usize>,
    /// Deny a syscall (NAME) or a group (net, process, signal, fs-write,
    /// identity): it returns EPERM. Repeatable.
    #[arg(long = "deny-syscall", value_name = "NAME|GROUP")]
    deny_syscall: Vec<String>,
    /// Allow again what a --deny-syscall covered. Repeatable.
    #[arg(long = "allow-syscall", value_name = "NAME|GROUP")]
    allow_syscall: Vec<String>,
    /// Confine the guest's paths to DIR (repeatable; DIR:ro read-only).
    #[arg(long = "dir", value_name = "DIR[:ro]")]
    dir: Vec<String>,
    /// No internet sockets (AF_INET/AF_INET6 socket() fails with EACCES).
    #[arg(long = "deny-net")]
    deny_net: bool,
    /// Allow connect/bind/sendto to `ADDR[/PREFIX][:PORT]` only. Repeatable.
    #[arg(long = "allow-net", value_name = "ADDR/PREFIX:PORT")]
    allow_net: Vec<String>,
    /// execve of anything but a wasm module fails with EACCES.
    #[arg(long = "deny-native-exec")]
    deny_native_exec: bool,
    /// Linear memory may not grow past BYTES (suffix K, M, G).
    #[arg(long = "max-memory", value_name = "BYTES")]
    max_memory: Option<String>,
    /// At most N open descriptors.
    #[arg(long = "max-fds", value_name = "N")]
    max_fds: Option<u64>,
    /// CPU cap: the guest ends as by SIGXCPU after N units of wasmtime fuel
    /// (about one per wasm instruction; turns fuel metering on).
    #[arg(long = "fuel", value_name = "N")]
    fuel: Option<u64>,
    /// End the guest as by SIGKILL after SECS seconds.
    #[arg(long = "timeout", value_name = "SECS")]
    timeout: Option<f64>,
    /// Register wasm modules (magic \0asm) with the kernel's binfmt_misc,
    /// this wali-run as their interpreter, so `./prog.wasm` runs (root).
    #[arg(long = "register-binfmt", exclusive = true)]
    register_binfmt: bool,
    /// Remove that registration.
    #[arg(long = "unregister-binfmt", exclusive = true)]
    unregister_binfmt: bool,
    /// The engine: wasmtime (default), wasmer, or wasmer-llvm (wasmer with
    /// its LLVM compiler: slower to compile, faster code; in a wali-run
    /// built with the cargo feature `llvm`).
    #[arg(long = "engine", value_name = "ENGINE", default_value = "wasmtime", value_parser = ["wasmtime", "wasmer", "wasmer-llvm"])]
    engine: String,
    /// Print every syscall, strace-style, on stderr.
    #[arg(long = "trace")]
    trace: bool,
    /// Do not use the compiled-module cache.
    #[arg(long = "no-cache")]
    no_cache: bool,
    /// Run the module as it is, without the load-time transforms
    /// (setjmp/longjmp, function-pointer casts, exit when main returns,
    /// C stack frames kept in locals).
    #[arg(long = "no-transforms")]
    no_transforms: bool,
    /// The WALI module to run, then the guest's arguments.
    #[arg(value_name = "MODULE", required_unless_present_any = ["register_binfmt", "unregister_binfmt"])]
    module: Option<PathBuf>,
    /// Arguments for the guest (everything after MODULE).
    #[arg(value_name = "ARGS")]
    args: Vec<OsString>,
}

impl Cli {
    /// What clap gives for `wali-run MODULE ARGS...` (no option).
    fn plain(module: PathBuf, args: Vec<OsString>) -> Cli {
        Cli {
            verbose: 0,
            env_file: None,
            env: Vec::new(),
            clear_env: false,
            argv0: None,
            cwd: None,
            stack_size: None,
            max_threads: None,
            deny_syscall: Vec::new(),
            allow_syscall: Vec::new(),
            dir: Vec::new(),
            deny_net: false,
            allow_net: Vec::new(),
            deny_native_exec: false,
            max_memory: None,
            max_fds: None,
            fuel: None,
            timeout: None,
            register_binfmt: false,
            unregister_binfmt: false,
            engine: "wasmtime".into(),
            trace: false,
            no_cache: false,
            no_transforms: false,
            module: Some(module),
            args,
        }
    }
}

fn fail(msg: impl std::fmt::Display) -> i32 {
    eprintln!("wali-run: {msg}");
    1
}

fn parse_size(s: &str) -> Result<usize, String> {
    let (num, mul) = match s.chars().last() {
        Some('K' | 'k') => (&s[..s.len() - 1], 1 << 10),
        Some('M' | 'm') => (&s[..s.len() - 1], 1 << 20),
        Some('G' | 'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .ok_or_else(|| format!("--max-memory {s}: expected BYTES[K|M|G]"))
}

/// The policy the options ask for, if any.
fn policy(cli: &Cli) -> Result<Option<wali_core::Policy>, String> {
    let mut p = wali_core::Policy::default();
    let mut any = false;
    for d in &cli.deny_syscall {
        p.deny(d).map_err(|e| format!("--deny-syscall: {e}"))?;
        any = true;
    }
    for a in &cli.allow_syscall {
        p.allow(a).map_err(|e| format!("--allow-syscall: {e}"))?;
    }
    if cli.deny_net || !cli.allow_net.is_empty() {
        p.restrict_net = true;
        for r in &cli.allow_net {
            p.allow_net
                .push(wali_core::NetRule::parse(r).map_err(|e| format!("--allow-net {e}"))?);
        }
        any = true;
    }
    for d in &cli.dir {
        let (path, ro) = match d.strip_suffix(":ro") {
            Some(p) => (p, true),
            None => (d.as_str(), false),
        };
        p.allow_dir(path, ro)
            .map_err(|e| format!("--dir {path}: {e}"))?;
        any = true;
    }
    if cli.deny_native_exec {
        p.deny_native_exec = true;
        any = true;
    }
    if let Some(m) = &cli.max_memory {
        p.max_memory = Some(parse_size(m)?);
        any = true;
    }
    if let Some(n) = cli.max_threads {
        p.max_threads = Some(n.max(1));
        any = true;
    }
    if let Some(n) = cli.fuel {
        p.fuel = Some(n);
        any = true;
    }
    if let Some(n) = cli.max_fds {
        p.max_fds = Some(n);
        any = true;
    }
    Ok(any.then_some(p))
}

/// Index of the module in `argv`: the first argument that is neither an
/// option of wali-run nor the value of one. Everything after it belongs to
/// the guest, even if it looks like an option.
fn module_index(argv: &[OsString]) -> Option<usize> {
    const WITH_VALUE: &[&str] = &[
        "--env-file",
        "--env",
        "--cwd",
        "--argv0",
        "--dir",
        "--stack-size",
        "--max-threads",
        "--deny-syscall",
        "--allow-syscall",
        "--allow-net",
        "--max-memory",
        "--max-fds",
        "--timeout",
        "--fuel",
        "--engine",
    ];
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].to_string_lossy();
        if a == "--" {
            return (i + 1 < argv.len()).then_some(i + 1);
        }
        if !a.starts_with('-') || a == "-" {
            return Some(i);
        }
        if WITH_VALUE.contains(&a.as_ref()) {
            i += 1;
        }
        i += 1;
    }
    None
}

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let cli = match module_index(&argv) {
        // `wali-run prog.wasm args...`, as binfmt_misc runs a module:
        // nothing for clap to parse (building its command costs more than
        // a tenth of a millisecond).
        Some(1) if !argv[1].as_encoded_bytes().starts_with(b"-") => {
            Cli::plain(argv[1].clone().into(), argv[2..].to_vec())
        }
        Some(m) => {
            let mut head: Vec<OsString> =
                argv[..m].iter().filter(|a| *a != "--").cloned().collect();
            head.push("--".into());
            head.push(argv[m].clone());
            let mut cli = Cli::parse_from(head);
            cli.args = argv[m + 1..].to_vec();
            cli
        }
        None => Cli::parse_from(&argv),
    };
    // Before any other thread exists: the threads the runtime makes (the
    // compiler's, the guest's own host thread) inherit a mask that leaves
    // asynchronous signals to the guest's threads.
    wali_core::sys::signal::reserve_signals_for_guests();
    // The compiler's thread pool (rayon's global one) is made when a module
    // is first compiled (`start_compile_pool`), with that mask too.
    let stack = cli.stack_size.unwrap_or(8 << 20).clamp(64 << 10, 1 << 30);
    // The engine is made here while the guest thread starts (each takes
    // about a tenth of a millisecond), and handed to it.
    let (engine_tx, engine_rx) = std::sync::mpsc::sync_channel(1);
    let config = (cli.engine == "wasmtime"
        && cli.module.is_some()
        && !cli.register_binfmt
        && !cli.unregister_binfmt)
        .then(|| engine_config(&cli, stack));
    // The guest runs on a thread whose native stack comfortably holds the
    // wasm stack limit plus host frames.
    // It also ends the process itself: after a guest fork() the child has
    // only this thread, so the status cannot go back to main.
    let worker = std::thread::Builder::new()
        .name("wali-guest".into())
        .stack_size(stack + (32 << 20))
        .spawn(move || {
            // This thread runs the guest: a signal acts on it at once, also
            // while the module compiles.
            wali_core::sys::signal::restore_startup_mask();
            let code = run(cli, engine_rx);
            std::process::exit(code)
        });
    if let Some(config) = config {
        let _ = engine_tx.send(wali::Runner::with_config(&config).map_err(|e| e.to_string()));
    }
    drop(engine_tx);
    let code = match worker.map(|h| h.join()) {
        Ok(Ok(())) => 0,
        Ok(Err(_)) => fail("internal error: the guest thread panicked"),
        Err(e) => fail(format!("cannot start the guest thread: {e}")),
    };
    ExitCode::from(code as u8)
}

const BINFMT: &str = "/proc/sys/fs/binfmt_misc";

/// `--register-binfmt` / `--unregister-binfmt`.
fn binfmt(register: bool) -> i32 {
    let reg = std::path::Path::new(BINFMT).join("register");
    if !reg.exists() {
        return fail(format!(
            "binfmt_misc is not mounted at {BINFMT} (mount -t binfmt_misc binfmt_misc {BINFMT})"
        ));
    }
    let entry = std::path::Path::new(BINFMT).join("wali");
    if !register {
        if !entry.exists() {
            return fail("no binfmt_misc entry 'wali' to remove");
        }
        return match std::fs::write(&entry, "-1") {
            Ok(()) => {
                println!("wali-run: removed the binfmt_misc entry 'wali'");
                0
            }
            Err(e) => fail(format!("cannot remove {}: {e}", entry.display())),
        };
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(format!("cannot find this program: {e}")),
    };
    if entry.exists() {
        let _ = std::fs::write(&entry, "-1");
    }
    // M: match the magic \0asm + version 1; F: the interpreter is opened
    // now, so it works from any mount namespace. Without P the guest's
    // argv[0] is the path as the caller gave it (./prog.wasm).
    let rule = format!(":wali:M::\\x00asm\\x01\\x00\\x00\\x00::{}:F", exe.display());
    match std::fs::write(&reg, &rule) {
        Ok(()) => {
            println!(
                "wali-run: registered wasm modules (\\0asm, version 1) with {} as interpreter (binfmt_misc entry 'wali', flags F)",
                exe.display()
            );
            0
        }
        Err(e) => fail(format!(
            "cannot register with binfmt_misc ({}): {e}",
            reg.display()
        )),
    }
}

/// The wasmtime engine's configuration for `cli`.
fn engine_config(cli: &Cli, stack: usize) -> wasmtime::Config {
    let mut config = wali::config();
    config.async_stack_size(stack + (1 << 20));
    config.max_wasm_stack(stack);
    if cli.fuel.is_some() {
        config.consume_fuel(true);
    }
    if cli.no_transforms {
        // no signal-poll checks: epochs let a signal reach a computing guest
        config.epoch_interruption(true);
    }
    config
}

/// Runs the guest `cli` names; `engine` brings the wasmtime runner when
/// the engine is wasmtime.
fn run(cli: Cli, engine: std::sync::mpsc::Receiver<Result<wali::Runner, String>>) -> i32 {
    if cli.register_binfmt || cli.unregister_binfmt {
        return binfmt(cli.register_binfmt);
    }
    let Some(module) = cli.module.clone() else {
        return fail("no module given");
    };
    if cli.trace || cli.verbose >= 3 {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        use tracing_subscriber::Layer;
        // wali's own events only (the engines log their compilation at
        // these levels too).
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .without_time()
            .with_level(false)
            .with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("wali", tracing_subscriber::filter::LevelFilter::TRACE),
            );
        let _ = tracing_subscriber::registry().with(layer).try_init();
        wali_core::trace::enable(true);
    }
    let path = module;
    let guest_args = &cli.args;
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) => return fail(format!("{}: {e}", path.display())),
    };
    if !meta.is_file() {
        return fail(format!("{}: not a file", path.display()));
    }
    let loaded = if cli.engine != "wasmtime" {
        None
    } else {
        let runner = match engine.recv() {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return fail(format!("cannot create the engine: {e}")),
            Err(_) => return fail("internal error: no engine was made"),
        };
        let runner = if cli.no_cache {
            runner.cache(None)
        } else {
            runner
        };
        let runner = runner.verbosity(cli.verbose);
        let runner = if cli.no_transforms {
            runner.transforms(wali::TransformOptions::NONE)
        } else {
            runner
        };
        match runner.load(&path) {
            Ok(m) => Some((runner, m)),
            Err(e) => return fail(format!("{}: {e}", path.display())),
        }
    };
    let mut b = wali::WaliCtx::builder()
        .arg(cli.argv0.as_deref().unwrap_or(path.as_os_str()))
        .args(guest_args)
        .verbosity(cli.verbose)
        .program(&path);
    if let Some(f) = &cli.env_file {
        b = b.env_file(f);
    } else if !cli.clear_env {
        b = b.inherit_env();
    }
    for kv in &cli.env {
        match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() && cli.env_file.is_none() => b = b.env(k, v),
            Some(_) if cli.env_file.is_some() => {
                return fail("--env cannot be combined with --env-file")
            }
            _ => return fail(format!("--env {kv}: expected KEY=VALUE")),
        }
    }
    if let Some(d) = &cli.cwd {
        b = b.cwd(d);
    }
    if let Some(n) = cli.stack_size {
        b = b.c_stack_size(n);
    }
    match policy(&cli) {
        Ok(Some(p)) => b = b.policy(p),
        Ok(None) => {}
        Err(e) => return fail(e),
    }
    if let Some(secs) = cli.timeout {
        if !(secs > 0.0 && secs.is_finite()) {
            return fail("--timeout: expected a positive number of seconds");
        }
        // Ends the whole process as SIGKILL would, whatever the guest is
        // doing (computing, blocked, or in a handler). Made with the
        // guest's signals blocked, so the kernel gives them to the guest.
        let _ = wali_core::sys::signal::without_guest_signals(|| {
            std::thread::Builder::new()
                .name("wali-timeout".into())
                .spawn(move || {
                    std::thread::sleep(std::time::Duration::from_secs_f64(secs));
                    // SAFETY: signalling this process.
                    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
                })
        });
    }
    let ctx = match b.build() {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot set up the guest: {e}")),
    };
    let Some((runner, module)) = loaded else {
        return run_wasmer(&path, ctx, &cli);
    };
    report(&path, runner.run(&module, ctx).map_err(|e| e.to_string()))
}

/// The exit status of `wali-run` for how the guest ended (both engines).
fn report(path: &std::path::Path, outcome: Result<wali::Outcome, String>) -> i32 {
    match outcome {
        Ok(wali::Outcome::Exited(code)) => wali_core::exit_status(code),
        Ok(o @ wali::Outcome::Killed { .. }) => {
            if let wali::Outcome::Killed { message, .. } = &o {
                eprintln!("wali-run: {}: {message}", path.display());
            }
            o.exit_code()
        }
        // Runner::run carries out exec requests itself.
        Ok(wali::Outcome::Exec(req)) => {
            fail(format!("exec {} was not carried out", req.path.display()))
        }
        Err(e) => fail(format!("{}: {e}", path.display())),
    }
}

/// The same program on wasmer.
fn run_wasmer(path: &std::path::Path, ctx: wali::WaliCtx, cli: &Cli) -> i32 {
    let stack = cli.stack_size.unwrap_or(8 << 20).clamp(64 << 10, 1 << 30);
    let compiler =
        match cli.engine.as_str() {
            #[cfg(feature = "llvm")]
            "wasmer-llvm" => wali_wasmer::Compiler::Llvm,
            #[cfg(not(feature = "llvm"))]
            "wasmer-llvm" => return fail(
                "--engine wasmer-llvm: this wali-run was built without LLVM (cargo feature `llvm`)",
            ),
            _ => wali_wasmer::Compiler::Cranelift,
        };
    let runner = wali_wasmer::Runner::with_compiler(compiler)
        .verbosity(cli.verbose)
        .fuel(cli.fuel.is_some())
        .wasm_stack_size(stack);
    let runner = if cli.no_cache {
        runner.cache(None)
    } else {
        runner
    };
    let runner = if cli.no_transforms {
        runner.transforms(wali::TransformOptions::NONE)
    } else {
        runner
    };
    let module = match runner.load(path) {
        Ok(m) => m,
        Err(e) => return fail(format!("{}: {e}", path.display())),
    };
    let code = report(path, runner.run(&module, ctx));
    // The process exits now: the compiled code is not unregistered (a
    // guest that exhausted wasmer's stack inside a host call can leave the
    // unwinder's registry lock taken, and unregistering would wait for it).
    std::mem::forget(module);
    std::mem::forget(runner);
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path for `wali-run MODULE ARGS...` gives what clap gives.
    #[test]
    fn plain_matches_clap() {
        for args in [vec![], vec!["-c", "true"], vec!["--", "-v", "x y"]] {
            let args: Vec<OsString> = args.into_iter().map(OsString::from).collect();
            // as main parses: the options before the module, then the rest
            let mut parsed = Cli::parse_from(["wali-run", "--", "prog.wasm"]);
            parsed.args = args.clone();
            let plain = Cli::plain("prog.wasm".into(), args);
            assert_eq!(format!("{plain:?}"), format!("{parsed:?}"));
        }
    }
}
