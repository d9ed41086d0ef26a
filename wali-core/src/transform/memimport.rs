//! Threads share one memory: a module that spawns threads and defines its
//! memory is rewritten to import it (`wali.memory`, same limits, shared),
//! so every thread's instance can be given the same memory. The module's
//! data segments are passive (initialised once by its start function under
//! an atomic guard), so instantiating it again over a live memory is safe.

use super::module::{ModuleInfo, Plan};
use super::Outcome;

/// Import name of the shared memory in a rewritten module.
pub const MODULE: &str = "wali";
pub const NAME: &str = "memory";

pub fn plan(info: &ModuleInfo, plan: &mut Plan, out: &mut Outcome) {
    if info.import_func("wali", "__wasm_thread_spawn").is_none() {
        return;
    }
    match &info.defined_memory {
        Some(m) if m.shared && !info.has_active_data => {
            plan.memory_to_import = true;
            out.applied.push("threads: the module's shared memory becomes an import (wali.memory) so threads share it".into());
        }
        Some(m) if !m.shared => out
            .notes
            .push("threads not possible: the module's memory is not shared".into()),
        Some(_) => out
            .notes
            .push("threads not possible: the module has active data segments".into()),
        None => {}
    }
}
