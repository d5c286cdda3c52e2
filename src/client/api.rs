//! Which miner API: [`ApiChoice`] is what the configuration (or a
//! `/probe` parameter, or the CLI's `--protocol`) asks for, [`Api`] is what
//! a miner speaks. `auto` exists only as a choice; detection turns it into
//! an [`Api`] (see [`super::detect`]). The words `v2`, `v3`, `auto` are
//! parsed here and nowhere else.

use std::fmt;
use std::str::FromStr;

/// An API a miner speaks. A new API is a variant here (with its word in
/// [`Api::as_str`] and its place in [`Api::ALL`]), a backend module in
/// [`super::backend`] with its arm in `Backends::get`, and a way to detect
/// it in [`super::detect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// API v2 on port 4028 (JSON, token flow for writes).
    V2,
    /// API v3 on port 4433 (length-framed JSON), 2024+ firmware.
    V3,
}

impl Api {
    /// Every API, in the order help texts list them.
    pub const ALL: [Api; 2] = [Api::V2, Api::V3];

    /// `"v2"` or `"v3"`: the word in the configuration, the CLI and the
    /// `protocol` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::V2 => "v2",
            Api::V3 => "v3",
        }
    }
}

/// The API asked for: one fixed API, or detect it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiChoice {
    Fixed(Api),
    /// Detect once, then remember.
    Auto,
}

impl Default for ApiChoice {
    fn default() -> Self {
        ApiChoice::V2
    }
}

impl ApiChoice {
    /// Shorthand for `Fixed(Api::V2)`, the default.
    pub const V2: ApiChoice = ApiChoice::Fixed(Api::V2);
    /// Shorthand for `Fixed(Api::V3)`.
    pub const V3: ApiChoice = ApiChoice::Fixed(Api::V3);
    const AUTO: &'static str = "auto";

    /// Every choice with its word, in the order help texts list them:
    /// each API, then `auto`.
    pub fn all() -> impl Iterator<Item = (&'static str, ApiChoice)> {
        Api::ALL
            .into_iter()
            .map(|api| (api.as_str(), ApiChoice::Fixed(api)))
            .chain([(Self::AUTO, ApiChoice::Auto)])
    }

    /// The words accepted, for help texts and errors.
    pub fn words() -> impl Iterator<Item = &'static str> {
        Self::all().map(|(word, _)| word)
    }

    /// The words as a sentence lists them: `v2, v3 or auto`.
    pub fn words_listed() -> String {
        let words: Vec<&str> = Self::words().collect();
        match words.split_last() {
            Some((last, [])) => (*last).to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ApiChoice::Fixed(api) => api.as_str(),
            ApiChoice::Auto => Self::AUTO,
        }
    }

    /// The API when the choice fixes one; `None` for `auto`.
    pub fn fixed(self) -> Option<Api> {
        match self {
            ApiChoice::Fixed(api) => Some(api),
            ApiChoice::Auto => None,
        }
    }
}

/// A word that is not `v2`, `v3` or `auto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownApi;

impl fmt::Display for UnknownApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "protocol must be {}", ApiChoice::words_listed())
    }
}

impl std::error::Error for UnknownApi {}

impl FromStr for ApiChoice {
    type Err = UnknownApi;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        Self::all()
            .find(|(w, _)| *w == word)
            .map(|(_, choice)| choice)
            .ok_or(UnknownApi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_parse_and_print_back() {
        for (word, choice) in ApiChoice::all() {
            assert_eq!(word.parse::<ApiChoice>(), Ok(choice));
            assert_eq!(choice.as_str(), word);
        }
        assert_eq!(ApiChoice::words().collect::<Vec<_>>(), ["v2", "v3", "auto"]);
        assert_eq!(UnknownApi.to_string(), "protocol must be v2, v3 or auto");
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
