//! WALI (WebAssembly Linux Interface) for wasmtime.
//!
//! Add the WALI imports to a [`wasmtime::Linker`] and run unmodified Linux
//! programs compiled to wasm against WALI:
//!
//! ```no_run
//! use wasmtime::{Engine, Linker, Module};
//! struct MyState { wali: wali::WaliCtx }
//!
//! # fn main() -> wasmtime::Result<()> {
//! let engine = Engine::new(&wali::config())?;
//! let module = Module::from_file(&engine, "hello.wasm")?;
//! let mut linker = Linker::new(&engine);
//! wali::add_to_linker(&mut linker, |s: &mut MyState| &mut s.wali)?;
//! wali::link_module(&mut linker, &module, |s: &mut MyState| &mut s.wali)?;
//! let ctx = wali::WaliCtx::builder().arg("hello.wasm").inherit_env().build()?;
//! let mut store = wali::new_store(&engine, MyState { wali: ctx }, |s: &mut MyState| &mut s.wali);
//! let instance = linker.instantiate(&mut store, &module)?;
//! let status = wali::run_instance(&mut store, &instance, |s| &mut s.wali)?;
//! std::process::exit(status.exit_code());
//! # }
//! ```
//!
//! Or, in one call, [`run_file`] / [`Runner`].

mod cache;
mod glue;
mod run;
mod signals;
mod threads;

pub use cache::{compile, load_module, ModuleCache};
pub use glue::{add_to_linker, link_imports, link_module};
pub use run::{
    attach_memory, config, new_store, run_file, run_instance, setup_store, Outcome, Runner,
};
pub use threads::{define_memory, ThreadSupport};
pub use wali_core::transform::Options as TransformOptions;
pub use wali_core::{Ctrl, GuestMemory, NetRule, Policy, Stdio, WaliCtx, WaliCtxBuilder};

/// The guest's shared linear memory as wali-core sees it.
pub struct WasmtimeMemory(pub wasmtime::SharedMemory);

// SAFETY: a wasmtime `SharedMemory` is reserved at its maximum size up
// front and never moves (shared memories cannot be relocated, other
// threads hold raw pointers into them); `data()` is its current accessible
// part, growth happens only through `grow` or the guest's `memory.grow`,
// and wasmtime never unmaps or reuses the reservation while the memory
// (which this object holds a handle to) lives.
unsafe impl GuestMemory for WasmtimeMemory {
    fn base(&self) -> *mut u8 {
        self.0.data().as_ptr() as *mut u8
    }
    fn size(&self) -> usize {
        self.0.data_size()
    }
    fn max_size(&self) -> usize {
        let max = self
            .0
            .ty()
            .maximum()
            .unwrap_or(wali_spec::consts::MAX_MEMORY as u64 / 65536);
        (max as usize)
            .saturating_mul(wali_spec::consts::WASM_PAGE_SIZE)
            .min(wali_spec::consts::MAX_MEMORY)
    }
    fn grow(&self, delta_pages: u64) -> Result<u64, wali_core::Errno> {
        self.0
            .grow(delta_pages)
            .map_err(|_| wali_core::Errno::NOMEM)
    }
    fn atomic_notify(&self, addr: u32, count: u32) -> u32 {
        self.0.atomic_notify(addr as u64, count).unwrap_or(0)
    }
    fn atomic_wait32(
        &self,
        addr: u32,
        expected: u32,
        timeout: std::time::Duration,
    ) -> Option<wali_core::WaitResult> {
        use wasmtime::WaitResult as W;
        Some(
            match self
                .0
                .atomic_wait32(addr as u64, expected, Some(timeout))
                .ok()?
            {
                W::Ok => wali_core::WaitResult::Woken,
                W::Mismatch => wali_core::WaitResult::Mismatch,
                W::TimedOut => wali_core::WaitResult::TimedOut,
            },
        )
    }
}

/// The README's embedding example, compiled as a doc test.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
