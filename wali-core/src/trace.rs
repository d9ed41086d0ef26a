//! Syscall tracing, strace-style, through the `tracing` crate (target
//! `wali::syscall`, level TRACE) so an embedder can route it. Off unless
//! [`enable`] was called: the syscall path then pays one relaxed load.

use crate::WaliCtx;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);

/// Turns syscall tracing on or off (process-wide).
pub fn enable(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

/// Whether syscall tracing is on.
#[inline]
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Formats one call as strace would: `openat(-100, "/etc/passwd", 0x0, 0) = 3`.
/// String arguments (`char*` parameters) are read from guest memory.
pub fn format_call(cx: &WaliCtx, spec: &wali_spec::SyscallSpec, args: &[i64], ret: i64) -> String {
    let mut s = String::with_capacity(64);
    s.push_str(spec.name);
    s.push('(');
    let ctypes: Vec<&str> = spec.c_params.split(',').map(str::trim).collect();
    for (k, a) in args.iter().enumerate() {
        if k > 0 {
            s.push_str(", ");
        }
        let cty = ctypes.get(k).copied().unwrap_or("");
        let name = spec.param_names.get(k).copied().unwrap_or("");
        if cty.starts_with("char*") && !cty.starts_with("char**") && !name.contains("buf") {
            match cx.mem.string(*a as u32, 256) {
                Ok(b) => {
                    let _ = write!(s, "{:?}", String::from_utf8_lossy(&b));
                }
                Err(_) => {
                    let _ = write!(s, "{:#x}", *a as u32);
                }
            }
        } else if cty.contains('*') {
            if *a == 0 {
                s.push_str("NULL");
            } else {
                let _ = write!(s, "{:#x}", *a as u32);
            }
        } else if name.contains("flags") || name == "prot" || name == "mode" {
            let _ = write!(s, "{:#o}", *a as u32);
        } else {
            let _ = write!(s, "{a}");
        }
    }
    if (-4095..0).contains(&ret) {
        match errno_name(-ret as i32) {
            "E?" => {
                let _ = write!(s, ") = -1 errno {}", -ret);
            }
            name => {
                let _ = write!(s, ") = -1 {name}");
            }
        }
    } else {
        let _ = write!(s, ") = {ret}");
    }
    s
}

fn errno_name(e: i32) -> &'static str {
    match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EEXIST => "EEXIST",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENOTTY => "ENOTTY",
        libc::ESPIPE => "ESPIPE",
        libc::EPIPE => "EPIPE",
        libc::ERANGE => "ERANGE",
        libc::ENOSYS => "ENOSYS",
        libc::EINTR => "EINTR",
        libc::ECHILD => "ECHILD",
        _ => "E?",
    }
}

/// Emits the trace line of one call (when tracing is on).
#[cold]
pub fn syscall(cx: &WaliCtx, name: &str, args: &[i64], ret: i64) {
    if let Some(spec) = wali_spec::syscall_by_name(name) {
        let line = format_call(cx, spec, args, ret);
        tracing::trace!(target: "wali::syscall", "{line}");
    }
}
