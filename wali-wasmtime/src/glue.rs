//! Linker glue generated from the wali-spec tables. Every syscall import,
//! typed, alias or adapted, goes through `wali_core::entry::syscall`
//! (policy, call, trace, encoding); what each import of a module is bound
//! to is decided by `wali_core::run::plan`.

use wali_core::run::{plan, Import};
use wali_core::{Ctrl, WaliCtx};
use wali_spec::{ValType as V, MODULE};
use wasmtime::{Caller, ExternType, IntoFunc, Linker, Module, Result, Val, ValType};

/// After a call: a safe point when core asks for one (signal handlers to
/// run, the process being ended), then the result or the control value
/// as a trap that ends the guest's call.
#[inline(always)]
fn after<T: 'static, R>(
    caller: &mut Caller<'_, T>,
    get: impl Fn(&mut T) -> &mut WaliCtx,
    r: Result<R, Ctrl>,
) -> Result<R> {
    let v = r.map_err(wasmtime::Error::new)?;
    let cx = get(caller.data_mut());
    cx.clear_poll_flag();
    if wali_core::entry::attention(cx) {
        safe_point(caller, get)?;
    }
    Ok(v)
}

/// The host's poll for a module's poll table (the signal-poll transform,
/// for a module that imports no argument-less call): a safe point, as on
/// an import's return.
pub(crate) fn poll_func<T: 'static>(
    store: impl wasmtime::AsContextMut<Data = T>,
    get: impl Fn(&mut T) -> &mut WaliCtx + Copy + Send + Sync + 'static,
) -> wasmtime::Func {
    wasmtime::Func::wrap(store, move |mut caller: Caller<'_, T>| -> Result<()> {
        after(&mut caller, get, Ok(()))
    })
}

#[cold]
fn safe_point<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: impl Fn(&mut T) -> &mut WaliCtx,
) -> Result<()> {
    if wali_core::entry::safe_point(get(caller.data_mut())).map_err(wasmtime::Error::new)? {
        let t = crate::signals::Trampolines::from_caller(caller);
        crate::signals::deliver(caller, get, &t)?;
    }
    Ok(())
}

macro_rules! link_syscalls {
    ($( ($name:ident, $nr:literal, $origin:ident, [$($p:ident : $t:ident),*], $c:literal) ),* $(,)?) => {
        fn link_syscalls<T, G>(linker: &mut Linker<T>, get: G, want: &dyn Fn(&str) -> bool) -> Result<()>
        where
            T: 'static,
            G: Fn(&mut T) -> &mut WaliCtx + Send + Sync + Copy + 'static,
        {
            $(
                wrap_if(
                    linker,
                    want,
                    concat!("SYS_", stringify!($name)),
                    move |mut caller: Caller<'_, T>, $($p: $t),*| -> Result<i64> {
                        let r = wali_core::entry::syscall(
                            get(caller.data_mut()),
                            $nr,
                            &[$($p as i64),*],
                            |cx| wali_core::sys::$name(cx, $($p),*),
                        );
                        after(&mut caller, get, r)
                    },
                )?;
            )*
            Ok(())
        }
    };
}
wali_spec::for_each_syscall!(link_syscalls);

macro_rules! link_aux {
    ($( ($name:ident, [$($p:ident : $t:ident),*], $r:tt) ),* $(,)?) => {
        fn link_aux<T, G>(linker: &mut Linker<T>, get: G, want: &dyn Fn(&str) -> bool) -> Result<()>
        where
            T: 'static,
            G: Fn(&mut T) -> &mut WaliCtx + Send + Sync + Copy + 'static,
        {
            $(
                wrap_if(
                    linker,
                    want,
                    stringify!($name),
                    move |mut caller: Caller<'_, T>, $($p: $t),*| -> Result<wali_spec::aux_ret!($r)> {
                        let r = wali_core::aux::$name(get(caller.data_mut()), $($p),*);
                        after(&mut caller, get, r)
                    },
                )?;
            )*
            Ok(())
        }
    };
}
wali_spec::for_each_aux!(link_aux);

/// Adds every WALI import of the wali-spec table (syscalls and auxiliary
/// calls, with the table's types, and what the setjmp transform's modules
/// import) to `linker`. `get` finds the [`WaliCtx`] in the store's data.
///
/// Modules may declare imports beyond the table or with other types (the
/// spec's aliases, older toolchains, unknown syscalls): call
/// [`link_module`] for such a module so it never fails to instantiate.
pub fn add_to_linker<T, G>(linker: &mut Linker<T>, get: G) -> Result<()>
where
    T: 'static,
    G: Fn(&mut T) -> &mut WaliCtx + Send + Sync + Copy + 'static,
{
    link_table(linker, get, &|_| true)
}

/// Adds exactly the `wali` imports `module` declares to `linker`: what
/// [`add_to_linker`] followed by [`link_module`] binds them to, without
/// defining the rest of the table. A linker made for one module (as
/// `wali::Runner` makes at each start) costs a few hundred host function
/// definitions less this way; the linker needs no shadowing.
pub fn link_imports<T, G>(linker: &mut Linker<T>, module: &Module, get: G) -> Result<()>
where
    T: 'static,
    G: Fn(&mut T) -> &mut WaliCtx + Send + Sync + Copy + 'static,
{
    let table = link_planned(linker, module, get)?;
    link_table(linker, get, &|name| table.contains(name))
}

/// How `plan` binds an import of type `ty`.
fn plan_of(name: &str, ty: &wasmtime::FuncType) -> Result<Import> {
    let params: Vec<Option<V>> = ty.params().map(|t| val_type(&t)).collect();
    let results: Vec<Option<V>> = ty.results().map(|t| val_type(&t)).collect();
    plan(name, &params, &results).map_err(wasmtime::Error::msg)
}

/// Defines the table's typed glue for the names `want` takes.
fn link_table<T, G>(linker: &mut Linker<T>, get: G, want: &dyn Fn(&str) -> bool) -> Result<()>
where
    T: 'static,
    G: Fn(&mut T) -> &mut WaliCtx + Send + Sync + Copy + 'static,
{
    link_syscalls(linker, get, want)?;
    link_aux(linker, get, want)?;
    wrap_if(
        linker,
        want,
        wali_core::transform::imports::SIGSAVE,
        move |mut caller: Caller<'_, T>, env: i32, savesigs: i32| -> Result<i32> {
            let r = wali_core::aux::sjlj_sigsave(get(caller.data_mut()), env, savesigs);
            after(&mut caller, get, r)
        },
    )?;
    wrap_if(
        linker,
        want,
        wali_core::transform::imports::CLONE,
        move |mut caller: Caller<'_, T>,
              func: i32,
              stack: i32,
              flags: i32,
              arg: i32,
              va: i32|
              -> Result<i32> {
            let r = crate::signals::clone_call(&mut caller, get, [func, stack, flags, arg, va])?;
            after(&mut caller, get, r)
        },
    )?;
    wrap_if(
        linker,
        want,
        wali_core::transform::imports::STACK_OVERFLOW,
        move |mut caller: Caller<'_, T>| -> Result<()> {
            let r = wali_core::aux::stack_overflow(get(caller.data_mut()));
            after(&mut caller, get, r)
        },
    )?;
    wrap_if(
        linker,
        want,
        wali_core::transform::imports::LONGJMP_PREPARE,
        move |mut caller: Caller<'_, T>, env: i32, val: i32| -> Result<()> {
            let r = wali_core::aux::sjlj_longjmp(get(caller.data_mut()), env, val);
            after(&mut caller, get, r)
        },
    )?;
    Ok(())
}

/// Defines `name` with `f` when `want` takes it.
fn wrap_if<T: 'static, P, R>(
    linker: &mut Linker<T>,
    want: &dyn Fn(&str) -> bool,
    name: &str,
    f: impl IntoFunc<T, P, R>,
) -> Result<()> {
    if want(name) {
        linker.func_wrap(MODULE, name, f)?;
    }
    Ok(())
}

fn val_type(t: &ValType) -> Option<V> {
    match t {
        ValType::I32 => Some(V::I32),
        ValType::I64 => Some(V::I64),
        _ => None,
    }
}

fn to_i64(v: &Val) -> i64 {
    match v {
        Val::I32(x) => *x as i64,
        Val::I64(x) => *x,
        _ => 0,
    }
}

/// Stores `v` in the first result slot, as the slot's declared type.
fn store_result(ty: &wasmtime::FuncType, results: &mut [Val], v: i64) {
    if let (Some(slot), Some(t)) = (results.first_mut(), ty.results().next()) {
        *slot = match t {
            ValType::I32 => Val::I32(v as i32),
            ValType::F32 => Val::F32((v as f32).to_bits()),
            ValType::F64 => Val::F64((v as f64).to_bits()),
            _ => Val::I64(v),
        };
    }
}

/// Makes every `wali` import of `module` resolvable, whatever the module
/// declares, as `wali_core::run::plan` decides: a table syscall imported
/// with another type, or under an alias name, is adapted (its arguments
/// widened, its result narrowed or dropped, as `SYS_exit (i32)` in older
/// guests) and goes through the same policy and trace as the typed glue;
/// an unknown `SYS_*` import returns `-ENOSYS`; the old crt names
/// `__call_ctors`/`__call_dtors` return 0; the wali-musl internals
/// (`__restore`, `__clone` ...) trap if ever called.
///
/// Call after [`add_to_linker`]. A table syscall declared with another
/// type replaces the definition `add_to_linker` made, which wasmtime only
/// allows on a linker with shadowing on (`linker.allow_shadowing(true)`);
/// this function does not switch it on for you, and fails naming the
/// import when such a module meets a linker without it.
pub fn link_module<T, G>(linker: &mut Linker<T>, module: &Module, get: G) -> Result<()>
where
    T: 'static,
    G: Fn(&mut T) -> &mut WaliCtx + Send + Sync + Copy + 'static,
{
    link_planned(linker, module, get).map(|_| ())
}

/// Defines each `wali` import of `module` that `plan` does not bind to the
/// table's typed glue; returns the names it does bind there.
fn link_planned<'m, T, G>(
    linker: &mut Linker<T>,
    module: &'m Module,
    get: G,
) -> Result<std::collections::HashSet<&'m str>>
where
    T: 'static,
    G: Fn(&mut T) -> &mut WaliCtx + Send + Sync + Copy + 'static,
{
    let mut table = std::collections::HashSet::new();
    for imp in module.imports() {
        if imp.module() != MODULE {
            continue;
        }
        let ExternType::Func(ty) = imp.ty() else {
            continue;
        };
        let name = imp.name();
        let defined = match plan_of(name, &ty)? {
            Import::Table => {
                table.insert(name);
                continue;
            }
            Import::Adapted(a) => {
                let fty = ty.clone();
                linker.func_new(
                    MODULE,
                    name,
                    ty.clone(),
                    move |mut caller, params, results| {
                        let args: Vec<i64> = params.iter().map(to_i64).collect();
                        let r = a.call(get(caller.data_mut()), &args);
                        let v = after(&mut caller, get, r)?;
                        store_result(&fty, results, v);
                        Ok(())
                    },
                )
            }
            Import::Unknown => {
                let (owned, fty) = (name.to_string(), ty.clone());
                linker.func_new(MODULE, name, ty.clone(), move |mut caller, _, results| {
                    let v = wali_core::entry::unknown(get(caller.data_mut()), &owned);
                    store_result(&fty, results, v);
                    Ok(())
                })
            }
            Import::Zero => {
                let fty = ty.clone();
                linker.func_new(MODULE, name, ty.clone(), move |_, _, results| {
                    store_result(&fty, results, 0);
                    Ok(())
                })
            }
            Import::Internal => {
                let owned = name.to_string();
                linker.func_new(MODULE, name, ty.clone(), move |_, _, _| {
                    Err(wasmtime::Error::new(wali_core::run::internal_called(
                        &owned,
                    )))
                })
            }
        };
        defined.map_err(|e| {
            e.context(format!(
                "wali.{name}: a module declaring a table syscall with another type needs a \
                 linker that allows shadowing (linker.allow_shadowing(true)) before link_module"
            ))
        })?;
    }
    Ok(table)
}
