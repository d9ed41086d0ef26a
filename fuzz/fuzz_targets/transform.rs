//! The load-time transforms on random valid modules (wasm-smith), made to
//! look like WALI guests where it matters (imports of setjmp/longjmp and
//! thread spawn, shared memory, tables of mixed function types): they must
//! never panic, and whatever they return must validate. Inputs whose first
//! byte is odd are instead random setjmp/longjmp programs of known outcome
//! (`sjlj_program`), transformed and run on wasmtime: every setjmp call
//! must return 0, then each longjmp's value, with the operand values below
//! it and the locals intact.
//!
//! `cargo fuzz run -s none transform`

#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use wali_core::transform::{transform, Options};

mod sjlj_program;

fn config(u: &mut Unstructured) -> arbitrary::Result<wasm_smith::Config> {
    let mut c = wasm_smith::Config::arbitrary(u)?;
    c.exceptions_enabled = true;
    c.threads_enabled = true;
    c.bulk_memory_enabled = true;
    c.multi_value_enabled = true;
    c.reference_types_enabled = true;
    c.gc_enabled = false;
    c.simd_enabled = false;
    c.available_imports = Some(
        wat::parse_str(
            r#"(module
                (import "wali" "setjmp" (func (param i32) (result i32)))
                (import "wali" "sigsetjmp" (func (param i32 i32) (result i32)))
                (import "wali" "longjmp" (func (param i32 i32)))
                (import "wali" "__wasm_thread_spawn" (func (param i32 i32) (result i32)))
                (import "wali" "__cl_get_argc" (func (result i32)))
                (import "wali" "__proc_exit" (func (param i32))))"#,
        )
        .expect("imports"),
    );
    Ok(c)
}

/// The setjmp property on a generated program.
fn setjmp_program(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(wat) = sjlj_program::generate(&mut u) else {
        return;
    };
    if let Some(p) = std::env::var_os("WALI_FUZZ_DUMP") {
        let _ = std::fs::write(p, &wat);
    }
    let wasm = wat::parse_str(&wat).expect("generated WAT");
    let out = transform(&wasm, &Options::default()).expect("transform");
    assert!(
        !out.notes.iter().any(|n| n.contains("not transformed")),
        "{:?}\n{wat}",
        out.notes
    );
    let w = out.wasm.expect("rewritten");
    if let Err(e) = sjlj_program::run(&w) {
        panic!("setjmp program: {e}\n{wat}");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some((first, rest)) = data.split_first() {
        if first & 1 == 1 {
            return setjmp_program(rest);
        }
    }
    let mut u = Unstructured::new(data);
    let Ok(c) = config(&mut u) else { return };
    let Ok(m) = wasm_smith::Module::new(c, &mut u) else {
        return;
    };
    let wasm = m.to_bytes();
    // WALI_FUZZ_DUMP=path writes the module (to reproduce a finding).
    if let Some(p) = std::env::var_os("WALI_FUZZ_DUMP") {
        let _ = std::fs::write(p, &wasm);
    }
    let opts = Options {
        signal_poll: true,
        fuel: true,
        ..Options::default()
    };
    for o in [Options::default(), opts] {
        let Ok(out) = transform(&wasm, &o) else {
            continue;
        };
        if let Some(w) = out.wasm {
            if let Err(e) =
                wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
                    .validate_all(&w)
            {
                panic!(
                    "transform output does not validate: {e} (applied: {:?})",
                    out.applied
                );
            }
        }
    }
});
