//! The engine-neutral run layer: how a guest ended ([`Outcome`]), which
//! signal a trap stands for ([`Trap`]), what each import of a module is
//! bound to ([`plan`]), the signal-delivery loop ([`deliver_signals`]),
//! how a guest thread and a program end ([`thread_ended`],
//! [`program_ended`]) and the exec loop ([`ExecLoop`]). The adapters keep
//! only what touches their engine's types, so wasmtime and wasmer cannot
//! disagree on any of it.

use crate::entry::Adapted;
use crate::{Ctrl, ExecRequest, WaliCtx};
use wali_spec::ValType as V;

/// How a guest ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The guest exited (`exit_group`, `__proc_exit`, or `_start` returned: 0).
    Exited(i32),
    /// The guest was ended as by signal `signal` (a wasm trap, an abort,
    /// a kill by the policy).
    Killed {
        /// The signal a native process would have died of.
        signal: i32,
        /// One line for the user.
        message: String,
    },
    /// The guest exec'd a wasm program, which replaces it in this process
    /// (the adapters' `Runner::run` does so; a host driving instances
    /// itself runs the request's module with `request.builder(..)`).
    Exec(Box<ExecRequest>),
}

impl Outcome {
    /// The status a shell sees: the exit code's low 8 bits, or 128 + signal.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Exited(c) => crate::exit_status(*c),
            Outcome::Killed { signal, .. } => 128 + signal,
            Outcome::Exec(_) => 0,
        }
    }

    /// The outcome a control value that ended a guest's wasm call stands for.
    pub fn of_ctrl(c: &Ctrl) -> Outcome {
        match c {
            Ctrl::Exit(code) | Ctrl::ExitThread(code) => Outcome::Exited(*code),
            Ctrl::Exec(req) => Outcome::Exec(req.clone()),
            Ctrl::Killed { signal, message } => Outcome::Killed {
                signal: *signal,
                message: message.clone(),
            },
            Ctrl::Abort(message) => Outcome::Killed {
                signal: libc::SIGABRT,
                message: message.clone(),
            },
            Ctrl::Errno(e) => Outcome::Killed {
                signal: libc::SIGABRT,
                message: format!("unexpected errno {e}"),
            },
            Ctrl::Vanish => Outcome::Exited(0),
        }
    }

    /// A guest killed by trap `trap`: `what` is the engine's description,
    /// `func` the function that trapped, if known.
    pub fn of_trap(trap: Trap, what: &str, func: Option<String>) -> Outcome {
        if trap == Trap::UncaughtException {
            return Outcome::Killed {
                signal: libc::SIGSEGV,
                message: STALE_LONGJMP.into(),
            };
        }
        let what = if what.starts_with("wasm trap") {
            what.to_string()
        } else {
            format!("wasm trap: {what}")
        };
        Outcome::Killed {
            signal: trap.signal(),
            message: match func {
                Some(f) => format!("{what} in {f}"),
                None => what,
            },
        }
    }
}

/// What a guest's uncaught wasm exception means: only the setjmp
/// transform throws, so it is a longjmp whose setjmp frame is gone.
pub const STALE_LONGJMP: &str =
    "longjmp to a jump buffer whose setjmp caller has returned (a bug in the guest)";

/// A wasm trap, engine-neutral (each adapter maps its engine's trap codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trap {
    MemoryOutOfBounds,
    StackOverflow,
    TableOutOfBounds,
    IndirectCallToNull,
    HeapMisaligned,
    IntegerDivisionByZero,
    IntegerOverflow,
    BadConversionToInteger,
    Unreachable,
    BadSignature,
    OutOfFuel,
    /// An exception no handler caught.
    UncaughtException,
    Other,
}

impl Trap {
    /// The signal a native program would die of for this fault.
    pub fn signal(self) -> i32 {
        use Trap::*;
        match self {
            MemoryOutOfBounds | StackOverflow | TableOutOfBounds | IndirectCallToNull
            | UncaughtException => libc::SIGSEGV,
            HeapMisaligned => libc::SIGBUS,
            IntegerDivisionByZero | IntegerOverflow | BadConversionToInteger => libc::SIGFPE,
            Unreachable | BadSignature => libc::SIGILL,
            OutOfFuel => libc::SIGXCPU,
            Other => libc::SIGABRT,
        }
    }
}

/// The control value of a guest that used up its fuel (`--fuel`).
pub fn out_of_fuel() -> Ctrl {
    Ctrl::Killed {
        signal: libc::SIGXCPU,
        message: "fuel exhausted: the policy's CPU cap was reached".into(),
    }
}

/// What one `wali` import of a module is bound to.
#[derive(Clone, Debug)]
pub enum Import {
    /// Defined by the adapter's generated glue with the table's own type
    /// (a syscall, an auxiliary call, a transform's import).
    Table,
    /// A table syscall under another wasm type or an alias name: adapted.
    Adapted(Adapted),
    /// A `SYS_*` name the table does not have: `-ENOSYS` of the declared
    /// result type ([`crate::entry::unknown`]).
    Unknown,
    /// The names an older WALI crt used for `__init`/`__deinit`: 0.
    Zero,
    /// A wali-musl internal no correct program calls: traps if called.
    Internal,
}

/// Binds import `wali.<name>` declared with wasm `params -> results`
/// (`None` for a type WALI never uses). An auxiliary import of the wrong
/// type is an error that names both types.
pub fn plan(name: &str, params: &[Option<V>], results: &[Option<V>]) -> Result<Import, String> {
    use crate::transform::imports as t;
    let same = |p: &[V], r: Option<V>| {
        params.len() == p.len()
            && params.iter().zip(p).all(|(a, b)| *a == Some(*b))
            && results.len() == r.is_some() as usize
            && results.iter().zip(r).all(|(a, b)| *a == Some(b))
    };
    if name == t::SIGSAVE
        || name == t::LONGJMP_PREPARE
        || name == t::CLONE
        || name == t::STACK_OVERFLOW
    {
        return Ok(Import::Table);
    }
    if let Some(spec) = wali_spec::syscall_by_import(name) {
        let alias = wali_spec::ALIASES.iter().any(|(a, _)| *a == name);
        return Ok(if !alias && same(spec.params, Some(V::I64)) {
            Import::Table
        } else {
            Import::Adapted(Adapted::new(spec))
        });
    }
    if let Some(aux) = wali_spec::aux_by_name(name) {
        if same(aux.params, aux.result) {
            return Ok(Import::Table);
        }
        return Err(format!(
            "import wali.{name} has type {params:?} -> {results:?}, but WALI defines it as {:?} -> {:?}",
            aux.params, aux.result
        ));
    }
    if name.starts_with("SYS_") {
        return Ok(Import::Unknown);
    }
    if matches!(name, "__call_ctors" | "__call_dtors") {
        return Ok(Import::Zero);
    }
    Ok(Import::Internal)
}

/// The control value of a call to an [`Import::Internal`] import.
pub fn internal_called(name: &str) -> Ctrl {
    Ctrl::Abort(format!("wali.{name} is not provided by this runtime"))
}

/// What the signal-delivery loop needs from an engine: the context, and
/// calls of the guest's handler trampolines (`__wali_call_v_i(handler,
/// signo)` and `__wali_call_v_iii(handler, signo, info, ucontext)`).
pub trait HandlerCaller {
    /// The engine's error (a trap, a control value).
    type Error;
    /// The calling thread's context.
    fn ctx(&mut self) -> &mut WaliCtx;
    /// A `siginfo_t` and `ucontext_t` for an `SA_SIGINFO` handler (see
    /// `sys::signal::siginfo_frame`; an engine that grows memory through
    /// its store overrides this to make the store reachable).
    fn siginfo_frame(&mut self, info: &crate::sys::signal::SigInfo) -> (i32, i32) {
        crate::sys::signal::siginfo_frame(self.ctx(), info)
    }
    /// The guest's C stack pointer (the transform exports
    /// `__stack_pointer`), `None` when the module does not expose it.
    fn stack_pointer(&mut self) -> Option<u32> {
        None
    }
    /// Sets the guest's C stack pointer.
    fn set_stack_pointer(&mut self, sp: u32) {
        let _ = sp;
    }
    /// The lowest address the C stack may reach (the stack transform's
    /// `__wali_stack_limit`), `None` when the module has no check.
    fn stack_limit(&mut self) -> Option<u32> {
        None
    }
    /// Sets the C stack's limit.
    fn set_stack_limit(&mut self, limit: u32) {
        let _ = limit;
    }
    /// Calls `handler(signo)`; `Ok(false)` when the module has no trampoline.
    fn call_v_i(&mut self, handler: i32, signo: i32) -> Result<bool, Self::Error>;
    /// Calls `handler(signo, info, uc)`; `Ok(false)` without a trampoline.
    fn call_v_iii(
        &mut self,
        handler: i32,
        signo: i32,
        info: i32,
        uc: i32,
    ) -> Result<bool, Self::Error>;
    /// Whether the module has the `__wali_call_i_i` trampoline.
    fn has_call_i_i(&mut self) -> bool {
        false
    }
    /// Calls `func(arg) -> i32` (`__clone`'s child); `Ok(None)` without
    /// the trampoline.
    fn call_i_i(&mut self, func: i32, arg: i32) -> Result<Option<i32>, Self::Error> {
        let _ = (func, arg);
        Ok(None)
    }
}

/// The main thread's C stack, before `_start`: `sp` is the module's own
/// initial stack pointer (the linker's stack, 64 KiB by default, below it
/// when the module was linked stack-first). When that is smaller than
/// [`crate::Process::c_stack_size`], a stack of that size is mapped in the
/// guest's mmap region (pages cost nothing until used) and `(top, base)`
/// returned: the stack pointer to start with and the limit the stack
/// transform checks every frame against. `None`: the linker's stack stays.
pub fn map_c_stack(cx: &mut WaliCtx, sp: u32) -> Option<(u32, u32)> {
    let size = cx.process().c_stack_size();
    if sp as usize >= size {
        return None;
    }
    let base = crate::sys::mmap(
        cx,
        0,
        size as i32,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
        -1,
        0,
    )
    .ok()? as usize;
    cx.process()
        .c_stack_mapped
        .store(size, std::sync::atomic::Ordering::Relaxed);
    cx.log(
        2,
        format_args!(
            "C stack: {} KiB at {base:#x} (the module's own ended at {sp:#x})",
            size >> 10
        ),
    );
    Some(((base + size) as u32, base as u32))
}

/// `__clone(func, stack, flags, arg, ptid, tls, ctid)` of the WALI C
/// library (the varargs at `va`), which its `posix_spawn` (so `system`,
/// `popen`) calls with `CLONE_VM|CLONE_VFORK|SIGCHLD`: a fork, through the
/// syscall path as `fork` (the policy and trace see one). The parent gets
/// the child's pid (or `-errno`); the child runs `func(arg)` with its C
/// stack pointer at `stack` (unless 0) and exits with its result, or
/// leaves by exec (an exec of a `.wasm` target runs in place) or `_exit`.
///
/// The child has a copy of the memory, not the parent's (wasm cannot share
/// a linear memory between processes): what vfork allows a child to do
/// (change its own descriptors and signal state, exec, `_exit`, report
/// through a pipe as musl's `posix_spawn` does) works; a child that writes
/// to memory for the parent to read does not see it there.
/// `CLONE_PARENT_SETTID` and `CLONE_CHILD_SETTID` store the child's pid;
/// new threads (`CLONE_THREAD`, `CLONE_SETTLS`, which `pthread_create`
/// does through `__wasm_thread_spawn` instead) and new namespaces are
/// `-ENOSYS`, as is a module without the trampoline.
pub fn clone_call<H: HandlerCaller>(
    h: &mut H,
    func: i32,
    stack: i32,
    flags: i32,
    arg: i32,
    va: i32,
) -> Result<Result<i32, Ctrl>, H::Error> {
    const CLONE_SIGHAND: i32 = 0x800;
    const CLONE_THREAD: i32 = 0x1_0000;
    const CLONE_SETTLS: i32 = 0x8_0000;
    const CLONE_PARENT_SETTID: i32 = 0x10_0000;
    const CLONE_CHILD_SETTID: i32 = 0x100_0000;
    const NAMESPACES: i32 = 0x0002_0000 // NEWNS
        | 0x0200_0000 // NEWCGROUP
        | 0x0400_0000 // NEWUTS
        | 0x0800_0000 // NEWIPC
        | 0x1000_0000 // NEWUSER
        | 0x2000_0000 // NEWPID
        | 0x4000_0000; // NEWNET
    if flags & (CLONE_SIGHAND | CLONE_THREAD | CLONE_SETTLS | NAMESPACES) != 0 || !h.has_call_i_i()
    {
        return Ok(Ok(-libc::ENOSYS));
    }
    let slot = |h: &mut H, i: u32| -> Option<u32> {
        let a = (va as u32).checked_add(4 * i)?;
        h.ctx().mem.read::<u32>(a).ok().filter(|p| *p != 0)
    };
    let ptid = (flags & CLONE_PARENT_SETTID != 0)
        .then(|| slot(h, 0))
        .flatten();
    let ctid = (flags & CLONE_CHILD_SETTID != 0)
        .then(|| slot(h, 2))
        .flatten();
    let fork = wali_spec::syscall_by_name("fork")
        .expect("fork is in the table")
        .nr;
    let pid = match crate::entry::syscall(h.ctx(), fork, &[], crate::sys::process::fork) {
        Ok(pid) => pid,
        Err(c) => return Ok(Err(c)),
    };
    if pid != 0 {
        // the parent: the pid, or -errno
        if let Some(p) = ptid.filter(|_| pid > 0) {
            let _ = h.ctx().mem.write(p, pid as i32);
        }
        return Ok(Ok(pid as i32));
    }
    let me = h.ctx().tid;
    for p in [ptid, ctid].into_iter().flatten() {
        let _ = h.ctx().mem.write(p, me);
    }
    if stack != 0 {
        h.set_stack_pointer(stack as u32);
    }
    Ok(match h.call_i_i(func, arg)? {
        Some(status) => Err(Ctrl::Exit(status)),
        None => Err(Ctrl::Abort(
            "__clone: the module lost its trampoline".into(),
        )),
    })
}

/// Runs the guest handlers of every pending signal, each with its mask,
/// `SA_RESETHAND` and `SA_SIGINFO` frame, and, for `SA_ONSTACK`, on the
/// thread's alternate signal stack (the guest's C stack pointer moved to
/// its top for the handler's duration, unless already on it); the mask is
/// restored after each (also when the handler jumps out with an error).
pub fn deliver_signals<H: HandlerCaller>(h: &mut H) -> Result<(), H::Error> {
    use crate::sys::signal as sig;
    const SA_SIGINFO: u64 = 4;
    const SA_ONSTACK: u64 = 0x0800_0000;
    while let Some((info, act)) = sig::take_pending(h.ctx()) {
        let signo = info.signo;
        let old = sig::enter_handler(h.ctx(), signo, &act);
        let alt = if act.flags & SA_ONSTACK != 0 {
            h.ctx().altstack_top()
        } else {
            None
        };
        // the handler's frames are checked against the altstack
        let saved = alt.and_then(|top| {
            let sp = h.stack_pointer()?;
            let limit = h.stack_limit();
            h.set_stack_pointer(top);
            if limit.is_some() {
                let base = h.ctx().altstack_base();
                h.set_stack_limit(base);
            }
            Some((sp, limit))
        });
        if saved.is_some() {
            h.ctx().altstack_depth += 1;
        }
        let r = if act.flags & SA_SIGINFO != 0 {
            let (frame, uc) = h.siginfo_frame(&info);
            let r = h.call_v_iii(act.handler as i32, signo, frame, uc);
            sig::release_siginfo(h.ctx(), frame);
            r
        } else {
            h.call_v_i(act.handler as i32, signo)
        };
        if let Some((sp, limit)) = saved {
            h.ctx().altstack_depth -= 1;
            // A handler that jumped out (longjmp) restores its own stack
            // pointer; the limit is the main stack's again either way.
            if r.is_ok() {
                h.set_stack_pointer(sp);
            }
            if let Some(l) = limit {
                h.set_stack_limit(l);
            }
        }
        sig::leave_handler(old);
        r?;
    }
    Ok(())
}

/// The end of a program's `_start` (`None`: it returned): in a process the
/// guest forked, the process ends here, as the guest did (it must not
/// return into host code that did not fork); otherwise the outcome.
pub fn program_ended(cx: &mut WaliCtx, outcome: Outcome) -> Outcome {
    // the main thread's robust mutexes, as its end (exit, exec) releases
    // them on Linux
    crate::sys::futex::release_robust_list(cx);
    if cx.process().is_forked_child() && !matches!(outcome, Outcome::Exec(_)) {
        die(&outcome);
    }
    outcome
}

/// Ends this process as `o` says: `_exit` with its status, or death by its
/// signal (so a parent sees `WIFSIGNALED`). No host atexit handler or
/// destructor runs.
pub fn die(o: &Outcome) -> ! {
    match o {
        Outcome::Killed { signal, message } => {
            crate::end_process(Some((*signal, message)), o.exit_code())
        }
        _ => crate::end_process(None, o.exit_code()),
    }
}

/// How a guest thread's wasm call ended, for [`thread_ended`].
#[derive(Debug)]
pub enum ThreadEnd {
    /// Its entry returned, or it called `exit`.
    Returned,
    /// Another thread's exec replaced the process ([`Ctrl::Vanish`]).
    Vanished,
    /// It ended with this outcome (a trap, a control value).
    Outcome(Outcome),
    /// It ended by an error of the host (instantiation ...).
    HostError(String),
}

/// A guest thread (not the main one) ended; the host thread returns after
/// this, unless the process ends here. As on Linux: `exit` ends the thread
/// (its `set_tid_address` word is cleared and woken); `exit_group` and a
/// fatal trap end every thread (the process `_exit`s, or dies of the
/// signal, without host atexit handlers); an exec replaces the whole
/// process: the run loop's thread runs the program and the other threads
/// end ([`crate::Process::exec_from_thread`]); where no run loop exists
/// (the thread forked, and a child has only it), `exec_here` runs it.
pub fn thread_ended(
    cx: &mut WaliCtx,
    end: ThreadEnd,
    exec_here: impl FnOnce(Box<ExecRequest>) -> Result<Outcome, String>,
) {
    let outcome = match end {
        ThreadEnd::Returned => {
            cx.thread_exit_clear_tid();
            return;
        }
        ThreadEnd::Vanished => return,
        ThreadEnd::HostError(e) => {
            eprintln!("wali: thread {}: {e}", cx.tid());
            crate::end_process(None, 1)
        }
        ThreadEnd::Outcome(o) => o,
    };
    match outcome {
        Outcome::Exec(req) if cx.process().has_run_loop() => {
            cx.process().exec_from_thread(req);
        }
        Outcome::Exec(req) => match exec_here(req) {
            Ok(o) => die(&o),
            Err(e) => {
                eprintln!("wali: exec: {e}");
                crate::end_process(None, 128 + libc::SIGKILL)
            }
        },
        o => die(&o),
    }
}

impl ThreadEnd {
    /// A thread's wasm call that ended by control value `c`, when `c` ends
    /// the thread alone (`exit`, another thread's exec); `None` for a
    /// control value (or an engine error) that is an [`Outcome`].
    pub fn of_ctrl(c: Option<&Ctrl>) -> Option<ThreadEnd> {
        match c {
            Some(Ctrl::ExitThread(_)) => Some(ThreadEnd::Returned),
            Some(Ctrl::Vanish) => Some(ThreadEnd::Vanished),
            _ => None,
        }
    }
}

/// Runs a program and the wasm programs it execs, in this process: the
/// kernel's execve semantics for a wasm exec (close-on-exec descriptors
/// the guest opened are closed; the host's own, and reserved ones, stay).
pub struct ExecLoop {
    host_fds: Option<Vec<i32>>,
}

impl ExecLoop {
    /// Before the first program runs; `close_on_exec` false keeps every
    /// descriptor across a wasm exec.
    pub fn new(close_on_exec: bool) -> ExecLoop {
        ExecLoop {
            host_fds: close_on_exec.then(crate::sys::open_fds),
        }
    }

    /// Follows the execs of `first` (the first program's outcome) with
    /// `run`, which loads and runs the request's program; a module that
    /// cannot be loaded ends the process as a failed exec after the point
    /// of no return would (SIGKILL). Returns the last program's outcome.
    pub fn run<E>(
        &self,
        first: Outcome,
        mut run: impl FnMut(&ExecRequest) -> Result<Result<Outcome, String>, E>,
    ) -> Result<Outcome, E> {
        let mut outcome = first;
        while let Outcome::Exec(req) = outcome {
            if let Some(keep) = &self.host_fds {
                crate::sys::close_cloexec_fds(keep);
            }
            outcome = match run(&req)? {
                Ok(o) => o,
                Err(e) => Outcome::Killed {
                    signal: libc::SIGKILL,
                    message: format!("exec {}: {e}", req.path.display()),
                },
            };
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_planned_once_for_both_engines() {
        let i32_ = Some(V::I32);
        let i64_ = Some(V::I64);
        assert!(matches!(
            plan("SYS_getpid", &[], &[i64_]),
            Ok(Import::Table)
        ));
        assert!(matches!(
            plan("SYS_getpid", &[], &[i32_]),
            Ok(Import::Adapted(a)) if a.spec.name == "getpid"
        ));
        assert!(matches!(
            plan("SYS_getdents", &[i32_, i32_, i32_], &[i64_]),
            Ok(Import::Adapted(a)) if a.spec.name == "getdents64"
        ));
        assert!(matches!(
            plan("SYS_frob", &[i32_], &[i64_]),
            Ok(Import::Unknown)
        ));
        assert!(matches!(plan("__call_ctors", &[], &[]), Ok(Import::Zero)));
        assert!(matches!(
            plan("__clone", &[i32_], &[i32_]),
            Ok(Import::Internal)
        ));
        assert!(matches!(plan("__init", &[], &[i32_]), Ok(Import::Table)));
        assert!(plan("__init", &[i64_], &[i32_]).is_err());
    }

    #[test]
    fn traps_map_to_the_signals_linux_gives() {
        assert_eq!(Trap::MemoryOutOfBounds.signal(), libc::SIGSEGV);
        assert_eq!(Trap::IntegerDivisionByZero.signal(), libc::SIGFPE);
        assert_eq!(Trap::Unreachable.signal(), libc::SIGILL);
        assert_eq!(Trap::HeapMisaligned.signal(), libc::SIGBUS);
        assert_eq!(Trap::OutOfFuel.signal(), libc::SIGXCPU);
        let o = Outcome::of_trap(Trap::Unreachable, "unreachable", Some("f".into()));
        assert_eq!(
            o,
            Outcome::Killed {
                signal: libc::SIGILL,
                message: "wasm trap: unreachable in f".into()
            }
        );
        assert_eq!(o.exit_code(), 132);
        assert_eq!(Outcome::of_ctrl(&out_of_fuel()).exit_code(), 128 + 24);
    }
}
