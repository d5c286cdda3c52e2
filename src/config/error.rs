//! Configuration errors that always say where: the file, the line and column
//! when one exists, and the field path (`miners[3].address`), so that an
//! operator with a 500-miner config can jump straight to the mistake.
//!
//! Serde errors from `toml` carry only a byte span; [`Locator`] turns a span
//! into line, column and a best-effort field path by scanning the table
//! headers and keys above it. Errors never quote a secret: inline secrets
//! are rejected by key name only, and secret files are named, not shown.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A configuration error with its location. Boxed: errors are rare and the
/// `Result`s that carry them are everywhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}", .0.place, .0.kind)]
pub struct ConfigError(Box<Located>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Located {
    place: Place,
    kind: ConfigErrorKind,
}

impl ConfigError {
    pub fn new(place: Place, kind: ConfigErrorKind) -> Self {
        ConfigError(Box::new(Located { place, kind }))
    }

    /// Where: file, line, column, field.
    pub fn place(&self) -> &Place {
        &self.0.place
    }

    /// What.
    pub fn kind(&self) -> &ConfigErrorKind {
        &self.0.kind
    }
}

/// Where an error is: `file[:line[:column]][: field]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: PathBuf,
    /// 1-based line, when the error has a position in a text file.
    pub line: Option<usize>,
    /// 1-based column in characters, when known.
    pub column: Option<usize>,
    /// The field path, e.g. `miners[3].address` or `[0].targets[2]`.
    pub field: Option<String>,
}

impl Place {
    pub fn file(file: &Path) -> Self {
        Place {
            file: file.to_path_buf(),
            line: None,
            column: None,
            field: None,
        }
    }

    pub(crate) fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub(crate) fn with_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    /// `file:line:column` without the field, for "first defined at" notes.
    pub(crate) fn position(&self) -> String {
        let mut out = self.file.display().to_string();
        if let Some(line) = self.line {
            out.push_str(&format!(":{line}"));
            if let Some(column) = self.column {
                out.push_str(&format!(":{column}"));
            }
        }
        out
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.position())?;
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        Ok(())
    }
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigErrorKind {
    /// A file could not be read (the config, a target list, a secret file).
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    /// TOML, JSON or YAML syntax, an unknown key or a wrongly typed value.
    #[error("{0}")]
    Syntax(String),
    #[error("invalid miner address {0:?}")]
    InvalidAddress(String),
    /// An address in a target list: not quoted, since the file may be
    /// anything (a mistyped path to a secret), and the line says where.
    #[error("invalid miner address (not an IP address or host name with an optional :port; the line is not quoted)")]
    InvalidListedAddress,
    /// A value out of range or of the wrong form.
    #[error("{0}")]
    Invalid(String),
    /// Two miners share an address or a name.
    #[error("duplicate miner {what} {value:?} (first defined at {first})")]
    Duplicate {
        what: &'static str,
        value: String,
        first: String,
    },
    /// A `password` or `token` written into the config itself.
    #[error(
        "inline secrets are not allowed: remove `{key}` and use `{key}_file` \
         (a file holding the value) or `{key}_env` (an environment variable)"
    )]
    InlineSecret { key: &'static str },
    /// A secret source that is missing or empty. Names the source only.
    #[error("{0}")]
    Secret(String),
    #[error(
        "no miner source: add [[miners]] entries, [[miner_files]] lists or [[discovery]] ranges"
    )]
    NoMiners,
}

/// Maps byte offsets of one text file to positions and field paths.
pub(crate) struct Locator<'a> {
    file: &'a Path,
    text: &'a str,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(file: &'a Path, text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Locator {
            file,
            text,
            line_starts,
        }
    }

    pub(crate) fn file(&self) -> &'a Path {
        self.file
    }

    /// 1-based line and character column of a byte offset.
    pub(crate) fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_index = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .saturating_sub(1);
        let start = self.line_starts.get(line_index).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(0, |prefix| prefix.chars().count());
        (line_index + 1, column + 1)
    }

    /// The place of a span, with a field path given by the caller.
    pub(crate) fn place(&self, span: &Range<usize>, field: impl Into<String>) -> Place {
        let (line, column) = self.line_column(span.start);
        Place {
            file: self.file.to_path_buf(),
            line: Some(line),
            column: Some(column),
            field: Some(field.into()),
        }
    }

    pub(crate) fn error(
        &self,
        span: &Range<usize>,
        field: impl Into<String>,
        kind: ConfigErrorKind,
    ) -> ConfigError {
        ConfigError::new(self.place(span, field), kind)
    }

    /// Turns a `toml` deserialization error into a located error, guessing
    /// the field path from the headers and keys above the span.
    pub(crate) fn toml_error(&self, error: &toml::de::Error) -> ConfigError {
        let mut message = one_line(error.message());
        if let Some(key) = did_you_mean(&message) {
            message.push_str(&format!(" (did you mean `{key}`?)"));
        }
        let Some(span) = error.span() else {
            return ConfigError::new(Place::file(self.file), ConfigErrorKind::Syntax(message));
        };
        let field = self.field_at(span.start);
        let mut place = self.place(&span, field.clone());
        if field.is_empty() {
            place.field = None;
        }
        ConfigError::new(place, ConfigErrorKind::Syntax(message))
    }

    /// Best-effort dotted path of the key at `offset`: the last table header
    /// (`[[miners]]` counted as `miners[i]`), the key of the line (or of the
    /// last keyed line, for multi-line arrays), and the key inside an inline
    /// table (`labels = { rack = 5 }` gives `labels.rack`).
    pub(crate) fn field_at(&self, offset: usize) -> String {
        let mut header = String::new();
        let mut array_counts: Vec<(String, usize)> = Vec::new();
        let mut last_key: Option<String> = None;
        let mut inner_key: Option<String> = None;
        for (index, &start) in self.line_starts.iter().enumerate() {
            if start > offset {
                break;
            }
            let end = self
                .line_starts
                .get(index + 1)
                .copied()
                .unwrap_or(self.text.len());
            let line = self.text.get(start..end).unwrap_or("");
            let trimmed = line.trim_start();
            if let Some(rest) = trimmed.strip_prefix("[[") {
                let name = rest.split("]]").next().unwrap_or("").trim().to_string();
                let count = match array_counts.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, count)) => {
                        *count += 1;
                        *count
                    }
                    None => {
                        array_counts.push((name.clone(), 0));
                        0
                    }
                };
                header = format!("{name}[{count}]");
                last_key = None;
            } else if let Some(rest) = trimmed.strip_prefix('[') {
                header = rest.split(']').next().unwrap_or("").trim().to_string();
                last_key = None;
            } else if let Some(key) = leading_key(trimmed) {
                last_key = Some(key);
            }
            if offset < end || end == self.text.len() {
                let upto = offset.saturating_sub(start).min(line.len());
                inner_key = line.get(..upto).and_then(inline_table_key);
                break;
            }
        }
        [Some(header), last_key, inner_key]
            .into_iter()
            .flatten()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// The key before `=` at the start of a line, unquoted, if the line has one.
fn leading_key(line: &str) -> Option<String> {
    if line.starts_with('#') {
        return None;
    }
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
    let plausible = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
    plausible.then(|| key.to_string())
}

/// In `labels = { a = "x", b = `, the key being written at the end: `b`.
fn inline_table_key(prefix: &str) -> Option<String> {
    let (_, inside) = prefix.split_once('{')?;
    let last_piece = inside.rsplit([',', '{']).next()?;
    leading_key(last_piece.trim_start())
}

/// Keys a table accepts only to refuse them with a better message (inline
/// secrets): never suggested.
const REFUSED_KEYS: &[&str] = &["password", "token"];

/// For serde's "unknown field `pasword_file`, expected one of `address`,
/// …": the accepted key closest to the unknown one, if it is close (a typo).
fn did_you_mean(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, rest) = rest.split_once('`')?;
    let expected = rest.split_once("expected")?.1;
    let (distance, key) = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|key| !REFUSED_KEYS.contains(key))
        .map(|key| (edit_distance(unknown, key), key))
        .min()?;
    (distance <= (unknown.len() / 3).max(2)).then_some(key)
}

/// Levenshtein distance in characters (keys are short: quadratic is fine).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j + 1).copied().unwrap_or(0);
            let left = row.get(j).copied().unwrap_or(0);
            let cost = usize::from(ca != *cb);
            let value = (diagonal + cost).min(above + 1).min(left + 1);
            diagonal = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = value;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

/// Multi-line parser messages on one line, so each error is one log line.
pub(crate) fn one_line(message: &str) -> String {
    message
        .trim()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}
