//! Status codes and well-known texts of the Whatsminer API v2, from the
//! vendor's API document (v2.0.x). Shared by the client and the simulator so
//! that both speak the same numbers.

/// Invalid command or data.
pub const INVALID_COMMAND: i64 = 14;
/// cgminer's "Missing JSON 'command'": the request named its command under
/// another key (cgminer 4.9.2 firmware reads only `command`).
pub const MISSING_COMMAND: i64 = 24;
/// Invalid JSON. On a writeable command, `"enc json load err"` with this
/// code usually means the miner could not decrypt: a wrong password.
pub const INVALID_JSON: i64 = 23;
/// Permission denied.
pub const PERMISSION_DENIED: i64 = 45;
/// Command OK.
pub const COMMAND_OK: i64 = 131;
/// Command error.
pub const COMMAND_ERROR: i64 = 132;
/// `get_token` OK.
pub const TOKEN_OK: i64 = 134;
/// Check-token error: the token is invalid or expired.
pub const TOKEN_INVALID: i64 = 135;
/// Token over max times: too many tokens from this IP.
pub const TOKEN_OVER_MAX: i64 = 136;
/// Base64 decode error.
pub const BASE64_ERROR: i64 = 137;

/// The text a busy miner answers when its connection slots are full.
/// No public source pins the exact words, so the client matches loosely.
pub const OVER_MAX_CONNECT_MSG: &str = "over max connect";
/// The text of a write command when the owner has not enabled the write API.
pub const WRITE_DISABLED_MSG: &str = "can't access write cmd";
/// The word in the answer of 2026 firmware to a command it dropped
/// (`devdetails`: code 132, "This command is deprecated.").
pub const DEPRECATED_MSG: &str = "deprecated";
/// The text of a write command the miner could not decrypt.
pub const ENC_JSON_LOAD_ERR_MSG: &str = "enc json load err";

/// A token is valid for 30 minutes.
pub const TOKEN_LIFETIME_SECS: u64 = 30 * 60;

/// The writeable commands of API v2 (vendor document v2.0.x): sent only
/// inside the encrypted envelope after `get_token`.
pub const WRITE_COMMANDS: &[&str] = &[
    "power_off",
    "power_on",
    "restart_btminer",
    "reboot",
    "update_pools",
    "set_led",
    "set_low_power",
    "set_high_power",
    "set_normal_power",
    "set_target_freq",
    "adjust_power_limit",
    "set_power_pct",
    "set_zone",
    "enable_btminer_fast_boot",
    "disable_btminer_fast_boot",
    "enable_web_pools",
    "disable_web_pools",
    "set_temp_offset",
    "adjust_upfreq_speed",
    "set_poweroff_cool",
    "set_fan_zero_speed",
    "update_pwd",
    "net_config",
    "factory_reset",
    "pre_power_on",
];
