//! Fleet discovery on loopback only: simulated Whatsminers of every firmware
//! generation spread over 127.18.0.0/24, among listeners that are not
//! Whatsminers (an Antminer replaying real replies, an HTTP server, a port
//! that never answers, garbage), must be found exactly, with the right
//! labels; the outputs must read back through our own config loader; a
//! range over the limit is refused before anything is sent.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use whatsminer_exporter::client::scan::{self, Progress, ScanOptions, ScanRange};
use whatsminer_exporter::client::{Api, ApiChoice};
use whatsminer_exporter::sim::persona::Persona;
use whatsminer_exporter::sim::{Fleet, MinerReadings};

const BIN: &str = env!("CARGO_BIN_EXE_whatsminer-exporter");

#[derive(Clone, Copy)]
enum Other {
    /// Answers `version` with an Antminer S9's reply, anything else with
    /// cgminer's "Invalid command" (both real, tests/fixtures/other).
    Antminer,
    Http,
    /// Accepts and never answers.
    Silent,
    Garbage,
}

async fn other(ip: [u8; 4], kind: Other) -> JoinHandle<()> {
    let listener = TcpListener::bind(SocketAddr::from((ip, 4028)))
        .await
        .expect("other listener binds");
    let fixture = |name: &str| {
        std::fs::read(support::repo().join("tests/fixtures/other").join(name)).expect(name)
    };
    let version = fixture("antminer_s9_version.json");
    let invalid = fixture("cgminer_372_invalid_command.json");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buf))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            let reply: Vec<u8> = match kind {
                Other::Antminer if request.contains("\"version\"") => version.clone(),
                Other::Antminer => invalid.clone(),
                Other::Http => {
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_vec()
                }
                Other::Garbage => vec![0xff, 0xfe, b'x', 0x07, b'{', b'{', 0x80],
                Other::Silent => {
                    held.push(socket);
                    continue;
                }
            };
            let _ = socket.write_all(&reply).await;
        }
    })
}

struct World {
    fleets: Vec<Fleet>,
    others: Vec<JoinHandle<()>>,
}

impl World {
    fn miners(&self) -> Vec<MinerReadings> {
        self.fleets
            .iter()
            .flat_map(|f| f.miners().iter().map(|m| m.readings()))
            .collect()
    }

    async fn stop(self) {
        for task in self.others {
            task.abort();
        }
        for fleet in self.fleets {
            fleet.shutdown().await;
        }
    }
}

/// 12 miners in three groups over 127.18.0.0/24 (every persona, three of
/// them API v3), and four other devices.
async fn world() -> World {
    let fleets = vec![
        support::fleet_at(
            [127, 18, 0, 10],
            5,
            181,
            &[(1, Persona::V3), (3, Persona::V3)],
        )
        .await,
        support::fleet_at(
            [127, 18, 0, 60],
            4,
            182,
            &[
                (0, Persona::Cgminer492),
                (1, Persona::Btminer2021),
                (2, Persona::Btminer2022),
                (3, Persona::Firmware2025),
            ],
        )
        .await,
        support::fleet_at([127, 18, 0, 130], 3, 183, &[(2, Persona::V3)]).await,
    ];
    let others = vec![
        other([127, 18, 0, 200], Other::Antminer).await,
        other([127, 18, 0, 201], Other::Http).await,
        other([127, 18, 0, 202], Other::Silent).await,
        other([127, 18, 0, 203], Other::Garbage).await,
    ];
    World { fleets, others }
}

fn options() -> ScanOptions {
    ScanOptions {
        timeout: Duration::from_millis(700),
        ..ScanOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_fleet_is_discovered_exactly() {
    let world = world().await;
    let range: ScanRange = "127.18.0.0/24".parse().expect("range");
    let progress = Progress::default();
    let report = scan::scan(&[range], &options(), &progress).await;

    assert_eq!(report.addresses, 254);
    assert_eq!(progress.done(), 254);
    let miners = world.miners();
    assert_eq!(miners.len(), 12);
    let found: BTreeMap<SocketAddr, _> = report.found.iter().map(|f| (f.target, f)).collect();
    let expected: BTreeSet<SocketAddr> = miners.iter().map(|m| m.addr).collect();
    assert_eq!(
        found.keys().copied().collect::<BTreeSet<_>>(),
        expected,
        "every miner, no false positive"
    );
    let v3_addrs: BTreeSet<SocketAddr> = world
        .fleets
        .iter()
        .flat_map(|f| {
            f.miners()
                .iter()
                .filter(|m| m.v3_addr().is_some())
                .map(|m| m.addr())
        })
        .collect();
    assert_eq!(v3_addrs.len(), 3);
    for m in &miners {
        let f = found[&m.addr];
        let want_api = if v3_addrs.contains(&m.addr) {
            Api::V3
        } else {
            Api::V2
        };
        assert_eq!(f.api, want_api, "{}", m.addr);
        assert!(f.v2, "{} answers v2 on 4028", m.addr);
        assert_eq!(f.v3, want_api == Api::V3, "{}", m.addr);
        assert_eq!(
            f.identity.mac.as_deref(),
            Some(m.mac.as_str()),
            "{}",
            m.addr
        );
        assert_eq!(f.name(), Some(m.mac.to_ascii_lowercase()));
        // 2020 firmware has no get_miner_info: no host name to tell.
        let cgminer_492 = m.addr == SocketAddr::from(([127, 18, 0, 60], 4028));
        let hostname = (!cgminer_492).then_some(m.hostname.as_str());
        assert_eq!(f.identity.hostname.as_deref(), hostname, "{}", m.addr);
        assert_eq!(
            f.identity.firmware.as_deref(),
            Some(m.firmware_version),
            "{}",
            m.addr
        );
        let model = f.identity.model.as_deref().unwrap_or_default();
        assert!(model.starts_with('M'), "{}: model {model:?}", m.addr);
    }
    let skipped: BTreeMap<IpAddr, &str> = report
        .skipped
        .iter()
        .map(|s| (s.addr.ip(), s.reason.as_str()))
        .collect();
    let ip = |last: u8| IpAddr::from([127, 18, 0, last]);
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    assert!(skipped[&ip(200)].contains("Antminer S9"), "{skipped:?}");
    assert!(skipped[&ip(201)].contains("HTTP"), "{skipped:?}");
    assert!(skipped[&ip(202)].contains("no reply"), "{skipped:?}");
    assert!(skipped[&ip(203)].contains("not JSON"), "{skipped:?}");
    assert_eq!(report.answering, 16);

    // Read-only commands only: no miner saw a token request or a write.
    for fleet in &world.fleets {
        for m in fleet.miners() {
            let commands = m.command_counts();
            assert!(
                commands.keys().all(|c| [
                    "get_version",
                    "devdetails",
                    "get_miner_info",
                    "summary",
                    "get.device.info"
                ]
                .contains(&c.as_str())),
                "{commands:?}"
            );
        }
    }
    world.stop().await;
}

fn run(args: &[&str]) -> support::ToolRun {
    support::run_tool(Path::new(BIN), args, b"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_output_reads_back_through_the_config_loader() {
    let world = World {
        fleets: vec![support::fleet_at([127, 18, 1, 20], 4, 184, &[(2, Persona::V3)]).await],
        others: vec![other([127, 18, 1, 99], Other::Antminer).await],
    };
    let miners = world.miners();
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("miners.json");
    let toml_out = dir.path().join("found.toml");
    let plain = dir.path().join("miners.txt");
    let range = "127.18.1.1-127.18.1.120";
    let (json_s, toml_s, plain_s) = (
        json.to_string_lossy().to_string(),
        toml_out.to_string_lossy().to_string(),
        plain.to_string_lossy().to_string(),
    );
    for (out, format) in [(&json_s, None), (&toml_s, None), (&plain_s, Some("plain"))] {
        let mut args = vec![
            "discover",
            range,
            "--timeout",
            "700ms",
            "--out",
            out.as_str(),
        ];
        if let Some(f) = format {
            args.extend(["--format", f]);
        }
        let done = tokio::task::spawn_blocking({
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            move || run(&args.iter().map(String::as_str).collect::<Vec<_>>())
        })
        .await
        .expect("discover ran");
        assert!(done.success, "{args:?}: {}", done.stderr);
        assert!(
            done.stderr.contains(
                "120 addresses, 5 answering, 4 Whatsminers found, 1 other devices skipped"
            ),
            "{}",
            done.stderr
        );
        assert!(done.stderr.contains("Antminer S9"), "{}", done.stderr);
    }
    let want: BTreeSet<(String, Option<String>, String)> = miners
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let api = if i == 2 { ApiChoice::V3 } else { ApiChoice::V2 };
            (
                m.addr.to_string(),
                Some(m.mac.to_ascii_lowercase()),
                format!("{api:?}"),
            )
        })
        .collect();
    let loaded = |text: String| {
        let config = whatsminer_exporter::config::from_str(&text, &dir.path().join("c.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        config
            .miners
            .iter()
            .map(|m| {
                (
                    m.addr.to_string(),
                    m.name.clone(),
                    format!("{:?}", m.protocol),
                )
            })
            .collect::<BTreeSet<_>>()
    };
    // file_sd through [[miner_files]]: names and protocols kept, the
    // descriptive labels not turned into extra labels.
    let from_json = loaded(format!("[[miner_files]]\npath = {json_s:?}\n"));
    assert_eq!(from_json, want);
    let config = whatsminer_exporter::config::from_str(
        &format!("[[miner_files]]\npath = {json_s:?}\n"),
        &dir.path().join("c.toml"),
    )
    .expect("file_sd loads");
    assert!(config.miners.iter().all(|m| m.labels.is_empty()));
    // toml as the configuration itself.
    let toml_text = std::fs::read_to_string(&toml_out).expect("toml written");
    assert_eq!(loaded(toml_text), want);
    // plain: addresses only.
    let from_plain = loaded(format!(
        "[[miner_files]]\npath = {plain_s:?}\nformat = \"plain\"\n"
    ));
    let addrs = |s: &BTreeSet<(String, Option<String>, String)>| {
        s.iter().map(|t| t.0.clone()).collect::<BTreeSet<_>>()
    };
    assert_eq!(addrs(&from_plain), addrs(&want));

    // An empty scan never replaces a target list.
    let before = std::fs::read(&json).expect("json");
    let empty = tokio::task::spawn_blocking({
        let json_s = json_s.clone();
        move || {
            run(&[
                "discover",
                "127.18.1.200-210",
                "--timeout",
                "300ms",
                "--out",
                &json_s,
            ])
        }
    })
    .await
    .expect("ran");
    assert_eq!(empty.code, Some(3), "{}", empty.stderr);
    assert_eq!(std::fs::read(&json).expect("json"), before);
    world.stop().await;
}

#[test]
fn a_range_over_the_limit_is_refused_without_the_flag() {
    for args in [
        vec!["discover", "127.18.0.0/19"],
        vec!["discover", "127.18.0.0/20", "127.19.0.0/24"],
        vec!["discover", "127.18.0.0/24", "--max-range-prefix", "25"],
        vec![
            "discover",
            "127.0.0.0/8",
            "127.0.0.0/8",
            "--allow-large-range",
        ],
    ] {
        let out = run(&args);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("addresses to scan"), "{}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    for bad in ["miner.farm", "10.0.0.300", "127.18.0.9-3"] {
        let out = run(&["discover", bad]);
        assert_eq!(out.code, Some(2), "{bad}: {}", out.stderr);
        assert!(out.stderr.contains("range"), "{}", out.stderr);
    }
}
