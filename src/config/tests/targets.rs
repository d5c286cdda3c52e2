//! Bulk target files: plain lists and Prometheus file_sd (JSON and YAML),
//! and their errors with file, line and target index.

use super::Fixture;
use crate::config::*;

/// Address, name and labels of each miner.
type Summary = Vec<(String, Option<String>, Vec<(String, String)>)>;

fn summary(config: &Config) -> Summary {
    config
        .miners
        .iter()
        .map(|m| (m.addr.to_string(), m.name.clone(), m.labels.clone()))
        .collect()
}

fn pair(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

#[test]
fn plain_list_with_names_comments_and_blank_lines() {
    let fx = Fixture::new();
    fx.write(
        "targets.txt",
        "# rack 1\n\n127.0.0.1:14028 rack1-m01\n  127.0.0.1:14029   # no name\n[::1]:14030\tv6-miner\n",
    );
    let config = fx
        .load("[defaults]\nlabels = { site = \"a\" }\n[[miner_files]]\npath = \"targets.txt\"\n")
        .unwrap();
    let site = vec![pair("site", "a")];
    assert_eq!(
        summary(&config),
        vec![
            (
                "127.0.0.1:14028".into(),
                Some("rack1-m01".into()),
                site.clone()
            ),
            ("127.0.0.1:14029".into(), None, site.clone()),
            ("[::1]:14030".into(), Some("v6-miner".into()), site),
        ]
    );
}

#[test]
fn plain_list_errors_name_file_and_line() {
    let fx = Fixture::new();
    let targets = fx.write("targets.txt", "127.0.0.1\n# ok\n\n\n\n\n10.0.0.300 bad\n");
    let e = fx
        .load("[[miner_files]]\npath = \"targets.txt\"\n")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:7: invalid miner address \"10.0.0.300\"",
            targets.display()
        )
    );
    fx.write("targets.txt", "127.0.0.1 a b\n");
    let e = fx
        .load("[[miner_files]]\npath = \"targets.txt\"\n")
        .unwrap_err();
    assert!(e.to_string().ends_with("targets.txt:1: expected an address and an optional name; more text follows (use '#' for comments)"), "{e}");
}

#[test]
fn duplicates_across_sources_name_both() {
    let fx = Fixture::new();
    fx.write("targets.txt", "127.0.0.2\n127.0.0.1 dup\n");
    let e = fx
        .load("[[miners]]\naddress = \"127.0.0.1:4028\"\n[[miner_files]]\npath = \"targets.txt\"\n")
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("targets.txt:2: duplicate miner address \"127.0.0.1:4028\""),
        "{text}"
    );
    assert!(
        text.contains("exporter.toml:2:11: miners[0].address)"),
        "{text}"
    );
}

#[test]
fn missing_target_file_points_at_the_config_line() {
    let fx = Fixture::new();
    let e = fx
        .load("[[miners]]\naddress = \"127.0.0.1\"\n[[miner_files]]\npath = \"absent.txt\"\n")
        .unwrap_err();
    assert!(matches!(e.kind(), ConfigErrorKind::Read { .. }));
    assert!(
        e.to_string()
            .contains("exporter.toml:4:8: miner_files[0].path: cannot read"),
        "{e}"
    );
    assert!(e.to_string().contains("absent.txt"), "{e}");
}

const SD_JSON: &str = r#"[
  {
    "targets": ["127.0.0.1:14028", "127.0.0.1:14029"],
    "labels": { "rack": "r1", "__meta_source": "dcim" }
  },
  {
    "targets": ["127.0.0.1:14030"],
    "labels": { "miner": "named-one", "site": "b" }
  }
]
"#;

#[test]
fn file_sd_json_groups_labels_and_names() {
    let fx = Fixture::new();
    fx.write("sd.json", SD_JSON);
    let config = fx
        .load("[defaults]\nlabels = { site = \"a\" }\n[[miner_files]]\npath = \"sd.json\"\n")
        .unwrap();
    assert_eq!(
        summary(&config),
        vec![
            (
                "127.0.0.1:14028".into(),
                None,
                vec![pair("rack", "r1"), pair("site", "a")]
            ),
            (
                "127.0.0.1:14029".into(),
                None,
                vec![pair("rack", "r1"), pair("site", "a")]
            ),
            (
                "127.0.0.1:14030".into(),
                Some("named-one".into()),
                vec![pair("site", "b")]
            ),
        ]
    );
}

#[test]
fn file_sd_yaml_is_chosen_by_extension() {
    let fx = Fixture::new();
    fx.write(
        "sd.yml",
        "- targets:\n    - 127.0.0.1:14028\n    - '127.0.0.1:14029'\n  labels:\n    row: \"2\"\n- targets: [127.0.0.1:14030]\n",
    );
    let config = fx.load("[[miner_files]]\npath = \"sd.yml\"\n").unwrap();
    assert_eq!(
        summary(&config),
        vec![
            ("127.0.0.1:14028".into(), None, vec![pair("row", "2")]),
            ("127.0.0.1:14029".into(), None, vec![pair("row", "2")]),
            ("127.0.0.1:14030".into(), None, vec![]),
        ]
    );
}

#[test]
fn explicit_format_overrides_the_extension() {
    let fx = Fixture::new();
    fx.write("fleet.list", SD_JSON);
    let config = fx
        .load("[[miner_files]]\npath = \"fleet.list\"\nformat = \"file_sd\"\n")
        .unwrap();
    assert_eq!(config.miners.len(), 3);
    let e = fx
        .load("[[miner_files]]\npath = \"fleet.list\"\nformat = \"csv\"\n")
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(":3:10: miner_files[0].format: unknown value \"csv\""),
        "{e}"
    );
}

#[test]
fn file_sd_errors_name_group_target_and_line() {
    let fx = Fixture::new();
    let sd = fx.write(
        "sd.json",
        "[\n  {\"targets\": [\"127.0.0.1:14028\"]},\n  {\"targets\": [\n    \"127.0.0.1:14029\",\n    \"10.0.0.300\"\n  ]}\n]\n",
    );
    let e = fx
        .load("[[miner_files]]\npath = \"sd.json\"\n")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:5: [1].targets[1]: invalid miner address \"10.0.0.300\"",
            sd.display()
        )
    );
    fx.write(
        "sd.json",
        "[{\"targets\": [\"127.0.0.1\"], \"labels\": {\"job\": \"x\"}}]",
    );
    let e = fx
        .load("[[miner_files]]\npath = \"sd.json\"\n")
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("sd.json:1: [0].targets[0]: label name \"job\" is reserved"),
        "{e}"
    );
    fx.write(
        "sd.json",
        "[{\"targets\": [\"127.0.0.1\", \"127.0.0.2\"], \"labels\": {\"miner\": \"x\"}}]",
    );
    let e = fx
        .load("[[miner_files]]\npath = \"sd.json\"\n")
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("[0].labels.miner: a `miner` label names one miner"),
        "{e}"
    );
}

#[test]
fn file_sd_syntax_errors_have_line_and_column() {
    let fx = Fixture::new();
    fx.write("sd.json", "[\n  {\"targets\": [\"127.0.0.1\"],}\n]\n");
    let e = fx
        .load("[[miner_files]]\npath = \"sd.json\"\n")
        .unwrap_err();
    assert!(matches!(e.kind(), ConfigErrorKind::Syntax(_)));
    assert!(e.to_string().contains("sd.json:2:"), "{e}");
    assert!(
        !e.to_string().contains(" at line "),
        "position said once: {e}"
    );
    fx.write("sd.json", "[{\"targets\": \"127.0.0.1\"}]");
    let e = fx
        .load("[[miner_files]]\npath = \"sd.json\"\n")
        .unwrap_err();
    assert!(e.to_string().contains("sd.json:1:"), "{e}");
    assert!(e.to_string().contains("invalid type"), "{e}");
    fx.write("sd.yaml", "- targets:\n    - 127.0.0.1\n  lables: {}\n");
    let e = fx
        .load("[[miner_files]]\npath = \"sd.yaml\"\n")
        .unwrap_err();
    assert!(e.to_string().contains("sd.yaml:3:"), "{e}");
    assert!(e.to_string().contains("unknown field `lables`"), "{e}");
}

#[test]
fn empty_lists_are_allowed() {
    let fx = Fixture::new();
    fx.write("targets.txt", "# filled in by the inventory job\n");
    fx.write("sd.json", "[]");
    let config = fx
        .load("[[miner_files]]\npath = \"targets.txt\"\n[[miner_files]]\npath = \"sd.json\"\n")
        .unwrap();
    assert!(config.miners.is_empty());
}
