//! Engine-agnostic semantics of the WebAssembly Linux Interface (WALI).
//!
//! `wali-core` implements every WALI import over two small abstractions:
//!
//! * [`GuestMemory`]: the guest's linear memory (its base, its size, how to
//!   grow it). All access goes through [`Mem`], which bounds-checks every
//!   buffer once and hands the kernel a host pointer into guest memory, so
//!   data is never copied where the kernel can read or write it in place.
//! * [`WaliCtx`]: the state of one guest thread (its memory view, thread id)
//!   plus an `Arc` of the process-wide state (argv, environment, mmap
//!   regions, exit status), built with [`WaliCtxBuilder`].
//!
//! Engine adapters (`wali-wasmtime`, ...) generate their import glue from the
//! `wali-spec` tables and call the functions of [`sys`] (one per syscall,
//! same name and parameters as the table) and [`aux`]. No engine type ever
//! appears in this crate.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod aux;
pub mod cache;
mod ctx;
pub mod entry;
mod envfile;
pub mod hostfd;
mod memory;
pub mod policy;
pub mod raw;
pub mod run;
pub mod sys;
pub mod trace;
pub mod transform;

pub use cache::ModuleCache;
pub use ctx::{Process, Stdio, WaliCtx, WaliCtxBuilder};
pub use memory::{GuestMemory, Mem, WaitResult};
pub use policy::{NetRule, Policy};
pub use run::{Outcome, Trap};
pub use rustix::io::Errno;

/// Why a WALI call did not return a plain value.
#[derive(Debug, thiserror::Error)]
pub enum Ctrl {
    /// The call failed: the guest sees `-errno`.
    #[error("errno {0}")]
    Errno(Errno),
    /// The guest process exits with this status (exit_group, __proc_exit).
    #[error("guest exited with status {0}")]
    Exit(i32),
    /// The calling guest thread ends (`exit`); for the last thread, the
    /// process exits with this status.
    #[error("guest thread exited with status {0}")]
    ExitThread(i32),
    /// The guest must stop with this message (a guest bug the host cannot
    /// continue from, e.g. longjmp without support for it).
    #[error("{0}")]
    Abort(String),
    /// The guest called execve on a wasm module: the adapter replaces the
    /// guest with it, in the same process.
    #[error("exec {}", .0.path.display())]
    Exec(Box<ExecRequest>),
    /// The guest process is ended as by `signal` (the policy's timeout,
    /// its CPU cap).
    #[error("{message}")]
    Killed {
        /// The signal a native process would have died of.
        signal: i32,
        /// One line for the user.
        message: String,
    },
    /// The calling guest thread ends without a trace: another thread
    /// exec'd, which replaces the whole process.
    #[error("guest thread ended by an exec in another thread")]
    Vanish,
}

/// A wasm program that replaces the guest (`execve` of a `\0asm` file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    /// The module to run (as opened; a `/proc/self/fd/N` path for execveat
    /// of a descriptor).
    pub path: std::path::PathBuf,
    /// The new argument vector.
    pub argv: Vec<std::ffi::CString>,
    /// The new environment, `KEY=VALUE` strings.
    pub env: Vec<std::ffi::CString>,
    /// The policy of the old program, which the new one keeps.
    pub policy: Option<Policy>,
    /// The C stack size the old program was given explicitly
    /// ([`WaliCtxBuilder::c_stack_size`]), which the new one keeps.
    pub c_stack: Option<usize>,
}

impl ExecRequest {
    /// A context builder for the new program: its arguments and
    /// environment, with diagnostics at `verbosity`.
    pub fn builder(&self, verbosity: u8) -> WaliCtxBuilder {
        use std::os::unix::ffi::OsStrExt;
        let mut b = WaliCtx::builder()
            .args(
                self.argv
                    .iter()
                    .map(|a| std::ffi::OsStr::from_bytes(a.as_bytes())),
            )
            .verbosity(verbosity)
            .program(&self.path);
        if let Some(p) = &self.policy {
            b = b.policy(p.clone());
        }
        if let Some(n) = self.c_stack {
            b = b.c_stack_size(n);
        }
        for kv in &self.env {
            let kv = kv.as_bytes();
            if let Some(eq) = kv.iter().position(|c| *c == b'=') {
                b = b.env(
                    std::ffi::OsStr::from_bytes(&kv[..eq]),
                    std::ffi::OsStr::from_bytes(&kv[eq + 1..]),
                );
            }
        }
        b
    }
}

impl From<Errno> for Ctrl {
    #[inline]
    fn from(e: Errno) -> Self {
        Ctrl::Errno(e)
    }
}

/// The result of a WALI syscall implementation.
pub type SysResult = Result<i64, Ctrl>;

/// Encodes a syscall result the Linux way: the value, or `-errno`.
/// Anything that is not an errno is returned as `Err` for the adapter to
/// turn into a trap that ends the guest.
#[inline]
pub fn encode(r: SysResult) -> Result<i64, Ctrl> {
    match r {
        Ok(v) => Ok(v),
        Err(Ctrl::Errno(e)) => Ok(-(e.raw_os_error() as i64)),
        Err(other) => Err(other),
    }
}

/// The exit status a host process should report for a guest exit `code`
/// passed to `exit_group`/`__proc_exit` (Linux keeps the low 8 bits).
pub fn exit_status(code: i32) -> i32 {
    code & 0xff
}

/// Ends this process as the guest ended: `killed` (a signal and a
/// one-line message) prints `wali: <message>` and dies of that signal, so
/// a parent sees `WIFSIGNALED` as it would for a native process; otherwise
/// `_exit(status)`. No destructor or atexit handler runs: this is how a
/// forked child ends (it must not return into host code that did not fork)
/// and how `exit_group` from a thread ends the others.
pub fn end_process(killed: Option<(i32, &str)>, status: i32) -> ! {
    if let Some((signal, message)) = killed {
        let line = format!("wali: {message}\n");
        // SAFETY: a raw write of a host buffer to stderr (no Rust stdio
        // lock, which another host thread may have held at fork).
        unsafe { libc::write(2, line.as_ptr() as *const libc::c_void, line.len()) };
        // SAFETY: resetting a disposition, unblocking and raising a signal
        // have no memory preconditions; the process is meant to end here.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, signal);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::raise(signal);
        }
    }
    // SAFETY: _exit ends the process without running the host's atexit
    // handlers or destructors.
    unsafe { libc::_exit(status) }
}
