//! A fleet of simulated miners in one process, for tests, the demo and the
//! benchmark. Each miner has its own loopback address (or port), its own
//! listener task and its own state behind a mutex; an idle miner costs a
//! parked task and a socket. Only loopback addresses are ever bound.
//!
//! Miners listed in [`FleetConfig::v3_miners`] run 2025 firmware: API v3
//! on a second listener (see [`FleetConfig::v3_port`]) and the reduced,
//! wrapped v2 on the first. [`FleetConfig::personas`] makes miners play one
//! real firmware generation each (see `super::persona`).

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::clock::SimClock;
use super::fault::Fault;
use super::handle::MinerHandle;
use super::miner::{MinerSetup, MinerState};
use super::model::{Flavour, Model};
use super::noise;
use super::persona::Persona;
use super::server::{run_listener, MinerLimits, MinerShared};
use crate::client::Api;
use crate::secret::Secret;

/// Most miners one fleet may run.
pub const MAX_MINERS: usize = 60_000;

/// Where the miners listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    /// One address per miner, counting up from `base` inside 127.0.0.0/8
    /// (host parts .0 and .255 skipped), all on `port` (0 = ephemeral).
    LoopbackRange { base: Ipv4Addr, port: u16 },
    /// One address for all, consecutive ports from `first_port`
    /// (0 = an ephemeral port each). `ip` must be a loopback address.
    Ports { ip: IpAddr, first_port: u16 },
}

/// How to build a fleet.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub miners: usize,
    pub bind: Bind,
    /// The admin password of every miner (unless a fault says otherwise).
    pub password: Secret,
    /// Seed of everything random: identities, drift, tokens.
    pub seed: u64,
    /// (miner index, fault) pairs applied at start, in order.
    pub faults: Vec<(usize, Fault)>,
    /// Models, assigned round-robin by index; empty means all models.
    pub models: Vec<Model>,
    /// Forces one reply flavour; `None` follows each miner's firmware.
    pub flavour: Option<Flavour>,
    pub limits: MinerLimits,
    /// Indices of the miners that speak API v3 (2025 firmware; their v2
    /// listener keeps answering in the wrapped form).
    pub v3_miners: Vec<usize>,
    /// Where v3 listens. `LoopbackRange`: this port on each miner's own
    /// address (4433 like the firmware; 0 = ephemeral). `Ports`: the first
    /// of consecutive ports, miner `i` on `v3_port + i` (0 = ephemeral).
    pub v3_port: u16,
    /// (miner index, persona) pairs; a later pair wins. Miners not listed
    /// keep the generic replies of their model's firmware. `v3` makes the
    /// miner speak API v3 as if listed in `v3_miners`.
    pub personas: Vec<(usize, Persona)>,
    /// (miner index, answers joined reads) pairs; a later pair wins. A
    /// miner not listed joins as its persona does by default.
    pub joins: Vec<(usize, bool)>,
}

impl FleetConfig {
    /// `n` miners on 127.0.0.1, ephemeral ports, password `admin`, seed 1.
    pub fn loopback_ephemeral(n: usize) -> Self {
        FleetConfig {
            miners: n,
            bind: Bind::Ports {
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                first_port: 0,
            },
            password: Secret::new("admin"),
            seed: 1,
            faults: Vec::new(),
            models: Vec::new(),
            flavour: None,
            limits: MinerLimits::default(),
            v3_miners: Vec::new(),
            v3_port: 0,
            personas: Vec::new(),
            joins: Vec::new(),
        }
    }
}

/// A running fleet. Dropping it stops the miners without waiting; call
/// [`Fleet::shutdown`] to wait until every task has ended.
pub struct Fleet {
    miners: Vec<MinerHandle>,
    tasks: Vec<JoinHandle<()>>,
    shutdown: watch::Sender<bool>,
}

impl Fleet {
    /// Binds every miner and starts its listener. Fails (and stops what
    /// was started) on a non-loopback address, a bad fault index, or a
    /// bind error, which names the address.
    pub async fn start(cfg: FleetConfig) -> io::Result<Fleet> {
        if cfg.miners > MAX_MINERS {
            return Err(invalid(format!("at most {MAX_MINERS} miners")));
        }
        if let Some((index, _)) = cfg.faults.iter().find(|(i, _)| *i >= cfg.miners) {
            return Err(invalid(format!(
                "fault for miner {index}, fleet of {}",
                cfg.miners
            )));
        }
        let joins_listed = cfg.joins.iter().map(|(i, _)| i);
        let listed = cfg.personas.iter().map(|(i, _)| i).chain(joins_listed);
        if let Some(index) = listed.clone().find(|i| **i >= cfg.miners) {
            return Err(invalid(format!(
                "persona or joins for miner {index}, fleet of {}",
                cfg.miners
            )));
        }
        if let Some(index) = cfg.v3_miners.iter().find(|i| **i >= cfg.miners) {
            return Err(invalid(format!(
                "v3 miner {index}, fleet of {}",
                cfg.miners
            )));
        }
        let addrs = plan_addresses(&cfg.bind, cfg.miners)?;
        let v3_addrs = plan_v3_addresses(&cfg.bind, cfg.v3_port, &addrs)?;
        let models = if cfg.models.is_empty() {
            Model::ALL.to_vec()
        } else {
            cfg.models.clone()
        };
        let epoch = Instant::now();
        let wall_epoch = SimClock::host_unix_now();
        let (shutdown, _) = watch::channel(false);
        let mut fleet = Fleet {
            miners: Vec::with_capacity(addrs.len()),
            tasks: Vec::new(),
            shutdown,
        };
        let mut listeners = Vec::with_capacity(addrs.len());
        let mut v3_listeners = Vec::new();
        for (index, addr) in addrs.into_iter().enumerate() {
            let listener = bind(index, addr).await?;
            let local = listener.local_addr()?;
            let persona = cfg
                .personas
                .iter()
                .rev()
                .find(|(i, _)| *i == index)
                .map(|(_, p)| *p);
            let speaks_v3 = cfg.v3_miners.contains(&index) || persona == Some(Persona::V3);
            let v3_listener = match v3_addrs.get(index) {
                Some(v3) if speaks_v3 => Some(bind(index, *v3).await?),
                _ => None,
            };
            let model = models
                .get(index % models.len())
                .copied()
                .unwrap_or(Model::M30S);
            let draw = noise::unit(cfg.seed, 77, index as u64);
            let mut state = MinerState::new(MinerSetup {
                index,
                model,
                firmware: model.pick_firmware(draw, cfg.flavour),
                seed: cfg.seed,
                password: cfg.password.clone(),
                ip: local.ip(),
                clock: SimClock::real(epoch, wall_epoch),
            });
            let v3_local = match &v3_listener {
                Some(l) => {
                    state.enable_v3();
                    Some(l.local_addr()?)
                }
                None => None,
            };
            if persona.is_some() {
                state.set_persona(persona);
            }
            if let Some((_, joins)) = cfg.joins.iter().rev().find(|(i, _)| *i == index) {
                state.set_joins(*joins);
            }
            let mut shared = MinerShared::new(index, local, cfg.limits, state);
            shared.v3_addr = v3_local;
            fleet.miners.push(MinerHandle {
                shared: Arc::new(shared),
            });
            listeners.push(listener);
            v3_listeners.push(v3_listener);
        }
        // Faults first, so that an ApiDisabled miner never accepts.
        for (index, fault) in &cfg.faults {
            if let Some(m) = fleet.miners.get(*index) {
                m.set_fault(Some(fault.clone()));
            }
        }
        for ((miner, listener), v3) in fleet.miners.iter().zip(listeners).zip(v3_listeners) {
            let shared = &miner.shared;
            // An ApiDisabled miner closes its sockets now, before start()
            // returns: a client connecting early must be refused, not reset.
            let disabled = matches!(miner.fault(), Some(Fault::ApiDisabled));
            let listener = (!disabled).then_some(listener);
            let task = run_listener(
                shared.clone(),
                listener,
                Api::V2,
                fleet.shutdown.subscribe(),
            );
            fleet.tasks.push(tokio::spawn(task));
            if let Some(v3) = v3 {
                let v3 = (!disabled).then_some(v3);
                let task = run_listener(shared.clone(), v3, Api::V3, fleet.shutdown.subscribe());
                fleet.tasks.push(tokio::spawn(task));
            }
        }
        Ok(fleet)
    }

    /// The miners' addresses, in index order.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.miners.iter().map(MinerHandle::addr).collect()
    }

    pub fn len(&self) -> usize {
        self.miners.len()
    }

    pub fn is_empty(&self) -> bool {
        self.miners.is_empty()
    }

    pub fn miner(&self, index: usize) -> Option<MinerHandle> {
        self.miners.get(index).cloned()
    }

    pub fn miners(&self) -> &[MinerHandle] {
        &self.miners
    }

    /// Stops all listeners and connections and waits for their tasks
    /// (connections still open after two seconds are cut).
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        let tasks = std::mem::take(&mut self.tasks);
        for task in tasks {
            // A listener task that panicked has nothing left to stop.
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

async fn bind(index: usize, addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("binding simulated miner {index} on {addr}: {e}"),
        )
    })
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// The v3 listener address of each miner (used for the v3 ones only):
/// the same IP as its v2 listener, on `v3_port` (`LoopbackRange`) or on
/// `v3_port + index` (`Ports`); port 0 stays ephemeral.
pub fn plan_v3_addresses(
    bind: &Bind,
    v3_port: u16,
    v2_addrs: &[SocketAddr],
) -> io::Result<Vec<SocketAddr>> {
    v2_addrs
        .iter()
        .enumerate()
        .map(|(i, v2)| {
            let port = match bind {
                _ if v3_port == 0 => Some(0),
                Bind::LoopbackRange { .. } => Some(v3_port),
                Bind::Ports { .. } => u16::try_from(i).ok().and_then(|i| v3_port.checked_add(i)),
            };
            port.map(|p| SocketAddr::new(v2.ip(), p)).ok_or_else(|| {
                invalid(format!(
                    "{} v3 ports from {v3_port} exceed 65535",
                    v2_addrs.len()
                ))
            })
        })
        .collect()
}

/// The socket address of each miner; refuses anything outside loopback.
pub fn plan_addresses(bind: &Bind, miners: usize) -> io::Result<Vec<SocketAddr>> {
    match *bind {
        Bind::LoopbackRange { base, port } => {
            if base.octets()[0] != 127 {
                return Err(invalid(format!(
                    "{base} is not a loopback address (127.0.0.0/8)"
                )));
            }
            let mut out = Vec::with_capacity(miners);
            let mut next = u32::from(base);
            while out.len() < miners {
                let ip = Ipv4Addr::from(next);
                if ip.octets()[0] != 127 {
                    return Err(invalid(format!(
                        "{miners} miners from {base} leave 127.0.0.0/8"
                    )));
                }
                let host = ip.octets()[3];
                if host != 0 && host != 255 {
                    out.push(SocketAddr::new(IpAddr::V4(ip), port));
                }
                next = next.wrapping_add(1);
            }
            Ok(out)
        }
        Bind::Ports { ip, first_port } => {
            if !ip.is_loopback() {
                return Err(invalid(format!("{ip} is not a loopback address")));
            }
            (0..miners)
                .map(|i| {
                    let port = if first_port == 0 {
                        Some(0)
                    } else {
                        u16::try_from(i)
                            .ok()
                            .and_then(|i| first_port.checked_add(i))
                    };
                    port.map(|p| SocketAddr::new(ip, p)).ok_or_else(|| {
                        invalid(format!("{miners} ports from {first_port} exceed 65535"))
                    })
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_range_skips_network_and_broadcast_host_parts() {
        let bind = Bind::LoopbackRange {
            base: Ipv4Addr::new(127, 1, 0, 253),
            port: 4028,
        };
        let addrs = plan_addresses(&bind, 4).expect("valid");
        let ips: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
        assert_eq!(
            ips,
            [
                "127.1.0.253:4028",
                "127.1.0.254:4028",
                "127.1.1.1:4028",
                "127.1.1.2:4028"
            ]
        );
        let from_zero = Bind::LoopbackRange {
            base: Ipv4Addr::new(127, 2, 0, 0),
            port: 1,
        };
        assert_eq!(
            plan_addresses(&from_zero, 1).expect("valid")[0].ip(),
            Ipv4Addr::new(127, 2, 0, 1)
        );
    }

    #[test]
    fn refuses_anything_outside_loopback() {
        for base in [
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(0, 0, 0, 0),
            Ipv4Addr::new(128, 0, 0, 1),
        ] {
            assert!(
                plan_addresses(&Bind::LoopbackRange { base, port: 1 }, 1).is_err(),
                "{base}"
            );
        }
        let end = Bind::LoopbackRange {
            base: Ipv4Addr::new(127, 255, 255, 250),
            port: 1,
        };
        assert!(
            plan_addresses(&end, 10).is_err(),
            "must not run past 127.255.255.255"
        );
        for ip in ["0.0.0.0", "192.168.1.10", "::", "fe80::1"] {
            let ip: IpAddr = ip.parse().expect("ip");
            assert!(
                plan_addresses(&Bind::Ports { ip, first_port: 0 }, 1).is_err(),
                "{ip}"
            );
        }
        let v6 = Bind::Ports {
            ip: "::1".parse().expect("ip"),
            first_port: 0,
        };
        assert!(plan_addresses(&v6, 2).is_ok());
    }

    #[test]
    fn consecutive_ports_must_fit() {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let addrs = plan_addresses(
            &Bind::Ports {
                ip,
                first_port: 65_534,
            },
            2,
        )
        .expect("fits");
        assert_eq!(addrs[1].port(), 65_535);
        assert!(plan_addresses(
            &Bind::Ports {
                ip,
                first_port: 65_534
            },
            3
        )
        .is_err());
    }
}
