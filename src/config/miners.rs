//! Builds the miner list: `[[miners]]` entries then `[[miner_files]]`
//! lists, each with `[defaults]` applied (port, protocol, labels, password),
//! and checks that no two miners share an address or a `miner` label value,
//! since either would make two miners' series collide.

use super::build::Ctx;
use super::error::{ConfigError, ConfigErrorKind, Place};
use super::raw::{Labels, RawConfig, RawDefaults, RawMiner};
use super::targets::{self, FileTarget};
use super::MinerEntry;
use crate::client::ApiChoice;
use crate::collector::target::is_valid_extra_label;
use crate::secret::Secret;
use crate::transport::{MinerAddr, DEFAULT_PORT};
use std::collections::{BTreeMap, HashMap};

/// Longest miner name or label value accepted.
const MAX_VALUE_CHARS: usize = 256;

/// `[defaults]`, checked.
pub(crate) struct Defaults {
    pub port: u16,
    pub protocol: ApiChoice,
    pub labels: BTreeMap<String, String>,
    pub password: Option<Secret>,
}

pub(crate) fn build(ctx: &Ctx, raw: &RawConfig) -> Result<Vec<MinerEntry>, ConfigError> {
    if raw.miners.is_empty() && raw.miner_files.is_empty() && raw.discovery.is_empty() {
        return Err(ConfigError::new(
            Place::file(ctx.loc.file()).with_field("miners"),
            ConfigErrorKind::NoMiners,
        ));
    }
    let defaults = defaults(ctx, &raw.defaults)?;
    let mut seen = Seen::default();
    let mut entries = Vec::with_capacity(raw.miners.len());
    for (index, miner) in raw.miners.iter().enumerate() {
        let (entry, places) = config_miner(ctx, &defaults, index, miner)?;
        seen.check(&entry, places)?;
        entries.push(entry);
    }
    for (index, file) in raw.miner_files.iter().enumerate() {
        for target in targets::read(ctx, index, file)? {
            let entry = file_miner(&defaults, &target)?;
            let place = target.place.clone();
            seen.check(&entry, (place.clone(), place))?;
            entries.push(entry);
        }
    }
    Ok(entries)
}

pub(crate) fn defaults(ctx: &Ctx, raw: &RawDefaults) -> Result<Defaults, ConfigError> {
    let port = ctx.int(
        &raw.port,
        "defaults.port",
        1..=65_535,
        i64::from(DEFAULT_PORT),
    )?;
    let protocol = protocol(
        ctx,
        &raw.protocol,
        "defaults.protocol",
        ApiChoice::default(),
    )?;
    let labels = config_labels(ctx, &raw.labels, "defaults.labels", BTreeMap::new())?;
    let password = ctx.secret(
        "defaults.",
        "password",
        &raw.password_file,
        &raw.password_env,
        &raw.password,
    )?;
    Ok(Defaults {
        port: u16::try_from(port).unwrap_or(DEFAULT_PORT),
        protocol,
        labels,
        password,
    })
}

fn protocol(
    ctx: &Ctx,
    value: &Option<super::raw::Text>,
    field: &str,
    default: ApiChoice,
) -> Result<ApiChoice, ConfigError> {
    ctx.choice(value, field, &ApiChoice::all().collect::<Vec<_>>(), default)
}

/// One `[[miners]]` entry, with the places of its address and name.
fn config_miner(
    ctx: &Ctx,
    defaults: &Defaults,
    index: usize,
    raw: &RawMiner,
) -> Result<(MinerEntry, (Place, Place)), ConfigError> {
    let field = format!("miners[{index}]");
    let address_place = ctx
        .loc
        .place(&raw.address.span(), format!("{field}.address"));
    let addr = parse_address(raw.address.get_ref(), defaults.port)
        .map_err(|kind| ConfigError::new(address_place.clone(), kind))?;
    let (name, name_place) = match &raw.name {
        None => (None, address_place.clone()),
        Some(name) => {
            let place = ctx.loc.place(&name.span(), format!("{field}.name"));
            check_value(name.get_ref(), "name")
                .map_err(|m| ConfigError::new(place.clone(), ConfigErrorKind::Invalid(m)))?;
            (Some(name.get_ref().clone()), place)
        }
    };
    let labels = config_labels(
        ctx,
        &raw.labels,
        &format!("{field}.labels"),
        defaults.labels.clone(),
    )?;
    let protocol = protocol(
        ctx,
        &raw.protocol,
        &format!("{field}.protocol"),
        defaults.protocol,
    )?;
    let own_password = ctx.secret(
        &format!("{field}."),
        "password",
        &raw.password_file,
        &raw.password_env,
        &raw.password,
    )?;
    let entry = MinerEntry {
        addr,
        name,
        labels: into_sorted(labels),
        protocol,
        password: own_password.or_else(|| defaults.password.clone()),
        groups: Default::default(),
    };
    Ok((entry, (address_place, name_place)))
}

/// One target from a `[[miner_files]]` list.
fn file_miner(defaults: &Defaults, target: &FileTarget) -> Result<MinerEntry, ConfigError> {
    let fail = |kind| ConfigError::new(target.place.clone(), kind);
    let addr = parse_address(&target.address, defaults.port)
        .map_err(|_| fail(ConfigErrorKind::InvalidListedAddress))?;
    if let Some(name) = &target.name {
        check_value(name, "name").map_err(|m| fail(ConfigErrorKind::Invalid(m)))?;
    }
    let mut labels = defaults.labels.clone();
    for (key, value) in &target.labels {
        check_label(key, value).map_err(|m| fail(ConfigErrorKind::Invalid(m)))?;
        merge_label(&mut labels, key, value);
    }
    let protocol = match &target.protocol {
        None => defaults.protocol,
        Some(text) => text.parse::<ApiChoice>().map_err(|_| {
            fail(ConfigErrorKind::Invalid(format!(
                "label `protocol` is {:?}; expected {}",
                crate::error::truncate_for_log(text, 20),
                ApiChoice::words_listed()
            )))
        })?,
    };
    Ok(MinerEntry {
        addr,
        name: target.name.clone(),
        labels: into_sorted(labels),
        protocol,
        password: defaults.password.clone(),
        groups: Default::default(),
    })
}

fn parse_address(text: &str, default_port: u16) -> Result<MinerAddr, ConfigErrorKind> {
    let invalid =
        || ConfigErrorKind::InvalidAddress(crate::error::truncate_for_log(text.trim(), 80));
    // A mistyped IPv4 address (`10.0.0.300`) is refused by the parser.
    MinerAddr::parse_with_default_port(text, default_port).map_err(|_| invalid())
}

/// Checks a label table and merges it over `base`.
fn config_labels(
    ctx: &Ctx,
    raw: &Labels,
    field: &str,
    mut base: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    for (key, value) in raw {
        check_label(key.get_ref(), value.get_ref()).map_err(|m| {
            ctx.loc.error(
                &key.span(),
                format!("{field}.{}", key.get_ref()),
                ConfigErrorKind::Invalid(m),
            )
        })?;
        merge_label(&mut base, key.get_ref(), value.get_ref());
    }
    Ok(base)
}

/// An empty value removes a label inherited from `[defaults]`.
fn merge_label(labels: &mut BTreeMap<String, String>, key: &str, value: &str) {
    if value.is_empty() {
        labels.remove(key);
    } else {
        labels.insert(key.to_string(), value.to_string());
    }
}

pub(crate) fn check_label(key: &str, value: &str) -> Result<(), String> {
    if !is_valid_extra_label(key) {
        let mut chars = key.chars();
        let syntax_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        let shown = crate::error::truncate_for_log(key, 40);
        return Err(if syntax_ok {
            format!("label name {shown:?} is reserved by the exporter; choose another name")
        } else {
            format!("invalid label name {shown:?}: use letters, digits and '_', not starting with a digit")
        });
    }
    check_value(value, "label value")
}

fn check_value(value: &str, what: &str) -> Result<(), String> {
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(format!(
            "{what} is longer than {MAX_VALUE_CHARS} characters"
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{what} contains control characters"));
    }
    if what == "name" && value.trim().is_empty() {
        return Err("name is empty".to_string());
    }
    Ok(())
}

fn into_sorted(labels: BTreeMap<String, String>) -> Vec<(String, String)> {
    labels.into_iter().collect()
}

/// Addresses and `miner` label values already taken, with where.
#[derive(Default)]
struct Seen {
    addresses: HashMap<String, Place>,
    names: HashMap<String, Place>,
}

impl Seen {
    /// Records a miner; an address or effective name seen before is an
    /// error at the second place, naming the first.
    fn check(
        &mut self,
        entry: &MinerEntry,
        (address_place, name_place): (Place, Place),
    ) -> Result<(), ConfigError> {
        let address = entry.addr.to_string();
        let address_key = address.to_ascii_lowercase();
        // The collector labels an unnamed miner with `host:port`, so that
        // string competes with explicit names.
        let name = entry.name.clone().unwrap_or_else(|| address.clone());
        if let Some(first) = self.addresses.get(&address_key) {
            return Err(duplicate("address", address, first, address_place));
        }
        if let Some(first) = self.names.get(&name) {
            return Err(duplicate("name", name, first, name_place));
        }
        self.addresses.insert(address_key, address_place);
        self.names.insert(name, name_place);
        Ok(())
    }
}

fn duplicate(what: &'static str, value: String, first: &Place, second: Place) -> ConfigError {
    ConfigError::new(
        second,
        ConfigErrorKind::Duplicate {
            what,
            value,
            first: first.to_string(),
        },
    )
}
