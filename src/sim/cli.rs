//! The `simulate` subcommand: runs a simulated fleet until Ctrl-C (or
//! SIGTERM) and publishes its addresses, one `host:port` per line, on
//! stdout or in a targets file for the exporter to read. A v3 miner is
//! listed by its v2 address when that is port 4028 and its v3 port is
//! 4433 (the exporter finds 4433 from 4028 itself), else by its v3
//! address.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use super::fault::{parse_scenario, parse_scenario_personas, ScenarioError};
use super::fleet::{Bind, Fleet, FleetConfig};
use super::model::{Flavour, Model};
use super::persona::Persona;
use super::server::MinerLimits;
use crate::secret::Secret;

/// Errors of the subcommand, already worded for the user.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// Environment variable holding the fleet's admin password.
pub const PASSWORD_ENV: &str = "WHATSMINER_PASSWORD";

/// Options of `simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Number of simulated miners.
    #[arg(long, default_value_t = 20)]
    pub miners: usize,
    /// First loopback address; each miner gets the next one (host parts .0
    /// and .255 skipped), all on --port.
    #[arg(long, default_value = "127.1.0.1")]
    pub base: Ipv4Addr,
    /// TCP port of every miner (first port with --ports; 0 = ephemeral).
    #[arg(long, default_value_t = 4028)]
    pub port: u16,
    /// Put all miners on 127.0.0.1 with consecutive ports from --port.
    #[arg(long)]
    pub ports: bool,
    /// File holding the admin password (else $WHATSMINER_PASSWORD, else "admin").
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// TOML file of faults to inject (see the `sim::fault` docs).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Write the addresses to this file instead of stdout.
    #[arg(long)]
    pub targets_file: Option<PathBuf>,
    /// Seed of all randomness; the same seed gives the same fleet.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Models, assigned round-robin (e.g. "M30S++,M60S"); default: all.
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,
    /// Force one reply flavour: "classic" or "wrapped"; default: by firmware.
    #[arg(long)]
    pub flavour: Option<String>,
    /// Miners that speak API v3 (2025 firmware): indices ("0,3,7") or "all".
    #[arg(long, value_delimiter = ',')]
    pub v3_miners: Vec<String>,
    /// Port of API v3 on each miner's address (first port with --ports;
    /// 0 = ephemeral).
    #[arg(long, default_value_t = 4433)]
    pub v3_port: u16,
    /// Seconds a miner's API stays unreachable after a `reboot` command, as
    /// a real control board's restart (0: it answers again at once).
    #[arg(long, default_value_t = 60)]
    pub reboot_seconds: u64,
    /// Firmware personas, assigned round-robin (e.g.
    /// "cgminer-4.9.2,btminer-2021,btminer-2022,firmware-2025,v3"); a
    /// scenario's `[[persona]]` entries win. Default: generic replies.
    #[arg(long, value_delimiter = ',')]
    pub personas: Vec<String>,
}

/// Runs the fleet until Ctrl-C or SIGTERM, then shuts it down cleanly.
pub async fn run(args: SimulateArgs) -> Result<(), CliError> {
    run_until(args, stop_signal()).await
}

/// Runs the fleet until `stop` completes (the testable core of [`run`]).
pub async fn run_until(
    args: SimulateArgs,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), CliError> {
    let cfg = fleet_config(&args)?;
    let miners = cfg.miners;
    let fleet = Fleet::start(cfg).await?;
    let lines: String = fleet
        .miners()
        .iter()
        .map(|m| match m.v3_addr() {
            Some(v3) if !(m.addr().port() == 4028 && v3.port() == 4433) => format!("{v3}\n"),
            _ => format!("{}\n", m.addr()),
        })
        .collect();
    match &args.targets_file {
        Some(path) => {
            // A reader (the bench, a test) never sees half a file.
            crate::files::write_atomically(path, lines.as_bytes())
                .map_err(|e| format!("writing targets file {}: {e}", path.display()))?;
            eprintln!(
                "simulating {miners} miners; addresses in {}; Ctrl-C to stop",
                path.display()
            );
        }
        None => {
            print!("{lines}");
            eprintln!("simulating {miners} miners; Ctrl-C to stop");
        }
    }
    stop.await;
    eprintln!("stopping the simulated fleet");
    fleet.shutdown().await;
    Ok(())
}

/// Translates the options into a fleet configuration.
pub fn fleet_config(args: &SimulateArgs) -> Result<FleetConfig, CliError> {
    let password = match &args.password_file {
        Some(path) => crate::files::read_secret(path)
            .map_err(|e| format!("reading password file {}: {e}", path.display()))?,
        None => std::env::var(PASSWORD_ENV)
            .ok()
            .filter(|p| !p.is_empty())
            .map_or_else(|| Secret::new("admin"), Secret::new),
    };
    let (faults, (scenario_personas, joins)) = match &args.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("reading scenario {}: {e}", path.display()))?;
            let bad = |e: ScenarioError| format!("scenario {}: {e}", path.display());
            let faults = parse_scenario(&text, args.miners).map_err(bad)?;
            (
                faults,
                parse_scenario_personas(&text, args.miners).map_err(bad)?,
            )
        }
        None => Default::default(),
    };
    let round_robin = args
        .personas
        .iter()
        .map(|name| name.parse::<Persona>())
        .collect::<Result<Vec<_>, _>>()?;
    let mut personas: Vec<(usize, Persona)> = (0..args.miners)
        .zip(round_robin.iter().copied().cycle())
        .collect();
    personas.extend(scenario_personas);
    let models = args
        .models
        .iter()
        .map(|name| Model::parse(name).ok_or_else(|| format!("unknown model {name:?}")))
        .collect::<Result<Vec<_>, _>>()?;
    let flavour = match args.flavour.as_deref() {
        None => None,
        Some(f) if f.eq_ignore_ascii_case("classic") => Some(Flavour::Classic),
        Some(f) if f.eq_ignore_ascii_case("wrapped") => Some(Flavour::Wrapped),
        Some(other) => return Err(format!("unknown flavour {other:?} (classic|wrapped)").into()),
    };
    let bind = if args.ports {
        Bind::Ports {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            first_port: args.port,
        }
    } else {
        Bind::LoopbackRange {
            base: args.base,
            port: args.port,
        }
    };
    let v3_miners = match args.v3_miners.as_slice() {
        [all] if all.eq_ignore_ascii_case("all") => (0..args.miners).collect(),
        list => list
            .iter()
            .map(|i| {
                i.trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|i| *i < args.miners)
                    .ok_or_else(|| format!("--v3-miners: {i:?} is not a miner index"))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(FleetConfig {
        miners: args.miners,
        bind,
        password,
        seed: args.seed,
        faults,
        models,
        flavour,
        v3_miners,
        v3_port: args.v3_port,
        personas,
        joins,
        limits: MinerLimits {
            reboot_offline: Duration::from_secs(args.reboot_seconds),
            ..MinerLimits::default()
        },
    })
}

/// Completes on Ctrl-C, or on SIGTERM where there is one.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    // If the handler cannot be installed, wait forever rather than exit.
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SimulateArgs,
    }

    fn parse(argv: &[&str]) -> SimulateArgs {
        Cli::try_parse_from(std::iter::once("simulate").chain(argv.iter().copied()))
            .expect("valid arguments")
            .args
    }

    #[test]
    fn defaults_and_options_map_to_a_fleet_config() {
        let args = parse(&[]);
        assert_eq!((args.miners, args.port, args.seed), (20, 4028, 1));
        let cfg = fleet_config(&args).expect("config");
        assert_eq!(
            cfg.bind,
            Bind::LoopbackRange {
                base: Ipv4Addr::new(127, 1, 0, 1),
                port: 4028
            }
        );
        let args = parse(&[
            "--miners",
            "3",
            "--ports",
            "--port",
            "0",
            "--models",
            "M60S,m30s++",
        ]);
        let cfg = fleet_config(&args).expect("config");
        assert!(matches!(cfg.bind, Bind::Ports { first_port: 0, .. }));
        assert_eq!(cfg.models, [Model::M60S, Model::M30SPlusPlus]);
        assert!(fleet_config(&parse(&["--models", "M99"])).is_err());
        assert!(fleet_config(&parse(&["--flavour", "odd"])).is_err());
        let wrapped = fleet_config(&parse(&["--flavour", "Wrapped"])).expect("config");
        assert_eq!(wrapped.flavour, Some(Flavour::Wrapped));
        assert_eq!(wrapped.v3_port, 4433);
        assert_eq!(wrapped.limits.reboot_offline, Duration::from_secs(60));
        let quick = fleet_config(&parse(&["--reboot-seconds", "0"])).expect("config");
        assert!(quick.limits.reboot_offline.is_zero());
        let v3 = fleet_config(&parse(&["--miners", "4", "--v3-miners", "1,3"])).expect("config");
        assert_eq!(v3.v3_miners, [1, 3]);
        let all = fleet_config(&parse(&["--miners", "3", "--v3-miners", "all"])).expect("config");
        assert_eq!(all.v3_miners, [0, 1, 2]);
        assert!(fleet_config(&parse(&["--miners", "2", "--v3-miners", "2"])).is_err());
        assert!(fleet_config(&parse(&["--v3-miners", "x"])).is_err());
        let mixed = fleet_config(&parse(&["--miners", "3", "--personas", "v3,cgminer-4.9.2"]));
        let mixed = mixed.expect("config").personas;
        assert_eq!(
            mixed,
            [(0, Persona::V3), (1, Persona::Cgminer492), (2, Persona::V3)]
        );
        assert!(fleet_config(&parse(&["--personas", "cgminer-5"])).is_err());
    }

    #[test]
    fn password_file_and_scenario_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cret\n").expect("write");
        let scenario = dir.path().join("faults.toml");
        std::fs::write(&scenario, "[[fault]]\nkind = \"reset\"\nminers = [1]\n").expect("write");
        let (pw_arg, sc_arg) = (pw.to_string_lossy(), scenario.to_string_lossy());
        let args = parse(&[
            "--miners",
            "2",
            "--password-file",
            &pw_arg,
            "--scenario",
            &sc_arg,
        ]);
        let cfg = fleet_config(&args).expect("config");
        assert_eq!(cfg.password.expose(), "s3cret");
        assert_eq!(cfg.faults, [(1, crate::sim::Fault::Reset)]);
        let too_few = parse(&["--miners", "1", "--scenario", &sc_arg]);
        assert!(fleet_config(&too_few).is_err(), "miner 1 does not exist");
        let missing = parse(&["--password-file", "/nonexistent/pw"]);
        let err = fleet_config(&missing)
            .expect_err("missing file")
            .to_string();
        assert!(err.contains("/nonexistent/pw"));
    }

    #[tokio::test]
    async fn run_until_writes_the_targets_file_and_stops() {
        let dir = tempfile::tempdir().expect("tempdir");
        let targets = dir.path().join("targets.txt");
        let target_arg = targets.to_string_lossy().to_string();
        let args = parse(&[
            "--miners",
            "3",
            "--ports",
            "--port",
            "0",
            "--v3-port",
            "0",
            "--v3-miners",
            "2",
            "--targets-file",
            &target_arg,
        ]);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(run_until(args, async {
            let _ = rx.await;
        }));
        let mut lines = Vec::new();
        for _ in 0..200 {
            if let Ok(text) = std::fs::read_to_string(&targets) {
                lines = text.lines().map(str::to_string).collect();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(lines.len(), 3, "{lines:?}");
        let addr: std::net::SocketAddr = lines[0].parse().expect("host:port");
        assert!(addr.ip().is_loopback() && addr.port() != 0);
        let reply = crate::sim::tests::ask(addr, r#"{"cmd":"get_version"}"#).await;
        assert_eq!(reply["Code"], 131);
        // The v3 miner is listed by its v3 address: a framed request works.
        let v3: std::net::SocketAddr = lines[2].parse().expect("host:port");
        let frame = crate::transport::v3::encode_frame(br#"{"cmd":"get.device.info"}"#);
        let mut conn = tokio::net::TcpStream::connect(v3).await.expect("connects");
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        conn.write_all(&frame).await.expect("writes");
        let mut head = [0u8; 5];
        let read = tokio::time::timeout(crate::sim::tests::QUICK, conn.read_exact(&mut head));
        read.await.expect("in time").expect("a reply");
        assert_eq!(head[4], b'{', "a framed JSON reply");
        tx.send(()).expect("still running");
        let done = tokio::time::timeout(std::time::Duration::from_secs(20), running).await;
        assert!(matches!(done, Ok(Ok(Ok(())))));
    }
}
