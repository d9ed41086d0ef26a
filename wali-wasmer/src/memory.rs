//! The guest's memory on wasmer. wasmer gives base and size through a
//! store, so the glue refreshes them on each call, and growth uses the
//! store of the host call in progress on this thread.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use wali_core::{Errno, GuestMemory};
use wasmer::{AsStoreRef, Memory, StoreMut};

thread_local! {
    /// The store of the host call in progress on this thread, for memory
    /// growth (wasmer grows memory through its store).
    static STORE: Cell<*mut ()> = const { Cell::new(std::ptr::null_mut()) };
}

pub(crate) struct WasmerMemory {
    base: Cell<usize>,
    size: AtomicUsize,
    max: usize,
    mem: Memory,
    /// For waking the engine's `memory.atomic.wait` waiters.
    shared: Option<wasmer::SharedMemory>,
}

// SAFETY: `base` is only written by the thread running the guest's host
// calls; the memory is a shared memory that does not move.
unsafe impl Sync for WasmerMemory {}
// SAFETY: as above.
unsafe impl Send for WasmerMemory {}

impl WasmerMemory {
    /// The view of `mem` (the instance's exported memory), at most `max`
    /// bytes.
    pub(crate) fn new(store: &impl AsStoreRef, mem: Memory, max: usize) -> WasmerMemory {
        let m = WasmerMemory {
            base: Cell::new(0),
            size: AtomicUsize::new(0),
            max,
            shared: mem.as_shared(store),
            mem,
        };
        m.refresh(store);
        m
    }

    /// Reads base and size again (they change only by growth).
    pub(crate) fn refresh(&self, store: &impl AsStoreRef) {
        let v = self.mem.view(store);
        self.base.set(v.data_ptr() as usize);
        self.size.store(v.data_size() as usize, Ordering::Relaxed);
    }
}

// SAFETY: a wasmer shared memory is a static mmap reservation of its
// maximum size that never moves (`base` is refreshed only to read the same
// address after growth); it grows only through `grow` or `memory.grow`,
// and the reservation stays while the `Memory` handle this object holds
// lives.
unsafe impl GuestMemory for WasmerMemory {
    fn base(&self) -> *mut u8 {
        self.base.get() as *mut u8
    }
    fn size(&self) -> usize {
        self.size.load(Ordering::Relaxed)
    }
    fn max_size(&self) -> usize {
        self.max
    }
    fn grow(&self, delta_pages: u64) -> Result<u64, Errno> {
        let p = STORE.with(|s| s.get());
        if p.is_null() {
            return Err(Errno::NOMEM);
        }
        // SAFETY: `p` points at the `StoreMut` of the host call in progress
        // on this thread (set and restored around the call by `StoreGuard`).
        let store = unsafe { &mut *(p as *mut StoreMut<'static>) };
        let old = self
            .mem
            .grow(store, wasmer::Pages(delta_pages as u32))
            .map_err(|_| Errno::NOMEM)?;
        self.refresh(store);
        Ok(old.0 as u64)
    }
    fn atomic_notify(&self, addr: u32, count: u32) -> u32 {
        self.shared
            .as_ref()
            .and_then(|m| m.notify(wasmer::MemoryLocation::new_32(addr), count).ok())
            .unwrap_or(0)
    }
    fn atomic_wait32(
        &self,
        addr: u32,
        expected: u32,
        timeout: std::time::Duration,
    ) -> Option<wali_core::WaitResult> {
        let m = self.shared.as_ref()?;
        if addr % 4 != 0 || addr as usize + 4 > self.size() {
            return None;
        }
        // SAFETY: an aligned word inside the shared memory, which does not
        // move; read atomically, as other threads write it.
        let cur = unsafe {
            (*(self.base().add(addr as usize) as *const AtomicU32)).load(Ordering::SeqCst)
        };
        if cur != expected {
            return Some(wali_core::WaitResult::Mismatch);
        }
        // wasmer's public wait does not compare under its lock: a wake
        // between the load above and the wait is seen at the end of this
        // slice (the futex loop waits in slices of at most 10 ms and
        // compares again).
        Some(
            match m.wait(wasmer::MemoryLocation::new_32(addr), Some(timeout)) {
                Ok(0) => wali_core::WaitResult::Woken,
                Ok(_) => wali_core::WaitResult::TimedOut,
                Err(_) => return None,
            },
        )
    }
}

/// Makes `store` the one memory growth uses on this thread while the
/// guard lives; the previous one (an outer host call's) comes back after.
pub(crate) struct StoreGuard(*mut ());

impl StoreGuard {
    pub(crate) fn set(store: &mut StoreMut<'_>) -> StoreGuard {
        StoreGuard(STORE.with(|s| s.replace(store as *mut StoreMut<'_> as *mut ())))
    }
}

impl Drop for StoreGuard {
    fn drop(&mut self) {
        STORE.with(|s| s.set(self.0));
    }
}
