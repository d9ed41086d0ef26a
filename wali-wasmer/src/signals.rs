//! Delivery of guest signal handlers on wasmer: on return from every host
//! call, and, for a guest that computes without syscalls, at the checks
//! the poll transform adds (function entries, loop headers), which read a
//! flag word the native signal handler sets. wasmer cannot interrupt
//! running wasm and resume it, so the flag is how a signal reaches it.

use crate::glue::State;
use crate::memory::StoreGuard;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use wali_core::run::HandlerCaller;
use wali_core::WaliCtx;
use wasmer::{FunctionEnvMut, RuntimeError, TypedFunction};

/// The `__wali_call_v_i` and `__wali_call_v_iii` trampolines of a guest.
pub(crate) type Trampolines = (
    TypedFunction<(i32, i32), ()>,
    TypedFunction<(i32, i32, i32, i32), ()>,
);

/// The poll flags of the process's guest instances (addresses of their
/// flag words), which the native signal handler sets.
static FLAGS: [AtomicUsize; 1024] = [const { AtomicUsize::new(0) }; 1024];
/// Signal handlers inside `set_flags` right now.
static SETTING: AtomicUsize = AtomicUsize::new(0);

/// The interrupt hook: every guest instance polls at its next loop
/// header or function entry. Async-signal-safe: atomics only.
pub(crate) fn set_flags() {
    SETTING.fetch_add(1, Ordering::SeqCst);
    for slot in &FLAGS {
        let p = slot.load(Ordering::SeqCst);
        if p != 0 {
            // SAFETY: a registered address is a live flag word: `FlagSlot`
            // unregisters it, and waits out this loop, before its memory
            // can go.
            unsafe { (*(p as *const AtomicU32)).store(1, Ordering::SeqCst) };
        }
    }
    SETTING.fetch_sub(1, Ordering::SeqCst);
}

/// A registered flag; unregistered on drop, which must happen before the
/// flag's memory (its store) goes.
pub(crate) struct FlagSlot(Option<usize>);

impl FlagSlot {
    pub(crate) fn register(flag: &AtomicU32) -> FlagSlot {
        let p = flag as *const AtomicU32 as usize;
        wali_core::sys::signal::set_interrupt_hook(set_flags);
        FlagSlot(FLAGS.iter().position(|s| {
            s.compare_exchange(0, p, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        }))
    }
}

impl Drop for FlagSlot {
    fn drop(&mut self) {
        if let Some(i) = self.0 {
            FLAGS[i].store(0, Ordering::SeqCst);
            while SETTING.load(Ordering::SeqCst) != 0 {
                std::hint::spin_loop();
            }
        }
    }
}

/// Runs the guest handlers of the pending signals (the loop is
/// `wali_core::run::deliver_signals`; this is how wasmer calls them).
pub(crate) fn deliver(fe: &mut FunctionEnvMut<State>) -> Result<(), RuntimeError> {
    struct Caller<'a, 'b>(&'a mut FunctionEnvMut<'b, State>);
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
            let (st, mut store) = self.0.data_and_store_mut();
            match st.sp.as_ref()?.get(&mut store) {
                wasmer::Value::I32(v) => Some(v as u32),
                _ => None,
            }
        }
        fn set_stack_pointer(&mut self, sp: u32) {
            let (st, mut store) = self.0.data_and_store_mut();
            if let Some(g) = &st.sp {
                let _ = g.set(&mut store, wasmer::Value::I32(sp as i32));
            }
        }
        fn call_v_i(&mut self, handler: i32, signo: i32) -> Result<bool, RuntimeError> {
            let (st, mut store) = self.0.data_and_store_mut();
            match st.tramps.clone() {
                Some((v_i, _)) => v_i.call(&mut store, handler, signo).map(|()| true),
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
                Some((_, v_iii)) => v_iii
                    .call(&mut store, handler, signo, info, uc)
                    .map(|()| true),
                None => Ok(false),
            }
        }
    }
    wali_core::run::deliver_signals(&mut Caller(fe))
}
