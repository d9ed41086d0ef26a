//! setjmp/longjmp on wasm exceptions.
//!
//! `longjmp(env, val)` becomes `throw $longjmp(env, val)` (after the host
//! restores a saved signal mask). A function F that calls setjmp is
//! rewritten so that it can be re-entered at any of its setjmp calls:
//!
//! ```text
//! token = ++counter                      ;; identifies this activation of F
//! block $done (result R)
//!   loop $reenter
//!     block $caught (result i32 i32)
//!       try_table (result R) (catch $longjmp $caught)
//!         <F's body, transformed>
//!       end
//!       br $done
//!     end
//!     ;; env, val: ours when env.token == token; else rethrow
//!     label = env.site; value = val ? val : 1; __stack_pointer = env.sp
//!     br $reenter
//!   end
//! end
//! ```
//!
//! F's body is transformed so that, while `label` is not 0, it skips
//! straight to the setjmp call `label` names: every run of instructions
//! not on the way to a setjmp call is guarded by `if (label == 0)`; each
//! construct on the way is entered when `label` is 0 or one of its calls
//! (an `if` takes the arm holding the call); and at the call itself,
//! `label == site` yields `value` instead of calling setjmp. Values on the
//! operand stack at these boundaries live in locals (which keep their
//! values across the re-entry, as C's automatic variables do).

use super::module::{enc_val, ModuleInfo, Plan, Sig};
use super::{imports, jmpbuf, Error, Outcome};
use std::collections::HashMap;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{BlockType, Function, Instruction as I, MemArg};
use wasmparser::{Operator, ValType};

/// Plans the setjmp/longjmp transform.
pub fn plan(
    info: &ModuleInfo,
    wasm: &[u8],
    plan: &mut Plan,
    out: &mut Outcome,
) -> Result<(), Error> {
    let sj = info.import_func("wali", "setjmp");
    let ssj = info.import_func("wali", "sigsetjmp");
    let lj = info.import_func("wali", "longjmp");
    if sj.is_none() && ssj.is_none() && lj.is_none() {
        return Ok(());
    }
    let i32s = |n: usize| vec![ValType::I32; n];
    let ok_sig = |f: Option<u32>, p: usize, r: usize| {
        f.is_none_or(|f| {
            info.sig_of_func(f)
                == Some(&Sig {
                    params: i32s(p),
                    results: i32s(r),
                })
        })
    };
    if !ok_sig(sj, 1, 1) || !ok_sig(ssj, 2, 1) || !ok_sig(lj, 2, 0) {
        out.notes
            .push("setjmp/longjmp not transformed: unexpected import types".into());
        return Ok(());
    }
    if info.num_memories == 0 {
        // the jump buffer lives in memory 0
        out.notes
            .push("setjmp/longjmp not transformed: the module has no memory".into());
        return Ok(());
    }
    // Which functions call setjmp?
    let mut callers = Vec::new();
    for (i, body) in info.bodies.iter().enumerate() {
        let mut r = body.get_operators_reader()?;
        while !r.eof() {
            if let Operator::Call { function_index } = r.read()? {
                if Some(function_index) == sj || Some(function_index) == ssj {
                    callers.push(info.num_func_imports + i as u32);
                    break;
                }
            }
        }
    }
    let Some(sp) = info.stack_pointer() else {
        out.notes
            .push("setjmp/longjmp not transformed: no __stack_pointer global".into());
        return Ok(());
    };
    let tag_ty = plan.type_index(
        info,
        Sig {
            params: i32s(2),
            results: vec![],
        },
    );
    let tag = plan.new_tag(info, tag_ty);
    let counter = plan.new_global(info, 0);
    if let Some(lj) = lj {
        // longjmp(env, val): the host restores a saved mask, then throw.
        let wrapper = plan.next_func(info);
        let mut f = Function::new([]);
        f.instruction(&I::LocalGet(0));
        f.instruction(&I::LocalGet(1));
        f.instruction(&I::Call(lj));
        f.instruction(&I::LocalGet(0));
        f.instruction(&I::LocalGet(1));
        f.instruction(&I::Throw(tag));
        f.instruction(&I::End);
        plan.new_funcs.push((tag_ty, f));
        plan.new_names.push("__wali_longjmp".into());
        plan.call_map.insert(lj, wrapper);
        plan.renames.insert(lj, imports::LONGJMP_PREPARE);
    }
    if let Some(ssj) = ssj {
        plan.renames.insert(ssj, imports::SIGSAVE);
    }
    let bodies = validated_bodies(wasm, &callers)?;
    let ctx = Ctx {
        sj,
        ssj,
        sp,
        tag,
        counter,
    };
    let mut done = 0;
    for f in &callers {
        let Some(body) = bodies.get(f) else { continue };
        match rewrite(info, plan, &ctx, *f, body) {
            Ok(func) => {
                plan.bodies.insert(*f, func);
                done += 1;
            }
            Err(why) => {
                let name = info.func_names.get(f).copied().unwrap_or("?");
                out.notes.push(format!(
                    "setjmp in function {f} ({name}) not transformed: {why}"
                ));
            }
        }
    }
    out.applied.push(format!(
        "setjmp/longjmp: {done} of {} setjmp-calling functions re-enterable; longjmp throws",
        callers.len()
    ));
    out.needs_exceptions = true;
    Ok(())
}

struct Ctx {
    sj: Option<u32>,
    ssj: Option<u32>,
    sp: u32,
    tag: u32,
    counter: u32,
}

/// Operators of a function with, at construct boundaries, the frame's
/// operand types (bottom first; `None` when unreachable or unknown).
struct Body<'a> {
    params: Vec<ValType>,
    results: Vec<ValType>,
    locals: Vec<(u32, ValType)>,
    ops: Vec<Operator<'a>>,
    stacks: HashMap<usize, Option<Vec<ValType>>>,
}

fn validated_bodies<'a>(wasm: &'a [u8], funcs: &[u32]) -> Result<HashMap<u32, Body<'a>>, Error> {
    use wasmparser::{Parser, ValidPayload, Validator, WasmFeatures};
    let mut out = HashMap::new();
    if funcs.is_empty() {
        return Ok(out);
    }
    let mut v = Validator::new_with_features(WasmFeatures::all());
    let mut types: Vec<Option<(Vec<ValType>, Vec<ValType>)>> = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        if let wasmparser::Payload::TypeSection(r) = &payload {
            for rg in r.clone() {
                for st in rg?.into_types() {
                    types.push(match &st.composite_type.inner {
                        wasmparser::CompositeInnerType::Func(f) => {
                            Some((f.params().to_vec(), f.results().to_vec()))
                        }
                        _ => None,
                    });
                }
            }
        }
        if let ValidPayload::Func(to_validate, body) = v.payload(&payload)? {
            if !funcs.contains(&to_validate.index) {
                continue;
            }
            let index = to_validate.index;
            let (params, results) = types
                .get(to_validate.ty as usize)
                .cloned()
                .flatten()
                .unwrap_or_default();
            let mut fv = to_validate.into_validator(Default::default());
            let mut locals = Vec::new();
            let mut lr = body.get_locals_reader()?;
            for _ in 0..lr.get_count() {
                let offset = lr.original_position();
                let (n, t) = lr.read()?;
                fv.define_locals(offset, n, t)?;
                locals.push((n, t));
            }
            let mut ops = Vec::new();
            let mut stacks = HashMap::new();
            let mut r = body.get_operators_reader()?;
            while !r.eof() {
                let (op, offset) = r.read_with_offset()?;
                if matches!(
                    op,
                    Operator::Block { .. }
                        | Operator::Loop { .. }
                        | Operator::If { .. }
                        | Operator::Else
                        | Operator::End
                        | Operator::Call { .. }
                ) {
                    stacks.insert(ops.len(), frame_types(&fv));
                }
                fv.op(offset, &op)?;
                ops.push(op);
            }
            out.insert(
                index,
                Body {
                    params,
                    results,
                    locals,
                    ops,
                    stacks,
                },
            );
        }
    }
    Ok(out)
}

fn frame_types<T: wasmparser::WasmModuleResources>(
    fv: &wasmparser::FuncValidator<T>,
) -> Option<Vec<ValType>> {
    let frame = fv.get_control_frame(0)?;
    if frame.unreachable {
        return None;
    }
    let h = fv.operand_stack_height() as usize;
    let n = h.checked_sub(frame.height)?;
    (0..n)
        .map(|i| fv.get_operand_type(n - 1 - i).flatten())
        .collect()
}

#[derive(Debug)]
enum Node {
    Op(usize),
    Cons {
        start: usize,
        end: usize,
        body: Vec<Node>,
        else_body: Option<(usize, Vec<Node>)>,
        lo: u32,
        hi: u32,
    },
}

impl Node {
    fn sites(&self) -> Option<(u32, u32)> {
        match self {
            Node::Cons { lo, hi, .. } if lo <= hi => Some((*lo, *hi)),
            _ => None,
        }
    }
}

/// Builds the construct tree; numbers setjmp calls 1.. in order.
fn tree(
    ops: &[Operator],
    is_site: &dyn Fn(&Operator) -> bool,
    sites: &mut HashMap<usize, u32>,
) -> Result<Vec<Node>, String> {
    struct Open {
        start: usize,
        body: Vec<Node>,
        else_body: Option<(usize, Vec<Node>)>,
        lo: u32,
    }
    let mut stack: Vec<Open> = vec![Open {
        start: usize::MAX,
        body: vec![],
        else_body: None,
        lo: 1,
    }];
    let mut next_site = 1u32;
    for (i, op) in ops.iter().enumerate() {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                stack.push(Open {
                    start: i,
                    body: vec![],
                    else_body: None,
                    lo: next_site,
                });
            }
            Operator::Else => {
                let top = stack.last_mut().ok_or("unbalanced else")?;
                top.else_body = Some((i, vec![]));
            }
            Operator::End => {
                let open = stack.pop().ok_or("unbalanced end")?;
                if open.start == usize::MAX {
                    if i + 1 != ops.len() {
                        return Err("code after the function's end".into());
                    }
                    return Ok(open.body);
                }
                let node = Node::Cons {
                    start: open.start,
                    end: i,
                    body: open.body,
                    else_body: open.else_body,
                    lo: open.lo,
                    hi: next_site - 1,
                };
                push(stack.last_mut().ok_or("unbalanced end")?, node);
            }
            Operator::Try { .. }
            | Operator::TryTable { .. }
            | Operator::Delegate { .. }
            | Operator::Rethrow { .. }
            | Operator::BrOnNull { .. }
            | Operator::BrOnNonNull { .. }
            | Operator::BrOnCast { .. }
            | Operator::BrOnCastFail { .. } => {
                return Err("uses exception or GC branching instructions".into());
            }
            _ => {
                if is_site(op) {
                    sites.insert(i, next_site);
                    next_site += 1;
                }
                push(stack.last_mut().ok_or("unbalanced")?, Node::Op(i));
            }
        }
    }
    fn push(o: &mut Open, n: Node) {
        match &mut o.else_body {
            Some((_, b)) => b.push(n),
            None => o.body.push(n),
        }
    }
    Err("function body without end".into())
}

struct Emit<'p, 'a> {
    f: Vec<I<'a>>,
    /// Control frames from the outermost: true for the original's.
    frames: Vec<bool>,
    extra_locals: Vec<ValType>,
    first_extra: u32,
    pool: HashMap<(usize, usize, ValType), u32>,
    label: u32,
    value: u32,
    token: u32,
    plan: &'p Plan,
    func: u32,
}

impl<'a> Emit<'_, 'a> {
    fn local(&mut self, t: ValType) -> u32 {
        self.extra_locals.push(t);
        self.first_extra + self.extra_locals.len() as u32 - 1
    }
    fn slot(&mut self, level: usize, pos: usize, t: ValType) -> u32 {
        if let Some(l) = self.pool.get(&(level, pos, t)) {
            return *l;
        }
        let l = self.local(t);
        self.pool.insert((level, pos, t), l);
        l
    }
    fn spill(&mut self, level: usize, types: &[ValType]) {
        for (pos, t) in types.iter().enumerate().rev() {
            let l = self.slot(level, pos, *t);
            self.f.push(I::LocalSet(l));
        }
    }
    fn reload(&mut self, level: usize, types: &[ValType]) {
        for (pos, t) in types.iter().enumerate() {
            let l = self.slot(level, pos, *t);
            self.f.push(I::LocalGet(l));
        }
    }
    /// New depth of original relative depth `d`.
    fn depth(&self, d: u32) -> Result<u32, String> {
        let mut originals = 0;
        for (k, orig) in self.frames.iter().rev().enumerate() {
            if *orig {
                if originals == d {
                    return Ok(k as u32);
                }
                originals += 1;
            }
        }
        Err("branch out of the function".into())
    }
    fn op(&mut self, op: &Operator<'a>) -> Result<(), String> {
        let ins = match op {
            Operator::Br { relative_depth } => I::Br(self.depth(*relative_depth)?),
            Operator::BrIf { relative_depth } => I::BrIf(self.depth(*relative_depth)?),
            Operator::BrTable { targets } => {
                let mut ts = Vec::new();
                for t in targets.targets() {
                    ts.push(self.depth(t.map_err(|e| e.to_string())?)?);
                }
                I::BrTable(ts.into(), self.depth(targets.default())?)
            }
            _ => match self.plan.map_op(self.func, op) {
                Some(i) => i,
                None => RoundtripReencoder
                    .instruction(op.clone())
                    .map_err(|e| e.to_string())?,
            },
        };
        self.f.push(ins);
        Ok(())
    }
    /// `label == 0 || label in [lo, hi]`
    fn in_range(&mut self, lo: u32, hi: u32) {
        self.f.push(I::LocalGet(self.label));
        self.f.push(I::I32Eqz);
        self.f.push(I::LocalGet(self.label));
        self.f.push(I::I32Const(lo as i32));
        self.f.push(I::I32Sub);
        self.f.push(I::I32Const((hi - lo) as i32));
        self.f.push(I::I32LeU);
        self.f.push(I::I32Or);
    }
}

fn mem(offset: u32) -> MemArg {
    MemArg {
        offset: offset as u64,
        align: 2,
        memory_index: 0,
    }
}

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

fn rewrite<'a>(
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
        label: 0,
        value: 0,
        token: 0,
        plan: frozen,
        func,
    };
    em.label = em.local(ValType::I32);
    em.value = em.local(ValType::I32);
    em.token = em.local(ValType::I32);
    let env = em.local(ValType::I32);
    let val = em.local(ValType::I32);
    // the function's entry check (a re-entry by longjmp does not pass here)
    let entry = em.plan.poll_instructions(body.ops.len() as u32);
    em.f.extend(entry);
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

fn on_path(n: &Node, sites: &HashMap<usize, u32>) -> bool {
    match n {
        Node::Op(i) => sites.contains_key(i),
        Node::Cons { .. } => n.sites().is_some(),
    }
}

fn stack_at(body: &Body, i: usize) -> Result<Vec<ValType>, String> {
    body.stacks
        .get(&i)
        .cloned()
        .flatten()
        .ok_or_else(|| "setjmp in unreachable code or with unknown stack types".into())
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
                em.f.extend([
                    I::LocalGet(em.label),
                    I::I32Const(site as i32),
                    I::I32Eq,
                    I::If(BlockType::Result(wasm_encoder::ValType::I32)),
                ]);
                em.frames.push(false);
                em.f.extend([I::I32Const(0), I::LocalSet(em.label), I::LocalGet(em.value)]);
                em.f.push(I::Else);
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
                seq(em, body, ctx, sites, inner, level + 1, first_close, &cres)?;
                if let Some((_, eb)) = else_body {
                    em.f.push(I::Else);
                    seq(em, body, ctx, sites, eb, level + 1, *end, &cres)?;
                }
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

fn site_of(n: &Node, sites: &HashMap<usize, u32>) -> Option<(u32, u32)> {
    match n {
        Node::Op(i) => sites.get(i).map(|s| (*s, *s)),
        _ => None,
    }
}

fn merge(acc: Option<(u32, u32)>, x: (u32, u32)) -> Option<(u32, u32)> {
    Some(match acc {
        None => x,
        Some((a, b)) => (a.min(x.0), b.max(x.1)),
    })
}

impl Emit<'_, '_> {
    /// Spills `types` (on the stack) into the slots from position `from`.
    fn spill_from(&mut self, level: usize, from: usize, types: &[ValType]) {
        for (k, t) in types.iter().enumerate().rev() {
            let l = self.slot(level, from + k, *t);
            self.f.push(I::LocalSet(l));
        }
    }
}

/// Emits a node that holds no setjmp call, as it was (branches re-aimed).
fn plain<'a>(em: &mut Emit<'_, 'a>, body: &Body<'a>, n: &Node) -> Result<(), String> {
    match n {
        Node::Op(i) => em.op(&body.ops[*i]),
        Node::Cons {
            start,
            end,
            body: inner,
            else_body,
            ..
        } => {
            let bt = match &body.ops[*start] {
                Operator::Block { blockty }
                | Operator::Loop { blockty }
                | Operator::If { blockty } => *blockty,
                _ => return Err("bad construct".into()),
            };
            let ebt = RoundtripReencoder
                .block_type(bt)
                .map_err(|e| e.to_string())?;
            em.f.push(match &body.ops[*start] {
                Operator::Block { .. } => I::Block(ebt),
                Operator::Loop { .. } => I::Loop(ebt),
                _ => I::If(ebt),
            });
            em.frames.push(true);
            if let Operator::Loop { .. } = &body.ops[*start] {
                let cost = end.saturating_sub(*start) as u32;
                em.f.extend(em.plan.poll_instructions(cost));
            }
            for x in inner {
                plain(em, body, x)?;
            }
            if let Some((_, eb)) = else_body {
                em.f.push(I::Else);
                for x in eb {
                    plain(em, body, x)?;
                }
            }
            let _ = end;
            em.f.push(I::End);
            em.frames.pop();
            Ok(())
        }
    }
}
