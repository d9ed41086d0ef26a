//! A signal sent to the process while the guest thread blocks it, in a
//! process where a host thread does not block it (an embedder's thread):
//! the kernel hands it to that thread, whose handler parks it for the
//! guest. `sigtimedwait` must take it, and `sigsuspend` with a mask that
//! unblocks it must deliver it and return EINTR, as when the kernel keeps
//! it pending. Its own test binary: signals are process-wide state, and
//! the guests of other tests in one process would see this one's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use wali::{Outcome, WaliCtx};
use wali_tests::{guest, run_bytes, ENGINES};

#[test]
fn a_signal_a_host_thread_took_reaches_sigtimedwait_and_sigsuspend() {
    // the embedder's thread: blocks nothing, and lives while the guests run
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let host = std::thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    });
    let path = guest("sigstate");
    let wasm = std::fs::read(&path).unwrap();
    for &engine in ENGINES {
        let ctx = WaliCtx::builder().arg(&path).arg("parked").build().unwrap();
        // a lost signal leaves the guest suspended for ever (its alarm
        // would be parked too): a time limit instead
        let (tx, rx) = std::sync::mpsc::channel();
        let wasm = wasm.clone();
        std::thread::spawn(move || {
            let _ = tx.send(run_bytes(engine, &wasm, ctx));
        });
        let r = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{engine:?}: the guest never returned from sigsuspend"));
        assert_eq!(
            r,
            Ok(Outcome::Exited(0)),
            "{engine:?} (the guest's stderr names the failing check)"
        );
    }
    stop.store(true, Ordering::Relaxed);
    host.join().unwrap();
}
