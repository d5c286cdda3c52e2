//! The command line: `query` and `exec` against one miner, `simulate` a
//! fleet, `serve` the exporter, `demo` both at once, and `bench`. The CLI
//! parses arguments and reads secrets; the work lives in the library.

mod check;
mod demo;
mod discover;
mod healthcheck;
pub mod logging;
mod miner_cmds;
mod serve;

use crate::process::exit;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Prometheus exporter and client for MicroBT Whatsminer miners.
#[derive(Debug, Parser)]
#[command(name = "whatsminer-exporter", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a read-only command on one miner and print the reply as JSON.
    Query(miner_cmds::QueryArgs),
    /// Run a writeable command (token flow) on one miner.
    Exec(miner_cmds::ExecArgs),
    /// Serve /metrics and /probe for the configured fleet.
    Serve(serve::ServeArgs),
    /// Check a configuration as serve would load it, without serving.
    CheckConfig(check::CheckArgs),
    /// Run a simulated fleet (loopback only) until Ctrl-C.
    Simulate(crate::sim::SimulateArgs),
    /// A simulated fleet plus the exporter scraping it: the quickest look.
    Demo(demo::DemoArgs),
    /// Scan address ranges for Whatsminers and write their targets.
    Discover(discover::DiscoverArgs),
    /// Exit 0 if an HTTP endpoint answers 2xx (for container health checks).
    Healthcheck(healthcheck::HealthcheckArgs),
    /// Measure scrapes of a simulated fleet against a bare TCP client (the floor).
    Bench(crate::bench::BenchArgs),
}

/// Parses the arguments and runs the command.
pub fn main() -> ExitCode {
    // Before any thread exists: see `memory` for why.
    crate::memory::tune_allocator();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    let code = runtime.block_on(async move {
        match cli.command {
            Command::Query(args) => miner_cmds::query(args).await,
            Command::Exec(args) => miner_cmds::exec(args).await,
            Command::Serve(args) => {
                crate::process::raise_nofile_limit();
                serve::serve(args).await
            }
            Command::CheckConfig(args) => check::run(&args),
            Command::Demo(args) => demo::demo(args).await,
            Command::Discover(args) => discover::discover(args).await,
            Command::Healthcheck(args) => healthcheck::healthcheck(args).await,
            Command::Bench(args) => crate::bench::run(args).await,
            Command::Simulate(args) => {
                crate::process::raise_nofile_limit();
                init_logging("info", false);
                match crate::sim::run_simulate(args).await {
                    Ok(()) => exit::OK,
                    Err(e) => {
                        eprintln!("error: {e}");
                        exit::FAILURE
                    }
                }
            }
        }
    });
    ExitCode::from(code)
}

/// Sets up logging to stderr: `level` is a tracing filter (`info`,
/// `whatsminer_exporter=debug`), `json` picks flat JSON lines (see
/// [`logging`]).
pub fn init_logging(level: &str, json: bool) {
    logging::init(level, json);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_taken_as_seconds_or_as_the_config_writes_them() {
        for (arg, want) in [("4s", 4000), ("4", 4000), ("0.5", 500), ("1500ms", 1500)] {
            let cli = Cli::try_parse_from(["x", "serve", "--timeout", arg]).expect(arg);
            let Command::Serve(serve) = cli.command else {
                panic!("not serve")
            };
            assert_eq!(
                serve.timeout,
                Some(std::time::Duration::from_millis(want)),
                "{arg}"
            );
        }
        for bad in ["0", "0s", "-1", "2h", "nan", "4 parsecs"] {
            assert!(
                Cli::try_parse_from(["x", "serve", "--timeout", bad]).is_err(),
                "{bad}"
            );
        }
        let cli = Cli::try_parse_from(["x", "query", "127.0.0.1", "summary", "--timeout", "2s"])
            .expect("query");
        assert!(matches!(cli.command, Command::Query(_)));
    }
}
