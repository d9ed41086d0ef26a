//! Imports of the table that this runtime does not implement yet: each
//! returns `-ENOSYS` (reported at `-v=2`).

use crate::{Errno, SysResult, WaliCtx};

macro_rules! enosys {
    ($($name:ident ( $($p:ident : $t:ty),* );)*) => { $(
        #[doc = concat!("`", stringify!($name), "`: not implemented (ENOSYS).")]
        pub fn $name(cx: &mut WaliCtx, $($p: $t),*) -> SysResult {
            $( let _ = $p; )*
            cx.unsupported(stringify!($name));
            Err(Errno::NOSYS.into())
        }
    )* };
}

enosys! {
    mlockall(flags: i32);
}
