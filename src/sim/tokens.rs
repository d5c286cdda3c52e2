//! The tokens a miner has handed out with `get_token`, per client IP, and
//! the opening of encrypted requests against them.
//!
//! Every token has its own random salt, so a request is opened by trying
//! the keys of the client's tokens, newest first, until one yields a JSON
//! object. Expired tokens are kept a while longer (but no longer count
//! against the limit) so that a request under an expired token answers
//! "token error" (135, renew and retry) rather than "enc json load err"
//! (23, which a client takes for a wrong password).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use rand::Rng;
use serde_json::{Map, Value};

use super::crypto::{self, AesKey, TokenKeys, CRYPT_ALPHABET};
use crate::protocol::codes::TOKEN_LIFETIME_SECS;
use crate::secret::Secret;

/// Live tokens one client IP may hold (vendor document: 32).
pub const MAX_LIVE_TOKENS_PER_IP: usize = 32;
/// Tokens remembered per IP, live or expired.
const MAX_KEPT_TOKENS_PER_IP: usize = 64;
/// Client IPs remembered; the one idle longest is forgotten first.
const MAX_CLIENT_IPS: usize = 64;

/// What `get_token` answers.
#[derive(Clone)]
pub struct TokenGrant {
    pub time: String,
    pub salt: String,
    pub newsalt: String,
}

struct IssuedToken {
    grant: TokenGrant,
    issued_at: f64,
    /// Keys derived with `password`; re-derived when the password changes.
    derived: Option<(Secret, TokenKeys)>,
}

impl IssuedToken {
    fn keys(&mut self, password: &Secret) -> &TokenKeys {
        if matches!(&self.derived, Some((used, _)) if used != password) {
            self.derived = None;
        }
        let g = &self.grant;
        &self
            .derived
            .get_or_insert_with(|| {
                let keys = TokenKeys::derive(password, &g.salt, &g.time, &g.newsalt);
                (password.clone(), keys)
            })
            .1
    }

    fn live(&self, now: f64) -> bool {
        now - self.issued_at < TOKEN_LIFETIME_SECS as f64
    }
}

/// The result of opening `{"enc":1,"data":...}`.
pub enum Opened {
    /// `data` is not base64 (or has a bad length).
    Base64Error,
    /// No token of this client decrypts `data` to a JSON object: most
    /// likely a wrong password.
    Undecryptable,
    /// Decrypted, but the `token` field is wrong or the token expired (the
    /// firmware answers this in plain text). Carries the command name.
    BadToken { command: String },
    /// A valid request and the key to encrypt the reply with.
    Valid {
        request: Map<String, Value>,
        key: AesKey,
    },
}

#[derive(Default)]
pub struct TokenTable {
    by_ip: HashMap<IpAddr, VecDeque<IssuedToken>>,
}

impl TokenTable {
    /// Issues a fresh token to `ip`, or `None` when it already holds
    /// [`MAX_LIVE_TOKENS_PER_IP`] live ones.
    pub fn issue(&mut self, ip: IpAddr, now: f64, rng: &mut impl Rng) -> Option<TokenGrant> {
        if !self.by_ip.contains_key(&ip) && self.by_ip.len() >= MAX_CLIENT_IPS {
            self.forget_idlest_ip();
        }
        let tokens = self.by_ip.entry(ip).or_default();
        if tokens.iter().filter(|t| t.live(now)).count() >= MAX_LIVE_TOKENS_PER_IP {
            return None;
        }
        if tokens.len() >= MAX_KEPT_TOKENS_PER_IP {
            // Drop the oldest expired token; there is one, since at most
            // MAX_LIVE_TOKENS_PER_IP are live.
            if let Some(pos) = tokens.iter().position(|t| !t.live(now)) {
                tokens.remove(pos);
            } else {
                tokens.pop_front();
            }
        }
        let grant = TokenGrant {
            time: format!("{:04}", rng.gen_range(0..10_000u32)),
            salt: random_salt(rng),
            newsalt: random_salt(rng),
        };
        tokens.push_back(IssuedToken {
            grant: grant.clone(),
            issued_at: now,
            derived: None,
        });
        Some(grant)
    }

    /// Makes every issued token expired (as if 30 minutes had passed).
    pub fn expire_all(&mut self) {
        for token in self.by_ip.values_mut().flatten() {
            token.issued_at = f64::NEG_INFINITY;
        }
    }

    /// Every grant still remembered (live or expired, up to 64 per client
    /// IP), so that tests can derive each key and sign the miner handed out.
    pub fn issued(&self) -> Vec<TokenGrant> {
        self.by_ip
            .values()
            .flatten()
            .map(|t| t.grant.clone())
            .collect()
    }

    /// Live tokens held by all clients.
    pub fn live_count(&self, now: f64) -> usize {
        self.by_ip
            .values()
            .flatten()
            .filter(|t| t.live(now))
            .count()
    }

    /// Opens an encrypted request from `ip` under the miner's `password`.
    pub fn open(&mut self, ip: IpAddr, now: f64, password: &Secret, data: &str) -> Opened {
        use base64::Engine as _;
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(data.trim()) else {
            return Opened::Base64Error;
        };
        if raw.is_empty() || raw.len() % 16 != 0 {
            return Opened::Base64Error;
        }
        let Some(tokens) = self.by_ip.get_mut(&ip) else {
            return Opened::Undecryptable;
        };
        for token in tokens.iter_mut().rev() {
            let live = token.live(now);
            let keys = token.keys(password);
            let Ok(plain) = crypto::decrypt_from_base64(&keys.aes, data) else {
                continue;
            };
            let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(&plain) else {
                continue;
            };
            let sign_ok = request
                .get("token")
                .and_then(Value::as_str)
                .is_some_and(|sent| constant_time_eq(sent, keys.sign.expose()));
            if !(sign_ok && live) {
                let command = request.get("cmd").and_then(Value::as_str).unwrap_or("");
                return Opened::BadToken {
                    command: command.to_string(),
                };
            }
            let key = keys.aes.clone();
            return Opened::Valid { request, key };
        }
        Opened::Undecryptable
    }

    fn forget_idlest_ip(&mut self) {
        let idlest = self
            .by_ip
            .iter()
            .map(|(ip, tokens)| {
                let newest = tokens.back().map_or(f64::NEG_INFINITY, |t| t.issued_at);
                (*ip, newest)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(ip, _)| ip);
        if let Some(ip) = idlest {
            self.by_ip.remove(&ip);
        }
    }
}

fn random_salt(rng: &mut impl Rng) -> String {
    (0..8)
        .map(|_| char::from(CRYPT_ALPHABET[rng.gen_range(0..CRYPT_ALPHABET.len())]))
        .collect()
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn sealed(password: &str, grant: &TokenGrant, cmd: &str, sign: Option<&str>) -> String {
        let keys = TokenKeys::derive(
            &Secret::new(password),
            &grant.salt,
            &grant.time,
            &grant.newsalt,
        );
        let token = sign.unwrap_or(keys.sign.expose()).to_string();
        let plain = serde_json::json!({ "cmd": cmd, "token": token }).to_string();
        crypto::encrypt_to_base64(&keys.aes, plain.as_bytes())
    }

    #[test]
    fn grants_have_the_documented_shape() {
        let mut table = TokenTable::default();
        let mut rng = StdRng::seed_from_u64(1);
        let g = table.issue(IP, 0.0, &mut rng).expect("first token");
        assert!(g.time.len() == 4 && g.time.bytes().all(|b| b.is_ascii_digit()));
        for salt in [&g.salt, &g.newsalt] {
            assert_eq!(salt.len(), 8);
            assert!(salt.bytes().all(|b| CRYPT_ALPHABET.contains(&b)));
        }
        let g2 = table.issue(IP, 0.0, &mut rng).expect("second token");
        assert_ne!(g.salt, g2.salt);
    }

    #[test]
    fn opens_valid_requests_and_classifies_failures() {
        let mut table = TokenTable::default();
        let mut rng = StdRng::seed_from_u64(2);
        let admin = Secret::new("admin");
        let old = table.issue(IP, 0.0, &mut rng).expect("token");
        let new = table.issue(IP, 1.0, &mut rng).expect("token");
        for grant in [&old, &new] {
            match table.open(IP, 2.0, &admin, &sealed("admin", grant, "power_off", None)) {
                Opened::Valid { request, .. } => assert_eq!(request["cmd"], "power_off"),
                _ => panic!("valid request not opened"),
            }
        }
        let wrong_sign = sealed("admin", &new, "power_off", Some("AAAAAAAAAAAAAAAAAAAAAA"));
        assert!(matches!(
            table.open(IP, 2.0, &admin, &wrong_sign),
            Opened::BadToken { .. }
        ));
        let wrong_pw = sealed("other", &new, "power_off", None);
        assert!(matches!(
            table.open(IP, 2.0, &admin, &wrong_pw),
            Opened::Undecryptable
        ));
        assert!(matches!(
            table.open(IP, 2.0, &admin, "***"),
            Opened::Base64Error
        ));
        let other_ip = IpAddr::from([127, 0, 0, 9]);
        let valid = sealed("admin", &new, "power_off", None);
        assert!(matches!(
            table.open(other_ip, 2.0, &admin, &valid),
            Opened::Undecryptable
        ));
        // After 30 minutes the same request is a token error, not a decrypt error.
        let later = 1.0 + TOKEN_LIFETIME_SECS as f64;
        assert!(matches!(
            table.open(IP, later, &admin, &valid),
            Opened::BadToken { .. }
        ));
    }

    #[test]
    fn limits_live_tokens_per_ip_and_frees_them_on_expiry() {
        let mut table = TokenTable::default();
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..MAX_LIVE_TOKENS_PER_IP {
            assert!(table.issue(IP, 0.0, &mut rng).is_some());
        }
        assert!(table.issue(IP, 0.0, &mut rng).is_none());
        assert!(table
            .issue(IpAddr::from([127, 0, 0, 2]), 0.0, &mut rng)
            .is_some());
        table.expire_all();
        assert_eq!(table.live_count(0.0), 0);
        for _ in 0..100 {
            table.expire_all();
            assert!(table.issue(IP, 0.0, &mut rng).is_some());
        }
        let kept: usize = table.by_ip.values().map(VecDeque::len).sum();
        assert!(kept <= 2 * MAX_KEPT_TOKENS_PER_IP);
    }
}
