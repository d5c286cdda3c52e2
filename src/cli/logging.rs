//! Log output: one line per event, as text or as flat JSON (the fields of
//! an event at the top level, as docs/admin.md shows the audit line).
//!
//! Text lines never carry a raw control character: every field value,
//! the message included, is written with control characters escaped, so a
//! value taken from a request (a miner name with `%0A`, an alert label
//! with an escape byte) cannot forge a line or drive a terminal. Colour
//! only when the output is a terminal (not a file or journald).

use std::fmt::Write as _;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::MakeWriter;

/// A subscriber that writes events at `level` (a tracing filter, checked
/// as the configuration checks it) to `writer`.
pub fn subscriber<W>(
    level: &str,
    json: bool,
    ansi: bool,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    // Through the config's check: EnvFilter panics on some non-ASCII input.
    let filter = crate::config::log_filter(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    if json {
        Box::new(builder.json().flatten_event(true).finish())
    } else {
        let fields = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
            let text = escape_controls(&format!("{value:?}"));
            match field.name() {
                "message" => w.write_str(&text),
                name => write!(w, "{}={text}", name.strip_prefix("r#").unwrap_or(name)),
            }
        })
        .delimited(" ");
        Box::new(builder.with_ansi(ansi).fmt_fields(fields).finish())
    }
}

/// Logs to stderr for the rest of the process; colour only on a terminal.
pub fn init(level: &str, json: bool) {
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal();
    let _ = tracing::subscriber::set_global_default(subscriber(level, json, ansi, std::io::stderr));
}

/// `text` with every control character (C0, DEL, C1) written as an
/// escape: `\n`, `\r`, `\t`, or `\u{1b}`.
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("rack 1"), "rack 1");
        assert_eq!(
            escape_controls("a\nb\r\x1b[31m\u{9b}\t\u{7f}"),
            "a\\nb\\r\\u{1b}[31m\\u{9b}\\t\\u{7f}"
        );
    }
}
