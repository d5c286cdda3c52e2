//! Which miner API: [`ApiChoice`] is what the configuration (or a
//! `/probe` parameter, or the CLI's `--protocol`) asks for, [`Api`] is what
//! a miner speaks. `auto` exists only as a choice; detection turns it into
//! an [`Api`] (see [`super::detect`]). The words `v2`, `v3`, `auto` are
//! parsed here and nowhere else.

use std::fmt;
use std::str::FromStr;

/// An API a miner speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// API v2 on port 4028 (JSON, token flow for writes).
    V2,
    /// API v3 on port 4433 (length-framed JSON), 2024+ firmware.
    V3,
}

impl Api {
    /// `"v2"` or `"v3"`, the `protocol` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::V2 => "v2",
            Api::V3 => "v3",
        }
    }
}

/// The API asked for: one fixed API, or detect it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiChoice {
    #[default]
    V2,
    V3,
    /// Detect once, then remember.
    Auto,
}

impl ApiChoice {
    /// Every choice with its word, in the order help texts list them.
    pub const ALL: [(&'static str, ApiChoice); 3] = [
        ("v2", ApiChoice::V2),
        ("v3", ApiChoice::V3),
        ("auto", ApiChoice::Auto),
    ];

    /// The words accepted, for help texts and errors.
    pub const WORDS: [&'static str; 3] = ["v2", "v3", "auto"];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiChoice::V2 => "v2",
            ApiChoice::V3 => "v3",
            ApiChoice::Auto => "auto",
        }
    }

    /// The API when the choice fixes one; `None` for `auto`.
    pub fn fixed(self) -> Option<Api> {
        match self {
            ApiChoice::V2 => Some(Api::V2),
            ApiChoice::V3 => Some(Api::V3),
            ApiChoice::Auto => None,
        }
    }
}

/// A word that is not `v2`, `v3` or `auto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownApi;

impl fmt::Display for UnknownApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("protocol must be v2, v3 or auto")
    }
}

impl std::error::Error for UnknownApi {}

impl FromStr for ApiChoice {
    type Err = UnknownApi;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, choice)| *choice)
            .ok_or(UnknownApi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_parse_and_print_back() {
        for (word, choice) in ApiChoice::ALL {
            assert_eq!(word.parse::<ApiChoice>(), Ok(choice));
            assert_eq!(choice.as_str(), word);
        }
        assert_eq!(
            ApiChoice::WORDS.to_vec(),
            ApiChoice::ALL.map(|(w, _)| w).to_vec()
        );
        for bad in ["", "V2", "v4", "auto "] {
            assert_eq!(bad.parse::<ApiChoice>(), Err(UnknownApi), "{bad:?}");
        }
    }

    #[test]
    fn only_auto_leaves_the_api_open() {
        assert_eq!(ApiChoice::V2.fixed(), Some(Api::V2));
        assert_eq!(ApiChoice::V3.fixed().map(Api::as_str), Some("v3"));
        assert_eq!(ApiChoice::Auto.fixed(), None);
        assert_eq!(ApiChoice::default(), ApiChoice::V2);
    }
}
