//! Every syscall of the table called with hostile arguments (pointers at
//! and past the end of memory, huge lengths, bad descriptors, unknown
//! flags) against a context over a scratch memory: no panic, no host
//! memory touched outside the guest's (the guard pages around it would
//! fault), every result a value or -errno.
//!
//! Calls that would change the *test process* (exit, fork, exec, kill,
//! set*id, chroot/chdir/umask, limits, blocking waits, signal state,
//! permissions of real files) are left out: they take no pointer the host
//! reads or writes itself, or are covered by guests run in processes of
//! their own. Memory is zeroed before each call, so every in-bounds path
//! is "" and no real file is named.
//!
//! `cargo test -p wali-core --test random_calls` runs a short seeded run;
//! `-- --ignored` runs 10^6 calls.

mod hostile;

use hostile::{Harness, Rng};
use wali_core::WaliCtx;

fn run(calls: u64, seed: u64) {
    let mut h = Harness::new(WaliCtx::builder().arg("fuzz").build().unwrap());
    let mut r = Rng(seed | 1);
    for _ in 0..calls {
        h.call(&mut r);
    }
}

#[test]
fn seeded_hostile_calls() {
    run(20_000, 0x5eed);
}

#[test]
#[ignore]
fn million_hostile_calls() {
    run(1_000_000, 0x9e3779b97f4a7c15);
}
