//! The writeable commands: open `{"enc":1,"data":..}` against the issued
//! tokens, check the sign, change the miner's state, and answer
//! `{"enc":"<base64>"}` under the token's key. Refusals (write API off,
//! undecryptable data, bad or expired token) come back in plain text, as
//! the firmware sends them.

use std::net::IpAddr;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::counters::{READ_COMMANDS, UNDECRYPTABLE};
use super::crypto::{self, AesKey};
use super::fault::Fault;
use super::miner::{MinerState, PoolConfig, PowerMode};
use super::replies::{error_reply, msg_reply};
use super::tokens::Opened;
use crate::protocol::codes;
use crate::secret::Secret;

/// Text of the reply to a request under an invalid or expired token.
pub const TOKEN_ERROR_MSG: &str = "check token err";
/// Text of a successful write.
pub const COMMAND_OK_MSG: &str = "API command OK";
/// Longest accepted pool URL, worker or password.
const MAX_POOL_FIELD: usize = 256;
/// Longest accepted new admin password.
const MAX_PASSWORD_LEN: usize = 32;

impl MinerState {
    pub(crate) fn handle_encrypted(
        &mut self,
        envelope: &Map<String, Value>,
        peer: IpAddr,
        now: f64,
    ) -> String {
        let when = self.clock.unix_at(now);
        let write_disabled = matches!(self.fault, Some(Fault::WriteDisabled));
        let refuse = |code, msg: &str| {
            if write_disabled {
                error_reply(when, codes::PERMISSION_DENIED, codes::WRITE_DISABLED_MSG)
            } else {
                error_reply(when, code, msg)
            }
        };
        let data = envelope.get("data").and_then(Value::as_str).unwrap_or("");
        let password = self.effective_password();
        let (request, key) = match self.tokens.open(peer, now, &password, data) {
            Opened::Valid { request, key } => (request, key),
            Opened::Base64Error => {
                self.counters.record(UNDECRYPTABLE);
                let reply = refuse(codes::BASE64_ERROR, "base64 decode err");
                return self.finish(reply);
            }
            Opened::Undecryptable => {
                self.counters.record(UNDECRYPTABLE);
                let reply = refuse(codes::INVALID_JSON, codes::ENC_JSON_LOAD_ERR_MSG);
                return self.finish(reply);
            }
            Opened::BadToken { command } => {
                self.counters.record(&command);
                let reply = refuse(codes::TOKEN_INVALID, TOKEN_ERROR_MSG);
                return self.finish(reply);
            }
        };
        let cmd = request.get("cmd").and_then(Value::as_str).unwrap_or("");
        self.counters.record(cmd);
        if write_disabled {
            let reply = error_reply(when, codes::PERMISSION_DENIED, codes::WRITE_DISABLED_MSG);
            return self.finish(reply);
        }
        if matches!(self.fault, Some(Fault::StatusError)) {
            let reply = error_reply(when, codes::INVALID_COMMAND, "invalid cmd");
            return self.finish(reply);
        }
        // The reply key is fixed before the command runs: `update_pwd`
        // answers under the old password.
        let reply = self.execute(cmd, &request, peer, now);
        let plain = self.finish(reply);
        self.seal(&key, &plain)
    }

    /// Encrypts a reply, or breaks it as the encrypted-reply faults say.
    fn seal(&self, key: &AesKey, plain: &str) -> String {
        match self.fault {
            Some(Fault::GarbledEncrypted) if self.requests % 2 == 0 => {
                json!({ "enc": "%%not*base64%%" }).to_string()
            }
            Some(Fault::GarbledEncrypted) => {
                // Valid base64 of a ciphertext that is not whole blocks.
                let b64 = crypto::encrypt_to_base64(key, plain.as_bytes());
                let mut raw = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap_or_default();
                raw.truncate(raw.len().saturating_sub(5));
                let broken = base64::engine::general_purpose::STANDARD.encode(raw);
                json!({ "enc": broken }).to_string()
            }
            Some(Fault::WrongKeyEncrypted) => {
                let other = AesKey::from_key(&Secret::new("sim-some-other-key"));
                crypto::encrypt_reply(&other, plain)
            }
            _ => crypto::encrypt_reply(key, plain),
        }
    }

    /// Runs a decrypted command and returns its plain reply.
    fn execute(&mut self, cmd: &str, req: &Map<String, Value>, peer: IpAddr, now: f64) -> Value {
        let when = self.clock.unix_at(now);
        let ok = msg_reply(when, codes::COMMAND_OK, json!(COMMAND_OK_MSG));
        let invalid = error_reply(when, codes::INVALID_COMMAND, "invalid data");
        let s = &mut self.settings;
        match cmd {
            "power_off" => self.power_off(now),
            "power_on" => self.power_on(now),
            "restart_btminer" => self.restart_btminer(now),
            "reboot" => self.reboot(now),
            "factory_reset" => self.factory_reset(now),
            "set_low_power" => s.power_mode = PowerMode::Low,
            "set_normal_power" => s.power_mode = PowerMode::Normal,
            "set_high_power" => s.power_mode = PowerMode::High,
            "enable_btminer_fast_boot" | "disable_btminer_fast_boot" => {
                s.fast_boot = cmd.starts_with("enable")
            }
            "enable_web_pools" | "disable_web_pools" => s.web_pools = cmd.starts_with("enable"),
            "set_target_freq" => match int_param(req, "percent") {
                Some(p @ -100..=100) => s.target_freq_pct = p as i32,
                _ => return invalid,
            },
            "set_power_pct" => match int_param(req, "percent") {
                Some(p @ 0..=100) => s.power_pct = p as u32,
                _ => return invalid,
            },
            "adjust_power_limit" => match int_param(req, "power_limit") {
                Some(w @ 100..=99_999) => s.power_limit_w = w as u32,
                _ => return invalid,
            },
            "set_led" => match (str_param(req, "param"), req.contains_key("color")) {
                (Some("auto"), _) => s.led_manual = false,
                (_, true) => s.led_manual = true,
                _ => return invalid,
            },
            "update_pools" => match parse_pools(req) {
                Some(pools) => s.pools = pools,
                None => return invalid,
            },
            "update_pwd" => {
                let old_ok = str_param(req, "old").is_some_and(|old| old == self.password.expose());
                match str_param(req, "new") {
                    Some(new) if old_ok && valid_password(new) => {
                        self.password = Secret::new(new);
                    }
                    _ => return invalid,
                }
            }
            "set_zone"
            | "set_temp_offset"
            | "adjust_upfreq_speed"
            | "set_poweroff_cool"
            | "set_fan_zero_speed"
            | "net_config"
            | "pre_power_on" => {}
            read if READ_COMMANDS.contains(&read) => {
                return self.read_reply(read, req, peer, now);
            }
            _ => return error_reply(when, codes::INVALID_COMMAND, "invalid cmd"),
        }
        ok
    }
}

/// An integer parameter sent as a JSON number or as a string.
fn int_param(req: &Map<String, Value>, name: &str) -> Option<i64> {
    match req.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn str_param<'a>(req: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    req.get(name).and_then(Value::as_str)
}

fn valid_password(new: &str) -> bool {
    !new.is_empty()
        && new.chars().count() <= MAX_PASSWORD_LEN
        && !new.chars().any(|c| c.is_control())
}

/// `pool1..3`, `worker1..3`, `passwd1..3`; pool 1 is required, empty
/// pools 2 and 3 are left out.
fn parse_pools(req: &Map<String, Value>) -> Option<Vec<PoolConfig>> {
    let mut pools = Vec::new();
    for n in 1..=3 {
        let field = |name: &str| str_param(req, &format!("{name}{n}")).unwrap_or("").trim();
        let (url, user, password) = (field("pool"), field("worker"), field("passwd"));
        if [url, user, password]
            .iter()
            .any(|v| v.len() > MAX_POOL_FIELD)
        {
            return None;
        }
        if url.is_empty() {
            if n == 1 {
                return None;
            }
            continue;
        }
        pools.push(PoolConfig {
            url: url.to_string(),
            user: user.to_string(),
            password: Secret::new(password),
        });
    }
    Some(pools)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::model::{Flavour, Model};
    use crate::sim::testkit::miner;
    use crate::sim::testkit::{open_reply, seal};
    use std::time::Duration;

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn ask(m: &mut MinerState, request: &str) -> Value {
        serde_json::from_str(&m.handle_request(request.as_bytes(), PEER)).expect("JSON")
    }

    /// get_token, then one encrypted command; returns the decrypted reply,
    /// or the plain one when the miner refused.
    fn write(m: &mut MinerState, password: &str, command: Value) -> Value {
        let grant = ask(m, r#"{"cmd":"get_token"}"#);
        let (envelope, key) = seal(password, &grant, command);
        let reply = m.handle_request(envelope.as_bytes(), PEER);
        open_reply(&key, &reply)
    }

    #[test]
    fn power_off_and_on_through_the_token_flow() {
        let mut m = miner(Model::M30SPlus, Flavour::Classic);
        let r = write(
            &mut m,
            "admin",
            json!({"cmd":"power_off","respbefore":"true"}),
        );
        assert_eq!(
            (r["STATUS"].as_str(), r["Code"].as_i64()),
            (Some("S"), Some(131))
        );
        assert!(!m.powered_on());
        let status = ask(&mut m, r#"{"cmd":"status"}"#);
        assert_eq!(status["Msg"]["btmineroff"], "true");
        write(&mut m, "admin", json!({"cmd":"power_on"}));
        assert!(m.powered_on());
        assert_eq!(m.counters.get("get_token"), 2);
        assert_eq!(m.counters.get("power_off"), 1);
    }

    #[test]
    fn settings_commands_change_values_and_validate_input() {
        let mut m = miner(Model::M50S, Flavour::Wrapped);
        write(&mut m, "admin", json!({"cmd":"set_low_power"}));
        assert_eq!(m.settings.power_mode, PowerMode::Low);
        write(
            &mut m,
            "admin",
            json!({"cmd":"adjust_power_limit","power_limit":"2500"}),
        );
        assert_eq!(m.settings.power_limit_w, 2500);
        write(
            &mut m,
            "admin",
            json!({"cmd":"set_target_freq","percent":-10}),
        );
        assert_eq!(m.settings.target_freq_pct, -10);
        let bad = write(
            &mut m,
            "admin",
            json!({"cmd":"set_target_freq","percent":"900"}),
        );
        assert_eq!(
            (bad["STATUS"].as_str(), bad["Code"].as_i64()),
            (Some("E"), Some(14))
        );
        assert_eq!(m.settings.target_freq_pct, -10);
        write(
            &mut m,
            "admin",
            json!({"cmd":"set_led","color":"red","period":200}),
        );
        assert!(m.settings.led_manual);
        write(&mut m, "admin", json!({"cmd":"set_led","param":"auto"}));
        assert!(!m.settings.led_manual);
        let pools = json!({"cmd":"update_pools","pool1":"stratum+tcp://a:1","worker1":"w.1",
            "passwd1":"x","pool2":"","worker2":"","passwd2":"","pool3":"stratum+tcp://c:3",
            "worker3":"w.3","passwd3":"y"});
        write(&mut m, "admin", pools);
        let urls: Vec<&str> = m.settings.pools.iter().map(|p| p.url.as_str()).collect();
        assert_eq!(urls, ["stratum+tcp://a:1", "stratum+tcp://c:3"]);
        let r = write(&mut m, "admin", json!({"cmd":"set_zone"}));
        assert_eq!(r["Code"], 131);
        let r = write(&mut m, "admin", json!({"cmd":"fly"}));
        assert_eq!(r["Code"], 14);
    }

    #[test]
    fn update_pwd_changes_the_password_for_the_next_tokens() {
        let mut m = miner(Model::M30S, Flavour::Classic);
        let r = write(
            &mut m,
            "admin",
            json!({"cmd":"update_pwd","old":"admin","new":"n3w"}),
        );
        assert_eq!(r["Code"], 131, "answered under the old password");
        let r = write(&mut m, "admin", json!({"cmd":"power_off"}));
        assert_eq!(
            (r["Code"].as_i64(), r["Msg"].as_str()),
            (Some(23), Some("enc json load err"))
        );
        write(&mut m, "n3w", json!({"cmd":"power_off"}));
        assert!(!m.powered_on());
    }

    #[test]
    fn refusals_come_back_in_plain_text() {
        let mut m = miner(Model::M60S, Flavour::Wrapped);
        let r = write(&mut m, "wrong", json!({"cmd":"power_off"}));
        assert_eq!(r["Code"], 23);
        // An expired token: 135, not 23.
        let grant = ask(&mut m, r#"{"cmd":"get_token"}"#);
        m.advance_clock(Duration::from_secs(31 * 60));
        let (envelope, key) = seal("admin", &grant, json!({"cmd":"power_off"}));
        let r = open_reply(&key, &m.handle_request(envelope.as_bytes(), PEER));
        assert_eq!(
            (r["Code"].as_i64(), r["Msg"].as_str()),
            (Some(135), Some(TOKEN_ERROR_MSG))
        );
        m.tokens.expire_all();
        let r = ask(&mut m, r#"{"enc":1,"data":"@@@"}"#);
        assert_eq!(r["Code"], 137);
        m.set_fault(Some(Fault::WriteDisabled));
        let r = write(&mut m, "admin", json!({"cmd":"power_off"}));
        assert_eq!(r["Msg"], codes::WRITE_DISABLED_MSG);
        m.set_fault(Some(Fault::WrongPassword));
        let r = write(&mut m, "admin", json!({"cmd":"power_off"}));
        assert_eq!(r["Code"], 23);
        assert!(m.powered_on(), "no refused write acted");
    }

    #[test]
    fn token_limit_answers_136() {
        let mut m = miner(Model::M20S, Flavour::Classic);
        for _ in 0..crate::sim::tokens::MAX_LIVE_TOKENS_PER_IP {
            assert_eq!(ask(&mut m, r#"{"cmd":"get_token"}"#)["Code"], 134);
        }
        assert_eq!(ask(&mut m, r#"{"cmd":"get_token"}"#)["Code"], 136);
        m.expire_tokens_for_test();
        assert_eq!(ask(&mut m, r#"{"cmd":"get_token"}"#)["Code"], 134);
    }

    #[test]
    fn encrypted_reply_faults_break_the_reply() {
        let mut m = miner(Model::M50, Flavour::Classic);
        for fault in [Fault::GarbledEncrypted, Fault::WrongKeyEncrypted] {
            m.set_fault(Some(fault));
            for _ in 0..2 {
                let grant = ask(&mut m, r#"{"cmd":"get_token"}"#);
                let (envelope, key) =
                    seal("admin", &grant, json!({"cmd":"set_led","param":"auto"}));
                let reply: Value =
                    serde_json::from_str(&m.handle_request(envelope.as_bytes(), PEER))
                        .expect("the envelope is JSON");
                let enc = reply["enc"].as_str().expect("an enc field");
                let opened = crypto::decrypt_from_base64(&key, enc);
                let parsed = opened
                    .ok()
                    .and_then(|p| serde_json::from_slice::<Value>(&p).ok());
                assert!(parsed.is_none(), "a broken reply must not parse");
            }
        }
    }
}
