//! The static-data transform on wasmtime, in a test binary of its own: the
//! guest reads /proc/self/maps, which shows every mapping of the process,
//! so no other guest may run beside it (in the shared test binary another
//! test's guest's image made the check without the transform pass).

use wali::{Outcome, WaliCtx};
use wali_tests::{guest, run_guest, runner};

/// On wasmtime the guest's static data is a private mapping of the
/// engine's memory image (the guest finds it in /proc/self/maps), not a
/// copy its start function makes; without the static-data transform the
/// segments stay passive and there is no image.
#[test]
fn static_data_is_mapped_on_wasmtime() {
    assert_eq!(run_guest("data", &["image"]), Outcome::Exited(0));
    let ctx = WaliCtx::builder()
        .arg(guest("data"))
        .arg("image")
        .build()
        .unwrap();
    let r = runner().transforms(wali::TransformOptions {
        static_data: false,
        ..Default::default()
    });
    let module = r.load(&guest("data")).unwrap();
    assert_eq!(r.run(&module, ctx).unwrap(), Outcome::Exited(1));
}
