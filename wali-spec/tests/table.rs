//! Pins the ABI table and struct layouts to the WALI specification.

use wali_spec::layout::*;
use wali_spec::{Origin, ValType::*, AUX, SYSCALLS};

#[test]
fn spec_has_140_syscalls_and_11_aux() {
    assert_eq!(
        SYSCALLS.iter().filter(|s| s.origin == Origin::Spec).count(),
        140
    );
    assert_eq!(AUX.len(), 11);
    let mut names: Vec<_> = SYSCALLS.iter().map(|s| s.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), SYSCALLS.len(), "no duplicate syscall");
    let mut nrs: Vec<_> = SYSCALLS.iter().map(|s| s.nr).collect();
    nrs.sort();
    nrs.dedup();
    assert_eq!(nrs.len(), SYSCALLS.len(), "no duplicate number");
}

#[test]
fn signatures_follow_the_type_rule() {
    let sig = |n: &str| wali_spec::syscall_by_name(n).unwrap();
    assert_eq!(
        (sig("read").nr, sig("read").params),
        (0, &[I32, I32, I32][..])
    );
    assert_eq!(sig("lseek").params, &[I32, I64, I32]);
    assert_eq!(sig("mmap").params, &[I32, I32, I32, I32, I32, I64]);
    assert_eq!(sig("poll").params, &[I32, I64, I32]);
    assert_eq!(sig("ppoll").params, &[I32, I64, I32, I32, I32]);
    assert_eq!(sig("fcntl").params, &[I32, I32, I64]);
    assert_eq!(sig("prctl").params, &[I32, I64, I64, I64, I64]);
    assert_eq!(sig("pread64").params, &[I32, I32, I32, I64]);
    assert_eq!(sig("fadvise").params, &[I32, I64, I64, I32]);
    assert_eq!(sig("rt_sigreturn").params, &[I64]);
    assert_eq!(sig("newfstatat").nr, 262);
    assert_eq!(sig("gettimeofday").nr, 96);
    assert_eq!(sig("faccessat2").nr, 439);
    assert_eq!(sig("exit").params, &[I32]);
    assert_eq!(
        wali_spec::syscall_by_import("SYS_fstatat").unwrap().name,
        "newfstatat"
    );
    assert_eq!(
        wali_spec::syscall_by_import("SYS_getdents").unwrap().name,
        "getdents64"
    );
    assert_eq!(
        wali_spec::syscall_by_nr(231).unwrap().import,
        "SYS_exit_group"
    );
    let aux = |n: &str| wali_spec::aux_by_name(n).unwrap();
    assert_eq!(
        (aux("__init").params, aux("__init").result),
        (&[][..], Some(I32))
    );
    assert_eq!(
        (aux("__proc_exit").params, aux("__proc_exit").result),
        (&[I32][..], None)
    );
    assert_eq!(
        (aux("longjmp").params, aux("longjmp").result),
        (&[I32, I32][..], None)
    );
    assert_eq!(
        (aux("__cl_copy_argv").params, aux("__cl_copy_argv").result),
        (&[I32, I32][..], Some(I32))
    );
    for s in SYSCALLS {
        assert_eq!(s.params.len(), s.param_names.len(), "{}", s.name);
        assert!(s.params.len() <= 6, "{}", s.name);
        assert_eq!(s.import, format!("SYS_{}", s.name));
    }
}

#[test]
fn real_guest_extras_are_in_the_table() {
    for (n, p) in [
        ("epoll_create", &[I32][..]),
        ("epoll_wait", &[I32, I32, I32, I32]),
        ("futimesat", &[I32, I32, I32]),
        ("preadv", &[I32, I32, I32, I64, I64]),
        ("truncate", &[I32, I64]),
        ("utimes", &[I32, I32]),
        ("set_robust_list", &[I32, I32]),
        ("sched_setscheduler", &[I32, I32, I32]),
    ] {
        let s = wali_spec::syscall_by_name(n).unwrap_or_else(|| panic!("{n}"));
        assert_eq!(s.params, p, "{n}");
        assert_eq!(s.origin, Origin::Extra);
    }
}

fn field(l: &[wali_spec::layout::Field], name: &str) -> (usize, usize) {
    let f = l
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("{name}"));
    (f.offset, f.size)
}

#[test]
fn struct_layouts() {
    assert_eq!(
        (stat::SIZE, stat::ST_MODE, stat::ST_SIZE, stat::ST_MTIM),
        (144, 24, 48, 88)
    );
    assert_eq!(
        (
            statx::SIZE,
            statx::STX_MODE,
            statx::STX_SIZE,
            statx::STX_MTIME
        ),
        (256, 28, 40, 112)
    );
    assert_eq!(
        (
            sigaction::SIZE,
            sigaction::SA_MASK,
            sigaction::SA_FLAGS,
            sigaction::SA_RESTORER
        ),
        (144, 8, 136, 140)
    );
    assert_eq!(
        (
            k_sigaction::SIZE,
            k_sigaction::FLAGS,
            k_sigaction::RESTORER,
            k_sigaction::MASK
        ),
        (24, 4, 12, 16)
    );
    assert_eq!(
        (
            msghdr::SIZE,
            msghdr::MSG_IOV,
            msghdr::MSG_CONTROL,
            msghdr::MSG_FLAGS
        ),
        (36, 8, 20, 32)
    );
    assert_eq!((iovec::SIZE, iovec::IOV_LEN), (8, 4));
    assert_eq!(
        (epoll_event::SIZE, epoll_event::ALIGN, epoll_event::DATA),
        (12, 1, 4)
    );
    assert_eq!(
        (
            sockaddr::SIZE,
            sockaddr_in::SIZE,
            sockaddr_in6::SIZE,
            sockaddr_un::SIZE
        ),
        (16, 16, 28, 110)
    );
    assert_eq!(
        (
            sockaddr_in::SIN_PORT,
            sockaddr_in::SIN_ADDR,
            sockaddr_in6::SIN6_ADDR,
            sockaddr_un::SUN_PATH
        ),
        (2, 4, 8, 2)
    );
    assert_eq!(
        (timespec::SIZE, timespec::TV_NSEC, timeval::SIZE),
        (16, 8, 16)
    );
    assert_eq!((rlimit::SIZE, rlimit::RLIM_MAX), (16, 8));
    assert_eq!(
        (sysinfo::SIZE, sysinfo::PROCS, sysinfo::MEM_UNIT),
        (368, 80, 104)
    );
    assert_eq!((utsname::SIZE, utsname::MACHINE), (390, 260));
    assert_eq!((stack_t::SIZE, stack_t::SS_SIZE), (12, 8));
    assert_eq!((dirent::SIZE, dirent::D_NAME), (280, 19));
    assert_eq!((statfs::SIZE, statfs::F_NAMELEN), (120, 64));
    assert_eq!((rusage::SIZE, rusage::RU_MAXRSS), (272, 32));
    assert_eq!((itimerval::SIZE, pollfd::SIZE, pollfd::REVENTS), (32, 8, 6));
    assert_eq!((flock::SIZE, flock::L_START, flock::L_PID), (32, 8, 24));
    assert_eq!(
        (fd_set::SIZE, cpu_set_t::SIZE, termios::SIZE, winsize::SIZE),
        (128, 128, 36, 8)
    );
    assert_eq!((cmsghdr::SIZE, cmsghdr::CMSG_TYPE), (16, 12));
    assert_eq!(field(stat::FIELDS, "ST_BLOCKS"), (64, 8));
}

#[test]
fn every_layout_is_consistent() {
    for l in ALL {
        let mut end = 0;
        for f in l.fields {
            assert!(f.offset >= end, "{}: {} overlaps", l.name, f.name);
            if matches!(f.size, 2 | 4 | 8) && l.align >= f.size {
                assert_eq!(f.offset % f.size, 0, "{}: {} misaligned", l.name, f.name);
            }
            end = f.offset + f.size;
        }
        assert!(end <= l.size, "{}: fields run past size", l.name);
        assert_eq!(
            l.size % l.align,
            0,
            "{}: size not a multiple of align",
            l.name
        );
    }
}
