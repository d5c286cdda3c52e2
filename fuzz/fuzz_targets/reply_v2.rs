//! Fuzzes every v2 reply parser: the typed fast path (`FromReply` for each
//! read command) and the `serde_json::Value` path (`parse_json`,
//! `check_status`, `data_object`, `data_list`, `encrypted_payload`).
//!
//! Oracles besides "no panic": cleaning is idempotent; an invalid-JSON
//! error never quotes the input; a miner message in an error is cut short;
//! a typed success means the `Value` path sees a success too (the two
//! paths must not disagree about whether the miner said `S` or `E`); and the
//! firmware-defect repair (`protocol::repair`, reached by every parser once
//! a strict parse fails) never touches valid JSON and names what it did.
#![no_main]

use libfuzzer_sys::fuzz_target;
use whatsminer_exporter::client::types::{
    DevDetails, Devs, ErrorCodes, Edevs, FromReply, MinerInfo, MinerStatus, Pools, Psu, Summary,
    Version,
};
use whatsminer_exporter::protocol::{repair, reply};
use whatsminer_exporter::ErrorKind;

/// `MAX_MESSAGE_CHARS` of `protocol::reply` plus the ellipsis.
const MAX_MESSAGE_CHARS: usize = 121;

fn check_error(kind: &ErrorKind) {
    match kind {
        ErrorKind::Miner { message, .. } => {
            assert!(message.chars().count() <= MAX_MESSAGE_CHARS, "long message")
        }
        ErrorKind::NotJson(reason) => assert!(reason.len() < 120, "NotJson reason too long"),
        _ => {}
    }
    let _ = kind.to_string();
}

/// Runs one typed parser; on success the slow path must agree.
fn typed<T: FromReply>(data: &[u8]) {
    match T::from_reply(data) {
        Err(kind) => check_error(&kind),
        Ok(_) => {
            if let Ok(value) = reply::parse_json(data) {
                if let Err(kind) = reply::check_status(&value) {
                    panic!("typed {} accepted what check_status refused: {kind:?}", T::COMMAND);
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks one parser, so each run parses once (all of
    // them on every input would be ten times slower); the rest is the reply.
    let Some((&which, data)) = data.split_first() else {
        return;
    };
    let plain = whatsminer_exporter::transport::clean_reply(data);
    assert_eq!(whatsminer_exporter::transport::clean_reply(plain), plain);
    match which % 12 {
        0 => typed::<Summary>(data),
        1 => typed::<Devs>(data),
        2 => typed::<Edevs>(data),
        3 => typed::<Pools>(data),
        4 => typed::<DevDetails>(data),
        5 => typed::<Version>(data),
        6 => typed::<Psu>(data),
        7 => typed::<MinerStatus>(data),
        8 => typed::<MinerInfo>(data),
        9 => typed::<ErrorCodes>(data),
        11 => {
            let strict = serde_json::from_slice::<serde_json::Value>(plain).is_ok();
            if let Some((_, made)) = repair::repair(plain) {
                assert!(!strict, "repair touched valid JSON");
                assert!(!made.is_empty(), "a repair without a kind");
            }
        }
        _ => match reply::parse_json(data) {
            Err(kind) => check_error(&kind),
            Ok(value) => {
                if let Err(kind) = reply::check_status(&value) {
                    check_error(&kind);
                }
                for key in ["SUMMARY", "DEVS", "POOLS", "DEVDETAILS"] {
                    let _ = reply::data_object(&value, key);
                    let _ = reply::data_list(&value, key);
                }
                let _ = reply::encrypted_payload(&value);
            }
        },
    }
});
