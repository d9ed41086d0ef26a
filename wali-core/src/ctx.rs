//! The WALI context: per-thread [`WaliCtx`] and the process-wide [`Process`].

use crate::memory::{GuestMemory, Mem};
use crate::sys::mm::MmapState;
use rustix::fd::{AsRawFd, OwnedFd};
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Where one of the guest's standard streams goes.
///
/// WALI passes file descriptors straight to the kernel, so the guest shares
/// the host process's descriptor table: redirecting a guest stream
/// redirects the host process's descriptor 0, 1 or 2 while the guest runs.
#[derive(Debug, Default)]
pub enum Stdio {
    /// Leave the descriptor as the host process has it.
    #[default]
    Inherit,
    /// Duplicate this descriptor onto the stream when the guest starts.
    Fd(OwnedFd),
}

/// How the guest's initial environment reaches it.
#[derive(Debug)]
pub(crate) enum EnvSource {
    /// No environment: `__get_init_envfile` reports none.
    None,
    /// A file named by the embedder (the reference runtime's `--env-file`).
    File(CString),
    /// An anonymous memory file that only this process can open, through
    /// `/proc/self/fd/N`: no name in /tmp for anyone to race or replace.
    /// It stays open (close-on-exec) as long as the process state lives.
    /// It is reserved (`hostfd`): the guest cannot close it.
    Memfd(#[allow(dead_code)] crate::hostfd::HostFd, CString),
}

/// State shared by every thread of one guest process.
#[derive(Debug)]
pub struct Process {
    pub(crate) args: Vec<CString>,
    pub(crate) env: EnvSource,
    pub(crate) verbosity: u8,
    pub(crate) init_called: AtomicBool,
    pub(crate) mmap: Mutex<MmapState>,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) stdio: Mutex<[Stdio; 3]>,
    pub(crate) program: Option<PathBuf>,
    pub(crate) signals: Mutex<crate::sys::signal::SignalTable>,
    pub(crate) forked: AtomicBool,
    pub(crate) policy: Option<Box<crate::Policy>>,
    pub(crate) threads: std::sync::atomic::AtomicUsize,
    /// The main thread's C stack size, when given explicitly.
    pub(crate) c_stack: Option<usize>,
    /// The size of the C stack the runtime mapped (0: none).
    pub(crate) c_stack_mapped: AtomicUsize,
    /// Set (before `end` is readable) when the process is being ended.
    killed: AtomicBool,
    /// How the process is being ended, once `killed` is set.
    end: Mutex<Option<EndReason>>,
    /// The host thread of the run loop (0: none).
    run_loop: std::sync::atomic::AtomicI32,
    /// How guest threads run (see [`Process::set_thread_runner`]).
    spawner: RunnerSlot,
}

#[derive(Default)]
struct RunnerSlot(Mutex<Option<Arc<dyn crate::aux::ThreadRunner>>>);

impl std::fmt::Debug for RunnerSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ThreadRunner")
    }
}

/// Why every thread of a process is to stop at its next safe point.
#[derive(Debug)]
enum EndReason {
    /// The policy's timeout expired: the process dies as by SIGKILL.
    Timeout,
    /// A thread other than the main one exec'd a wasm program: as with
    /// Linux's execve from a non-main thread, every other thread ends and
    /// the program replaces the process (the main thread's run loop runs
    /// it).
    Exec(Box<crate::ExecRequest>),
}

impl Process {
    /// The guest's argument vector.
    pub fn args(&self) -> &[CString] {
        &self.args
    }
    /// The policy, if one is set.
    #[inline]
    pub fn policy(&self) -> Option<&crate::Policy> {
        self.policy.as_deref()
    }

    /// The size of the main thread's C stack (the part of the stack the
    /// guest keeps in linear memory): as given to the builder, else the
    /// process's `RLIMIT_STACK` soft limit as Linux sizes a main thread's
    /// stack (8 MiB when unlimited); between 64 KiB and 1 GiB.
    pub fn c_stack_size(&self) -> usize {
        const DEFAULT: usize = 8 << 20;
        let n = self.c_stack.unwrap_or_else(|| {
            rustix::process::getrlimit(rustix::process::Resource::Stack)
                .current
                .map_or(DEFAULT, |n| n.min(usize::MAX as u64) as usize)
        });
        n.clamp(64 << 10, 1 << 30) & !15
    }

    /// Counts a new thread; false (and not counted) when the policy's
    /// thread limit is reached.
    pub fn thread_started(&self) -> bool {
        let max = self
            .policy()
            .and_then(|p| p.max_threads)
            .unwrap_or(usize::MAX);
        self.threads
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Asks every thread of the guest to end as by SIGKILL at its next
    /// safe point (the adapter then interrupts a computing guest).
    pub fn kill(&self) {
        self.end_with(EndReason::Timeout);
    }

    /// A guest thread other than the main one exec'd the wasm program of
    /// `req`: every thread stops at its next safe point (computing threads
    /// are interrupted; a blocked futex wait returns), the main thread's
    /// run loop then runs the program, as Linux's execve from a thread
    /// replaces the whole process.
    pub fn exec_from_thread(&self, req: Box<crate::ExecRequest>) {
        self.end_with(EndReason::Exec(req));
        crate::sys::signal::interrupt_guests();
    }

    fn end_with(&self, why: EndReason) {
        let mut end = self.end.lock().unwrap_or_else(|e| e.into_inner());
        if end.is_none() {
            *end = Some(why);
        }
        self.killed.store(true, Ordering::SeqCst);
    }

    /// How the calling guest thread must end, once the process is being
    /// ended (`None` until then): killed as by SIGKILL, or, for an exec
    /// from another thread, the exec on the main thread and a silent end
    /// on the others.
    pub fn end_request(&self) -> Option<crate::Ctrl> {
        if !self.is_killed() {
            return None;
        }
        let end = self.end.lock().unwrap_or_else(|e| e.into_inner());
        Some(match end.as_ref()? {
            EndReason::Timeout => crate::Ctrl::Killed {
                signal: libc::SIGKILL,
                message: "killed: the policy's timeout expired".into(),
            },
            EndReason::Exec(req) if self.is_run_loop_thread() => crate::Ctrl::Exec(req.clone()),
            EndReason::Exec(_) => crate::Ctrl::Vanish,
        })
    }

    /// Records that the calling host thread runs this process's programs
    /// one after another (an adapter's `Runner::run`): an exec from
    /// another guest thread is handed to it.
    pub fn set_run_loop_thread(&self) {
        let tid = rustix::thread::gettid().as_raw_nonzero().get();
        self.run_loop.store(tid, Ordering::SeqCst);
    }

    /// Whether the calling host thread runs the process's run loop.
    pub fn is_run_loop_thread(&self) -> bool {
        let tid = rustix::thread::gettid().as_raw_nonzero().get();
        self.run_loop.load(Ordering::SeqCst) == tid
    }

    /// Whether some host thread runs the process's run loop (after a fork
    /// by another thread it does not exist in the child).
    pub fn has_run_loop(&self) -> bool {
        self.run_loop.load(Ordering::SeqCst) != 0
    }

    /// In a forked child: the run loop exists only if the forking thread
    /// ran it (it is the only thread there).
    pub(crate) fn forked_from(&self, parent_tid: i32) {
        let lp = self.run_loop.load(Ordering::SeqCst);
        let now = if lp != 0 && lp == parent_tid {
            rustix::thread::gettid().as_raw_nonzero().get()
        } else {
            0
        };
        self.run_loop.store(now, Ordering::SeqCst);
        self.forked.store(true, Ordering::SeqCst);
    }

    /// Attaches how this process's guest threads run (the adapter's
    /// [`crate::aux::ThreadRunner`]), which `__wasm_thread_spawn` uses;
    /// without one it returns `-EAGAIN`.
    pub fn set_thread_runner(&self, r: Arc<dyn crate::aux::ThreadRunner>) {
        *self.spawner.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
    }

    /// The attached thread runner, if any.
    pub fn thread_runner(&self) -> Option<Arc<dyn crate::aux::ThreadRunner>> {
        self.spawner
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// When the policy sets a timeout: starts a host thread that, once it
    /// expires, calls [`Process::kill`] and `interrupt` (the adapter's way
    /// to make a computing guest reach a safe point, where it ends). The
    /// thread blocks the guest's signals (the runner's thread that calls
    /// this may not), so the kernel gives them to a guest thread.
    pub fn arm_timeout(self: &Arc<Self>, interrupt: fn()) {
        let Some(t) = self.policy().and_then(|p| p.timeout) else {
            return;
        };
        let proc = self.clone();
        let _ = crate::sys::signal::without_guest_signals(|| {
            std::thread::Builder::new()
                .name("wali-timeout".into())
                .spawn(move || {
                    std::thread::sleep(t);
                    proc.kill();
                    interrupt();
                })
        });
    }

    /// Whether [`Process::kill`] was called.
    #[inline]
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }

    /// Counts a thread's end.
    pub fn thread_ended(&self) {
        self.threads.fetch_sub(1, Ordering::SeqCst);
    }

    /// Whether this process is a child the guest forked (host threads
    /// other than the guest's do not exist here).
    pub fn is_forked_child(&self) -> bool {
        self.forked.load(Ordering::SeqCst)
    }
    /// Diagnostic verbosity (`-v=N`).
    pub fn verbosity(&self) -> u8 {
        self.verbosity
    }
}

/// The context of one guest thread: its view of memory, its thread id, and
/// the process it belongs to.
pub struct WaliCtx {
    pub(crate) proc: Arc<Process>,
    /// The guest's memory (set by the adapter once the instance exists).
    pub mem: Mem,
    pub(crate) tid: i32,
    pub(crate) clear_child_tid: u32,
    /// The guest's robust futex list head (`set_robust_list`), 0 if none.
    pub(crate) robust_list: u32,
    pub(crate) altstack: [u32; 3],
    /// How many handlers run on the alternate signal stack right now.
    pub(crate) altstack_depth: u32,
    adapter: Option<Box<dyn std::any::Any + Send + Sync>>,
    /// The instance's poll flag (the signal-poll transform), if registered.
    poll_flag: Option<crate::sys::signal::PollFlag>,
}

impl std::fmt::Debug for WaliCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaliCtx")
            .field("tid", &self.tid)
            .field("args", &self.proc.args)
            .finish()
    }
}

impl WaliCtx {
    /// A builder for the context of a new guest process.
    pub fn builder() -> WaliCtxBuilder {
        WaliCtxBuilder::default()
    }

    /// The process-wide state.
    pub fn process(&self) -> &Arc<Process> {
        &self.proc
    }

    /// Attaches the guest's linear memory. Called by the adapter once the
    /// instance exists, before the guest runs; the first call also fixes
    /// where `mmap` regions start (the end of the initial memory).
    pub fn set_memory(&mut self, mem: Arc<dyn GuestMemory>) {
        self.proc
            .mmap
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .init(mem.size(), mem.max_size());
        self.mem = Mem::new(mem);
    }

    /// Applies the process-level settings (working directory, stdio) to the
    /// host process. Called by the adapter just before `_start`.
    pub fn prepare(&self) -> std::io::Result<()> {
        crate::sys::signal::start_dispositions(self);
        if let Some(n) = self.proc.policy().and_then(|p| p.max_fds) {
            let lim = rustix::process::Rlimit {
                current: Some(n),
                maximum: Some(n),
            };
            rustix::process::setrlimit(rustix::process::Resource::Nofile, lim)?;
        }
        if let Some(dir) = &self.proc.cwd {
            std::env::set_current_dir(dir)?;
        }
        let mut stdio = self.proc.stdio.lock().unwrap_or_else(|e| e.into_inner());
        for (target, s) in stdio.iter_mut().enumerate() {
            if let Stdio::Fd(fd) = std::mem::take(s) {
                // SAFETY: dup2 onto the standard descriptor; both are valid
                // descriptors and no Rust object owns `target`.
                if unsafe { libc::dup2(fd.as_raw_fd(), target as i32) } < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
        }
        Ok(())
    }

    /// Prints a diagnostic when verbosity is at least `level`.
    pub fn log(&self, level: u8, msg: std::fmt::Arguments<'_>) {
        if self.proc.verbosity >= level {
            eprintln!("[wali] {msg}");
        }
    }

    /// Records that the guest called an import this runtime does not
    /// implement (reported at `-v=2`).
    pub fn unsupported(&self, name: &str) {
        self.log(
            2,
            format_args!("{name}: not implemented, returning -ENOSYS"),
        );
    }

    /// Where a handler with `SA_ONSTACK` starts its C stack: the top of
    /// the thread's alternate signal stack (16-byte aligned), `None` when
    /// none is set or a handler already runs on it.
    pub fn altstack_top(&self) -> Option<u32> {
        let [sp, flags, size] = self.altstack;
        const SS_DISABLE: u32 = 2;
        if flags & SS_DISABLE != 0 || size == 0 || self.altstack_depth > 0 {
            return None;
        }
        Some(sp.checked_add(size)? & !15)
    }

    /// The lowest address of the thread's alternate signal stack.
    pub fn altstack_base(&self) -> u32 {
        self.altstack[0]
    }

    /// The thread id of this guest thread.
    pub fn tid(&self) -> i32 {
        self.tid
    }

    /// Sets the thread id (an adapter starting a thread does, from the
    /// new host thread).
    pub fn set_tid(&mut self, tid: i32) {
        self.tid = tid;
    }

    /// The address the guest gave `set_tid_address` (0 if none).
    pub fn clear_child_tid(&self) -> u32 {
        self.clear_child_tid
    }

    /// A guest thread's end, as `CLONE_CHILD_CLEARTID`: zeroes the word
    /// `set_tid_address` named and wakes its waiters, both those in the
    /// engine's `memory.atomic.wait` (private futexes) and in the kernel.
    pub fn thread_exit_clear_tid(&mut self) {
        crate::sys::futex::release_robust_list(self);
        let word = self.clear_child_tid;
        if word == 0 || self.mem.write::<u32>(word, 0).is_err() {
            return;
        }
        if let Some(m) = self.mem.source() {
            crate::sys::futex::note_private_wake(word);
            m.atomic_notify(word, u32::MAX);
        }
        if let Ok(h) = self.mem.buf(word, 4) {
            // SAFETY: futex wake on an aligned word of the shared memory.
            unsafe { libc::syscall(libc::SYS_futex, h, libc::FUTEX_WAKE, i32::MAX, 0, 0, 0) };
        }
    }

    /// A context for another thread of the same process, sharing memory.
    pub fn new_thread(&self, tid: i32) -> WaliCtx {
        WaliCtx {
            proc: self.proc.clone(),
            mem: match self.mem.source() {
                Some(m) => Mem::new(m.clone()),
                None => Mem::unset(),
            },
            tid,
            clear_child_tid: 0,
            robust_list: 0,
            altstack: [0, 2, 0],
            altstack_depth: 0,
            adapter: None,
            poll_flag: None,
        }
    }

    /// Lets an engine adapter keep its own per-thread state in the context
    /// (e.g. handles to the instance's exports).
    pub fn set_adapter_data(&mut self, data: Box<dyn std::any::Any + Send + Sync>) {
        self.adapter = Some(data);
    }

    /// Gives the context its instance's poll flag, which
    /// [`clear_poll_flag`](Self::clear_poll_flag) clears; `None` for an
    /// instance without one.
    pub fn set_poll_flag(&mut self, flag: Option<crate::sys::signal::PollFlag>) {
        self.poll_flag = flag;
    }

    /// Clears the instance's poll flag, if it has one and it is set: an
    /// adapter calls it when an import returns, before it checks for
    /// signals to deliver.
    #[inline]
    pub fn clear_poll_flag(&self) {
        if let Some(f) = &self.poll_flag {
            f.clear();
        }
    }

    /// The adapter's per-thread state, if it set one of type `D`.
    pub fn adapter_data<D: 'static>(&self) -> Option<&D> {
        self.adapter.as_ref()?.downcast_ref()
    }
}

/// Builds a [`WaliCtx`].
///
/// ```
/// let ctx = wali_core::WaliCtx::builder()
///     .arg("prog.wasm").arg("--help")
///     .env("HOME", "/root")
///     .build()
///     .unwrap();
/// assert_eq!(ctx.process().args().len(), 2);
/// ```
#[derive(Debug, Default)]
pub struct WaliCtxBuilder {
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    env_file: Option<PathBuf>,
    cwd: Option<PathBuf>,
    stdio: [Stdio; 3],
    verbosity: u8,
    program: Option<PathBuf>,
    policy: Option<crate::Policy>,
    c_stack: Option<usize>,
}

impl WaliCtxBuilder {
    /// The main thread's C stack size in bytes (default: `RLIMIT_STACK`,
    /// see [`Process::c_stack_size`]); exec'd programs keep it.
    pub fn c_stack_size(mut self, bytes: usize) -> Self {
        self.c_stack = Some(bytes);
        self
    }
    /// Appends one argument (the first is the guest's `argv[0]`).
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.args.push(a.as_ref().to_owned());
        self
    }
    /// Appends arguments.
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, it: I) -> Self {
        self.args
            .extend(it.into_iter().map(|s| s.as_ref().to_owned()));
        self
    }
    /// Sets one environment variable.
    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        let k = k.as_ref().to_owned();
        self.env.retain(|(x, _)| *x != k);
        self.env.push((k, v.as_ref().to_owned()));
        self
    }
    /// Sets environment variables.
    pub fn envs<I, K, V>(mut self, it: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (k, v) in it {
            self = self.env(k, v);
        }
        self
    }
    /// Gives the guest this host process's environment (what a native
    /// program would see).
    pub fn inherit_env(self) -> Self {
        self.envs(std::env::vars_os())
    }
    /// Gives the guest the environment in `path` (one `KEY=VALUE` a line),
    /// the reference runtime's `--env-file`; replaces `env`/`inherit_env`.
    pub fn env_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.env_file = Some(path.into());
        self
    }
    /// Working directory of the guest (the host process's, set when the guest starts).
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }
    /// Redirects the guest's standard input.
    pub fn stdin(mut self, s: Stdio) -> Self {
        self.stdio[0] = s;
        self
    }
    /// Redirects the guest's standard output.
    pub fn stdout(mut self, s: Stdio) -> Self {
        self.stdio[1] = s;
        self
    }
    /// Redirects the guest's standard error.
    pub fn stderr(mut self, s: Stdio) -> Self {
        self.stdio[2] = s;
        self
    }
    /// Diagnostic verbosity: 0 silent, 1 notes, 2 unsupported calls, 3+ more.
    pub fn verbosity(mut self, v: u8) -> Self {
        self.verbosity = v;
        self
    }
    /// What the guest may do (default: everything).
    pub fn policy(mut self, p: crate::Policy) -> Self {
        self.policy = Some(p);
        self
    }
    /// The host path of the module being run (what `/proc/self/exe` means to the guest).
    pub fn program(mut self, p: impl Into<PathBuf>) -> Self {
        self.program = Some(p.into());
        self
    }

    /// Builds the context of the main thread.
    pub fn build(self) -> std::io::Result<WaliCtx> {
        let to_c = |s: &OsStr| {
            CString::new(s.as_bytes()).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("NUL byte in {s:?}"),
                )
            })
        };
        let args = self
            .args
            .iter()
            .map(|a| to_c(a))
            .collect::<Result<Vec<_>, _>>()?;
        let env = if let Some(f) = self.env_file {
            EnvSource::File(to_c(f.as_os_str())?)
        } else if self.env.is_empty() {
            EnvSource::None
        } else {
            crate::envfile::make_env_memfd(&self.env)?
        };
        let tid = rustix::thread::gettid().as_raw_nonzero().get();
        Ok(WaliCtx {
            proc: Arc::new(Process {
                args,
                env,
                verbosity: self.verbosity,
                init_called: AtomicBool::new(false),
                mmap: Mutex::new(MmapState::default()),
                cwd: self.cwd,
                stdio: Mutex::new(self.stdio),
                // Resolved once: the guest may change directory later.
                program: self.program.and_then(|p| std::fs::canonicalize(p).ok()),
                signals: Mutex::default(),
                forked: AtomicBool::new(false),
                policy: self.policy.map(Box::new),
                threads: std::sync::atomic::AtomicUsize::new(1),
                c_stack: self.c_stack,
                c_stack_mapped: AtomicUsize::new(0),
                killed: AtomicBool::new(false),
                end: Mutex::new(None),
                run_loop: std::sync::atomic::AtomicI32::new(0),
                spawner: RunnerSlot::default(),
            }),
            mem: Mem::unset(),
            tid,
            clear_child_tid: 0,
            robust_list: 0,
            altstack: [0, 2, 0],
            altstack_depth: 0,
            adapter: None,
            poll_flag: None,
        })
    }
}

impl Process {
    /// The path of the environment file the host designated, if any (the
    /// guest may always read it, whatever the confinement).
    pub(crate) fn env_path(&self) -> Option<&std::ffi::CStr> {
        match &self.env {
            EnvSource::None => None,
            EnvSource::File(p) => Some(p),
            EnvSource::Memfd(_, p) => Some(p),
        }
    }

    pub(crate) fn mark_init(&self) -> bool {
        !self.init_called.swap(true, Ordering::SeqCst)
    }

    pub(crate) fn program(&self) -> Option<&Path> {
        self.program.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signal mask of this process's thread named `name`, once it exists.
    fn blocked_on(name: &str) -> u64 {
        for _ in 0..500 {
            for e in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
                let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
                if comm.trim() != name {
                    continue;
                }
                let status = std::fs::read_to_string(e.path().join("status")).unwrap();
                let l = status.lines().find(|l| l.starts_with("SigBlk:")).unwrap();
                return u64::from_str_radix(l["SigBlk:".len()..].trim(), 16).unwrap();
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("no thread named {name}");
    }

    #[test]
    fn the_policy_timeout_thread_blocks_the_guests_signals() {
        let mut policy = crate::Policy::default();
        policy.timeout = Some(std::time::Duration::from_secs(3600));
        let ctx = WaliCtx::builder().policy(policy).build().unwrap();
        // armed from a thread that blocks nothing, as a guest's may
        std::thread::spawn(move || {
            // SAFETY: sets the calling thread's mask from an empty set.
            unsafe {
                let mut none: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut none);
                libc::pthread_sigmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            }
            ctx.process().arm_timeout(|| {});
        })
        .join()
        .unwrap();
        let m = blocked_on("wali-timeout");
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGUSR1, libc::SIGALRM] {
            assert!(
                m & (1 << (sig - 1)) != 0,
                "signal {sig} not blocked: {m:#x}"
            );
        }
    }
}
