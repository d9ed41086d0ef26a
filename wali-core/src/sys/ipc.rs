//! System V IPC: message queues, semaphore sets, shared memory segments.
//!
//! The objects are the kernel's, so a guest and native processes share
//! them. What differs from the kernel's 64-bit ABI is converted: the
//! wasm32 C library passes `IPC_64` with its own `struct msqid_ds`,
//! `semid_ds` and `shmid_ds` (4-byte `long`, `size_t` and pointers,
//! 8-byte `time_t`), a `struct msgbuf` whose `mtype` is a 4-byte `long`,
//! and `shminfo`/`shm_info` of 4-byte `unsigned long`s. `shmat` maps the
//! segment inside linear memory (in the mmap region, as `MAP_SHARED` mmap
//! does), and `shmdt` puts zero pages back.

use super::mm::{self, PAGE};
use crate::raw::{p, sx, syscall2, syscall3, syscall4, syscall5, zx};
use crate::{Errno, SysResult, WaliCtx};
use libc::{
    SYS_msgctl, SYS_msgget, SYS_msgrcv, SYS_msgsnd, SYS_semctl, SYS_semget, SYS_semtimedop,
    SYS_shmat, SYS_shmctl, SYS_shmget,
};

const IPC_RMID: i32 = 0;
const IPC_SET: i32 = 1;
const IPC_STAT: i32 = 2;
const IPC_INFO: i32 = 3;
/// The wasm32 C library asks for the 64-bit structs with this flag; the
/// x86-64 kernel has only those and refuses the flag (`EINVAL`).
const IPC_64: i32 = 0x100;
// shmctl
const SHM_STAT: i32 = 13;
const SHM_INFO: i32 = 14;
const SHM_STAT_ANY: i32 = 15;
// msgctl
const MSG_STAT: i32 = 11;
const MSG_INFO: i32 = 12;
const MSG_STAT_ANY: i32 = 13;
// semctl
const GETPID: i32 = 11;
const GETVAL: i32 = 12;
const GETALL: i32 = 13;
const GETNCNT: i32 = 14;
const GETZCNT: i32 = 15;
const SETVAL: i32 = 16;
const SETALL: i32 = 17;
const SEM_STAT: i32 = 18;
const SEM_INFO: i32 = 19;
const SEM_STAT_ANY: i32 = 20;
const SHM_RDONLY: i32 = 0o10000;
const SHM_RND: i32 = 0o20000;
const SHM_REMAP: i32 = 0o40000;

/// A struct field copied between layouts: (wasm32 offset, kernel offset,
/// bytes in wasm32, bytes in the kernel). Integers are little-endian, so a
/// narrower copy keeps the low bytes; a wider target is zero-extended.
type Field = (usize, usize, usize, usize);

/// `struct ipc_perm`: key, uid, gid, cuid, cgid, mode, seq (the kernel's
/// seq is 16 bits, padded).
const PERM: [Field; 7] = [
    (0, 0, 4, 4),
    (4, 4, 4, 4),
    (8, 8, 4, 4),
    (12, 12, 4, 4),
    (16, 16, 4, 4),
    (20, 20, 4, 4),
    (24, 24, 2, 2),
];

/// One IPC struct: its two sizes and fields past the `ipc_perm`.
struct Layout {
    wasm: usize,
    kernel: usize,
    fields: &'static [Field],
}

/// `shmid_ds`: segsz, atime, dtime, ctime, cpid, lpid, nattch.
const SHMID: Layout = Layout {
    wasm: 88,
    kernel: 112,
    fields: &[
        (36, 48, 4, 8),
        (40, 56, 8, 8),
        (48, 64, 8, 8),
        (56, 72, 8, 8),
        (64, 80, 4, 4),
        (68, 84, 4, 4),
        (72, 88, 4, 8),
    ],
};

/// `msqid_ds`: stime, rtime, ctime, cbytes, qnum, qbytes, lspid, lrpid.
const MSQID: Layout = Layout {
    wasm: 96,
    kernel: 120,
    fields: &[
        (40, 48, 8, 8),
        (48, 56, 8, 8),
        (56, 64, 8, 8),
        (64, 72, 4, 8),
        (68, 80, 4, 8),
        (72, 88, 4, 8),
        (76, 96, 4, 4),
        (80, 100, 4, 4),
    ],
};

/// `semid_ds`: otime, ctime, nsems (x86-64's `semid64_ds` has an unused
/// word after each time).
const SEMID: Layout = Layout {
    wasm: 72,
    kernel: 104,
    fields: &[(40, 48, 8, 8), (48, 64, 8, 8), (56, 80, 2, 8)],
};

/// Room for any of the kernel's IPC structs (the largest is 120 bytes):
/// what the kernel writes never runs past a host buffer.
const KBUF: usize = 256;

/// `shminfo` (`IPC_INFO` of shmctl): nine `unsigned long`s.
const SHMINFO: Layout = Layout {
    wasm: 36,
    kernel: 72,
    fields: &[
        (0, 0, 4, 8),
        (4, 8, 4, 8),
        (8, 16, 4, 8),
        (12, 24, 4, 8),
        (16, 32, 4, 8),
    ],
};

/// `shm_info` (`SHM_INFO`): an int, then five `unsigned long`s.
const SHM_INFO_LAYOUT: Layout = Layout {
    wasm: 28,
    kernel: 48,
    fields: &[
        (0, 0, 4, 4),
        (4, 8, 4, 8),
        (8, 16, 4, 8),
        (12, 24, 4, 8),
        (16, 32, 4, 8),
        (20, 40, 4, 8),
    ],
};

fn copy(from: &[u8], to: &mut [u8], f: &[Field], to_kernel: bool) {
    for &(w, k, wn, kn) in f {
        let (src, dst, n) = if to_kernel { (w, k, wn) } else { (k, w, wn) };
        let n = n.min(kn);
        to[dst..dst + n].copy_from_slice(&from[src..src + n]);
    }
}

impl Layout {
    fn to_kernel(&self, wasm: &[u8], with_perm: bool) -> Vec<u8> {
        let mut k = vec![0u8; KBUF.max(self.kernel)];
        if with_perm {
            copy(wasm, &mut k, &PERM, true);
        }
        copy(wasm, &mut k, self.fields, true);
        k
    }

    fn to_wasm(&self, kernel: &[u8], with_perm: bool) -> Vec<u8> {
        let mut w = vec![0u8; self.wasm];
        if with_perm {
            copy(kernel, &mut w, &PERM, false);
        }
        copy(kernel, &mut w, self.fields, false);
        w
    }
}

/// A `*ctl` call whose buffer is a converted struct: `IPC_SET` reads it,
/// the stat/info commands write it back.
fn ctl_struct(
    cx: &WaliCtx,
    buf: i32,
    layout: &Layout,
    with_perm: bool,
    read_first: bool,
    call: impl FnOnce(usize) -> Result<i64, Errno>,
) -> SysResult {
    let mut k = if read_first {
        layout.to_kernel(&cx.mem.read_bytes(buf as u32, layout.wasm)?, with_perm)
    } else {
        cx.mem.buf(buf as u32, layout.wasm)?;
        vec![0u8; KBUF]
    };
    let r = call(p(k.as_mut_ptr()))?;
    if !read_first {
        cx.mem
            .write_bytes(buf as u32, &layout.to_wasm(&k, with_perm))?;
    }
    Ok(r)
}

/// `shmget(key, size, shmflg)`
pub fn shmget(_cx: &mut WaliCtx, key: i32, size: i32, shmflg: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall3(SYS_shmget, sx(key), zx(size), sx(shmflg)) }?)
}

/// `shmctl(shmid, cmd, buf)`
pub fn shmctl(cx: &mut WaliCtx, shmid: i32, cmd: i32, buf: i32) -> SysResult {
    let c = cmd & !IPC_64;
    let call = |b: usize| {
        // SAFETY: `b` is a host buffer of the kernel's struct
        // size, or 0 for IPC_RMID and the commands that take no buffer.
        unsafe { syscall3(SYS_shmctl, sx(shmid), sx(c), b) }
    };
    match c {
        IPC_STAT | SHM_STAT | SHM_STAT_ANY => ctl_struct(cx, buf, &SHMID, true, false, call),
        IPC_SET => ctl_struct(cx, buf, &SHMID, true, true, call),
        IPC_INFO => ctl_struct(cx, buf, &SHMINFO, false, false, call),
        SHM_INFO => ctl_struct(cx, buf, &SHM_INFO_LAYOUT, false, false, call),
        // IPC_RMID, SHM_LOCK, SHM_UNLOCK: no buffer
        _ => Ok(call(0)?),
    }
}

/// `shmat(shmid, shmaddr, shmflg)`: the segment is mapped inside linear
/// memory (at `shmaddr`, rounded down with `SHM_RND`, or where the mmap
/// region has room) and its guest address returned. It is always mapped
/// read-write: host code must be able to write guest memory, so a
/// `SHM_RDONLY` attach of a segment the guest may not write is `EACCES`.
pub fn shmat(cx: &mut WaliCtx, shmid: i32, shmaddr: i32, shmflg: i32) -> SysResult {
    let mut k = vec![0u8; KBUF];
    // SAFETY: a host buffer larger than the kernel's shmid64_ds.
    unsafe { syscall3(SYS_shmctl, sx(shmid), IPC_STAT as usize, p(k.as_mut_ptr())) }?;
    let segsz = u64::from_le_bytes(k[48..56].try_into().expect("8 bytes")) as usize;
    let len = segsz.div_ceil(PAGE) * PAGE;
    let mut addr = shmaddr as u32 as usize;
    if addr % PAGE != 0 {
        if shmflg & SHM_RND == 0 {
            return Err(Errno::INVAL.into());
        }
        addr &= !(PAGE - 1);
    }
    let (prot, anon_private) = (libc::PROT_READ | libc::PROT_WRITE, 0x22);
    // at a given address only over a free range, unless SHM_REMAP
    let fixed = match (addr, shmflg & SHM_REMAP) {
        (0, _) => 0,
        (_, 0) => libc::MAP_FIXED_NOREPLACE,
        _ => libc::MAP_FIXED,
    };
    if len == 0 || len > i32::MAX as usize {
        return Err(Errno::INVAL.into());
    }
    let a = match mm::mmap(
        cx,
        addr as i32,
        len as i32,
        prot,
        anon_private | fixed,
        -1,
        0,
    ) {
        Ok(a) => a as u32,
        Err(crate::Ctrl::Errno(Errno::EXIST)) => return Err(Errno::INVAL.into()),
        Err(e) => return Err(e),
    };
    let host = cx.mem.buf(a, len)?;
    let flags = (shmflg & !(SHM_RDONLY | SHM_RND)) | SHM_REMAP;
    // SAFETY: `host` is `len` page-aligned bytes of the guest's mmap
    // region, just claimed for this segment; SHM_REMAP maps the segment
    // over them read-write (the GuestMemory contract allows mappings
    // there).
    let r = unsafe { syscall3(SYS_shmat, sx(shmid), p(host), zx(flags)) };
    match r {
        Ok(_) => {
            cx.proc
                .mmap
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .note_shm(a as usize, len);
            Ok(a as i64)
        }
        Err(e) => {
            let _ = mm::munmap(cx, a as i32, len as i32);
            Err(e.into())
        }
    }
}

/// `shmdt(shmaddr)`: the attachment at `shmaddr` is replaced by zero
/// pages (which detaches it in the kernel); `EINVAL` if none is there.
pub fn shmdt(cx: &mut WaliCtx, shmaddr: i32) -> SysResult {
    let len = cx
        .proc
        .mmap
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take_shm(shmaddr as u32 as usize)
        .ok_or(Errno::INVAL)?;
    mm::munmap(cx, shmaddr, len as i32)
}

/// `msgget(key, msgflg)`
pub fn msgget(_cx: &mut WaliCtx, key: i32, msgflg: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall2(SYS_msgget, sx(key), sx(msgflg)) }?)
}

/// `msgsnd(msqid, msgp, msgsz, msgflg)`: the guest's `struct msgbuf`
/// (a 4-byte `long mtype`, then `msgsz` bytes) is sent as the kernel's.
pub fn msgsnd(cx: &mut WaliCtx, msqid: i32, msgp: i32, msgsz: i32, msgflg: i32) -> SysResult {
    let n = msgsz as u32 as usize;
    if msgsz < 0 {
        return Err(Errno::INVAL.into());
    }
    let mtype: i32 = cx.mem.read(msgp as u32)?;
    let text = cx
        .mem
        .read_bytes((msgp as u32).checked_add(4).ok_or(Errno::FAULT)?, n)?;
    let mut k = Vec::with_capacity(8 + n);
    k.extend_from_slice(&(mtype as i64).to_le_bytes());
    k.extend_from_slice(&text);
    // SAFETY: `k` is a host msgbuf of 8 + n bytes.
    Ok(unsafe { syscall4(SYS_msgsnd, sx(msqid), p(k.as_ptr()), n, sx(msgflg)) }?)
}

/// `msgrcv(msqid, msgp, msgsz, msgtyp, msgflg)`: received into a host
/// `msgbuf`, then stored in the guest's layout.
pub fn msgrcv(
    cx: &mut WaliCtx,
    msqid: i32,
    msgp: i32,
    msgsz: i32,
    msgtyp: i32,
    msgflg: i32,
) -> SysResult {
    if msgsz < 0 {
        return Err(Errno::INVAL.into());
    }
    let n = msgsz as usize;
    cx.mem.buf(msgp as u32, 4 + n)?;
    let mut k = vec![0u8; 8 + n];
    // SAFETY: `k` is a host msgbuf with room for n bytes of text.
    let got = unsafe {
        syscall5(
            SYS_msgrcv,
            sx(msqid),
            p(k.as_mut_ptr()),
            n,
            sx(msgtyp),
            sx(msgflg),
        )
    }? as usize;
    let mtype = i64::from_le_bytes(k[..8].try_into().expect("8 bytes")) as i32;
    cx.mem.write(msgp as u32, mtype)?;
    cx.mem.write_bytes(msgp as u32 + 4, &k[8..8 + got.min(n)])?;
    Ok(got as i64)
}

/// `msgctl(msqid, cmd, buf)`
pub fn msgctl(cx: &mut WaliCtx, msqid: i32, cmd: i32, buf: i32) -> SysResult {
    let c = cmd & !IPC_64;
    let call = |b: usize| {
        // SAFETY: `b` is a host buffer of the kernel's struct
        // size, a checked guest msginfo (ints only: the same layout), or 0.
        unsafe { syscall3(SYS_msgctl, sx(msqid), sx(c), b) }
    };
    match c {
        IPC_STAT | MSG_STAT | MSG_STAT_ANY => ctl_struct(cx, buf, &MSQID, true, false, call),
        IPC_SET => ctl_struct(cx, buf, &MSQID, true, true, call),
        IPC_INFO | MSG_INFO => Ok(call(p(cx.mem.buf(buf as u32, 32)?))?),
        _ => Ok(call(0)?),
    }
}

/// `semget(key, nsems, semflg)`
pub fn semget(_cx: &mut WaliCtx, key: i32, nsems: i32, semflg: i32) -> SysResult {
    // SAFETY: no pointer argument.
    Ok(unsafe { syscall3(SYS_semget, sx(key), sx(nsems), sx(semflg)) }?)
}

/// `semop(semid, sops, nsops)`: `struct sembuf` (three shorts) is the
/// kernel's layout.
pub fn semop(cx: &mut WaliCtx, semid: i32, sops: i32, nsops: i32) -> SysResult {
    semtimedop(cx, semid, sops, nsops, 0)
}

/// `semtimedop(semid, sops, nsops, timeout)`
pub fn semtimedop(cx: &mut WaliCtx, semid: i32, sops: i32, nsops: i32, timeout: i32) -> SysResult {
    let n = (nsops as u32 as usize).checked_mul(6).ok_or(Errno::INVAL)?;
    let s = cx.mem.buf(sops as u32, n)?;
    let t = cx.mem.buf_opt(timeout as u32, 16)?;
    // SAFETY: checked sembuf array and optional timespec.
    Ok(unsafe { syscall4(SYS_semtimedop, sx(semid), p(s), zx(nsops), p(t)) }?)
}

/// `semctl(semid, semnum, cmd, arg)`: `arg` is the `union semun` (an int,
/// or a guest pointer to a `semid_ds`, an array of shorts, a `seminfo`).
pub fn semctl(cx: &mut WaliCtx, semid: i32, semnum: i32, cmd: i32, arg: i32) -> SysResult {
    let c = cmd & !IPC_64;
    let call = |b: usize| {
        // SAFETY: `b` is an integer, a host buffer of the
        // kernel's struct size, or a checked guest buffer, as `c` needs.
        unsafe { syscall4(SYS_semctl, sx(semid), sx(semnum), sx(c), b) }
    };
    match c {
        IPC_STAT | SEM_STAT | SEM_STAT_ANY => ctl_struct(cx, arg, &SEMID, true, false, call),
        IPC_SET => ctl_struct(cx, arg, &SEMID, true, true, call),
        GETALL | SETALL => {
            // the set's size, for the array's length
            let mut k = [0u8; KBUF];
            call_stat(semid, &mut k)?;
            let nsems = u64::from_le_bytes(k[80..88].try_into().expect("8 bytes")) as usize;
            Ok(call(p(cx.mem.buf(arg as u32, nsems * 2)?))?)
        }
        IPC_INFO | SEM_INFO => Ok(call(p(cx.mem.buf(arg as u32, 40)?))?),
        SETVAL => Ok(call(sx(arg))?),
        GETPID | GETVAL | GETNCNT | GETZCNT | IPC_RMID => Ok(call(0)?),
        _ => Err(Errno::INVAL.into()),
    }
}

fn call_stat(semid: i32, k: &mut [u8; KBUF]) -> Result<i64, Errno> {
    // SAFETY: a host buffer larger than the kernel's semid64_ds.
    unsafe {
        syscall4(
            SYS_semctl,
            sx(semid),
            0,
            IPC_STAT as usize,
            p(k.as_mut_ptr()),
        )
    }
}
