//! Analysis of the functions that call setjmp: their validated operators
//! with the operand types at construct boundaries, and their construct
//! trees with the setjmp calls numbered.

use crate::transform::Error;
use std::collections::HashMap;
use wasmparser::{Operator, ValType};

/// Operators of a function with, at construct boundaries, the frame's
/// operand types (bottom first; `None` when unreachable or unknown).
pub(super) struct Body<'a> {
    pub(super) params: Vec<ValType>,
    pub(super) results: Vec<ValType>,
    pub(super) locals: Vec<(u32, ValType)>,
    pub(super) ops: Vec<Operator<'a>>,
    pub(super) stacks: HashMap<usize, Option<Vec<ValType>>>,
}

pub(super) fn validated_bodies<'a>(
    wasm: &'a [u8],
    funcs: &[u32],
) -> Result<HashMap<u32, Body<'a>>, Error> {
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
pub(super) enum Node {
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
    pub(super) fn sites(&self) -> Option<(u32, u32)> {
        match self {
            Node::Cons { lo, hi, .. } if lo <= hi => Some((*lo, *hi)),
            _ => None,
        }
    }
}

/// Builds the construct tree; numbers setjmp calls 1.. in order.
pub(super) fn tree(
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

pub(super) fn on_path(n: &Node, sites: &HashMap<usize, u32>) -> bool {
    match n {
        Node::Op(i) => sites.contains_key(i),
        Node::Cons { .. } => n.sites().is_some(),
    }
}

pub(super) fn stack_at(body: &Body, i: usize) -> Result<Vec<ValType>, String> {
    body.stacks
        .get(&i)
        .cloned()
        .flatten()
        .ok_or_else(|| "setjmp in unreachable code or with unknown stack types".into())
}

pub(super) fn site_of(n: &Node, sites: &HashMap<usize, u32>) -> Option<(u32, u32)> {
    match n {
        Node::Op(i) => sites.get(i).map(|s| (*s, *s)),
        _ => None,
    }
}

pub(super) fn merge(acc: Option<(u32, u32)>, x: (u32, u32)) -> Option<(u32, u32)> {
    Some(match acc {
        None => x,
        Some((a, b)) => (a.min(x.0), b.max(x.1)),
    })
}
