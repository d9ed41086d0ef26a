//! `cargo bench -p wali-examples --bench report`: workloads under wali and
//! natively, side by side, as a table of times and ratios. The compute
//! workloads (C and lua binary-trees, sqlite3) and the warm starts run
//! every variant of a row group in turn and report minimums (see
//! `interleaved`); the syscall, copy, memcached and cold-start rows are
//! medians.
//!
//! Always run: the syscall round trip (a WAT guest: getpid, and 1-byte
//! writes to /dev/null), the file copy, and binary-trees in C (the
//! `cpu.c` guest vs the same source built natively: with `cc -O2`, the
//! baseline, and, when installed, with `clang-19 -O2`, the guest's own
//! compiler, and `musl-gcc -O2 -static`, the C library of the prebuilt
//! WALI guests). Each workload also runs on the other engines (wasmer, and
//! wasmer-llvm with the feature `llvm`). Run when the
//! prebuilt WALI guests are given: `LUA_WASM=.../lua.wasm` (binary-trees, transformed and not, vs native
//! `lua5.4`, and vs `LUA_NATIVE_MUSL=.../lua`, a native build of the same
//! Lua on musl, when given), `BASH_WASM=.../bash.wasm` (`bash -c true`: cold, warm (the
//! minimum of many starts, as `lua -e ''`), native,
//! and the load-time transforms alone), `SQLITE_WASM=.../sqlite3.wasm` (20k
//! inserts in one transaction and an aggregate, vs native `sqlite3`, and vs
//! `SQLITE_NATIVE_MUSL=.../sqlite3` when given),
//! `MEMCACHED_WASM=.../memcached.wasm`. A workload whose input is missing
//! is skipped with a line saying so. `WALI_RUN_FIXED=.../wali-run`, a
//! `wali-run` built as README.md's static build at a fixed address, adds
//! warm-start rows for it beside the bench's own build.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wali_run() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wali-run"))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time_cmd(mut make: impl FnMut() -> Command, runs: usize) -> Option<Duration> {
    let mut v = Vec::new();
    for _ in 0..runs {
        let mut c = make();
        c.stdout(Stdio::null()).stderr(Stdio::null());
        let t = Instant::now();
        let st = c.status().ok()?;
        let d = t.elapsed();
        if !st.success() {
            eprintln!("{c:?}: {st}");
            return None;
        }
        v.push(d);
    }
    Some(median(v))
}

/// A command to time, made afresh for each run.
type Cmd<'a> = Box<dyn FnMut() -> Command + 'a>;

/// Commands measured side by side: one warm-up run of each (it also
/// fills the compiled-module cache), then `rounds` rounds that run each
/// once in turn; each command's minimum. Noise on a shared machine only
/// adds time, and taking turns gives every command the same spells of it,
/// so ratios of these minimums hold across a run where medians of blocks
/// run one after the other do not. `None` for a command that failed (it
/// is not run again).
fn interleaved(mut cmds: Vec<Cmd<'_>>, rounds: usize) -> Vec<Option<Duration>> {
    let once = |make: &mut dyn FnMut() -> Command| {
        let mut c = make();
        c.stdout(Stdio::null()).stderr(Stdio::null());
        let t = Instant::now();
        match c.status() {
            Ok(st) if st.success() => Some(t.elapsed()),
            st => {
                eprintln!("{c:?}: {st:?}");
                None
            }
        }
    };
    let mut best: Vec<Option<Duration>> = cmds.iter_mut().map(|c| once(c)).collect();
    for _ in 0..rounds {
        for (c, b) in cmds.iter_mut().zip(best.iter_mut()) {
            if let Some(m) = *b {
                *b = once(c).map(|t| m.min(t));
            }
        }
    }
    best
}

fn row(name: &str, wali: Option<Duration>, native: Option<Duration>, unit_div: f64, unit: &str) {
    let f = |d: Option<Duration>| {
        d.map_or("-".to_string(), |d| {
            format!("{:.1} {unit}", d.as_secs_f64() * 1e9 / unit_div)
        })
    };
    let ratio = match (wali, native) {
        (Some(w), Some(n)) if n.as_nanos() > 0 => {
            format!("{:.2}x", w.as_secs_f64() / n.as_secs_f64())
        }
        _ => "-".into(),
    };
    println!(
        "| {name:<44} | {:>14} | {:>14} | {ratio:>7} |",
        f(wali),
        f(native)
    );
}

fn syscall_guest(dir: &Path, which: &str, n: u32) -> PathBuf {
    let body = match which {
        "getpid" => "(drop (call $getpid))".to_string(),
        _ => "(drop (call $write (local.get $fd) (i32.const 64) (i32.const 1)))".to_string(),
    };
    let wat = format!(
        r#"(module
        (import "wali" "SYS_getpid" (func $getpid (result i64)))
        (import "wali" "SYS_write" (func $write (param i32 i32 i32) (result i64)))
        (import "wali" "SYS_open" (func $open (param i32 i32 i32) (result i64)))
        (memory (export "memory") 1 1 shared)
        (data (i32.const 16) "/dev/null\00")
        (func (export "_start") (local $i i32) (local $fd i32)
          (local.set $fd (i32.wrap_i64 (call $open (i32.const 16) (i32.const 1) (i32.const 0))))
          (loop $l
            {body}
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (i32.const {n}))))))"#
    );
    let p = dir.join(format!("{which}-{n}.wasm"));
    std::fs::write(&p, wat::parse_str(&wat).unwrap()).unwrap();
    p
}

/// The time `n` calls of `which` take in a guest run by `wali-run
/// <args>`: the median of 5 runs less that of a 0-call run of the same
/// guest (so start-up is left out), after one warm-up run of each.
fn calls_time(dir: &Path, cache: &Path, which: &str, n: u32, args: &[&str]) -> Option<Duration> {
    let run = |p: &Path| {
        let p = p.to_path_buf();
        move || {
            let mut cmd = wali_run();
            cmd.env("WALI_CACHE_DIR", cache).args(args).arg(&p);
            cmd
        }
    };
    let g = syscall_guest(dir, which, n);
    let base = syscall_guest(dir, "getpid", 0);
    time_cmd(run(&g), 1); // warm the cache
    time_cmd(run(&base), 1);
    let w = time_cmd(run(&g), 5)?;
    let b = time_cmd(run(&base), 5)?;
    Some(w.saturating_sub(b))
}

fn native_syscalls(which: &str, n: u32) -> Duration {
    let fd = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .unwrap();
    use std::os::fd::AsRawFd;
    let fd = fd.as_raw_fd();
    let t = Instant::now();
    for _ in 0..n {
        // SAFETY: getpid has no arguments; write reads one byte of a host buffer.
        unsafe {
            if which == "getpid" {
                libc::syscall(libc::SYS_getpid);
            } else {
                libc::write(fd, b"x".as_ptr() as *const libc::c_void, 1);
            }
        }
    }
    t.elapsed()
}

/// Starts a memcached with `cmd`, then times 4 clients each doing 10k
/// set+get round trips on `port`.
fn memcached_ops(mut cmd: Command, port: u16) -> Option<Duration> {
    use std::io::{BufRead, BufReader, Write};
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let t = Instant::now();
    let ok = up
        && (0..4)
            .map(|c| {
                std::thread::spawn(move || -> Option<()> {
                    let s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
                    s.set_nodelay(true).ok()?;
                    let mut r = BufReader::new(s.try_clone().ok()?);
                    let mut w = s;
                    let mut line = String::new();
                    for i in 0..10_000 {
                        let v = format!("value-{c}-{i}");
                        write!(w, "set k{c}_{i} 0 0 {}\r\n{v}\r\nget k{c}_{i}\r\n", v.len())
                            .ok()?;
                        for _ in 0..4 {
                            line.clear();
                            r.read_line(&mut line).ok()?;
                        }
                        if !line.starts_with("END") {
                            return None;
                        }
                    }
                    Some(())
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .all(|h| h.join().ok().flatten().is_some());
    let d = t.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    ok.then_some(d)
}

const BINARY_TREES: &str = r#"
local function BottomUpTree(depth)
  if depth > 0 then depth = depth - 1
    return { BottomUpTree(depth), BottomUpTree(depth) }
  else return { } end
end
local function ItemCheck(tree)
  if tree[1] then return 1 + ItemCheck(tree[1]) + ItemCheck(tree[2]) else return 1 end
end
local N = tonumber(arg and arg[1]) or 16
local maxdepth = math.max(6, N)
local check = ItemCheck(BottomUpTree(maxdepth + 1))
local long = BottomUpTree(maxdepth)
for depth = 4, maxdepth, 2 do
  local it = 2 ^ (maxdepth - depth + 4)
  for i = 1, it do check = check + ItemCheck(BottomUpTree(depth)) end
end
io.write(check + ItemCheck(long), "\n")
"#;

/// Whole processes per command in a start-up row.
const STARTS: usize = 50;

/// The engines besides the default one, with the flags that pick them:
/// wasmer, and wasmer's LLVM compiler (the optimizing tier) when the bench
/// is built with the feature `llvm`.
const OTHER_ENGINES: &[(&str, &[&str])] = &[
    ("wasmer", &["--engine", "wasmer"]),
    #[cfg(feature = "llvm")]
    ("wasmer-llvm", &["--engine", "wasmer-llvm"]),
];

/// One way of starting `wali-run` for the warm-start rows: which binary,
/// the flags that pick its engine, its cache directory, and what its rows
/// say between "warm" and "minimum".
struct Variant {
    bin: PathBuf,
    flags: &'static [&'static str],
    cache: PathBuf,
    label: String,
}

/// The warm-start variants, the default first: the bench's own build on
/// the default engine, the same build on each of [`OTHER_ENGINES`], and,
/// when `WALI_RUN_FIXED` names one, a second build (README.md's static
/// build at a fixed address) with a cache of its own.
fn variants(cache: &Path) -> Vec<Variant> {
    let own = PathBuf::from(env!("CARGO_BIN_EXE_wali-run"));
    let mut v = vec![Variant {
        bin: own.clone(),
        flags: &[],
        cache: cache.to_path_buf(),
        label: ": cached, ".into(),
    }];
    for (tier, flags) in OTHER_ENGINES {
        v.push(Variant {
            bin: own.clone(),
            flags,
            cache: cache.to_path_buf(),
            label: format!(", {tier}: "),
        });
    }
    if let Some(bin) = std::env::var_os("WALI_RUN_FIXED") {
        v.push(Variant {
            bin: bin.into(),
            flags: &[],
            cache: cache.join("fixed"),
            label: ", static build at a fixed address: ".into(),
        });
    }
    v
}

/// A row: its name, wali's time, the native time beside it.
type Row = (String, Option<Duration>, Option<Duration>);

/// Warm starts of `guest ARGS` by each variant, each the minimum of
/// [`STARTS`] interleaved with `native`: one row per variant, in the order
/// of [`variants`].
fn warm_starts(
    what: &str,
    variants: &[Variant],
    guest: &std::ffi::OsStr,
    args: &[&str],
    mut native: impl FnMut() -> Command,
) -> Vec<Row> {
    variants
        .iter()
        .map(|v| {
            let start = || {
                let mut c = Command::new(&v.bin);
                c.env("WALI_CACHE_DIR", &v.cache)
                    .args(v.flags)
                    .arg(guest)
                    .args(args);
                c
            };
            let t = interleaved(vec![Box::new(start), Box::new(&mut native)], STARTS);
            let (w, n) = (t[0], t[1]);
            let name = format!("{what}, warm{}minimum of {STARTS} (ms)", v.label);
            (name, w, n)
        })
        .collect()
}

fn with_arg(mut c: Command, a: &str) -> Command {
    c.arg(a);
    c
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    println!("| workload | wali | native | ratio |");
    println!("|---|---:|---:|---:|");
    const N: u32 = 1_000_000;
    for which in ["getpid", "write"] {
        let per = calls_time(dir.path(), &cache, which, N, &[]);
        let nat = median((0..5).map(|_| native_syscalls(which, N)).collect());
        row(
            &format!("{which}: ns per call (1M calls)"),
            per,
            Some(nat),
            N as f64,
            "ns",
        );
    }
    // The policy check: getpid with a policy set (a denied syscall the guest
    // never calls, so every call runs the bitmap lookup) vs without one
    // (the check is then one branch on an absent policy). The difference
    // bounds what the check costs.
    {
        // 10M calls: process start-up jitter stays under 1 ns a call
        const M: u32 = 10_000_000;
        let with = calls_time(dir.path(), &cache, "getpid", M, &["--deny-syscall", "kill"]);
        let without = calls_time(dir.path(), &cache, "getpid", M, &[]);
        row(
            "getpid, policy set vs none: ns per call (10M)",
            with,
            without,
            M as f64,
            "ns",
        );
    }
    // File copy: 256 MiB through a 64 KiB buffer, guest vs native dd.
    {
        let src = dir.path().join("src.bin");
        std::fs::write(&src, vec![7u8; 256 << 20]).unwrap();
        let dst = dir.path().join("dst.bin");
        let copy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/guests/copy.wasm");
        let w = {
            let (c, s, d, k) = (copy.clone(), src.clone(), dst.clone(), cache.clone());
            time_cmd(
                move || {
                    let mut cmd = wali_run();
                    cmd.env("WALI_CACHE_DIR", &k).arg(&c).arg(&s).arg(&d);
                    cmd
                },
                3,
            )
        };
        let n = time_cmd(
            || {
                let mut c = Command::new("dd");
                c.arg(format!("if={}", src.display()))
                    .arg(format!("of={}", dst.display()))
                    .arg("bs=64k");
                c
            },
            3,
        );
        row("file copy 256 MiB, 64 KiB buffer (ms)", w, n, 1e6, "ms");
    }
    {
        // Compute: binary-trees in C with its own allocator (cpu.c), the
        // same source as a guest and natively (`cc -O2`, when there is one).
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/guests/cpu.c");
        let wasm = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/guests/cpu.wasm");
        // the native twins: gcc (the baseline), the guest's own compiler,
        // and musl (the C library of the prebuilt WALI guests), static
        let twins: Vec<(&str, Option<PathBuf>)> = [
            ("gcc -O2", "cc", &["-O2"][..]),
            ("clang-19 -O2", "clang-19", &["-O2"][..]),
            ("musl-gcc -O2 -static", "musl-gcc", &["-O2", "-static"][..]),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, (label, cc, flags))| {
            let out = dir.path().join(format!("cpu-native-{i}"));
            let built = Command::new(cc)
                .args(flags)
                .args(["-DNATIVE", "-o"])
                .arg(&out)
                .arg(&src)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !built {
                println!(
                    "(no `{cc}`: the native C binary-trees run built with {label} is skipped)"
                );
            }
            (label, built.then_some(out))
        })
        .collect();
        // The guest on each engine and every native twin, in turn (see
        // `interleaved`): the guest's times first, then the twins built.
        let wali = |flags: &'static [&'static str]| -> Cmd {
            let (c, wasm) = (cache.clone(), wasm.clone());
            Box::new(move || {
                let mut w = wali_run();
                w.env("WALI_CACHE_DIR", &c).args(flags).arg(&wasm).arg("20");
                w
            })
        };
        let mut cmds = vec![wali(&[])];
        cmds.extend(OTHER_ENGINES.iter().map(|(_, flags)| wali(flags)));
        let engines = cmds.len();
        // Each twin's place among the commands, if it was built.
        let at: Vec<Option<usize>> = twins
            .iter()
            .map(|(_, bin)| {
                let b = bin.clone()?;
                cmds.push(Box::new(move || with_arg(Command::new(&b), "20")));
                Some(cmds.len() - 1)
            })
            .collect();
        let t = interleaved(cmds, 3);
        let native: Vec<Option<Duration>> = at.iter().map(|i| i.and_then(|i| t[i])).collect();
        let n = native[0];
        row("C binary-trees 20, own allocator (ms)", t[0], n, 1e6, "ms");
        for ((label, _), m) in twins[1..].iter().zip(&native[1..]) {
            row(
                &format!("C binary-trees 20: native {label} vs gcc (ms)"),
                *m,
                n,
                1e6,
                "ms",
            );
        }
        for ((tier, _), o) in OTHER_ENGINES.iter().zip(&t[1..engines]) {
            row(&format!("C binary-trees 20, {tier} (ms)"), *o, n, 1e6, "ms");
        }
    }
    match std::env::var_os("LUA_WASM") {
        None => println!("| lua binary-trees: skipped (set LUA_WASM) | | | |"),
        Some(lua) => {
            let script = dir.path().join("binarytrees.lua");
            std::fs::write(&script, BINARY_TREES).unwrap();
            let native = || {
                let mut c = Command::new("lua5.4");
                c.args(["-e", ""]);
                c
            };
            for (name, w, n) in
                warm_starts("lua -e ''", &variants(&cache), &lua, &["-e", ""], native)
            {
                row(&name, w, n, 1e6, "ms");
            }
            for depth in ["15", "16"] {
                let run = |extra: &'static [&'static str]| {
                    let (lua, script, c) = (lua.clone(), script.clone(), cache.clone());
                    move || {
                        let mut cmd = wali_run();
                        cmd.env("WALI_CACHE_DIR", &c)
                            .args(extra)
                            .arg(&lua)
                            .arg(&script)
                            .arg(depth);
                        cmd
                    }
                };
                // In turn (see `interleaved`): the guest transformed and
                // not, Debian's lua5.4, the musl build if named, the other
                // engines.
                let native = |prog: std::ffi::OsString| -> Cmd {
                    let script = script.clone();
                    Box::new(move || {
                        let mut c = Command::new(&prog);
                        c.arg(&script).arg(depth);
                        c
                    })
                };
                let musl = std::env::var_os("LUA_NATIVE_MUSL");
                let mut cmds: Vec<Cmd> = vec![
                    Box::new(run(&[])),
                    Box::new(run(&["--no-transforms"])),
                    native("lua5.4".into()),
                ];
                cmds.extend(musl.clone().map(native));
                let others = cmds.len();
                cmds.extend(
                    OTHER_ENGINES
                        .iter()
                        .map(|(_, flags)| Box::new(run(flags)) as Cmd),
                );
                let times = interleaved(cmds, 3);
                let (t, u, nat) = (times[0], times[1], times[2]);
                row(&format!("lua binary-trees {depth} (ms)"), t, nat, 1e6, "ms");
                if musl.is_some() {
                    let m = times[3];
                    row(
                        &format!("lua binary-trees {depth}: native musl build vs lua5.4 (ms)"),
                        m,
                        nat,
                        1e6,
                        "ms",
                    );
                    row(
                        &format!("lua binary-trees {depth} vs the native musl build (ms)"),
                        t,
                        m,
                        1e6,
                        "ms",
                    );
                }
                for ((tier, _), o) in OTHER_ENGINES.iter().zip(&times[others..]) {
                    row(
                        &format!("lua binary-trees {depth}, {tier} (ms)"),
                        *o,
                        nat,
                        1e6,
                        "ms",
                    );
                }
                row(
                    &format!("lua binary-trees {depth}: transformed vs not (ms)"),
                    t,
                    u,
                    1e6,
                    "ms",
                );
            }
        }
    }
    match std::env::var_os("SQLITE_WASM") {
        None => println!("| sqlite3: skipped (set SQLITE_WASM) | | | |"),
        Some(sq) => {
            // 20k INSERT statements in one transaction, then an aggregate.
            let sql = dir.path().join("inserts.sql");
            let mut text = String::from(
                "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v INTEGER);\nBEGIN;\n",
            );
            for i in 0..20_000u32 {
                text.push_str(&format!(
                    "INSERT INTO t(name, v) VALUES ('name-{i}', {});\n",
                    i.wrapping_mul(2654435761) % 1000
                ));
            }
            text.push_str("COMMIT;\nSELECT count(*), sum(v), avg(length(name)) FROM t;\n");
            std::fs::write(&sql, text).unwrap();
            let db = dir.path().join("bench.db");
            let musl = std::env::var_os("SQLITE_NATIVE_MUSL");
            // Each run on a new database, the script on stdin: a native
            // program, or the guest under wali-run with these flags.
            enum Sqlite {
                Native(std::ffi::OsString),
                Wali(&'static [&'static str]),
            }
            let run = |how: Sqlite| {
                let (sq, sql, db, c) = (sq.clone(), sql.clone(), db.clone(), cache.clone());
                move || {
                    let _ = std::fs::remove_file(&db);
                    let mut cmd = match &how {
                        Sqlite::Native(prog) => Command::new(prog),
                        Sqlite::Wali(flags) => {
                            let mut w = wali_run();
                            w.env("WALI_CACHE_DIR", &c).args(*flags).arg(&sq);
                            w
                        }
                    };
                    cmd.arg(&db)
                        .stdin(std::fs::File::open(&sql).expect("sql script"));
                    cmd
                }
            };
            // In turn (see `interleaved`): the guest, Debian's sqlite3,
            // the musl build if named, the other engines.
            let mut cmds: Vec<Cmd> = vec![
                Box::new(run(Sqlite::Wali(&[]))),
                Box::new(run(Sqlite::Native("sqlite3".into()))),
            ];
            cmds.extend(
                musl.clone()
                    .map(|m| Box::new(run(Sqlite::Native(m))) as Cmd),
            );
            let others = cmds.len();
            cmds.extend(
                OTHER_ENGINES
                    .iter()
                    .map(|(_, flags)| Box::new(run(Sqlite::Wali(flags))) as Cmd),
            );
            let times = interleaved(cmds, 5);
            let (w, n) = (times[0], times[1]);
            row(
                "sqlite3: 20k inserts in a transaction + aggregate (ms)",
                w,
                n,
                1e6,
                "ms",
            );
            if musl.is_some() {
                let m = times[2];
                row(
                    "sqlite3: native musl build vs sqlite3 (ms)",
                    m,
                    n,
                    1e6,
                    "ms",
                );
                row("sqlite3 vs the native musl build (ms)", w, m, 1e6, "ms");
            }
            for ((tier, _), o) in OTHER_ENGINES.iter().zip(&times[others..]) {
                row(
                    &format!("sqlite3: 20k inserts + aggregate, {tier} (ms)"),
                    *o,
                    n,
                    1e6,
                    "ms",
                );
            }
        }
    }
    match std::env::var_os("MEMCACHED_WASM") {
        None => println!("| memcached: skipped (set MEMCACHED_WASM) | | | |"),
        Some(mc) => {
            let port = 30000 + (std::process::id() % 10000) as u16;
            // The same server flags for both: 4 threads, TCP on loopback only.
            let flags = |p: u16| {
                ["-u", "root", "-t", "4", "-l", "127.0.0.1", "-U", "0", "-p"]
                    .map(String::from)
                    .into_iter()
                    .chain([p.to_string()])
            };
            let mut w = wali_run();
            w.env("WALI_CACHE_DIR", &cache).arg(&mc).args(flags(port));
            let wali = memcached_ops(w, port);
            let mut n = Command::new("memcached");
            n.args(flags(port + 1));
            let native = memcached_ops(n, port + 1);
            row(
                "memcached: 4 clients x 10k set+get (ms)",
                wali,
                native,
                1e6,
                "ms",
            );
        }
    }
    match std::env::var_os("BASH_WASM") {
        None => println!("| bash startup: skipped (set BASH_WASM) | | | |"),
        Some(bash) => {
            let cold = time_cmd(
                || {
                    let mut c = wali_run();
                    c.arg("--no-cache").arg(&bash).args(["-c", "true"]);
                    c
                },
                3,
            );
            let native = || {
                let mut c = Command::new("bash");
                c.args(["-c", "true"]);
                c
            };
            let warm = warm_starts(
                "bash -c true",
                &variants(&cache),
                &bash,
                &["-c", "true"],
                native,
            );
            // the cold start beside the native time of the first warm row
            row(
                "bash -c true, cold: transform + compile (ms)",
                cold,
                warm[0].2,
                1e6,
                "ms",
            );
            for (name, w, n) in warm {
                row(&name, w, n, 1e6, "ms");
            }
            let bytes = std::fs::read(&bash).unwrap();
            let t = median(
                (0..3)
                    .map(|_| {
                        let t = Instant::now();
                        let _ = wali_core::transform::transform(&bytes, &Default::default());
                        t.elapsed()
                    })
                    .collect(),
            );
            row(
                "bash.wasm load-time transforms alone (ms)",
                Some(t),
                None,
                1e6,
                "ms",
            );
        }
    }
}
