//! `containerd-shim-wali-v1`: containerd starts it for runtime
//! `io.containerd.wali.v1` (see the README's "Running on containerd").

use containerd_shim_wasm::shim::Cli;

fn main() {
    containerd_shim_wali::WaliShim::run(None);
}
