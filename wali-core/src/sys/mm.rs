//! Memory mappings inside the guest's linear memory.
//!
//! The region above the initial memory (up to the memory's maximum, 2 GiB
//! for WALI guests) is managed as page ranges: `mmap` takes the lowest free
//! range that fits (or the guest's hint / fixed address), grows linear
//! memory to cover it, and for file or shared mappings places a real kernel
//! mapping over that part of the memory. `munmap` frees the range for reuse:
//! a small range of private anonymous memory keeps its pages (up to 32 MiB
//! in all), and the mapping that takes them next zeroes them, which costs
//! far less than the page faults of fresh pages; anything else gets fresh
//! zero pages at once. Free ranges are zero-filled anonymous memory but for
//! those kept pages, so an anonymous private mapping of a free range costs
//! no system call at all.
//!
//! Host-side access is always possible: pages are mapped readable and
//! writable whatever the guest's `prot` (a read-only shared file mapping is
//! mapped private), because the host itself reads and writes guest memory
//! for syscalls and must never fault. `mprotect` is therefore validated and
//! accepted but not applied.

use crate::raw::{p, syscall3, syscall5, syscall6};
use crate::{Errno, SysResult, WaliCtx};
use libc::*;
use std::collections::BTreeMap;
use wali_spec::consts::{MAX_MEMORY, WASM_PAGE_SIZE};

/// Host page size the guest sees.
pub const PAGE: usize = 4096;

fn align_up(v: usize) -> Option<usize> {
    v.checked_add(PAGE - 1).map(|x| x & !(PAGE - 1))
}

/// Disjoint page ranges, start -> length, neighbours merged.
#[derive(Debug, Default, Clone)]
struct Ranges(BTreeMap<usize, usize>);

impl Ranges {
    /// Takes `[a, a+len)` out; returns the parts that were in.
    fn remove(&mut self, a: usize, len: usize) -> Vec<(usize, usize)> {
        let end = a + len;
        let overlapping: Vec<(usize, usize)> = self
            .0
            .range(..end)
            .rev()
            .take_while(|(s, l)| *s + *l > a)
            .map(|(s, l)| (*s, *l))
            .collect();
        let mut taken = Vec::new();
        for (s, l) in overlapping {
            self.0.remove(&s);
            if s < a {
                self.0.insert(s, a - s);
            }
            if s + l > end {
                self.0.insert(end, s + l - end);
            }
            let (lo, hi) = (s.max(a), (s + l).min(end));
            taken.push((lo, hi - lo));
        }
        taken
    }

    /// Puts `[a, a+len)` in, merged with its neighbours.
    fn insert(&mut self, a: usize, len: usize) {
        if len == 0 {
            return;
        }
        self.remove(a, len);
        let (mut s, mut e) = (a, a + len);
        if let Some((&ps, &pl)) = self.0.range(..s).next_back() {
            if ps + pl == s {
                self.0.remove(&ps);
                s = ps;
            }
        }
        if let Some(&nl) = self.0.get(&e) {
            self.0.remove(&e);
            e += nl;
        }
        self.0.insert(s, e - s);
    }

    /// Whether all of `[a, a+len)` is in.
    fn covers(&self, a: usize, len: usize) -> bool {
        match self.0.range(..=a).next_back() {
            Some((&s, &l)) => s + l >= a + len,
            None => false,
        }
    }

    /// Whether any of `[a, a+len)` is in.
    fn overlaps(&self, a: usize, len: usize) -> bool {
        self.0
            .range(..a + len)
            .next_back()
            .is_some_and(|(s, l)| s + l > a)
    }

    fn total(&self) -> usize {
        self.0.values().sum()
    }
}

/// Bookkeeping of the mmap region.
#[derive(Debug, Default)]
pub struct MmapState {
    start: usize,
    max: usize,
    known: usize,
    brk: usize,
    free: Ranges,
    /// Free ranges whose pages were kept when the guest unmapped them
    /// (private anonymous memory only): not zero until a mapping takes
    /// them and zeroes them then. Always inside `free`.
    dirty: Ranges,
    /// Ranges holding a kernel mapping other than private anonymous
    /// memory (a file, shared memory, a System V segment): unmapping them
    /// always puts fresh pages back.
    foreign: Ranges,
    inited: bool,
    /// System V shared memory attached by `shmat`: address -> length.
    shm: BTreeMap<usize, usize>,
}

/// The largest unmapping whose pages are kept for reuse (a C library's
/// allocator returns and takes back small groups of pages all the time:
/// zeroing them on reuse costs far less than a fresh page's fault).
const KEEP_MAX: usize = 256 * 1024;
/// At most this much unmapped memory is kept resident.
const KEEP_TOTAL: usize = 32 * 1024 * 1024;

impl MmapState {
    pub(crate) fn init(&mut self, size: usize, max: usize) {
        if self.inited {
            return;
        }
        let start = align_up(size).unwrap_or(size);
        let max = max.min(MAX_MEMORY) & !(PAGE - 1);
        self.start = start;
        self.max = max.max(start);
        self.known = size;
        self.brk = size;
        self.free = Ranges::default();
        self.dirty = Ranges::default();
        self.foreign = Ranges::default();
        if self.max > start {
            self.free.insert(start, self.max - start);
        }
        self.inited = true;
    }

    /// Removes `[a, a+len)` from the free ranges; returns the parts of it
    /// that were kept unzeroed (the caller zeroes or replaces them).
    #[must_use]
    fn claim(&mut self, a: usize, len: usize) -> Vec<(usize, usize)> {
        self.free.remove(a, len);
        self.dirty.remove(a, len)
    }

    /// Adds `[a, a+len)` (clipped to the region) to the free ranges, as
    /// zero pages.
    fn release(&mut self, a: usize, len: usize) {
        let a0 = a.max(self.start);
        let end = (a + len).min(self.max);
        if a0 >= end {
            return;
        }
        self.free.insert(a0, end - a0);
        self.dirty.remove(a0, end - a0);
        self.foreign.remove(a0, end - a0);
    }

    fn is_free(&self, a: usize, len: usize) -> bool {
        self.free.covers(a, len)
    }

    fn alloc(&mut self, len: usize) -> Option<(usize, Vec<(usize, usize)>)> {
        let a = self
            .free
            .0
            .iter()
            .find(|(_, l)| **l >= len)
            .map(|(s, _)| *s)?;
        Some((a, self.claim(a, len)))
    }

    /// Marks free ranges as holding kept (unzeroed) pages again.
    fn keep_again(&mut self, parts: &[(usize, usize)]) {
        for &(a, l) in parts {
            debug_assert!(self.free.covers(a, l));
            self.dirty.insert(a, l);
        }
    }

    /// Whether unmapping `[a, a+len)` may keep its pages for reuse.
    fn may_keep(&self, a: usize, len: usize) -> bool {
        len <= KEEP_MAX && self.dirty.total() + len <= KEEP_TOTAL && !self.foreign.overlaps(a, len)
    }

    /// Records a `shmat` attachment.
    pub(crate) fn note_shm(&mut self, a: usize, len: usize) {
        self.shm.insert(a, len);
        self.foreign.insert(a, len);
    }

    /// Forgets the attachment at `a` (for `shmdt`): its length.
    pub(crate) fn take_shm(&mut self, a: usize) -> Option<usize> {
        self.shm.remove(&a)
    }

    /// Takes account of memory the guest grew itself (`memory.grow`).
    fn sync(&mut self, size: usize) {
        if size > self.known {
            let a = align_up(self.known).unwrap_or(self.known).max(self.start);
            if size > a {
                // (kept pages all lie below the size they were unmapped at)
                let kept = self.claim(a, size - a);
                debug_assert!(kept.is_empty());
            }
            self.known = size;
        }
    }

    /// Free bytes in the region (for tests and diagnostics).
    pub fn free_bytes(&self) -> usize {
        self.free.total()
    }
}

/// Grows linear memory so that `[0, end)` is accessible.
fn ensure(cx: &WaliCtx, st: &mut MmapState, end: usize) -> Result<(), Errno> {
    if cx
        .proc
        .policy()
        .and_then(|p| p.max_memory)
        .is_some_and(|max| end > max)
    {
        return Err(Errno::NOMEM);
    }
    let src = cx.mem.source().ok_or(Errno::NOMEM)?;
    let size = src.size();
    if end > size {
        let delta = (end - size).div_ceil(WASM_PAGE_SIZE);
        src.grow(delta as u64).map_err(|_| Errno::NOMEM)?;
        st.known = src.size();
    }
    Ok(())
}

/// Replaces `[a, a+len)` of linear memory with fresh zero pages.
fn zero_pages(cx: &WaliCtx, a: usize, len: usize) -> Result<(), Errno> {
    let size = cx.mem.size();
    let end = (a + len).min(size);
    if a >= end {
        return Ok(());
    }
    let h = cx.mem.buf(a as u32, end - a)?;
    // SAFETY: `[a, end)` is page-aligned guest memory inside the current
    // size; replacing it with private anonymous read-write pages keeps it
    // valid, accessible memory (only its contents change, to zero).
    unsafe {
        syscall6(
            SYS_mmap,
            p(h),
            end - a,
            (PROT_READ | PROT_WRITE) as usize,
            (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) as usize,
            usize::MAX,
            0,
        )
    }?;
    Ok(())
}

/// `mmap(addr, length, prot, flags, fd, offset)` inside linear memory.
pub fn mmap(
    cx: &mut WaliCtx,
    addr: i32,
    length: i32,
    prot: i32,
    flags: i32,
    fd: i32,
    offset: i64,
) -> SysResult {
    let _ = prot;
    let addr = addr as u32 as usize;
    let len = length as u32 as usize;
    if len == 0 || offset as usize % PAGE != 0 {
        return Err(Errno::INVAL.into());
    }
    let kind = flags & 0x3;
    if kind == 0 {
        return Err(Errno::INVAL.into());
    }
    let len = align_up(len).ok_or(Errno::NOMEM)?;
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    let anon = flags & MAP_ANONYMOUS != 0;
    let shared = kind != MAP_PRIVATE;
    let proc = cx.proc.clone();
    let mut st = proc.mmap.lock().unwrap_or_else(|e| e.into_inner());
    if !st.inited {
        return Err(Errno::NOMEM.into());
    }
    let size = cx.mem.size();
    st.sync(size);
    let a = if fixed {
        if addr % PAGE != 0 {
            return Err(Errno::INVAL.into());
        }
        if addr == 0 || addr.checked_add(len).is_none_or(|e| e > st.max) {
            return Err(Errno::NOMEM.into());
        }
        if flags & MAP_FIXED_NOREPLACE != 0 && !(addr >= st.start && st.is_free(addr, len)) {
            return Err(Errno::EXIST.into());
        }
        // (the kernel mapping below replaces any pages kept there)
        let _ = st.claim(addr, len);
        (addr, Vec::new())
    } else if addr != 0 && addr % PAGE == 0 && addr >= st.start && st.is_free(addr, len) {
        (addr, st.claim(addr, len))
    } else {
        st.alloc(len).ok_or(Errno::NOMEM)?
    };
    let (a, kept) = a;
    let was_free_anon = !fixed && anon && !shared;
    if let Err(e) = ensure(cx, &mut st, a + len) {
        st.release(a, len);
        st.keep_again(&kept);
        return Err(e.into());
    }
    if was_free_anon {
        // A free range is zero-filled anonymous memory, but for pages kept
        // from an earlier unmapping.
        for &(k, l) in &kept {
            cx.mem.zero(k as u32, l)?;
        }
        return Ok(a as i64);
    }
    let host = cx.mem.buf(a as u32, len)?;
    let (kflags, kfd, koff) = if anon {
        let k = if shared { MAP_SHARED } else { MAP_PRIVATE };
        (k | MAP_ANONYMOUS | MAP_FIXED, -1isize as usize, 0)
    } else {
        // A shared mapping the guest cannot write is mapped private: same
        // contents, and host writes (never guest-visible through the file)
        // cannot fault.
        let k = if shared && prot & PROT_WRITE == 0 {
            MAP_PRIVATE
        } else {
            kind
        };
        let keep = flags & (MAP_POPULATE | MAP_NORESERVE);
        (k | keep | MAP_FIXED, fd as isize as usize, offset as usize)
    };
    // SAFETY: `host` is `len` bytes of page-aligned guest memory inside the
    // current size; a fixed mapping over it keeps the range mapped
    // read-write (or, on failure, it is reset to zero pages below).
    let r = unsafe {
        syscall6(
            SYS_mmap,
            p(host),
            len,
            (PROT_READ | PROT_WRITE) as usize,
            kflags as usize,
            kfd,
            koff,
        )
    };
    match r {
        Ok(_) => {
            if anon && !shared {
                st.foreign.remove(a, len);
            } else {
                st.foreign.insert(a, len);
            }
            Ok(a as i64)
        }
        Err(e) => {
            let _ = zero_pages(cx, a, len);
            st.foreign.remove(a, len);
            if !fixed {
                st.release(a, len);
            }
            Err(e.into())
        }
    }
}

/// `munmap(addr, len)`: the range reads as zero when a mapping takes it
/// again. Ranges below the mmap region (the guest's static data) are left
/// alone. A small range of private anonymous memory keeps its pages, which
/// the next mapping of them zeroes (no page faults then); anything else
/// gets fresh zero pages now, its memory going back to the system.
pub fn munmap(cx: &mut WaliCtx, addr: i32, len: i32) -> SysResult {
    let a = addr as u32 as usize;
    let len = len as u32 as usize;
    if a % PAGE != 0 || len == 0 {
        return Err(Errno::INVAL.into());
    }
    let len = align_up(len).ok_or(Errno::INVAL)?;
    let proc = cx.proc.clone();
    let mut st = proc.mmap.lock().unwrap_or_else(|e| e.into_inner());
    let size = cx.mem.size();
    st.sync(size);
    let lo = a.max(st.start);
    let hi = a.saturating_add(len).min(st.max);
    if lo < hi {
        if st.may_keep(lo, hi - lo) {
            st.release(lo, hi - lo);
            st.keep_again(&[(lo, hi.min(size).saturating_sub(lo))]);
        } else {
            zero_pages(cx, lo, hi - lo)?;
            st.release(lo, hi - lo);
        }
    }
    Ok(0)
}

/// `mremap(old_address, old_size, new_size, flags, new_address)`
pub fn mremap(
    cx: &mut WaliCtx,
    old_address: i32,
    old_size: i32,
    new_size: i32,
    flags: i32,
    new_address: i32,
) -> SysResult {
    let old = old_address as u32 as usize;
    let new_addr = new_address as u32 as usize;
    if old % PAGE != 0 || new_size == 0 || flags & !(MREMAP_MAYMOVE | MREMAP_FIXED) != 0 {
        return Err(Errno::INVAL.into());
    }
    if flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0 {
        return Err(Errno::INVAL.into());
    }
    let old_len = align_up(old_size as u32 as usize).ok_or(Errno::INVAL)?;
    let new_len = align_up(new_size as u32 as usize).ok_or(Errno::NOMEM)?;
    let proc = cx.proc.clone();
    let mut st = proc.mmap.lock().unwrap_or_else(|e| e.into_inner());
    let size = cx.mem.size();
    st.sync(size);
    if old < st.start || old + old_len > size {
        return Err(Errno::FAULT.into());
    }
    if flags & MREMAP_FIXED == 0 {
        if new_len <= old_len {
            if new_len < old_len {
                zero_pages(cx, old + new_len, old_len - new_len)?;
                st.release(old + new_len, old_len - new_len);
            }
            return Ok(old as i64);
        }
        if old + new_len <= st.max && st.is_free(old + old_len, new_len - old_len) {
            let kept = st.claim(old + old_len, new_len - old_len);
            if let Err(e) = ensure(cx, &mut st, old + new_len) {
                st.release(old + old_len, new_len - old_len);
                st.keep_again(&kept);
                return Err(e.into());
            }
            for &(k, l) in &kept {
                cx.mem.zero(k as u32, l)?;
            }
            return Ok(old as i64);
        }
        if flags & MREMAP_MAYMOVE == 0 {
            return Err(Errno::NOMEM.into());
        }
    }
    let dest = if flags & MREMAP_FIXED != 0 {
        if new_addr % PAGE != 0 || new_addr < st.start || new_addr + new_len > st.max {
            return Err(Errno::INVAL.into());
        }
        if new_addr < old + old_len && old < new_addr + new_len {
            return Err(Errno::INVAL.into());
        }
        (new_addr, st.claim(new_addr, new_len))
    } else {
        st.alloc(new_len).ok_or(Errno::NOMEM)?
    };
    // (the kernel's move replaces the destination's pages, kept ones too)
    let (dest, kept) = dest;
    let was_foreign = st.foreign.overlaps(old, old_len);
    if let Err(e) = ensure(cx, &mut st, dest + new_len) {
        st.release(dest, new_len);
        st.keep_again(&kept);
        return Err(e.into());
    }
    let src = cx.mem.buf(old as u32, old_len)?;
    let dst = cx.mem.buf(dest as u32, new_len)?;
    // SAFETY: both ranges are page-aligned guest memory inside the current
    // size; the pages move from `src` to `dst`, and `src` is refilled with
    // zero pages right after, so both stay mapped.
    let r = unsafe {
        syscall5(
            SYS_mremap,
            p(src),
            old_len,
            new_len,
            (MREMAP_MAYMOVE | MREMAP_FIXED) as usize,
            p(dst),
        )
    };
    match r {
        Ok(_) => {
            zero_pages(cx, old, old_len)?;
            st.release(old, old_len);
            if was_foreign {
                st.foreign.insert(dest, new_len);
            } else {
                st.foreign.remove(dest, new_len);
            }
            if new_len > old_len {
                // The kernel extends an anonymous mapping with zero pages;
                // nothing else to do.
            }
            Ok(dest as i64)
        }
        Err(e) => {
            st.release(dest, new_len);
            st.keep_again(&kept);
            Err(e.into())
        }
    }
}

fn check_range(cx: &WaliCtx, addr: i32, len: i32) -> Result<(usize, usize), Errno> {
    let a = addr as u32 as usize;
    if a % PAGE != 0 {
        return Err(Errno::INVAL);
    }
    let len = align_up(len as u32 as usize).ok_or(Errno::NOMEM)?;
    // The first page is never mapped, as in a native process (NULL).
    if (a < PAGE && len > 0) || a + len > cx.mem.size() {
        return Err(Errno::NOMEM);
    }
    Ok((a, len))
}

/// `mprotect(addr, len, prot)`: validated; pages stay readable and writable
/// (see the module documentation).
pub fn mprotect(cx: &mut WaliCtx, addr: i32, len: i32, prot: i32) -> SysResult {
    if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP) != 0 {
        return Err(Errno::INVAL.into());
    }
    check_range(cx, addr, len)?;
    Ok(0)
}

/// `madvise(addr, length, advice)`: advice that cannot take memory away
/// from the engine is applied; `MADV_DONTNEED` zeroes anonymous pages as on
/// Linux.
pub fn madvise(cx: &mut WaliCtx, addr: i32, length: i32, advice: i32) -> SysResult {
    let (a, len) = check_range(cx, addr, length)?;
    match advice {
        MADV_NORMAL | MADV_RANDOM | MADV_SEQUENTIAL | MADV_WILLNEED | MADV_DONTNEED | MADV_FREE
        | MADV_HUGEPAGE | MADV_NOHUGEPAGE | MADV_DONTDUMP | MADV_DODUMP | MADV_COLD
        | MADV_PAGEOUT => {}
        _ => return Err(Errno::INVAL.into()),
    }
    if len == 0 {
        return Ok(0);
    }
    let h = cx.mem.buf(a as u32, len)?;
    // SAFETY: `[a, a+len)` is guest memory; these advices never unmap it.
    Ok(unsafe { syscall3(SYS_madvise, p(h), len, advice as usize) }?)
}

/// `msync(addr, length, flags)`
pub fn msync(cx: &mut WaliCtx, addr: i32, length: i32, flags: i32) -> SysResult {
    let (a, len) = check_range(cx, addr, length)?;
    if len == 0 {
        return Ok(0);
    }
    let h = cx.mem.buf(a as u32, len)?;
    // SAFETY: `[a, a+len)` is guest memory; msync does not change mappings.
    Ok(unsafe { syscall3(SYS_msync, p(h), len, flags as u32 as usize) }?)
}

/// `brk(addr)`: the break stays at the end of the initial memory (the
/// region above belongs to `mmap`); like a failed `brk` on Linux, the
/// current break is returned and the C library falls back to `mmap`.
pub fn brk(cx: &mut WaliCtx, addr: i32) -> SysResult {
    let _ = addr;
    let st = cx.proc.mmap.lock().unwrap_or_else(|e| e.into_inner());
    Ok(st.brk as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn allocator() {
        let mut s = MmapState::default();
        s.init(65536, 65536 + 16 * PAGE);
        let a = s.alloc(2 * PAGE).unwrap().0;
        assert_eq!(a, 65536);
        let b = s.alloc(PAGE).unwrap().0;
        assert_eq!(b, 65536 + 2 * PAGE);
        s.release(a, 2 * PAGE);
        assert_eq!(s.alloc(PAGE).unwrap().0, a, "reuse lowest");
        s.release(a, PAGE);
        s.release(b, PAGE);
        assert_eq!(s.free_bytes(), 16 * PAGE);
        assert_eq!(s.free.0.len(), 1, "merged");
        s.release(b, PAGE);
        assert_eq!(s.free_bytes(), 16 * PAGE, "double release is harmless");
        assert!(s.alloc(17 * PAGE).is_none());
        s.sync(65536 * 2);
        assert!(!s.is_free(65536, PAGE), "foreign growth claimed");
    }

    #[test]
    fn kept_pages() {
        let mut s = MmapState::default();
        s.init(65536, 65536 + 64 * PAGE);
        let (a, kept) = s.alloc(4 * PAGE).unwrap();
        assert!(kept.is_empty());
        assert!(s.may_keep(a, 4 * PAGE));
        s.release(a, 4 * PAGE);
        s.keep_again(&[(a, 4 * PAGE)]);
        // a smaller mapping takes part of the kept range, and only that
        let (b, kept) = s.alloc(PAGE).unwrap();
        assert_eq!((b, kept), (a, vec![(a, PAGE)]));
        let (c, kept) = s.alloc(8 * PAGE).unwrap();
        assert_eq!((c, kept), (a + PAGE, vec![(a + PAGE, 3 * PAGE)]));
        assert_eq!(s.dirty.total(), 0);
        // a file or shared mapping is never kept; nor a large unmapping
        s.foreign.insert(c, PAGE);
        assert!(!s.may_keep(c, 2 * PAGE) && s.may_keep(c + PAGE, PAGE));
        assert!(!s.may_keep(c, KEEP_MAX + PAGE));
        s.release(c, 8 * PAGE);
        assert!(
            !s.foreign.overlaps(c, 8 * PAGE),
            "a release resets the pages"
        );
        assert!(s.is_free(c, 8 * PAGE) && s.dirty.total() == 0);
    }
}
