//! Linker glue generated from the wali-spec tables.

use wali_core::{Ctrl, SysResult, WaliCtx};
use wali_spec::{ValType as V, MODULE};
use wasmtime::{Caller, ExternType, FuncType, Linker, Module, Result, Val, ValType};

/// Converts a core result into what the guest sees (or a trap that ends it).
#[inline]
pub(crate) fn finish(r: SysResult) -> Result<i64> {
    match wali_core::encode(r) {
        Ok(v) => Ok(v),
        Err(c) => Err(wasmtime::Error::new(c)),
    }
}

/// Runs pending guest signal handlers before a syscall returns.
#[cold]
fn deliver_from<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: impl Fn(&mut T) -> &mut WaliCtx,
) -> Result<()> {
    let t = crate::signals::Trampolines::from_caller(caller);
    crate::signals::deliver(caller, get, &t)
}

#[inline]
fn finish_aux<R>(r: Result<R, Ctrl>) -> Result<R> {
    r.map_err(wasmtime::Error::new)
}

macro_rules! link_syscalls {
    ($( ($name:ident, $nr:literal, $origin:ident, [$($p:ident : $t:ident),*], $c:literal) ),* $(,)?) => {
        fn link_syscalls<T, G>(linker: &mut Linker<T>, get: G) -> Result<()>
        where
            T: 'static,
            G: Fn(&mut T) -> &mut WaliCtx + Send + Sync + Copy + 'static,
        {
            $(
                linker.func_wrap(
                    MODULE,
                    concat!("SYS_", stringify!($name)),
                    move |mut caller: Caller<'_, T>, $($p: $t),*| -> Result<i64> {
                        let cx = get(caller.data_mut());
                        if let Some(pol) = cx.process().policy() {
                            if pol.denies($nr) {
                                return Ok(-(libc::EPERM as i64));
                            }
                        }
                        let raw = wali_core::sys::$name(cx, $($p),*);
                        if wali_core::trace::enabled() {
                            let ret = match &raw { Ok(v) => *v, Err(wali_core::Ctrl::Errno(e)) => -(e.raw_os_error() as i64), Err(_) => 0 };
                            wali_core::trace::syscall(cx, stringify!($name), &[$($p as i64),*], ret);
                        }
                        let r = finish(raw);
                        if wali_core::sys::signal::pending() {
                            deliver_from(&mut caller, get)?;
                        }
                        r
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
        fn link_aux<T, G>(linker: &mut Linker<T>, get: G) -> Result<()>
        where
            T: 'static,
            G: Fn(&mut T) -> &mut WaliCtx + Send + Sync + Copy + 'static,
        {
            $(
                linker.func_wrap(
                    MODULE,
                    stringify!($name),
                    move |mut caller: Caller<'_, T>, $($p: $t),*| -> Result<wali_spec::aux_ret!($r)> {
                        let cx = get(caller.data_mut());
                        finish_aux(wali_core::aux::$name(cx, $($p),*))
                    },
                )?;
            )*
            Ok(())
        }
    };
}
wali_spec::for_each_aux!(link_aux);

/// Adds every WALI import of the wali-spec table (syscalls, auxiliary
/// calls, spec aliases) to `linker`. `get` finds the [`WaliCtx`] in the
/// store's data.
///
/// Modules may declare imports beyond the table or with other types (older
/// toolchains, unknown syscalls): call [`link_module`] for such a module so
/// it never fails to instantiate.
pub fn add_to_linker<T, G>(linker: &mut Linker<T>, get: G) -> Result<()>
where
    T: 'static,
    G: Fn(&mut T) -> &mut WaliCtx + Send + Sync + Copy + 'static,
{
    link_syscalls(linker, get)?;
    link_aux(linker, get)?;
    // What modules rewritten by the setjmp transform import.
    linker.func_wrap(
        MODULE,
        wali_core::transform::imports::SIGSAVE,
        move |mut caller: Caller<'_, T>, env: i32, savesigs: i32| -> Result<i32> {
            finish_aux(wali_core::aux::sjlj_sigsave(
                get(caller.data_mut()),
                env,
                savesigs,
            ))
        },
    )?;
    linker.func_wrap(
        MODULE,
        wali_core::transform::imports::LONGJMP_PREPARE,
        move |mut caller: Caller<'_, T>, env: i32, val: i32| -> Result<()> {
            finish_aux(wali_core::aux::sjlj_longjmp(
                get(caller.data_mut()),
                env,
                val,
            ))
        },
    )?;
    for (alias, canonical) in wali_spec::ALIASES {
        let spec = wali_spec::syscall_by_name(canonical).expect("alias of a table entry");
        let ty = FuncType::new(
            linker.engine(),
            spec.params.iter().map(|t| wasm_ty(*t)),
            [ValType::I64],
        );
        define_raw(linker, alias, canonical, ty, get)?;
    }
    Ok(())
}

fn wasm_ty(t: V) -> ValType {
    match t {
        V::I32 => ValType::I32,
        V::I64 => ValType::I64,
    }
}

fn same_type(ty: &FuncType, params: &[V], result: Option<V>) -> bool {
    let p: Vec<ValType> = ty.params().collect();
    let r: Vec<ValType> = ty.results().collect();
    p.len() == params.len()
        && p.iter()
            .zip(params)
            .all(|(a, b)| ValType::eq(a, &wasm_ty(*b)))
        && r.len() == result.is_some() as usize
        && r.iter()
            .zip(result)
            .all(|(a, b)| ValType::eq(a, &wasm_ty(b)))
}

fn to_i64(v: &Val) -> i64 {
    match v {
        Val::I32(x) => *x as i64,
        Val::I64(x) => *x,
        _ => 0,
    }
}

fn store_result(results: &mut [Val], v: i64) {
    if let Some(slot) = results.first_mut() {
        *slot = match slot {
            Val::I32(_) => Val::I32(v as i32),
            Val::F32(_) | Val::F64(_) => Val::I64(v),
            _ => Val::I64(v),
        };
    }
}

/// Defines `import` with type `ty` as syscall `canonical`, converting
/// arguments (an `i32` is sign-extended) and the result to the declared
/// types.
fn define_raw<T, G>(
    linker: &mut Linker<T>,
    import: &str,
    canonical: &str,
    ty: FuncType,
    get: G,
) -> Result<()>
where
    T: 'static,
    G: Fn(&mut T) -> &mut WaliCtx + Send + Sync + Copy + 'static,
{
    let f = wali_core::sys::raw(canonical).expect("table entry has an implementation");
    let want_i32 = ty
        .results()
        .next()
        .is_some_and(|r| matches!(r, ValType::I32));
    linker.func_new(MODULE, import, ty, move |mut caller, params, results| {
        let mut args = [0i64; 6];
        for (slot, v) in args.iter_mut().zip(params) {
            *slot = to_i64(v);
        }
        let cx = get(caller.data_mut());
        let v = finish(f(cx, &args[..params.len().min(6)]))?;
        if let Some(slot) = results.first_mut() {
            *slot = if want_i32 {
                Val::I32(v as i32)
            } else {
                Val::I64(v)
            };
        }
        Ok(())
    })?;
    Ok(())
}

/// Makes every `wali` import of `module` resolvable, whatever the module
/// declares: a table syscall imported with another type is adapted (its
/// arguments widened, its result narrowed or dropped, as `SYS_exit (i32)`
/// in older guests), an unknown `SYS_*` import returns `-ENOSYS`, and the
/// wali-musl internals (`__restore`, `__clone` ...) trap if ever called.
/// Call after [`add_to_linker`]; it enables shadowing on `linker`.
pub fn link_module<T, G>(linker: &mut Linker<T>, module: &Module, get: G) -> Result<()>
where
    T: 'static,
    G: Fn(&mut T) -> &mut WaliCtx + Send + Sync + Copy + 'static,
{
    linker.allow_shadowing(true);
    for imp in module.imports() {
        if imp.module() != MODULE {
            continue;
        }
        let ExternType::Func(ty) = imp.ty() else {
            continue;
        };
        let name = imp.name();
        if name == wali_core::transform::imports::SIGSAVE
            || name == wali_core::transform::imports::LONGJMP_PREPARE
        {
            continue;
        }
        if let Some(spec) = wali_spec::syscall_by_import(name) {
            let is_alias = wali_spec::ALIASES.iter().any(|(a, _)| *a == name);
            if !is_alias && same_type(&ty, spec.params, Some(V::I64)) {
                continue;
            }
            define_raw(linker, name, spec.name, ty, get)?;
        } else if let Some(aux) = wali_spec::aux_by_name(name) {
            if !same_type(&ty, aux.params, aux.result) {
                return Err(wasmtime::Error::msg(format!(
                    "import wali.{name} has type {ty}, but WALI defines it as {:?} -> {:?}",
                    aux.params, aux.result
                )));
            }
        } else if name.starts_with("SYS_") {
            let owned = name.to_string();
            linker.func_new(MODULE, name, ty, move |mut caller, _params, results| {
                get(caller.data_mut()).unsupported(&owned);
                store_result(results, -(libc::ENOSYS as i64));
                Ok(())
            })?;
        } else if matches!(name, "__call_ctors" | "__call_dtors") {
            // The names an older WALI crt used for __init/__deinit.
            linker.func_new(MODULE, name, ty, |_, _, results| {
                store_result(results, 0);
                Ok(())
            })?;
        } else {
            let owned = name.to_string();
            linker.func_new(MODULE, name, ty, move |_, _, _| {
                Err(wasmtime::Error::new(Ctrl::Abort(format!(
                    "wali.{owned} is not provided by this runtime"
                ))))
            })?;
        }
    }
    Ok(())
}
