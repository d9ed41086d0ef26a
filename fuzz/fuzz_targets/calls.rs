//! Every `wali` syscall called with arguments taken from the fuzzer's
//! input (pointers at and past the end of guest memory, huge lengths,
//! negative and stale descriptors, unknown flags), each input against a
//! fresh context. Guest memory sits between inaccessible guard regions, so
//! a host access outside it crashes the run; a panic or a result that is
//! neither a value nor -errno fails it.
//!
//! The first 256 bytes of guest memory are filled from the input too, so
//! paths are real strings: the contexts are confined (`Policy::allow_dir`)
//! to a scratch directory the target works in.
//!
//! `cargo fuzz run calls -s none` (see fuzz/README.md).

#![no_main]

#[path = "../../wali-core/tests/hostile/mod.rs"]
mod hostile;

use hostile::{Bytes, Harness};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use wali_core::{Policy, WaliCtx};

static STATE: OnceLock<(PathBuf, Mutex<Harness>)> = OnceLock::new();

fn context(scratch: &PathBuf) -> WaliCtx {
    let mut p = Policy::default();
    p.allow_dir(scratch, false).expect("scratch directory");
    WaliCtx::builder()
        .arg("fuzz")
        .policy(p)
        .build()
        .expect("context")
}

fuzz_target!(|data: &[u8]| {
    let (scratch, h) = STATE.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("wali-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch directory");
        std::env::set_current_dir(&d).expect("chdir to scratch");
        let mut h = Harness::new(context(&d));
        h.fill = 256;
        (d, Mutex::new(h))
    });
    let mut h = h.lock().unwrap_or_else(|e| e.into_inner());
    h.reset(context(scratch));
    let mut b = Bytes(data);
    let before = h.calls;
    while !b.is_empty() {
        h.call(&mut b);
    }
    if h.calls / 1_000_000 != before / 1_000_000 {
        eprintln!("wali-fuzz: {} calls", h.calls);
    }
});
