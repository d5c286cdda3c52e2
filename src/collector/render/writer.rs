//! A small, fast writer for the Prometheus text exposition format (0.0.4).
//! The fleet's per-miner families are written straight from snapshots,
//! without building metric objects: at 5,000 miners and ~80 series each,
//! rendering must stay in the tens of milliseconds.

use crate::collector::groups::{GroupRequest, MetricGroups};

/// Escapes a label value: backslash, double quote and newline.
#[inline]
pub fn escape_label_value(value: &str, out: &mut String) {
    // A byte scan: `str::contains` with a char set is several times slower
    // on the short values this sees hundreds of thousands of times.
    if !value.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Escapes HELP text: backslash and newline.
fn escape_help(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Gauge,
    Counter,
}

impl MetricType {
    fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::Counter => "counter",
        }
    }
}

/// Where full chunks go when the writer streams.
pub type ChunkSink = Box<dyn FnMut(String) + Send>;

/// Writes families and samples into a buffer. A streaming writer hands the
/// buffer to its sink whenever it passes the chunk size, so a fleet's
/// output never sits in memory whole.
pub struct ExpositionWriter {
    out: String,
    name: &'static str,
    sink: Option<(ChunkSink, usize)>,
    /// The request's choice of metric groups, if it made one.
    request: Option<GroupRequest>,
}

impl ExpositionWriter {
    pub fn with_capacity(bytes: usize) -> Self {
        ExpositionWriter {
            out: String::with_capacity(bytes),
            name: "",
            sink: None,
            request: None,
        }
    }

    /// A writer that passes chunks of about `chunk_bytes` to `sink`.
    pub fn streaming(chunk_bytes: usize, sink: ChunkSink) -> Self {
        ExpositionWriter {
            out: String::with_capacity(chunk_bytes + 4096),
            name: "",
            sink: Some((sink, chunk_bytes)),
            request: None,
        }
    }

    fn maybe_flush(&mut self) {
        if let Some((sink, chunk)) = &mut self.sink {
            if self.out.len() >= *chunk {
                let full = std::mem::replace(&mut self.out, String::with_capacity(*chunk + 4096));
                sink(full);
            }
        }
    }

    /// Writes into `buffer` after clearing it, keeping its capacity: a
    /// caller that reuses one buffer across scrapes saves the page faults
    /// of a fresh multi-megabyte allocation each time.
    pub fn from_buffer(mut buffer: String) -> Self {
        buffer.clear();
        ExpositionWriter {
            out: buffer,
            name: "",
            sink: None,
            request: None,
        }
    }

    /// Applies a request's choice of metric groups (`collect[]` etc.) to
    /// every miner written from now on.
    pub fn choose_groups(&mut self, request: Option<GroupRequest>) {
        self.request = request;
    }

    /// The metric groups written for a miner configured with `configured`.
    pub fn groups_for(&self, configured: MetricGroups) -> MetricGroups {
        match &self.request {
            Some(r) => r.apply(configured),
            None => configured,
        }
    }

    /// Starts a family: `# HELP` and `# TYPE` lines. Samples follow.
    pub fn family(&mut self, name: &'static str, kind: MetricType, help: &str) {
        self.name = name;
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        escape_help(help, &mut self.out);
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(kind.as_str());
        self.out.push('\n');
    }

    /// One sample of the current family. `base_labels` is a pre-escaped
    /// `k="v",k2="v2"` string (the miner's identity); `extra` are more
    /// labels whose values are escaped here.
    pub fn sample(&mut self, base_labels: &str, extra: &[(&str, &str)], value: f64) {
        self.out.push_str(self.name);
        if !base_labels.is_empty() || !extra.is_empty() {
            self.out.push('{');
            self.out.push_str(base_labels);
            let mut first = base_labels.is_empty();
            for (k, v) in extra {
                if !first {
                    self.out.push(',');
                }
                first = false;
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_label_value(v, &mut self.out);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        push_value(value, &mut self.out);
        self.out.push('\n');
        self.maybe_flush();
    }

    /// One sample whose extra labels are already escaped and joined
    /// (`k="v",k2="v2"`): for labels shared by many families, such as a
    /// pool's, escaped once per scrape instead of once per sample.
    pub fn sample_prepared(&mut self, base_labels: &str, prepared: &str, value: f64) {
        self.out.push_str(self.name);
        if !base_labels.is_empty() || !prepared.is_empty() {
            self.out.push('{');
            self.out.push_str(base_labels);
            if !base_labels.is_empty() && !prepared.is_empty() {
                self.out.push(',');
            }
            self.out.push_str(prepared);
            self.out.push('}');
        }
        self.out.push(' ');
        push_value(value, &mut self.out);
        self.out.push('\n');
        self.maybe_flush();
    }

    /// Appends text that is already in exposition format (self-metrics
    /// from the `prometheus` registry).
    pub fn append_raw(&mut self, text: &str) {
        self.out.push_str(text);
        self.maybe_flush();
    }

    /// The rest of the text; a streaming writer sends it to its sink and
    /// returns an empty string.
    pub fn finish(mut self) -> String {
        match self.sink.take() {
            Some((mut sink, _)) => {
                if !self.out.is_empty() {
                    sink(std::mem::take(&mut self.out));
                }
                String::new()
            }
            None => self.out,
        }
    }

    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }
}

/// Formats a sample value: integers without a fraction, `NaN`, `+Inf`.
#[inline]
fn push_value(value: f64, out: &mut String) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        let mut buf = itoa::Buffer::new();
        out.push_str(buf.format(value as i64));
    } else {
        let mut buf = ryu::Buffer::new();
        out.push_str(buf.format_finite(value));
    }
}

/// Builds the pre-escaped base label string for a miner.
pub fn base_labels(pairs: &[(&str, &str)]) -> String {
    // Sized for the unescaped text (`k="v"` and commas): one allocation,
    // not one per doubling, and no shrink when boxed.
    let len = pairs
        .iter()
        .map(|(k, v)| k.len() + v.len() + 4)
        .sum::<usize>();
    let mut out = String::with_capacity(len.saturating_sub(1));
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        escape_label_value(v, &mut out);
        out.push('"');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_families_and_escapes() {
        let mut w = ExpositionWriter::with_capacity(64);
        w.family("x_total", MetricType::Counter, "a \\ help\nline");
        let base = base_labels(&[("miner", "a\"b\\c\nd")]);
        w.sample(&base, &[("pool", "0")], 3.0);
        w.sample("", &[], 0.25);
        w.sample("", &[("k", "v")], f64::NAN);
        w.sample(&base, &[], f64::INFINITY);
        assert_eq!(
            w.finish(),
            "# HELP x_total a \\\\ help\\nline\n# TYPE x_total counter\n\
             x_total{miner=\"a\\\"b\\\\c\\nd\",pool=\"0\"} 3\n\
             x_total 0.25\n\
             x_total{k=\"v\"} NaN\n\
             x_total{miner=\"a\\\"b\\\\c\\nd\"} +Inf\n"
        );
    }

    #[test]
    fn streaming_sends_everything_in_order() {
        let chunks = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let seen = chunks.clone();
        let mut w =
            ExpositionWriter::streaming(64, Box::new(move |c| seen.lock().unwrap().push(c)));
        let mut plain = ExpositionWriter::with_capacity(64);
        for out in [&mut w, &mut plain] {
            out.family("x", MetricType::Gauge, "help");
            for i in 0..50 {
                out.sample("miner=\"m\"", &[], i as f64);
            }
        }
        assert_eq!(w.finish(), "");
        let chunks = chunks.lock().unwrap();
        assert!(chunks.len() > 5, "{}", chunks.len());
        assert_eq!(chunks.concat(), plain.finish());
    }

    #[test]
    fn prepared_labels_match_escaped_ones() {
        let base = base_labels(&[("miner", "m")]);
        let extra = [("url", "a\"b"), ("user", "w\\1")];
        let mut a = ExpositionWriter::with_capacity(64);
        a.family("x", MetricType::Gauge, "h");
        a.sample(&base, &extra, 1.5);
        a.sample("", &extra, 2.0);
        a.sample(&base, &[], 3.0);
        let mut b = ExpositionWriter::with_capacity(64);
        b.family("x", MetricType::Gauge, "h");
        let prepared = base_labels(&extra);
        b.sample_prepared(&base, &prepared, 1.5);
        b.sample_prepared("", &prepared, 2.0);
        b.sample_prepared(&base, "", 3.0);
        assert_eq!(a.finish(), b.finish());
    }

    #[test]
    fn large_and_fractional_values() {
        let mut s = String::new();
        push_value(1.5e20, &mut s);
        s.push(' ');
        push_value(-42.0, &mut s);
        s.push(' ');
        push_value(1e-12, &mut s);
        assert_eq!(s, "1.5e20 -42 1e-12");
    }
}
