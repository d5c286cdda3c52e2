//! `check-config --config FILE`: everything `serve` loads and validates
//! before it serves (the config file, its target files, secrets present
//! and readable, TLS certificates and keys, the webhook's state file),
//! without binding a port or contacting a miner. Exit 0 when `serve` would
//! start with it, 2 with the same `file:line:column: field: …` errors
//! otherwise (as `promtool check config`, `amtool check-config`). It takes
//! `serve`'s own flags (`--web.config.file`, `--listen`, …), so the command
//! line a service runs is checked by changing its first word.

use super::exit;
use super::serve::ServeArgs;
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
}

pub fn run(args: &CheckArgs) -> u8 {
    match check(args) {
        Ok(summary) => {
            println!("{}: OK ({summary})", args.serve.config.display());
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::USAGE
        }
    }
}

/// What `serve` reads before it binds, read the same way.
fn check(args: &CheckArgs) -> Result<String, String> {
    let config = args.serve.load()?;
    let settings = config.settings();
    if let Some(tls) = settings.admin.as_ref().and_then(|a| a.api.tls.as_ref()) {
        crate::http::tls::acceptor(tls).map_err(|e| format!("[admin] TLS: {e}"))?;
    }
    if let Some(tls) = settings.web.as_ref().and_then(|w| w.tls.as_ref()) {
        crate::http::web::tls::acceptor(tls).map_err(|e| format!("web config TLS: {e}"))?;
    }
    let webhook = settings.admin.as_ref().map(|a| &a.webhook);
    if let Some(path) = webhook
        .filter(|w| w.enabled)
        .and_then(|w| w.state_file.as_ref())
    {
        use crate::http::admin::guard_state;
        let window = webhook.map(|w| w.budget_window).unwrap_or_default();
        guard_state::load(path, guard_state::Clocks::now(), window)
            .map_err(|e| format!("[webhook] state_file: {e}"))?;
    }
    let admin = match &settings.admin {
        None => "admin API off".to_string(),
        Some(a) if a.webhook.enabled => format!("admin API on {}, webhook on", a.api.listen),
        Some(a) => format!("admin API on {}, webhook off", a.api.listen),
    };
    Ok(format!(
        "{} miners, metrics on {}, {admin}",
        settings.targets.len(),
        settings.listen
    ))
}
