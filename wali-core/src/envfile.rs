//! The environment a guest starts with, as the WALI crt reads it: one
//! `KEY=VALUE` a line, in an anonymous memory file only this process can
//! open (through `/proc/self/fd/N`).

use crate::ctx::EnvSource;
use rustix::fd::AsRawFd;
use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;

fn is_identifier(k: &[u8]) -> bool {
    matches!(k.first(), Some(c) if c.is_ascii_alphabetic() || *c == b'_')
        && k.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

pub(crate) fn make_env_memfd(env: &[(OsString, OsString)]) -> std::io::Result<EnvSource> {
    use rustix::fs::{memfd_create, MemfdFlags};
    let mut text = Vec::new();
    for (k, v) in env {
        let (k, v) = (k.as_bytes(), v.as_bytes());
        // One variable a line, as the guest's parser reads it: a variable
        // whose name or value holds a newline cannot be represented, and
        // the WALI crt refuses the whole environment (exit 259) when a name
        // is not an identifier, so such variables (cargo's
        // CARGO_BIN_EXE_x-y, say) are left out.
        if !is_identifier(k)
            || k.contains(&b'=')
            || k.contains(&b'\n')
            || v.contains(&b'\n')
            || k.contains(&0)
            || v.contains(&0)
        {
            continue;
        }
        text.extend_from_slice(k);
        text.push(b'=');
        text.extend_from_slice(v);
        text.push(b'\n');
    }
    let fd = memfd_create("wali-env", MemfdFlags::CLOEXEC)?;
    rustix::io::write(&fd, &text)?;
    // Keep it above the descriptors a program uses first, so the guest's
    // own numbering starts where a native program's would.
    let fd = crate::hostfd::lift(fd);
    let path = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).expect("no NUL");
    Ok(EnvSource::Memfd(crate::hostfd::HostFd::new(fd), path))
}
