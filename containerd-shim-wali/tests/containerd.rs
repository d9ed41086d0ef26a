//! End to end through containerd: a private `containerd` (its own config,
//! root, state and socket under a temporary directory), an OCI image
//! tarball built here and imported with `ctr image import`, and containers
//! run with `ctr run --runtime io.containerd.wali.v1`, the shim found on
//! containerd's PATH.
//!
//! Needs root and Debian's `containerd` package (`.ci/run` installs it),
//! so it is ignored by default: `cargo test --manifest-path
//! containerd-shim-wali/Cargo.toml -- --include-ignored` runs it (CI does).

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const NS: &str = "wali-test";
const IMAGE: &str = "docker.io/library/wali-test:1";
const RUNTIME: &str = "io.containerd.wali.v1";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn guest(name: &str) -> Vec<u8> {
    let p = format!("{}/../tests/guests/{name}.wasm", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// A WAT guest importing `SYS_<name>` calls as `$<name>`.
fn wat(body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
        (import "wali" "SYS_exit_group" (func $exit (param i32) (result i64)))
        (import "wali" "SYS_nanosleep" (func $nanosleep (param i32 i32) (result i64)))
        (memory (export "memory") 1 32768 shared)
        {body})"#
    ))
    .unwrap()
}

/// The guests of the image: the project's own, and three made here.
fn image_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("hello.wasm", guest("hello")),
        ("env.wasm", guest("env")),
        ("procs.wasm", guest("procs")),
        ("threads.wasm", guest("threads")),
        (
            "exit3.wasm",
            wat(r#"(func (export "_start") (drop (call $exit (i32.const 3))))"#),
        ),
        // sleeps a second at a time, for ever
        (
            "sleep.wasm",
            wat(
                r#"(data $ts "\01\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")
            (func (export "_start")
                (memory.init $ts (i32.const 16) (i32.const 0) (i32.const 16))
                (loop $l (drop (call $nanosleep (i32.const 16) (i32.const 0))) (br $l)))"#,
            ),
        ),
        (
            "wasi.wasm",
            wat::parse_str(
                r#"(module
                (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
                (memory (export "memory") 1)
                (func (export "_start")))"#,
            )
            .unwrap(),
        ),
        // grows its memory by 256 MiB and writes every page of it; exits 0
        // (1 if the memory cannot grow)
        (
            "alloc.wasm",
            wat(r#"(func (export "_start") (local $p i32)
                (if (i32.lt_s (memory.grow (i32.const 4096)) (i32.const 0))
                    (then (drop (call $exit (i32.const 1)))))
                (local.set $p (i32.const 65536))
                (loop $l
                    (i32.store (local.get $p) (local.get $p))
                    (local.set $p (i32.add (local.get $p) (i32.const 4096)))
                    (br_if $l (i32.lt_u (local.get $p) (i32.const 268500992))))
                (drop (call $exit (i32.const 0))))"#),
        ),
    ]
}

fn sha256(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// A tar of `files` (name, content, mode; a name ending in `/` is a
/// directory), deterministic.
fn tar_of(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data, mode) in files {
        if name.ends_with('/') {
            let mut h = tar::Header::new_ustar();
            h.set_size(0);
            h.set_mode(*mode);
            h.set_mtime(0);
            h.set_entry_type(tar::EntryType::Directory);
            b.append_data(&mut h, name, std::io::empty()).unwrap();
            continue;
        }
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(*mode);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// An OCI image layout (as `ctr image import` takes it) of one
/// uncompressed layer holding `files` at the root, for linux/amd64,
/// named [`IMAGE`].
fn image_tarball(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    // and a directory for the working-directory check
    let layer = tar_of(
        &files
            .iter()
            .map(|(n, d)| (*n, d.as_slice(), 0o755))
            .chain([("work/", &[][..], 0o755)])
            .collect::<Vec<_>>(),
    );
    let layer_digest = sha256(&layer);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/hello.wasm"],"WorkingDir":"/"}},"rootfs":{{"type":"layers","diff_ids":["sha256:{layer_digest}"]}}}}"#
    );
    let config_digest = sha256(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:{layer_digest}","size":{}}}]}}"#,
        config.len(),
        layer.len()
    );
    let manifest_digest = sha256(manifest.as_bytes());
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{manifest_digest}","size":{},"platform":{{"architecture":"amd64","os":"linux"}},"annotations":{{"io.containerd.image.name":"{IMAGE}","org.opencontainers.image.ref.name":"1"}}}}]}}"#,
        manifest.len()
    );
    let blob = |d: &str| format!("blobs/sha256/{d}");
    let (lb, cb, mb) = (
        blob(&layer_digest),
        blob(&config_digest),
        blob(&manifest_digest),
    );
    tar_of(&[
        ("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#, 0o644),
        ("index.json", index.as_bytes(), 0o644),
        (&lb, &layer, 0o644),
        (&cb, config.as_bytes(), 0o644),
        (&mb, manifest.as_bytes(), 0o644),
    ])
}

/// A private containerd, stopped and cleaned up on drop.
struct Containerd {
    dir: PathBuf,
    daemon: Child,
}

impl Containerd {
    fn start() -> Containerd {
        // a short path: the socket's name must fit a sockaddr_un
        let dir = PathBuf::from(format!("/tmp/wali-ctr-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::os::unix::fs::symlink(
            env!("CARGO_BIN_EXE_containerd-shim-wali-v1"),
            dir.join("bin/containerd-shim-wali-v1"),
        )
        .unwrap();
        let d = dir.display();
        let config = format!(
            r#"version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{d}/sock"
[ttrpc]
  address = "{d}/sock.ttrpc"
[debug]
  address = "{d}/debug.sock"
  level = "info"
[metrics]
  address = ""
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "{d}/opt"
"#
        );
        std::fs::write(dir.join("config.toml"), config).unwrap();
        let path = format!(
            "{d}/bin:{}",
            std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into())
        );
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .env("PATH", path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("containerd (Debian's package `containerd`) must be installed");
        let c = Containerd { dir, daemon };
        let t = Instant::now();
        while !c.ctr(&["version"]).status.success() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "containerd did not start: {}",
                std::fs::read_to_string(c.dir.join("containerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        c
    }

    fn ctr_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ctr");
        c.arg("-a")
            .arg(self.dir.join("sock"))
            .args(["-n", NS])
            .args(args);
        c
    }

    fn ctr(&self, args: &[&str]) -> Output {
        self.ctr_cmd(args).stdin(Stdio::null()).output().unwrap()
    }

    /// `ctr run --rm --runtime io.containerd.wali.v1 [opts] IMAGE id args`.
    fn run_cmd(&self, opts: &[&str], id: &str, args: &[&str]) -> Command {
        let mut a = vec!["run", "--rm", "--runtime", RUNTIME];
        a.extend(opts);
        a.extend([IMAGE, id]);
        a.extend(args);
        self.ctr_cmd(&a)
    }

    /// [`run_cmd`](Self::run_cmd) to its end.
    fn run(&self, opts: &[&str], id: &str, args: &[&str]) -> Output {
        self.run_cmd(opts, id, args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn task_running(&self, id: &str) -> bool {
        let o = self.ctr(&["task", "ls"]);
        text(&o.stdout)
            .lines()
            .any(|l| l.split_whitespace().next() == Some(id) && l.contains("RUNNING"))
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        for id in text(&self.ctr(&["task", "ls", "-q"]).stdout).lines() {
            self.ctr(&["task", "kill", "-s", "SIGKILL", id]);
        }
        std::thread::sleep(Duration::from_millis(300));
        for id in text(&self.ctr(&["task", "ls", "-q"]).stdout).lines() {
            self.ctr(&["task", "rm", "-f", id]);
        }
        for id in text(&self.ctr(&["containers", "ls", "-q"]).stdout).lines() {
            self.ctr(&["containers", "rm", id]);
        }
        // SAFETY: a signal to the daemon this test started.
        unsafe { libc::kill(self.daemon.id() as i32, libc::SIGTERM) };
        let _ = self.daemon.wait();
        let prefix = format!(" {}/", self.dir.display());
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let mut ms: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.find(&prefix).map(|i| &l[i + 1..]))
            .filter_map(|m| m.split(' ').next())
            .collect();
        ms.sort_by(|a, b| b.cmp(a));
        for m in ms {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
        // the per-namespace cgroups ctr's containers had (/<ns>/<id>)
        if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
            for c in rd.flatten() {
                let p = c.path().join(NS);
                if p.is_dir() {
                    remove_cgroup(&p);
                }
            }
        }
        let p = Path::new("/sys/fs/cgroup").join(NS);
        if p.is_dir() {
            remove_cgroup(&p);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn remove_cgroup(p: &Path) {
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                remove_cgroup(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(p);
}

/// Waits for `ctr run` (in the background) to end; its exit status.
fn wait_for(mut child: Child, limit: Duration) -> Option<i32> {
    let t = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code();
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "needs root and containerd: run with --include-ignored (CI does)"]
fn wali_containers_run_through_containerd() {
    let c = Containerd::start();
    let tarball = c.dir.join("image.tar");
    std::fs::write(&tarball, image_tarball(&image_files())).unwrap();
    let o = c.ctr(&["image", "import", tarball.to_str().unwrap()]);
    assert!(o.status.success(), "import: {}", text(&o.stderr));
    assert!(
        text(&c.ctr(&["image", "ls", "-q"]).stdout).contains(IMAGE),
        "the imported image is listed"
    );

    for engine in ["wasmtime", "wasmer"] {
        let e = format!("WALI_ENGINE={engine}");
        let env = ["--env", e.as_str()];
        let id = |n: &str| format!("{n}-{engine}");

        // argv, working directory and pid: the container's init
        let o = c.run(&env, &id("hello"), &["/hello.wasm", "one", "two words"]);
        assert_eq!(o.status.code(), Some(0), "{engine}: {}", text(&o.stderr));
        assert_eq!(
            text(&o.stdout),
            "Hello from a WALI guest!\n  argv[1] = one\n  argv[2] = two words\n  cwd: /\n  pid: 1\n",
            "{engine}"
        );

        // the spec's working directory
        let o = c.run(
            &["--env", e.as_str(), "--cwd", "/work"],
            &id("cwd"),
            &["/hello.wasm"],
        );
        assert_eq!(o.status.code(), Some(0), "{engine}: {}", text(&o.stderr));
        assert!(
            text(&o.stdout).contains("\n  cwd: /work\n"),
            "{engine}: {}",
            text(&o.stdout)
        );

        // the environment: the image's, then ctr's --env
        let o = c.run(
            &["--env", e.as_str(), "--env", "GREETING=hello world"],
            &id("env"),
            &["/env.wasm", "print"],
        );
        assert_eq!(o.status.code(), Some(0), "{engine}: {}", text(&o.stderr));
        assert_eq!(
            text(&o.stdout),
            format!(
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n{e}\nGREETING=hello world\n"
            ),
            "{engine}"
        );

        // the exit status
        let o = c.run(&env, &id("exit3"), &["/exit3.wasm"]);
        assert_eq!(o.status.code(), Some(3), "{engine}: {}", text(&o.stderr));

        // forks and waits, threads: inside the container
        let o = c.run(&env, &id("forks"), &["/procs.wasm", "forkloop", "20"]);
        assert_eq!(o.status.code(), Some(0), "{engine}: {}", text(&o.stderr));
        let o = c.run(&env, &id("threads"), &["/threads.wasm"]);
        assert_eq!(o.status.code(), Some(0), "{engine}: {}", text(&o.stderr));

        // ended by `ctr task kill`: SIGTERM (the default), then SIGKILL
        for (sig, status) in [(None, 143), (Some("SIGKILL"), 137)] {
            let name = id(&format!("sleep{status}"));
            let run = c
                .run_cmd(&env, &name, &["/sleep.wasm"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let t = Instant::now();
            while !c.task_running(&name) {
                assert!(t.elapsed() < Duration::from_secs(60), "{name} never ran");
                std::thread::sleep(Duration::from_millis(100));
            }
            // the guest is in its sleep loop by now
            std::thread::sleep(Duration::from_millis(500));
            let mut k = vec!["task", "kill"];
            if let Some(s) = sig {
                k.extend(["-s", s]);
            }
            k.push(&name);
            let o = c.ctr(&k);
            assert!(o.status.success(), "kill: {}", text(&o.stderr));
            assert_eq!(
                wait_for(run, Duration::from_secs(30)),
                Some(status),
                "{name}: `ctr task kill` {sig:?}"
            );
        }

        // a memory limit of the spec: the allocating guest is killed as a
        // native process over its cgroup's limit is (SIGKILL, 137), and
        // runs to its end without it
        let o = c.run(
            &["--env", e.as_str(), "--memory-limit", "134217728"],
            &id("oom"),
            &["/alloc.wasm"],
        );
        assert_eq!(o.status.code(), Some(137), "{engine}: {}", text(&o.stderr));
        let o = c.run(&env, &id("alloc"), &["/alloc.wasm"]);
        assert_eq!(o.status.code(), Some(0), "{engine}: {}", text(&o.stderr));
    }

    // a WASI module is not the shim's: refused, naming the WASI shims
    let o = c.run(&[], "wasi", &["/wasi.wasm"]);
    assert_ne!(o.status.code(), Some(0), "a WASI module runs");
    // ctr says the shim cannot handle it; the shim's log (containerd's)
    // says why
    assert!(
        text(&o.stderr).contains("can't handle spec"),
        "{}",
        text(&o.stderr)
    );
    let log = std::fs::read_to_string(c.dir.join("containerd.log")).unwrap_or_default();
    assert!(
        log.contains("a WASI program: run it with a WASI shim such as containerd-shim-wasmtime"),
        "{log}"
    );
}
