//! The `[admin]` API and `[webhook]` settings: who may send which
//! commands, with what token, and how alerts turn into commands. The token
//! and TLS files are checked only when the admin API is enabled.

use super::build::Ctx;
use super::error::{ConfigError, ConfigErrorKind, Place};
use super::raw::{RawAdmin, RawWebhook, Text};
use super::{AdminApi, TlsFiles, WebhookSettings, DEFAULT_ADMIN_ALLOW, DEFAULT_ADMIN_PORT};
use std::path::PathBuf;

/// `None` unless enabled. Token and TLS files are only checked when the
/// admin API is on, so a disabled block may name files that do not exist.
pub(crate) fn admin(ctx: &Ctx, raw: &RawAdmin) -> Result<Option<AdminApi>, ConfigError> {
    if let Some(inline) = &raw.token {
        return Err(ctx.loc.error(
            &inline.span(),
            "admin.token",
            ConfigErrorKind::InlineSecret { key: "token" },
        ));
    }
    let Some(enabled) = raw.enabled.as_ref().filter(|e| *e.get_ref()) else {
        return Ok(None);
    };
    let listen = ctx.listen(&raw.listen, "admin.listen", DEFAULT_ADMIN_PORT, "127.0.0.1")?;
    let token = ctx
        .secret("admin.", "token", &raw.token_file, &raw.token_env, &None)?
        .ok_or_else(|| {
            ctx.loc.error(
                &enabled.span(),
                "admin.enabled",
                ConfigErrorKind::Secret(
                    "the admin API needs a bearer token: set token_file or token_env".into(),
                ),
            )
        })?;
    let token_name = match &raw.token_name {
        None => "admin".to_string(),
        Some(name) if is_token_name(name.get_ref()) => name.get_ref().clone(),
        Some(name) => {
            return Err(ctx.invalid(
                &name.span(),
                "admin.token_name",
                "must be 1 to 64 printable characters".into(),
            ))
        }
    };
    let mut allow: Vec<String> = Vec::new();
    match &raw.allow {
        None => allow.extend(DEFAULT_ADMIN_ALLOW.iter().map(|s| s.to_string())),
        Some(list) => {
            for (i, item) in list.iter().enumerate() {
                let command = ctx.command(item, &format!("admin.allow[{i}]"))?;
                if !allow.contains(&command) {
                    allow.push(command);
                }
            }
        }
    }
    let tls = match (&raw.tls_cert_file, &raw.tls_key_file) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert_file: existing_file(ctx, cert, "admin.tls_cert_file")?,
            key_file: existing_file(ctx, key, "admin.tls_key_file")?,
        }),
        (Some(one), None) | (None, Some(one)) => {
            return Err(ctx.invalid(
                &one.span(),
                if raw.tls_cert_file.is_some() {
                    "admin.tls_cert_file"
                } else {
                    "admin.tls_key_file"
                },
                "give both tls_cert_file and tls_key_file, or neither".into(),
            ))
        }
    };
    let max_body_bytes = ctx.int(
        &raw.max_body_bytes,
        "admin.max_body_bytes",
        1024..=16 * 1024 * 1024,
        65_536,
    )?;
    Ok(Some(AdminApi {
        listen,
        token,
        token_name,
        allow,
        tls,
        max_body_bytes: usize::try_from(max_body_bytes).unwrap_or(65_536),
    }))
}

fn is_token_name(name: &str) -> bool {
    !name.trim().is_empty() && name.chars().count() <= 64 && !name.chars().any(char::is_control)
}

fn existing_file(ctx: &Ctx, text: &Text, field: &str) -> Result<PathBuf, ConfigError> {
    let path = ctx.path(text);
    if path.is_file() {
        Ok(path)
    } else {
        Err(ctx.invalid(
            &text.span(),
            field,
            format!("file {} does not exist", path.display()),
        ))
    }
}

pub(crate) fn webhook(
    ctx: &Ctx,
    raw: &RawWebhook,
    admin: Option<&AdminApi>,
) -> Result<WebhookSettings, ConfigError> {
    let d = WebhookSettings::default();
    // Default on, but only where the admin API runs; asking for it
    // explicitly without the admin API is a mistake worth reporting.
    let enabled = match (&raw.enabled, admin) {
        (Some(e), None) if *e.get_ref() => {
            return Err(ctx.invalid(
                &e.span(),
                "webhook.enabled",
                "the webhook runs on the admin API: set [admin] enabled = true".into(),
            ))
        }
        (Some(e), Some(_)) => *e.get_ref(),
        (None, Some(_)) => true,
        (_, None) => false,
    };
    let budget = ctx.int(&raw.budget, "webhook.budget", 0..=100_000, 5)?;
    let budget_window =
        ctx.duration(&raw.budget_window, "webhook.budget_window", d.budget_window)?;
    let dedupe_ttl = ctx.duration(&raw.dedupe_ttl, "webhook.dedupe_ttl", d.dedupe_ttl)?;
    for (value, field, duration) in [
        (&raw.budget_window, "webhook.budget_window", budget_window),
        (&raw.dedupe_ttl, "webhook.dedupe_ttl", dedupe_ttl),
    ] {
        if let (Some(text), true) = (value, duration.is_zero()) {
            return Err(ctx.invalid(&text.span(), field, "must be greater than zero".into()));
        }
    }
    let retries = ctx.int(&raw.retries, "webhook.retries", 0..=10, 3)?;
    let miner_labels = match (&raw.miner_label, &raw.miner_labels) {
        (Some(_), Some(list)) => {
            return Err(ctx.invalid(
                &list.span(),
                "webhook.miner_labels",
                "give either miner_label or miner_labels, not both".into(),
            ))
        }
        (Some(one), None) => vec![label_name(ctx, one, "webhook.miner_label")?],
        (None, Some(list)) if list.get_ref().is_empty() => {
            return Err(ctx.invalid(
                &list.span(),
                "webhook.miner_labels",
                "must not be empty".into(),
            ))
        }
        (None, Some(list)) => list
            .get_ref()
            .iter()
            .enumerate()
            .map(|(i, l)| label_name(ctx, l, &format!("webhook.miner_labels[{i}]")))
            .collect::<Result<_, _>>()?,
        (None, None) => d.miner_labels,
    };
    let action_label = match &raw.action_label {
        Some(l) => label_name(ctx, l, "webhook.action_label")?,
        None => d.action_label,
    };
    let default_action = match &raw.default_action {
        Some(a) => ctx.command(a, "webhook.default_action")?,
        None => d.default_action,
    };
    if let Some(admin) = admin.filter(|a| enabled && !a.allow.contains(&default_action)) {
        let message = format!(
            "default action {default_action:?} is not in admin.allow ({})",
            admin.allow.join(", ")
        );
        return Err(match (&raw.default_action, &raw.enabled) {
            (Some(a), _) => ctx.invalid(&a.span(), "webhook.default_action", message),
            (None, Some(e)) => ctx.invalid(&e.span(), "webhook.enabled", message),
            (None, None) => ConfigError::new(
                Place::file(ctx.loc.file()).with_field("webhook.default_action"),
                ConfigErrorKind::Invalid(message),
            ),
        });
    }
    Ok(WebhookSettings {
        enabled,
        dry_run: raw.dry_run.unwrap_or(d.dry_run),
        budget: u32::try_from(budget).unwrap_or(d.budget),
        budget_window,
        miner_labels,
        action_label,
        default_action,
        power_on_when_resolved: raw
            .power_on_when_resolved
            .unwrap_or(d.power_on_when_resolved),
        dedupe_ttl,
        retries: u32::try_from(retries).unwrap_or(d.retries),
        state_file: match &raw.state_file {
            Some(t) if t.get_ref().trim().is_empty() => {
                return Err(ctx.invalid(
                    &t.span(),
                    "webhook.state_file",
                    "must not be empty (leave it out to keep the guards in memory)".into(),
                ))
            }
            Some(t) => Some(ctx.path(t)),
            None => None,
        },
    })
}

/// An alert label name (Prometheus syntax; reserved names are fine here,
/// since `instance` is exactly what an alert carries).
fn label_name(ctx: &Ctx, text: &Text, field: &str) -> Result<String, ConfigError> {
    let name = text.get_ref();
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(name.clone())
    } else {
        Err(ctx.invalid(
            &text.span(),
            field,
            format!(
                "{:?} is not a label name",
                crate::error::truncate_for_log(name, 40)
            ),
        ))
    }
}
