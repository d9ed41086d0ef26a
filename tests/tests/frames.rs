//! Frame promotion against memory, on random `-O0`-shaped functions: each
//! keeps a frame at `__stack_pointer - 64` and stores to and loads from a
//! few of its slots with every width and type wasm has (full-width i32,
//! i64, f32, f64; 8-, 16- and 32-bit narrow i32 and i64, loads zero- and
//! sign-extending), mostly one kind per slot (promotable) and sometimes
//! another width, type or a misaligned offset over it (which must pin the
//! slot), in straight code, `if`s and a loop. Every loaded value is folded
//! into an i64 the function returns; the function with its slots promoted
//! must return what it returns with them in memory.

use wali_core::transform::{transform, Options};

/// xorshift64*: a fixed sequence per seed, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A kind of access: its store, its loads, the value type, the width.
struct Kind {
    store: &'static str,
    loads: &'static [&'static str],
    ty: &'static str,
    width: u64,
}

const KINDS: &[Kind] = &[
    Kind {
        store: "i32.store",
        loads: &["i32.load"],
        ty: "i32",
        width: 4,
    },
    Kind {
        store: "i64.store",
        loads: &["i64.load"],
        ty: "i64",
        width: 8,
    },
    Kind {
        store: "f32.store",
        loads: &["f32.load"],
        ty: "f32",
        width: 4,
    },
    Kind {
        store: "f64.store",
        loads: &["f64.load"],
        ty: "f64",
        width: 8,
    },
    Kind {
        store: "i32.store8",
        loads: &["i32.load8_u", "i32.load8_s"],
        ty: "i32",
        width: 1,
    },
    Kind {
        store: "i32.store16",
        loads: &["i32.load16_u", "i32.load16_s"],
        ty: "i32",
        width: 2,
    },
    Kind {
        store: "i64.store8",
        loads: &["i64.load8_u", "i64.load8_s"],
        ty: "i64",
        width: 1,
    },
    Kind {
        store: "i64.store16",
        loads: &["i64.load16_u", "i64.load16_s"],
        ty: "i64",
        width: 2,
    },
    Kind {
        store: "i64.store32",
        loads: &["i64.load32_u", "i64.load32_s"],
        ty: "i64",
        width: 4,
    },
];

/// A value of type `ty` made from the running hash (or a constant).
fn value(r: &mut Rng, ty: &str) -> String {
    let c = r.next();
    match (ty, r.below(3)) {
        ("i32", 0) => format!("i32.const {}", c as i32),
        ("i32", _) => "local.get $h i32.wrap_i64".into(),
        ("i64", 0) => format!("i64.const {}", c as i64),
        ("i64", _) => "local.get $h".into(),
        ("f32", _) => "local.get $h i32.wrap_i64 f32.reinterpret_i32".into(),
        _ => "local.get $h f64.reinterpret_i64".into(),
    }
}

/// The loaded value (of type `ty`) as an i64, to fold into the hash.
fn widen(ty: &str) -> &'static str {
    match ty {
        "i32" => "i64.extend_i32_u",
        "i64" => "",
        "f32" => "i32.reinterpret_f32 i64.extend_i32_u",
        _ => "i64.reinterpret_f64",
    }
}

fn program(seed: u64) -> String {
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    // six slots at distinct 8-byte offsets, each with its own kind
    let mut offs: Vec<u64> = (0..8).map(|i| i * 8).collect();
    let slots: Vec<(u64, usize)> = (0..6)
        .map(|_| {
            let o = offs.remove(r.below(offs.len() as u64) as usize);
            (o, r.below(KINDS.len() as u64) as usize)
        })
        .collect();
    let mut body = String::new();
    // the open blocks, innermost last: true for the loop
    let mut open: Vec<bool> = Vec::new();
    let close = |body: &mut String, is_loop: bool| {
        if is_loop {
            body.push_str("local.get $i i32.const 1 i32.sub local.tee $i br_if 0\n");
        }
        body.push_str("end\n");
    };
    let mut looped = false;
    for _ in 0..60 {
        match r.below(20) {
            0 if open.len() < 2 => {
                body.push_str("local.get $h i64.const 1 i64.and i32.wrap_i64 if\n");
                open.push(false);
                continue;
            }
            1 if !open.is_empty() => {
                let is_loop = open.pop().unwrap();
                close(&mut body, is_loop);
                continue;
            }
            2 if open.is_empty() && !looped => {
                body.push_str("i32.const 3 local.set $i loop\n");
                open.push(true);
                looped = true;
                continue;
            }
            _ => {}
        }
        let (off, own) = slots[r.below(slots.len() as u64) as usize];
        // mostly the slot's own kind; sometimes another kind, or the
        // slot's kind a few bytes in
        let (kind, off) = match r.below(10) {
            0 => (&KINDS[r.below(KINDS.len() as u64) as usize], off),
            1 => {
                // 1 to 8 - width bytes in: still inside the slot's 8 bytes
                let k = &KINDS[own];
                let room = 8 - k.width;
                (k, off + if room == 0 { 0 } else { 1 + r.below(room) })
            }
            _ => (&KINDS[own], off),
        };
        if r.below(2) == 0 {
            body.push_str(&format!(
                "local.get $fp {} {} offset={off}\n",
                value(&mut r, kind.ty),
                kind.store
            ));
        } else {
            let load = kind.loads[r.below(kind.loads.len() as u64) as usize];
            body.push_str(&format!(
                "local.get $h i64.const 1099511628211 i64.mul \
                 local.get $fp {load} offset={off} {} i64.xor local.set $h\n",
                widen(kind.ty)
            ));
        }
    }
    while let Some(is_loop) = open.pop() {
        close(&mut body, is_loop);
    }
    format!(
        r#"(module
  (global $__stack_pointer (mut i32) (i32.const 65536))
  (memory 2)
  (func $f (export "f") (param $x i64) (result i64) (local $fp i32) (local $h i64) (local $i i32)
    global.get $__stack_pointer
    i32.const 64
    i32.sub
    local.set $fp
    local.get $x
    local.set $h
{body}    local.get $h))"#
    )
}

fn call(engine: &wasmtime::Engine, wasm: &[u8], x: i64) -> i64 {
    let module = wasmtime::Module::new(engine, wasm).expect("module");
    let mut store = wasmtime::Store::new(engine, ());
    let instance = wasmtime::Instance::new(&mut store, &module, &[]).expect("instance");
    let f = instance
        .get_typed_func::<i64, i64>(&mut store, "f")
        .expect("f");
    f.call(&mut store, x).expect("call")
}

#[test]
fn promoted_slots_give_what_memory_gives_on_random_frames() {
    let engine = wasmtime::Engine::default();
    let opts = Options {
        frames: true,
        ..Options::NONE
    };
    let (mut promoted, mut narrow) = (0usize, 0usize);
    for seed in 0..150 {
        let wat = program(seed);
        let wasm = wat::parse_str(&wat).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{wat}"));
        let out = transform(&wasm, &opts).expect("transform");
        let Some(done) = out.wasm else {
            continue;
        };
        let note = out
            .applied
            .iter()
            .find_map(|a| a.strip_prefix("frames: "))
            .expect("a frames note");
        promoted += note.split(' ').next().unwrap().parse::<usize>().unwrap();
        let text = wasmprinter::print_bytes(&done).unwrap();
        narrow += [
            "extend8_s",
            "extend16_s",
            "extend32_s",
            "i32.const 255\n",
            "i64.const 65535\n",
        ]
        .iter()
        .map(|w| text.matches(w).count())
        .sum::<usize>();
        for x in [0, seed as i64, !(seed as i64) << 7] {
            assert_eq!(
                call(&engine, &done, x),
                call(&engine, &wasm, x),
                "seed {seed}, x {x}:\n{wat}"
            );
        }
    }
    // the property was tested on promoted slots, narrow ones among them
    assert!(promoted > 300, "{promoted} slots promoted");
    assert!(narrow > 200, "{narrow} narrow loads widened");
}
