//! Repair of the invalid JSON that real Whatsminer firmware sends.
//!
//! A reply is parsed strictly first; only when that fails does
//! [`repair`] rewrite the known defects, in one linear pass, and the caller
//! parses the result again. Anything beyond these defects stays invalid (the
//! exporter reports `invalid_json`, it never guesses). Each defect is named
//! in `shared/protocol/NOTES.md`, "Real firmware diversity":
//!
//! - `\'` inside a string (M20S, fw 20200917: `"Firmware Version":"\'20200917.22.REL\'"`);
//! - a comma right before `}` or `]` (`get_miner_info`, fw 20220422);
//! - a missing comma after a string value (`get_psu`, one 2023 build: `""temp0"`);
//! - API 2.0.4's `error_code` list written with `key:value` pairs inside `[...]`;
//! - raw control characters (newlines) inside strings;
//! - a reply cut short inside its `error_code` list when a long list overflows
//!   the miner's buffer: the whole entries are kept and the reply is closed;
//! - bare `nan`/`inf` numbers (become `null`).
//!
//! The kinds of repair made are counted per miner (see [`counted`]) so an
//! operator can see which miners send broken JSON.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One kind of firmware JSON defect that [`repair`] fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepairKind {
    /// `\'` inside a string, which JSON does not allow.
    SingleQuoteEscape,
    /// A comma right before `}` or `]`.
    TrailingComma,
    /// Two strings in a row with no comma between them.
    MissingComma,
    /// A raw newline, tab or other control character inside a string.
    RawControlChar,
    /// A `[...]` list holding `key:value` pairs (API 2.0.4 `error_code`).
    DictLikeList,
    /// The reply ends inside its `error_code` list.
    TruncatedErrorList,
    /// A bare `nan`, `inf` or `infinity` number.
    NonFiniteNumber,
}

impl RepairKind {
    /// Every kind, in label order.
    pub const ALL: [RepairKind; 7] = [
        RepairKind::SingleQuoteEscape,
        RepairKind::TrailingComma,
        RepairKind::MissingComma,
        RepairKind::RawControlChar,
        RepairKind::DictLikeList,
        RepairKind::TruncatedErrorList,
        RepairKind::NonFiniteNumber,
    ];

    /// The `kind` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RepairKind::SingleQuoteEscape => "single_quote_escape",
            RepairKind::TrailingComma => "trailing_comma",
            RepairKind::MissingComma => "missing_comma",
            RepairKind::RawControlChar => "raw_control_char",
            RepairKind::DictLikeList => "dict_like_list",
            RepairKind::TruncatedErrorList => "truncated_error_list",
            RepairKind::NonFiniteNumber => "non_finite_number",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The set of kinds one repair made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RepairSet(u8);

impl RepairSet {
    pub fn insert(&mut self, kind: RepairKind) {
        self.0 |= kind.bit();
    }
    pub fn contains(self, kind: RepairKind) -> bool {
        self.0 & kind.bit() != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = RepairKind> {
        RepairKind::ALL
            .into_iter()
            .filter(move |k| self.contains(*k))
    }
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Where the opening bracket sits in the output.
    open_at: usize,
    is_array: bool,
    /// An array that turned out to hold `key:value` pairs: closed as `}`.
    dict_like: bool,
    /// The array under an `"error_code"` key.
    error_list: bool,
}

/// Rewrites the known defects; `None` when there was nothing to repair or
/// the input is broken in some other way that must stay an error.
pub fn repair(bytes: &[u8]) -> Option<(Vec<u8>, RepairSet)> {
    let mut out = Vec::with_capacity(bytes.len() + 16);
    let mut made = RepairSet::default();
    let mut stack: Vec<Frame> = Vec::new();
    // Last place inside an error list where the output may be cut and
    // closed: (output length, stack depth).
    let mut cut: Option<(usize, usize)> = None;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
                if b == b'\'' {
                    out.pop(); // the backslash
                    made.insert(RepairKind::SingleQuoteEscape);
                }
                out.push(b);
            } else if b == b'\\' {
                escaped = true;
                out.push(b);
            } else if b == b'"' {
                in_string = false;
                out.push(b);
                if next_significant(bytes, i + 1) == Some(b'"') {
                    out.push(b',');
                    made.insert(RepairKind::MissingComma);
                }
            } else if b < 0x20 {
                push_control_escape(&mut out, b);
                made.insert(RepairKind::RawControlChar);
            } else {
                out.push(b);
            }
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'{' | b'[' => {
                let is_array = b == b'[';
                let error_list = is_array && ends_with_key(&out, b"error_code");
                stack.push(Frame {
                    open_at: out.len(),
                    is_array,
                    dict_like: false,
                    error_list,
                });
                out.push(b);
                if error_list {
                    cut = Some((out.len(), stack.len()));
                }
            }
            b'}' | b']' => {
                let frame = stack.pop()?;
                if cut.is_some_and(|(_, depth)| stack.len() < depth) {
                    cut = None;
                }
                out.push(if frame.dict_like { b'}' } else { b });
            }
            b':' => {
                if let Some(top) = stack.last_mut().filter(|f| f.is_array && !f.dict_like) {
                    top.dict_like = true;
                    out[top.open_at] = b'{';
                    made.insert(RepairKind::DictLikeList);
                }
                out.push(b);
            }
            b',' => {
                if next_significant(bytes, i + 1).is_some_and(|c| c == b'}' || c == b']') {
                    made.insert(RepairKind::TrailingComma);
                } else {
                    if stack.iter().any(|f| f.error_list) {
                        cut = Some((out.len(), stack.len()));
                    }
                    out.push(b);
                }
            }
            b'-' | b'a'..=b'z' | b'A'..=b'Z' => {
                let end = token_end(bytes, i);
                let token = &bytes[i..end];
                if is_non_finite_literal(token) {
                    out.extend_from_slice(b"null");
                    made.insert(RepairKind::NonFiniteNumber);
                } else {
                    out.extend_from_slice(token);
                }
                i = end;
                continue;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    if in_string || !stack.is_empty() {
        // Cut short: repairable only inside an error list, and only back to
        // its last whole entry.
        let (len, depth) = cut.filter(|_| stack.iter().any(|f| f.error_list))?;
        out.truncate(len);
        for frame in stack[..depth].iter().rev() {
            out.push(if frame.is_array && !frame.dict_like {
                b']'
            } else {
                b'}'
            });
        }
        made.insert(RepairKind::TruncatedErrorList);
    }
    (!made.is_empty()).then_some((out, made))
}

fn push_control_escape(out: &mut Vec<u8>, b: u8) {
    match b {
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        }
    }
}

/// Whether the output ends with `"<key>"` and a colon (whitespace allowed).
fn ends_with_key(out: &[u8], key: &[u8]) -> bool {
    let t = out.trim_ascii_end();
    let Some(t) = t.strip_suffix(b":") else {
        return false;
    };
    let t = t.trim_ascii_end();
    t.strip_suffix(b"\"")
        .and_then(|t| t.strip_suffix(key))
        .is_some_and(|t| t.ends_with(b"\""))
}

fn next_significant(bytes: &[u8], from: usize) -> Option<u8> {
    bytes
        .get(from..)?
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace())
}

fn token_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start + 1;
    while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || b"-+._".contains(&bytes[end]))
    {
        end += 1;
    }
    end
}

fn is_non_finite_literal(token: &[u8]) -> bool {
    let unsigned = token.strip_prefix(b"-").unwrap_or(token);
    [&b"nan"[..], b"inf", b"infinity"]
        .iter()
        .any(|lit| unsigned.eq_ignore_ascii_case(lit))
}

/// Repair counts of one miner, by kind. Cheap to share.
#[derive(Debug, Default)]
pub struct RepairCounts([AtomicU64; RepairKind::ALL.len()]);

impl RepairCounts {
    pub fn add(&self, made: RepairSet) {
        for kind in made.iter() {
            self.0[kind as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Replies repaired with this kind of defect so far.
    pub fn get(&self, kind: RepairKind) -> u64 {
        self.0[kind as usize].load(Ordering::Relaxed)
    }
}

tokio::task_local! {
    static SINK: Arc<RepairCounts>;
}

/// Runs `fut` with repairs made while parsing inside it counted into
/// `counts` (the parsers stay free of a miner argument this way).
pub async fn counted<F: std::future::Future>(counts: Arc<RepairCounts>, fut: F) -> F::Output {
    SINK.scope(counts, fut).await
}

/// Counts a repair into the current [`counted`] scope, if any.
pub(crate) fn note(made: RepairSet) {
    let _ = SINK.try_with(|counts| counts.add(made));
}

#[cfg(test)]
mod tests;
