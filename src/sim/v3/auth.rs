//! The miner's side of API v3 write authentication, written independently
//! of `crate::protocol::v3::auth` so that a mistake on one side shows up
//! against the other.
//!
//! `key = SHA-256(cmd + password + salt + decimal ts)`. The token is the
//! first 8 characters of the key's standard base64; since 8 base64
//! characters are exactly 6 bytes, the miner here encodes only the first 6
//! key bytes (the client encodes all 32 and cuts). The encrypted params of
//! `set.miner.pools` and `set.user.change_passwd` are AES-256-ECB under
//! the key, PKCS#7 padded, in standard base64: decrypted here one block at
//! a time with the padding checked by hand.

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use aes::Aes256;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::secret::Secret;

const BLOCK: usize = 16;

/// The per-write key. Deliberately without `Debug`: it grants one write.
pub struct WriteKey([u8; 32]);

impl WriteKey {
    pub fn derive(cmd: &str, password: &Secret, salt: &str, ts: u64) -> WriteKey {
        let mut h = Sha256::new();
        h.update(format!("{cmd}{}{salt}{ts}", password.expose()).as_bytes());
        WriteKey(h.finalize().into())
    }

    /// The raw bytes, for known-answer tests.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 8-character token expected with the write.
    pub fn token(&self) -> Secret {
        Secret::new(STANDARD.encode(self.0.get(..6).unwrap_or_default()))
    }

    /// Whether `received` is the token, compared in constant time.
    pub fn accepts(&self, received: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        let expected = self.token();
        let (a, b) = (expected.expose().as_bytes(), received.as_bytes());
        a.len() == b.len() && bool::from(a.ct_eq(b))
    }

    /// Opens an encrypted param: base64, whole AES blocks, valid PKCS#7.
    pub fn open(&self, param_b64: &str) -> Option<Vec<u8>> {
        let mut data = STANDARD.decode(param_b64.trim()).ok()?;
        if data.is_empty() || data.len() % BLOCK != 0 {
            return None;
        }
        let cipher = Aes256::new(GenericArray::from_slice(&self.0));
        for block in data.chunks_exact_mut(BLOCK) {
            cipher.decrypt_block(GenericArray::from_mut_slice(block));
        }
        let pad = usize::from(*data.last()?);
        if pad == 0 || pad > BLOCK || pad > data.len() {
            return None;
        }
        let body = data.len() - pad;
        if !data.get(body..)?.iter().all(|&b| usize::from(b) == pad) {
            return None;
        }
        data.truncate(body);
        Some(data)
    }

    /// Seals a param as a client would (for the simulator's own tests).
    pub fn seal(&self, plain: &[u8]) -> String {
        let pad = BLOCK - plain.len() % BLOCK;
        let mut data = plain.to_vec();
        data.extend(std::iter::repeat_n(pad as u8, pad));
        let cipher = Aes256::new(GenericArray::from_slice(&self.0));
        for block in data.chunks_exact_mut(BLOCK) {
            cipher.encrypt_block(GenericArray::from_mut_slice(block));
        }
        STANDARD.encode(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!("../../../tests/fixtures/v3-auth-vectors.json");

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn every_vector_gives_its_key_token_and_param() {
        let doc: Value = serde_json::from_str(VECTORS).expect("vectors are JSON");
        let cases = doc["cases"].as_array().expect("cases");
        assert!(cases.len() >= 5);
        let mut sealed_seen = 0;
        for c in cases {
            let text = |k: &str| c[k].as_str().expect(k).to_owned();
            let key = WriteKey::derive(
                &text("cmd"),
                &Secret::new(text("password")),
                &text("salt"),
                c["ts"].as_u64().expect("ts"),
            );
            assert_eq!(hex(key.bytes()), text("key_hex"));
            assert_eq!(key.token().expose(), text("token"));
            assert!(key.accepts(&text("token")));
            if let Some(sealed) = c["encrypted_param_b64"].as_str() {
                sealed_seen += 1;
                let plain = key.open(sealed).expect("opens");
                assert_eq!(plain, text("param_json").into_bytes());
                assert_eq!(key.seal(&plain), sealed);
            }
        }
        assert_eq!(sealed_seen, 2);
    }

    #[test]
    fn wrong_tokens_and_broken_params_are_refused() {
        let key = WriteKey::derive("set.miner.service", &Secret::new("super"), "5QAHiKMb", 1);
        let token = key.token();
        assert!(!key.accepts(""));
        assert!(!key.accepts(&token.expose()[..7]));
        assert!(!key.accepts(&format!("{}x", token.expose())));
        for junk in ["", "@@", "AAAA", "AAAAAAAAAAAAAAAAAAAAAA=="] {
            assert!(key.open(junk).is_none(), "{junk}");
        }
        let other = WriteKey::derive("set.miner.service", &Secret::new("other"), "5QAHiKMb", 1);
        let sealed = key.seal(br#"[{"pool":"p"}]"#);
        assert_ne!(
            other.open(&sealed).as_deref(),
            Some(&br#"[{"pool":"p"}]"#[..])
        );
        // A whole block of padding for block-aligned input.
        assert_eq!(STANDARD.decode(key.seal(&[b'a'; 16])).unwrap().len(), 32);
    }
}
