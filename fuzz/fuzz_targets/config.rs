//! Fuzzes the configuration parser `config::from_str` (TOML, validation,
//! located errors) and the simulator's scenario parser (TOML as well, a
//! user-supplied file of the `simulate` command).
//!
//! The source path points into a directory that does not exist, so target
//! and secret files named by relative paths are not found; absolute paths
//! are only ever read (with the loader's size cap), never written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use whatsminer_exporter::{config, sim};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match config::from_str(text, Path::new("/nonexistent-fuzz-dir/exporter.toml")) {
        Ok(cfg) => {
            let _ = format!("{cfg:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let _ = sim::parse_scenario(text, 1000);
});
