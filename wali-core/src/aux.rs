//! The auxiliary (non-syscall) WALI imports: program lifecycle, argv and
//! environment, and the calls that need the engine's help.

use crate::ctx::EnvSource;
use crate::{Ctrl, WaliCtx};

/// `__init`: called once by the guest's crt before `main`. Returns 0 the
/// first time and 1 on any later call (a second initialisation is refused).
pub fn __init(cx: &mut WaliCtx) -> Result<i32, Ctrl> {
    Ok(if cx.proc.mark_init() { 0 } else { 1 })
}

/// `__deinit`: called by the crt after `main` returned 0.
pub fn __deinit(_cx: &mut WaliCtx) -> Result<i32, Ctrl> {
    Ok(0)
}

/// `__proc_exit(status)`: the end of the program.
pub fn __proc_exit(cx: &mut WaliCtx, status: i32) -> Result<(), Ctrl> {
    note_crt_failure(cx, status);
    Err(Ctrl::Exit(status))
}

/// Explains the WALI crt's startup failure codes (above 255) at `-v=1`.
pub(crate) fn note_crt_failure(cx: &WaliCtx, status: i32) {
    if status > 255 {
        let why = match status {
            257 => "startup failed",
            258 => "cleanup failed",
            259 => "could not read the environment file",
            260 => "bad environment file name",
            261 => "out of memory while reading the environment",
            _ => "unknown startup error",
        };
        cx.log(1, format_args!("guest crt: {why} (code {status})"));
    }
}

/// `__cl_get_argc()`: the number of arguments (`argv[0]` included).
pub fn __cl_get_argc(cx: &mut WaliCtx) -> Result<i32, Ctrl> {
    Ok(cx.proc.args.len() as i32)
}

/// `__cl_get_argv_len(i)`: `strlen(argv[i])`, or -1 for a bad index.
pub fn __cl_get_argv_len(cx: &mut WaliCtx, arg_index: i32) -> Result<i32, Ctrl> {
    Ok(match cx.proc.args.get(arg_index as u32 as usize) {
        Some(a) => a.as_bytes().len() as i32,
        None => -1,
    })
}

/// `__cl_copy_argv(buf, i)`: copies `argv[i]` with its NUL to `buf`.
/// Returns 0, or -1 for a bad index or a buffer outside memory.
pub fn __cl_copy_argv(cx: &mut WaliCtx, argbuf: i32, arg_index: i32) -> Result<i32, Ctrl> {
    let Some(a) = cx.proc.args.get(arg_index as u32 as usize) else {
        return Ok(-1);
    };
    Ok(
        match cx.mem.write_bytes(argbuf as u32, a.as_bytes_with_nul()) {
            Ok(()) => 0,
            Err(_) => -1,
        },
    )
}

/// `__get_init_envfile(buf, size)`: writes the path of the file holding the
/// initial environment. Returns 1 when there is one, 0 when the guest starts
/// with an empty environment (also when the path does not fit `size`, with a
/// note at `-v=1`, or the buffer is outside memory).
pub fn __get_init_envfile(cx: &mut WaliCtx, pathbuf: i32, bufsize: i32) -> Result<i32, Ctrl> {
    let path = match &cx.proc.env {
        EnvSource::None => return Ok(0),
        EnvSource::File(p) => p,
        EnvSource::Memfd(_, p) => p,
    };
    let bytes = path.as_bytes_with_nul();
    if bytes.len() > bufsize as u32 as usize {
        cx.log(
            1,
            format_args!("environment file path does not fit the guest's {bufsize}-byte buffer"),
        );
        return Ok(0);
    }
    Ok(match cx.mem.write_bytes(pathbuf as u32, bytes) {
        Ok(()) => 1,
        Err(_) => 0,
    })
}

/// `__wasm_thread_spawn(fn, args)`: a new host thread runs a guest thread
/// whose entry is `start_fn(tid, args)`, through the [`ThreadRunner`] the
/// adapter attached to the process ([`crate::Process::set_thread_runner`]);
/// returns its thread id. `-EAGAIN` (what the guest's `pthread_create`
/// reports) when no runner is attached, the policy's thread limit is
/// reached, or no host thread can be made.
pub fn __wasm_thread_spawn(cx: &mut WaliCtx, start_fn: i32, args: i32) -> Result<i32, Ctrl> {
    let Some(runner) = cx.proc.thread_runner().filter(|r| r.ready()) else {
        cx.unsupported("__wasm_thread_spawn");
        return Ok(-libc::EAGAIN);
    };
    if !cx.proc.thread_started() {
        return Ok(-libc::EAGAIN);
    }
    let mut child = cx.new_thread(0);
    let (tx, rx) = std::sync::mpsc::sync_channel::<i32>(1);
    let spawned = std::thread::Builder::new()
        .name("wali-thread".into())
        .stack_size(runner.host_stack_size())
        .spawn(move || {
            struct Ended(std::sync::Arc<crate::Process>);
            impl Drop for Ended {
                fn drop(&mut self) {
                    self.0.thread_ended();
                }
            }
            let _ended = Ended(child.process().clone());
            let tid = rustix::thread::gettid().as_raw_nonzero().get();
            child.set_tid(tid);
            let _ = tx.send(tid);
            runner.run_thread(child, start_fn, args);
        });
    match spawned {
        Ok(_) => Ok(rx.recv().unwrap_or(-libc::EAGAIN)),
        Err(_) => {
            cx.proc.thread_ended();
            Ok(-libc::EAGAIN)
        }
    }
}

/// What an engine adapter provides for guest threads: running one on the
/// calling host thread, which [`__wasm_thread_spawn`] made.
pub trait ThreadRunner: Send + Sync + 'static {
    /// Runs guest thread `ctx` (its tid set) to its end: a new instance of
    /// the module over the shared memory, entering `start_fn(tid, args)`,
    /// then [`crate::run::thread_ended`].
    fn run_thread(&self, ctx: WaliCtx, start_fn: i32, args: i32);
    /// Whether threads can start now (the module is ready to instantiate).
    fn ready(&self) -> bool {
        true
    }
    /// Bytes of native stack for the host thread.
    fn host_stack_size(&self) -> usize {
        64 << 20
    }
}

/// `setjmp(env)`: returns 0 (a later `longjmp` to it cannot resume without
/// the setjmp transform).
pub fn setjmp(_cx: &mut WaliCtx, _env: i32) -> Result<i32, Ctrl> {
    Ok(0)
}

/// `sigsetjmp(env, savesigs)`: as [`setjmp`].
pub fn sigsetjmp(_cx: &mut WaliCtx, _env: i32, _savesigs: i32) -> Result<i32, Ctrl> {
    Ok(0)
}

/// `longjmp(env, val)`: without the setjmp transform a wasm frame cannot be
/// resumed; the guest ends with one clear message.
pub fn longjmp(_cx: &mut WaliCtx, _env: i32, val: i32) -> Result<(), Ctrl> {
    Err(Ctrl::Abort(format!(
        "longjmp(env, {val}) called: this module needs the setjmp/longjmp transform, which is not applied"
    )))
}

/// Called by a module the stack transform rewrote when a function's frame
/// would go below the C stack's limit ([`crate::run::map_c_stack`]): the
/// process dies of SIGSEGV, as a native program whose stack overflows.
pub fn stack_overflow(cx: &mut WaliCtx) -> Result<(), Ctrl> {
    Err(Ctrl::Killed {
        signal: libc::SIGSEGV,
        message: format!(
            "stack overflow: the guest's C stack ({} KiB) is exhausted",
            cx.process()
                .c_stack_mapped
                .load(std::sync::atomic::Ordering::Relaxed)
                >> 10
        ),
    })
}

/// Called by a module rewritten by the setjmp transform at
/// `sigsetjmp(env, savesigs)`: saves the calling thread's signal mask in
/// the jump buffer when `savesigs` is not 0. Returns 0.
pub fn sjlj_sigsave(cx: &mut WaliCtx, env: i32, savesigs: i32) -> Result<i32, Ctrl> {
    use crate::transform::jmpbuf;
    let env = env as u32;
    if savesigs == 0 {
        cx.mem
            .write::<u32>(env.wrapping_add(jmpbuf::MASK_SAVED), 0)
            .map_err(|_| segv("sigsetjmp"))?;
        return Ok(0);
    }
    let mut old: u64 = 0;
    // SAFETY: reads the mask into a host u64.
    unsafe {
        crate::raw::syscall4(
            libc::SYS_rt_sigprocmask,
            0,
            0,
            crate::raw::p(&mut old as *mut u64),
            8,
        )
    }
    .map_err(|_| segv("sigsetjmp"))?;
    cx.mem
        .write::<u64>(env.wrapping_add(jmpbuf::MASK), old)
        .map_err(|_| segv("sigsetjmp"))?;
    cx.mem
        .write::<u32>(env.wrapping_add(jmpbuf::MASK_SAVED), 1)
        .map_err(|_| segv("sigsetjmp"))?;
    Ok(0)
}

/// Called by a module rewritten by the setjmp transform at `longjmp(env,
/// val)`, before the jump: restores the signal mask `sigsetjmp` saved.
pub fn sjlj_longjmp(cx: &mut WaliCtx, env: i32, _val: i32) -> Result<(), Ctrl> {
    use crate::transform::jmpbuf;
    let env = env as u32;
    let saved = cx
        .mem
        .read::<u32>(env.wrapping_add(jmpbuf::MASK_SAVED))
        .map_err(|_| segv("longjmp"))?;
    if saved == 1 {
        let mask = cx
            .mem
            .read::<u64>(env.wrapping_add(jmpbuf::MASK))
            .map_err(|_| segv("longjmp"))?;
        // SAFETY: the mask is a host u64.
        let _ = unsafe {
            crate::raw::syscall4(
                libc::SYS_rt_sigprocmask,
                2,
                crate::raw::p(&mask as *const u64),
                0,
                8,
            )
        };
    }
    Ok(())
}

fn segv(what: &str) -> Ctrl {
    Ctrl::Abort(format!("{what}: jump buffer outside the guest's memory"))
}
