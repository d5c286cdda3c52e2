//! The shared builder context ([`Ctx`]: located errors, defaults, ranges,
//! secrets, paths) and the `[server]`, `[log]` and `[scrape]` tables. Turns
//! raw values into typed settings, applying defaults and checking ranges
//! and cross-field rules. Every error points at the offending value's span.

use super::error::{ConfigError, ConfigErrorKind, Locator};
use super::raw::{Int, RawLog, RawScrape, RawServer, Text};
use super::values::{self, parse_duration, parse_listen};
use super::{
    LogConfig, LogFormat, ProbePolicy, ReloadAccess, ScrapeConfig, ScrapeMode, ServerConfig,
    DEFAULT_LISTEN_PORT, DEFAULT_REFRESH_INTERVAL,
};
use crate::secret::Secret;
use std::ops::{Range, RangeInclusive};
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// What every builder needs: where errors point, and where relative paths
/// start.
pub(crate) struct Ctx<'a> {
    pub loc: &'a Locator<'a>,
    pub base_dir: &'a Path,
}

impl Ctx<'_> {
    pub(crate) fn invalid(&self, span: &Range<usize>, field: &str, message: String) -> ConfigError {
        self.loc
            .error(span, field, ConfigErrorKind::Invalid(message))
    }

    /// A duration setting, or its default when absent.
    pub(crate) fn duration(
        &self,
        value: &Option<Text>,
        field: &str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        match value {
            None => Ok(default),
            Some(text) => parse_duration(text.get_ref())
                .map_err(|message| self.invalid(&text.span(), field, message)),
        }
    }

    /// An integer setting within `range`, or its default when absent.
    pub(crate) fn int(
        &self,
        value: &Option<Int>,
        field: &str,
        range: RangeInclusive<i64>,
        default: i64,
    ) -> Result<i64, ConfigError> {
        match value {
            None => Ok(default),
            Some(n) if range.contains(n.get_ref()) => Ok(*n.get_ref()),
            Some(n) => Err(self.invalid(
                &n.span(),
                field,
                format!(
                    "{} is out of range {}..={}",
                    n.get_ref(),
                    range.start(),
                    range.end()
                ),
            )),
        }
    }

    /// One of a fixed set of words.
    pub(crate) fn choice<T: Copy>(
        &self,
        value: &Option<Text>,
        field: &str,
        choices: &[(&str, T)],
        default: T,
    ) -> Result<T, ConfigError> {
        let Some(text) = value else {
            return Ok(default);
        };
        if let Some((_, v)) = choices.iter().find(|(word, _)| *word == text.get_ref()) {
            return Ok(*v);
        }
        let words: Vec<String> = choices.iter().map(|(w, _)| format!("{w:?}")).collect();
        Err(self.invalid(
            &text.span(),
            field,
            format!(
                "unknown value {:?}, expected one of {}",
                crate::error::truncate_for_log(text.get_ref(), 40),
                words.join(", ")
            ),
        ))
    }

    /// A path from the config, relative ones taken from the config's folder.
    pub(crate) fn path(&self, text: &Text) -> PathBuf {
        self.base_dir.join(text.get_ref())
    }

    /// A secret from `<key>_file` or `<key>_env` (not both). An inline
    /// `<key>` is rejected without looking at its value.
    pub(crate) fn secret(
        &self,
        table: &str,
        key: &'static str,
        file: &Option<Text>,
        env: &Option<Text>,
        inline: &Option<Spanned<toml::Value>>,
    ) -> Result<Option<Secret>, ConfigError> {
        if let Some(inline) = inline {
            return Err(self.loc.error(
                &inline.span(),
                format!("{table}{key}"),
                ConfigErrorKind::InlineSecret { key },
            ));
        }
        match (file, env) {
            (Some(_), Some(env)) => Err(self.invalid(
                &env.span(),
                &format!("{table}{key}_env"),
                format!("give either {key}_file or {key}_env, not both"),
            )),
            (Some(file), None) => values::read_secret_file(&self.path(file))
                .map(Some)
                .map_err(|m| {
                    self.loc.error(
                        &file.span(),
                        format!("{table}{key}_file"),
                        ConfigErrorKind::Secret(m),
                    )
                }),
            (None, Some(env)) => values::read_secret_env(env.get_ref())
                .map(Some)
                .map_err(|m| {
                    self.loc.error(
                        &env.span(),
                        format!("{table}{key}_env"),
                        ConfigErrorKind::Secret(m),
                    )
                }),
            (None, None) => Ok(None),
        }
    }

    pub(crate) fn listen(
        &self,
        value: &Option<Text>,
        field: &str,
        default_port: u16,
        default: &str,
    ) -> Result<std::net::SocketAddr, ConfigError> {
        let text = value.as_ref().map_or(default, |t| t.get_ref().as_str());
        parse_listen(text, default_port).map_err(|message| {
            let span = value.as_ref().map_or(0..0, |t| t.span());
            self.invalid(&span, field, message)
        })
    }

    /// A command name (`[a-z_]+`).
    pub(crate) fn command(&self, text: &Text, field: &str) -> Result<String, ConfigError> {
        if values::is_command_name(text.get_ref()) {
            Ok(text.get_ref().clone())
        } else {
            Err(self.invalid(
                &text.span(),
                field,
                format!(
                    "{:?} is not a command name (lowercase letters and '_')",
                    crate::error::truncate_for_log(text.get_ref(), 40)
                ),
            ))
        }
    }
}

pub(crate) fn server(ctx: &Ctx, raw: &RawServer) -> Result<ServerConfig, ConfigError> {
    let listen = ctx.listen(&raw.listen, "server.listen", DEFAULT_LISTEN_PORT, "0.0.0.0")?;
    let configured_only = ctx.choice(
        &raw.probe_targets,
        "server.probe_targets",
        &[("any", false), ("configured", true)],
        false,
    )?;
    let mut networks = Vec::new();
    for (i, item) in raw.probe_networks.iter().flatten().enumerate() {
        let field = format!("server.probe_networks[{i}]");
        if !configured_only {
            return Err(ctx.invalid(
                &item.span(),
                &field,
                "probe_networks only applies with probe_targets = \"configured\"".into(),
            ));
        }
        let net: ipnet::IpNet = item.get_ref().trim().parse().map_err(|_| {
            ctx.invalid(
                &item.span(),
                &field,
                format!(
                    "{:?} is not a network like \"10.20.0.0/16\" or \"fd00::/64\"",
                    crate::error::truncate_for_log(item.get_ref(), 60)
                ),
            )
        })?;
        networks.push(net.trunc());
    }
    let mut network_ports = Vec::new();
    for (i, item) in raw.probe_ports.iter().flatten().enumerate() {
        let field = format!("server.probe_ports[{i}]");
        if !configured_only {
            return Err(ctx.invalid(
                &item.span(),
                &field,
                "probe_ports only applies with probe_targets = \"configured\"".into(),
            ));
        }
        let port = ctx.int(&Some(item.clone()), &field, 1..=65535, 0)?;
        if let Ok(port) = u16::try_from(port) {
            network_ports.push(port);
        }
    }
    if raw.probe_ports.is_none() {
        network_ports = super::DEFAULT_PROBE_PORTS.to_vec();
    }
    let reload = ctx.choice(
        &raw.reload_endpoint,
        "server.reload_endpoint",
        &[
            ("loopback", ReloadAccess::Loopback),
            ("any", ReloadAccess::Any),
            ("off", ReloadAccess::Off),
        ],
        ReloadAccess::default(),
    )?;
    let web = match &raw.web_config_file {
        None => None,
        Some(path) => Some(super::web::load_web(&ctx.path(path))?),
    };
    let field = "server.miner_files_poll";
    let miner_files_poll = ctx.duration(
        &raw.miner_files_poll,
        field,
        super::DEFAULT_MINER_FILES_POLL,
    )?;
    if let Some(text) = &raw.miner_files_poll {
        let off = miner_files_poll.is_zero();
        if !off
            && (miner_files_poll < Duration::from_secs(1)
                || miner_files_poll > Duration::from_secs(3600))
        {
            return Err(ctx.invalid(
                &text.span(),
                field,
                "must be \"0s\" (off) or from 1s to 1h".into(),
            ));
        }
    }
    Ok(ServerConfig {
        listen,
        probe: ProbePolicy {
            configured_only,
            networks,
            network_ports,
        },
        reload,
        web,
        miner_files_poll,
    })
}

pub(crate) fn log(ctx: &Ctx, raw: &RawLog) -> Result<LogConfig, ConfigError> {
    let level = match &raw.level {
        None => LogConfig::default().level,
        Some(text) => {
            log_filter(text.get_ref()).map_err(|m| ctx.invalid(&text.span(), "log.level", m))?;
            text.get_ref().clone()
        }
    };
    let format = ctx.choice(
        &raw.format,
        "log.format",
        &[("text", LogFormat::Text), ("json", LogFormat::Json)],
        LogFormat::Text,
    )?;
    Ok(LogConfig { level, format })
}

/// A plain level must be a real level name: `EnvFilter` would take a typo
/// like `inf` as a target name and silently log nothing useful.
///
/// The filter must be ASCII: tracing-subscriber 0.3's directive parser slices
/// the text at byte offsets and panics inside a multi-byte character (found
/// by the `config` fuzz target). Targets and levels are ASCII anyway.
pub(crate) fn log_filter(filter: &str) -> Result<tracing_subscriber::EnvFilter, String> {
    const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];
    if !filter.is_ascii() {
        return Err(format!(
            "invalid tracing filter {:?}: only ASCII characters are allowed",
            crate::error::truncate_for_log(filter, 40)
        ));
    }
    let is_single_word = !filter.contains(['=', ',', '[', ':']);
    if is_single_word && !LEVELS.contains(&filter.trim().to_ascii_lowercase().as_str()) {
        return Err(format!(
            "unknown log level {:?}, expected one of {} or a tracing filter like \"info,whatsminer_exporter=debug\"",
            crate::error::truncate_for_log(filter, 40),
            LEVELS.join(", ")
        ));
    }
    tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| format!("invalid tracing filter: {e}"))
}

pub(crate) fn scrape(ctx: &Ctx, raw: &RawScrape) -> Result<ScrapeConfig, ConfigError> {
    let d = ScrapeConfig::default();
    let timeout = ctx.duration(&raw.timeout, "scrape.timeout", d.timeout)?;
    let timeout_margin = ctx.duration(
        &raw.timeout_margin,
        "scrape.timeout_margin",
        d.timeout_margin,
    )?;
    let connect_timeout = ctx.duration(
        &raw.connect_timeout,
        "scrape.connect_timeout",
        d.connect_timeout,
    )?;
    let command_timeout = ctx.duration(
        &raw.command_timeout,
        "scrape.command_timeout",
        d.command_timeout,
    )?;
    let info_refresh = ctx.duration(&raw.info_refresh, "scrape.info_refresh", d.info_refresh)?;
    let min_age = ctx.duration(&raw.min_age, "scrape.min_age", d.min_age)?;
    let refresh_interval = ctx.duration(
        &raw.refresh_interval,
        "scrape.refresh_interval",
        DEFAULT_REFRESH_INTERVAL,
    )?;
    let positive = [
        (&raw.timeout, "scrape.timeout", timeout),
        (
            &raw.connect_timeout,
            "scrape.connect_timeout",
            connect_timeout,
        ),
        (
            &raw.command_timeout,
            "scrape.command_timeout",
            command_timeout,
        ),
        (&raw.info_refresh, "scrape.info_refresh", info_refresh),
        (
            &raw.refresh_interval,
            "scrape.refresh_interval",
            refresh_interval,
        ),
    ];
    for (value, field, duration) in positive {
        if let (Some(text), true) = (value, duration.is_zero()) {
            return Err(ctx.invalid(&text.span(), field, "must be greater than zero".into()));
        }
    }
    if timeout_margin >= timeout {
        let (span, field) = match (&raw.timeout_margin, &raw.timeout) {
            (Some(t), _) => (t.span(), "scrape.timeout_margin"),
            (None, Some(t)) => (t.span(), "scrape.timeout"),
            (None, None) => (0..0, "scrape.timeout_margin"),
        };
        return Err(ctx.invalid(
            &span,
            field,
            format!(
                "timeout_margin ({timeout_margin:?}) must be smaller than timeout ({timeout:?})"
            ),
        ));
    }
    let concurrency = ctx.int(&raw.concurrency, "scrape.concurrency", 1..=65_536, 256)?;
    let max_reply_bytes = ctx.int(
        &raw.max_reply_bytes,
        "scrape.max_reply_bytes",
        1024..=64 * 1024 * 1024,
        1024 * 1024,
    )?;
    let read_retries = ctx.int(&raw.read_retries, "scrape.read_retries", 0..=5, 1)?;
    let mode = ctx.choice(
        &raw.mode,
        "scrape.mode",
        &[
            ("live", ScrapeMode::Live),
            (
                "background",
                ScrapeMode::Background {
                    interval: refresh_interval,
                },
            ),
        ],
        ScrapeMode::Live,
    )?;
    Ok(ScrapeConfig {
        timeout,
        timeout_margin,
        concurrency: usize::try_from(concurrency).unwrap_or(d.concurrency),
        connect_timeout,
        command_timeout,
        max_reply_bytes: usize::try_from(max_reply_bytes).unwrap_or(d.max_reply_bytes),
        info_refresh,
        mode,
        read_retries: u32::try_from(read_retries).unwrap_or(d.read_retries),
        min_age,
    })
}
