//! Guest linear memory: the [`GuestMemory`] trait and bounds-checked
//! translation of guest pointers ([`Mem`]).

use crate::Errno;
use std::cell::Cell;
use std::sync::Arc;

/// The guest's linear memory, as an engine exposes it.
///
/// wali-core turns checked guest addresses into host pointers from
/// `base()` and `size()` and hands them to the kernel and to its own reads
/// and writes; the soundness of every such access rests on this contract.
///
/// # Safety
///
/// An implementation promises:
/// - `base()` is the same address for the lifetime of the object, and the
///   `size()` bytes from it are readable and writable host memory for as
///   long as the object lives (and at least while any wali call that
///   reached it through a [`Mem`] runs): a WALI memory is shared and never
///   moves. Other threads (the guest's) may access the bytes concurrently;
///   wali accesses them as a kernel would, never through `&`/`&mut`
///   references that assume exclusivity.
/// - `size()` never decreases, and never exceeds `max_size()`; the memory
///   grows only through [`GuestMemory::grow`] (or the guest's own
///   `memory.grow`), which keeps `base()`.
/// - wali may place `MAP_FIXED` mappings (file-backed, shared or anonymous)
///   over page-aligned ranges inside `[base, base + size)`, and replace
///   them with anonymous zero pages again; the implementation must keep
///   that range reserved for the memory (not unmap or reuse it) while the
///   object lives.
pub unsafe trait GuestMemory: Send + Sync {
    /// Host address of guest address 0.
    fn base(&self) -> *mut u8;
    /// Current size in bytes.
    fn size(&self) -> usize;
    /// Maximum size in bytes the memory may grow to.
    fn max_size(&self) -> usize;
    /// Grows by `delta_pages` wasm pages; returns the previous size in pages.
    fn grow(&self, delta_pages: u64) -> Result<u64, Errno>;
    /// Wakes up to `count` guest threads waiting at `addr` with wasm's
    /// `memory.atomic.wait` (the engine's own waiters, which a kernel futex
    /// wake does not reach); returns how many woke.
    fn atomic_notify(&self, addr: u32, count: u32) -> u32 {
        let _ = (addr, count);
        0
    }
    /// Waits like wasm's `memory.atomic.wait32` at `addr` while it holds
    /// `expected`, for at most `timeout`. `None` when the engine offers no
    /// such wait (the futex syscall then waits in the kernel).
    fn atomic_wait32(
        &self,
        addr: u32,
        expected: u32,
        timeout: std::time::Duration,
    ) -> Option<WaitResult> {
        let _ = (addr, expected, timeout);
        None
    }
}

/// How an engine-side wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitResult {
    Woken,
    Mismatch,
    TimedOut,
}

/// A guest-thread view of linear memory with a cached size.
///
/// The size is cached: memory only grows, so a check against a stale size
/// can only be too strict, and then the real size is read again before the
/// pointer is refused with `EFAULT`.
pub struct Mem {
    base: *mut u8,
    len: Cell<usize>,
    src: Option<Arc<dyn GuestMemory>>,
}

// SAFETY: `base` points into a shared linear memory that outlives `src` and
// is valid from any thread; `Mem` is moved between threads but never shared
// (it is `!Sync` through `Cell`).
unsafe impl Send for Mem {}

/// Paths longer than this are refused with `ENAMETOOLONG`, as Linux does.
pub const PATH_MAX: usize = 4096;

impl Default for Mem {
    fn default() -> Self {
        Mem::unset()
    }
}

impl Mem {
    /// A view with no memory: every non-empty access is `EFAULT`.
    pub fn unset() -> Mem {
        Mem {
            base: std::ptr::null_mut(),
            len: Cell::new(0),
            src: None,
        }
    }

    /// A view of `src`.
    pub fn new(src: Arc<dyn GuestMemory>) -> Mem {
        Mem {
            base: src.base(),
            len: Cell::new(src.size()),
            src: Some(src),
        }
    }

    /// The memory this view reads, if set.
    pub fn source(&self) -> Option<&Arc<dyn GuestMemory>> {
        self.src.as_ref()
    }

    /// Host address of guest address 0 (null when unset).
    pub fn base(&self) -> *mut u8 {
        self.base
    }

    /// Current size in bytes (refreshed).
    pub fn size(&self) -> usize {
        self.refresh()
    }

    fn refresh(&self) -> usize {
        let n = self.src.as_ref().map_or(0, |s| s.size());
        self.len.set(n);
        n
    }

    /// Checks `[p, p+len)` and returns its host address.
    #[inline]
    fn check(&self, p: u32, len: usize) -> Result<*mut u8, Errno> {
        let end = (p as usize).checked_add(len).ok_or(Errno::FAULT)?;
        if end > self.len.get() && end > self.refresh() {
            return Err(Errno::FAULT);
        }
        // SAFETY: `end <= size`, so `p` is within the memory (or one past
        // its end when `len == 0`).
        Ok(unsafe { self.base.add(p as usize) })
    }

    /// A guest buffer of `len` bytes at `p` as a host pointer. `EFAULT` if
    /// any byte is outside memory or `p` is NULL with `len > 0`. An empty
    /// buffer is never dereferenced and translates to NULL.
    #[inline]
    pub fn buf(&self, p: u32, len: usize) -> Result<*mut u8, Errno> {
        if len == 0 {
            return Ok(std::ptr::null_mut());
        }
        if p == 0 {
            return Err(Errno::FAULT);
        }
        self.check(p, len)
    }

    /// A buffer the kernel fills or drains front to back (read, write):
    /// like [`Mem::buf`], but one that runs past the end of memory is cut
    /// at the end, as a native process's buffer is cut by the end of its
    /// mapping (the kernel transfers what fits). Returns the host pointer
    /// and the usable length.
    #[inline]
    pub fn buf_prefix(&self, p: u32, len: usize) -> Result<(*mut u8, usize), Errno> {
        match self.buf(p, len) {
            Ok(h) => Ok((h, len)),
            Err(e) => {
                let size = self.refresh();
                if p == 0 || p as usize >= size {
                    return Err(e);
                }
                let n = size - p as usize;
                Ok((self.check(p, n)?, n))
            }
        }
    }

    /// Like [`Mem::buf`], but a NULL guest pointer is a NULL host pointer
    /// (for optional arguments).
    #[inline]
    pub fn buf_opt(&self, p: u32, len: usize) -> Result<*mut u8, Errno> {
        if p == 0 {
            return Ok(std::ptr::null_mut());
        }
        self.check(p, len)
    }

    /// A NUL-terminated guest string at `p`, at most `max` bytes before the
    /// NUL. `EFAULT` if it runs off memory, `ENAMETOOLONG` if it is longer.
    pub fn cstr_max(&self, p: u32, max: usize) -> Result<*const libc::c_char, Errno> {
        if p == 0 {
            return Err(Errno::FAULT);
        }
        let mut size = self.len.get();
        if p as usize >= size {
            size = self.refresh();
            if p as usize >= size {
                return Err(Errno::FAULT);
            }
        }
        let avail = size - p as usize;
        let scan = avail.min(max + 1);
        // SAFETY: `[p, p+scan)` is inside memory (checked above).
        let start = unsafe { self.base.add(p as usize) };
        // SAFETY: memchr reads at most `scan` bytes from `start`, all in bounds.
        let hit = unsafe { libc::memchr(start as *const _, 0, scan) };
        if hit.is_null() {
            return Err(if scan == avail {
                Errno::FAULT
            } else {
                Errno::NAMETOOLONG
            });
        }
        Ok(start as *const libc::c_char)
    }

    /// A guest path (NUL-terminated, at most `PATH_MAX - 1` bytes).
    #[inline]
    pub fn path(&self, p: u32) -> Result<*const libc::c_char, Errno> {
        self.cstr_max(p, PATH_MAX - 1)
    }

    /// A NUL-terminated guest string as bytes (without the NUL), copied.
    pub fn string(&self, p: u32, max: usize) -> Result<Vec<u8>, Errno> {
        let s = self.cstr_max(p, max)?;
        // SAFETY: `cstr_max` found a NUL within bounds.
        Ok(unsafe { std::ffi::CStr::from_ptr(s) }.to_bytes().to_vec())
    }

    /// Reads a plain value at `p`.
    #[inline]
    pub fn read<T: Pod>(&self, p: u32) -> Result<T, Errno> {
        let h = self.buf(p, std::mem::size_of::<T>())?;
        // SAFETY: `h` is valid for `size_of::<T>()` bytes; `T: Pod` accepts
        // any bit pattern; unaligned read.
        Ok(unsafe { std::ptr::read_unaligned(h as *const T) })
    }

    /// Writes a plain value at `p`.
    #[inline]
    pub fn write<T: Pod>(&self, p: u32, v: T) -> Result<(), Errno> {
        let h = self.buf(p, std::mem::size_of::<T>())?;
        // SAFETY: `h` is valid for `size_of::<T>()` bytes; unaligned write.
        unsafe { std::ptr::write_unaligned(h as *mut T, v) };
        Ok(())
    }

    /// Copies `data` to guest address `p`.
    pub fn write_bytes(&self, p: u32, data: &[u8]) -> Result<(), Errno> {
        let h = self.buf(p, data.len())?;
        if !data.is_empty() {
            // SAFETY: `h` is valid for `data.len()` bytes, and `data` is host
            // memory outside the guest's, so the ranges do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), h, data.len()) };
        }
        Ok(())
    }

    /// Copies `len` bytes from guest address `p`.
    pub fn read_bytes(&self, p: u32, len: usize) -> Result<Vec<u8>, Errno> {
        let h = self.buf(p, len)?;
        let mut v = vec![0u8; len];
        if len > 0 {
            // SAFETY: `h` is valid for `len` bytes; `v` is a fresh host buffer.
            unsafe { std::ptr::copy_nonoverlapping(h, v.as_mut_ptr(), len) };
        }
        Ok(v)
    }

    /// Zeroes `len` bytes at guest address `p`.
    pub fn zero(&self, p: u32, len: usize) -> Result<(), Errno> {
        let h = self.buf(p, len)?;
        if len > 0 {
            // SAFETY: `h` is valid for `len` bytes.
            unsafe { std::ptr::write_bytes(h, 0, len) };
        }
        Ok(())
    }

    /// Converts a host pointer inside memory back to a guest address.
    pub fn guest_addr(&self, h: *const u8) -> Option<u32> {
        let off = (h as usize).checked_sub(self.base as usize)?;
        u32::try_from(off).ok()
    }
}

/// Plain data: any bit pattern is a valid value, no padding, no pointers.
///
/// # Safety
/// Implement only for integer types and arrays of them.
pub unsafe trait Pod: Copy {}
macro_rules! pod {
    ($($t:ty),*) => { $(
        // SAFETY: integers accept every bit pattern.
        unsafe impl Pod for $t {}
    )* };
}
pod!(u8, i8, u16, i16, u32, i32, u64, i64, usize, isize);
// SAFETY: arrays of plain data are plain data.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A heap-backed guest memory for unit tests.
    pub(crate) struct VecMem(#[allow(dead_code)] Mutex<Vec<u8>>, *mut u8, usize);
    // SAFETY: the pointer is into the Vec the struct owns, which is never
    // reallocated; tests touch it through `Mem`'s checked accessors.
    unsafe impl Send for VecMem {}
    // SAFETY: as above.
    unsafe impl Sync for VecMem {}
    impl VecMem {
        pub(crate) fn new(size: usize) -> Arc<VecMem> {
            let mut v = vec![0u8; size];
            let p = v.as_mut_ptr();
            Arc::new(VecMem(Mutex::new(v), p, size))
        }
    }
    // SAFETY: the Vec is never reallocated (its size is fixed) and lives as
    // long as the object; tests map nothing over it.
    unsafe impl GuestMemory for VecMem {
        fn base(&self) -> *mut u8 {
            self.1
        }
        fn size(&self) -> usize {
            self.2
        }
        fn max_size(&self) -> usize {
            self.2
        }
        fn grow(&self, _: u64) -> Result<u64, Errno> {
            Err(Errno::NOMEM)
        }
    }

    #[test]
    fn bounds() {
        let m = Mem::new(VecMem::new(65536));
        assert!(m.buf(0, 1).is_err(), "NULL is EFAULT");
        assert!(m.buf(0, 0).unwrap().is_null());
        assert!(m.buf(65535, 1).is_ok());
        assert_eq!(m.buf(65535, 2).unwrap_err(), Errno::FAULT);
        assert_eq!(m.buf(u32::MAX, 2).unwrap_err(), Errno::FAULT);
        assert_eq!(m.buf(1, usize::MAX).unwrap_err(), Errno::FAULT);
        assert!(m.buf_opt(0, 100).unwrap().is_null());
        m.write::<u32>(100, 0xdeadbeef).unwrap();
        assert_eq!(m.read::<u32>(100).unwrap(), 0xdeadbeef);
        assert_eq!(m.read::<u64>(65530).unwrap_err(), Errno::FAULT);
        assert!(Mem::unset().buf(4, 1).is_err());
    }

    #[test]
    fn strings() {
        let m = Mem::new(VecMem::new(65536));
        m.write_bytes(10, b"hello\0").unwrap();
        assert_eq!(m.string(10, 100).unwrap(), b"hello");
        assert_eq!(m.string(10, 3).unwrap_err(), Errno::NAMETOOLONG);
        m.write_bytes(65530, b"abcdef").unwrap();
        assert_eq!(m.path(65530).unwrap_err(), Errno::FAULT, "runs off memory");
        assert_eq!(m.path(70000).unwrap_err(), Errno::FAULT);
        assert_eq!(m.path(0).unwrap_err(), Errno::FAULT);
    }
}
