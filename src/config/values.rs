//! Parsers for the value forms the config uses: durations (`"10s"`,
//! `"1m30s"`), listen addresses (`"0.0.0.0:9710"`, `":9710"`, `"[::1]"`),
//! command names, and secrets read from a file or an environment variable.
//!
//! Each parser returns a plain message; the caller adds file, line and
//! field. Secret messages name the source, never the value.

use crate::secret::Secret;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

/// Longest duration accepted anywhere. Far beyond any sensible setting, and
/// small enough that `Instant + duration` can never overflow.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Parses `"500ms"`, `"10s"`, `"1m30s"`, `"1h 30m"`, `"2d"`: integer
/// amounts, each with a unit (`ms`, `s`, `m`, `h`, `d`).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || {
        format!(
            "invalid duration {:?}: expected an amount with a unit, like \"500ms\", \"10s\", \"1m30s\", \"2h\"",
            crate::error::truncate_for_log(text, 40)
        )
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total_ms: u64 = 0;
    // Each pass consumes one `<digits><unit>` group, so the loop is bounded
    // by the text length.
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (digits, after) = rest.split_at(digits_end);
        let amount: u64 = digits.parse().map_err(|_| invalid())?;
        let unit_end = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        let unit_ms: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(invalid()),
        };
        let part = amount.checked_mul(unit_ms).ok_or_else(invalid)?;
        total_ms = total_ms.checked_add(part).ok_or_else(invalid)?;
        rest = after.trim_start();
    }
    let duration = Duration::from_millis(total_ms);
    if duration > MAX_DURATION {
        return Err(format!(
            "duration {text:?} is too long (at most {}d)",
            MAX_DURATION.as_secs() / 86_400
        ));
    }
    Ok(duration)
}

/// Parses a listen address: `ip:port`, `[v6]:port`, a bare IP (gets
/// `default_port`), `:port` (all IPv4 interfaces) or `localhost[:port]`.
pub(crate) fn parse_listen(text: &str, default_port: u16) -> Result<SocketAddr, String> {
    let text = text.trim();
    let invalid = || {
        format!(
            "invalid listen address {:?}: expected ip:port, like \"0.0.0.0:{default_port}\"",
            crate::error::truncate_for_log(text, 80)
        )
    };
    if text.is_empty() {
        return Err(invalid());
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bare = text.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, default_port));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| invalid())?),
        None => (text, default_port),
    };
    match host {
        "" => Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)),
        "localhost" => Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)),
        _ => Err(invalid()),
    }
}

/// Whether `name` looks like a miner command: `[a-z_]+`, at most 64 chars.
pub(crate) fn is_command_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}

/// Reads a secret from a file that must exist, be a regular file of sane
/// size and hold a non-empty value (one trailing newline is trimmed).
pub(crate) fn read_secret_file(path: &Path) -> Result<Secret, String> {
    use crate::files::FileError;
    let shown = path.display();
    crate::files::read_secret(path).map_err(|e| match e {
        FileError::Io(_) | FileError::NotUtf8 => format!("cannot read secret file {shown}: {e}"),
        FileError::NotRegular | FileError::TooLarge { .. } => {
            format!("secret file {shown} is {e}")
        }
        FileError::Empty => format!("secret file {shown} is empty"),
    })
}

/// Reads a secret from an environment variable that must be set and
/// non-empty.
pub(crate) fn read_secret_env(name: &str) -> Result<Secret, String> {
    let valid_name =
        !name.is_empty() && name.len() <= 256 && !name.contains('=') && !name.contains('\0');
    if !valid_name {
        return Err(format!(
            "invalid environment variable name {:?}",
            crate::error::truncate_for_log(name, 40)
        ));
    }
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(Secret::new(value)),
        Ok(_) => Err(format!("environment variable {name} is empty")),
        Err(std::env::VarError::NotPresent) => {
            Err(format!("environment variable {name} is not set"))
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(format!("environment variable {name} is not valid UTF-8"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_the_forms_operators_write() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in [
            "",
            "10",
            "s",
            "1.5s",
            "-1s",
            "10 s x",
            "5y",
            "99999999999999999999s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
        let too_long = parse_duration("31d").unwrap_err();
        assert!(too_long.contains("too long"), "{too_long}");
    }

    #[test]
    fn listen_addresses() {
        let p = |t| parse_listen(t, 9710).map(|a| a.to_string());
        assert_eq!(p("0.0.0.0:9710").as_deref(), Ok("0.0.0.0:9710"));
        assert_eq!(p("127.0.0.1").as_deref(), Ok("127.0.0.1:9710"));
        assert_eq!(p(":9800").as_deref(), Ok("0.0.0.0:9800"));
        assert_eq!(p("[::1]").as_deref(), Ok("[::1]:9710"));
        assert_eq!(p("[::]:9711").as_deref(), Ok("[::]:9711"));
        assert_eq!(p("localhost:9000").as_deref(), Ok("127.0.0.1:9000"));
        for bad in ["", "example.com:9710", "1.2.3.4:99999", "1.2.3.4:x"] {
            assert!(p(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn command_names() {
        assert!(is_command_name("power_off"));
        for bad in ["", "Power_off", "set-led", "set.miner.service", "a b"] {
            assert!(!is_command_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn secret_sources_must_hold_a_value() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("pw");
        std::fs::write(&good, "s3cret-value\n").unwrap();
        assert_eq!(read_secret_file(&good).unwrap().expose(), "s3cret-value");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        assert!(read_secret_file(&empty).unwrap_err().contains("is empty"));
        let missing = read_secret_file(&dir.path().join("nope")).unwrap_err();
        assert!(missing.contains("cannot read secret file"), "{missing}");
        assert!(read_secret_file(dir.path())
            .unwrap_err()
            .contains("not a regular file"));

        std::env::set_var("WM_CFG_VALUES_TEST_SET", "env-secret");
        assert_eq!(
            read_secret_env("WM_CFG_VALUES_TEST_SET").unwrap().expose(),
            "env-secret"
        );
        let unset = read_secret_env("WM_CFG_VALUES_TEST_UNSET_9").unwrap_err();
        assert!(unset.contains("is not set"), "{unset}");
        assert!(read_secret_env("A=B").is_err());
    }
}
