//! Raw Linux system calls.
//!
//! Most WALI syscalls are the Linux call with guest pointers translated, so
//! core issues them raw: the kernel's result is already the value WALI
//! returns (the value, or `-errno`), and no errno round trip through libc's
//! thread-local is paid on the hot path.
//!
//! # Safety
//! Every function here is `unsafe`: the caller guarantees that each pointer
//! argument is NULL, or a translated guest pointer whose whole extent the
//! kernel may access was bounds-checked by [`crate::Mem`], or host memory the
//! caller owns for the duration of the call.

use crate::Errno;

/// Converts a raw kernel return value into a result.
#[inline]
pub fn check(r: isize) -> Result<i64, Errno> {
    if (-4095..0).contains(&r) {
        Err(Errno::from_raw_os_error(-r as i32))
    } else {
        Ok(r as i64)
    }
}

cfg_if::cfg_if! {
    if #[cfg(all(target_os = "linux", target_arch = "x86_64"))] {
        /// Issues syscall `nr` with six arguments.
        ///
        /// # Safety
        /// See the module documentation.
        #[inline]
        pub unsafe fn syscall6(nr: libc::c_long, a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> Result<i64, Errno> {
            let ret: isize;
            // SAFETY: the x86-64 Linux syscall convention: rax = nr, args in
            // rdi, rsi, rdx, r10, r8, r9; rcx and r11 are clobbered. Memory
            // effects are those of the syscall (caller's contract).
            unsafe {
                core::arch::asm!(
                    "syscall",
                    inlateout("rax") nr as isize => ret,
                    in("rdi") a, in("rsi") b, in("rdx") c,
                    in("r10") d, in("r8") e, in("r9") f,
                    lateout("rcx") _, lateout("r11") _,
                    options(nostack, preserves_flags)
                );
            }
            check(ret)
        }
    } else if #[cfg(target_os = "linux")] {
        /// Issues syscall `nr` with six arguments.
        ///
        /// # Safety
        /// See the module documentation.
        #[inline]
        pub unsafe fn syscall6(nr: libc::c_long, a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> Result<i64, Errno> {
            // SAFETY: caller's contract.
            let r = unsafe { libc::syscall(nr, a, b, c, d, e, f) };
            if r == -1 {
                Err(Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)))
            } else {
                Ok(r as i64)
            }
        }
    } else {
        compile_error!("wali-core runs WALI guests on Linux hosts only");
    }
}

/// Syscall with no argument.
///
/// # Safety
/// See the module documentation.
#[inline]
pub unsafe fn syscall0(nr: libc::c_long) -> Result<i64, Errno> {
    // SAFETY: caller's contract.
    unsafe { syscall6(nr, 0, 0, 0, 0, 0, 0) }
}
/// # Safety
/// See the module documentation.
#[inline]
pub unsafe fn syscall1(nr: libc::c_long, a: usize) -> Result<i64, Errno> {
    // SAFETY: caller's contract.
    unsafe { syscall6(nr, a, 0, 0, 0, 0, 0) }
}
/// # Safety
/// See the module documentation.
#[inline]
pub unsafe fn syscall2(nr: libc::c_long, a: usize, b: usize) -> Result<i64, Errno> {
    // SAFETY: caller's contract.
    unsafe { syscall6(nr, a, b, 0, 0, 0, 0) }
}
/// # Safety
/// See the module documentation.
#[inline]
pub unsafe fn syscall3(nr: libc::c_long, a: usize, b: usize, c: usize) -> Result<i64, Errno> {
    // SAFETY: caller's contract.
    unsafe { syscall6(nr, a, b, c, 0, 0, 0) }
}
/// # Safety
/// See the module documentation.
#[inline]
pub unsafe fn syscall4(
    nr: libc::c_long,
    a: usize,
    b: usize,
    c: usize,
    d: usize,
) -> Result<i64, Errno> {
    // SAFETY: caller's contract.
    unsafe { syscall6(nr, a, b, c, d, 0, 0) }
}
/// # Safety
/// See the module documentation.
#[inline]
pub unsafe fn syscall5(
    nr: libc::c_long,
    a: usize,
    b: usize,
    c: usize,
    d: usize,
    e: usize,
) -> Result<i64, Errno> {
    // SAFETY: caller's contract.
    unsafe { syscall6(nr, a, b, c, d, e, 0) }
}

/// A signed 32-bit argument, sign-extended as the kernel expects (`int`, `pid_t`).
#[inline]
pub fn sx(v: i32) -> usize {
    v as isize as usize
}

/// An unsigned 32-bit argument, zero-extended (`size_t`, `socklen_t`, flags).
#[inline]
pub fn zx(v: i32) -> usize {
    v as u32 as usize
}

/// A host pointer as an argument.
#[inline]
pub fn p<T>(v: *const T) -> usize {
    v as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn raw_errno_and_value() {
        // SAFETY: getpid takes no pointer.
        let pid = unsafe { syscall0(libc::SYS_getpid) }.unwrap();
        assert_eq!(pid, std::process::id() as i64);
        // SAFETY: close of an invalid fd touches no memory.
        let r = unsafe { syscall1(libc::SYS_close, sx(-1)) };
        assert_eq!(r.unwrap_err(), Errno::BADF);
    }
}
