//! Writing a function body again with its legacy exception handling in the
//! standard encoding (the scheme is in the parent module).

use super::{scan, Scan, Target};
use crate::transform::module::{enc_val, encoded_locals, ModuleInfo, Plan, Sig};
use std::collections::HashMap;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{BlockType, Catch, Function, Instruction as I};
use wasmparser::{FunctionBody, Operator, ValType};

/// An original construct being written (the function's body first).
struct Open {
    /// Its first operator (`usize::MAX`: the function).
    start: usize,
    /// A `try` with catch clauses: the frame of its `$outer` block.
    outer: Option<usize>,
    /// The catch clauses passed so far.
    clause: usize,
    /// While its body is open and delegates pass exceptions to it: the
    /// frame of the `$D` block around the body.
    d: Option<usize>,
}

impl Open {
    fn new(start: usize) -> Open {
        Open {
            start,
            outer: None,
            clause: 0,
            d: None,
        }
    }
}

struct Em<'m, 'p> {
    info: &'m ModuleInfo<'m>,
    plan: &'p mut Plan,
    scan: Scan,
    f: Function,
    /// The new control frames from the outermost: true for the one that
    /// stands for an original label (so branches keep their targets).
    frames: Vec<bool>,
    opens: Vec<Open>,
    /// The exnref local of each catch nesting level.
    exn: HashMap<u32, u32>,
}

/// The body of `func` rewritten (`ops`: its operators).
pub(super) fn function(
    info: &ModuleInfo,
    plan: &mut Plan,
    func: u32,
    body: &FunctionBody,
    ops: &[Operator],
) -> Result<Function, String> {
    let scan = scan(ops)?;
    let (mut locals, mut next) = encoded_locals(info, func, body)?;
    let mut exn = HashMap::new();
    let mut levels: Vec<u32> = scan
        .constructs
        .values()
        .filter(|c| c.rethrown)
        .map(|c| c.level)
        .collect();
    levels.sort_unstable();
    levels.dedup();
    for level in levels {
        exn.insert(level, next);
        locals.push((1, wasm_encoder::ValType::EXNREF));
        next += 1;
    }
    let mut em = Em {
        info,
        plan,
        f: Function::new(locals),
        frames: vec![true],
        opens: vec![Open::new(usize::MAX)],
        exn,
        scan,
    };
    if em.scan.func_target {
        em.open_d(&[])?;
    }
    for (i, op) in ops.iter().enumerate() {
        em.op(i, op)?;
    }
    if !em.opens.is_empty() {
        return Err("function body without end".into());
    }
    Ok(em.f)
}

impl Em<'_, '_> {
    fn emit(&mut self, i: &I) {
        self.f.instruction(i);
    }

    fn op(&mut self, i: usize, op: &Operator) -> Result<(), String> {
        match op {
            Operator::Try { blockty } => self.try_(i, *blockty),
            Operator::Catch { .. } | Operator::CatchAll => self.catch(),
            Operator::Delegate { .. } => {
                self.close_body()?;
                self.opens.pop();
                Ok(())
            }
            Operator::Rethrow { relative_depth } => {
                let o = self
                    .opens
                    .len()
                    .checked_sub(1 + *relative_depth as usize)
                    .map(|k| self.opens[k].start)
                    .ok_or("rethrow to a label out of range")?;
                let level = self.scan.constructs.get(&o).ok_or("rethrow target")?.level;
                let l = *self.exn.get(&level).ok_or("rethrow without a local")?;
                self.emit(&I::LocalGet(l));
                self.emit(&I::ThrowRef);
                Ok(())
            }
            Operator::End => self.end(),
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                self.copy(op)?;
                self.frames.push(true);
                self.opens.push(Open::new(i));
                Ok(())
            }
            Operator::TryTable { try_table } => {
                self.copy(op)?;
                self.frames.push(true);
                self.opens.push(Open::new(i));
                if self.scan.constructs.get(&i).is_some_and(|c| c.target) {
                    let (params, _) = self.sig(try_table.ty)?;
                    self.open_d(&params)?;
                }
                Ok(())
            }
            _ => self.copy(op),
        }
    }

    /// Writes `op` with its label depths re-aimed.
    fn copy(&mut self, op: &Operator) -> Result<(), String> {
        let i = RoundtripReencoder
            .instruction(op.clone())
            .map_err(|e| e.to_string())?;
        let d = |x: u32| self.depth(x);
        let i = match i {
            I::Br(x) => I::Br(d(x)?),
            I::BrIf(x) => I::BrIf(d(x)?),
            I::BrOnNull(x) => I::BrOnNull(d(x)?),
            I::BrOnNonNull(x) => I::BrOnNonNull(d(x)?),
            I::BrTable(ts, x) => {
                let ts = ts.iter().map(|t| d(*t)).collect::<Result<Vec<_>, _>>()?;
                I::BrTable(ts.into(), d(x)?)
            }
            I::BrOnCast {
                relative_depth,
                from_ref_type,
                to_ref_type,
            } => I::BrOnCast {
                relative_depth: d(relative_depth)?,
                from_ref_type,
                to_ref_type,
            },
            I::BrOnCastFail {
                relative_depth,
                from_ref_type,
                to_ref_type,
            } => I::BrOnCastFail {
                relative_depth: d(relative_depth)?,
                from_ref_type,
                to_ref_type,
            },
            I::TryTable(bt, catches) => {
                let mut cs = Vec::new();
                for c in catches.iter() {
                    cs.push(match *c {
                        Catch::One { tag, label } => Catch::One {
                            tag,
                            label: d(label)?,
                        },
                        Catch::OneRef { tag, label } => Catch::OneRef {
                            tag,
                            label: d(label)?,
                        },
                        Catch::All { label } => Catch::All { label: d(label)? },
                        Catch::AllRef { label } => Catch::AllRef { label: d(label)? },
                    });
                }
                I::TryTable(bt, cs.into())
            }
            I::BrOnCastDescEq { .. }
            | I::BrOnCastDescEqFail { .. }
            | I::Resume { .. }
            | I::ResumeThrow { .. }
            | I::ResumeThrowRef { .. } => {
                return Err("branching instructions of other proposals".into())
            }
            other => other,
        };
        self.emit(&i);
        Ok(())
    }

    /// The new depth of the original label at relative depth `d`.
    fn depth(&self, d: u32) -> Result<u32, String> {
        self.frames
            .iter()
            .rev()
            .enumerate()
            .filter(|(_, orig)| **orig)
            .nth(d as usize)
            .map(|(k, _)| k as u32)
            .ok_or_else(|| "branch to a label out of range".into())
    }

    /// The relative depth of new frame `frame`.
    fn to(&self, frame: usize) -> u32 {
        (self.frames.len() - 1 - frame) as u32
    }

    fn sig(&self, bt: wasmparser::BlockType) -> Result<(Vec<ValType>, Vec<ValType>), String> {
        Ok(match bt {
            wasmparser::BlockType::Empty => (vec![], vec![]),
            wasmparser::BlockType::Type(t) => (vec![], vec![t]),
            wasmparser::BlockType::FuncType(i) => {
                let s = self
                    .info
                    .types
                    .get(i as usize)
                    .and_then(|t| t.as_ref())
                    .ok_or("block type is not a function type")?;
                (s.params.clone(), s.results.clone())
            }
        })
    }

    fn block_type(&mut self, params: &[ValType], results: &[ValType]) -> BlockType {
        match (params, results) {
            ([], []) => BlockType::Empty,
            ([], [t]) => BlockType::Result(enc_val(*t)),
            _ => BlockType::FunctionType(self.plan.type_index(
                self.info,
                Sig {
                    params: params.to_vec(),
                    results: results.to_vec(),
                },
            )),
        }
    }

    /// Opens `$D` around the body of the innermost open construct.
    fn open_d(&mut self, params: &[ValType]) -> Result<(), String> {
        let bt = self.block_type(params, &[ValType::EXNREF]);
        self.emit(&I::Block(bt));
        self.frames.push(false);
        self.opens.last_mut().ok_or("no construct")?.d = Some(self.frames.len() - 1);
        Ok(())
    }

    /// Ends the body of the innermost open construct: `$D` (its exception
    /// rethrown inside the construct), then the construct's frame.
    fn close_body(&mut self) -> Result<(), String> {
        let o = self.opens.last_mut().ok_or("unbalanced end")?;
        if o.d.take().is_some() {
            // the body's results go past the rethrow
            self.emit(&I::Br(1));
            self.emit(&I::End);
            self.emit(&I::ThrowRef);
            self.frames.pop();
        }
        self.emit(&I::End);
        self.frames.pop();
        Ok(())
    }

    fn try_(&mut self, i: usize, blockty: wasmparser::BlockType) -> Result<(), String> {
        let c = self.scan.constructs.get(&i).ok_or("unscanned try")?;
        let (clauses, delegate, rethrown, target) =
            (c.clauses.clone(), c.delegate, c.rethrown, c.target);
        let (params, _) = self.sig(blockty)?;
        let bt = RoundtripReencoder
            .block_type(blockty)
            .map_err(|e| e.to_string())?;
        let mut open = Open::new(i);
        if let Some(to) = delegate {
            let d = match to {
                Target::Func => self.opens.first().and_then(|o| o.d),
                Target::Construct(s) => self
                    .opens
                    .iter()
                    .rev()
                    .find(|o| o.start == s)
                    .and_then(|o| o.d),
            }
            .ok_or("delegate target not open")?;
            let label = self.to(d);
            self.emit(&I::TryTable(bt, vec![Catch::AllRef { label }].into()));
            self.frames.push(true);
        } else if clauses.is_empty() {
            self.emit(&I::Block(bt));
            self.frames.push(true);
        } else {
            self.emit(&I::Block(bt));
            self.frames.push(false);
            open.outer = Some(self.frames.len() - 1);
            // a block per clause, the first innermost: its end is where
            // the clause's catch body starts
            for clause in clauses.iter().rev() {
                let mut results = match clause {
                    Some(tag) => self.payload(*tag)?,
                    None => vec![],
                };
                if rethrown {
                    results.push(ValType::EXNREF);
                }
                let bt = self.block_type(&params, &results);
                self.emit(&I::Block(bt));
                self.frames.push(false);
            }
            let catches: Vec<Catch> = clauses
                .iter()
                .enumerate()
                .map(|(k, clause)| {
                    let label = k as u32;
                    match (clause, rethrown) {
                        (Some(tag), false) => Catch::One { tag: *tag, label },
                        (Some(tag), true) => Catch::OneRef { tag: *tag, label },
                        (None, false) => Catch::All { label },
                        (None, true) => Catch::AllRef { label },
                    }
                })
                .collect();
            self.emit(&I::TryTable(bt, catches.into()));
            self.frames.push(true);
        }
        self.opens.push(open);
        if target {
            self.open_d(&params)?;
        }
        Ok(())
    }

    fn payload(&self, tag: u32) -> Result<Vec<ValType>, String> {
        self.info
            .tag_types
            .get(tag as usize)
            .and_then(|t| self.info.types.get(*t as usize))
            .and_then(|t| t.as_ref())
            .map(|s| s.params.clone())
            .ok_or_else(|| format!("tag {tag} without a function type"))
    }

    /// `catch`/`catch_all`: the previous body (the try's or a catch's) ends
    /// at `$outer`; this clause's body starts after its block.
    fn catch(&mut self) -> Result<(), String> {
        let o = self.opens.last().ok_or("catch outside a try")?;
        let (start, outer, first) = (
            o.start,
            o.outer.ok_or("catch in a try without clauses")?,
            o.clause == 0,
        );
        if first {
            self.close_body()?;
        }
        self.emit(&I::Br(self.to(outer)));
        self.emit(&I::End);
        self.frames.pop();
        let c = &self.scan.constructs[&start];
        if c.rethrown {
            let l = *self.exn.get(&c.level).ok_or("no exnref local")?;
            self.emit(&I::LocalSet(l));
        }
        self.frames[outer] = true;
        if let Some(o) = self.opens.last_mut() {
            o.clause += 1;
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), String> {
        let o = self.opens.last().ok_or("unbalanced end")?;
        if o.start == usize::MAX {
            if o.d.is_some() {
                // exceptions delegated to the caller
                self.emit(&I::Return);
                self.emit(&I::End);
                self.emit(&I::ThrowRef);
                self.frames.pop();
            }
            self.emit(&I::End);
            self.frames.pop();
        } else if o.outer.is_some() {
            // after the last catch body: only `$outer` is left
            self.emit(&I::End);
            self.frames.pop();
        } else {
            self.close_body()?;
        }
        self.opens.pop();
        Ok(())
    }
}
