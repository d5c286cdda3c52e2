//! REPLACED AT MERGE: stand-ins for items of `crate::collector::target`
//! (written by the lead in parallel), so that the configuration loader
//! compiles on its own branch. At merge, delete this file and point the
//! `use shim::...` lines in `config/mod.rs` at the real items. The
//! signatures here match the real ones exactly.

/// The real `MinerAddr` already exists in this branch; re-exported so that
/// every collector-side name the loader uses comes through one file.
pub use crate::transport::MinerAddr;

/// Which API a miner speaks (stand-in for `collector::target::Protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    V2,
    V3,
    Auto,
}

/// Label names the exporter sets itself (stand-in list).
const RESERVED_LABELS: &[&str] = &[
    "miner",
    "board",
    "pool",
    "url",
    "user",
    "window",
    "stat",
    "fan",
    "reason",
    "command",
    "code",
    "model",
    "firmware",
    "api_version",
    "mac",
    "hostname",
    "protocol",
    "job",
    "instance",
    "serial",
];

/// Stand-in for `collector::target::is_valid_extra_label`:
/// `[a-zA-Z_][a-zA-Z0-9_]*`, not `__`-prefixed, not reserved.
pub fn is_valid_extra_label(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_');
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
        && !RESERVED_LABELS.contains(&name)
}
