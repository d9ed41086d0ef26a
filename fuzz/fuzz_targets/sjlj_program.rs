//! Random setjmp/longjmp programs with a known outcome, for the property
//! the setjmp transform must keep: each setjmp call returns 0, then the
//! longjmp value (1 for 0) at each return by longjmp, and the operand
//! values below the call and the locals are as C's would be.
//!
//! A program is one function `$f`: constants of the four number types
//! pushed and later checked, in nested `block`s, `loop`s and `if`s (with
//! and without results), setjmp and sigsetjmp calls among them in the
//! shape -O2 code has (`i32.const &r; i32.const env; call $setjmp;
//! i32.store`), or with the result dropped, and additions to an i64 local.
//! Its control runs straight through (each `if` has a constant condition,
//! no branches), so the generator knows the order the events run in. At
//! its end `$f` checks the local and the stored results for the pass, then
//! longjmps (directly or from another frame) to one of the calls that ran;
//! the code from that call on runs again, up to `MAX_PASSES` times. A
//! failed check traps with its number (`fuzz.fail`).
//!
//! Not generated: branches (`br`, `br_if`, `br_table`, `return`), loops
//! that iterate, block parameters, setjmp in a callee's own activation
//! (recursion) and jumps out of nested setjmp callers.

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use std::fmt::Write;

const MAX_SITES: u32 = 8;
const MAX_DEPTH: u32 = 4;
const MAX_PASSES: usize = 6;
const MAX_FRAME_VALUES: usize = 5;

#[derive(Clone, Copy, PartialEq, Debug)]
enum T {
    I32,
    I64,
    F32,
    F64,
}

impl T {
    fn name(self) -> &'static str {
        match self {
            T::I32 => "i32",
            T::I64 => "i64",
            T::F32 => "f32",
            T::F64 => "f64",
        }
    }
}

/// A constant: its type and its text (exact in every type).
#[derive(Clone, Debug)]
struct Val {
    t: T,
    text: String,
}

/// What runs, in order (code in an `if`'s untaken arm does not).
#[derive(Clone, Copy, Debug)]
enum Event {
    /// setjmp call `k`; whether its result is stored at `result_addr(k)`.
    Site(u32, bool),
    /// `$acc += v`
    Acc(i64),
}

fn env_addr(k: u32) -> u32 {
    1024 + 256 * k
}
fn result_addr(k: u32) -> u32 {
    256 + 4 * k
}

struct Gen<'u, 'd> {
    u: &'u mut Unstructured<'d>,
    out: String,
    trace: Vec<Event>,
    sites: u32,
    checks: u32,
    budget: u32,
}

impl Gen<'_, '_> {
    fn ty(&mut self) -> Result<T> {
        Ok(*self.u.choose(&[T::I32, T::I64, T::F32, T::F64])?)
    }
    fn konst(&mut self, t: T) -> Result<Val> {
        let text = match t {
            T::I32 => self.u.arbitrary::<i32>()?.to_string(),
            T::I64 => self.u.arbitrary::<i64>()?.to_string(),
            // integers are exact in both float types
            T::F32 => self.u.arbitrary::<i16>()?.to_string(),
            T::F64 => self.u.arbitrary::<i32>()?.to_string(),
        };
        Ok(Val { t, text })
    }
    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }
    /// Checks the value on top of the stack (`v`), consuming it.
    fn check(&mut self, v: &Val) {
        self.checks += 1;
        let c = self.checks;
        let t = v.t.name();
        let _ = writeln!(
            self.out,
            "{t}.const {}\n{t}.eq\ni32.const {c}\ncall $check",
            v.text
        );
    }
    fn site(&mut self, live: bool, stored: bool) -> Result<()> {
        let k = self.sites;
        self.sites += 1;
        if stored {
            let _ = writeln!(self.out, "i32.const {}", result_addr(k));
        }
        let _ = writeln!(self.out, "i32.const {}", env_addr(k));
        if self.u.arbitrary()? {
            let save = u8::from(self.u.arbitrary::<bool>()?);
            let _ = writeln!(self.out, "i32.const {save}\ncall $sigsetjmp");
        } else {
            self.line("call $setjmp");
        }
        self.line(if stored { "i32.store" } else { "drop" });
        if live {
            self.trace.push(Event::Site(k, stored));
        }
        Ok(())
    }
    /// A sequence that leaves `result` on its frame (events recorded when
    /// `live`); returns the value it leaves.
    fn seq(&mut self, depth: u32, live: bool, result: Option<T>) -> Result<Option<Val>> {
        let mut stack: Vec<Val> = Vec::new();
        while self.budget > 0 && self.u.ratio(7, 8)? {
            self.budget -= 1;
            match self.u.int_in_range(0..=5)? {
                0 | 1 if stack.len() < MAX_FRAME_VALUES => {
                    let t = self.ty()?;
                    let v = self.konst(t)?;
                    let _ = writeln!(self.out, "{}.const {}", t.name(), v.text);
                    stack.push(v);
                }
                2 if !stack.is_empty() => {
                    let v = stack.pop().unwrap();
                    self.check(&v);
                }
                3 if self.sites < MAX_SITES => {
                    let stored = self.u.ratio(3, 4)?;
                    self.site(live, stored)?;
                }
                4 => {
                    let v: i64 = self.u.arbitrary()?;
                    let _ = writeln!(
                        self.out,
                        "local.get $acc\ni64.const {v}\ni64.add\nlocal.set $acc"
                    );
                    if live {
                        self.trace.push(Event::Acc(v));
                    }
                }
                5 if depth < MAX_DEPTH && stack.len() < MAX_FRAME_VALUES => {
                    let res = if self.u.arbitrary()? {
                        Some(self.ty()?)
                    } else {
                        None
                    };
                    let rt = res.map_or(String::new(), |t| format!(" (result {})", t.name()));
                    let v = match self.u.int_in_range(0..=2)? {
                        0 | 1 => {
                            let kw = if self.u.arbitrary()? { "block" } else { "loop" };
                            let _ = writeln!(self.out, "{kw}{rt}");
                            let v = self.seq(depth + 1, live, res)?;
                            self.line("end");
                            v
                        }
                        _ => {
                            let cond: bool = self.u.arbitrary()?;
                            let _ = writeln!(self.out, "i32.const {}\nif{rt}", u8::from(cond));
                            let a = self.seq(depth + 1, live && cond, res)?;
                            self.line("else");
                            let b = self.seq(depth + 1, live && !cond, res)?;
                            self.line("end");
                            if cond {
                                a
                            } else {
                                b
                            }
                        }
                    };
                    stack.extend(v);
                }
                _ => {}
            }
        }
        while let Some(v) = stack.pop() {
            self.check(&v);
        }
        match result {
            None => Ok(None),
            Some(t) => {
                let v = self.konst(t)?;
                let _ = writeln!(self.out, "{}.const {}", t.name(), v.text);
                Ok(Some(v))
            }
        }
    }
}

/// A program (WAT) from `u`, with the number of checks it makes.
pub fn generate(u: &mut Unstructured) -> Result<String> {
    let mut g = Gen {
        u,
        out: String::new(),
        trace: Vec::new(),
        sites: 0,
        checks: 0,
        budget: 120,
    };
    g.seq(0, true, None)?;
    // The passes: pass 0 runs everything; each later one re-enters at the
    // call the previous pass jumped to, which returns the jump's value.
    let site_positions: Vec<usize> = (0..g.trace.len())
        .filter(|i| matches!(g.trace[*i], Event::Site(..)))
        .collect();
    let passes = if site_positions.is_empty() {
        0
    } else {
        g.u.int_in_range(0..=MAX_PASSES)?
    };
    let mut acc: i64 = 0;
    let mut stored = [0i32; MAX_SITES as usize];
    let mut start = (0usize, 0i32);
    for p in 0..=passes {
        for (i, e) in g.trace[start.0..].iter().enumerate() {
            match *e {
                Event::Acc(v) => acc = acc.wrapping_add(v),
                Event::Site(k, true) => {
                    stored[k as usize] = if p > 0 && i == 0 { start.1 } else { 0 };
                }
                Event::Site(_, false) => {}
            }
        }
        let _ = writeln!(
            g.out,
            "global.get $pass\ni32.const {p}\ni32.eq\nif\ni32.const {}\nglobal.set $pass",
            p + 1
        );
        g.checks += 1;
        let _ = writeln!(
            g.out,
            "local.get $acc\ni64.const {acc}\ni64.eq\ni32.const {}\ncall $check",
            g.checks
        );
        for e in g.trace.iter() {
            if let Event::Site(k, true) = *e {
                g.checks += 1;
                let _ = writeln!(
                    g.out,
                    "i32.const {}\ni32.load\ni32.const {}\ni32.eq\ni32.const {}\ncall $check",
                    result_addr(k),
                    stored[k as usize],
                    g.checks
                );
            }
        }
        if p < passes {
            let pos = *g.u.choose(&site_positions)?;
            let Event::Site(k, _) = g.trace[pos] else {
                unreachable!()
            };
            let val: i32 = g.u.arbitrary()?;
            let callee = if g.u.arbitrary()? {
                "$jump"
            } else {
                "$longjmp"
            };
            let _ = writeln!(
                g.out,
                "i32.const {}\ni32.const {val}\ncall {callee}",
                env_addr(k)
            );
            start = (pos, if val == 0 { 1 } else { val });
        }
        g.line("end");
    }
    g.checks += 1;
    let _ = writeln!(
        g.out,
        "global.get $pass\ni32.const {}\ni32.eq\ni32.const {}\ncall $check",
        passes + 1,
        g.checks
    );
    Ok(format!(
        r#"(module
  (import "wali" "setjmp" (func $setjmp (param i32) (result i32)))
  (import "wali" "sigsetjmp" (func $sigsetjmp (param i32 i32) (result i32)))
  (import "wali" "longjmp" (func $longjmp (param i32 i32)))
  (import "fuzz" "fail" (func $fail (param i32)))
  (memory (export "memory") 1)
  (global $__stack_pointer (mut i32) (i32.const 65536))
  (global $pass (mut i32) (i32.const 0))
  (func $jump (param i32 i32) (call $longjmp (local.get 0) (local.get 1)))
  (func $check (param i32 i32)
    (if (i32.eqz (local.get 0)) (then (call $fail (local.get 1)))))
  (func (export "f") (local $acc i64)
{}  )
)"#,
        g.out
    ))
}

/// Runs `f` of a transformed program on wasmtime: `Err` names the failed
/// check (or the trap).
pub fn run(wasm: &[u8]) -> std::result::Result<(), String> {
    use wasmtime::{Caller, Config, Engine, Linker, Module, Store};
    let mut c = Config::new();
    c.wasm_exceptions(true);
    // the signal-poll transform's flag lives in a shared memory of its own
    c.wasm_threads(true);
    c.shared_memory(true);
    let engine = Engine::new(&c).map_err(|e| format!("engine: {e}"))?;
    let module = Module::new(&engine, wasm).map_err(|e| format!("compile: {e:#}"))?;
    let mut linker: Linker<()> = Linker::new(&engine);
    let err = |e: wasmtime::Error| format!("link: {e}");
    linker
        .func_wrap("wali", "__wali_sjlj_sigsave", |_: i32, _: i32| 0i32)
        .map_err(err)?;
    linker
        .func_wrap("wali", "__wali_sjlj_longjmp", |_: i32, _: i32| {})
        .map_err(err)?;
    linker
        .func_wrap(
            "fuzz",
            "fail",
            |_: Caller<'_, ()>, code: i32| -> wasmtime::Result<()> {
                Err(wasmtime::Error::msg(format!("check {code} failed")))
            },
        )
        .map_err(err)?;
    // setjmp itself is no longer called; anything else traps
    linker
        .define_unknown_imports_as_traps(&module)
        .map_err(err)?;
    let mut store = Store::new(&engine, ());
    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(|e| format!("instantiate: {e:#}"))?;
    let f = instance
        .get_typed_func::<(), ()>(&mut store, "f")
        .map_err(|e| format!("export f: {e}"))?;
    f.call(&mut store, ()).map_err(|e| format!("{e:#}"))
}
