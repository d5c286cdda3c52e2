//! Helpers shared by the simulator's test modules: a miner on a manual
//! clock, and the client's part of the token flow played with the
//! simulator's own crypto (never the client's), so simulator tests stay
//! independent of the code they are meant to check.

use std::net::IpAddr;

use serde_json::Value;

use super::clock::SimClock;
use super::crypto::{self, AesKey, TokenKeys};
use super::miner::{MinerSetup, MinerState};
use super::model::{Flavour, Model};
use crate::secret::Secret;

/// A miner on a manual clock, for deterministic tests.
pub fn miner(model: Model, flavour: Flavour) -> MinerState {
    MinerState::new(MinerSetup {
        index: 1,
        model,
        firmware: model.pick_firmware(0.5, Some(flavour)),
        seed: 42,
        password: Secret::new("admin"),
        ip: IpAddr::from([127, 0, 0, 1]),
        clock: SimClock::manual(),
    })
}

/// Builds `{"enc":1,"data":..}` for `command` (a JSON object without the
/// token) from a `get_token` reply; returns it with the reply key.
pub fn seal(password: &str, token_reply: &Value, mut command: Value) -> (String, AesKey) {
    let msg = &token_reply["Msg"];
    let field = |name: &str| msg[name].as_str().unwrap_or("").to_string();
    let keys = TokenKeys::derive(
        &Secret::new(password),
        &field("salt"),
        &field("time"),
        &field("newsalt"),
    );
    if let Some(map) = command.as_object_mut() {
        map.insert(
            "token".into(),
            Value::String(keys.sign.expose().to_string()),
        );
    }
    let envelope = crypto::encrypt_request(&keys.aes, &command.to_string());
    (envelope, keys.aes)
}

/// Decrypts `{"enc":..}` or returns a plain reply as it is.
pub fn open_reply(key: &AesKey, reply: &str) -> Value {
    let parsed: Value = serde_json::from_str(reply.trim_end_matches(['\0', ' ', '\n', '\r', '\t']))
        .expect("reply is JSON");
    match parsed.get("enc").and_then(Value::as_str) {
        Some(data) => {
            let plain = crypto::decrypt_from_base64(key, data).expect("reply decrypts");
            serde_json::from_slice(&plain).expect("decrypted reply is JSON")
        }
        None => parsed,
    }
}

impl MinerState {
    pub fn expire_tokens_for_test(&mut self) {
        self.tokens.expire_all();
    }
}
