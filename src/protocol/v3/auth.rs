//! API v3 write authentication.
//!
//! For every write, `digest = SHA-256(cmd + password + salt + decimal ts)`.
//! The token sent with the command is the first 8 characters of the digest's
//! standard base64. The same 32 bytes are the AES-256-ECB key for the two
//! commands whose `param` travels encrypted (`set.miner.pools`,
//! `set.user.change_passwd`): PKCS#7 padding, standard base64.
//!
//! Sources: the vendor's API document ("Token Generation") and the vendor's
//! Node worker (`lib/protocols/wm-api-v3.js`), whose test vector is the
//! first case of `tests/fixtures/v3-auth-vectors.json`.
//!
//! The digest and the token are secrets: they grant one write. Both come
//! back wrapped so that `Debug` never prints them.

use std::fmt;

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyInit};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use crate::error::ErrorKind;
use crate::secret::Secret;

type Aes256EcbEnc = ecb::Encryptor<aes::Aes256>;
type Aes256EcbDec = ecb::Decryptor<aes::Aes256>;

/// Length of the token: the first 8 base64 characters of the digest.
pub const TOKEN_LEN: usize = 8;

/// The 32-byte SHA-256 digest of one write command: source of its token and
/// AES key for its encrypted param. `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthDigest([u8; 32]);

impl AuthDigest {
    /// The raw key bytes. Callers must not log or format them.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for AuthDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthDigest(***)")
    }
}

/// `SHA-256(cmd + password + salt + ts)`, `ts` in decimal unix seconds.
pub fn digest(cmd: &str, password: &Secret, salt: &str, ts: u64) -> AuthDigest {
    let mut hasher = Sha256::new();
    hasher.update(cmd.as_bytes());
    hasher.update(password.expose().as_bytes());
    hasher.update(salt.as_bytes());
    hasher.update(ts.to_string().as_bytes());
    AuthDigest(hasher.finalize().into())
}

/// The token of a digest: the first 8 characters of its standard base64.
pub fn token_of(digest: &AuthDigest) -> Secret {
    let mut encoded = STANDARD.encode(digest.expose());
    encoded.truncate(TOKEN_LEN);
    Secret::new(encoded)
}

/// The token for one write command (see the module doc).
pub fn token(cmd: &str, password: &Secret, salt: &str, ts: u64) -> Secret {
    token_of(&digest(cmd, password, salt, ts))
}

/// Encrypts a param's compact JSON text: AES-256-ECB keyed by the digest,
/// PKCS#7 padding, standard base64. The result is the `param` string.
pub fn encrypt_param(digest: &AuthDigest, json: &str) -> String {
    let cipher = Aes256EcbEnc::new(digest.expose().into());
    let sealed = cipher.encrypt_padded_vec_mut::<Pkcs7>(json.as_bytes());
    STANDARD.encode(sealed)
}

/// Reverses [`encrypt_param`] (the miner's side, used by the simulator and
/// by tests). Errors name what failed, never the key or the plaintext.
pub fn decrypt_param(digest: &AuthDigest, param_b64: &str) -> Result<String, ErrorKind> {
    let sealed = STANDARD
        .decode(param_b64.trim())
        .map_err(|_| ErrorKind::Decrypt("param is not valid base64".into()))?;
    if sealed.is_empty() || sealed.len() % 16 != 0 {
        return Err(ErrorKind::Decrypt(
            "param length is not a whole number of AES blocks".into(),
        ));
    }
    let cipher = Aes256EcbDec::new(digest.expose().into());
    let plain = cipher
        .decrypt_padded_vec_mut::<Pkcs7>(&sealed)
        .map_err(|_| ErrorKind::Decrypt("bad padding (wrong key?)".into()))?;
    String::from_utf8(plain).map_err(|_| ErrorKind::Decrypt("param is not UTF-8".into()))
}

/// Constant-time comparison of a received token with the expected one, for
/// the server side.
pub fn token_matches(expected: &Secret, received: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    let a = expected.expose().as_bytes();
    let b = received.as_bytes();
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!("../../../tests/fixtures/v3-auth-vectors.json");

    struct Case {
        cmd: String,
        password: Secret,
        salt: String,
        ts: u64,
        token: String,
        key_hex: String,
        param_json: Option<String>,
        encrypted: Option<String>,
    }

    fn cases() -> Vec<Case> {
        let doc: Value = serde_json::from_str(VECTORS).expect("vector file is JSON");
        let list = doc["cases"].as_array().expect("cases list");
        assert!(list.len() >= 5, "vector file lost cases");
        list.iter()
            .map(|c| Case {
                cmd: c["cmd"].as_str().unwrap().to_owned(),
                password: Secret::new(c["password"].as_str().unwrap()),
                salt: c["salt"].as_str().unwrap().to_owned(),
                ts: c["ts"].as_u64().unwrap(),
                token: c["token"].as_str().unwrap().to_owned(),
                key_hex: c["key_hex"].as_str().unwrap().to_owned(),
                param_json: c["param_json"].as_str().map(str::to_owned),
                encrypted: c["encrypted_param_b64"].as_str().map(str::to_owned),
            })
            .collect()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn every_vector_gives_its_key_and_token() {
        for c in cases() {
            let d = digest(&c.cmd, &c.password, &c.salt, c.ts);
            assert_eq!(hex(d.expose()), c.key_hex, "key of {}", c.cmd);
            assert_eq!(token_of(&d).expose(), c.token, "token of {}", c.cmd);
            assert_eq!(token(&c.cmd, &c.password, &c.salt, c.ts).expose(), c.token);
        }
    }

    #[test]
    fn every_encrypted_vector_matches_both_ways() {
        let mut seen = 0;
        for c in cases() {
            let (Some(plain), Some(sealed)) = (&c.param_json, &c.encrypted) else {
                continue;
            };
            seen += 1;
            let d = digest(&c.cmd, &c.password, &c.salt, c.ts);
            assert_eq!(&encrypt_param(&d, plain), sealed, "encrypt {}", c.cmd);
            assert_eq!(
                &decrypt_param(&d, sealed).unwrap(),
                plain,
                "decrypt {}",
                c.cmd
            );
        }
        assert_eq!(seen, 2, "both encrypted vectors were checked");
    }

    #[test]
    fn token_binds_command_salt_and_time() {
        let pw = Secret::new("super");
        let base = token("set.miner.service", &pw, "5QAHiKMb", 1692685512);
        assert_ne!(token("set.miner.pools", &pw, "5QAHiKMb", 1692685512), base);
        assert_ne!(
            token("set.miner.service", &pw, "5QAHiKMc", 1692685512),
            base
        );
        assert_ne!(
            token("set.miner.service", &pw, "5QAHiKMb", 1692685513),
            base
        );
        assert_eq!(base.expose().len(), TOKEN_LEN);
    }

    #[test]
    fn wrong_key_or_garbage_is_a_typed_error() {
        let right = digest("set.miner.pools", &Secret::new("super"), "s", 1);
        let wrong = digest("set.miner.pools", &Secret::new("other"), "s", 1);
        let sealed = encrypt_param(&right, r#"[{"pool":"p","worker":"w","passwd":"x"}]"#);
        // A wrong key almost always breaks the padding; if it happens to
        // leave valid padding the text differs, so never the plaintext.
        match decrypt_param(&wrong, &sealed) {
            Err(ErrorKind::Decrypt(_)) => {}
            Ok(text) => assert!(!text.contains("\"pool\"")),
            Err(other) => panic!("unexpected {other:?}"),
        }
        for junk in ["", "!!!", "AAAA", "AAAAAAAAAAAAAAAAAAAAAA=="] {
            assert!(matches!(
                decrypt_param(&right, junk),
                Err(ErrorKind::Decrypt(_))
            ));
        }
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let d = digest("set.miner.service", &Secret::new("super"), "5QAHiKMb", 1);
        assert_eq!(format!("{d:?}"), "AuthDigest(***)");
        assert_eq!(format!("{:?}", token_of(&d)), "***");
    }

    #[test]
    fn token_comparison() {
        let t = Secret::new("t5VzZdBe");
        assert!(token_matches(&t, "t5VzZdBe"));
        assert!(!token_matches(&t, "t5VzZdBf"));
        assert!(!token_matches(&t, "t5VzZdB"));
        assert!(!token_matches(&t, ""));
    }
}
