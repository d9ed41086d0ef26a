//! Wasm32 layouts of the structs that cross the WALI boundary.
//!
//! Offsets and sizes are in bytes, as the guest (wasm32, `long` = 64 bits,
//! pointers = 32 bits) lays them out. Structs without pointers have the
//! x86-64 kernel layout and are passed to the kernel in place; structs with
//! pointers (`iovec`, `msghdr`, `k_sigaction`, `stack_t` ...) are converted.
//! Each module holds `SIZE`, `ALIGN`, one constant per field offset, and
//! `FIELDS` (name, offset, size) for tools and tests.

/// One field of a layout: name, offset, size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub offset: usize,
    pub size: usize,
}

/// A struct layout as data.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub name: &'static str,
    pub size: usize,
    pub align: usize,
    pub fields: &'static [Field],
}

macro_rules! layouts {
    ($( $(#[$m:meta])* $module:ident $cname:literal size $size:literal align $align:literal {
        $( $field:ident @ $off:literal : $fsize:literal ),* $(,)?
    } )*) => {
        $(
            $(#[$m])*
            #[allow(missing_docs)]
            pub mod $module {
                use super::Field;
                pub const SIZE: usize = $size;
                pub const ALIGN: usize = $align;
                $( pub const $field: usize = $off; )*
                pub const FIELDS: &[Field] = &[
                    $( Field { name: stringify!($field), offset: $off, size: $fsize } ),*
                ];
            }
        )*
        /// Every layout of this module.
        pub static ALL: &[Layout] = &[
            $( Layout { name: $cname, size: $size, align: $align, fields: $module::FIELDS } ),*
        ];
    };
}

layouts! {
    /// `struct timespec`
    timespec "struct timespec" size 16 align 8 { TV_SEC @ 0 : 8, TV_NSEC @ 8 : 8 }
    /// `struct timeval`
    timeval "struct timeval" size 16 align 8 { TV_SEC @ 0 : 8, TV_USEC @ 8 : 8 }
    /// `struct timezone`
    timezone "struct timezone" size 8 align 4 { TZ_MINUTESWEST @ 0 : 4, TZ_DSTTIME @ 4 : 4 }
    /// `struct itimerval`
    itimerval "struct itimerval" size 32 align 8 { IT_INTERVAL @ 0 : 16, IT_VALUE @ 16 : 16 }
    /// `struct itimerspec`
    itimerspec "struct itimerspec" size 32 align 8 { IT_INTERVAL @ 0 : 16, IT_VALUE @ 16 : 16 }
    /// `stack_t` (converted: the native one is 24 bytes)
    stack_t "stack_t" size 12 align 4 { SS_SP @ 0 : 4, SS_FLAGS @ 4 : 4, SS_SIZE @ 8 : 4 }
    /// `struct dirent` of the guest libc (the kernel writes `linux_dirent64` records)
    dirent "struct dirent" size 280 align 8 { D_INO @ 0 : 8, D_OFF @ 8 : 8, D_RECLEN @ 16 : 2, D_TYPE @ 18 : 1, D_NAME @ 19 : 256 }
    /// `struct epoll_event` (packed on x86-64)
    epoll_event "struct epoll_event" size 12 align 1 { EVENTS @ 0 : 4, DATA @ 4 : 8 }
    /// `struct iovec` (converted: the native one is 16 bytes)
    iovec "struct iovec" size 8 align 4 { IOV_BASE @ 0 : 4, IOV_LEN @ 4 : 4 }
    /// `struct pollfd`
    pollfd "struct pollfd" size 8 align 4 { FD @ 0 : 4, EVENTS @ 4 : 2, REVENTS @ 6 : 2 }
    /// `struct rlimit`
    rlimit "struct rlimit" size 16 align 8 { RLIM_CUR @ 0 : 8, RLIM_MAX @ 8 : 8 }
    /// `struct sigaction` of the guest libc (what `sigaction(3)` takes)
    sigaction "struct sigaction" size 144 align 8 { SA_HANDLER @ 0 : 4, SA_MASK @ 8 : 128, SA_FLAGS @ 136 : 4, SA_RESTORER @ 140 : 4 }
    /// `struct k_sigaction`: what crosses `SYS_rt_sigaction` (packed)
    k_sigaction "struct k_sigaction" size 24 align 1 { HANDLER @ 0 : 4, FLAGS @ 4 : 8, RESTORER @ 12 : 4, MASK @ 16 : 8 }
    /// `struct sockaddr`
    sockaddr "struct sockaddr" size 16 align 2 { SA_FAMILY @ 0 : 2, SA_DATA @ 2 : 14 }
    /// `struct sockaddr_in`
    sockaddr_in "struct sockaddr_in" size 16 align 4 { SIN_FAMILY @ 0 : 2, SIN_PORT @ 2 : 2, SIN_ADDR @ 4 : 4, SIN_ZERO @ 8 : 8 }
    /// `struct sockaddr_in6`
    sockaddr_in6 "struct sockaddr_in6" size 28 align 4 { SIN6_FAMILY @ 0 : 2, SIN6_PORT @ 2 : 2, SIN6_FLOWINFO @ 4 : 4, SIN6_ADDR @ 8 : 16, SIN6_SCOPE_ID @ 24 : 4 }
    /// `struct sockaddr_un`
    sockaddr_un "struct sockaddr_un" size 110 align 2 { SUN_FAMILY @ 0 : 2, SUN_PATH @ 2 : 108 }
    /// `struct sockaddr_storage`
    sockaddr_storage "struct sockaddr_storage" size 128 align 8 { SS_FAMILY @ 0 : 2 }
    /// `struct statfs`
    statfs "struct statfs" size 120 align 8 {
        F_TYPE @ 0 : 8, F_BSIZE @ 8 : 8, F_BLOCKS @ 16 : 8, F_BFREE @ 24 : 8, F_BAVAIL @ 32 : 8,
        F_FILES @ 40 : 8, F_FFREE @ 48 : 8, F_FSID @ 56 : 8, F_NAMELEN @ 64 : 8, F_FRSIZE @ 72 : 8,
        F_FLAGS @ 80 : 8, F_SPARE @ 88 : 32
    }
    /// `struct statx_timestamp`
    stx_time "struct statx_timestamp" size 16 align 8 { TV_SEC @ 0 : 8, TV_NSEC @ 8 : 4, PAD @ 12 : 4 }
    /// `struct sysinfo` of the guest libc (the kernel writes the first 112 bytes)
    sysinfo "struct sysinfo" size 368 align 8 {
        UPTIME @ 0 : 8, LOADS @ 8 : 24, TOTALRAM @ 32 : 8, FREERAM @ 40 : 8, SHAREDRAM @ 48 : 8,
        BUFFERRAM @ 56 : 8, TOTALSWAP @ 64 : 8, FREESWAP @ 72 : 8, PROCS @ 80 : 2, PAD @ 82 : 2,
        TOTALHIGH @ 88 : 8, FREEHIGH @ 96 : 8, MEM_UNIT @ 104 : 4, RESERVED @ 108 : 256
    }
    /// `struct utimbuf`
    utimbuf "struct utimbuf" size 16 align 8 { ACTIME @ 0 : 8, MODTIME @ 8 : 8 }
    /// `struct utsname`
    utsname "struct utsname" size 390 align 1 {
        SYSNAME @ 0 : 65, NODENAME @ 65 : 65, RELEASE @ 130 : 65, VERSION @ 195 : 65,
        MACHINE @ 260 : 65, DOMAINNAME @ 325 : 65
    }
    /// `fd_set`
    fd_set "fd_set" size 128 align 1 { FDS_BITS @ 0 : 128 }
    /// `cpu_set_t`
    cpu_set_t "cpu_set_t" size 128 align 1 { BITS @ 0 : 128 }
    /// `struct msghdr` (converted: the native one is 56 bytes)
    msghdr "struct msghdr" size 36 align 4 {
        MSG_NAME @ 0 : 4, MSG_NAMELEN @ 4 : 4, MSG_IOV @ 8 : 4, MSG_IOVLEN @ 12 : 4, PAD1 @ 16 : 4,
        MSG_CONTROL @ 20 : 4, MSG_CONTROLLEN @ 24 : 4, PAD2 @ 28 : 4, MSG_FLAGS @ 32 : 4
    }
    /// `struct cmsghdr` (identical to x86-64: `cmsg_len` is 32 bits plus 4 bytes of padding)
    cmsghdr "struct cmsghdr" size 16 align 8 { CMSG_LEN @ 0 : 4, PAD @ 4 : 4, CMSG_LEVEL @ 8 : 4, CMSG_TYPE @ 12 : 4 }
    /// `struct rusage` of the guest libc (the kernel writes the first 144 bytes)
    rusage "struct rusage" size 272 align 8 {
        RU_UTIME @ 0 : 16, RU_STIME @ 16 : 16, RU_MAXRSS @ 32 : 8, RU_IXRSS @ 40 : 8, RU_IDRSS @ 48 : 8,
        RU_ISRSS @ 56 : 8, RU_MINFLT @ 64 : 8, RU_MAJFLT @ 72 : 8, RU_NSWAP @ 80 : 8, RU_INBLOCK @ 88 : 8,
        RU_OUBLOCK @ 96 : 8, RU_MSGSND @ 104 : 8, RU_MSGRCV @ 112 : 8, RU_NSIGNALS @ 120 : 8,
        RU_NVCSW @ 128 : 8, RU_NIVCSW @ 136 : 8, RESERVED @ 144 : 128
    }
    /// `struct stat` (x86-64 layout)
    stat "struct stat" size 144 align 8 {
        ST_DEV @ 0 : 8, ST_INO @ 8 : 8, ST_NLINK @ 16 : 8, ST_MODE @ 24 : 4, ST_UID @ 28 : 4,
        ST_GID @ 32 : 4, PAD0 @ 36 : 4, ST_RDEV @ 40 : 8, ST_SIZE @ 48 : 8, ST_BLKSIZE @ 56 : 8,
        ST_BLOCKS @ 64 : 8, ST_ATIM @ 72 : 16, ST_MTIM @ 88 : 16, ST_CTIM @ 104 : 16, UNUSED @ 120 : 24
    }
    /// `struct statx`
    statx "struct statx" size 256 align 8 {
        STX_MASK @ 0 : 4, STX_BLKSIZE @ 4 : 4, STX_ATTRIBUTES @ 8 : 8, STX_NLINK @ 16 : 4,
        STX_UID @ 20 : 4, STX_GID @ 24 : 4, STX_MODE @ 28 : 2, PAD1 @ 30 : 2, STX_INO @ 32 : 8,
        STX_SIZE @ 40 : 8, STX_BLOCKS @ 48 : 8, STX_ATTRIBUTES_MASK @ 56 : 8, STX_ATIME @ 64 : 16,
        STX_BTIME @ 80 : 16, STX_CTIME @ 96 : 16, STX_MTIME @ 112 : 16, STX_RDEV_MAJOR @ 128 : 4,
        STX_RDEV_MINOR @ 132 : 4, STX_DEV_MAJOR @ 136 : 4, STX_DEV_MINOR @ 140 : 4, SPARE @ 144 : 112
    }
    /// `struct flock` (fcntl record locks)
    flock "struct flock" size 32 align 8 { L_TYPE @ 0 : 2, L_WHENCE @ 2 : 2, L_START @ 8 : 8, L_LEN @ 16 : 8, L_PID @ 24 : 4 }
    /// `struct f_owner_ex`
    f_owner_ex "struct f_owner_ex" size 8 align 4 { TYPE @ 0 : 4, PID @ 4 : 4 }
    /// `struct winsize`
    winsize "struct winsize" size 8 align 2 { WS_ROW @ 0 : 2, WS_COL @ 2 : 2, WS_XPIXEL @ 4 : 2, WS_YPIXEL @ 6 : 2 }
    /// `struct termios` as the kernel's `TCGETS`/`TCSETS` read and write it
    termios "struct termios (kernel)" size 36 align 4 { C_IFLAG @ 0 : 4, C_OFLAG @ 4 : 4, C_CFLAG @ 8 : 4, C_LFLAG @ 12 : 4, C_LINE @ 16 : 1, C_CC @ 17 : 19 }
    /// The 6th argument of `pselect6`: `{ sigset pointer, sigset size }`
    pselect6_sigmask "pselect6 sigmask argument" size 16 align 8 { SS @ 0 : 8, SS_LEN @ 8 : 8 }
    /// `struct tms`
    tms "struct tms" size 32 align 8 { TMS_UTIME @ 0 : 8, TMS_STIME @ 8 : 8, TMS_CUTIME @ 16 : 8, TMS_CSTIME @ 24 : 8 }
    /// `struct linux_dirent64` (`d_name` is NUL-terminated and runs to `d_reclen`; the size is the smallest record)
    linux_dirent64 "struct linux_dirent64" size 24 align 8 { D_INO @ 0 : 8, D_OFF @ 8 : 8, D_RECLEN @ 16 : 2, D_TYPE @ 18 : 1, D_NAME @ 19 : 5 }
    /// Kernel `sigset_t` as the syscalls take it
    sigset "sigset_t (kernel)" size 8 align 8 { BITS @ 0 : 8 }
    /// `struct sched_param`
    sched_param "struct sched_param" size 4 align 4 { SCHED_PRIORITY @ 0 : 4 }
    /// `siginfo_t`
    siginfo "siginfo_t" size 128 align 8 { SI_SIGNO @ 0 : 4, SI_ERRNO @ 4 : 4, SI_CODE @ 8 : 4, SI_PID @ 16 : 4, SI_UID @ 20 : 4, SI_STATUS @ 24 : 4 }
}
