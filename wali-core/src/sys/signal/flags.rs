//! Poll flags: the words the signal-poll transform's checks read (at loop
//! headers and the entries of functions on a call cycle), one per guest
//! instance. The native signal handler sets every registered flag, so a
//! guest that computes without syscalls calls an import soon after a
//! signal arrives, and the host delivers on that import's return (and
//! clears the flag). This is how both engines reach a computing guest:
//! neither can interrupt running wasm and resume it elsewhere.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// Addresses of the registered flag words (0: a free slot).
static FLAGS: [AtomicUsize; 1024] = [const { AtomicUsize::new(0) }; 1024];
/// Signal handlers inside `set_flags` right now.
static SETTING: AtomicUsize = AtomicUsize::new(0);

/// The interrupt hook: every registered guest instance polls at its next
/// check. Async-signal-safe: atomics only.
fn set_flags() {
    SETTING.fetch_add(1, Ordering::SeqCst);
    for slot in &FLAGS {
        let p = slot.load(Ordering::SeqCst);
        if p != 0 {
            // SAFETY: a registered address is a live flag word: `FlagSlot`
            // unregisters it, and waits out this loop, before the word can
            // go (the contract of `FlagSlot::register`).
            unsafe { (*(p as *const AtomicU32)).store(1, Ordering::SeqCst) };
        }
    }
    SETTING.fetch_sub(1, Ordering::SeqCst);
}

/// A registered flag word; unregistered on drop. With 1024 guest
/// instances registered already, a new one is not (its guest then gets
/// signals at its syscalls only).
pub struct FlagSlot(Option<usize>);

impl FlagSlot {
    /// Registers `flag` for the native signal handler to set.
    ///
    /// # Safety
    /// `flag` points to an aligned `u32` that stays mapped, and is not
    /// reused for anything else, until the returned slot is dropped.
    pub unsafe fn register(flag: *const AtomicU32) -> FlagSlot {
        super::set_interrupt_hook(set_flags);
        let p = flag as usize;
        FlagSlot(FLAGS.iter().position(|s| {
            s.compare_exchange(0, p, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        }))
    }
}

impl Drop for FlagSlot {
    fn drop(&mut self) {
        if let Some(i) = self.0 {
            FLAGS[i].store(0, Ordering::SeqCst);
            // a handler that read the address before it went is done
            while SETTING.load(Ordering::SeqCst) != 0 {
                std::hint::spin_loop();
            }
        }
    }
}

/// A guest instance's poll flag, registered, with what keeps its word
/// mapped (an engine's handle to the flag's memory): the context holds it
/// ([`crate::WaliCtx::set_poll_flag`]) and clears it after each import.
pub struct PollFlag {
    word: *const AtomicU32,
    // Dropped in this order: unregistered before the memory can go.
    _slot: FlagSlot,
    _keep: Box<dyn std::any::Any + Send + Sync>,
}

// SAFETY: `word` is an atomic in memory `_keep` keeps mapped; it is only
// accessed atomically, from any thread.
unsafe impl Send for PollFlag {}
// SAFETY: as for Send.
unsafe impl Sync for PollFlag {}

impl PollFlag {
    /// Registers the flag at `word`.
    ///
    /// # Safety
    /// `word` points to an aligned `u32` that `keep` keeps mapped, and
    /// used for nothing else, for as long as `keep` lives.
    pub unsafe fn new(word: *const AtomicU32, keep: Box<dyn std::any::Any + Send + Sync>) -> Self {
        PollFlag {
            word,
            // SAFETY: the slot is dropped before `keep` (field order).
            _slot: unsafe { FlagSlot::register(word) },
            _keep: keep,
        }
    }

    /// Clears the flag if it is set (a poll reached the host).
    #[inline]
    pub fn clear(&self) {
        // SAFETY: `word` is live while `self` is (the contract of `new`).
        let w = unsafe { &*self.word };
        if w.load(Ordering::Relaxed) != 0 {
            w.store(0, Ordering::Relaxed);
        }
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        // SAFETY: as in `clear`.
        unsafe { &*self.word }.load(Ordering::Relaxed) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupt_sets_registered_flags_until_they_go() {
        let word = Box::new(AtomicU32::new(0));
        let other = Box::new(AtomicU32::new(0));
        // SAFETY: the boxes outlive the flags (dropped at the end).
        let flag = unsafe { PollFlag::new(&*word, Box::new(())) };
        // SAFETY: as above.
        let gone = unsafe { PollFlag::new(&*other, Box::new(())) };
        drop(gone);
        super::super::interrupt_guests();
        assert!(flag.is_set());
        assert_eq!(
            other.load(Ordering::SeqCst),
            0,
            "an unregistered word was set"
        );
        flag.clear();
        assert_eq!(word.load(Ordering::SeqCst), 0);
    }
}
