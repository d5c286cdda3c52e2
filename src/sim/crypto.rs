//! The miner's side of the v2 writeable-command crypto, written
//! independently of the client's implementation so that a mistake on one
//! side shows up as a failure against the other.
//!
//! md5-crypt is hand-written on the `md-5` digest (the `$1$` scheme of
//! FreeBSD/glibc), the AES-256-ECB layer drives the `aes` block cipher one
//! block at a time with NUL padding, and base64 is the standard alphabet
//! with padding.

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use aes::Aes256;
use base64::Engine as _;
use md5::{Digest, Md5};
use sha2::Sha256;

use crate::secret::Secret;

const BLOCK: usize = 16;

/// The 64-character alphabet of crypt(3) hashes; the simulator also draws
/// token salts from it.
pub const CRYPT_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why an encrypted request could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("data is not valid base64")]
    Base64,
    #[error("ciphertext length {0} is not a non-zero multiple of 16")]
    Length(usize),
}

/// A 256-bit AES key derived from the admin password and a token salt.
/// Deliberately without `Debug`: it is as sensitive as the password.
#[derive(Clone, PartialEq, Eq)]
pub struct AesKey([u8; 32]);

impl AesKey {
    /// SHA-256 of the md5-crypt `key` string (UTF-8), the raw 32 bytes.
    pub fn from_key(key: &Secret) -> Self {
        AesKey(Sha256::digest(key.expose().as_bytes()).into())
    }

    /// The raw bytes, for known-answer tests.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Full md5-crypt string `$1$<salt>$<22-char hash>`. The salt is cut at the
/// first `$` and at 8 bytes, as crypt(3) does.
pub fn md5_crypt(password: &[u8], salt: &[u8]) -> String {
    let salt = crypt_salt(salt);
    let digest = md5_crypt_digest(password, salt);
    let mut out = String::with_capacity(3 + salt.len() + 1 + 22);
    out.push_str("$1$");
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    out.push_str(&encode_crypt_digest(&digest));
    out
}

/// The hash part (4th `$` field) of `md5_crypt(password, salt)`.
fn md5_crypt_hash(password: &[u8], salt: &[u8]) -> String {
    encode_crypt_digest(&md5_crypt_digest(password, crypt_salt(salt)))
}

fn crypt_salt(salt: &[u8]) -> &[u8] {
    let end = salt.iter().position(|&b| b == b'$').unwrap_or(salt.len());
    salt.get(..end.min(8)).unwrap_or(salt)
}

fn md5_crypt_digest(pw: &[u8], salt: &[u8]) -> [u8; 16] {
    let alternate: [u8; 16] = Md5::new()
        .chain_update(pw)
        .chain_update(salt)
        .chain_update(pw)
        .finalize()
        .into();

    let mut ctx = Md5::new()
        .chain_update(pw)
        .chain_update(b"$1$")
        .chain_update(salt);
    // The alternate digest, repeated to the password's length.
    let mut remaining = pw.len();
    while remaining > 0 {
        let take = remaining.min(16);
        ctx.update(&alternate[..take]);
        remaining -= take;
    }
    // One byte per bit of the length: NUL for a set bit, the first password
    // byte for a clear one (a quirk of the original C code, kept by all).
    let first = pw.first().copied().unwrap_or(0);
    let mut bits = pw.len();
    while bits != 0 {
        ctx.update([if bits & 1 == 1 { 0 } else { first }]);
        bits >>= 1;
    }
    let mut digest: [u8; 16] = ctx.finalize().into();

    // 1000 rounds meant to slow down brute force.
    for round in 0..1000u32 {
        let mut ctx = Md5::new();
        if round % 2 == 1 {
            ctx.update(pw);
        } else {
            ctx.update(digest);
        }
        if round % 3 != 0 {
            ctx.update(salt);
        }
        if round % 7 != 0 {
            ctx.update(pw);
        }
        if round % 2 == 1 {
            ctx.update(digest);
        } else {
            ctx.update(pw);
        }
        digest = ctx.finalize().into();
    }
    digest
}

/// crypt(3)'s base-64: fixed byte triples, least significant 6 bits first.
fn encode_crypt_digest(d: &[u8; 16]) -> String {
    fn push(out: &mut String, mut value: u32, chars: usize) {
        for _ in 0..chars {
            out.push(char::from(CRYPT_ALPHABET[(value & 0x3f) as usize]));
            value >>= 6;
        }
    }
    let triple = |a: u8, b: u8, c: u8| (u32::from(a) << 16) | (u32::from(b) << 8) | u32::from(c);
    let mut out = String::with_capacity(22);
    push(&mut out, triple(d[0], d[6], d[12]), 4);
    push(&mut out, triple(d[1], d[7], d[13]), 4);
    push(&mut out, triple(d[2], d[8], d[14]), 4);
    push(&mut out, triple(d[3], d[9], d[15]), 4);
    push(&mut out, triple(d[4], d[10], d[5]), 4);
    push(&mut out, u32::from(d[11]), 2);
    out
}

/// `key`: the md5-crypt hash of the admin password under the token's salt.
pub fn derive_key(password: &Secret, salt: &str) -> Secret {
    Secret::new(md5_crypt_hash(
        password.expose().as_bytes(),
        salt.as_bytes(),
    ))
}

/// `sign`: the md5-crypt hash of `key + time` under `newsalt`; the client
/// sends it as the `token` field of every encrypted command.
pub fn derive_sign(key: &Secret, time: &str, newsalt: &str) -> Secret {
    let mut material = String::with_capacity(key.expose().len() + time.len());
    material.push_str(key.expose());
    material.push_str(time);
    Secret::new(md5_crypt_hash(material.as_bytes(), newsalt.as_bytes()))
}

/// Everything a miner derives from a token: the AES key and the expected sign.
pub struct TokenKeys {
    pub aes: AesKey,
    pub sign: Secret,
}

impl TokenKeys {
    pub fn derive(password: &Secret, salt: &str, time: &str, newsalt: &str) -> Self {
        let key = derive_key(password, salt);
        TokenKeys {
            aes: AesKey::from_key(&key),
            sign: derive_sign(&key, time, newsalt),
        }
    }
}

/// AES-256-ECB over `plaintext` zero-padded to a whole number of blocks,
/// then standard base64.
pub fn encrypt_to_base64(key: &AesKey, plaintext: &[u8]) -> String {
    let cipher = Aes256::new(GenericArray::from_slice(&key.0));
    let padded_len = plaintext.len().div_ceil(BLOCK) * BLOCK;
    let mut buf = plaintext.to_vec();
    buf.resize(padded_len, 0);
    for chunk in buf.chunks_exact_mut(BLOCK) {
        cipher.encrypt_block(GenericArray::from_mut_slice(chunk));
    }
    base64::engine::general_purpose::STANDARD.encode(buf)
}

/// Reverses [`encrypt_to_base64`]: base64-decode, decrypt, cut at the first
/// NUL. The bytes may be garbage if the key is wrong; the caller parses them.
pub fn decrypt_from_base64(key: &AesKey, data: &str) -> Result<Vec<u8>, OpenError> {
    let mut buf = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|_| OpenError::Base64)?;
    if buf.is_empty() || buf.len() % BLOCK != 0 {
        return Err(OpenError::Length(buf.len()));
    }
    let cipher = Aes256::new(GenericArray::from_slice(&key.0));
    for chunk in buf.chunks_exact_mut(BLOCK) {
        cipher.decrypt_block(GenericArray::from_mut_slice(chunk));
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf.truncate(end);
    Ok(buf)
}

/// The encrypted reply envelope `{"enc":"<base64>"}`.
pub fn encrypt_reply(key: &AesKey, plaintext: &str) -> String {
    serde_json::json!({ "enc": encrypt_to_base64(key, plaintext.as_bytes()) }).to_string()
}

/// The encrypted request envelope `{"enc":1,"data":"<base64>"}`, as a
/// client sends it. The simulator never needs it; its tests do.
pub fn encrypt_request(key: &AesKey, plaintext: &str) -> String {
    // Built by hand to keep the key order of real clients (base64 needs no
    // JSON escaping).
    format!(
        r#"{{"enc":1,"data":"{}"}}"#,
        encrypt_to_base64(key, plaintext.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Vec<Value> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/v2-crypto-vectors.json"
        );
        let text = std::fs::read_to_string(path).expect("fixture readable");
        let doc: Value = serde_json::from_str(&text).expect("fixture is JSON");
        let cases = doc["cases"].as_array().expect("cases").clone();
        assert!(cases.len() >= 5, "expected the five shared cases");
        cases
    }

    fn field<'a>(case: &'a Value, name: &str) -> &'a str {
        case[name]
            .as_str()
            .unwrap_or_else(|| panic!("missing {name}"))
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn reproduces_every_field_of_every_vector() {
        for case in vectors() {
            let password = Secret::new(field(&case, "password"));
            let (salt, newsalt, time) = (
                field(&case, "salt"),
                field(&case, "newsalt"),
                field(&case, "time"),
            );
            assert_eq!(
                md5_crypt(password.expose().as_bytes(), salt.as_bytes()),
                field(&case, "md5_crypt_password")
            );
            let key = derive_key(&password, salt);
            assert_eq!(key.expose(), field(&case, "key"));
            let aes = AesKey::from_key(&key);
            assert_eq!(hex(aes.bytes()), field(&case, "aes_key_hex"));
            let mut sign_input = key.expose().to_string();
            sign_input.push_str(time);
            assert_eq!(
                md5_crypt(sign_input.as_bytes(), newsalt.as_bytes()),
                field(&case, "md5_crypt_sign")
            );
            let sign = derive_sign(&key, time, newsalt);
            assert_eq!(sign.expose(), field(&case, "sign"));
            let keys = TokenKeys::derive(&password, salt, time, newsalt);
            assert!(keys.sign == sign && keys.aes == aes);

            let request_plain = field(&case, "request_plaintext");
            let request_b64 = field(&case, "request_data_base64");
            let opened = decrypt_from_base64(&aes, request_b64).expect("decrypts");
            assert_eq!(opened, request_plain.as_bytes());
            assert_eq!(
                encrypt_to_base64(&aes, request_plain.as_bytes()),
                request_b64
            );
            assert_eq!(
                encrypt_request(&aes, request_plain),
                field(&case, "request_envelope")
            );
            assert_eq!(
                encrypt_reply(&aes, field(&case, "response_plaintext")),
                field(&case, "response_envelope")
            );
        }
    }

    #[test]
    fn md5_crypt_matches_a_classic_known_answer() {
        // glibc's own test: the salt is cut at 8 bytes.
        assert_eq!(
            md5_crypt(b"Hello world!", b"saltstring"),
            "$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1"
        );
        assert_eq!(md5_crypt(b"x", b"ab$cd"), md5_crypt(b"x", b"ab"));
        // An empty password must not panic (value from `openssl passwd -1`).
        assert_eq!(md5_crypt(b"", b"abc"), "$1$abc$Or2rbeUYTvt12aiVzMuS/.");
    }

    #[test]
    fn wrong_key_or_bad_input_never_yields_the_plaintext() {
        let right = AesKey::from_key(&Secret::new("right"));
        let wrong = AesKey::from_key(&Secret::new("wrong"));
        let data = encrypt_to_base64(&right, br#"{"cmd":"power_on"}"#);
        let garbage = decrypt_from_base64(&wrong, &data).expect("length ok");
        assert_ne!(garbage, br#"{"cmd":"power_on"}"#);
        assert_eq!(
            decrypt_from_base64(&right, "!!notbase64"),
            Err(OpenError::Base64)
        );
        assert_eq!(decrypt_from_base64(&right, ""), Err(OpenError::Length(0)));
        assert_eq!(
            decrypt_from_base64(&right, "AAAA"),
            Err(OpenError::Length(3))
        );
    }

    #[test]
    fn block_aligned_plaintext_gets_no_extra_block() {
        let key = AesKey::from_key(&Secret::new("k"));
        let b64 = encrypt_to_base64(&key, &[b'a'; 32]);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("valid");
        assert_eq!(raw.len(), 32);
    }
}
