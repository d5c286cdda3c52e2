//! The writeable-command flow over TCP, with the simulator's own crypto
//! playing the client.

use std::time::Duration;

use serde_json::json;

use super::{ask, fleet, raw, write};
use crate::client::types::{FromReply, Summary};
use crate::secret::Secret;
use crate::sim::testkit::{open_reply, seal};
use crate::sim::Fault;

#[tokio::test]
async fn power_off_then_on_changes_what_the_miner_reports() {
    let fleet = fleet(1, None).await;
    let miner = fleet.miner(0).expect("miner");
    let addr = miner.addr();

    let reply = write(
        addr,
        "admin",
        json!({"cmd":"power_off","respbefore":"true"}),
    )
    .await;
    assert_eq!(
        (reply["STATUS"].as_str(), reply["Code"].as_i64()),
        (Some("S"), Some(131))
    );
    assert!(!miner.powered_on());
    let status = ask(addr, r#"{"cmd":"status"}"#).await;
    assert_eq!(status["Msg"]["btmineroff"], "true");
    let devs = ask(addr, r#"{"cmd":"devs"}"#).await;
    assert!(devs["DEVS"]
        .as_array()
        .expect("list")
        .iter()
        .all(|b| b["Status"] != "Alive"));
    let snap = miner.readings();
    assert_eq!(snap.hashrate_5s_mhs, 0.0);
    assert!(snap.power_w < 50.0);

    write(addr, "admin", json!({"cmd":"power_on"})).await;
    assert!(miner.powered_on());
    miner.advance_clock(Duration::from_secs(120));
    assert!(
        miner.readings().hashrate_5s_mhs > 1e7,
        "hashing again after the ramp"
    );
    assert_eq!(miner.command_count("get_token"), 2);
    assert_eq!(miner.command_count("power_off"), 1);
    assert_eq!(miner.command_count("power_on"), 1);
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_token_is_reusable_until_it_expires() {
    let fleet = fleet(1, None).await;
    let miner = fleet.miner(0).expect("miner");
    let addr = miner.addr();
    let grant = ask(addr, r#"{"cmd":"get_token"}"#).await;
    for cmd in ["set_low_power", "set_high_power"] {
        let (envelope, key) = seal("admin", &grant, json!({ "cmd": cmd }));
        let reply = raw(addr, envelope.as_bytes()).await.expect("reply");
        let reply_text = String::from_utf8_lossy(&reply);
        assert!(reply_text.starts_with(r#"{"enc":""#), "{reply_text}");
        assert_eq!(open_reply(&key, &reply_text)["Code"], 131);
    }
    assert_eq!(miner.readings().power_mode, crate::sim::PowerMode::High);

    // 31 minutes later the same token is refused with 135 (renew), not 23.
    miner.advance_clock(Duration::from_secs(31 * 60));
    let (envelope, key) = seal("admin", &grant, json!({"cmd":"set_low_power"}));
    let reply = raw(addr, envelope.as_bytes()).await.expect("reply");
    let plain = open_reply(&key, &String::from_utf8_lossy(&reply));
    assert_eq!(
        (plain["STATUS"].as_str(), plain["Code"].as_i64()),
        (Some("E"), Some(135))
    );

    let fresh = ask(addr, r#"{"cmd":"get_token"}"#).await;
    miner.expire_tokens();
    let (envelope, key) = seal("admin", &fresh, json!({"cmd":"set_low_power"}));
    let reply = raw(addr, envelope.as_bytes()).await.expect("reply");
    assert_eq!(
        open_reply(&key, &String::from_utf8_lossy(&reply))["Code"],
        135
    );
    assert_eq!(miner.readings().power_mode, crate::sim::PowerMode::High);
    fleet.shutdown().await;
}

#[tokio::test]
async fn pools_limit_and_password_changes_show_in_replies() {
    let fleet = fleet(1, None).await;
    let miner = fleet.miner(0).expect("miner");
    let addr = miner.addr();
    let pools = json!({"cmd":"update_pools","pool1":"stratum+tcp://new.sim.invalid:3333",
        "worker1":"acct.rig7","passwd1":"x","pool2":"","worker2":"","passwd2":"",
        "pool3":"","worker3":"","passwd3":""});
    assert_eq!(write(addr, "admin", pools).await["Code"], 131);
    let reply = ask(addr, r#"{"cmd":"pools"}"#).await;
    let list = reply["POOLS"].as_array().expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["URL"], "stratum+tcp://new.sim.invalid:3333");
    assert_eq!(list[0]["User"], "acct.rig7");

    let limit = json!({"cmd":"adjust_power_limit","power_limit":"2800"});
    assert_eq!(write(addr, "admin", limit).await["Code"], 131);
    let status = ask(addr, r#"{"cmd":"status"}"#).await;
    assert_eq!(status["Msg"]["power_limit_set"], "2800");
    assert!(miner.readings().power_w <= 2800.0);

    let led = json!({"cmd":"set_led","color":"red","period":60,"duration":20,"start":0});
    assert_eq!(write(addr, "admin", led).await["Code"], 131);
    let info = ask(addr, r#"{"cmd":"get_miner_info","info":"ledstat"}"#).await;
    assert_eq!(info["Msg"]["ledstat"], "manual");

    let pwd = json!({"cmd":"update_pwd","old":"admin","new":"S3cond"});
    assert_eq!(write(addr, "admin", pwd).await["Code"], 131);
    assert!(miner.password_is(&Secret::new("S3cond")));
    let refused = write(addr, "admin", json!({"cmd":"reboot"})).await;
    assert_eq!(
        (refused["Code"].as_i64(), refused["Msg"].as_str()),
        (Some(23), Some("enc json load err"))
    );
    let uptime_before = miner.readings().uptime_secs;
    assert_eq!(
        write(addr, "S3cond", json!({"cmd":"reboot"})).await["Code"],
        131
    );
    assert!(miner.readings().uptime_secs < uptime_before.min(60));
    fleet.shutdown().await;
}

#[tokio::test]
async fn write_faults_refuse_or_break_the_reply() {
    let fleet = fleet(1, None).await;
    let miner = fleet.miner(0).expect("miner");
    let addr = miner.addr();

    miner.set_fault(Some(Fault::WriteDisabled));
    let reply = write(addr, "admin", json!({"cmd":"power_off"})).await;
    assert_eq!(reply["STATUS"], "E");
    assert_eq!(reply["Msg"], "can't access write cmd");

    miner.set_fault(Some(Fault::WrongPassword));
    let reply = write(addr, "admin", json!({"cmd":"power_off"})).await;
    assert_eq!(
        (reply["Code"].as_i64(), reply["Msg"].as_str()),
        (Some(23), Some("enc json load err"))
    );

    for fault in [Fault::GarbledEncrypted, Fault::WrongKeyEncrypted] {
        miner.set_fault(Some(fault.clone()));
        for _ in 0..2 {
            let grant = ask(addr, r#"{"cmd":"get_token"}"#).await;
            let (envelope, key) = seal("admin", &grant, json!({"cmd":"set_normal_power"}));
            let reply = raw(addr, envelope.as_bytes()).await.expect("reply");
            let outer: serde_json::Value = serde_json::from_slice(&reply).expect("outer JSON");
            let data = outer["enc"].as_str().expect("enc");
            let opened = crate::sim::crypto::decrypt_from_base64(&key, data)
                .ok()
                .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok());
            assert!(opened.is_none(), "{fault:?} gave a readable reply");
        }
    }
    assert!(miner.powered_on(), "refused writes must not act");
    assert_eq!(
        miner.command_count("power_off"),
        1,
        "the undecryptable one is not named"
    );
    assert_eq!(miner.command_count("enc_undecryptable"), 1);
    fleet.shutdown().await;
}

/// A reboot takes the API away for `reboot_offline` of the miner's own time,
/// as a real control board does; moving its clock on brings it back.
#[tokio::test]
async fn a_rebooting_miner_refuses_connections_until_it_is_back() {
    let mut cfg = crate::sim::FleetConfig::loopback_ephemeral(2);
    cfg.limits.reboot_offline = Duration::from_secs(3600);
    let fleet = crate::sim::Fleet::start(cfg).await.expect("fleet");
    let miner = fleet.miner(0).expect("miner");
    let addr = miner.addr();
    assert_eq!(
        write(addr, "admin", json!({"cmd":"reboot"})).await["Code"],
        131
    );
    let refused = async {
        while tokio::net::TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(super::QUICK, refused)
        .await
        .expect("the API goes away while the miner reboots");
    // The other miner is not affected.
    let summary_of = |reply: &[u8]| Summary::from_reply(reply).is_ok();
    let other = fleet.miner(1).expect("miner").addr();
    assert!(summary_of(
        &raw(other, br#"{"cmd":"summary"}"#).await.expect("reply")
    ));

    miner.advance_clock(Duration::from_secs(3601));
    let back = async {
        while !raw(addr, br#"{"cmd":"summary"}"#)
            .await
            .is_ok_and(|reply| summary_of(&reply))
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(super::QUICK, back)
        .await
        .expect("the API is back once the reboot is over");
    // Uptime counts from the start of the reboot.
    let uptime = miner.readings().uptime_secs;
    assert!((3601..3700).contains(&uptime), "{uptime}");
    fleet.shutdown().await;
}
