//! The v3 `set.*` commands of a simulated miner: check account, `ts` and
//! token against the miner's salt and password, open an encrypted param,
//! then change the same state the v2 writes change. Every refusal of the
//! credentials is `-4` "no permission", as on the firmware (write switch
//! off, wrong password, stale salt, bad token all look the same).

use serde_json::{json, Map, Value};

use super::auth::WriteKey;
use super::{code, Refusal};
use crate::secret::Secret;
use crate::sim::fault::Fault;
use crate::sim::miner::{MinerState, PoolConfig, PowerMode};

/// Commands whose param travels encrypted.
const SEALED: &[&str] = &["set.miner.pools", "set.user.change_passwd"];
/// Longest pool URL, worker or pool password accepted.
const MAX_POOL_FIELD: usize = 256;
/// Longest new password accepted.
const MAX_PASSWORD_LEN: usize = 32;

const NO_PERMISSION: Refusal = (code::NO_PERMISSION, "no permission");
const BAD_VALUE: Refusal = (code::FAILED, "invalid param value");

impl MinerState {
    pub(super) fn write_v3(
        &mut self,
        cmd: &str,
        request: &Map<String, Value>,
        now: f64,
    ) -> Result<Value, Refusal> {
        let key = self.check_write(cmd, request)?;
        let param = match request.get("param") {
            Some(Value::String(sealed)) if SEALED.contains(&cmd) => {
                let plain = key
                    .open(sealed)
                    .ok_or((code::FAILED, "decrypt param failed"))?;
                Some(serde_json::from_slice::<Value>(&plain).map_err(|_| BAD_VALUE)?)
            }
            Some(_) if SEALED.contains(&cmd) => return Err(BAD_VALUE),
            other => other.cloned(),
        };
        self.execute_v3(cmd, param.as_ref(), now)?;
        Ok(json!("ok"))
    }

    /// Account, timestamp and token; the key opens a sealed param.
    fn check_write(&self, cmd: &str, request: &Map<String, Value>) -> Result<WriteKey, Refusal> {
        if matches!(self.fault, Some(Fault::WriteDisabled)) {
            return Err(NO_PERMISSION);
        }
        let account = request.get("account").and_then(Value::as_str);
        let ts = request.get("ts").and_then(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        let token = request.get("token").and_then(Value::as_str);
        let (Some(account), Some(ts), Some(token)) = (account, ts, token) else {
            return Err((code::INVALID_JSON_ITEM, "param item is null"));
        };
        // Only `super` is set up on a simulated miner.
        let salt = self.v3.as_ref().map(|v| v.salt.as_str()).unwrap_or("");
        let key = WriteKey::derive(cmd, &self.effective_password(), salt, ts);
        if account != "super" || salt.is_empty() || !key.accepts(token) {
            return Err(NO_PERMISSION);
        }
        Ok(key)
    }

    fn execute_v3(&mut self, cmd: &str, param: Option<&Value>, now: f64) -> Result<(), Refusal> {
        let text = param.and_then(Value::as_str);
        match cmd {
            "set.miner.service" => match text {
                Some("stop") => self.power_off(now),
                Some("start") => self.power_on(now),
                Some("restart") => self.restart_btminer(now),
                Some("enable" | "disable") => {}
                _ => return Err(BAD_VALUE),
            },
            "set.system.reboot" => {
                self.reboot(now);
                // A new boot draws a new salt: clients must fetch it again.
                self.rotate_v3_salt();
            }
            "set.system.led" => match param {
                Some(Value::String(s)) if s == "auto" => self.settings.led_manual = false,
                Some(Value::Array(steps)) if !steps.is_empty() && steps.len() <= 8 => {
                    self.settings.led_manual = true
                }
                _ => return Err(BAD_VALUE),
            },
            "set.miner.power_mode" => {
                self.settings.power_mode = match text {
                    Some("low") => PowerMode::Low,
                    Some("normal") => PowerMode::Normal,
                    Some("high") => PowerMode::High,
                    _ => return Err(BAD_VALUE),
                }
            }
            "set.miner.power_limit" => {
                let watts = match param {
                    Some(Value::Number(n)) => n.as_u64(),
                    Some(Value::String(s)) => s.trim().parse().ok(),
                    _ => None,
                };
                match watts {
                    Some(w @ 100..=99_999) => {
                        self.settings.power_limit_w = w as u32;
                        // The vendor document: the miner restarts mining.
                        self.restart_btminer(now);
                    }
                    _ => return Err(BAD_VALUE),
                }
            }
            "set.miner.pools" => {
                self.settings.pools = param.and_then(parse_pools).ok_or(BAD_VALUE)?;
            }
            "set.user.change_passwd" => {
                let field = |k: &str| param.and_then(|p| p.get(k)).and_then(Value::as_str);
                let old_ok = field("old").is_some_and(|old| old == self.password.expose());
                match (field("account"), field("new")) {
                    (Some("super"), Some(new)) if old_ok && valid_password(new) => {
                        self.password = Secret::new(new);
                    }
                    _ => return Err(BAD_VALUE),
                }
            }
            _ => return Err((code::INVALID_COMMAND, "invalid command")),
        }
        Ok(())
    }
}

/// A list of 1 to 3 `{pool, worker, passwd}` objects with a non-empty
/// first pool URL.
fn parse_pools(param: &Value) -> Option<Vec<PoolConfig>> {
    let list = param.as_array()?;
    if list.is_empty() || list.len() > 3 {
        return None;
    }
    let mut pools = Vec::with_capacity(list.len());
    for entry in list {
        let field = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or("").trim();
        let (url, worker, passwd) = (field("pool"), field("worker"), field("passwd"));
        if url.is_empty()
            || [url, worker, passwd]
                .iter()
                .any(|v| v.len() > MAX_POOL_FIELD)
        {
            return None;
        }
        pools.push(PoolConfig {
            url: url.to_owned(),
            user: worker.to_owned(),
            password: Secret::new(passwd),
        });
    }
    Some(pools)
}

fn valid_password(new: &str) -> bool {
    !new.is_empty() && new.chars().count() <= MAX_PASSWORD_LEN && !new.chars().any(char::is_control)
}
