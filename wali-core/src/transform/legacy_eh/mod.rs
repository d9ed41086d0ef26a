//! Legacy wasm exception handling (`try`/`catch`/`catch_all`/`rethrow`/
//! `delegate`, LLVM's default `-fwasm-exceptions` encoding) rewritten into
//! the standard one (`try_table`, `exnref`, `throw_ref`), which the engines
//! run; as binaryen's translate-to-exnref pass does.
//!
//! ```text
//! try bt                        block $outer bt
//!   B                             block $l_all (P -> [exnref])      ;; [exnref] only
//! catch $t                          block $l_t (P -> [T.. exnref])  ;; if rethrown
//!   C_t                               try_table bt (catch_ref $t $l_t)
//! catch_all                                        (catch_all_ref $l_all)
//!   C_all                               B
//! end                                 end
//!                                     br $outer
//!                                   end
//!                                   local.set $exn_k  C_t  br $outer
//!                                 end
//!                                 local.set $exn_k  C_all
//!                               end
//! ```
//!
//! The catch bodies run with the payload on the stack, as before, and a
//! branch to the try's label reaches `$outer` from them (`try_table` from
//! the body). The exception is kept (`catch_ref`) only when a catch body
//! rethrows it, in a local per catch nesting level `k`: `rethrow N` is
//! `local.get $exn_k; throw_ref`.
//!
//! `try bt B delegate N` is `try_table bt (catch_all_ref $D) B end`, where
//! `$D` (a `block (result exnref)` followed by `throw_ref`) wraps the body
//! of the handler the exception goes to: the nearest `try` (in its body)
//! or `try_table` at or outside label `N`, or the whole function (then the
//! `throw_ref` reaches the caller).

mod emit;

use super::module::{with_all_features, ModuleInfo, Plan};
use super::Error;
use std::collections::HashMap;
use wasmparser::Operator;

/// Rewrites every function using legacy exception handling; returns the
/// new module and how many functions changed, or `None` when none uses it.
pub fn translate(wasm: &[u8], info: &ModuleInfo) -> Result<Option<(Vec<u8>, usize)>, Error> {
    let mut plan = Plan::default();
    // which bodies have a `try` (read side by side; few or none do)
    let uses = super::module::par::map(info.bodies.len(), |i| {
        let body = with_all_features(&info.bodies[i]);
        let mut r = body.get_operators_reader()?;
        while !r.eof() {
            if matches!(r.read()?, Operator::Try { .. }) {
                return Ok(true);
            }
        }
        Ok::<_, Error>(false)
    });
    for (i, (body, uses)) in info.bodies.iter().zip(uses).enumerate() {
        if !uses? {
            continue;
        }
        let body = with_all_features(body);
        let mut r = body.get_operators_reader()?;
        let mut ops = Vec::new();
        while !r.eof() {
            ops.push(r.read()?);
        }
        let func = info.num_func_imports + i as u32;
        let f = emit::function(info, &mut plan, func, &body, &ops)
            .map_err(|why| Error(format!("legacy exceptions in function {func}: {why}")))?;
        plan.bodies.insert(func, f);
    }
    if plan.bodies.is_empty() {
        return Ok(None);
    }
    let n = plan.bodies.len();
    Ok(Some((super::module::rebuild(wasm, info, &plan)?, n)))
}

/// Where an exception a `delegate` passes on goes: the body of a `try`
/// or `try_table` (by the index of its first operator), or the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Func,
    Construct(usize),
}

/// What the rewrite needs to know about a `try` or `try_table`.
#[derive(Default, Debug)]
struct Construct {
    /// A `try`'s catch clauses in order: the tag, or `None` for `catch_all`.
    clauses: Vec<Option<u32>>,
    /// A `try` ending with `delegate`, and where to.
    delegate: Option<Target>,
    /// A catch body rethrows the exception: kept as an exnref.
    rethrown: bool,
    /// The catch nesting level of the catch bodies (0: in none).
    level: u32,
    /// Some delegate passes exceptions to this construct's handlers.
    target: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Func,
    Plain,
    Try,
    TryTable,
}

/// The `try` and `try_table` constructs of a body, by the index of their
/// first operator, and whether delegates go to the caller.
#[derive(Default)]
struct Scan {
    constructs: HashMap<usize, Construct>,
    func_target: bool,
}

fn scan(ops: &[Operator]) -> Result<Scan, String> {
    let mut s = Scan::default();
    // first the clauses of each try, then what refers to which
    let mut stack: Vec<usize> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                stack.push(usize::MAX)
            }
            Operator::Try { .. } | Operator::TryTable { .. } => {
                s.constructs.insert(i, Construct::default());
                stack.push(i);
            }
            Operator::Catch { tag_index } => top(&mut s, &stack)?.clauses.push(Some(*tag_index)),
            Operator::CatchAll => top(&mut s, &stack)?.clauses.push(None),
            Operator::Delegate { .. } => {
                top(&mut s, &stack)?.delegate = Some(Target::Func);
                stack.pop();
            }
            Operator::End => {
                stack.pop();
            }
            _ => {}
        }
    }
    // (kind, first operator, in a catch body)
    let mut stack: Vec<(Kind, usize, bool)> = vec![(Kind::Func, usize::MAX, false)];
    for (i, op) in ops.iter().enumerate() {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                stack.push((Kind::Plain, i, false))
            }
            Operator::Try { .. } => {
                let level = stack.iter().filter(|f| f.2).count() as u32;
                s.constructs.get_mut(&i).ok_or("unscanned try")?.level = level;
                stack.push((Kind::Try, i, false));
            }
            Operator::TryTable { .. } => stack.push((Kind::TryTable, i, false)),
            Operator::Catch { .. } | Operator::CatchAll => {
                stack.last_mut().ok_or("catch outside a try")?.2 = true;
            }
            Operator::Rethrow { relative_depth } => {
                let f = label(&stack, *relative_depth)?;
                if f.0 != Kind::Try || !f.2 {
                    return Err("rethrow to a label that is not a catch".into());
                }
                s.constructs.get_mut(&f.1).ok_or("unscanned try")?.rethrown = true;
            }
            Operator::Delegate { relative_depth } => {
                let (_, me, _) = stack.pop().ok_or("unbalanced delegate")?;
                let at = stack
                    .len()
                    .checked_sub(1 + *relative_depth as usize)
                    .ok_or("delegate to a label out of range")?;
                let mut to = Target::Func;
                for &(kind, start, catching) in stack[..=at].iter().rev() {
                    let handles = match kind {
                        Kind::TryTable => true,
                        Kind::Try => {
                            let c = &s.constructs[&start];
                            !catching && (!c.clauses.is_empty() || c.delegate.is_some())
                        }
                        _ => false,
                    };
                    if handles {
                        to = Target::Construct(start);
                        break;
                    }
                }
                match to {
                    Target::Func => s.func_target = true,
                    Target::Construct(c) => {
                        s.constructs.get_mut(&c).ok_or("no target")?.target = true
                    }
                }
                s.constructs.get_mut(&me).ok_or("unscanned try")?.delegate = Some(to);
            }
            Operator::End => {
                stack.pop();
            }
            _ => {}
        }
    }
    Ok(s)
}

fn top<'s>(s: &'s mut Scan, stack: &[usize]) -> Result<&'s mut Construct, String> {
    stack
        .last()
        .and_then(|i| s.constructs.get_mut(i))
        .ok_or_else(|| "catch or delegate outside a try".into())
}

fn label(stack: &[(Kind, usize, bool)], depth: u32) -> Result<(Kind, usize, bool), String> {
    stack
        .len()
        .checked_sub(1 + depth as usize)
        .map(|i| stack[i])
        .ok_or_else(|| "branch to a label out of range".into())
}
