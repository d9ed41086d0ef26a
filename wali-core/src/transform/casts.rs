//! Calls through cast function pointers.
pub fn plan(
    _info: &super::module::ModuleInfo,
    _plan: &mut super::module::Plan,
    _out: &mut super::Outcome,
) -> Result<(), super::Error> {
    Ok(())
}
