//! Injectable faults, one at a time per miner, and the scenario file that
//! assigns them to miners (TOML).
//!
//! ```toml
//! [[fault]]
//! kind = "slow"
//! miners = [0, 3]
//! delay_ms = 2500
//!
//! [[fault]]
//! kind = "overheat"
//! range = "10..20"        # half-open: miners 10 to 19
//! rate_c_per_sec = 0.5
//! shutdown_at_c = 90.0
//!
//! [[fault]]
//! kind = "no_reply"
//! every = 50              # miners 7, 57, 107, ...
//! offset = 7
//! ```
//! A later entry replaces an earlier one for the same miner. The same file
//! may give miners a firmware persona (`[[persona]]`, see
//! [`parse_scenario_personas`]).

use std::time::Duration;

use super::persona::Persona;

/// Something going wrong on one simulated miner.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer after this delay.
    Slow(Duration),
    /// Accept and read the request, never answer (until the client gives up).
    NoReply,
    /// Write part of the reply, then reset the connection (RST).
    Reset,
    /// Write part of the reply, then close normally: truncated JSON.
    Truncated,
    /// Append NUL bytes and whitespace after the JSON.
    TrailingNuls,
    /// Answer with a reply of this many bytes.
    Oversized(usize),
    /// Answer every request with the busy error ("over max connect").
    OverMaxConnect,
    /// The API is off: the listener is closed, connections are refused.
    ApiDisabled,
    /// The miner's admin password differs from the fleet's.
    WrongPassword,
    /// Temperature climbs while mining, until the miner powers itself off
    /// at `shutdown_at_c` (board temperature) or something powers it off.
    Overheat {
        rate_c_per_sec: f64,
        shutdown_at_c: f64,
    },
    /// Write the reply one byte per second.
    SlowDrip,
    /// Valid JSON of the wrong shape (`[1,2,3]`, `{"foo":1}`).
    WrongShape,
    /// Every JSON number of a reply sent as a string.
    NumbersAsStrings,
    /// Every command answers `STATUS` `E`, code 14.
    StatusError,
    /// Encrypted replies carry broken base64 or a broken ciphertext.
    GarbledEncrypted,
    /// Encrypted replies are encrypted under another key.
    WrongKeyEncrypted,
    /// The owner has not enabled the write API.
    WriteDisabled,
}

impl Fault {
    /// Default size of an [`Fault::Oversized`] reply: 2 MiB.
    pub const DEFAULT_OVERSIZED_BYTES: usize = 2 * 1024 * 1024;
    /// Default climb of [`Fault::Overheat`]: about 1 °C every 3 seconds.
    pub const DEFAULT_OVERHEAT_RATE: f64 = 0.33;
    /// Default self-protection threshold of [`Fault::Overheat`].
    pub const DEFAULT_SHUTDOWN_AT_C: f64 = 90.0;

    /// Overheat with the default rate and threshold.
    pub fn overheat() -> Fault {
        Fault::Overheat {
            rate_c_per_sec: Self::DEFAULT_OVERHEAT_RATE,
            shutdown_at_c: Self::DEFAULT_SHUTDOWN_AT_C,
        }
    }

    /// The snake_case name used in scenario files and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Slow(_) => "slow",
            Fault::NoReply => "no_reply",
            Fault::Reset => "reset",
            Fault::Truncated => "truncated",
            Fault::TrailingNuls => "trailing_nuls",
            Fault::Oversized(_) => "oversized",
            Fault::OverMaxConnect => "over_max_connect",
            Fault::ApiDisabled => "api_disabled",
            Fault::WrongPassword => "wrong_password",
            Fault::Overheat { .. } => "overheat",
            Fault::SlowDrip => "slow_drip",
            Fault::WrongShape => "wrong_shape",
            Fault::NumbersAsStrings => "numbers_as_strings",
            Fault::StatusError => "status_error",
            Fault::GarbledEncrypted => "garbled_encrypted",
            Fault::WrongKeyEncrypted => "wrong_key_encrypted",
            Fault::WriteDisabled => "write_disabled",
        }
    }
}

/// The [`Selector`] of a `[[fault]]` or `[[persona]]` entry.
macro_rules! selector {
    ($spec:expr) => {
        Selector {
            miners: &$spec.miners,
            range: &$spec.range,
            every: $spec.every,
            offset: $spec.offset,
        }
    };
}

/// A scenario file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("scenario is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("fault #{entry}: unknown kind {kind:?}")]
    UnknownKind { entry: usize, kind: String },
    #[error("fault #{entry}: {message}")]
    Invalid { entry: usize, message: String },
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    #[serde(default)]
    fault: Vec<FaultEntry>,
    #[serde(default)]
    persona: Vec<PersonaEntry>,
}

/// `[[persona]]`: a firmware persona for some miners, and whether they
/// answer joined reads (default: yes).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonaEntry {
    kind: String,
    miners: Option<Vec<usize>>,
    range: Option<String>,
    every: Option<usize>,
    offset: Option<usize>,
    joins: Option<bool>,
}

/// The personas of a scenario: (miner index, persona) pairs in file order,
/// and (miner index, joins) pairs where an entry says whether they join.
pub type ScenarioPersonas = (Vec<(usize, Persona)>, Vec<(usize, bool)>);

/// Parses the `[[persona]]` entries of a scenario for a fleet of `miners`.
/// ```toml
/// [[persona]]
/// kind = "cgminer-4.9.2"  # or btminer-2021, btminer-2022, firmware-2025, v3
/// miners = [0]
/// joins = false           # refuses `summary+devs+pools` (default: the persona's)
/// ```
pub fn parse_scenario_personas(
    text: &str,
    miners: usize,
) -> Result<ScenarioPersonas, ScenarioError> {
    let file: ScenarioFile = toml::from_str(text)?;
    let (mut personas, mut joins) = (Vec::new(), Vec::new());
    for (entry, spec) in file.persona.iter().enumerate() {
        let persona: Persona = spec.kind.parse().map_err(|_| ScenarioError::UnknownKind {
            entry,
            kind: spec.kind.clone(),
        })?;
        for index in entry_targets(entry, &selector!(spec), miners)? {
            personas.push((index, persona));
            if let Some(join) = spec.joins {
                joins.push((index, join));
            }
        }
    }
    Ok((personas, joins))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultEntry {
    kind: String,
    miners: Option<Vec<usize>>,
    range: Option<String>,
    every: Option<usize>,
    offset: Option<usize>,
    delay_ms: Option<u64>,
    bytes: Option<usize>,
    rate_c_per_sec: Option<f64>,
    shutdown_at_c: Option<f64>,
}

/// Parses a scenario for a fleet of `miners` miners into (miner index,
/// fault) pairs, in file order.
pub fn parse_scenario(text: &str, miners: usize) -> Result<Vec<(usize, Fault)>, ScenarioError> {
    let file: ScenarioFile = toml::from_str(text)?;
    let mut out = Vec::new();
    for (entry, spec) in file.fault.iter().enumerate() {
        let fault = entry_fault(entry, spec)?;
        for index in entry_targets(entry, &selector!(spec), miners)? {
            out.push((index, fault.clone()));
        }
    }
    Ok(out)
}

fn entry_fault(entry: usize, spec: &FaultEntry) -> Result<Fault, ScenarioError> {
    let invalid = |message: &str| ScenarioError::Invalid {
        entry,
        message: message.to_string(),
    };
    let fault = match spec.kind.as_str() {
        "slow" => Fault::Slow(Duration::from_millis(spec.delay_ms.unwrap_or(2_000))),
        "no_reply" => Fault::NoReply,
        "reset" => Fault::Reset,
        "truncated" => Fault::Truncated,
        "trailing_nuls" => Fault::TrailingNuls,
        "oversized" => Fault::Oversized(spec.bytes.unwrap_or(Fault::DEFAULT_OVERSIZED_BYTES)),
        "over_max_connect" => Fault::OverMaxConnect,
        "api_disabled" => Fault::ApiDisabled,
        "wrong_password" => Fault::WrongPassword,
        "overheat" => {
            let rate = spec.rate_c_per_sec.unwrap_or(Fault::DEFAULT_OVERHEAT_RATE);
            let limit = spec.shutdown_at_c.unwrap_or(Fault::DEFAULT_SHUTDOWN_AT_C);
            if !(rate.is_finite() && rate > 0.0 && rate <= 100.0) {
                return Err(invalid("rate_c_per_sec must be in (0, 100]"));
            }
            if !(limit.is_finite() && (30.0..=200.0).contains(&limit)) {
                return Err(invalid("shutdown_at_c must be in [30, 200]"));
            }
            Fault::Overheat {
                rate_c_per_sec: rate,
                shutdown_at_c: limit,
            }
        }
        "slow_drip" => Fault::SlowDrip,
        "wrong_shape" => Fault::WrongShape,
        "numbers_as_strings" => Fault::NumbersAsStrings,
        "status_error" => Fault::StatusError,
        "garbled_encrypted" => Fault::GarbledEncrypted,
        "wrong_key_encrypted" => Fault::WrongKeyEncrypted,
        "write_disabled" => Fault::WriteDisabled,
        other => {
            return Err(ScenarioError::UnknownKind {
                entry,
                kind: other.to_string(),
            })
        }
    };
    if let Fault::Oversized(bytes) = fault {
        if !(1..=256 * 1024 * 1024).contains(&bytes) {
            return Err(invalid("bytes must be in [1, 256 MiB]"));
        }
    }
    if spec.delay_ms.is_some_and(|ms| ms > 3_600_000) {
        return Err(invalid("delay_ms must be at most one hour"));
    }
    Ok(fault)
}

/// Which miners an entry names: exactly one of the three ways.
struct Selector<'a> {
    miners: &'a Option<Vec<usize>>,
    range: &'a Option<String>,
    every: Option<usize>,
    offset: Option<usize>,
}

fn entry_targets(
    entry: usize,
    spec: &Selector<'_>,
    miners: usize,
) -> Result<Vec<usize>, ScenarioError> {
    let invalid = |message: String| ScenarioError::Invalid { entry, message };
    let selectors = [
        spec.miners.is_some(),
        spec.range.is_some(),
        spec.every.is_some(),
    ];
    if selectors.iter().filter(|&&s| s).count() != 1 {
        return Err(invalid(
            "give exactly one of `miners`, `range`, `every`".to_string(),
        ));
    }
    let targets: Vec<usize> = if let Some(list) = spec.miners {
        list.clone()
    } else if let Some(range) = spec.range {
        let (start, end): (usize, usize) = range
            .split_once("..")
            .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
            .ok_or_else(|| invalid(format!("range {range:?} is not `start..end`")))?;
        // Check before collecting: `0..4000000000` must not allocate 32 GB.
        if end > miners {
            return Err(invalid(format!(
                "miner {} does not exist (fleet of {miners})",
                end - 1
            )));
        }
        (start..end).collect()
    } else {
        let every = spec.every.unwrap_or(1);
        if every == 0 {
            return Err(invalid("every must be at least 1".to_string()));
        }
        (spec.offset.unwrap_or(0)..miners).step_by(every).collect()
    };
    if let Some(bad) = targets.iter().find(|&&i| i >= miners) {
        return Err(invalid(format!(
            "miner {bad} does not exist (fleet of {miners})"
        )));
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let text = r#"
            [[fault]]
            kind = "slow"
            miners = [0, 3]
            delay_ms = 2500

            [[fault]]
            kind = "overheat"
            range = "10..12"
            rate_c_per_sec = 0.5
            shutdown_at_c = 90.0

            [[fault]]
            kind = "no_reply"
            every = 50
            offset = 7
        "#;
        let faults = parse_scenario(text, 120).expect("valid");
        let slow = Fault::Slow(Duration::from_millis(2500));
        let hot = Fault::Overheat {
            rate_c_per_sec: 0.5,
            shutdown_at_c: 90.0,
        };
        assert_eq!(
            faults,
            vec![
                (0, slow.clone()),
                (3, slow),
                (10, hot.clone()),
                (11, hot),
                (7, Fault::NoReply),
                (57, Fault::NoReply),
                (107, Fault::NoReply),
            ]
        );
    }

    #[test]
    fn every_kind_name_parses_back() {
        let all = [
            Fault::Slow(Duration::from_millis(2000)),
            Fault::NoReply,
            Fault::Reset,
            Fault::Truncated,
            Fault::TrailingNuls,
            Fault::Oversized(Fault::DEFAULT_OVERSIZED_BYTES),
            Fault::OverMaxConnect,
            Fault::ApiDisabled,
            Fault::WrongPassword,
            Fault::overheat(),
            Fault::SlowDrip,
            Fault::WrongShape,
            Fault::NumbersAsStrings,
            Fault::StatusError,
            Fault::GarbledEncrypted,
            Fault::WrongKeyEncrypted,
            Fault::WriteDisabled,
        ];
        for fault in all {
            let text = format!("[[fault]]\nkind = \"{}\"\nminers = [1]\n", fault.name());
            assert_eq!(parse_scenario(&text, 2).expect("parses"), vec![(1, fault)]);
        }
    }

    #[test]
    fn rejects_bad_scenarios() {
        let cases = [
            "[[fault]]\nkind = \"melt\"\nminers = [0]\n",
            "[[fault]]\nkind = \"reset\"\nminers = [5]\n",
            "[[fault]]\nkind = \"reset\"\n",
            "[[fault]]\nkind = \"reset\"\nminers = [0]\nrange = \"0..1\"\n",
            "[[fault]]\nkind = \"reset\"\nrange = \"a..b\"\n",
            "[[fault]]\nkind = \"reset\"\nrange = \"0..4000000000\"\n",
            "[[fault]]\nkind = \"reset\"\nevery = 0\n",
            "[[fault]]\nkind = \"reset\"\nminers = [0]\ncolour = 1\n",
            "[[fault]]\nkind = \"overheat\"\nminers = [0]\nrate_c_per_sec = -1.0\n",
            "[[fault]]\nkind = \"oversized\"\nminers = [0]\nbytes = 0\n",
            "not toml at all [",
        ];
        for text in cases {
            assert!(parse_scenario(text, 3).is_err(), "accepted: {text}");
        }
        assert!(parse_scenario("", 3).expect("empty is fine").is_empty());
    }
}
