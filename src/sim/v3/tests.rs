//! End-to-end tests of the simulated v3 API over loopback TCP, with a raw
//! framed client and the simulator's own auth (never the client's).

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::auth::WriteKey;
use crate::secret::Secret;
use crate::sim::fault::Fault;
use crate::sim::fleet::{Fleet, FleetConfig};
use crate::sim::tests::{ask as ask_v2, QUICK};
use crate::transport::v3::{decode_frame, encode_frame};

async fn fleet(n: usize, v3: &[usize]) -> Fleet {
    let mut cfg = FleetConfig::loopback_ephemeral(n);
    cfg.v3_miners = v3.to_vec();
    Fleet::start(cfg).await.expect("fleet starts")
}

/// Sends each request as a frame on one connection; the reply payloads.
async fn exchange(addr: SocketAddr, requests: &[Value]) -> Vec<Value> {
    let mut stream = timeout(QUICK, TcpStream::connect(addr))
        .await
        .expect("in time")
        .expect("connects");
    let mut replies = Vec::new();
    let mut buf = Vec::new();
    for request in requests {
        stream
            .write_all(&encode_frame(request.to_string().as_bytes()))
            .await
            .expect("writes");
        let payload = loop {
            if let Some((range, used)) = decode_frame(&buf, 1 << 20).expect("frame") {
                let payload = buf[range].to_vec();
                buf.drain(..used);
                if !payload.is_empty() {
                    break payload;
                }
                continue;
            }
            let mut chunk = [0u8; 4096];
            let n = timeout(QUICK, stream.read(&mut chunk))
                .await
                .expect("in time")
                .expect("reads");
            assert!(n > 0, "closed before a reply");
            buf.extend_from_slice(&chunk[..n]);
        };
        replies.push(serde_json::from_slice(&payload).expect("reply is JSON"));
    }
    replies
}

async fn ask(addr: SocketAddr, request: Value) -> Value {
    exchange(addr, &[request]).await.remove(0)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A signed write with the simulator's own auth; `param` sealed for the
/// commands that need it.
fn signed(cmd: &str, param: Option<Value>, password: &str, salt: &str) -> Value {
    let ts = unix_now();
    let key = WriteKey::derive(cmd, &Secret::new(password), salt, ts);
    let mut req = json!({"cmd": cmd, "ts": ts, "account": "super", "token": key.token().expose()});
    if let Some(p) = param {
        let wire = if cmd == "set.miner.pools" {
            json!(key.seal(p.to_string().as_bytes()))
        } else {
            p
        };
        req["param"] = wire;
    }
    req
}

async fn salt(addr: SocketAddr) -> String {
    let r = ask(addr, json!({"cmd":"get.device.info","param":"salt"})).await;
    r["msg"]["salt"].as_str().expect("salt").to_owned()
}

#[tokio::test]
async fn v3_miners_serve_device_info_status_and_settings_on_one_connection() {
    let fleet = fleet(2, &[1]).await;
    let v2_only = fleet.miner(0).expect("miner 0");
    assert_eq!(v2_only.v3_addr(), None);
    let miner = fleet.miner(1).expect("miner 1");
    let addr = miner.v3_addr().expect("a v3 listener");
    assert_ne!(addr, miner.addr());
    let replies = exchange(
        addr,
        &[
            json!({"cmd":"get.device.info"}),
            json!({"cmd":"get.miner.status","param":"summary+pools+edevs"}),
            json!({"cmd":"get.miner.setting"}),
            json!({"cmd":"get.device.info","param":"system"}),
        ],
    )
    .await;
    let info = &replies[0];
    assert_eq!(
        (info["code"].as_i64(), info["desc"].as_str()),
        (Some(0), Some("get.device.info"))
    );
    assert_eq!(info["msg"]["system"]["api"], super::API_VERSION);
    assert_eq!(info["msg"]["system"]["fwversion"], super::FIRMWARE.version);
    assert_eq!(info["msg"]["miner"]["working"], "true");
    assert_eq!(info["msg"]["salt"].as_str().map(str::len), Some(8));
    let status = &replies[1]["msg"];
    let snap = miner.readings();
    let ths = status["summary"]["hash-average"]
        .as_f64()
        .expect("a number");
    assert!(
        (ths * 1e6 - snap.hashrate_mhs).abs() < snap.hashrate_mhs * 0.01,
        "TH/s"
    );
    assert_eq!(status["pools"].as_array().map(Vec::len), Some(3));
    assert_eq!(status["edevs"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        status["summary"]["board-temperature"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(replies[2]["msg"]["power-mode"], "normal");
    assert!(replies[3]["msg"].get("miner").is_none(), "one section only");
    assert_eq!(miner.command_count("get.device.info"), 2);
    assert_eq!(miner.command_count("get.miner.status"), 1);
    fleet.shutdown().await;
}

#[tokio::test]
async fn the_v2_side_of_a_v3_miner_is_the_wrapped_form() {
    let fleet = fleet(1, &[0]).await;
    let addr = fleet.miner(0).expect("miner").addr();
    let summary = ask_v2(addr, r#"{"cmd":"summary"}"#).await;
    assert_eq!(summary["STATUS"], "S");
    assert!(summary["Msg"]["MHS av"].is_number());
    assert!(summary["Msg"].get("MHS 5s").is_none());
    let version = ask_v2(addr, r#"{"cmd":"get_version"}"#).await;
    assert_eq!(version["Msg"]["fw_ver"], super::FIRMWARE.version);
    fleet.shutdown().await;
}

#[tokio::test]
async fn service_stop_and_start_change_the_shared_state() {
    let fleet = fleet(1, &[0]).await;
    let miner = fleet.miner(0).expect("miner");
    let addr = miner.v3_addr().expect("v3");
    let salt = salt(addr).await;
    let r = ask(
        addr,
        signed("set.miner.service", Some(json!("stop")), "admin", &salt),
    )
    .await;
    assert_eq!(
        (r["code"].as_i64(), r["msg"].as_str()),
        (Some(0), Some("ok")),
        "{r}"
    );
    assert!(!miner.powered_on());
    let v2_status = ask_v2(miner.addr(), r#"{"cmd":"status"}"#).await;
    assert_eq!(
        v2_status["Msg"]["btmineroff"], "true",
        "one state for both APIs"
    );
    // Stopped: pools alone are refused, joined status leaves them out.
    let pools = ask(addr, json!({"cmd":"get.miner.status","param":"pools"})).await;
    assert_eq!(pools["code"], -1);
    let joined = ask(
        addr,
        json!({"cmd":"get.miner.status","param":"summary+pools"}),
    )
    .await;
    assert!(joined["msg"].get("pools").is_none() && joined["msg"]["summary"].is_object());
    let r = ask(
        addr,
        signed("set.miner.service", Some(json!("start")), "admin", &salt),
    )
    .await;
    assert_eq!(r["code"], 0);
    assert!(miner.powered_on());
    assert_eq!(miner.command_count("set.miner.service"), 2);
    fleet.shutdown().await;
}

#[tokio::test]
async fn encrypted_pools_and_settings_apply() {
    let fleet = fleet(1, &[0]).await;
    let miner = fleet.miner(0).expect("miner");
    let addr = miner.v3_addr().expect("v3");
    let salt = salt(addr).await;
    let pools = json!([{"pool":"stratum+tcp://new:3333","worker":"w.9","passwd":"p"}]);
    let r = ask(addr, signed("set.miner.pools", Some(pools), "admin", &salt)).await;
    assert_eq!(r["code"], 0, "{r}");
    let urls: Vec<String> = miner
        .readings()
        .pools
        .iter()
        .map(|p| p.url.clone())
        .collect();
    assert_eq!(urls, ["stratum+tcp://new:3333"]);
    let r = ask(
        addr,
        signed("set.miner.power_mode", Some(json!("low")), "admin", &salt),
    )
    .await;
    assert_eq!(r["code"], 0);
    let r = ask(
        addr,
        signed("set.miner.power_limit", Some(json!(2500)), "admin", &salt),
    )
    .await;
    assert_eq!(r["code"], 0);
    let r = ask(
        addr,
        signed("set.system.led", Some(json!("auto")), "admin", &salt),
    )
    .await;
    assert_eq!(r["code"], 0);
    let snap = miner.readings();
    assert_eq!((snap.power_mode.name(), snap.power_limit_w), ("Low", 2500));
    let bad = ask(
        addr,
        signed("set.miner.power_mode", Some(json!("turbo")), "admin", &salt),
    )
    .await;
    assert_eq!(bad["code"], -1);
    fleet.shutdown().await;
}

#[tokio::test]
async fn bad_credentials_are_refused_with_no_permission() {
    let fleet = fleet(1, &[0]).await;
    let miner = fleet.miner(0).expect("miner");
    let addr = miner.v3_addr().expect("v3");
    let salt = salt(addr).await;
    let stop = || Some(json!("stop"));
    for request in [
        signed("set.miner.service", stop(), "wrong", &salt),
        signed("set.miner.service", stop(), "admin", "NotSalt1"),
        {
            let mut r = signed("set.miner.service", stop(), "admin", &salt);
            r["account"] = json!("user1");
            r
        },
        {
            // A token for another command does not carry over.
            let mut r = signed("set.system.reboot", None, "admin", &salt);
            r["cmd"] = json!("set.miner.service");
            r["param"] = json!("stop");
            r
        },
    ] {
        let r = ask(addr, request).await;
        assert_eq!(
            (r["code"].as_i64(), r["msg"].as_str()),
            (Some(-4), Some("no permission"))
        );
    }
    miner.rotate_v3_salt();
    let stale = ask(addr, signed("set.miner.service", stop(), "admin", &salt)).await;
    assert_eq!(stale["code"], -4, "the old salt no longer signs");
    let fresh = self::salt(addr).await;
    assert_ne!(fresh, salt);
    miner.set_fault(Some(Fault::WriteDisabled));
    let off = ask(addr, signed("set.miner.service", stop(), "admin", &fresh)).await;
    assert_eq!(off["code"], -4);
    let system = ask(addr, json!({"cmd":"get.device.info","param":"system"})).await;
    assert_eq!(system["msg"]["system"]["apiswitch"], "0");
    miner.set_fault(None);
    let no_ts = ask(
        addr,
        json!({"cmd":"set.miner.service","param":"stop","account":"super","token":"x"}),
    )
    .await;
    assert_eq!(no_ts["code"], -3);
    assert!(miner.powered_on(), "no refused write acted");
    let unknown = ask(addr, json!({"cmd":"get.coffee"})).await;
    assert_eq!(unknown["code"], -2);
    assert_eq!(
        ask(addr, json!({"cmd":"get.miner.status"})).await["code"],
        -3
    );
    assert_eq!(
        ask(
            addr,
            json!({"cmd":"get.miner.status","param":"summary+fans"})
        )
        .await["code"],
        -2
    );
    fleet.shutdown().await;
}

#[tokio::test]
async fn garbage_and_faults_on_the_v3_listener() {
    let fleet = fleet(1, &[0]).await;
    let miner = fleet.miner(0).expect("miner");
    let addr = miner.v3_addr().expect("v3");
    // Not JSON inside a valid frame.
    let mut s = TcpStream::connect(addr).await.expect("connects");
    s.write_all(&encode_frame(b"not json"))
        .await
        .expect("writes");
    let mut header = [0u8; 4];
    timeout(QUICK, s.read_exact(&mut header))
        .await
        .expect("in time")
        .expect("reads");
    let mut body = vec![0u8; u32::from_le_bytes(header) as usize];
    s.read_exact(&mut body).await.expect("body");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).expect("JSON")["code"],
        -1
    );
    // An absurd length header closes the connection.
    let mut s = TcpStream::connect(addr).await.expect("connects");
    s.write_all(&u32::MAX.to_le_bytes()).await.expect("writes");
    let mut rest = Vec::new();
    let closed = timeout(QUICK, s.read_to_end(&mut rest))
        .await
        .expect("closed in time");
    assert!(closed.is_err() || rest.is_empty());
    // ApiDisabled closes both listeners.
    miner.set_fault(Some(Fault::ApiDisabled));
    let mut refused = false;
    for _ in 0..50 {
        if TcpStream::connect(addr).await.is_err()
            && TcpStream::connect(miner.addr()).await.is_err()
        {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refused, "both listeners closed");
    miner.set_fault(None);
    let mut back = false;
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_ok() {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(back, "the v3 listener binds again");
    fleet.shutdown().await;
}

#[test]
fn v3_addresses_follow_the_bind_mode() {
    use crate::sim::fleet::{plan_addresses, plan_v3_addresses, Bind};
    use std::net::{IpAddr, Ipv4Addr};
    let range = Bind::LoopbackRange {
        base: Ipv4Addr::new(127, 1, 0, 1),
        port: 4028,
    };
    let v2 = plan_addresses(&range, 2).expect("plan");
    let v3 = plan_v3_addresses(&range, 4433, &v2).expect("plan");
    let shown: Vec<String> = v3.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["127.1.0.1:4433", "127.1.0.2:4433"]);
    let ports = Bind::Ports {
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        first_port: 14028,
    };
    let v2 = plan_addresses(&ports, 2).expect("plan");
    let v3 = plan_v3_addresses(&ports, 14433, &v2).expect("plan");
    assert_eq!((v3[0].port(), v3[1].port()), (14433, 14434));
    let ephemeral = plan_v3_addresses(&ports, 0, &v2).expect("plan");
    assert!(ephemeral.iter().all(|a| a.port() == 0));
    assert!(
        plan_v3_addresses(&ports, 65_535, &v2).is_err(),
        "65536 does not fit"
    );
}
