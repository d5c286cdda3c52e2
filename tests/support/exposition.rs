//! A small reader of the Prometheus text format, enough to look up the
//! exporter's samples in tests (promtool does the strict validation).

use std::collections::BTreeMap;

/// One sample line: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }

    /// Whether every (name, value) pair of `wanted` is among the labels.
    pub fn has(&self, wanted: &[(&str, &str)]) -> bool {
        wanted.iter().all(|(k, v)| self.label(k) == Some(*v))
    }
}

/// Parses every sample line; comments and blank lines are skipped.
pub fn parse(text: &str) -> Result<Vec<Sample>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|(number, line)| {
            parse_line(line).map_err(|e| format!("line {}: {e}: {line}", number + 1))
        })
        .collect()
}

fn parse_line(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(['{', ' '])
        .ok_or_else(|| "no value".to_string())?;
    let name = line.get(..name_end).unwrap_or_default().to_string();
    let mut rest = line.get(name_end..).unwrap_or_default();
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let (parsed, after) = parse_labels(inner)?;
        labels = parsed;
        rest = after;
    }
    let value_text = rest
        .split_whitespace()
        .next()
        .ok_or_else(|| "no value".to_string())?;
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().map_err(|_| format!("bad value {other:?}"))?,
    };
    Ok(Sample {
        name,
        labels,
        value,
    })
}

/// Reads `k="v",...}` and returns the labels and what follows the brace.
fn parse_labels(mut text: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    loop {
        text = text.trim_start_matches([',', ' ']);
        if let Some(after) = text.strip_prefix('}') {
            return Ok((labels, after));
        }
        let (key, after_key) = text
            .split_once("=\"")
            .ok_or_else(|| "label without =\"".to_string())?;
        let mut value = String::new();
        let mut chars = after_key.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("dangling escape".into()),
                },
                Some((_, c)) => value.push(c),
            }
        };
        labels.insert(key.trim().to_string(), value);
        text = after_key.get(end + 1..).unwrap_or_default();
    }
}

/// The samples named `name` whose labels include `wanted`.
pub fn find<'a>(samples: &'a [Sample], name: &str, wanted: &[(&str, &str)]) -> Vec<&'a Sample> {
    samples
        .iter()
        .filter(|s| s.name == name && s.has(wanted))
        .collect()
}

/// The value of the single sample `name` with labels `wanted`.
pub fn value(samples: &[Sample], name: &str, wanted: &[(&str, &str)]) -> Result<f64, String> {
    match find(samples, name, wanted).as_slice() {
        [one] => Ok(one.value),
        [] => Err(format!("no sample {name}{wanted:?}")),
        many => Err(format!("{} samples {name}{wanted:?}", many.len())),
    }
}

#[test]
fn parses_labels_with_escapes_and_special_values() {
    let text = "# HELP x y\nx{a=\"q\\\"t\",b=\"l\\nn\"} 1.5\ny +Inf\nz{} -2e3\n";
    let samples = parse(text).expect("valid");
    assert_eq!(samples.len(), 3);
    assert_eq!(samples[0].label("a"), Some("q\"t"));
    assert_eq!(samples[0].label("b"), Some("l\nn"));
    assert_eq!(samples[0].value, 1.5);
    assert!(samples[1].value.is_infinite());
    assert_eq!(value(&samples, "z", &[]), Ok(-2000.0));
    assert!(parse("x{a=\"open 1\n").is_err());
}
