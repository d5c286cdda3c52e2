//! Config errors. The broken configs and the message each must give are
//! one list, tests/fixtures/config_errors/cases.toml, which
//! tests/check_config.rs loads in process and through `check-config` and
//! `serve` (the same message from all three). What stays here is the config
//! file itself being unreadable.

use super::Fixture;
use crate::config::*;

#[test]
fn unreadable_config_names_the_file() {
    let fx = Fixture::new();
    let missing = fx.dir.path().join("nope.toml");
    let e = load(&missing).unwrap_err();
    assert!(matches!(e.kind(), ConfigErrorKind::Read { .. }));
    assert!(e.to_string().contains("nope.toml: cannot read"), "{e}");
    let e = load(fx.dir.path()).unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
}
