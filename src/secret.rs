//! Secret values (admin password, derived keys, tokens) that must never be
//! printed. `Debug` and `Display` show `***`, so a secret that ends up in a
//! log line, an error or a panic message is masked rather than leaked.

use std::fmt;

/// A string that is never shown: `Debug` and `Display` print `***`.
///
/// The inner value is reachable only through [`Secret::expose`], which makes
/// every place that handles the plaintext easy to find with a grep.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The plaintext. Callers must not log or format the result.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads a secret from a file, trimming one trailing newline (as written
    /// by `echo` or an editor) but keeping any other whitespace.
    pub fn from_file(path: &std::path::Path) -> std::io::Result<Self> {
        let mut text = std::fs::read_to_string(path)?;
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        Ok(Secret(text))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_masked() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn from_file_trims_one_newline_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, " pass word \n").unwrap();
        assert_eq!(Secret::from_file(&p).unwrap().expose(), " pass word ");
        std::fs::write(&p, "crlf\r\n").unwrap();
        assert_eq!(Secret::from_file(&p).unwrap().expose(), "crlf");
    }
}
