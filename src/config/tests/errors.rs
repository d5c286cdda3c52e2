//! Every class of config error names the file, the line (and column) and
//! the field, and never shows a secret.

use super::Fixture;
use crate::config::*;

/// The error text for a config that must fail, loaded as `exporter.toml`.
fn error_of(text: &str) -> String {
    match from_str(text, Path::new("exporter.toml")) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(e) => e.to_string(),
    }
}

const MINER: &str = "[[miners]]\naddress = \"127.0.0.1\"\n";

#[test]
fn invalid_address_names_line_column_and_index() {
    let text = format!(
        "{MINER}[[miners]]\naddress = \"127.0.0.2\"\n[[miners]]\naddress = \"127.0.0.3\"\n\
         [[miners]]\naddress = \"10.0.0.300\"\n"
    );
    assert_eq!(
        error_of(&text),
        "exporter.toml:8:11: miners[3].address: invalid miner address \"10.0.0.300\""
    );
    let text = "[[miners]]\naddress = \"host:99999\"\n";
    assert!(
        error_of(text).starts_with("exporter.toml:2:11: miners[0].address: invalid miner address")
    );
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let e = error_of("[server\nlisten = \"x\"\n");
    assert!(e.starts_with("exporter.toml:1:8: "), "{e}");
    assert!(e.contains("invalid table header"), "{e}");
    let e = error_of("[[miners]]\naddress = \"127.0.0.1\n");
    assert!(e.starts_with("exporter.toml:2:"), "{e}");
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let e = error_of("[scrape]\ntimeout = \"5s\"\ntimout_margin = \"1s\"\n");
    assert!(
        e.starts_with("exporter.toml:3:1: scrape.timout_margin: unknown field `timout_margin`"),
        "{e}"
    );
    let e = error_of(&format!("{MINER}[[miners]]\nadress = \"127.0.0.2\"\n"));
    assert!(
        e.starts_with("exporter.toml:4:1: miners[1].adress: unknown field `adress`"),
        "{e}"
    );
    let e = error_of(&format!("{MINER}pasword_file = \"/run/pw\"\n"));
    assert!(e.ends_with("(did you mean `password_file`?)"), "{e}");
    let e = error_of(&format!("{MINER}tokn = \"x\"\n"));
    assert!(!e.contains("did you mean"), "no refused key suggested: {e}");
    let e = error_of("[scrape]\ntimeout = \"5s\"\ntimout_margin = \"1s\"\n");
    assert!(e.ends_with("(did you mean `timeout_margin`?)"), "{e}");
    let e = error_of(&format!("{MINER}colour = \"red\"\n"));
    assert!(
        e.starts_with("exporter.toml:3:1: miners[0].colour: unknown field"),
        "{e}"
    );
    let e = error_of(&format!("{MINER}[metric]\nx = 1\n"));
    assert!(
        e.starts_with("exporter.toml:3:2: metric: unknown field `metric`"),
        "{e}"
    );
}

#[test]
fn wrong_types_name_the_field() {
    let e = error_of(&format!("{MINER}[scrape]\nconcurrency = \"many\"\n"));
    assert!(
        e.starts_with("exporter.toml:4:15: scrape.concurrency: invalid type"),
        "{e}"
    );
    let e = error_of(&format!("{MINER}labels = {{ rack = 5 }}\n"));
    assert!(
        e.starts_with("exporter.toml:3:19: miners[0].labels.rack: invalid type"),
        "{e}"
    );
    let e = error_of(&format!(
        "{MINER}[admin]\nallow = [\n  \"power_off\",\n  7,\n]\n"
    ));
    assert!(
        e.starts_with("exporter.toml:6:3: admin.allow: invalid type"),
        "{e}"
    );
    let e = error_of("[[miners]]\nname = \"x\"\n");
    assert!(
        e.starts_with("exporter.toml:1:1: miners[0]: missing field `address`"),
        "{e}"
    );
}

#[test]
fn duplicates_name_both_places() {
    let text = format!("{MINER}[[miners]]\naddress = \"127.0.0.2\"\nname = \"a\"\n[[miners]]\naddress = \"127.0.0.1:4028\"\n");
    assert_eq!(
        error_of(&text),
        "exporter.toml:7:11: miners[2].address: duplicate miner address \"127.0.0.1:4028\" \
         (first defined at exporter.toml:2:11: miners[0].address)"
    );
    let text = "[[miners]]\naddress = \"127.0.0.1\"\nname = \"m1\"\n[[miners]]\naddress = \"127.0.0.2\"\nname = \"m1\"\n";
    assert_eq!(
        error_of(text),
        "exporter.toml:6:8: miners[1].name: duplicate miner name \"m1\" \
         (first defined at exporter.toml:3:8: miners[0].name)"
    );
    // A name equal to another miner's default name (`host:port`) collides too.
    let text = "[[miners]]\naddress = \"127.0.0.1\"\n[[miners]]\naddress = \"127.0.0.2\"\nname = \"127.0.0.1:4028\"\n";
    assert!(error_of(text).starts_with("exporter.toml:5:8: miners[1].name: duplicate miner name"));
    // Host names compare case-insensitively.
    let text = "[[miners]]\naddress = \"Miner-1.lan\"\n[[miners]]\naddress = \"miner-1.LAN\"\n";
    assert!(error_of(text).contains("duplicate miner address"));
}

#[test]
fn label_names_must_be_valid_and_not_reserved() {
    let e = error_of(&format!("{MINER}labels = {{ miner = \"x\" }}\n"));
    assert!(
        e.starts_with(
            "exporter.toml:3:12: miners[0].labels.miner: label name \"miner\" is reserved"
        ),
        "{e}"
    );
    let e = error_of(&format!(
        "[defaults]\nlabels = {{ \"2rack\" = \"x\" }}\n{MINER}"
    ));
    assert!(
        e.starts_with("exporter.toml:2:12: defaults.labels.2rack: invalid label name"),
        "{e}"
    );
    let e = error_of(&format!(
        "[defaults]\nlabels = {{ __meta = \"x\" }}\n{MINER}"
    ));
    assert!(e.contains("defaults.labels.__meta"), "{e}");
}

#[test]
fn ranges_and_cross_field_rules() {
    let e = error_of(&format!("{MINER}[scrape]\nconcurrency = 0\n"));
    assert_eq!(
        e,
        "exporter.toml:4:15: scrape.concurrency: 0 is out of range 1..=65536"
    );
    let e = error_of(&format!("{MINER}[scrape]\nconcurrency = 65537\n"));
    assert!(e.contains("65537 is out of range"), "{e}");
    let e = error_of(&format!("{MINER}[scrape]\nmax_reply_bytes = 100\n"));
    assert!(
        e.starts_with("exporter.toml:4:19: scrape.max_reply_bytes:"),
        "{e}"
    );
    let e = error_of(&format!(
        "{MINER}[scrape]\ntimeout = \"2s\"\ntimeout_margin = \"2s\"\n"
    ));
    assert!(e.starts_with("exporter.toml:5:18: scrape.timeout_margin: timeout_margin (2s) must be smaller than timeout (2s)"), "{e}");
    let e = error_of(&format!("{MINER}[scrape]\ntimeout = \"400ms\"\n"));
    assert!(
        e.starts_with("exporter.toml:4:11: scrape.timeout: timeout_margin"),
        "{e}"
    );
    let e = error_of(&format!("{MINER}[scrape]\ncommand_timeout = \"0s\"\n"));
    assert!(
        e.starts_with("exporter.toml:4:19: scrape.command_timeout: must be greater than zero"),
        "{e}"
    );
    let e = error_of(&format!("[defaults]\nport = 0\n{MINER}"));
    assert!(
        e.starts_with("exporter.toml:2:8: defaults.port: 0 is out of range"),
        "{e}"
    );
}

#[test]
fn bad_durations_and_words() {
    let e = error_of(&format!("{MINER}[scrape]\ninfo_refresh = \"10 minutes\"\n"));
    assert!(
        e.starts_with("exporter.toml:4:16: scrape.info_refresh: invalid duration \"10 minutes\""),
        "{e}"
    );
    let e = error_of(&format!("{MINER}[scrape]\nmode = \"push\"\n"));
    assert_eq!(
        e,
        "exporter.toml:4:8: scrape.mode: unknown value \"push\", expected one of \"live\", \"background\""
    );
    let e = error_of(&format!("{MINER}protocol = \"v4\"\n"));
    assert!(
        e.starts_with("exporter.toml:3:12: miners[0].protocol: unknown value \"v4\""),
        "{e}"
    );
    let e = error_of(&format!("{MINER}[log]\nlevel = \"verbose\"\n"));
    assert!(
        e.starts_with("exporter.toml:4:9: log.level: unknown log level \"verbose\""),
        "{e}"
    );
    let e = error_of(&format!("{MINER}[server]\nprobe_targets = \"all\"\n"));
    assert!(
        e.starts_with("exporter.toml:4:17: server.probe_targets: unknown value \"all\""),
        "{e}"
    );
    let e = error_of(&format!(
        "{MINER}[server]\nprobe_targets = \"configured\"\nprobe_networks = [\"10.0.0.0/8\", \"10.1/33\"]\n"
    ));
    assert!(
        e.starts_with("exporter.toml:5:33: server.probe_networks[1]: \"10.1/33\" is not a network"),
        "{e}"
    );
    let e = error_of(&format!(
        "{MINER}[server]\nprobe_targets = \"configured\"\nprobe_ports = [4028, 0]\n"
    ));
    assert!(
        e.starts_with("exporter.toml:5:22: server.probe_ports[1]: 0 is out of range 1..=65535"),
        "{e}"
    );
    let e = error_of(&format!("{MINER}[server]\nprobe_ports = [4028]\n"));
    assert!(
        e.contains("server.probe_ports[0]: probe_ports only applies with probe_targets"),
        "{e}"
    );
    let e = error_of(&format!(
        "{MINER}[server]\nreload_endpoint = \"everyone\"\n"
    ));
    assert!(
        e.starts_with("exporter.toml:4:19: server.reload_endpoint: unknown value \"everyone\", expected one of \"loopback\", \"any\", \"off\""),
        "{e}"
    );
    let e = error_of(&format!(
        "{MINER}[server]\nprobe_networks = [\"10.0.0.0/8\"]\n"
    ));
    assert!(
        e.contains("server.probe_networks[0]: probe_networks only applies with probe_targets"),
        "{e}"
    );
    // Found by the `config` fuzz target: tracing-subscriber panicked on it.
    let e = error_of(&format!(
        "{MINER}[log]\nlevel = \"in>>[ould rf ]  ,,G,,,,,02,,3,3,, \u{508}\u{7fb}[[% w2\"\n"
    ));
    assert!(
        e.starts_with("exporter.toml:4:9: log.level: invalid tracing filter"),
        "{e}"
    );
    assert!(e.contains("only ASCII"), "{e}");
    let e = error_of(&format!("{MINER}[server]\nlisten = \"example.com:80\"\n"));
    assert!(
        e.starts_with("exporter.toml:4:10: server.listen: invalid listen address"),
        "{e}"
    );
}

#[test]
fn inline_secrets_are_rejected_without_echoing_them() {
    let e = error_of(&format!(
        "[defaults]\npassword = \"hunter2-SENTINEL\"\n{MINER}"
    ));
    assert_eq!(
        e,
        "exporter.toml:2:12: defaults.password: inline secrets are not allowed: remove `password` \
         and use `password_file` (a file holding the value) or `password_env` (an environment variable)"
    );
    let e = error_of(&format!("{MINER}password = \"hunter2-SENTINEL\"\n"));
    assert!(
        e.starts_with("exporter.toml:3:12: miners[0].password: inline secrets are not allowed"),
        "{e}"
    );
    // Rejected even when the admin API is off: the secret is in the file all the same.
    let e = error_of(&format!("{MINER}[admin]\ntoken = \"tok-SENTINEL\"\n"));
    assert!(e.starts_with("exporter.toml:4:9: admin.token: inline secrets are not allowed: remove `token` and use `token_file`"), "{e}");
    for text in [
        format!("[defaults]\npassword = \"hunter2-SENTINEL\"\n{MINER}"),
        format!("{MINER}[admin]\ntoken = 12345678\n"),
    ] {
        let e = error_of(&text);
        assert!(!e.contains("SENTINEL") && !e.contains("12345678"), "{e}");
    }
}

#[test]
fn secret_sources_must_exist_and_hold_a_value() {
    let fx = Fixture::new();
    fx.write("empty-token", "\n");
    let e = fx
        .load(&format!("{MINER}[admin]\nenabled = true\n"))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(":4:11: admin.enabled: the admin API needs a bearer token"),
        "{e}"
    );
    let e = fx
        .load(&format!(
            "{MINER}[admin]\nenabled = true\ntoken_file = \"missing-token\"\n"
        ))
        .unwrap_err();
    assert!(matches!(e.kind(), ConfigErrorKind::Secret(_)));
    assert!(
        e.to_string()
            .contains(":5:14: admin.token_file: cannot read secret file"),
        "{e}"
    );
    let e = fx
        .load(&format!(
            "{MINER}[admin]\nenabled = true\ntoken_file = \"empty-token\"\n"
        ))
        .unwrap_err();
    assert!(
        e.to_string().contains("admin.token_file: secret file")
            && e.to_string().ends_with("is empty"),
        "{e}"
    );
    let e = fx
        .load(&format!(
            "{MINER}password_env = \"WM_CFG_TEST_SURELY_UNSET_7\"\n"
        ))
        .unwrap_err();
    assert!(e.to_string().contains(":3:16: miners[0].password_env: environment variable WM_CFG_TEST_SURELY_UNSET_7 is not set"), "{e}");
    let e = fx
        .load(&format!(
            "[defaults]\npassword_file = \"a\"\npassword_env = \"B\"\n{MINER}"
        ))
        .unwrap_err();
    assert!(
        e.to_string().contains(
            ":3:16: defaults.password_env: give either password_file or password_env, not both"
        ),
        "{e}"
    );
}

#[test]
fn admin_rules() {
    let fx = Fixture::new();
    fx.write("tok", "a-token-value");
    let admin = "[admin]\nenabled = true\ntoken_file = \"tok\"\n";
    let e = fx
        .load(&format!(
            "{MINER}{admin}allow = [\"power_off\", \"set-led\"]\n"
        ))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(":6:23: admin.allow[1]: \"set-led\" is not a command name"),
        "{e}"
    );
    let e = fx
        .load(&format!("{MINER}{admin}tls_cert_file = \"tok\"\n"))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(":6:17: admin.tls_cert_file: give both tls_cert_file and tls_key_file"),
        "{e}"
    );
    let e = fx
        .load(&format!(
            "{MINER}{admin}tls_cert_file = \"tok\"\ntls_key_file = \"nokey.pem\"\n"
        ))
        .unwrap_err();
    assert!(
        e.to_string().contains(":7:16: admin.tls_key_file: file")
            && e.to_string().ends_with("does not exist"),
        "{e}"
    );
    let e = fx
        .load(&format!(
            "{MINER}{admin}allow = [\"power_on\"]\n[webhook]\nbudget = 1\n"
        ))
        .unwrap_err();
    assert!(e.to_string().contains(": webhook.default_action: default action \"power_off\" is not in admin.allow (power_on)"), "{e}");
    let e = fx
        .load(&format!("{MINER}[webhook]\nenabled = true\n"))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(":4:11: webhook.enabled: the webhook runs on the admin API"),
        "{e}"
    );
    let e = fx
        .load(&format!(
            "{MINER}{admin}[webhook]\nminer_label = \"m\"\nminer_labels = [\"a\"]\n"
        ))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(":8:16: webhook.miner_labels: give either miner_label or miner_labels"),
        "{e}"
    );
    let e = fx
        .load(&format!("{MINER}{admin}[webhook]\nstate_file = \" \"\n"))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(":7:14: webhook.state_file: must not be empty"),
        "{e}"
    );
}

#[test]
fn no_miner_source_is_an_error() {
    let e = from_str("[server]\nlisten = \":9710\"\n", Path::new("exporter.toml")).unwrap_err();
    assert_eq!(e.kind(), &ConfigErrorKind::NoMiners);
    assert!(
        e.to_string()
            .starts_with("exporter.toml: miners: no miner source"),
        "{e}"
    );
}

#[test]
fn unreadable_config_names_the_file() {
    let fx = Fixture::new();
    let missing = fx.dir.path().join("nope.toml");
    let e = load(&missing).unwrap_err();
    assert!(matches!(e.kind(), ConfigErrorKind::Read { .. }));
    assert!(e.to_string().contains("nope.toml: cannot read"), "{e}");
    let e = load(fx.dir.path()).unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
}

#[test]
fn locator_handles_unicode_columns_and_eof() {
    // Columns count characters, not bytes.
    let e = error_of("# é\n[[miners]]\naddress = \"10.0.0.300\" # ünïcode\n");
    assert!(
        e.starts_with("exporter.toml:3:11: miners[0].address"),
        "{e}"
    );
    let e = error_of("[[miners]]\naddress = ");
    assert!(e.starts_with("exporter.toml:2:"), "{e}");
}
