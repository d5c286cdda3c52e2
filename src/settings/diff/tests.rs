//! The settings diff: each change on its side, and the docs' table.

use super::*;

const BASE: &str = "[server]\nlisten = \"127.0.0.1:9710\"\n\
    [admin]\nenabled = true\ntoken_env = \"PATH\"\n\
    [[miners]]\naddress = \"127.0.0.1:4028\"\nname = \"m0\"\n";

fn settings(text: &str) -> Settings {
    crate::config::from_str(text, std::path::Path::new("exporter.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
        .settings()
}

/// `BASE` with `line` added at the start of `[section]`.
fn with(section: &str, line: &str) -> Settings {
    let text = if BASE.contains(&format!("[{section}]\n")) {
        BASE.replacen(
            &format!("[{section}]\n"),
            &format!("[{section}]\n{line}\n"),
            1,
        )
    } else {
        format!("[{section}]\n{line}\n{BASE}")
    };
    settings(&text)
}

#[test]
fn each_change_is_named_on_its_side() {
    let base = settings(BASE);
    assert_eq!(changes(&base, &base), Changes::default());
    let cases = [
        (
            "server",
            "reload_endpoint = \"off\"",
            "server.reload_endpoint",
        ),
        (
            "server",
            "miner_files_poll = \"0s\"",
            "server.miner_files_poll",
        ),
        (
            "server",
            "probe_targets = \"configured\"",
            "server.probe_targets",
        ),
        ("log", "level = \"debug\"", "log.level"),
        ("log", "format = \"json\"", "log.format"),
        ("scrape", "timeout = \"3s\"", "scrape.timeout"),
        ("scrape", "concurrency = 3", "scrape.concurrency"),
        (
            "scrape",
            "connect_timeout = \"1s\"",
            "scrape.connect_timeout",
        ),
        ("scrape", "mode = \"background\"", "scrape.mode"),
        ("scrape", "min_age = \"0s\"", "scrape.min_age"),
        ("metrics", "profile = \"large_farm\"", "metrics"),
        ("admin", "allow = [\"power_off\"]", "admin.allow"),
        ("admin", "token_name = \"ops\"", "admin.token_name"),
        ("admin", "listen = \"127.0.0.1:9999\"", "admin.listen"),
        ("webhook", "dry_run = true", "webhook.dry_run"),
        ("webhook", "budget = 1", "webhook.budget"),
        ("webhook", "enabled = false", "webhook.enabled"),
        ("webhook", "retries = 0", "webhook.retries"),
    ];
    for (section, line, name) in cases {
        let c = changes(&base, &with(section, line));
        let want = SETTINGS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, e)| *e)
            .unwrap_or_else(|| panic!("{name} not in SETTINGS"));
        let got = match want {
            Effect::Reload => &c.applied,
            Effect::Restart => &c.restart,
        };
        assert!(got.contains(&name), "{line}: {c:?}");
        // A metrics profile is every miner's too.
        let others = c.all().filter(|n| *n != name && *n != "miners").count();
        assert_eq!(others, 0, "{line}: only {name}: {c:?}");
    }
    let c = changes(&base, &settings(&BASE.replace("9710", "9720")));
    assert_eq!(c.restart, ["server.listen"]);
    let c = changes(&base, &settings(&BASE.replace("m0", "m1")));
    assert_eq!(c.applied, ["miners"]);
}

#[test]
fn the_admin_api_turns_off_on_reload_but_on_only_at_start() {
    let on = settings(BASE);
    let off = settings(&BASE.replace("enabled = true", "enabled = false"));
    assert_eq!(changes(&on, &off).applied, ["admin.enabled"]);
    assert_eq!(changes(&off, &on).restart, ["admin.enabled"]);
    assert!(changes(&off, &on).applied.is_empty());
}

/// docs/configuration.md's "Reload" table says what [`SETTINGS`] says.
#[test]
fn the_documented_table_matches() {
    let doc = include_str!("../../../docs/configuration.md");
    let section = doc
        .split("\n## Reload\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Reload section");
    let mut documented: Vec<(&str, Effect)> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| {
            let (name, rest) = l.split_once("` | ")?;
            let effect = if rest.starts_with("restart") {
                Effect::Restart
            } else if rest.starts_with("applied") {
                Effect::Reload
            } else {
                panic!("{name}: {rest}")
            };
            Some((name, effect))
        })
        .collect();
    let mut listed = SETTINGS.to_vec();
    documented.sort_by_key(|(n, _)| *n);
    listed.sort_by_key(|(n, _)| *n);
    assert_eq!(documented, listed);
}

#[test]
fn every_listed_setting_is_unique() {
    let mut names: Vec<_> = SETTINGS.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), SETTINGS.len());
}
