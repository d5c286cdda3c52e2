//! `query` and `exec`: one command on one miner, reply as pretty JSON on
//! stdout, a one-line error on stderr and an exit code from [`crate::process::exit`].
//!
//! `--protocol` picks the API: v2 (the default), v3, or auto (detected as
//! the exporter does). On v3, reads take v3 names (`get.miner.status`);
//! `exec` takes a v3 `set.*` name or a v2 writeable name, mapped as the
//! admin endpoint maps it ([`crate::client::write::v3_equivalent`]).
//!
//! The miner is an IP address, or with `--config` a configured miner's
//! name or address, reached at its configured address, API and password
//! with no lookup of the name. A host name is looked up only when the
//! config gives it as a miner's address; typed on the command line it is
//! refused, as is a mistyped IP (`10.0.0.300`), before any DNS query.

use crate::client::backend::{QueryError, QueryReply};
use crate::client::detect::DetectConfig;
use crate::client::{ApiChoice, Backend, Backends, Client, ClientConfig, ProtocolDetector};
use crate::error::{ErrorKind, MinerError};
use crate::process::exit;
use crate::protocol::codes::WRITE_COMMANDS;
use crate::protocol::v3::request::is_write as is_v3_write;
use crate::secret::Secret;
use crate::transport::MinerAddr;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Duration;

/// `--protocol`: the words of [`ApiChoice`], parsed by its own `FromStr`.
fn api_choice_parser() -> impl clap::builder::TypedValueParser<Value = ApiChoice> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(ApiChoice::words())
        .try_map(|word| word.parse::<ApiChoice>())
}

#[derive(Debug, clap::Args)]
pub struct ConnArgs {
    /// Miner: an IP address (`10.0.0.5`, `10.0.0.5:4028`, `[fe80::1]:4028`;
    /// default port 4028), or with `--config` a configured miner's name.
    pub miner: String,
    /// The API command, e.g. summary, devs, pools, power_off.
    pub command: String,
    /// A command parameter as key=value (repeatable). Values are sent as
    /// JSON strings, as the firmware's own tools do (`respbefore=true`
    /// becomes `"respbefore":"true"`).
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Time allowed for the TCP connect: seconds (`3`) or `3s`, `500ms`.
    #[arg(long, default_value = "3s", value_parser = crate::config::cli_duration)]
    pub connect_timeout: Duration,
    /// Time allowed for the whole exchange: seconds (`10`) or `10s`.
    #[arg(long, default_value = "10s", value_parser = crate::config::cli_duration)]
    pub timeout: Duration,
    /// Miner API: v2 (port 4028), v3 (a 4028 address is reached on 4433),
    /// or auto (probe v3, then v2). On v3 the one parameter is
    /// `--param param=VALUE` (VALUE as JSON if it parses, else text).
    /// Default: the configured miner's, else v2.
    #[arg(long, value_parser = api_choice_parser())]
    pub protocol: Option<ApiChoice>,
    /// The exporter's config file: MINER may then be a configured miner's
    /// name (or address), with its configured API and password.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The miner a command goes to, with what the config says of it.
struct Picked {
    addr: MinerAddr,
    protocol: Option<ApiChoice>,
    password: Option<Secret>,
}

/// Finds `conn.miner`: a configured miner (by name or address) when a
/// config is given, else an IP address. Never a DNS query.
fn pick_miner(conn: &ConnArgs) -> Result<Picked, String> {
    let text = conn.miner.trim();
    let parsed = text.parse::<MinerAddr>();
    if let Some(path) = &conn.config {
        let config = crate::config::load(path).map_err(|e| e.to_string())?;
        let found = config.miners.into_iter().find(|m| {
            m.name.as_deref() == Some(text)
                || m.addr.to_string() == text
                || parsed.as_ref().is_ok_and(|addr| *addr == m.addr)
        });
        if let Some(m) = found {
            return Ok(Picked {
                addr: m.addr,
                protocol: Some(m.protocol),
                password: m.password,
            });
        }
    }
    let addr = parsed.map_err(|e| e.to_string())?;
    if addr.literal_ip().is_none() {
        return Err(match &conn.config {
            Some(path) => format!(
                "{text:?} is neither an IP address nor a miner of {}",
                path.display()
            ),
            None => format!(
                "{text:?} is not an IP address (a configured miner's name needs --config FILE; \
                 host names are looked up only for configured miners)"
            ),
        });
    }
    Ok(Picked {
        addr,
        protocol: None,
        password: None,
    })
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
    let (client, picked, params) = match prepare(&args.conn) {
        Ok(parts) => parts,
        Err(code) => return code,
    };
    let miner = picked.addr;
    let protocol = args.conn.protocol.or(picked.protocol).unwrap_or_default();
    let command = args.conn.command.as_str();
    if WRITE_COMMANDS.contains(&command) || is_v3_write(command) {
        eprintln!("error: {command} is a writeable command: use exec");
        return exit::USAGE;
    }
    let backends = Backends::default();
    let backend = match resolve(&backends, &client, &miner, protocol, command).await {
        Ok(backend) => backend,
        Err(code) => return code,
    };
    match backend
        .query(&client, &miner, command, &params, args.raw)
        .await
    {
        Ok(QueryReply::Json(value)) => print_json(&value),
        Ok(QueryReply::Raw(bytes)) => {
            println!("{}", String::from_utf8_lossy(&bytes));
            exit::OK
        }
        Err(e) => report_query(&e),
    }
}

pub async fn exec(args: ExecArgs) -> u8 {
    let (client, picked, params) = match prepare(&args.conn) {
        Ok(parts) => parts,
        Err(code) => return code,
    };
    let miner = picked.addr;
    let protocol = args.conn.protocol.or(picked.protocol).unwrap_or_default();
    let password = match read_password(args.password_file.as_deref(), picked.password) {
        Ok(p) => p,
        Err(msg) => {
            eprintln!("error: {msg}");
            return exit::USAGE;
        }
    };
    let command = args.conn.command.as_str();
    let backends = Backends::default();
    let backend = match resolve(&backends, &client, &miner, protocol, command).await {
        Ok(backend) => backend,
        Err(code) => return code,
    };
    match backend
        .exec(&client, &miner, password, command, &params)
        .await
    {
        Ok(value) => print_json(&value),
        Err(e) => report_query(&e),
    }
}

/// The backend to use: as chosen, or detected for `auto`. A command that
/// is not a name of its API is refused here, before anything is sent (a v2
/// writeable name on v3 is mapped by `exec`).
async fn resolve<'b>(
    backends: &'b Backends,
    client: &Client,
    miner: &MinerAddr,
    choice: ApiChoice,
    command: &str,
) -> Result<&'b dyn Backend, u8> {
    let api = match choice.fixed() {
        Some(api) => api,
        None => {
            let deadline = tokio::time::Instant::now() + client.config().limits.deadline;
            let detector = ProtocolDetector::new(DetectConfig::default());
            match detector.detect(client, miner, deadline).await {
                Ok(api) => {
                    eprintln!("{miner} speaks API {}", api.as_str());
                    api
                }
                Err(e) => return Err(report(&e)),
            }
        }
    };
    let backend = backends.get(api);
    match backend.refuse(command) {
        Some(why) => {
            eprintln!("error: {command:?} is {why}");
            Err(exit::USAGE)
        }
        None => Ok(backend),
    }
}

fn report_query(e: &QueryError) -> u8 {
    match e {
        QueryError::Usage(message) => {
            eprintln!("error: {message}");
            exit::USAGE
        }
        QueryError::Miner(e) => report(e),
    }
}

/// The admin password from a file, `$WHATSMINER_PASSWORD`, the config's
/// for this miner, or a prompt without echo. Never from an argument: those
/// show in `ps`.
pub fn read_password(
    file: Option<&std::path::Path>,
    configured: Option<Secret>,
) -> Result<Secret, String> {
    if let Some(path) = file {
        return crate::files::read_secret(path)
            .map_err(|e| format!("cannot read password file {}: {e}", path.display()));
    }
    // An empty password is refused here: sent, it would only come back as
    // a decrypt failure ("wrong admin password?").
    if let Ok(value) = std::env::var("WHATSMINER_PASSWORD") {
        if value.is_empty() {
            return Err("WHATSMINER_PASSWORD is set but empty".into());
        }
        return Ok(Secret::new(value));
    }
    if let Some(password) = configured {
        return Ok(password);
    }
    let typed = rpassword::prompt_password("Whatsminer admin password: ")
        .map_err(|e| format!("no password: use --password-file or WHATSMINER_PASSWORD ({e})"))?;
    if typed.is_empty() {
        return Err("no password given".into());
    }
    Ok(Secret::new(typed))
}

fn prepare(conn: &ConnArgs) -> Result<(Client, Picked, Map<String, Value>), u8> {
    let miner = pick_miner(conn).map_err(|e| {
        eprintln!("error: {e}");
        exit::USAGE
    })?;
    let params = parse_params(&conn.params).map_err(|msg| {
        eprintln!("error: {msg}");
        exit::USAGE
    })?;
    let mut config = ClientConfig::default();
    config.limits.connect_timeout = conn.connect_timeout;
    config.limits.deadline = conn.timeout;
    Ok((Client::new(config), miner, params))
}

/// `key=value` pairs into a JSON object of strings.
pub fn parse_params(pairs: &[String]) -> Result<Map<String, Value>, String> {
    let mut map = Map::new();
    for pair in pairs {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("parameter {pair:?} is not key=value"))?;
        if k.is_empty() || k == "cmd" || k == "command" || k == "token" {
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
