//! The writeable-command crypto of API v2, client side.
//!
//! From a `get_token` challenge (time, salt, newsalt) and the admin password:
//! `key` = hash part of md5-crypt(password, salt); the AES key is SHA-256 of
//! `key`; `sign` = hash part of md5-crypt(key + time, newsalt). A command is
//! NUL-padded to 16 bytes, AES-256-ECB encrypted and base64'd inside
//! `{"enc":1,"data":...}`; the reply `{"enc":...}` is the reverse.
//!
//! Everything derived from the password is held in [`Credentials`], whose
//! `Debug` is masked.

use crate::error::ErrorKind;
use crate::secret::Secret;
use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyInit};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::fmt;

type Aes256EcbEnc = ecb::Encryptor<aes::Aes256>;
type Aes256EcbDec = ecb::Decryptor<aes::Aes256>;

/// The challenge a miner answers to `get_token`.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenChallenge {
    pub time: String,
    pub salt: String,
    pub newsalt: String,
}

impl fmt::Debug for TokenChallenge {
    // Salts are not secret alone, but together with a leaked sign they help
    // an attacker; keep them out of logs like the rest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenChallenge(***)")
    }
}

impl TokenChallenge {
    /// Reads the challenge from a `get_token` reply's `Msg` object.
    pub fn from_reply(v: &serde_json::Value) -> Result<Self, ErrorKind> {
        let msg = v.get("Msg").and_then(|m| m.as_object()).ok_or_else(|| {
            ErrorKind::UnexpectedShape("get_token reply has no Msg object".into())
        })?;
        let field = |name: &str| -> Result<String, ErrorKind> {
            let value = msg
                .get(name)
                .and_then(|x| match x {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .ok_or_else(|| {
                    ErrorKind::UnexpectedShape(format!("get_token reply lacks {name}"))
                })?;
            // md5-crypt salts are at most 8 characters of a fixed alphabet;
            // anything else cannot have come from real firmware.
            let valid = !value.is_empty()
                && value.len() <= 16
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
            if valid {
                Ok(value)
            } else {
                Err(ErrorKind::UnexpectedShape(format!(
                    "get_token {name} is malformed"
                )))
            }
        };
        Ok(TokenChallenge {
            time: field("time")?,
            salt: field("salt")?,
            newsalt: field("newsalt")?,
        })
    }
}

/// Everything derived from the password and one challenge.
#[derive(Clone)]
pub struct Credentials {
    aes_key: [u8; 32],
    sign: Secret,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(***)")
    }
}

/// The hash part (4th `$` field) of md5-crypt(`password`, `salt`).
// md5-crypt is deprecated for storing passwords, but the firmware mandates
// it for this handshake: there is no other choice here.
#[allow(deprecated)]
pub fn md5_crypt_hash_part(password: &[u8], salt: &str) -> Result<String, ErrorKind> {
    let full = pwhash::md5_crypt::hash_with(format!("$1${salt}$").as_str(), password)
        .map_err(|_| ErrorKind::UnexpectedShape("salt rejected by md5-crypt".into()))?;
    full.split('$')
        .nth(3)
        .map(str::to_string)
        .ok_or_else(|| ErrorKind::Other("md5-crypt output has no hash part".into()))
}

impl Credentials {
    pub fn derive(password: &Secret, challenge: &TokenChallenge) -> Result<Self, ErrorKind> {
        let key = md5_crypt_hash_part(password.expose().as_bytes(), &challenge.salt)?;
        let aes_key: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let sign = md5_crypt_hash_part(
            format!("{key}{}", challenge.time).as_bytes(),
            &challenge.newsalt,
        )?;
        Ok(Credentials {
            aes_key,
            sign: Secret::new(sign),
        })
    }

    /// The `token` field of an encrypted command.
    pub fn sign(&self) -> &Secret {
        &self.sign
    }

    pub fn aes_key(&self) -> &[u8; 32] {
        &self.aes_key
    }

    /// Builds the plaintext `{"cmd":..,<params>,"token":..}` in that order,
    /// the order the firmware's own tools use.
    pub fn plaintext_command(
        &self,
        cmd: &str,
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> String {
        let mut out = String::with_capacity(96);
        out.push_str("{\"cmd\":");
        out.push_str(&serde_json::Value::from(cmd).to_string());
        for (k, v) in params {
            if k == "cmd" || k == "token" {
                continue;
            }
            out.push(',');
            out.push_str(&serde_json::Value::from(k.as_str()).to_string());
            out.push(':');
            out.push_str(&v.to_string());
        }
        out.push_str(",\"token\":");
        out.push_str(&serde_json::Value::from(self.sign.expose()).to_string());
        out.push('}');
        out
    }

    /// The wire bytes `{"enc":1,"data":"<base64>"}` of a plaintext command.
    pub fn envelope(&self, plaintext: &str) -> Vec<u8> {
        let data = encrypt_base64(&self.aes_key, plaintext.as_bytes());
        format!("{{\"enc\":1,\"data\":\"{data}\"}}").into_bytes()
    }

    /// Decrypts the base64 payload of an `{"enc":...}` reply, cut at the
    /// first NUL and trimmed.
    pub fn decrypt_reply(&self, payload_b64: &str) -> Result<Vec<u8>, ErrorKind> {
        decrypt_base64(&self.aes_key, payload_b64)
    }
}

/// NUL-pads to a multiple of 16, encrypts with AES-256-ECB, base64 (no
/// newlines).
pub fn encrypt_base64(aes_key: &[u8; 32], plaintext: &[u8]) -> String {
    let padded_len = plaintext.len().div_ceil(16).max(1) * 16;
    let mut buf = vec![0u8; padded_len];
    buf[..plaintext.len()].copy_from_slice(plaintext);
    let enc = Aes256EcbEnc::new(aes_key.into());
    // The buffer is already a multiple of the block size, so NoPadding
    // cannot fail; map the impossible error to an empty ciphertext anyway.
    match enc.encrypt_padded_mut::<NoPadding>(&mut buf, padded_len) {
        Ok(ct) => B64.encode(ct),
        Err(_) => String::new(),
    }
}

/// Reverse of [`encrypt_base64`], cutting the plaintext at the first NUL.
pub fn decrypt_base64(aes_key: &[u8; 32], payload_b64: &str) -> Result<Vec<u8>, ErrorKind> {
    let mut buf = B64
        .decode(payload_b64.trim())
        .map_err(|_| ErrorKind::Decrypt("payload is not base64".into()))?;
    if buf.is_empty() || buf.len() % 16 != 0 {
        return Err(ErrorKind::Decrypt(format!(
            "ciphertext of {} bytes is not whole AES blocks",
            buf.len()
        )));
    }
    let dec = Aes256EcbDec::new(aes_key.into());
    let plain = dec
        .decrypt_padded_mut::<NoPadding>(&mut buf)
        .map_err(|_| ErrorKind::Decrypt("AES decryption failed".into()))?;
    let cleaned = crate::transport::clean_reply(plain);
    if cleaned.is_empty() {
        return Err(ErrorKind::Decrypt("decrypted reply is empty".into()));
    }
    Ok(cleaned.to_vec())
}

#[cfg(test)]
mod tests;
