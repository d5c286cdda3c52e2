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
    build(level, json, ansi, writer).0
}

/// Changes the filter of a built subscriber.
type SetFilter = Box<dyn Fn(tracing_subscriber::EnvFilter) -> Result<(), String> + Send + Sync>;

fn build<W>(
    level: &str,
    json: bool,
    ansi: bool,
    writer: W,
) -> (Box<dyn tracing::Subscriber + Send + Sync>, SetFilter)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(level))
        .with_writer(writer);
    if json {
        let builder = builder.json().flatten_event(true).with_filter_reloading();
        let handle = builder.reload_handle();
        let set: SetFilter = Box::new(move |f| handle.reload(f).map_err(|e| e.to_string()));
        (Box::new(builder.finish()), set)
    } else {
        let fields = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
            let text = escape_controls(&format!("{value:?}"));
            match field.name() {
                "message" => w.write_str(&text),
                name => write!(w, "{}={text}", name.strip_prefix("r#").unwrap_or(name)),
            }
        })
        .delimited(" ");
        let builder = builder
            .with_ansi(ansi)
            .fmt_fields(fields)
            .with_filter_reloading();
        let handle = builder.reload_handle();
        let set: SetFilter = Box::new(move |f| handle.reload(f).map_err(|e| e.to_string()));
        (Box::new(builder.finish()), set)
    }
}

/// Through the config's check: EnvFilter panics on some non-ASCII input.
fn filter(level: &str) -> tracing_subscriber::EnvFilter {
    crate::config::log_filter(level).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

/// Changes the filter of the subscriber [`init`] installed.
static SET_FILTER: std::sync::OnceLock<SetFilter> = std::sync::OnceLock::new();

/// Logs to stderr for the rest of the process; colour only on a terminal.
pub fn init(level: &str, json: bool) {
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal();
    let (subscriber, set) = build(level, json, ansi, std::io::stderr);
    if tracing::subscriber::set_global_default(subscriber).is_ok() {
        let _ = SET_FILTER.set(set);
    }
}

/// Sets the log filter (a `[log] level` on reload) of the subscriber
/// [`init`] installed; fails if there is none or `level` is not a filter.
pub fn set_level(level: &str) -> Result<(), String> {
    let filter = crate::config::log_filter(level)?;
    let set = SET_FILTER
        .get()
        .ok_or("logging was not set up by this process")?;
    set(filter)
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
    fn the_level_changes_on_a_running_subscriber() {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let writer = buf.clone();
        let make = move || Sink(writer.clone());
        let (subscriber, set) = build("info", false, false, make);
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!("before");
            set(crate::config::log_filter("debug").expect("filter")).expect("reload");
            tracing::debug!("after");
        });
        let text = String::from_utf8_lossy(&buf.lock().expect("buf")).to_string();
        assert!(!text.contains("before") && text.contains("after"), "{text}");
    }

    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(b);
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("rack 1"), "rack 1");
        assert_eq!(
            escape_controls("a\nb\r\x1b[31m\u{9b}\t\u{7f}"),
            "a\\nb\\r\\u{1b}[31m\\u{9b}\\t\\u{7f}"
        );
    }
}
