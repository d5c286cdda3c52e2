//! Bulk target files: plain lists and Prometheus file_sd (JSON and YAML)
//! (their errors are in tests/fixtures/config_errors/cases.toml).

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

#[test]
fn file_sd_from_discover_sets_the_protocol_and_drops_identity_labels() {
    let fx = Fixture::new();
    fx.write(
        "found.json",
        "[{\"targets\": [\"127.0.0.1:14028\"], \"labels\": {\"miner\": \"c6:07:20:00:00:01\", \"model\": \"M30S++VH30\", \"firmware\": \"20250409.15.Rel\", \"protocol\": \"v3\", \"mac\": \"C6:07:20:00:00:01\", \"hostname\": \"WhatsMiner\", \"rack\": \"r1\"}}]",
    );
    let config = fx.load("[[miner_files]]\npath = \"found.json\"\n").unwrap();
    assert_eq!(
        summary(&config),
        vec![(
            "127.0.0.1:14028".into(),
            Some("c6:07:20:00:00:01".into()),
            vec![pair("rack", "r1")]
        )]
    );
    assert_eq!(config.miners[0].protocol, crate::client::ApiChoice::V3);
}
