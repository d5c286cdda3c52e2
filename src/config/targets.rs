//! Bulk miner lists named by `[[miner_files]]`, for fleets too large to
//! write out as `[[miners]]` tables:
//!
//! - `plain`: one address per line, an optional name after whitespace,
//!   `#` starts a comment.
//! - `file_sd`: Prometheus `file_sd_configs` JSON or YAML (by extension):
//!   a list of groups, each with `targets` and optional `labels`. The label
//!   `miner` becomes the miner's name; labels starting with `__` (Prometheus
//!   meta labels) are dropped; the others are the miner's extra labels,
//!   except those `discover` writes: `protocol` is the miner's protocol
//!   (`v2`, `v3`, `auto`), and `model`, `firmware`, `mac`, `hostname` are
//!   left out, since the exporter reads them from the miner itself
//!   (`whatsminer_miner_info`) and they are reserved label names.
//!
//! This module only splits the files into targets with their places;
//! address and label checks happen in `miners`, shared with `[[miners]]`.

use super::build::Ctx;
use super::error::{one_line, ConfigError, ConfigErrorKind, Place};
use super::raw::RawMinerFile;
use crate::files::has_extension;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One target read from a list file, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileTarget {
    pub address: String,
    pub name: Option<String>,
    pub labels: Vec<(String, String)>,
    /// A file_sd `protocol` label, checked with the address.
    pub protocol: Option<String>,
    pub place: Place,
}

/// Labels `discover` writes that describe the miner rather than label it.
const DISCOVERY_LABELS: &[&str] = &["model", "firmware", "mac", "hostname", "protocol"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Plain,
    FileSd,
}

/// Reads the list named by `miner_files[index]`.
pub(crate) fn read(
    ctx: &Ctx,
    index: usize,
    raw: &RawMinerFile,
) -> Result<Vec<FileTarget>, ConfigError> {
    let path = ctx.path(&raw.path);
    let yaml = has_extension(&path, &["yml", "yaml"]);
    let by_extension = if yaml || has_extension(&path, &["json"]) {
        Format::FileSd
    } else {
        Format::Plain
    };
    let format = ctx.choice(
        &raw.format,
        &format!("miner_files[{index}].format"),
        &[("plain", Format::Plain), ("file_sd", Format::FileSd)],
        by_extension,
    )?;
    let text = super::read_text_file(&path).map_err(|kind| {
        ctx.loc
            .error(&raw.path.span(), format!("miner_files[{index}].path"), kind)
    })?;
    match format {
        Format::Plain => parse_plain(&path, &text),
        Format::FileSd => parse_file_sd(&path, &text, yaml),
    }
}

/// `address [name]` per line; blank lines and `#` comments are skipped.
pub(crate) fn parse_plain(file: &Path, text: &str) -> Result<Vec<FileTarget>, ConfigError> {
    let mut targets = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let place = Place::file(file).with_line(index + 1);
        let content = line.split('#').next().unwrap_or("");
        let mut fields = content.split_whitespace();
        let Some(address) = fields.next() else {
            continue;
        };
        let name = fields.next().map(str::to_string);
        if fields.next().is_some() {
            return Err(ConfigError::new(place, ConfigErrorKind::Syntax(
                    "expected an address and an optional name; more text follows (use '#' for comments)"
                        .into(),
                )));
        }
        targets.push(FileTarget {
            address: address.to_string(),
            name,
            labels: Vec::new(),
            protocol: None,
            place,
        });
    }
    Ok(targets)
}

/// One `file_sd` target group.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// Prometheus `file_sd` JSON (or YAML when `yaml`).
pub(crate) fn parse_file_sd(
    file: &Path,
    text: &str,
    yaml: bool,
) -> Result<Vec<FileTarget>, ConfigError> {
    let groups: Vec<Group> = if yaml {
        serde_yaml::from_str(text).map_err(|e| {
            let at = e.location().map(|l| (l.line(), l.column()));
            parse_error(file, at, &e.to_string())
        })?
    } else {
        serde_json::from_str(text)
            .map_err(|e| parse_error(file, Some((e.line(), e.column())), &e.to_string()))?
    };
    let mut finder = TargetFinder::new(text);
    let mut targets = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let name = group.labels.get("miner").cloned();
        let labels: Vec<(String, String)> = group
            .labels
            .iter()
            .filter(|(k, _)| {
                k.as_str() != "miner"
                    && !k.starts_with("__")
                    && !DISCOVERY_LABELS.contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if name.is_some() && group.targets.len() > 1 {
            let mut place = Place::file(file).with_field(format!("[{g}].labels.miner"));
            place.line = finder.line_of("miner");
            return Err(ConfigError::new(
                place,
                ConfigErrorKind::Invalid(
                    "a `miner` label names one miner, but this group has several targets".into(),
                ),
            ));
        }
        for (t, address) in group.targets.iter().enumerate() {
            let mut place = Place::file(file).with_field(format!("[{g}].targets[{t}]"));
            place.line = finder.line_of(address);
            targets.push(FileTarget {
                address: address.clone(),
                name: name.clone(),
                labels: labels.clone(),
                protocol: group.labels.get("protocol").cloned(),
                place,
            });
        }
    }
    Ok(targets)
}

fn parse_error(file: &Path, at: Option<(usize, usize)>, message: &str) -> ConfigError {
    // Both parsers append " at line L column C"; the place says it already.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message, |(head, _)| head);
    let mut place = Place::file(file);
    if let Some((line, column)) = at {
        place.line = Some(line);
        place.column = Some(column);
    }
    ConfigError::new(
        place,
        ConfigErrorKind::Syntax(one_line(&without_quotes(message))),
    )
}

/// The parsers quote what they found (`invalid type: string "…"`), which
/// in a file named by mistake may be a secret: quoted text is cut out.
fn without_quotes(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        if c == '"' {
            if !quoted {
                out.push_str("\"…\"");
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

/// Finds the line of each target in file order, as a hint next to the
/// group and target indexes. A token only matches as a whole (delimited by
/// quotes, brackets, commas, dashes or spaces), searching forward from the
/// previous match, so targets listed in order get their own lines.
struct TargetFinder<'a> {
    text: &'a str,
    cursor: usize,
}

impl<'a> TargetFinder<'a> {
    fn new(text: &'a str) -> Self {
        TargetFinder { text, cursor: 0 }
    }

    fn line_of(&mut self, token: &str) -> Option<usize> {
        if token.is_empty() {
            return None;
        }
        let is_delimiter = |c: Option<char>| {
            c.is_none_or(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '[' | ']' | ',' | '-'))
        };
        let rest = self.text.get(self.cursor..)?;
        // `match_indices` visits each occurrence once: bounded by the text.
        for (relative, _) in rest.match_indices(token) {
            let start = self.cursor + relative;
            let end = start + token.len();
            let before = self.text.get(..start).and_then(|s| s.chars().next_back());
            let after = self.text.get(end..).and_then(|s| s.chars().next());
            if is_delimiter(before) && is_delimiter(after) {
                self.cursor = end;
                let line = self
                    .text
                    .get(..start)
                    .map_or(0, |s| s.matches('\n').count());
                return Some(line + 1);
            }
        }
        None
    }
}
