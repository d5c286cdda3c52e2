//! `query` and `exec`: one command on one miner, reply as pretty JSON on
//! stdout, a one-line error on stderr and an exit code from [`super::exit`].

use super::exit;
use crate::client::{Client, ClientConfig};
use crate::error::{ErrorKind, MinerError};
use crate::secret::Secret;
use crate::transport::MinerAddr;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ConnArgs {
    /// Miner address: host, host:port, [v6]:port (default port 4028).
    pub miner: String,
    /// The API command, e.g. summary, devs, pools, power_off.
    pub command: String,
    /// A command parameter as key=value (repeatable). Values are sent as
    /// JSON strings, as the firmware's own tools do (`respbefore=true`
    /// becomes `"respbefore":"true"`).
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Seconds allowed for the TCP connect.
    #[arg(long, default_value_t = 3.0)]
    pub connect_timeout: f64,
    /// Seconds allowed for the whole exchange.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
}

#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Print the miner's reply as received, even an error reply.
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// File holding the admin password (else $WHATSMINER_PASSWORD, else a prompt).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
}

pub async fn query(args: QueryArgs) -> u8 {
    let (client, miner, params) = match prepare(&args.conn) {
        Ok(parts) => parts,
        Err(code) => return code,
    };
    if args.raw {
        return match client.raw(&miner, &args.conn.command, &params).await {
            Ok(bytes) => {
                println!("{}", String::from_utf8_lossy(&bytes));
                exit::OK
            }
            Err(e) => report(&e),
        };
    }
    match client.command(&miner, &args.conn.command, &params).await {
        Ok(value) => print_json(&value),
        Err(e) => report(&e),
    }
}

pub async fn exec(args: ExecArgs) -> u8 {
    let (client, miner, params) = match prepare(&args.conn) {
        Ok(parts) => parts,
        Err(code) => return code,
    };
    let password = match read_password(args.password_file.as_deref()) {
        Ok(p) => p,
        Err(msg) => {
            eprintln!("error: {msg}");
            return exit::USAGE;
        }
    };
    let session = client.write_session(miner, password);
    match session.exec(&args.conn.command, &params).await {
        Ok(value) => print_json(&value),
        Err(e) => report(&e),
    }
}

/// The admin password from a file, `$WHATSMINER_PASSWORD`, or a prompt
/// without echo. Never from an argument: those show in `ps`.
pub fn read_password(file: Option<&std::path::Path>) -> Result<Secret, String> {
    if let Some(path) = file {
        return Secret::from_file(path)
            .map_err(|e| format!("cannot read password file {}: {e}", path.display()));
    }
    if let Ok(value) = std::env::var("WHATSMINER_PASSWORD") {
        return Ok(Secret::new(value));
    }
    rpassword::prompt_password("Whatsminer admin password: ")
        .map(Secret::new)
        .map_err(|e| format!("no password: use --password-file or WHATSMINER_PASSWORD ({e})"))
}

fn prepare(conn: &ConnArgs) -> Result<(Client, MinerAddr, Map<String, Value>), u8> {
    let miner: MinerAddr = conn.miner.parse().map_err(|e: ErrorKind| {
        eprintln!("error: {e}");
        exit::USAGE
    })?;
    let params = parse_params(&conn.params).map_err(|msg| {
        eprintln!("error: {msg}");
        exit::USAGE
    })?;
    let seconds = |s: f64, what: &str| {
        if s.is_finite() && s > 0.0 && s <= 3600.0 {
            Ok(Duration::from_secs_f64(s))
        } else {
            eprintln!("error: --{what} must be between 0 and 3600 seconds");
            Err(exit::USAGE)
        }
    };
    let mut config = ClientConfig::default();
    config.limits.connect_timeout = seconds(conn.connect_timeout, "connect-timeout")?;
    config.limits.deadline = seconds(conn.timeout, "timeout")?;
    Ok((Client::new(config), miner, params))
}

/// `key=value` pairs into a JSON object of strings.
pub fn parse_params(pairs: &[String]) -> Result<Map<String, Value>, String> {
    let mut map = Map::new();
    for pair in pairs {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("parameter {pair:?} is not key=value"))?;
        if k.is_empty() || k == "cmd" || k == "token" {
            return Err(format!("parameter name {k:?} is not allowed"));
        }
        map.insert(k.to_string(), Value::from(v));
    }
    Ok(map)
}

fn print_json(value: &Value) -> u8 {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            exit::OK
        }
        Err(e) => {
            eprintln!("error: cannot print reply: {e}");
            exit::FAILURE
        }
    }
}

/// Prints the error and picks its exit code.
pub fn report(e: &MinerError) -> u8 {
    eprintln!("error: {e}");
    exit_code_for(&e.kind)
}

pub fn exit_code_for(kind: &ErrorKind) -> u8 {
    use ErrorKind::*;
    match kind {
        InvalidAddress(_) => exit::USAGE,
        ConnectRefused
        | ConnectTimeout
        | Timeout
        | DeadlineExceeded
        | ConnectionReset { .. }
        | EmptyReply
        | Io(_)
        | OverMaxConnect => exit::UNREACHABLE,
        WrongPassword | PermissionDenied | InvalidToken | TokenLimit | WriteApiDisabled
        | Decrypt(_) => exit::AUTH,
        ReplyTooLarge { .. } | NotJson(_) | UnexpectedShape(_) | Miner { .. } | Other(_) => {
            exit::MINER_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_strings_like_the_firmware_tools_send() {
        let m = parse_params(&[
            "respbefore=true".into(),
            "percent=90".into(),
            "pool1=stratum+tcp://x:3333".into(),
        ])
        .unwrap();
        assert_eq!(m["respbefore"], Value::from("true"));
        assert_eq!(m["percent"], Value::from("90"));
        assert_eq!(m["pool1"], Value::from("stratum+tcp://x:3333"));
        assert!(parse_params(&["novalue".into()]).is_err());
        assert!(parse_params(&["token=x".into()]).is_err());
    }
}
