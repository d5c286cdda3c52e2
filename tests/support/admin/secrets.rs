//! A finder for secrets in text: named values (passwords, tokens) plus
//! everything the v2 token flow derives from a password for each challenge
//! a simulated miner issued (key, sign, AES key), so that tests can check
//! that none of them reaches logs, replies or `Debug` output.

use base64::Engine as _;
use whatsminer_exporter::protocol::crypto::{Credentials, TokenChallenge};
use whatsminer_exporter::secret::Secret;
use whatsminer_exporter::sim::{crypto, MinerHandle};

/// Named secret values and a finder for them.
pub struct Secrets(Vec<(String, String)>);

impl Secrets {
    pub fn new(fixed: &[(&str, &str)]) -> Self {
        Secrets(
            fixed
                .iter()
                .map(|(what, value)| (what.to_string(), value.to_string()))
                .collect(),
        )
    }

    pub fn add(&mut self, what: String, value: String) {
        assert!(value.len() >= 16, "{what} is too short to search for");
        self.0.push((what, value));
    }

    /// Adds what the token flow derives from `password` for one challenge:
    /// the key (md5-crypt hash part), the sign, and the AES key as hex (both
    /// cases) and base64.
    pub fn add_challenge(&mut self, label: &str, password: &str, c: &TokenChallenge) {
        let key = crypto::derive_key(&Secret::new(password), &c.salt);
        let sign = crypto::derive_sign(&key, &c.time, &c.newsalt);
        let aes = *crypto::AesKey::from_key(&key).bytes();
        // The simulator's derivation must be the exporter's, or the search
        // would look for values the exporter never held.
        let client = Credentials::derive(&Secret::new(password), c).expect("derivable challenge");
        assert_eq!(
            client.sign().expose(),
            sign.expose(),
            "{label}: sign differs"
        );
        assert_eq!(client.aes_key(), &aes, "{label}: AES key differs");
        let hex: String = aes.iter().map(|b| format!("{b:02x}")).collect();
        self.add(format!("{label} key"), key.expose().to_string());
        self.add(format!("{label} sign"), sign.expose().to_string());
        self.add(format!("{label} AES key hex"), hex.to_ascii_uppercase());
        self.add(format!("{label} AES key hex"), hex);
        let b64 = base64::engine::general_purpose::STANDARD.encode(aes);
        self.add(format!("{label} AES key base64"), b64);
    }

    /// Adds the derived values of every challenge the miners issued, for
    /// each password; returns how many challenges there were.
    pub fn add_issued(&mut self, miners: &[MinerHandle], passwords: &[&str]) -> usize {
        let mut count = 0;
        for miner in miners {
            for (i, grant) in miner.issued_challenges().into_iter().enumerate() {
                let challenge = TokenChallenge {
                    time: grant.time,
                    salt: grant.salt,
                    newsalt: grant.newsalt,
                };
                for pw in passwords {
                    let label = format!("miner {} token {i} ({pw:.6}…)", miner.index());
                    self.add_challenge(&label, pw, &challenge);
                }
                count += 1;
            }
        }
        count
    }

    /// The names of the secrets found in `text`.
    pub fn found_in(&self, text: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(_, value)| text.contains(value.as_str()))
            .map(|(what, _)| what.as_str())
            .collect()
    }

    pub fn assert_absent(&self, place: &str, text: &str) {
        let found = self.found_in(text);
        assert!(found.is_empty(), "{place} leaks: {found:?}");
    }

    /// The finder works: each secret planted in some text is found.
    pub fn assert_detectable(&self) {
        for (what, value) in &self.0 {
            let planted = format!("{{\"noise\":1,\"x\":\"{value}\"}}\n");
            assert!(self.found_in(&planted).contains(&what.as_str()), "{what}");
        }
    }
}
