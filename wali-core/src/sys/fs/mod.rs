//! Files and directories.
//!
//! `files`: opening, stat, descriptors and file contents; `dirs`: names in
//! directories (unlink, rename, mkdir, links), the working directory and
//! the root; `meta`: access checks, modes, owners and timestamps.

mod dirs;
mod files;
mod meta;

pub use dirs::*;
pub use files::*;
pub use meta::*;

use super::confine::Last;
use libc::AT_SYMLINK_NOFOLLOW;

/// What a call with these `AT_*` flags does with a final symlink.
fn last_of(flags: i32) -> Last {
    if flags & AT_SYMLINK_NOFOLLOW != 0 {
        Last::Entry
    } else {
        Last::Follow
    }
}
