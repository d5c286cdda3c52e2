//! Fuzzes the `get_token` reply: JSON parse, status check,
//! `TokenChallenge::from_reply`, and for every challenge it accepts, the
//! md5-crypt/SHA-256 derivation and the command envelope.
//!
//! Oracles: a challenge the parser accepts must be one md5-crypt accepts
//! (validation and derivation agree); the envelope decrypts back to the
//! plaintext command; `Debug` of the credentials and the challenge never
//! shows the sign or a salt (it is exactly the mask).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Map;
use whatsminer_exporter::protocol::crypto::{decrypt_base64, Credentials, TokenChallenge};
use whatsminer_exporter::protocol::reply;
use whatsminer_exporter::Secret;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = reply::parse_json(data) else {
        return;
    };
    let _ = reply::check_status(&value);
    let Ok(challenge) = TokenChallenge::from_reply(&value) else {
        return;
    };
    // Exact text: a salt may well be a substring of the mask itself.
    assert_eq!(format!("{challenge:?}"), "TokenChallenge(***)");
    let credentials = Credentials::derive(&Secret::new("admin"), &challenge)
        .expect("a challenge the parser accepts must derive");
    let sign = credentials.sign().expose().to_string();
    assert!(!sign.is_empty());
    assert_eq!(format!("{credentials:?}"), "Credentials(***)");
    let plaintext = credentials.plaintext_command("power_off", &Map::new());
    let envelope = credentials.envelope(&plaintext);
    let outer: serde_json::Value = serde_json::from_slice(&envelope).expect("envelope is JSON");
    let data = outer["data"].as_str().expect("data is a string");
    let back = decrypt_base64(credentials.aes_key(), data).expect("decrypts");
    assert_eq!(back, plaintext.as_bytes());
});
