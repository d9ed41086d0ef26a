//! The one syscall path.
//!
//! Every `wali` syscall import reaches the guest through [`syscall`],
//! whatever wasm type the module declares for it: the typed glue the
//! adapters generate from the wali-spec table, the spec's alias imports
//! (`SYS_getdents` ...) and imports declared with another type (adapted,
//! [`Adapted`]) all call it. It applies the policy, makes the call, traces
//! it and encodes the result; afterwards the adapter asks [`attention`]
//! whether it must stop at a safe point (a signal to deliver, a kill).
//! Anything policy adds later goes here, once, for both engines.

use crate::sys::RawSyscall;
use crate::{Ctrl, Errno, SysResult, WaliCtx};
use wali_spec::SyscallSpec;

/// Runs syscall `nr` for the guest: the policy's deny list (`-EPERM`
/// without calling `call`), the call, the trace line, and the Linux
/// encoding (value or `-errno`). `args` are the call's arguments widened
/// to `i64`, for the trace. An `Err` is a control transfer (exit, exec,
/// kill) that ends the guest's wasm call.
#[inline(always)]
pub fn syscall(
    cx: &mut WaliCtx,
    nr: u32,
    args: &[i64],
    call: impl FnOnce(&mut WaliCtx) -> SysResult,
) -> Result<i64, Ctrl> {
    let raw = match cx.process().policy() {
        Some(p) if p.denies(nr) => Err(Ctrl::Errno(Errno::PERM)),
        _ => call(cx),
    };
    if crate::trace::enabled() {
        trace(cx, nr, args, &raw);
    }
    crate::encode(raw)
}

#[cold]
#[inline(never)]
fn trace(cx: &WaliCtx, nr: u32, args: &[i64], raw: &SysResult) {
    let ret = match raw {
        Ok(v) => *v,
        Err(Ctrl::Errno(e)) => -(e.raw_os_error() as i64),
        Err(_) => 0,
    };
    crate::trace::syscall(cx, nr, args, ret);
}

/// A table syscall bound to an import whose wasm type differs from the
/// table's (or to an alias name): arguments arrive widened to `i64` and
/// are narrowed to the table's types; the adapter narrows or drops the
/// result as the import declares. Made by the import plan
/// ([`crate::run::plan`]).
#[derive(Clone, Copy)]
pub struct Adapted {
    /// The table entry the import resolves to.
    pub spec: &'static SyscallSpec,
    f: RawSyscall,
}

impl std::fmt::Debug for Adapted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adapted")
            .field("syscall", &self.spec.name)
            .finish()
    }
}

impl Adapted {
    /// The adapted call of table entry `spec`.
    pub fn new(spec: &'static SyscallSpec) -> Adapted {
        Adapted {
            spec,
            f: crate::sys::raw(spec.name).expect("every table entry has an implementation"),
        }
    }

    /// Makes the call through [`syscall`]; missing arguments read as 0.
    pub fn call(&self, cx: &mut WaliCtx, args: &[i64]) -> Result<i64, Ctrl> {
        let f = self.f;
        let args = &args[..args.len().min(6)];
        syscall(cx, self.spec.nr, args, |cx| f(cx, args))
    }
}

/// An import `SYS_<name>` that is not in the table: reported at `-v=2`,
/// and the guest gets `-ENOSYS`.
pub fn unknown(cx: &WaliCtx, import: &str) -> i64 {
    cx.unsupported(import);
    -(libc::ENOSYS as i64)
}

/// Whether the calling guest thread must stop at a safe point after a
/// call: a signal waits for a guest handler, or the process is being
/// ended (policy timeout, exec from another thread). One or two relaxed
/// loads; the adapters then call [`safe_point`].
#[inline(always)]
pub fn attention(cx: &WaliCtx) -> bool {
    crate::sys::signal::pending() || cx.process().is_killed()
}

/// What a safe point does: `Err` when the guest must end now (the control
/// value says how), `Ok(true)` when pending signal handlers are to be run
/// ([`crate::run::deliver_signals`]).
#[cold]
pub fn safe_point(cx: &WaliCtx) -> Result<bool, Ctrl> {
    if let Some(end) = cx.process().end_request() {
        return Err(end);
    }
    Ok(crate::sys::signal::pending())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denied_calls_are_eperm_on_every_path() {
        let mut p = crate::Policy::default();
        p.deny("getpid").unwrap();
        let mut cx = WaliCtx::builder().arg("t").policy(p).build().unwrap();
        let getpid = wali_spec::syscall_by_name("getpid").unwrap();
        let r = syscall(&mut cx, getpid.nr, &[], |_| unreachable!("denied"));
        assert_eq!(r.unwrap(), -(libc::EPERM as i64));
        assert_eq!(
            Adapted::new(getpid).call(&mut cx, &[]).unwrap(),
            -(libc::EPERM as i64)
        );
        let getppid = wali_spec::syscall_by_name("getppid").unwrap();
        assert!(Adapted::new(getppid).call(&mut cx, &[]).unwrap() > 0);
    }
}
