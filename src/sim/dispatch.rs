//! From request bytes to reply text, for one miner: parse the JSON, read
//! the command under the keys its firmware reads (`super::joined`), route
//! plain reads, joined reads and encrypted writes, count commands, and
//! apply the faults that change a reply's content. Faults that change how
//! the reply travels (delays, resets, truncation) belong to the server.

use std::net::IpAddr;

use serde_json::{json, Map, Value};

use super::counters::is_write_command;
use super::fault::Fault;
use super::joined::{asked, Asked, MISSING_COMMAND_CODE, MISSING_COMMAND_MSG};
use super::miner::MinerState;
use super::persona::RequestKeys;
use super::replies::{error_reply, numbers_to_strings};
use crate::protocol::codes;

/// Text of the reply to a request that is not a JSON object.
const INVALID_JSON_MSG: &str = "json load err";
/// cgminer's text for the same (`api.c`, MSG_INVJSON).
const CGMINER_INVALID_JSON_MSG: &str = "Invalid JSON";

impl MinerState {
    /// Handles one request as read from the socket (NULs and whitespace
    /// around it are ignored) and returns the reply text.
    pub fn handle_request(&mut self, raw: &[u8], peer: IpAddr) -> String {
        let now = self.now();
        self.refresh(now);
        self.requests = self.requests.wrapping_add(1);
        let when = self.clock.unix_at(now);
        let text = trim_request(raw);
        let keys = self.traits().keys;
        let reply = match serde_json::from_slice::<Value>(text) {
            // cgminer 4.9.2 has no encrypted API: an envelope lacks
            // `command` and gets Code 24 like any other such request.
            Ok(Value::Object(request))
                if keys == RequestKeys::Both && request.contains_key("enc") =>
            {
                return self.handle_encrypted(&request, peer, now);
            }
            Ok(Value::Object(request)) => self.handle_plain(&request, peer, now),
            _ => {
                self.counters.record(super::counters::UNKNOWN);
                if self.traits().list_errors {
                    self.firmware_error(when, codes::INVALID_JSON, CGMINER_INVALID_JSON_MSG)
                } else {
                    error_reply(when, codes::INVALID_JSON, INVALID_JSON_MSG)
                }
            }
        };
        self.finish(reply)
    }

    fn handle_plain(&mut self, request: &Map<String, Value>, peer: IpAddr, now: f64) -> Value {
        let when = self.clock.unix_at(now);
        let traits = self.traits();
        let cmd = match asked(request, traits.keys) {
            Asked::Command(cmd) => cmd,
            Asked::Missing | Asked::NotAString if traits.keys == RequestKeys::CommandOnly => {
                self.counters.record(super::counters::UNKNOWN);
                return match asked(request, traits.keys) {
                    Asked::Missing => {
                        self.firmware_error(when, MISSING_COMMAND_CODE, MISSING_COMMAND_MSG)
                    }
                    _ => self.unknown_command(when),
                };
            }
            _ => "",
        };
        if matches!(self.fault, Some(Fault::StatusError)) {
            self.counters.record(cmd);
            return error_reply(when, codes::INVALID_COMMAND, "invalid cmd");
        }
        let reply = if cmd.contains('+') && self.joins {
            self.joined_reply(cmd, request, peer, now)
        } else {
            self.counters.record(cmd);
            if is_write_command(cmd) && traits.whatsminer_commands {
                // A writeable command outside the encrypted envelope.
                return error_reply(when, codes::PERMISSION_DENIED, codes::WRITE_DISABLED_MSG);
            }
            if !self.knows_read(cmd) {
                return self.unknown_command(when);
            }
            self.read_reply(cmd, request, peer, now)
        };
        if matches!(self.fault, Some(Fault::WrongShape)) {
            return if self.requests % 2 == 0 {
                json!([1, 2, 3])
            } else {
                json!({ "foo": 1 })
            };
        }
        reply
    }

    /// Serialises a reply as the firmware writes it, applying the
    /// NumbersAsStrings fault.
    pub(crate) fn finish(&self, reply: Value) -> String {
        let reply = if matches!(self.fault, Some(Fault::NumbersAsStrings)) {
            numbers_to_strings(reply)
        } else {
            reply
        };
        self.firmware_text(reply.to_string())
    }
}

/// The request without trailing NULs and surrounding whitespace.
fn trim_request(raw: &[u8]) -> &[u8] {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let cut = raw.get(..end).unwrap_or(raw);
    let start = cut
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(cut.len());
    let stop = cut
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |p| p + 1);
    cut.get(start..stop).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::model::{Flavour, Model};
    use crate::sim::testkit::miner;

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn ask(m: &mut MinerState, request: &str) -> Value {
        let text = m.handle_request(request.as_bytes(), PEER);
        serde_json::from_str(&text).expect("replies are JSON")
    }

    #[test]
    fn trims_nuls_and_whitespace() {
        assert_eq!(trim_request(b"  {\"cmd\":1}\n\0\0junk"), b"{\"cmd\":1}");
        assert_eq!(trim_request(b"\0"), b"");
        assert_eq!(trim_request(b"   "), b"");
    }

    #[test]
    fn unknown_commands_and_bad_json_answer_firmware_errors() {
        let mut m = miner(Model::M30S, Flavour::Classic);
        let r = ask(&mut m, r#"{"cmd":"make_coffee"}"#);
        assert_eq!(
            (r["STATUS"].as_str(), r["Code"].as_i64()),
            (Some("E"), Some(14))
        );
        assert_eq!(r["Msg"], "invalid cmd");
        let r = ask(&mut m, "not json");
        assert_eq!(
            (r["STATUS"].as_str(), r["Code"].as_i64()),
            (Some("E"), Some(23))
        );
        let r = ask(&mut m, r#"{"cmd":"power_off"}"#);
        assert_eq!(r["Msg"], codes::WRITE_DISABLED_MSG);
        assert!(m.powered_on(), "a plain write must not act");
        assert_eq!(m.counters.get("unknown"), 2);
        assert_eq!(m.counters.get("power_off"), 1);
    }

    #[test]
    fn content_faults_change_the_reply() {
        let mut m = miner(Model::M50, Flavour::Classic);
        m.set_fault(Some(Fault::StatusError));
        let r = ask(&mut m, r#"{"cmd":"summary"}"#);
        assert_eq!(
            (r["STATUS"].as_str(), r["Code"].as_i64()),
            (Some("E"), Some(14))
        );

        m.set_fault(Some(Fault::WrongShape));
        let shapes: Vec<Value> = (0..2)
            .map(|_| ask(&mut m, r#"{"cmd":"summary"}"#))
            .collect();
        assert!(shapes.contains(&json!([1, 2, 3])) && shapes.contains(&json!({"foo": 1})));

        m.set_fault(Some(Fault::NumbersAsStrings));
        let r = ask(&mut m, r#"{"cmd":"summary"}"#);
        let s = &r["SUMMARY"][0];
        assert!(s["MHS av"].is_string() && s["Elapsed"].is_string());
        assert!(s["MHS av"]
            .as_str()
            .and_then(|t| t.parse::<f64>().ok())
            .is_some());
        assert!(r["STATUS"][0]["When"].is_string());
        assert!(s["Hash Stable"].is_boolean(), "only numbers change");
    }
}
