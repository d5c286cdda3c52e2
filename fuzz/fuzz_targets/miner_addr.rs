//! Fuzzes the miner address parser, which reads `/probe?target=` from any
//! HTTP client and every address of the configuration.
//!
//! Oracle: an accepted address prints as text that parses back to the same
//! address (what `/probe` and the config show is what they use).
#![no_main]

use libfuzzer_sys::fuzz_target;
use whatsminer_exporter::transport::MinerAddr;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(addr) = text.parse::<MinerAddr>() {
        assert_ne!(addr.port(), 0);
        let shown = addr.to_string();
        let again: MinerAddr = shown.parse().expect("printed address parses");
        assert_eq!(again, addr, "{shown}");
    }
});
