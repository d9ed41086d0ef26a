//! `containerd-shim-wali-v1`: runs a container whose entrypoint is a WALI
//! module (a wasm module importing from `wali`) through the same
//! [`wali::Runner`] as `wali-run`, inside the container that runwasi's
//! libcontainer set up (its rootfs, namespaces and cgroup limits): the
//! guest's forks, execs and threads stay in it.
//!
//! The OCI process's `args` are the guest's argv (`args[0]` is the
//! module's path in the rootfs), its `env` the guest's environment; the
//! process already runs in the spec's working directory. The exit status
//! is the guest's (128 + N when it dies of signal N, as `wali-run`).

use anyhow::{bail, Context, Result};
use containerd_shim_wasm::sandbox::context::{RuntimeContext, Source};
use containerd_shim_wasm::sandbox::Sandbox;
use containerd_shim_wasm::shim::Shim;

/// The shim: runtime `io.containerd.wali.v1`.
pub struct WaliShim;

impl Shim for WaliShim {
    type Sandbox = WaliSandbox;
    fn name() -> &'static str {
        "wali"
    }
}

/// Runs one container's WALI program.
#[derive(Default)]
pub struct WaliSandbox;

/// The module's bytes, from the rootfs or the image's wasm layer.
fn module_bytes(ctx: &impl RuntimeContext) -> Result<Vec<u8>> {
    Ok(ctx.entrypoint().source.as_bytes()?.into_owned())
}

/// Whether `wasm` is a WALI module; the error names what it is instead.
pub fn check_wali(wasm: &[u8]) -> Result<()> {
    let mut other = None;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ImportSection(r) = payload.context("not a wasm module")? {
            for imp in r.into_imports() {
                let imp = imp?;
                if imp.module == "wali" {
                    return Ok(());
                }
                other.get_or_insert_with(|| imp.module.to_string());
            }
        }
    }
    match other {
        Some(m) if m.starts_with("wasi") => bail!(
            "not a WALI module: it imports from `{m}` (a WASI program: run it with a WASI \
             shim such as containerd-shim-wasmtime or containerd-shim-wasmer)"
        ),
        Some(m) => bail!("not a WALI module: it imports from `{m}`, not from `wali`"),
        None => bail!("not a WALI module: it imports nothing from `wali`"),
    }
}

/// The engine a container's guest runs on: `WALI_ENGINE` in the
/// container's environment, `wasmtime` (the default) or `wasmer` (the
/// variable stays in the guest's environment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Wasmtime,
    Wasmer,
}

impl Engine {
    /// The engine `envs` (`KEY=VALUE`) select.
    pub fn of(envs: &[String]) -> Result<Engine> {
        match envs
            .iter()
            .rev()
            .find_map(|kv| kv.strip_prefix("WALI_ENGINE="))
        {
            None | Some("wasmtime") => Ok(Engine::Wasmtime),
            Some("wasmer") => Ok(Engine::Wasmer),
            Some(e) => bail!("WALI_ENGINE={e}: the engines are wasmtime and wasmer"),
        }
    }
}

/// Runs the program `args` (args[0] is the module path) with `envs`
/// (`KEY=VALUE`) on a thread of its own with the stack `wali-run` gives,
/// on the engine `WALI_ENGINE` names; the exit status.
pub fn run_program(wasm: Vec<u8>, args: &[String], envs: &[String]) -> Result<i32> {
    let engine = Engine::of(envs)?;
    let mut b = wali_core::WaliCtx::builder().args(args);
    for kv in envs {
        if let Some((k, v)) = kv.split_once('=') {
            b = b.env(k, v);
        }
    }
    let ctx = b.build()?;
    let guest = std::thread::Builder::new()
        .name("wali-guest".into())
        .stack_size(40 << 20)
        .spawn(move || -> Result<i32> {
            let outcome = match engine {
                Engine::Wasmtime => {
                    let runner = wali::Runner::new()?;
                    let module = runner.load_bytes(&wasm)?;
                    runner.run(&module, ctx)?
                }
                Engine::Wasmer => {
                    // wasm frames get the 8 MiB wali-run gives them
                    let runner = wali_wasmer::Runner::new().wasm_stack_size(8 << 20);
                    let module = runner.load_bytes(&wasm).map_err(anyhow::Error::msg)?;
                    runner.run(&module, ctx).map_err(anyhow::Error::msg)?
                }
            };
            Ok(outcome.exit_code())
        })?;
    guest
        .join()
        .map_err(|_| anyhow::anyhow!("the guest thread panicked"))?
}

impl Sandbox for WaliSandbox {
    async fn run_wasi(&self, ctx: &impl RuntimeContext) -> Result<i32> {
        let wasm = module_bytes(ctx)?;
        check_wali(&wasm)?;
        // The guest is the container's init (PID 1): a signal it leaves at
        // its default action (`ctr task kill`'s SIGTERM) still ends it.
        wali_core::sys::signal::end_init_by_default_actions();
        run_program(wasm, ctx.args(), ctx.envs())
    }

    async fn can_handle(&self, ctx: &impl RuntimeContext) -> Result<()> {
        if let Source::File(p) = &ctx.entrypoint().source {
            if p.as_os_str().is_empty() {
                bail!("the container has no entrypoint module");
            }
        }
        check_wali(&module_bytes(ctx)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use containerd_shim_wasm::sandbox::context::Entrypoint;
    use std::path::{Path, PathBuf};

    /// What containerd's OCI spec gives the sandbox.
    struct Spec {
        args: Vec<String>,
        envs: Vec<String>,
    }

    impl RuntimeContext for Spec {
        fn args(&self) -> &[String] {
            &self.args
        }
        fn envs(&self) -> &[String] {
            &self.envs
        }
        fn entrypoint(&self) -> Entrypoint<'_> {
            Entrypoint {
                func: "_start".into(),
                name: None,
                arg0: self.args.first().map(Path::new),
                source: Source::File(PathBuf::from(&self.args[0])),
            }
        }
    }

    fn guest(name: &str) -> String {
        format!("{}/../tests/guests/{name}.wasm", env!("CARGO_MANIFEST_DIR"))
    }

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn the_specs_args_and_env_are_the_guests() {
        // env.wasm checks that its environment holds exactly these
        let spec = Spec {
            args: vec![
                guest("env"),
                "expect".into(),
                "GREETING=hello world".into(),
                "EQ=a=b".into(),
            ],
            envs: vec!["GREETING=hello world".into(), "EQ=a=b".into()],
        };
        assert!(block(WaliSandbox.can_handle(&spec)).is_ok());
        assert_eq!(block(WaliSandbox.run_wasi(&spec)).unwrap(), 0);
        // and a missing variable is seen as missing
        let spec = Spec {
            args: vec![guest("env"), "expect".into(), "GREETING=hello world".into()],
            envs: vec![],
        };
        assert_ne!(block(WaliSandbox.run_wasi(&spec)).unwrap(), 0);
    }

    #[test]
    fn exit_status_and_death_by_signal_are_reported() {
        let d = std::env::temp_dir().join(format!("wali-shim-test-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let module = |name: &str, start: &str| {
            let p = d.join(name);
            let wat = format!(
                r#"(module
                (import "wali" "SYS_exit_group" (func $exit (param i32) (result i64)))
                (memory (export "memory") 1 1 shared)
                (func (export "_start") {start}))"#
            );
            std::fs::write(&p, wat::parse_str(wat).unwrap()).unwrap();
            Spec {
                args: vec![p.to_string_lossy().into_owned()],
                envs: vec![],
            }
        };
        for engine in [vec![], vec!["WALI_ENGINE=wasmer".to_string()]] {
            let mut spec = module("exit3.wasm", "(drop (call $exit (i32.const 3)))");
            spec.envs = engine.clone();
            assert_eq!(block(WaliSandbox.run_wasi(&spec)).unwrap(), 3, "{engine:?}");
            // an out-of-bounds access: 128 + SIGSEGV, as a native container
            let mut spec = module("trap.wasm", "(drop (i32.load (i32.const -4)))");
            spec.envs = engine.clone();
            assert_eq!(
                block(WaliSandbox.run_wasi(&spec)).unwrap(),
                139,
                "{engine:?}"
            );
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_containers_environment_selects_the_engine() {
        let envs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(Engine::of(&envs(&["A=1"])).unwrap(), Engine::Wasmtime);
        assert_eq!(
            Engine::of(&envs(&["WALI_ENGINE=wasmer"])).unwrap(),
            Engine::Wasmer
        );
        // the last setting wins, as in an environment
        assert_eq!(
            Engine::of(&envs(&["WALI_ENGINE=wasmer", "WALI_ENGINE=wasmtime"])).unwrap(),
            Engine::Wasmtime
        );
        let e = Engine::of(&envs(&["WALI_ENGINE=v8"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("wasmtime and wasmer"), "{e}");
    }

    #[test]
    fn a_wasi_module_is_refused_naming_the_wasi_shims() {
        let wasi = wat::parse_str(
            r#"(module
            (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
            (memory (export "memory") 1)
            (func (export "_start")))"#,
        )
        .unwrap();
        let e = check_wali(&wasi).unwrap_err().to_string();
        assert!(e.contains("containerd-shim-wasmtime"), "{e}");
        assert!(check_wali(b"not wasm").is_err());
        assert!(check_wali(&std::fs::read(guest("hello")).unwrap()).is_ok());
    }
}
