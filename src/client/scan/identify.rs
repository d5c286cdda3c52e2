//! What answers on one address and port, through read-only commands only.
//!
//! **API v2** (any port but 4433). A device is a Whatsminer when one of
//! these holds, each seen on real firmware (`tests/fixtures/v2/README.md`):
//! - `get_version` succeeds with `fw_ver` or `api_ver` in its `Msg`: a
//!   btminer command that cgminer and bmminer do not have;
//! - `devdetails` names the driver `bitmicro` (MicroBT's; pyasic's rule);
//! - a `STATUS` `Description` names `btminer` or `whatsminer`.
//!
//! Anything else that answers is reported and skipped with a reason: a
//! cgminer-style JSON reply (an Antminer's bmminer, read once more with
//! `version` for its `Type`), an HTTP server, bytes that are not JSON, or a
//! port that accepts and never answers. A Whatsminer is then asked
//! `get_miner_info` for its MAC and host name (`summary`'s `MAC` and
//! `Firmware Version` on 2020 firmware, which lacks that command). Nothing else is ever sent.
//!
//! **API v3** (port 4433): one `get.device.info`; any framed v3 reply, even
//! a refusal, is a Whatsminer (as in [`super::super::detect`]).

use std::net::SocketAddr;

use serde_json::{Map, Value};

use super::pace::Pacer;
use crate::client::types::{DevDetails, FromReply, MinerInfo, Version};
use crate::client::v3::{convert, V3Client};
use crate::client::Client;
use crate::error::ErrorKind;
use crate::protocol::reply;
use crate::transport::MinerAddr;

/// What one port said.
#[derive(Debug, Clone, PartialEq)]
pub enum PortOutcome {
    /// Nothing listens (refused, or no connect within the timeout).
    Silent,
    /// A Whatsminer, with what it told about itself.
    Whatsminer(Identity),
    /// Something else answered: why it is not taken for a Whatsminer.
    Other(String),
}

/// What a Whatsminer told about itself; `None` where it did not say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub model: Option<String>,
    pub firmware: Option<String>,
    /// As the miner writes it, upper-cased (`C8:08:18:00:15:EF`).
    pub mac: Option<String>,
    pub hostname: Option<String>,
}

impl Identity {
    /// Fills what `self` lacks from `other`.
    pub fn merge(&mut self, other: &Identity) {
        let fill = |a: &mut Option<String>, b: &Option<String>| {
            if a.is_none() {
                a.clone_from(b);
            }
        };
        fill(&mut self.model, &other.model);
        fill(&mut self.firmware, &other.firmware);
        fill(&mut self.mac, &other.mac);
        fill(&mut self.hostname, &other.hostname);
    }
}

/// Probes `addr` as API v2.
pub async fn probe_v2(client: &Client, pacer: &Pacer, addr: SocketAddr) -> PortOutcome {
    let miner = MinerAddr::from_socket_addr(addr);
    pacer.wait().await;
    let bytes = match client.raw(&miner, "get_version", &Map::new()).await {
        Ok(bytes) => bytes,
        Err(e) => return not_answering(&e.kind),
    };
    let Some(value) = as_cgminer_json(&bytes) else {
        return PortOutcome::Other(describe_non_json(&bytes));
    };
    let mut whatsminer = names_whatsminer(&value);
    let mut id = Identity::default();
    if let Ok(version) = Version::from_reply(&bytes) {
        if version.fw_ver.is_some() || version.api_ver.is_some() {
            whatsminer = true;
        }
        id.firmware = version.fw_ver.filter(|s| !s.is_empty());
        id.model = version.miner_type.filter(|s| !s.is_empty());
    }
    if !whatsminer || id.model.is_none() {
        pacer.wait().await;
        if let Ok(bytes) = client.raw(&miner, "devdetails", &Map::new()).await {
            if let Some(value) = as_cgminer_json(&bytes) {
                whatsminer |= names_whatsminer(&value);
            }
            if let Ok(details) = DevDetails::from_reply(&bytes) {
                let bitmicro = details.0.iter().any(|d| {
                    d.driver
                        .as_deref()
                        .is_some_and(|drv| drv.eq_ignore_ascii_case("bitmicro"))
                });
                whatsminer |= bitmicro;
                if bitmicro && id.model.is_none() {
                    id.model = details.0.iter().find_map(|d| d.model.clone());
                }
            }
        }
    }
    if !whatsminer {
        pacer.wait().await;
        let kind = match client.raw(&miner, "version", &Map::new()).await {
            Ok(bytes) => as_cgminer_json(&bytes).and_then(|v| device_type(&v)),
            Err(_) => None,
        }
        .or_else(|| description(&value));
        return PortOutcome::Other(match kind {
            Some(kind) => format!("cgminer-style API, not a Whatsminer ({kind})"),
            None => "cgminer-style API, not a Whatsminer".into(),
        });
    }
    pacer.wait().await;
    if let Ok(info) = client.get_miner_info(&miner).await {
        apply_miner_info(&mut id, &info);
    }
    if id.mac.is_none() || id.firmware.is_none() {
        // 2020 firmware (cgminer 4.9.2) has neither get_miner_info nor
        // get_version; its summary carries `MAC` and `Firmware Version`
        // (the M30S 20200512 and M20S 20200917 captures).
        pacer.wait().await;
        if let Ok(summary) = client.summary(&miner).await {
            if id.mac.is_none() {
                id.mac = normalize_mac(summary.mac.as_deref());
            }
            if id.firmware.is_none() {
                id.firmware = summary.firmware_version.filter(|f| !f.is_empty());
            }
        }
    }
    PortOutcome::Whatsminer(id)
}

/// Probes `addr` as API v3.
pub async fn probe_v3(client: &Client, pacer: &Pacer, addr: SocketAddr) -> PortOutcome {
    let miner = MinerAddr::from_socket_addr(addr);
    pacer.wait().await;
    match V3Client::new(*client.config())
        .device_info(&miner, None)
        .await
    {
        Ok(info) => {
            let mut id = Identity {
                firmware: convert::version(&info).and_then(|v| v.fw_ver),
                model: convert::devdetails(&info)
                    .and_then(|d| d.0.into_iter().find_map(|d| d.model)),
                ..Identity::default()
            };
            if let Some(net) = convert::miner_info(&info) {
                apply_miner_info(&mut id, &net);
            }
            PortOutcome::Whatsminer(id)
        }
        Err(e) if crate::client::detect::is_v3_answer(&e.kind) => {
            PortOutcome::Whatsminer(Identity::default())
        }
        Err(e) => match not_answering(&e.kind) {
            PortOutcome::Other(_) => {
                PortOutcome::Other(format!("not API v3 ({})", e.kind.reason()))
            }
            silent => silent,
        },
    }
}

fn apply_miner_info(id: &mut Identity, info: &MinerInfo) {
    id.mac = normalize_mac(info.mac.as_deref());
    id.hostname = info.hostname.clone().filter(|h| !h.trim().is_empty());
}

/// A MAC as six hex pairs joined by `:` or `-`, upper-cased with `:`; any
/// other text is dropped (the miner is then named by its address), since it
/// becomes the `miner` label and a device on the network chose it.
fn normalize_mac(mac: Option<&str>) -> Option<String> {
    let mac = mac?.trim();
    let pairs: Vec<&str> = mac.split([':', '-']).collect();
    let well_formed = mac.len() == 17
        && pairs.len() == 6
        && pairs
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    well_formed.then(|| pairs.join(":").to_ascii_uppercase())
}

/// A failed first exchange: nothing there, or something that accepts and
/// does not answer a v2 read.
fn not_answering(kind: &ErrorKind) -> PortOutcome {
    match kind {
        // `Io` only comes from the connect on such short exchanges: no
        // route to the host, network unreachable. Nothing answered.
        ErrorKind::ConnectRefused
        | ErrorKind::ConnectTimeout
        | ErrorKind::InvalidAddress(_)
        | ErrorKind::Io(_) => PortOutcome::Silent,
        ErrorKind::Timeout => PortOutcome::Other("accepts connections, no reply".into()),
        other => PortOutcome::Other(format!("no usable reply ({})", other.reason())),
    }
}

/// The reply as JSON with a cgminer-style `STATUS`, if it is one.
fn as_cgminer_json(bytes: &[u8]) -> Option<Value> {
    let value = reply::parse_json(bytes).ok()?;
    value.get("STATUS").is_some().then_some(value)
}

fn describe_non_json(bytes: &[u8]) -> String {
    if bytes.starts_with(b"HTTP/") {
        "an HTTP server, not a miner API".into()
    } else if reply::parse_json(bytes).is_ok() {
        "JSON without a cgminer STATUS, not a miner API".into()
    } else {
        "reply is not JSON, not a miner API".into()
    }
}

/// Whether any `STATUS` `Description` names btminer or whatsminer.
fn names_whatsminer(value: &Value) -> bool {
    description(value).is_some_and(|d| {
        let d = d.to_ascii_lowercase();
        d.contains("btminer") || d.contains("whatsminer")
    })
}

/// The `Description` of the reply's `STATUS` (object or first of a list).
fn description(value: &Value) -> Option<String> {
    let status = value.get("STATUS")?;
    let status = status.as_array().and_then(|l| l.first()).unwrap_or(status);
    short_text(status.get("Description")?)
}

/// `VERSION[0].Type` of a cgminer `version` reply (`Antminer S9`).
fn device_type(value: &Value) -> Option<String> {
    let first = value.get("VERSION")?.as_array()?.first()?;
    short_text(first.get("Type")?)
}

/// A device's own text, trimmed and cut to 64 characters (it ends up in
/// the scan's report and log); `None` if empty or not a string.
fn short_text(value: &Value) -> Option<String> {
    let text: String = value.as_str()?.trim().chars().take(64).collect();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::normalize_mac;

    #[test]
    fn only_a_well_formed_mac_names_a_miner() {
        assert_eq!(
            normalize_mac(Some(" c4:07:28:00:a4:19 ")).as_deref(),
            Some("C4:07:28:00:A4:19")
        );
        assert_eq!(
            normalize_mac(Some("C4-07-28-00-A4-19")).as_deref(),
            Some("C4:07:28:00:A4:19")
        );
        let long = "AA:".repeat(10_000);
        for bad in [
            "",
            "C4:07:28:00:A4",
            "C4:07:28:00:A4:1G",
            "a\nb",
            "C4:07:28:00:A4:19:00",
            long.as_str(),
        ] {
            assert_eq!(normalize_mac(Some(bad)), None, "{bad:.40}");
        }
        assert_eq!(normalize_mac(None), None);
    }
}
