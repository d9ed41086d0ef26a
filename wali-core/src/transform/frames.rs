//! Frame promotion: the slots of a C stack frame whose address never
//! leaves the function become wasm locals.
//!
//! Code compiled without optimization (`-O0`, as the reference toolchain
//! builds its applications) keeps every C local in a frame in linear memory:
//! the prologue takes `fp = __stack_pointer - N`, and each use of a local
//! is an `i32.load offset=K (local.get fp)` or a store there. The engine
//! must then do every such access in memory. When `fp` is only ever the
//! address of loads and stores at constant offsets inside the frame (or the
//! value the epilogue or a call's prologue gives `__stack_pointer`), no other
//! code can reach the frame: no pointer into it exists. Each slot whose
//! accesses all have one width and type then becomes a local, and the
//! engine keeps it in a register. A slot every access of which is narrow
//! (an `i32.store8` of a C `char` and its `i32.load8_s`, a `short`'s
//! 16-bit accesses), all of one width and value type, becomes a local
//! too: a store keeps the whole value, and each load takes its low bytes
//! as the load did (`i32.and` of a mask, or `extend8_s`/`extend16_s`/
//! `extend32_s`).
//!
//! Conservative by construction: a function is left as it is when `fp`
//! flows anywhere else (a call argument, a stored value, a local stored
//! more than once or inside a block, an arithmetic other than
//! `+ constant`, a branch or block value), when `fp` is assigned twice,
//! when `__stack_pointer` is read again once the frame exists (or its value
//! from before the frame is used for anything but making the frame), or
//! when a block type has parameters. A slot that is also accessed with another
//! width, through a copy of `fp`, or overlapping another access stays in
//! memory. A promoted slot starts at 0 instead of the frame's old bytes
//! (reading a C local before writing it is undefined). The stack pointer
//! is found by its name (`__stack_pointer`), as the stack transform finds
//! it; a module without the name section is left alone.

use super::module::{encoded_locals, with_all_features, ModuleInfo, Plan};
use super::Error;
use std::collections::HashMap;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{Function, Instruction};
use wasmparser::{
    BlockType, CompositeInnerType, CompositeType, ContType, FrameKind, FuncType, FunctionBody,
    ModuleArity, Operator, RefType, SubType, ValType,
};

/// Rewrites the functions that have promotable slots; returns the new
/// module and (functions rewritten, slots promoted), or `None` when no
/// function has one.
pub fn promote(wasm: &[u8], info: &ModuleInfo) -> Result<Option<(Vec<u8>, usize, usize)>, Error> {
    let Some(sp) = super::stack::stack_pointer(info) else {
        return Ok(None);
    };
    let arity = Arity::new(info);
    let mut plan = Plan::default();
    let mut slots = 0;
    let one = |i: usize| -> Result<Option<(u32, Function, usize)>, Error> {
        let body = with_all_features(&info.bodies[i]);
        let mut r = body.get_operators_reader()?;
        // A frame's prologue reads `__stack_pointer` first.
        let first = r.read()?;
        if first != (Operator::GlobalGet { global_index: sp }) {
            return Ok(None);
        }
        let mut ops = vec![first];
        while !r.eof() {
            ops.push(r.read()?);
        }
        let func = info.num_func_imports + i as u32;
        let params = info.sig_of_func(func).map_or(0, |s| s.params.len() as u32);
        let Some(accesses) = analyze(&ops, sp, params, &arity) else {
            return Ok(None);
        };
        let promoted = promotable(&accesses);
        if promoted.is_empty() {
            return Ok(None);
        }
        let f = emit(info, func, &body, &ops, &accesses, &promoted)
            .map_err(|why| Error(format!("frame promotion in function {func}: {why}")))?;
        Ok(Some((func, f, promoted.len())))
    };
    for done in super::module::par::map(info.bodies.len(), one) {
        if let Some((func, f, n)) = done? {
            slots += n;
            plan.bodies.insert(func, f);
        }
    }
    if plan.bodies.is_empty() {
        return Ok(None);
    }
    let n = plan.bodies.len();
    Ok(Some((super::module::rebuild(wasm, info, &plan)?, n, slots)))
}

/// What a value on the operand stack is, as far as the frame goes.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Other,
    /// `__stack_pointer` (read before the frame exists).
    Sp,
    /// `__stack_pointer - n`: the frame pointer-to-be of a frame of `n`
    /// bytes.
    Frame(i64),
    /// `fp + k`, made by these operators (all pure: `local.get fp`,
    /// `i32.const`, `i32.add`); empty when they cannot be removed.
    Fp {
        k: i64,
        made_by: Vec<usize>,
    },
    /// A constant, made by `i32.const` at this operator (`None`: read
    /// from a local).
    Const {
        c: i64,
        at: Option<usize>,
    },
}

impl Val {
    /// A frame address, or a value the frame's addresses are computed
    /// from (`__stack_pointer` before the frame, the frame-to-be): where
    /// such a value goes must be followed.
    fn is_fp(&self) -> bool {
        matches!(self, Val::Fp { .. } | Val::Sp | Val::Frame(_))
    }
    /// The value as a `local.get` of a local holding it gives it.
    fn read_back(&self) -> Val {
        match self {
            Val::Fp { k, .. } => Val::Fp {
                k: *k,
                made_by: Vec::new(),
            },
            Val::Const { c, .. } => Val::Const { c: *c, at: None },
            v => v.clone(),
        }
    }
}

/// One load or store of the frame.
#[derive(Debug)]
struct Access {
    /// Byte offset in the frame and width.
    off: i64,
    width: i64,
    /// `Some`: the access's value type, the type of a local holding the
    /// slot (with the width, it tells a full-width access from a narrow
    /// one); `None`: it pins its slot (its address cannot be removed).
    ty: Option<ValType>,
    load: bool,
    /// The operator, and those that made its address.
    at: usize,
    made_by: Vec<usize>,
}

fn full(op: &Operator) -> Option<(ValType, i64, bool, wasmparser::MemArg)> {
    use Operator as O;
    Some(match op {
        O::I32Load { memarg } => (ValType::I32, 4, true, *memarg),
        O::I64Load { memarg } => (ValType::I64, 8, true, *memarg),
        O::F32Load { memarg } => (ValType::F32, 4, true, *memarg),
        O::F64Load { memarg } => (ValType::F64, 8, true, *memarg),
        O::I32Store { memarg } => (ValType::I32, 4, false, *memarg),
        O::I64Store { memarg } => (ValType::I64, 8, false, *memarg),
        O::F32Store { memarg } => (ValType::F32, 4, false, *memarg),
        O::F64Store { memarg } => (ValType::F64, 8, false, *memarg),
        _ => return None,
    })
}

/// A narrow load or store: its value type, width, whether it loads.
fn narrow(op: &Operator) -> Option<(ValType, i64, bool, wasmparser::MemArg)> {
    use Operator as O;
    use ValType::{I32, I64};
    Some(match op {
        O::I32Load8S { memarg } | O::I32Load8U { memarg } => (I32, 1, true, *memarg),
        O::I32Load16S { memarg } | O::I32Load16U { memarg } => (I32, 2, true, *memarg),
        O::I64Load8S { memarg } | O::I64Load8U { memarg } => (I64, 1, true, *memarg),
        O::I64Load16S { memarg } | O::I64Load16U { memarg } => (I64, 2, true, *memarg),
        O::I64Load32S { memarg } | O::I64Load32U { memarg } => (I64, 4, true, *memarg),
        O::I32Store8 { memarg } => (I32, 1, false, *memarg),
        O::I64Store8 { memarg } => (I64, 1, false, *memarg),
        O::I32Store16 { memarg } => (I32, 2, false, *memarg),
        O::I64Store16 { memarg } => (I64, 2, false, *memarg),
        O::I64Store32 { memarg } => (I64, 4, false, *memarg),
        _ => return None,
    })
}

/// What a narrow load of a promoted slot becomes after its `local.get`:
/// the low bytes, zero- or sign-extended as the load did.
fn widen(op: &Operator) -> Vec<Instruction<'static>> {
    use Instruction as I;
    use Operator as O;
    match op {
        O::I32Load8U { .. } => vec![I::I32Const(0xff), I::I32And],
        O::I32Load16U { .. } => vec![I::I32Const(0xffff), I::I32And],
        O::I32Load8S { .. } => vec![I::I32Extend8S],
        O::I32Load16S { .. } => vec![I::I32Extend16S],
        O::I64Load8U { .. } => vec![I::I64Const(0xff), I::I64And],
        O::I64Load16U { .. } => vec![I::I64Const(0xffff), I::I64And],
        O::I64Load32U { .. } => vec![I::I64Const(0xffff_ffff), I::I64And],
        O::I64Load8S { .. } => vec![I::I64Extend8S],
        O::I64Load16S { .. } => vec![I::I64Extend16S],
        O::I64Load32S { .. } => vec![I::I64Extend32S],
        _ => Vec::new(),
    }
}

/// The frame accesses of a function whose frame pointer never escapes;
/// `None` when it has no such frame or its pointer escapes. `params`: the
/// function's parameter count.
///
/// The frame pointer is the local a `__stack_pointer - N` is first stored
/// in, outside any block, when nothing else stores to that local. The code
/// may pass the values through locals (some `-O0` code stores every value
/// in a local of its own): a local stored once, outside any block, holds
/// the same value at every later `local.get` (program order), so it
/// stands for its value there. Only the frame pointer's own `local.get`s
/// can be removed; an access through a copy pins its slot.
fn analyze(ops: &[Operator], sp: u32, params: u32, arity: &Arity) -> Option<Vec<Access>> {
    use Operator as O;
    let mut stores: HashMap<u32, u32> = (0..params).map(|p| (p, 1)).collect();
    for op in ops {
        if let O::LocalSet { local_index } | O::LocalTee { local_index } = op {
            *stores.entry(*local_index).or_default() += 1;
        }
    }
    let once = |l: u32| stores.get(&l) == Some(&1);
    let mut fp: Option<(u32, i64)> = None;
    let mut copies: HashMap<u32, Val> = HashMap::new();
    let mut stack: Vec<Val> = Vec::new();
    // Control frames: the operand stack's height at entry and the
    // block's result count.
    let mut frames: Vec<(usize, u32)> = vec![(0, 0)];
    let mut accesses = Vec::new();
    let pop = |stack: &mut Vec<Val>, frames: &[(usize, u32)]| -> Val {
        let base = frames.last().map_or(0, |f| f.0);
        if stack.len() > base {
            stack.pop().unwrap_or(Val::Other)
        } else {
            Val::Other
        }
    };
    let tagged = |stack: &[Val]| stack.iter().any(Val::is_fp);
    for (i, op) in ops.iter().enumerate() {
        if let Some((ty, width, load, m)) = full(op).or_else(|| narrow(op)) {
            if !load && pop(&mut stack, &frames).is_fp() {
                return None; // the frame's address is stored
            }
            let addr = pop(&mut stack, &frames);
            if matches!(addr, Val::Sp | Val::Frame(_)) {
                return None;
            }
            if let Val::Fp { k, made_by } = addr {
                let size = fp?.1;
                let off = k.checked_add(i64::try_from(m.offset).ok()?)?;
                if m.memory != 0 || off < 0 || off + width > size {
                    return None;
                }
                accesses.push(Access {
                    off,
                    width,
                    ty: (!made_by.is_empty()).then_some(ty),
                    load,
                    at: i,
                    made_by,
                });
            }
            if load {
                stack.push(Val::Other);
            }
            continue;
        }
        match op {
            O::LocalGet { local_index } => stack.push(match fp {
                Some((f, _)) if f == *local_index => Val::Fp {
                    k: 0,
                    made_by: vec![i],
                },
                _ => match copies.get(local_index) {
                    // Once the frame exists, the stack pointer read
                    // before it is an address above the frame.
                    Some(Val::Sp) if fp.is_some() => return None,
                    Some(v) => v.clone(),
                    None => Val::Other,
                },
            }),
            O::LocalSet { local_index } | O::LocalTee { local_index } => {
                let l = *local_index;
                let v = pop(&mut stack, &frames);
                if fp.is_some_and(|(f, _)| f == l) {
                    return None;
                }
                let top = frames.len() == 1 && once(l);
                let kept = match v {
                    Val::Frame(n) if fp.is_none() && top => {
                        fp = Some((l, n));
                        Val::Fp {
                            k: 0,
                            made_by: Vec::new(),
                        }
                    }
                    Val::Fp { .. } | Val::Sp | Val::Frame(_) if !top => return None,
                    Val::Frame(_) => return None,
                    Val::Other => Val::Other,
                    v => {
                        let v = v.read_back();
                        if top {
                            copies.insert(l, v.clone());
                        }
                        v
                    }
                };
                if matches!(op, O::LocalTee { .. }) {
                    stack.push(kept);
                }
            }
            // Once the frame exists, `__stack_pointer` may point into it
            // (a non-leaf function lowers it to fp): any other read of the
            // frame would go unseen.
            O::GlobalGet { global_index } if *global_index == sp => {
                if fp.is_some() {
                    return None;
                }
                stack.push(Val::Sp)
            }
            O::I32Const { value } => stack.push(Val::Const {
                c: i64::from(*value),
                at: Some(i),
            }),
            O::I32Sub => {
                let b = pop(&mut stack, &frames);
                let a = pop(&mut stack, &frames);
                match (a, b) {
                    (Val::Sp, Val::Const { c, .. }) if c > 0 => stack.push(Val::Frame(c)),
                    (a, b) if a.is_fp() || b.is_fp() => return None,
                    _ => stack.push(Val::Other),
                }
            }
            O::I32Add => {
                let b = pop(&mut stack, &frames);
                let a = pop(&mut stack, &frames);
                match (a, b) {
                    (Val::Fp { k, mut made_by }, Val::Const { c, at })
                    | (Val::Const { c, at }, Val::Fp { k, mut made_by }) => {
                        match at {
                            Some(at) if !made_by.is_empty() => made_by.extend([at, i]),
                            _ => made_by.clear(),
                        }
                        stack.push(Val::Fp { k: k + c, made_by });
                    }
                    (a, b) if a.is_fp() || b.is_fp() => return None,
                    _ => stack.push(Val::Other),
                }
            }
            // The epilogue's restore, or a non-leaf prologue's `global.set`.
            O::GlobalSet { global_index } if *global_index == sp => {
                pop(&mut stack, &frames);
            }
            O::Drop => {
                pop(&mut stack, &frames);
            }
            O::Block { blockty }
            | O::Loop { blockty }
            | O::If { blockty }
            | O::TryTable {
                try_table: wasmparser::TryTable { ty: blockty, .. },
            } => {
                if tagged(&stack) {
                    return None;
                }
                let results = match blockty {
                    BlockType::Empty => 0,
                    BlockType::Type(_) => 1,
                    BlockType::FuncType(_) => return None,
                };
                if matches!(op, O::If { .. }) {
                    pop(&mut stack, &frames);
                }
                frames.push((stack.len(), results));
            }
            O::Else => {
                if tagged(&stack) {
                    return None;
                }
                stack.truncate(frames.last()?.0);
            }
            O::End => {
                if tagged(&stack) {
                    return None;
                }
                let (h, results) = frames.pop()?;
                stack.truncate(h);
                stack.extend((0..results).map(|_| Val::Other));
                if frames.is_empty() {
                    break;
                }
            }
            O::Br { .. }
            | O::BrTable { .. }
            | O::Return
            | O::Unreachable
            | O::Throw { .. }
            | O::ThrowRef => {
                if tagged(&stack) {
                    return None;
                }
                stack.truncate(frames.last()?.0);
            }
            // Legacy exception handling (translated before this pass when
            // that transform is on) and any other structure this pass does
            // not follow: left alone.
            O::Try { .. }
            | O::Catch { .. }
            | O::CatchAll
            | O::Delegate { .. }
            | O::Rethrow { .. } => return None,
            O::BrIf { .. } => {
                if tagged(&stack) {
                    return None;
                }
                pop(&mut stack, &frames);
            }
            _ => {
                let (pops, pushes) = op.operator_arity(arity)?;
                for _ in 0..pops {
                    if pop(&mut stack, &frames).is_fp() {
                        return None;
                    }
                }
                stack.extend((0..pushes).map(|_| Val::Other));
            }
        }
    }
    fp?;
    Some(accesses)
}

/// The slots (offset -> local type) every access of which is of one width
/// and value type (full-width, or narrow), overlapping no other access.
fn promotable(accesses: &[Access]) -> HashMap<i64, ValType> {
    let mut by_off: HashMap<i64, (i64, ValType)> = HashMap::new();
    let mut pinned = Vec::new();
    for a in accesses {
        match (by_off.get(&a.off), a.ty) {
            (_, None) => pinned.push((a.off, a.width)),
            (None, Some(t)) => {
                by_off.insert(a.off, (a.width, t));
            }
            (Some(&(w, t)), Some(u)) if w != a.width || t != u => {
                pinned.push((a.off, a.width.max(w)));
            }
            _ => {}
        }
    }
    let ranges: Vec<(i64, i64)> = accesses.iter().map(|a| (a.off, a.width)).collect();
    by_off
        .into_iter()
        .filter(|(off, (w, _))| {
            let (lo, hi) = (*off, off + w);
            !pinned.iter().any(|&(o, pw)| o < hi && lo < o + pw)
                && ranges
                    .iter()
                    .all(|&(o, rw)| (o == lo && rw == *w) || o + rw <= lo || hi <= o)
        })
        .map(|(off, (_, t))| (off, t))
        .collect()
}

fn emit(
    info: &ModuleInfo,
    func: u32,
    body: &FunctionBody,
    ops: &[Operator],
    accesses: &[Access],
    promoted: &HashMap<i64, ValType>,
) -> Result<Function, String> {
    let (mut locals, mut next) = encoded_locals(info, func, body)?;
    let mut offs: Vec<(&i64, &ValType)> = promoted.iter().collect();
    offs.sort();
    let mut local_of = HashMap::new();
    for (off, t) in offs {
        local_of.insert(*off, next);
        next = next.checked_add(1).ok_or("too many locals")?;
        locals.push((
            1,
            RoundtripReencoder.val_type(*t).map_err(|e| e.to_string())?,
        ));
    }
    let mut removed = vec![false; ops.len()];
    let mut replaced: HashMap<usize, Vec<Instruction<'static>>> = HashMap::new();
    for a in accesses {
        let Some(&l) = local_of.get(&a.off) else {
            continue;
        };
        for &m in &a.made_by {
            removed[m] = true;
        }
        replaced.insert(
            a.at,
            if a.load {
                let mut get = vec![Instruction::LocalGet(l)];
                get.extend(widen(&ops[a.at]));
                get
            } else {
                vec![Instruction::LocalSet(l)]
            },
        );
    }
    let mut f = Function::new(locals);
    for (i, op) in ops.iter().enumerate() {
        if removed[i] {
            continue;
        }
        match replaced.get(&i) {
            Some(seq) => {
                for ins in seq {
                    f.instruction(ins);
                }
            }
            None => {
                let ins = RoundtripReencoder
                    .instruction(op.clone())
                    .map_err(|e| e.to_string())?;
                f.instruction(&ins);
            }
        }
    }
    Ok(f)
}

/// The module's types as [`ModuleArity`] needs them (function types only:
/// the WALI guests are not GC modules; operators on other types make the
/// analysis give up).
struct Arity {
    types: Vec<Option<SubType>>,
    func_types: Vec<u32>,
    tags: Vec<(u32, u32)>,
}

impl Arity {
    fn new(info: &ModuleInfo) -> Arity {
        let types = info
            .types
            .iter()
            .map(|t| {
                t.as_ref().map(|s| SubType {
                    is_final: true,
                    supertype_idx: None,
                    composite_type: CompositeType {
                        inner: CompositeInnerType::Func(FuncType::new(
                            s.params.iter().copied(),
                            s.results.iter().copied(),
                        )),
                        shared: false,
                        descriptor_idx: None,
                        describes_idx: None,
                    },
                })
            })
            .collect();
        let tags = info
            .tag_types
            .iter()
            .map(|t| {
                info.types
                    .get(*t as usize)
                    .and_then(|s| s.as_ref())
                    .map_or((0, 0), |s| (s.params.len() as u32, s.results.len() as u32))
            })
            .collect();
        Arity {
            types,
            func_types: info.func_types.clone(),
            tags,
        }
    }
}

impl ModuleArity for Arity {
    fn sub_type_at(&self, type_idx: u32) -> Option<&SubType> {
        self.types.get(type_idx as usize)?.as_ref()
    }
    fn tag_type_arity(&self, at: u32) -> Option<(u32, u32)> {
        self.tags.get(at as usize).copied()
    }
    fn type_index_of_function(&self, function_idx: u32) -> Option<u32> {
        self.func_types.get(function_idx as usize).copied()
    }
    fn func_type_of_cont_type(&self, _c: &ContType) -> Option<&FuncType> {
        None
    }
    fn sub_type_of_ref_type(&self, _rt: &RefType) -> Option<&SubType> {
        None
    }
    fn control_stack_height(&self) -> u32 {
        0
    }
    fn label_block(&self, _depth: u32) -> Option<(BlockType, FrameKind)> {
        None
    }
}
