//! `demo`: a simulated fleet and the exporter in one process, on loopback,
//! until Ctrl-C. The README's first command.

use crate::client::ApiChoice;
use crate::collector::MinerTarget;
use crate::exporter::Exporter;
use crate::process::exit;
use crate::sim::{Bind, Fault, Fleet, FleetConfig};
use crate::transport::MinerAddr;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Simulated miners.
    #[arg(long, default_value_t = 20)]
    pub miners: usize,
    /// Where the exporter listens.
    #[arg(long, default_value = "127.0.0.1:9710")]
    pub listen: SocketAddr,
    /// First loopback address of the fleet (one address per miner, port 4028).
    #[arg(long, default_value = "127.1.0.1")]
    pub base: Ipv4Addr,
    /// Put the miners on consecutive ports of 127.0.0.1 from this port instead.
    #[arg(long)]
    pub ports_from: Option<u16>,
    /// Run every miner healthy (by default the last two misbehave: one has
    /// its API disabled, one overheats until it powers itself off).
    #[arg(long)]
    pub no_faults: bool,
}

pub async fn demo(args: DemoArgs) -> u8 {
    super::init_logging("info", false);
    if args.miners == 0 || args.miners > 5000 {
        eprintln!("error: --miners must be between 1 and 5000");
        return exit::USAGE;
    }
    let mut config = FleetConfig::loopback_ephemeral(args.miners);
    config.bind = match args.ports_from {
        Some(port) => Bind::Ports {
            ip: Ipv4Addr::LOCALHOST.into(),
            first_port: port,
        },
        None => Bind::LoopbackRange {
            base: args.base,
            port: crate::transport::DEFAULT_PORT,
        },
    };
    if !args.no_faults && args.miners >= 3 {
        config.faults = vec![
            (args.miners - 1, Fault::ApiDisabled),
            (args.miners - 2, Fault::overheat()),
        ];
    }
    let fleet = match Fleet::start(config).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot start the simulated fleet: {e}");
            eprintln!("hint: another demo may hold those addresses; try --ports-from 14028 or another --base");
            return exit::FAILURE;
        }
    };
    let targets: Vec<Arc<MinerTarget>> = fleet
        .addrs()
        .into_iter()
        .enumerate()
        .map(|(i, addr)| {
            Arc::new(MinerTarget::new(
                MinerAddr::from_socket_addr(addr),
                Some(format!("sim-{:02}", i + 1)),
                vec![("rack".into(), format!("r{}", i / 10 + 1))],
                ApiChoice::V2,
            ))
        })
        .collect();
    let mut settings = crate::config::Config::default_demo(Vec::new()).settings();
    settings.listen = args.listen;
    settings.targets = targets;
    let exporter = match Exporter::start(settings).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            fleet.shutdown().await;
            return exit::FAILURE;
        }
    };
    let first = fleet.addrs().first().copied();
    println!(
        "Simulated fleet: {} miners on {}",
        fleet.len(),
        describe(&fleet)
    );
    println!("Metrics:   {}", exporter.metrics_url());
    if let Some(addr) = first {
        println!(
            "Probe:     http://{}/probe?target={addr}",
            exporter.metrics_addr()
        );
        println!("One miner: cargo run --release -- query {addr} summary");
    }
    if !args.no_faults && args.miners >= 3 {
        println!("Faults:    sim-{:02} has its API disabled (up=0); sim-{:02} overheats and powers itself off", args.miners, args.miners - 1);
    }
    println!("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    exporter.shutdown().await;
    fleet.shutdown().await;
    exit::OK
}

fn describe(fleet: &Fleet) -> String {
    let addrs = fleet.addrs();
    match (addrs.first(), addrs.last()) {
        (Some(a), Some(b)) if a != b => format!("{a} .. {b}"),
        (Some(a), _) => a.to_string(),
        _ => "no addresses".into(),
    }
}
