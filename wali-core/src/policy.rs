//! What a guest may do. The default allows everything (the unmodified
//! programs that run today keep running); a policy built through
//! [`crate::WaliCtxBuilder::policy`] is enforced on the syscall path (one
//! branch when none is set), and is inherited by forked children, threads
//! and exec'd wasm images (which inherit the process state).

use std::net::IpAddr;

/// A network rule: an address prefix and optionally a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetRule {
    pub addr: IpAddr,
    pub prefix: u8,
    pub port: Option<u16>,
}

impl NetRule {
    /// Parses `ADDR[/PREFIX][:PORT]` (IPv6 in brackets: `[::1]/128:80`).
    pub fn parse(s: &str) -> Result<NetRule, String> {
        let bad = || format!("{s}: expected ADDR[/PREFIX][:PORT]");
        let (addr_part, port) = if let Some(rest) = s.strip_prefix('[') {
            let (a, tail) = rest.split_once(']').ok_or_else(bad)?;
            let (pfx, port) = match tail.split_once(':') {
                Some((p, port)) => (p, Some(port)),
                None => (tail, None),
            };
            (format!("{a}{pfx}"), port.map(str::to_string))
        } else {
            match s.rsplit_once(':') {
                Some((a, p)) if !a.contains(':') => (a.to_string(), Some(p.to_string())),
                _ => (s.to_string(), None),
            }
        };
        let (a, prefix) = match addr_part.split_once('/') {
            Some((a, p)) => (a.to_string(), Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (addr_part, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        let port = port
            .map(|p| p.parse::<u16>().map_err(|_| bad()))
            .transpose()?;
        Ok(NetRule { addr, prefix, port })
    }

    fn matches(&self, addr: IpAddr, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        match (self.addr, addr) {
            (IpAddr::V4(r), IpAddr::V4(a)) => {
                let m = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix)
                };
                u32::from(r) & m == u32::from(a) & m
            }
            (IpAddr::V6(r), IpAddr::V6(a)) => {
                let m = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix)
                };
                u128::from(r) & m == u128::from(a) & m
            }
            _ => false,
        }
    }
}

/// The policy of a guest process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    denied: [u64; 8],
    /// Deny sockets of the internet families except to/from `allow_net`.
    pub restrict_net: bool,
    pub allow_net: Vec<NetRule>,
    /// execve of a file that is not wasm fails with EACCES.
    pub deny_native_exec: bool,
    /// Linear memory (and so `mmap`) may not grow past this many bytes.
    pub max_memory: Option<usize>,
    /// At most this many threads (the main one included).
    pub max_threads: Option<usize>,
    /// At most this many open descriptors (RLIMIT_NOFILE of the host process).
    pub max_fds: Option<u64>,
    /// CPU cap in the engine's units (wasmtime: fuel; needs the engine's
    /// fuel metering on): the guest ends as by SIGXCPU when it runs out.
    pub fuel: Option<u64>,
    /// The guest process is ended as by SIGKILL after this long (through
    /// the engine's interruption: a computing guest at once, a guest
    /// blocked in a syscall when the call returns).
    pub timeout: Option<std::time::Duration>,
    /// File-system confinement: when not empty, paths resolve only inside
    /// these trees (canonical paths; `true` = read-only).
    pub dirs: Vec<(std::path::PathBuf, bool)>,
}

impl Policy {
    /// Confines the guest's paths to `dir` (and the other given trees);
    /// `read_only` refuses writes there.
    pub fn allow_dir(
        &mut self,
        dir: impl AsRef<std::path::Path>,
        read_only: bool,
    ) -> std::io::Result<()> {
        let c = std::fs::canonicalize(dir)?;
        self.dirs.push((c, read_only));
        Ok(())
    }
}

impl Policy {
    /// Denies a syscall (by name, `SYS_` optional) or a group (`net`,
    /// `process`, `signal`, `fs-write`, `identity`): it returns EPERM.
    pub fn deny(&mut self, what: &str) -> Result<(), String> {
        self.set(what, true)
    }

    /// Allows again what a `deny` covered.
    pub fn allow(&mut self, what: &str) -> Result<(), String> {
        self.set(what, false)
    }

    fn set(&mut self, what: &str, deny: bool) -> Result<(), String> {
        let names: Vec<&str> = match wali_spec::groups::by_name(what) {
            Some(g) => g.to_vec(),
            None => vec![what.strip_prefix("SYS_").unwrap_or(what)],
        };
        for n in names {
            let spec = wali_spec::syscall_by_name(n)
                .ok_or_else(|| format!("unknown syscall or group: {what}"))?;
            let (w, b) = ((spec.nr / 64) as usize, spec.nr % 64);
            if w < self.denied.len() {
                if deny {
                    self.denied[w] |= 1 << b;
                } else {
                    self.denied[w] &= !(1 << b);
                }
            }
        }
        Ok(())
    }

    /// Whether syscall number `nr` is denied.
    #[inline]
    pub fn denies(&self, nr: u32) -> bool {
        let w = (nr / 64) as usize;
        w < self.denied.len() && self.denied[w] & (1 << (nr % 64)) != 0
    }

    /// Whether a socket address (wasm32 = x86-64 layout) may be used.
    pub fn net_allows(&self, sockaddr: &[u8]) -> bool {
        if !self.restrict_net || sockaddr.len() < 2 {
            return true;
        }
        let family = u16::from_le_bytes([sockaddr[0], sockaddr[1]]) as i32;
        let (addr, port) = match family {
            libc::AF_INET if sockaddr.len() >= 8 => (
                IpAddr::from([sockaddr[4], sockaddr[5], sockaddr[6], sockaddr[7]]),
                u16::from_be_bytes([sockaddr[2], sockaddr[3]]),
            ),
            libc::AF_INET6 if sockaddr.len() >= 24 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&sockaddr[8..24]);
                (
                    IpAddr::from(a),
                    u16::from_be_bytes([sockaddr[2], sockaddr[3]]),
                )
            }
            libc::AF_INET | libc::AF_INET6 => return false,
            _ => return true,
        };
        self.allow_net.iter().any(|r| r.matches(addr, port))
    }
}
