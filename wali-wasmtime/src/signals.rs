//! Delivery of guest signal handlers: on return from every syscall (the
//! glue checks one atomic), and for a guest that computes without making
//! syscalls at the signal-poll transform's checks, which call an import
//! once the native handler has set the instance's flag
//! ([`wali_core::sys::signal::PollFlag`]). Epoch interruption, when an
//! embedder's `Config` turns it on, also works: the handler bumps the epoch.

use std::sync::atomic::{AtomicPtr, Ordering};
use wali_core::run::HandlerCaller;
use wali_core::sys::signal as sig;
use wali_core::transform::exports;
use wali_core::WaliCtx;
use wasmtime::{AsContextMut, Engine, Instance, Result, Store, StoreContextMut, TypedFunc};

/// The trampolines of one instance that call guest function pointers.
#[derive(Clone)]
pub(crate) struct Trampolines {
    v_i: Option<TypedFunc<(i32, i32), ()>>,
    v_iii: Option<TypedFunc<(i32, i32, i32, i32), ()>>,
    /// `__clone`'s child function.
    i_i: Option<TypedFunc<(i32, i32), i32>>,
    /// The guest's C stack pointer, for handlers on the alternate stack.
    sp: Option<wasmtime::Global>,
    /// The C stack's limit (the stack transform's check).
    limit: Option<wasmtime::Global>,
}

impl Trampolines {
    pub(crate) fn from_caller<T>(caller: &mut wasmtime::Caller<'_, T>) -> Trampolines {
        let mut typed = |name: &str| caller.get_export(name).and_then(|e| e.into_func());
        let v_i = typed(exports::CALL_V_I);
        let v_iii = typed(exports::CALL_V_III);
        let i_i = typed(exports::CALL_I_I);
        Trampolines {
            v_i: v_i.and_then(|f| f.typed(&*caller).ok()),
            v_iii: v_iii.and_then(|f| f.typed(&*caller).ok()),
            i_i: i_i.and_then(|f| f.typed(&*caller).ok()),
            sp: caller
                .get_export(exports::STACK_POINTER)
                .and_then(|e| e.into_global()),
            limit: caller
                .get_export(exports::STACK_LIMIT)
                .and_then(|e| e.into_global()),
        }
    }

    /// Moves the main thread's C stack to one of the size the process's
    /// `c_stack_size` says, when the module exports its stack pointer and
    /// limit (the stack transform) and its own stack is smaller.
    pub(crate) fn map_c_stack<T: 'static>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        get: impl Fn(&mut T) -> &mut WaliCtx,
    ) {
        if self.limit.is_none() {
            return;
        }
        let Some(now) = get_u32(&mut store, self.sp.as_ref()) else {
            return;
        };
        let placed = wali_core::run::map_c_stack(get(store.as_context_mut().data_mut()), now);
        if let Some((top, base)) = placed {
            set_u32(&mut store, self.sp.as_ref(), top);
            set_u32(&mut store, self.limit.as_ref(), base);
        }
    }

    pub(crate) fn of(mut store: impl AsContextMut, instance: &Instance) -> Trampolines {
        Trampolines {
            v_i: instance.get_typed_func(&mut store, exports::CALL_V_I).ok(),
            v_iii: instance
                .get_typed_func(&mut store, exports::CALL_V_III)
                .ok(),
            i_i: instance.get_typed_func(&mut store, exports::CALL_I_I).ok(),
            sp: instance.get_global(&mut store, exports::STACK_POINTER),
            limit: instance.get_global(&mut store, exports::STACK_LIMIT),
        }
    }
}

/// An i32 global of the instance (the C stack pointer, its limit).
fn get_u32(store: impl AsContextMut, g: Option<&wasmtime::Global>) -> Option<u32> {
    Some(g?.get(store).i32()? as u32)
}

/// Sets such a global, when the instance has it.
fn set_u32(store: impl AsContextMut, g: Option<&wasmtime::Global>, v: u32) {
    if let Some(g) = g {
        let _ = g.set(store, wasmtime::Val::I32(v as i32));
    }
}

/// How the core's signal and `__clone` code calls into a wasmtime guest.
struct Guest<'s, 't, T: 'static, G> {
    store: StoreContextMut<'s, T>,
    get: G,
    t: &'t Trampolines,
}

impl<T: 'static, G: Fn(&mut T) -> &mut WaliCtx> HandlerCaller for Guest<'_, '_, T, G> {
    type Error = wasmtime::Error;
    fn ctx(&mut self) -> &mut WaliCtx {
        (self.get)(self.store.data_mut())
    }
    fn stack_pointer(&mut self) -> Option<u32> {
        get_u32(&mut self.store, self.t.sp.as_ref())
    }
    fn set_stack_pointer(&mut self, sp: u32) {
        set_u32(&mut self.store, self.t.sp.as_ref(), sp)
    }
    fn stack_limit(&mut self) -> Option<u32> {
        get_u32(&mut self.store, self.t.limit.as_ref())
    }
    fn set_stack_limit(&mut self, limit: u32) {
        set_u32(&mut self.store, self.t.limit.as_ref(), limit)
    }
    fn call_v_i(&mut self, handler: i32, signo: i32) -> Result<bool> {
        match &self.t.v_i {
            Some(f) => f.call(&mut self.store, (handler, signo)).map(|()| true),
            None => Ok(false),
        }
    }
    fn call_v_iii(&mut self, handler: i32, signo: i32, info: i32, uc: i32) -> Result<bool> {
        match &self.t.v_iii {
            Some(f) => f
                .call(&mut self.store, (handler, signo, info, uc))
                .map(|()| true),
            None => Ok(false),
        }
    }
    fn has_call_i_i(&mut self) -> bool {
        self.t.i_i.is_some()
    }
    fn call_i_i(&mut self, func: i32, arg: i32) -> Result<Option<i32>> {
        match &self.t.i_i {
            Some(f) => f.call(&mut self.store, (func, arg)).map(Some),
            None => Ok(None),
        }
    }
}

/// Runs the guest handlers of the pending signals (the loop is
/// `wali_core::run::deliver_signals`; this is how wasmtime calls them).
pub(crate) fn deliver<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    get: impl Fn(&mut T) -> &mut WaliCtx,
    t: &Trampolines,
) -> Result<()> {
    wali_core::run::deliver_signals(&mut Guest {
        store: store.as_context_mut(),
        get,
        t,
    })
}

/// `__clone` (`wali_core::run::clone_call`) from a guest's call.
pub(crate) fn clone_call<T: 'static>(
    caller: &mut wasmtime::Caller<'_, T>,
    get: impl Fn(&mut T) -> &mut WaliCtx,
    args: [i32; 5],
) -> Result<Result<i32, wali_core::Ctrl>> {
    let t = Trampolines::from_caller(caller);
    let [func, stack, flags, arg, va] = args;
    wali_core::run::clone_call(
        &mut Guest {
            store: caller.as_context_mut(),
            get,
            t: &t,
        },
        func,
        stack,
        flags,
        arg,
        va,
    )
}

const SLOTS: usize = 8;
static ENGINES: [AtomicPtr<Engine>; SLOTS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];

/// Gives the instance's context its trampolines and its poll flag (the
/// signal-poll transform's shared memory `__wali_signal_flag`, registered
/// for the native signal handler), and fills its poll table, if the
/// transform gave it one, with the host's poll.
pub(crate) fn attach<T: 'static>(
    store: &mut Store<T>,
    instance: &Instance,
    tramps: Trampolines,
    get: impl Fn(&mut T) -> &mut WaliCtx + Copy + Send + Sync + 'static,
) -> Result<()> {
    let flag = instance
        .get_shared_memory(&mut *store, wali_core::transform::poll::FLAG_EXPORT)
        .map(|mem| {
            let word = mem.data().as_ptr() as *const std::sync::atomic::AtomicU32;
            // SAFETY: the memory is one page that cannot grow, page-aligned,
            // so its first word is an aligned u32 at this address; the
            // `SharedMemory` handle kept with the flag keeps it mapped
            // however the store goes.
            unsafe { sig::PollFlag::new(word, Box::new(mem)) }
        });
    if let Some(table) =
        instance.get_table(&mut *store, wali_core::transform::poll::POLL_TABLE_EXPORT)
    {
        let poll = crate::glue::poll_func(&mut *store, get);
        table.set(&mut *store, 0, wasmtime::Ref::Func(Some(poll)))?;
    }
    let cx = get(store.data_mut());
    cx.set_adapter_data(Box::new(tramps));
    cx.set_poll_flag(flag);
    Ok(())
}

fn bump() {
    for slot in &ENGINES {
        let e = slot.load(Ordering::SeqCst);
        if !e.is_null() {
            // SAFETY: slots only hold leaked engines, alive for the
            // process's lifetime; increment_epoch is one atomic add.
            unsafe { (*e).increment_epoch() };
        }
    }
}

/// Makes the native signal handler interrupt guests of `engine` (at most
/// 8 engines per process; the engine is kept alive from then on).
pub(crate) fn register(engine: &Engine) {
    for slot in &ENGINES {
        let e = slot.load(Ordering::SeqCst);
        // SAFETY: as in `bump`.
        if !e.is_null() && Engine::same(unsafe { &*e }, engine) {
            return;
        }
    }
    let leaked = Box::into_raw(Box::new(engine.clone()));
    for slot in &ENGINES {
        if slot
            .compare_exchange(
                std::ptr::null_mut(),
                leaked,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
        {
            sig::set_interrupt_hook(bump);
            return;
        }
    }
    // SAFETY: not published anywhere: reclaim it.
    drop(unsafe { Box::from_raw(leaked) });
}
