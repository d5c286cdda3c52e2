//! Fuzzes the encrypted-reply path: `crypto::decrypt_base64` on arbitrary
//! text and on arbitrary ciphertext, then the plaintext parse, and the
//! encrypt/decrypt round trip (which must give back the plaintext cut at
//! its first NUL and trimmed, or an error exactly when that is empty).
//! The v3 parameter cipher (`v3::auth::decrypt_param`) gets the same text.
//!
//! The first input byte picks the mode; the rest is the payload.
#![no_main]

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use whatsminer_exporter::protocol::crypto::{decrypt_base64, encrypt_base64};
use whatsminer_exporter::protocol::reply;
use whatsminer_exporter::protocol::v3::auth;
use whatsminer_exporter::transport::clean_reply;
use whatsminer_exporter::Secret;

const KEY: [u8; 32] = *b"fuzz-key-fuzz-key-fuzz-key-fuzz!";

/// What the client does with a decrypted reply.
fn parse_plain(plain: &[u8]) {
    if let Ok(value) = reply::parse_json(plain) {
        let _ = reply::check_status(&value);
        let _ = reply::data_object(&value, "Msg");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, payload)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        // The miner's `enc` string as sent: any text.
        0 => {
            if let Ok(text) = std::str::from_utf8(payload) {
                if let Ok(plain) = decrypt_base64(&KEY, text) {
                    assert!(!plain.is_empty());
                    parse_plain(&plain);
                }
            }
        }
        // Arbitrary ciphertext bytes, correctly base64'd.
        1 => {
            if let Ok(plain) = decrypt_base64(&KEY, &B64.encode(payload)) {
                assert!(payload.len() % 16 == 0 && !payload.is_empty());
                assert!(!plain.contains(&0));
                parse_plain(&plain);
            }
        }
        // Round trip, then the whole reply envelope as the client reads it.
        2 => {
            let sealed = encrypt_base64(&KEY, payload);
            let expected = clean_reply(payload);
            match decrypt_base64(&KEY, &sealed) {
                Ok(plain) => assert_eq!(plain, expected),
                Err(_) => assert!(expected.is_empty()),
            }
            let envelope = format!("{{\"enc\":\"{sealed}\"}}");
            let outer = reply::parse_json(envelope.as_bytes()).expect("envelope is JSON");
            let inner = reply::encrypted_payload(&outer).expect("envelope has enc");
            if let Ok(plain) = decrypt_base64(&KEY, inner) {
                parse_plain(&plain);
            }
        }
        // The v3 parameter cipher (PKCS#7), both ways.
        _ => {
            let digest = auth::digest("set.miner.pools", &Secret::new("super"), "salt", 1);
            if let Ok(text) = std::str::from_utf8(payload) {
                let _ = auth::decrypt_param(&digest, text);
                let sealed = auth::encrypt_param(&digest, text);
                assert_eq!(auth::decrypt_param(&digest, &sealed).as_deref(), Ok(text));
            }
        }
    }
});
