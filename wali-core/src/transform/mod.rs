//! Load-time module transforms, engine-agnostic (bytes in, bytes out).
//!
//! WALI's public binaries leave three C behaviours to the runtime. Each
//! transform here fixes one, and a module that does not need it does not
//! pay for it (the module is returned unchanged when nothing applies):
//!
//! * **setjmp/longjmp** (`sjlj`): `longjmp` becomes a wasm exception
//!   (`throw`), and each function that calls `setjmp`/`sigsetjmp` catches
//!   it and re-enters itself at the matching call, which then returns the
//!   longjmp value. Only the functions that call setjmp change; the frames
//!   in between are discarded by wasm's own unwinding, and the guest's
//!   `__stack_pointer` is restored from the jump buffer.
//! * **function-pointer casts** (`casts`): a `call_indirect` whose type
//!   differs from the type of some table function it may reach goes
//!   through a dispatcher that calls that function by its own type, with
//!   extra arguments dropped, missing ones zero and a missing result 0,
//!   as native code behaves.
//! * **exit when main returns**: the crt's `_start` ends with
//!   `__proc_exit(code)`; it is redirected to the guest's own `exit`, so
//!   atexit handlers run and stdio is flushed.
//! * **legacy exception handling** (`legacy_eh`): C++ built with LLVM's
//!   default `-fwasm-exceptions` uses `try`/`catch`/`rethrow`/`delegate`,
//!   which the engines no longer take; those functions are rewritten into
//!   the standard encoding (`try_table`, `exnref`, `throw_ref`) first, so
//!   the other transforms see standard code.
//!
//! Two more are about speed, not behaviour:
//!
//! * **frame promotion** (`frames`): code built without optimization keeps
//!   every C local in a stack frame in linear memory; the slots of a frame
//!   whose address never leaves its function become wasm locals.
//! * **static data** (`data`): the passive data segments a module without
//!   threads copies in at every start become active segments, which an
//!   engine can map copy-on-write from the compiled module.
//! * **inlining** (`inline`): a short function that calls nothing and has
//!   no loop is copied into each direct call of it; it runs last, on what
//!   the others produced.

mod casts;
mod clone;
mod data;
mod frames;
mod inline;
mod legacy_eh;
pub mod memimport;
mod module;
pub mod poll;
mod sjlj;
mod stack;
mod trampolines;

use module::ModuleInfo;

/// Bump when a transform's output changes, so cached compilations of
/// transformed modules are not reused across versions.
pub const VERSION: u32 = 21;

/// Which transforms to apply (all by default).
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub setjmp: bool,
    pub fn_casts: bool,
    pub exit_on_return: bool,
    /// Legacy exception handling (`try`/`catch`/`delegate`) rewritten into
    /// the standard encoding (`try_table`/`exnref`).
    pub legacy_exceptions: bool,
    /// Signal polling (`poll`): how a signal reaches a guest that computes
    /// without syscalls, on both engines (wasmtime's epoch interruption,
    /// which `wasmtime::Config::epoch_interruption` turns on, still works
    /// beside it or without it).
    pub signal_poll: bool,
    /// Fuel metering by the same checks (`poll::FUEL_EXPORT`), for engines
    /// without metering of their own: off by default.
    pub fuel: bool,
    /// The C library's `__clone` done by the host (posix_spawn, system,
    /// popen).
    pub spawn: bool,
    /// The C stack pointer exported and every frame checked against the
    /// C stack the host maps.
    pub stack: bool,
    /// The C stack frame slots whose address never leaves their function
    /// kept in wasm locals: code built without optimization
    /// keeps every C local in linear memory.
    pub frames: bool,
    /// The passive data segments a module without threads copies into its
    /// memory at every start made active, so an engine can map them
    /// copy-on-write from the compiled module instead.
    pub static_data: bool,
    /// Short leaf functions (no call, no loop) copied into their direct
    /// call sites.
    pub inline: bool,
}

impl Options {
    /// No transform: the module runs as it is.
    pub const NONE: Options = Options {
        setjmp: false,
        fn_casts: false,
        exit_on_return: false,
        legacy_exceptions: false,
        signal_poll: false,
        fuel: false,
        spawn: false,
        stack: false,
        frames: false,
        static_data: false,
        inline: false,
    };
}

impl Default for Options {
    fn default() -> Self {
        Options {
            setjmp: true,
            fn_casts: true,
            exit_on_return: true,
            legacy_exceptions: true,
            signal_poll: true,
            fuel: false,
            spawn: true,
            stack: true,
            frames: true,
            static_data: true,
            inline: true,
        }
    }
}

/// The result of [`transform`].
#[derive(Debug, Default)]
pub struct Outcome {
    /// The rewritten module, or `None` when no transform applied.
    pub wasm: Option<Vec<u8>>,
    /// What was applied, for diagnostics (`-v=1`).
    pub applied: Vec<String>,
    /// What could not be applied, and why.
    pub notes: Vec<String>,
    /// Whether the module needs wasm exception handling enabled.
    pub needs_exceptions: bool,
}

/// A module the transforms could not read.
#[derive(Debug, thiserror::Error)]
#[error("cannot transform the module: {0}")]
pub struct Error(pub String);

impl From<wasmparser::BinaryReaderError> for Error {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        Error(e.to_string())
    }
}

/// Import names the transformed module uses for what the host still does:
/// saving the signal mask at `sigsetjmp`, restoring it at `longjmp`.
pub mod imports {
    /// `(env, savesigs) -> i32`: records the signal mask in the jump buffer when `savesigs`.
    pub const SIGSAVE: &str = "__wali_sjlj_sigsave";
    /// `(env, val)`: restores the signal mask saved in the jump buffer, if any.
    pub const LONGJMP_PREPARE: &str = "__wali_sjlj_longjmp";
    /// `(fn, stack, flags, arg, varargs) -> i32`: `__clone`, done by the
    /// host (a fork whose child runs `fn(arg)` on `stack`).
    pub const CLONE: &str = "__wali_clone";
    /// `() -> ()`: a frame would go below the C stack's limit; does not
    /// return (the process dies of SIGSEGV).
    pub const STACK_OVERFLOW: &str = "__wali_stack_overflow";
}

/// Functions the transforms export so the host can call guest functions
/// by table index (signal handlers, thread entry points): the table itself
/// is not exported by WALI modules.
pub mod exports {
    /// `(index, a)`: calls table entry `index` as `(i32) -> ()`.
    pub const CALL_V_I: &str = "__wali_call_v_i";
    /// `(index, a, b)`: calls table entry `index` as `(i32, i32) -> ()`.
    pub const CALL_V_II: &str = "__wali_call_v_ii";
    /// `(index, a, b, c)`: calls table entry `index` as `(i32, i32, i32) -> ()`.
    pub const CALL_V_III: &str = "__wali_call_v_iii";
    /// `(index, a) -> i32`: calls table entry `index` as `(i32) -> i32`
    /// (the child function of `__clone`).
    pub const CALL_I_I: &str = "__wali_call_i_i";
    /// The guest's C stack pointer (`__stack_pointer`), an `i32` global,
    /// exported beside the trampolines (alternate signal stacks).
    pub const STACK_POINTER: &str = "__wali_stack_pointer";
    /// The lowest address the C stack pointer may take (an `i32` global,
    /// 0: unchecked), which the host sets when it maps the C stack.
    pub const STACK_LIMIT: &str = "__wali_stack_limit";
}

/// Offsets inside a jump buffer (the guest's 208-byte `__jmp_buf`) used by
/// the setjmp transform and the host.
pub mod jmpbuf {
    /// Frame token of the function that called setjmp (u32).
    pub const TOKEN: u32 = 0;
    /// Which setjmp call of that function (u32).
    pub const SITE: u32 = 4;
    /// The guest's `__stack_pointer` at setjmp (u32).
    pub const SP: u32 = 8;
    /// 1 when a signal mask is saved (u32).
    pub const MASK_SAVED: u32 = 12;
    /// The saved signal mask (u64).
    pub const MASK: u32 = 16;
}

/// Applies the transforms `opts` selects to `wasm`.
pub fn transform(wasm: &[u8], opts: &Options) -> Result<Outcome, Error> {
    let mut translated: Option<Vec<u8>> = None;
    let info = ModuleInfo::parse(wasm)?;
    let mut plan = module::Plan::default();
    let mut out = Outcome::default();
    if let Some((name, _, _)) = info
        .exports
        .iter()
        .find(|(n, _, _)| n.starts_with("__wali_"))
    {
        // the names the transforms add are taken: transformed already
        out.notes.push(format!(
            "no transform applied: the module already exports `{name}` (transformed before?)"
        ));
        return Ok(out);
    }
    if info.has_64bit_index {
        // WALI guests are wasm32; the transforms emit 32-bit addresses.
        out.notes
            .push("no transform applied: the module has a 64-bit memory or table".into());
        return Ok(out);
    }
    // Legacy exceptions first, on their own: the others then read (and
    // rebuild) a module in the standard encoding.
    if opts.legacy_exceptions {
        match legacy_eh::translate(wasm, &info) {
            Ok(Some((bytes, n))) => {
                out.applied.push(format!(
                    "legacy exceptions: {n} functions use try_table/exnref instead of try/catch/delegate"
                ));
                out.needs_exceptions = true;
                translated = Some(bytes);
            }
            Ok(None) => {}
            Err(e) => out
                .notes
                .push(format!("legacy exceptions not translated: {}", e.0)),
        }
    }
    let (wasm, info) = match &translated {
        Some(bytes) => (&bytes[..], ModuleInfo::parse(bytes)?),
        None => (wasm, info),
    };
    // Frame promotion before the others, which then see (and may re-emit)
    // bodies with the promoted slots as locals.
    let mut promoted = None;
    if opts.frames {
        if let Some((bytes, funcs, slots)) = frames::promote(wasm, &info)? {
            out.applied.push(format!(
                "frames: {slots} C stack slots of {funcs} functions kept in locals"
            ));
            promoted = Some(bytes);
        }
    }
    let (wasm, info) = match &promoted {
        Some(bytes) => (&bytes[..], ModuleInfo::parse(bytes)?),
        None => (wasm, info),
    };
    // New imports next, in one pass: they renumber the defined functions.
    let new_imports: Vec<_> = [
        opts.spawn.then(|| clone::import(&info, &mut out)).flatten(),
        opts.stack.then(|| stack::import(&info, &mut out)).flatten(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let with_imports = if new_imports.is_empty() {
        None
    } else {
        Some(module::add_func_imports(wasm, &info, &new_imports)?)
    };
    let (wasm, info) = match &with_imports {
        Some(bytes) => (&bytes[..], ModuleInfo::parse(bytes)?),
        None => (wasm, info),
    };
    if opts.exit_on_return {
        match info.exit_on_return() {
            Ok(Some((start, proc_exit, flush))) => {
                let to = flush_then_exit(&info, &mut plan, proc_exit, flush);
                plan.redirect_calls.push((start, proc_exit, to));
                out.applied.push(match flush {
                    module::Flush::Exit(_) => {
                        "exit-on-return: _start calls exit() instead of __proc_exit()".into()
                    }
                    module::Flush::StdioExit(_) => "exit-on-return: the module has no exit(); _start flushes stdio (__stdio_exit) before __proc_exit()".into(),
                    module::Flush::Fflush(_) => "exit-on-return: the module has no exit(); _start calls fflush(NULL) before __proc_exit()".into(),
                });
            }
            Ok(None) => {}
            Err(why) => out.notes.push(format!("exit-on-return not applied: {why}")),
        }
    }
    // Polling first (its fuel global precedes the others' globals, and the
    // setjmp rewrite emits its checks); then casts: the setjmp rewrite
    // re-emits whole bodies through the plan's call mapping, which must
    // then be complete.
    poll::plan(&info, &mut plan, &mut out, opts.signal_poll, opts.fuel);
    // The stack check before the setjmp rewrite, which emits it in the
    // bodies it replaces.
    if opts.stack {
        stack::plan(&info, &mut plan, &mut out);
    }
    if opts.fn_casts {
        casts::plan(&info, &mut plan, &mut out)?;
    }
    if opts.setjmp {
        sjlj::plan(&info, wasm, &mut plan, &mut out)?;
    }
    if opts.spawn {
        clone::plan(&info, &mut plan, &mut out);
    }
    trampolines::plan(&info, &mut plan, &mut out);
    memimport::plan(&info, &mut plan, &mut out);
    // After memimport: only a memory that stays the module's own is taken.
    if opts.static_data {
        data::plan(&info, &mut plan, &mut out);
    }
    out.wasm = if plan.is_empty() {
        with_imports
            .clone()
            .or_else(|| promoted.clone())
            .or_else(|| translated.clone())
    } else {
        Some(module::rebuild(wasm, &info, &plan)?)
    };
    // Inlining last: a function is a leaf only if no other transform gave
    // it a call.
    if opts.inline {
        let wasm = out.wasm.as_deref().unwrap_or(wasm);
        let info = ModuleInfo::parse(wasm)?;
        if let Some((bytes, sites, funcs)) = inline::inline(wasm, &info)? {
            out.applied.push(format!(
                "inlining: {sites} calls of short leaf functions in {funcs} functions"
            ));
            out.wasm = Some(bytes);
        }
    }
    Ok(out)
}

/// The function `_start` calls instead of `__proc_exit`: the module's
/// `exit`, or a new `(code) -> ()` that flushes stdio the way the module
/// can, then calls `__proc_exit(code)`.
fn flush_then_exit(
    info: &ModuleInfo,
    plan: &mut module::Plan,
    proc_exit: u32,
    flush: module::Flush,
) -> u32 {
    use wasm_encoder::Instruction as I;
    let flush_call: &[I] = &match flush {
        module::Flush::Exit(e) => return e,
        module::Flush::StdioExit(f) => [I::Call(f), I::Nop, I::Nop],
        module::Flush::Fflush(f) => [I::I32Const(0), I::Call(f), I::Drop],
    };
    let ty = plan.type_index(
        info,
        module::Sig {
            params: vec![wasmparser::ValType::I32],
            results: vec![],
        },
    );
    let mut f = wasm_encoder::Function::new([]);
    for i in flush_call {
        f.instruction(i);
    }
    f.instruction(&I::LocalGet(0));
    f.instruction(&I::Call(proc_exit));
    f.instruction(&I::End);
    let idx = plan.next_func(info);
    plan.new_funcs.push((ty, f));
    plan.new_names.push("__wali_flush_then_exit".into());
    idx
}
