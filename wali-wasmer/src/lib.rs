//! WALI (WebAssembly Linux Interface) for wasmer: the same semantics as
//! `wali-wasmtime` (all of it lives in `wali-core`: the syscall path, the
//! import plan, the run layer), the same load-time transforms, generated
//! from the same `wali-spec` table. The modules mirror wali-wasmtime's:
//! `glue` (imports), `run` (instantiation, `_start`, exec loop),
//! `threads`, `signals`, `cache`, and `memory` (the `GuestMemory`).
//!
//! ```no_run
//! let ctx = wali_wasmer::WaliCtx::builder().arg("prog.wasm").inherit_env().build().unwrap();
//! let runner = wali_wasmer::Runner::new();
//! let module = runner.load(std::path::Path::new("prog.wasm")).unwrap();
//! let outcome = runner.run(&module, ctx).unwrap();
//! std::process::exit(outcome.exit_code());
//! ```

mod cache;
mod glue;
mod memory;
mod run;
mod signals;
mod threads;

pub use cache::ModuleCache;
pub use glue::{imports, State};
pub use run::{Compiler, Runner};
pub use wali_core::{NetRule, Outcome, Policy, Stdio, WaliCtx, WaliCtxBuilder};
