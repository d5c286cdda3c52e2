//! v2 writeable command names mapped to API v3, so that one admin path
//! (which speaks v2 names) can drive miners of either API through
//! [`super::WriteSession`].
//!
//! | v2 command (params) | v3 command | v3 param |
//! | --- | --- | --- |
//! | `power_off` (`respbefore` ignored) | `set.miner.service` | `"stop"` |
//! | `power_on` | `set.miner.service` | `"start"` |
//! | `restart_btminer` | `set.miner.service` | `"restart"` |
//! | `reboot` | `set.system.reboot` | none |
//! | `set_led` (`param=auto`) | `set.system.led` | `"auto"` |
//! | `set_led` (`color`, `period`, `duration`, `start`) | `set.system.led` | `[{"color","period","duration","start"}]` |
//! | `update_pools` (`pool1..3`, `worker1..3`, `passwd1..3`) | `set.miner.pools` | `[{"pool","worker","passwd"}]` (sent encrypted) |
//! | `adjust_power_limit` (`power_limit`) | `set.miner.power_limit` | number, W |
//! | `set_low_power` / `set_normal_power` / `set_high_power` | `set.miner.power_mode` | `"low"` / `"normal"` / `"high"` |
//!
//! Any other v2 command has no v3 equivalent here and is refused before
//! anything is sent.

use serde_json::{json, Map, Value};

use crate::error::ErrorKind;

/// Highest power limit v3 accepts (vendor document: 0..99999 W).
const MAX_POWER_LIMIT_W: i64 = 99_999;

/// A v3 write: command name and param (`None`: no param field).
#[derive(Debug, Clone, PartialEq)]
pub struct V3Command {
    pub cmd: &'static str,
    pub param: Option<Value>,
}

/// The v3 equivalent of a v2 writeable command (see the module table).
/// Errors name the problem; they never echo parameter values, which may
/// hold pool passwords.
pub fn v3_equivalent(
    v2_command: &str,
    params: &Map<String, Value>,
) -> Result<V3Command, ErrorKind> {
    let service = |param: &str| V3Command {
        cmd: "set.miner.service",
        param: Some(json!(param)),
    };
    let mode = |param: &str| V3Command {
        cmd: "set.miner.power_mode",
        param: Some(json!(param)),
    };
    Ok(match v2_command {
        "power_off" => service("stop"),
        "power_on" => service("start"),
        "restart_btminer" => service("restart"),
        "reboot" => V3Command {
            cmd: "set.system.reboot",
            param: None,
        },
        "set_low_power" => mode("low"),
        "set_normal_power" => mode("normal"),
        "set_high_power" => mode("high"),
        "set_led" => V3Command {
            cmd: "set.system.led",
            param: Some(led_param(params)?),
        },
        "update_pools" => V3Command {
            cmd: "set.miner.pools",
            param: Some(pools_param(params)?),
        },
        "adjust_power_limit" => {
            let watts = int(params, "power_limit")
                .filter(|w| (0..=MAX_POWER_LIMIT_W).contains(w))
                .ok_or_else(|| invalid("adjust_power_limit needs power_limit, 0..99999 W"))?;
            V3Command {
                cmd: "set.miner.power_limit",
                param: Some(json!(watts)),
            }
        }
        other => {
            return Err(ErrorKind::Other(format!(
                "{} has no API v3 equivalent",
                crate::error::truncate_for_log(other, 40)
            )))
        }
    })
}

fn invalid(message: &str) -> ErrorKind {
    ErrorKind::Other(message.to_owned())
}

fn int(params: &Map<String, Value>, key: &str) -> Option<i64> {
    match params.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text<'a>(params: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    params
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `param=auto`, or one blink step from `color`, `period`, `duration`,
/// `start` (v2 `set_led` fields).
fn led_param(params: &Map<String, Value>) -> Result<Value, ErrorKind> {
    if text(params, "param").is_some_and(|p| p.eq_ignore_ascii_case("auto")) {
        return Ok(json!("auto"));
    }
    let color = text(params, "color")
        .ok_or_else(|| invalid("set_led needs param=auto, or color, period, duration and start"))?;
    let number = |key: &str| {
        int(params, key)
            .filter(|n| *n >= 0)
            .ok_or_else(|| invalid("set_led period, duration and start must be whole numbers"))
    };
    Ok(json!([{
        "color": color,
        "period": number("period")?,
        "duration": number("duration")?,
        "start": number("start")?,
    }]))
}

/// `pool1..3`, `worker1..3`, `passwd1..3` → up to three pool objects; pool
/// 1 is required, empty later pools are left out.
fn pools_param(params: &Map<String, Value>) -> Result<Value, ErrorKind> {
    let mut list = Vec::new();
    for n in 1..=3 {
        let Some(url) = text(params, &format!("pool{n}")) else {
            if n == 1 {
                return Err(invalid("update_pools needs pool1"));
            }
            continue;
        };
        list.push(json!({
            "pool": url,
            "worker": text(params, &format!("worker{n}")).unwrap_or(""),
            "passwd": text(params, &format!("passwd{n}")).unwrap_or(""),
        }));
    }
    Ok(Value::Array(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn map(cmd: &str, pairs: &[(&str, Value)]) -> Result<V3Command, ErrorKind> {
        v3_equivalent(cmd, &params(pairs))
    }

    #[test]
    fn every_listed_command_maps() {
        let none = &[][..];
        let cases = [
            ("power_off", "set.miner.service", Some(json!("stop"))),
            ("power_on", "set.miner.service", Some(json!("start"))),
            (
                "restart_btminer",
                "set.miner.service",
                Some(json!("restart")),
            ),
            ("reboot", "set.system.reboot", None),
            ("set_low_power", "set.miner.power_mode", Some(json!("low"))),
            (
                "set_normal_power",
                "set.miner.power_mode",
                Some(json!("normal")),
            ),
            (
                "set_high_power",
                "set.miner.power_mode",
                Some(json!("high")),
            ),
        ];
        for (v2, cmd, param) in cases {
            assert_eq!(map(v2, none), Ok(V3Command { cmd, param }), "{v2}");
        }
        let respbefore = map("power_off", &[("respbefore", json!("true"))]).unwrap();
        assert_eq!(respbefore.param, Some(json!("stop")));
    }

    #[test]
    fn power_limit_accepts_numbers_and_numeric_text_in_range() {
        for given in [json!(3000), json!("3000")] {
            let c = map("adjust_power_limit", &[("power_limit", given)]).unwrap();
            assert_eq!(
                (c.cmd, c.param),
                ("set.miner.power_limit", Some(json!(3000)))
            );
        }
        for bad in [json!(-1), json!(100_000), json!("lots"), json!(null)] {
            assert!(map("adjust_power_limit", &[("power_limit", bad)]).is_err());
        }
        assert!(map("adjust_power_limit", &[]).is_err());
    }

    #[test]
    fn led_auto_or_one_step() {
        let auto = map("set_led", &[("param", json!("auto"))]).unwrap();
        assert_eq!(auto.param, Some(json!("auto")));
        let step = map(
            "set_led",
            &[
                ("color", json!("red")),
                ("period", json!(60)),
                ("duration", json!("20")),
                ("start", json!(0)),
            ],
        )
        .unwrap();
        assert_eq!(
            step.param,
            Some(json!([{"color":"red","period":60,"duration":20,"start":0}]))
        );
        assert!(map("set_led", &[]).is_err());
        assert!(map("set_led", &[("color", json!("red"))]).is_err());
    }

    #[test]
    fn pools_skip_empty_ones_and_need_the_first() {
        let c = map(
            "update_pools",
            &[
                ("pool1", json!("stratum+tcp://a:1")),
                ("worker1", json!("w.1")),
                ("passwd1", json!("x")),
                ("pool2", json!("")),
                ("pool3", json!("stratum+tcp://c:3")),
                ("worker3", json!("w.3")),
            ],
        )
        .unwrap();
        assert_eq!(c.cmd, "set.miner.pools");
        assert_eq!(
            c.param,
            Some(json!([
                {"pool":"stratum+tcp://a:1","worker":"w.1","passwd":"x"},
                {"pool":"stratum+tcp://c:3","worker":"w.3","passwd":""}
            ]))
        );
        let err = map("update_pools", &[("passwd1", json!("s3cret"))]).unwrap_err();
        assert!(!err.to_string().contains("s3cret"));
    }

    #[test]
    fn unknown_commands_are_refused() {
        for cmd in ["update_pwd", "factory_reset", "net_config", "summary", ""] {
            assert!(matches!(map(cmd, &[]), Err(ErrorKind::Other(_))), "{cmd}");
        }
    }
}
