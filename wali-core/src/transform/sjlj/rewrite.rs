//! Code generation: a setjmp-calling function rewritten to be
//! re-entered at any of its setjmp calls.

use super::analysis::{merge, on_path, site_of, stack_at, tree, Body, Node};
use super::emit::{mem, plain, Emit};
use super::Ctx;
use crate::transform::jmpbuf;
use crate::transform::module::{enc_val, ModuleInfo, Plan, Sig};
use std::collections::HashMap;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{BlockType, Function, Instruction as I};
use wasmparser::{Operator, ValType};

fn block_type(plan: &mut Plan, info: &ModuleInfo, results: &[ValType]) -> BlockType {
    match results {
        [] => BlockType::Empty,
        [t] => BlockType::Result(enc_val(*t)),
        many => BlockType::FunctionType(plan.type_index(
            info,
            Sig {
                params: vec![],
                results: many.to_vec(),
            },
        )),
    }
}

pub(super) fn rewrite<'a>(
    info: &ModuleInfo,
    plan: &mut Plan,
    ctx: &Ctx,
    func: u32,
    body: &Body<'a>,
) -> Result<Function, String> {
    let is_site = |op: &Operator| matches!(op, Operator::Call { function_index } if Some(*function_index) == ctx.sj || Some(*function_index) == ctx.ssj);
    let mut sites = HashMap::new();
    let top = tree(&body.ops, &is_site, &mut sites)?;
    let nlocals = body.params.len() as u32 + body.locals.iter().map(|l| l.0).sum::<u32>();
    let results = body.results.clone();
    let func_bt = block_type(plan, info, &results);
    let caught_bt = block_type(plan, info, &[ValType::I32, ValType::I32]);
    let frozen: &Plan = plan;
    let mut em = Emit {
        f: Vec::new(),
        frames: vec![true],
        extra_locals: Vec::new(),
        first_extra: nlocals,
        pool: HashMap::new(),
        below: Vec::new(),
        label: 0,
        value: 0,
        token: 0,
        plan: frozen,
        func,
        new_sp: None,
        raises: false,
    };
    em.label = em.local(ValType::I32);
    em.value = em.local(ValType::I32);
    em.token = em.local(ValType::I32);
    let env = em.local(ValType::I32);
    let val = em.local(ValType::I32);
    // the function's entry check (a re-entry by longjmp does not pass here)
    if em.plan.at_entry(func) {
        let entry = em.plan.poll_instructions(body.ops.len() as u32);
        em.f.extend(entry);
    }
    // token = ++counter
    em.f.extend([
        I::GlobalGet(ctx.counter),
        I::I32Const(1),
        I::I32Add,
        I::LocalTee(em.token),
        I::GlobalSet(ctx.counter),
    ]);
    em.f.push(I::Block(func_bt));
    em.frames.push(false);
    em.f.push(I::Loop(BlockType::Empty));
    em.frames.push(false);
    em.f.push(I::Block(caught_bt));
    em.frames.push(false);
    em.f.push(I::TryTable(
        func_bt,
        vec![wasm_encoder::Catch::One {
            tag: ctx.tag,
            label: 0,
        }]
        .into(),
    ));
    em.frames.push(false);
    seq(
        &mut em,
        body,
        ctx,
        &sites,
        &top,
        0,
        body.ops.len() - 1,
        &results,
    )?;
    em.f.push(I::End); // try_table
    em.frames.pop();
    em.f.push(I::Br(2));
    em.f.push(I::End); // $caught: [env, val]
    em.frames.pop();
    em.f.extend([I::LocalSet(val), I::LocalSet(env)]);
    // not this activation's: rethrow
    em.f.extend([
        I::LocalGet(env),
        I::I32Load(mem(jmpbuf::TOKEN)),
        I::LocalGet(em.token),
        I::I32Ne,
        I::If(BlockType::Empty),
    ]);
    em.f.extend([
        I::LocalGet(env),
        I::LocalGet(val),
        I::Throw(ctx.tag),
        I::End,
    ]);
    em.f.extend([
        I::LocalGet(env),
        I::I32Load(mem(jmpbuf::SP)),
        I::GlobalSet(ctx.sp),
    ]);
    em.f.extend([
        I::LocalGet(env),
        I::I32Load(mem(jmpbuf::SITE)),
        I::LocalSet(em.label),
    ]);
    em.f.extend([
        // val != 0 ? val : 1
        I::LocalGet(val),
        I::I32Const(1),
        I::LocalGet(val),
        I::Select,
        I::LocalSet(em.value),
    ]);
    em.f.push(I::Br(0));
    em.f.push(I::End); // loop
    em.frames.pop();
    em.f.push(I::Unreachable);
    em.f.push(I::End); // $done
    em.frames.pop();
    em.f.push(I::End); // function
    let mut locals: Vec<(u32, wasm_encoder::ValType)> =
        body.locals.iter().map(|(n, t)| (*n, enc_val(*t))).collect();
    locals.extend(em.extra_locals.iter().map(|t| (1, enc_val(*t))));
    let mut f = Function::new(locals);
    for i in &em.f {
        f.instruction(i);
    }
    Ok(f)
}

/// Emits a sequence of nodes at nesting `level`, closed by op `close`
/// (`end`/`else`), whose frame yields `results`.
#[allow(clippy::too_many_arguments)]
fn seq<'a>(
    em: &mut Emit<'_, 'a>,
    body: &Body<'a>,
    ctx: &Ctx,
    sites: &HashMap<usize, u32>,
    nodes: &[Node],
    level: usize,
    close: usize,
    results: &[ValType],
) -> Result<(), String> {
    let mut boundary: Vec<ValType> = Vec::new();
    let mut i = 0;
    while i < nodes.len() {
        if !on_path(&nodes[i], sites) {
            let mut j = i;
            while j < nodes.len() && !on_path(&nodes[j], sites) {
                j += 1;
            }
            let end_types = if j < nodes.len() {
                let start = match &nodes[j] {
                    Node::Op(k) => *k,
                    Node::Cons { start, .. } => *start,
                };
                stack_at(body, start)?
            } else {
                body.stacks
                    .get(&close)
                    .cloned()
                    .flatten()
                    .unwrap_or_else(|| results.to_vec())
            };
            em.f.push(I::LocalGet(em.label));
            em.f.push(I::I32Eqz);
            em.f.push(I::If(BlockType::Empty));
            em.frames.push(false);
            em.reload(level, &boundary);
            for n in &nodes[i..j] {
                plain(em, body, n)?;
            }
            em.spill(level, &end_types);
            em.f.push(I::End);
            em.frames.pop();
            boundary = end_types;
            i = j;
            continue;
        }
        match &nodes[i] {
            Node::Op(k) => {
                let st = stack_at(body, *k)?;
                let site = sites[k];
                let sig = matches!(body.ops[*k], Operator::Call { function_index } if Some(function_index) == ctx.ssj);
                let c = if sig { 2 } else { 1 };
                if st.len() < c || st[st.len() - c..].iter().any(|t| *t != ValType::I32) {
                    return Err("unexpected operands at setjmp".into());
                }
                let envl = em.slot(level, st.len() - c, ValType::I32);
                // the values live across the call, kept at each call and
                // put back at each return by longjmp
                let keep = em.keep_at_site(level, &st[..st.len() - c]);
                em.f.extend([
                    I::LocalGet(em.label),
                    I::I32Const(site as i32),
                    I::I32Eq,
                    I::If(BlockType::Result(wasm_encoder::ValType::I32)),
                ]);
                em.frames.push(false);
                em.f.extend([I::I32Const(0), I::LocalSet(em.label)]);
                for (slot, kept) in &keep {
                    em.f.extend([I::LocalGet(*kept), I::LocalSet(*slot)]);
                }
                em.f.push(I::LocalGet(em.value));
                em.f.push(I::Else);
                // the call itself, when not passed on the way to a later
                // call (which must not re-arm this call's buffer, nor take
                // its values from slots that hold others by now)
                em.f.extend([I::LocalGet(em.label), I::I32Eqz, I::If(BlockType::Empty)]);
                em.frames.push(false);
                for (slot, kept) in &keep {
                    em.f.extend([I::LocalGet(*slot), I::LocalSet(*kept)]);
                }
                em.f.extend([
                    I::LocalGet(envl),
                    I::LocalGet(em.token),
                    I::I32Store(mem(jmpbuf::TOKEN)),
                ]);
                em.f.extend([
                    I::LocalGet(envl),
                    I::I32Const(site as i32),
                    I::I32Store(mem(jmpbuf::SITE)),
                ]);
                em.f.extend([
                    I::LocalGet(envl),
                    I::GlobalGet(ctx.sp),
                    I::I32Store(mem(jmpbuf::SP)),
                ]);
                if sig {
                    let saves = em.slot(level, st.len() - 1, ValType::I32);
                    em.f.extend([
                        I::LocalGet(envl),
                        I::LocalGet(saves),
                        I::Call(ctx.ssj.unwrap()),
                        I::Drop,
                    ]);
                } else {
                    em.f.extend([
                        I::LocalGet(envl),
                        I::I32Const(0),
                        I::I32Store(mem(jmpbuf::MASK_SAVED)),
                    ]);
                }
                em.f.push(I::End);
                em.frames.pop();
                em.f.push(I::I32Const(0));
                em.f.push(I::End);
                em.frames.pop();
                let mut after = st[..st.len() - c].to_vec();
                after.push(ValType::I32);
                let l = em.slot(level, after.len() - 1, ValType::I32);
                em.f.push(I::LocalSet(l));
                boundary = after;
            }
            Node::Cons {
                start,
                end,
                body: inner,
                else_body,
                lo,
                hi,
            } => {
                let st = stack_at(body, *start)?;
                let (bt, kind_if, kind_loop) = match &body.ops[*start] {
                    Operator::Block { blockty } => (*blockty, false, false),
                    Operator::Loop { blockty } => (*blockty, false, true),
                    Operator::If { blockty } => (*blockty, true, false),
                    _ => return Err("bad construct".into()),
                };
                let (params, cres): (Vec<ValType>, Vec<ValType>) = match bt {
                    wasmparser::BlockType::Empty => (vec![], vec![]),
                    wasmparser::BlockType::Type(t) => (vec![], vec![t]),
                    wasmparser::BlockType::FuncType(_) => {
                        return Err("block with a function type".into())
                    }
                };
                debug_assert!(params.is_empty());
                let c = usize::from(kind_if);
                if st.len() < c {
                    return Err("bad if operands".into());
                }
                em.in_range(*lo, *hi);
                em.f.push(I::If(BlockType::Empty));
                em.frames.push(false);
                if kind_if {
                    // the arm holding the target call is taken on re-entry
                    let cond = em.slot(level, st.len() - 1, ValType::I32);
                    let then_sites = inner
                        .iter()
                        .filter_map(|n| n.sites().or_else(|| site_of(n, sites)))
                        .fold(None, merge);
                    em.f.extend([
                        I::LocalGet(em.label),
                        I::I32Eqz,
                        I::If(BlockType::Result(wasm_encoder::ValType::I32)),
                    ]);
                    em.frames.push(false);
                    em.f.push(I::LocalGet(cond));
                    em.f.push(I::Else);
                    match then_sites {
                        Some((a, b)) => {
                            em.f.extend([
                                I::LocalGet(em.label),
                                I::I32Const(a as i32),
                                I::I32Sub,
                                I::I32Const((b - a) as i32),
                                I::I32LeU,
                            ]);
                        }
                        None => em.f.push(I::I32Const(0)),
                    }
                    em.f.push(I::End);
                    em.frames.pop();
                }
                let ebt = RoundtripReencoder
                    .block_type(bt)
                    .map_err(|e| e.to_string())?;
                em.f.push(if kind_if {
                    I::If(ebt)
                } else if kind_loop {
                    I::Loop(ebt)
                } else {
                    I::Block(ebt)
                });
                em.frames.push(true);
                if kind_loop {
                    let cost = end.saturating_sub(*start) as u32;
                    em.f.extend(em.plan.poll_instructions(cost));
                }
                let first_close = else_body.as_ref().map_or(*end, |(e, _)| *e);
                em.below.push((level, st[..st.len() - c].to_vec()));
                seq(em, body, ctx, sites, inner, level + 1, first_close, &cres)?;
                if let Some((_, eb)) = else_body {
                    em.f.push(I::Else);
                    seq(em, body, ctx, sites, eb, level + 1, *end, &cres)?;
                }
                em.below.pop();
                em.f.push(I::End);
                em.frames.pop();
                let mut after = st[..st.len() - c].to_vec();
                after.extend(cres.iter().copied());
                em.spill_from(level, st.len() - c, &cres);
                em.f.push(I::End);
                em.frames.pop();
                boundary = after;
            }
        }
        i += 1;
    }
    em.reload(level, &boundary);
    Ok(())
}
