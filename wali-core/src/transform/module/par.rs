//! Per-function work of the transforms spread over the machine's cores.
//!
//! The passes read each function body on its own (frame promotion's
//! analysis, re-encoding a body with the plan, inlining); a 2.8 MB module
//! such as bash.wasm has 3,151 of them, and the transforms run before the
//! engine compiles anything, so their time is all of a cold start's wait.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Indices handed to a thread at a time.
const BATCH: usize = 16;
/// Fewer items than this are done on the calling thread.
const MIN_ITEMS: usize = 64;

/// `f(0)`, ..., `f(n - 1)` in order, computed on up to the machine's
/// available parallelism of threads (the calling one among them). A thread
/// that cannot be started leaves its share to the others.
pub fn map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get().min(8));
    if threads <= 1 || n < MIN_ITEMS {
        return (0..n).map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let start = next.fetch_add(BATCH, Ordering::Relaxed);
            if start >= n {
                return done;
            }
            for i in start..(start + BATCH).min(n) {
                done.push((i, f(i)));
            }
        }
    };
    let mut slots: Vec<Option<T>> = (0..n).map(|_| None).collect();
    std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(s, work).ok())
            .collect();
        let mut parts = vec![work()];
        for h in helpers {
            match h.join() {
                Ok(part) => parts.push(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        for (i, v) in parts.into_iter().flatten() {
            slots[i] = Some(v);
        }
    });
    // every index below `n` was taken by exactly one thread, which joined
    slots
        .into_iter()
        .map(|v| v.expect("every index computed"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_in_order_whatever_the_thread() {
        for n in [0, 1, 63, 64, 65, 1000, 4097] {
            let v = super::map(n, |i| i * 3);
            assert_eq!(v, (0..n).map(|i| i * 3).collect::<Vec<_>>(), "{n}");
        }
    }
}
