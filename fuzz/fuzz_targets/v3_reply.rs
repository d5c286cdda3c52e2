//! Fuzzes API v3 reply parsing: the `{code, when, msg, desc}` envelope
//! (`parse_reply`, `reply_msg`) and the typed data read from `msg`
//! (`V3Status`, `DeviceInfo`, `MinerSetting`).
//!
//! Oracle besides "no panic": a miner's error text in an error is cut short.
#![no_main]

use libfuzzer_sys::fuzz_target;
use whatsminer_exporter::protocol::v3::{self, DeviceInfo, MinerSetting, V3Status};
use whatsminer_exporter::ErrorKind;

/// `MAX_MESSAGE_CHARS` of `protocol::v3::reply` plus the ellipsis.
const MAX_MESSAGE_CHARS: usize = 161;

fuzz_target!(|data: &[u8]| {
    let parsed = v3::parse_reply(data);
    match v3::reply_msg(data) {
        Ok(msg) => {
            assert!(parsed.as_ref().is_ok_and(|r| r.is_ok()));
            let _ = V3Status::from_msg(&msg);
            let _ = DeviceInfo::from_msg(&msg);
            let _ = MinerSetting::from_msg(&msg);
        }
        Err(ErrorKind::Miner { message, .. }) => {
            assert!(message.chars().count() <= MAX_MESSAGE_CHARS);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    // The typed readers also see whatever JSON the fuzzer builds directly.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = V3Status::from_msg(&value);
        let _ = DeviceInfo::from_msg(&value);
        let _ = MinerSetting::from_msg(&value);
    }
});
