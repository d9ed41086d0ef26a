//! Import glue generated from the wali-spec tables. Every syscall import,
//! typed, alias or adapted, goes through `wali_core::entry::syscall`
//! (policy, call, trace, encoding); what each import of a module is bound
//! to is decided by `wali_core::run::plan`.

use crate::memory::{StoreGuard, WasmerMemory};
use crate::signals::Trampolines;
use std::sync::Arc;
use wali_core::run::{plan, Import};
use wali_core::{Ctrl, WaliCtx};
use wali_spec::{ValType as V, MODULE};
use wasmer::{
    ExternType, Function, FunctionEnv, FunctionEnvMut, Imports, Module, RuntimeError, Store, Type,
    Value,
};

/// The store data of a WALI guest thread on wasmer.
pub struct State {
    /// The guest thread's context.
    pub wali: WaliCtx,
    pub(crate) memory: Option<Arc<WasmerMemory>>,
    pub(crate) tramps: Option<Trampolines>,
    /// The guest's C stack pointer, for handlers on the alternate stack.
    pub(crate) sp: Option<wasmer::Global>,
    /// The C stack's limit (the stack transform's check).
    pub(crate) limit: Option<wasmer::Global>,
    /// The instance's fuel global, when the runner meters fuel.
    pub(crate) fuel: Option<wasmer::Global>,
}

impl State {
    pub(crate) fn new(wali: WaliCtx) -> State {
        State {
            wali,
            memory: None,
            tramps: None,
            sp: None,
            limit: None,
            fuel: None,
        }
    }
}

pub(crate) fn ctrl_error(c: Ctrl) -> RuntimeError {
    RuntimeError::user(Box::new(c))
}

/// Runs a core call with the memory refreshed and the store reachable
/// (for growth), then [`after`].
fn call<R>(
    mut fe: FunctionEnvMut<State>,
    f: impl FnOnce(&mut WaliCtx) -> Result<R, Ctrl>,
) -> Result<R, RuntimeError> {
    let r = {
        let (st, mut store) = fe.data_and_store_mut();
        if let Some(m) = &st.memory {
            m.refresh(&store);
        }
        let _g = StoreGuard::set(&mut store);
        f(&mut st.wali)
    };
    after(&mut fe, r)
}

/// After a call: the fuel cap, the poll flag, and a safe point when core
/// asks for one (signal handlers to run, the process being ended); then
/// the result, or the control value as an error that ends the guest's
/// call.
#[inline(always)]
fn after<R>(fe: &mut FunctionEnvMut<State>, r: Result<R, Ctrl>) -> Result<R, RuntimeError> {
    let v = r.map_err(ctrl_error)?;
    if let Some(g) = fe.data().fuel.clone() {
        if matches!(g.get(fe), Value::I64(v) if v < 0) {
            return Err(ctrl_error(wali_core::run::out_of_fuel()));
        }
    }
    fe.data().wali.clear_poll_flag();
    if wali_core::entry::attention(&fe.data().wali) {
        safe_point(fe)?;
    }
    Ok(v)
}

/// The host's poll for a module's poll table (the signal-poll transform,
/// for a module that imports no argument-less call): a safe point, as on
/// an import's return.
pub(crate) fn poll_function(store: &mut Store, env: &FunctionEnv<State>) -> Function {
    Function::new_typed_with_env(
        store,
        env,
        |fe: FunctionEnvMut<State>| -> Result<(), RuntimeError> { call(fe, |_| Ok(())) },
    )
}

#[cold]
fn safe_point(fe: &mut FunctionEnvMut<State>) -> Result<(), RuntimeError> {
    if wali_core::entry::safe_point(&fe.data().wali).map_err(ctrl_error)? {
        crate::signals::deliver(fe)?;
    }
    Ok(())
}

macro_rules! link_syscalls {
    ($( ($name:ident, $nr:literal, $origin:ident, [$($p:ident : $t:ident),*], $c:literal) ),* $(,)?) => {
        fn link_syscalls(store: &mut Store, env: &FunctionEnv<State>, imports: &mut Imports, want: &dyn Fn(&str) -> bool) {
            $(
                if want(concat!("SYS_", stringify!($name))) {
                imports.define(MODULE, concat!("SYS_", stringify!($name)), Function::new_typed_with_env(
                    store, env,
                    |fe: FunctionEnvMut<State>, $($p: $t),*| -> Result<i64, RuntimeError> {
                        call(fe, |cx| wali_core::entry::syscall(
                            cx,
                            $nr,
                            &[$($p as i64),*],
                            |cx| wali_core::sys::$name(cx, $($p),*),
                        ))
                    },
                ));
                }
            )*
        }
    };
}
wali_spec::for_each_syscall!(link_syscalls);

macro_rules! link_aux {
    ($( ($name:ident, [$($p:ident : $t:ident),*], $r:tt) ),* $(,)?) => {
        fn link_aux(store: &mut Store, env: &FunctionEnv<State>, imports: &mut Imports, want: &dyn Fn(&str) -> bool) {
            $(
                if want(stringify!($name)) {
                imports.define(MODULE, stringify!($name), Function::new_typed_with_env(
                    store, env,
                    |fe: FunctionEnvMut<State>, $($p: $t),*| -> Result<wali_spec::aux_ret!($r), RuntimeError> {
                        call(fe, |cx| wali_core::aux::$name(cx, $($p),*))
                    },
                ));
                }
            )*
        }
    };
}
wali_spec::for_each_aux!(link_aux);

fn val_type(t: &Type) -> Option<V> {
    match t {
        Type::I32 => Some(V::I32),
        Type::I64 => Some(V::I64),
        _ => None,
    }
}

/// `v` as the declared results of an import (none, or one value).
fn results_of(ty: &wasmer::FunctionType, v: i64) -> Vec<Value> {
    ty.results()
        .first()
        .map(|t| match t {
            Type::I32 => Value::I32(v as i32),
            Type::F32 => Value::F32(v as f32),
            Type::F64 => Value::F64(v as f64),
            _ => Value::I64(v),
        })
        .into_iter()
        .collect()
}

/// The imports of `module`: every `wali` import it declares, whatever its
/// type, bound as `wali_core::run::plan` decides (the same plan as
/// `wali-wasmtime`'s `add_to_linker` + `link_module`).
pub fn imports(
    store: &mut Store,
    env: &FunctionEnv<State>,
    module: &Module,
) -> Result<Imports, String> {
    use wali_core::transform::imports as t;
    let mut imports = Imports::new();
    // The imports `plan` binds otherwise first; then the table's typed glue
    // for the names the module imports (the whole table would be a few
    // hundred host functions made at every start).
    let mut table = std::collections::HashSet::new();
    for imp in module.imports() {
        if imp.module() != MODULE {
            continue;
        }
        let ExternType::Function(ty) = imp.ty() else {
            continue;
        };
        let name = imp.name().to_string();
        let params: Vec<Option<V>> = ty.params().iter().map(val_type).collect();
        let results: Vec<Option<V>> = ty.results().iter().map(val_type).collect();
        let fty = ty.clone();
        let func = match plan(&name, &params, &results)? {
            Import::Table => {
                table.insert(name);
                continue;
            }
            Import::Adapted(a) => {
                Function::new_with_env(store, env, ty.clone(), move |fe, params| {
                    let args: Vec<i64> = params
                        .iter()
                        .map(|v| match v {
                            Value::I32(x) => *x as i64,
                            Value::I64(x) => *x,
                            _ => 0,
                        })
                        .collect();
                    let v = call(fe, |cx| a.call(cx, &args))?;
                    Ok(results_of(&fty, v))
                })
            }
            Import::Unknown => {
                let owned = name.clone();
                Function::new_with_env(store, env, ty.clone(), move |fe, _| {
                    Ok(results_of(
                        &fty,
                        wali_core::entry::unknown(&fe.data().wali, &owned),
                    ))
                })
            }
            Import::Zero => {
                Function::new_with_env(store, env, ty.clone(), move |_, _| Ok(results_of(&fty, 0)))
            }
            Import::Internal => {
                let owned = name.clone();
                Function::new_with_env(store, env, ty.clone(), move |_, _| {
                    Err(ctrl_error(wali_core::run::internal_called(&owned)))
                })
            }
        };
        imports.define(MODULE, &name, func);
    }
    let want = |name: &str| table.contains(name);
    link_syscalls(store, env, &mut imports, &want);
    link_aux(store, env, &mut imports, &want);
    if want(t::SIGSAVE) {
        imports.define(
            MODULE,
            t::SIGSAVE,
            Function::new_typed_with_env(
                store,
                env,
                |fe: FunctionEnvMut<State>, e: i32, s: i32| -> Result<i32, RuntimeError> {
                    call(fe, |cx| wali_core::aux::sjlj_sigsave(cx, e, s))
                },
            ),
        );
    }
    if want(t::CLONE) {
        imports.define(
            MODULE,
            t::CLONE,
            Function::new_typed_with_env(
                store,
                env,
                |mut fe: FunctionEnvMut<State>,
                 func: i32,
                 stack: i32,
                 flags: i32,
                 arg: i32,
                 va: i32|
                 -> Result<i32, RuntimeError> {
                    let r = crate::signals::clone_call(&mut fe, [func, stack, flags, arg, va])?;
                    after(&mut fe, r)
                },
            ),
        );
    }
    if want(t::STACK_OVERFLOW) {
        imports.define(
            MODULE,
            t::STACK_OVERFLOW,
            Function::new_typed_with_env(
                store,
                env,
                |fe: FunctionEnvMut<State>| -> Result<(), RuntimeError> {
                    call(fe, wali_core::aux::stack_overflow)
                },
            ),
        );
    }
    if want(t::LONGJMP_PREPARE) {
        imports.define(
            MODULE,
            t::LONGJMP_PREPARE,
            Function::new_typed_with_env(
                store,
                env,
                |fe: FunctionEnvMut<State>, e: i32, v: i32| -> Result<(), RuntimeError> {
                    call(fe, |cx| wali_core::aux::sjlj_longjmp(cx, e, v))
                },
            ),
        );
    }
    Ok(imports)
}
