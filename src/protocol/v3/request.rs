//! API v3 request bodies (unframed JSON; `crate::transport::v3` frames them).
//!
//! - Read (`get.*`): `{"cmd":"get.miner.status","param":"summary"}`, with
//!   `param` left out when there is none. No authentication.
//! - Write (`set.*`): `{"cmd":..,"param":..,"ts":<unix s>,"account":..,
//!   "token":<8 chars>}`. The outer object is always plain JSON; only the
//!   `param` of [`SENSITIVE_COMMANDS`] is encrypted (see `auth`).
//!
//! A write request contains its token (and, for sensitive commands, a
//! param encrypted with the write's key): never log request bytes.

use serde_json::{Map, Value};

use super::auth::{digest, encrypt_param, token_of};
use crate::secret::Secret;

/// Commands whose `param` is sent encrypted (vendor API document, vendor
/// worker `SENSITIVE_PARAM_COMMANDS`).
pub const SENSITIVE_COMMANDS: &[&str] = &["set.miner.pools", "set.user.change_passwd"];

/// The accounts the v3 API accepts for writes (vendor API document; `admin`
/// is deprecated and refused).
pub const ACCOUNTS: &[&str] = &["super", "user1", "user2", "user3"];

/// The account with every permission.
pub const SUPER_ACCOUNT: &str = "super";

/// Sections of `get.miner.status`; join several with `+` in one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusSection {
    Summary,
    Pools,
    Edevs,
}

impl StatusSection {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusSection::Summary => "summary",
            StatusSection::Pools => "pools",
            StatusSection::Edevs => "edevs",
        }
    }
}

/// The `param` of `get.miner.status` for several sections, e.g.
/// `"summary+pools+edevs"`.
pub fn status_param(sections: &[StatusSection]) -> String {
    sections
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join("+")
}

/// Sections of `get.device.info` (leave the param out for all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceInfoSection {
    Miner,
    System,
    Power,
    Network,
    Salt,
    ErrorCode,
}

impl DeviceInfoSection {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceInfoSection::Miner => "miner",
            DeviceInfoSection::System => "system",
            DeviceInfoSection::Power => "power",
            DeviceInfoSection::Network => "network",
            DeviceInfoSection::Salt => "salt",
            DeviceInfoSection::ErrorCode => "error-code",
        }
    }
}

/// Who signs a write: the account, its password and the miner's salt (from
/// `get.device.info` `salt`).
#[derive(Debug, Clone)]
pub struct WriteCredentials<'a> {
    pub account: &'a str,
    pub password: &'a Secret,
    pub salt: &'a str,
}

/// A read request: `{"cmd":cmd}` or `{"cmd":cmd,"param":param}`.
pub fn read_request(cmd: &str, param: Option<&Value>) -> Vec<u8> {
    let mut map = Map::new();
    map.insert("cmd".into(), Value::from(cmd));
    if let Some(p) = param {
        map.insert("param".into(), p.clone());
    }
    Value::Object(map).to_string().into_bytes()
}

/// `get.miner.status` for the given sections.
pub fn miner_status_request(sections: &[StatusSection]) -> Vec<u8> {
    read_request(
        "get.miner.status",
        Some(&Value::from(status_param(sections))),
    )
}

/// `get.device.info`, all sections (`None`) or one.
pub fn device_info_request(section: Option<DeviceInfoSection>) -> Vec<u8> {
    let param = section.map(|s| Value::from(s.as_str()));
    read_request("get.device.info", param.as_ref())
}

/// A signed write request for unix time `ts`. The param of a sensitive
/// command is serialised compactly and encrypted; others go as they are.
/// `param: None` leaves the field out (e.g. `set.system.reboot`).
pub fn write_request(
    cmd: &str,
    param: Option<&Value>,
    creds: &WriteCredentials<'_>,
    ts: u64,
) -> Vec<u8> {
    let key = digest(cmd, creds.password, creds.salt, ts);
    let mut map = Map::new();
    map.insert("cmd".into(), Value::from(cmd));
    if let Some(p) = param {
        let wire = if is_sensitive(cmd) {
            Value::from(encrypt_param(&key, &p.to_string()))
        } else {
            p.clone()
        };
        map.insert("param".into(), wire);
    }
    map.insert("ts".into(), Value::from(ts));
    map.insert("account".into(), Value::from(creds.account));
    map.insert("token".into(), Value::from(token_of(&key).expose()));
    Value::Object(map).to_string().into_bytes()
}

/// Whether a command's param must be encrypted.
pub fn is_sensitive(cmd: &str) -> bool {
    SENSITIVE_COMMANDS.contains(&cmd)
}

/// Whether a command needs authentication (every `set.*`).
pub fn is_write(cmd: &str) -> bool {
    cmd.starts_with("set.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::v3::auth::decrypt_param;
    use serde_json::json;

    fn parse(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn read_requests_leave_out_a_missing_param() {
        assert_eq!(
            read_request("get.miner.setting", None),
            br#"{"cmd":"get.miner.setting"}"#.to_vec()
        );
        assert_eq!(
            parse(&miner_status_request(&[
                StatusSection::Summary,
                StatusSection::Pools,
                StatusSection::Edevs
            ])),
            json!({"cmd":"get.miner.status","param":"summary+pools+edevs"})
        );
        assert_eq!(
            parse(&device_info_request(Some(DeviceInfoSection::ErrorCode))),
            json!({"cmd":"get.device.info","param":"error-code"})
        );
        assert_eq!(
            parse(&device_info_request(None)),
            json!({"cmd":"get.device.info"})
        );
    }

    #[test]
    fn write_request_matches_the_service_vector() {
        // Second case of tests/fixtures/v3-auth-vectors.json.
        let pw = Secret::new("super");
        let creds = WriteCredentials {
            account: "super",
            password: &pw,
            salt: "5QAHiKMb",
        };
        let req = parse(&write_request(
            "set.miner.service",
            Some(&json!("stop")),
            &creds,
            1692685512,
        ));
        assert_eq!(
            req,
            json!({"cmd":"set.miner.service","param":"stop","ts":1692685512,
                   "account":"super","token":"Yv6N+zUq"})
        );
    }

    #[test]
    fn sensitive_param_is_encrypted_and_decrypts_back() {
        let pw = Secret::new("super");
        let creds = WriteCredentials {
            account: "super",
            password: &pw,
            salt: "5QAHiKMb",
        };
        let pools = json!([{"pool":"stratum+tcp://pool:3333","worker":"worker","passwd":"x"}]);
        let req = parse(&write_request(
            "set.miner.pools",
            Some(&pools),
            &creds,
            1692685512,
        ));
        assert_eq!(req["token"], json!("t5VzZdBe"));
        let sealed = req["param"].as_str().expect("param is a string");
        let key = digest("set.miner.pools", &pw, "5QAHiKMb", 1692685512);
        let plain = decrypt_param(&key, sealed).unwrap();
        assert_eq!(parse(plain.as_bytes()), pools);
        assert!(!String::from_utf8_lossy(&write_request(
            "set.miner.pools",
            Some(&pools),
            &creds,
            1
        ))
        .contains("stratum"));
    }

    #[test]
    fn write_without_param_has_no_param_field() {
        let pw = Secret::new("S3cure-pw!");
        let creds = WriteCredentials {
            account: "super",
            password: &pw,
            salt: "uhCiDyVj",
        };
        let req = parse(&write_request("set.system.reboot", None, &creds, 7));
        assert!(req.get("param").is_none());
        assert_eq!(req["token"].as_str().map(str::len), Some(8));
        assert!(!req.to_string().contains("S3cure"));
    }

    #[test]
    fn classification() {
        assert!(is_sensitive("set.user.change_passwd"));
        assert!(!is_sensitive("set.miner.service"));
        assert!(is_write("set.miner.service"));
        assert!(!is_write("get.device.info"));
    }
}
