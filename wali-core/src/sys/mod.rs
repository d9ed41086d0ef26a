//! One function per WALI syscall import, named as in the `wali-spec` table
//! and taking its wasm parameters, organised by subsystem.
//!
//! Every function returns a [`crate::SysResult`]: the value, an
//! errno (which the adapter returns as `-errno`), or a control transfer
//! (exit). Guest pointers are translated through [`crate::Mem`], which
//! refuses anything outside linear memory with `EFAULT`.

mod confine;
pub mod fs;
pub mod futex;
pub mod io;
pub mod ipc;
pub mod mm;
pub mod net;
pub mod process;
pub mod signal;
pub mod system;
pub mod time;
mod unsupported;

pub use fs::*;
pub use futex::*;
pub use io::*;
pub use ipc::*;
pub use mm::*;
pub use net::*;
pub use process::*;
pub use signal::*;
pub use system::*;
pub use time::*;
pub use unsupported::*;

use crate::{SysResult, WaliCtx};

/// A syscall implementation called with its arguments widened to `i64`
/// (each narrowed back to the table's type), for imports a module declares
/// with a type other than the table's.
pub type RawSyscall = fn(&mut WaliCtx, &[i64]) -> SysResult;

#[doc(hidden)]
#[macro_export]
macro_rules! __narrow {
    (i32, $v:expr) => {
        $v as i32
    };
    (i64, $v:expr) => {
        $v
    };
}

macro_rules! raw_table {
    ($( ($name:ident, $nr:literal, $origin:ident, [$($p:ident : $t:ident),*], $c:literal) ),* $(,)?) => {
        /// Looks up the implementation of syscall `name` (without `SYS_`)
        /// as a [`RawSyscall`]; missing arguments read as 0.
        pub fn raw(name: &str) -> Option<RawSyscall> {
            match name {
                $( stringify!($name) => Some(|cx: &mut WaliCtx, a: &[i64]| {
                    #[allow(unused_mut, unused_variables)]
                    let mut it = a.iter().copied().chain(std::iter::repeat(0));
                    $( let $p = $crate::__narrow!($t, it.next().unwrap_or(0)); )*
                    $name(cx, $($p),*)
                }), )*
                _ => None,
            }
        }
    };
}
wali_spec::for_each_syscall!(raw_table);
