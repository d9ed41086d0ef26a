//! Delivery of guest signal handlers on wasmer: on return from every host
//! call, and, for a guest that computes without syscalls, at the checks
//! the poll transform adds (loop headers, the entries of functions on a
//! call cycle), which read a flag word the native signal handler sets.
//! wasmer cannot interrupt running wasm and resume it, so the flag is how
//! a signal reaches it.

use crate::glue::State;
use crate::memory::StoreGuard;
use wali_core::run::HandlerCaller;
use wali_core::WaliCtx;
use wasmer::{FunctionEnvMut, RuntimeError, TypedFunction};

/// The `__wali_call_v_i` and `__wali_call_v_iii` trampolines of a guest,
/// and `__wali_call_i_i` when it spawns processes (`__clone`).
#[derive(Clone)]
pub(crate) struct Trampolines {
    pub(crate) v_i: TypedFunction<(i32, i32), ()>,
    pub(crate) v_iii: TypedFunction<(i32, i32, i32, i32), ()>,
    pub(crate) i_i: Option<TypedFunction<(i32, i32), i32>>,
}

/// Runs the guest handlers of the pending signals (the loop is
/// `wali_core::run::deliver_signals`; this is how wasmer calls them).
pub(crate) fn deliver(fe: &mut FunctionEnvMut<State>) -> Result<(), RuntimeError> {
    wali_core::run::deliver_signals(&mut Caller(fe))
}

/// `__clone` (`wali_core::run::clone_call`) from a guest's call.
pub(crate) fn clone_call(
    fe: &mut FunctionEnvMut<State>,
    [func, stack, flags, arg, va]: [i32; 5],
) -> Result<Result<i32, wali_core::Ctrl>, RuntimeError> {
    // its reads and writes of the pid words see the memory's current size
    let (st, store) = fe.data_and_store_mut();
    if let Some(m) = &st.memory {
        m.refresh(&store);
    }
    wali_core::run::clone_call(&mut Caller(fe), func, stack, flags, arg, va)
}

/// How the core's signal and `__clone` code calls into a wasmer guest.
struct Caller<'a, 'b>(&'a mut FunctionEnvMut<'b, State>);

impl Caller<'_, '_> {
    /// An i32 global of the instance (the C stack pointer, its limit).
    fn get_u32(&mut self, pick: fn(&State) -> Option<&wasmer::Global>) -> Option<u32> {
        let (st, mut store) = self.0.data_and_store_mut();
        match pick(st)?.get(&mut store) {
            wasmer::Value::I32(v) => Some(v as u32),
            _ => None,
        }
    }
    /// Sets such a global, when the instance has it.
    fn set_u32(&mut self, pick: fn(&State) -> Option<&wasmer::Global>, v: u32) {
        let (st, mut store) = self.0.data_and_store_mut();
        if let Some(g) = pick(st) {
            let _ = g.set(&mut store, wasmer::Value::I32(v as i32));
        }
    }
}

impl HandlerCaller for Caller<'_, '_> {
    type Error = RuntimeError;
    fn ctx(&mut self) -> &mut WaliCtx {
        &mut self.0.data_mut().wali
    }
    fn siginfo_frame(&mut self, info: &wali_core::sys::signal::SigInfo) -> (i32, i32) {
        // The frame's page may grow the memory: through this store.
        let (st, mut store) = self.0.data_and_store_mut();
        if let Some(m) = &st.memory {
            m.refresh(&store);
        }
        let _g = StoreGuard::set(&mut store);
        wali_core::sys::signal::siginfo_frame(&mut st.wali, info)
    }
    fn stack_pointer(&mut self) -> Option<u32> {
        self.get_u32(|st| st.sp.as_ref())
    }
    fn set_stack_pointer(&mut self, sp: u32) {
        self.set_u32(|st| st.sp.as_ref(), sp)
    }
    fn stack_limit(&mut self) -> Option<u32> {
        self.get_u32(|st| st.limit.as_ref())
    }
    fn set_stack_limit(&mut self, limit: u32) {
        self.set_u32(|st| st.limit.as_ref(), limit)
    }
    fn call_v_i(&mut self, handler: i32, signo: i32) -> Result<bool, RuntimeError> {
        let (st, mut store) = self.0.data_and_store_mut();
        match st.tramps.clone() {
            Some(t) => t.v_i.call(&mut store, handler, signo).map(|()| true),
            None => Ok(false),
        }
    }
    fn call_v_iii(
        &mut self,
        handler: i32,
        signo: i32,
        info: i32,
        uc: i32,
    ) -> Result<bool, RuntimeError> {
        let (st, mut store) = self.0.data_and_store_mut();
        match st.tramps.clone() {
            Some(t) => t
                .v_iii
                .call(&mut store, handler, signo, info, uc)
                .map(|()| true),
            None => Ok(false),
        }
    }
    fn has_call_i_i(&mut self) -> bool {
        self.0
            .data()
            .tramps
            .as_ref()
            .is_some_and(|t| t.i_i.is_some())
    }
    fn call_i_i(&mut self, func: i32, arg: i32) -> Result<Option<i32>, RuntimeError> {
        let (st, mut store) = self.0.data_and_store_mut();
        match st.tramps.as_ref().and_then(|t| t.i_i.clone()) {
            Some(f) => f.call(&mut store, func, arg).map(Some),
            None => Ok(None),
        }
    }
}
