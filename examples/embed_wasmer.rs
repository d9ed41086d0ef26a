//! Embedding wali on wasmer: run a WALI module with its own arguments and
//! exit with its status (the wasmer twin of `embed.rs`).
//!
//! `cargo run -p wali-examples --example embed_wasmer -- prog.wasm args...`

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: embed_wasmer MODULE [ARGS...]");
        std::process::exit(2);
    };
    let ctx = match wali_wasmer::WaliCtx::builder()
        .args(&args)
        .inherit_env()
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("embed_wasmer: {e}");
            std::process::exit(1);
        }
    };
    let runner = wali_wasmer::Runner::new();
    let outcome = runner
        .load(std::path::Path::new(path))
        .and_then(|module| runner.run(&module, ctx));
    match outcome {
        Ok(o) => std::process::exit(o.exit_code()),
        Err(e) => {
            eprintln!("embed_wasmer: {path}: {e}");
            std::process::exit(1);
        }
    }
}
