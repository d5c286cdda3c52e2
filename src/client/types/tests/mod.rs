//! Unit tests of the v2 reply types, by topic: the fixture replies
//! (`fixtures`), the real captures of issue 16 (`captures`), and bad or
//! truncated input (`robustness`).

/// The bytes of a file in `tests/fixtures/v2`, for the topic modules below
/// (the path is relative to the file that invokes it, one of those).
macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../../../tests/fixtures/v2/", $name))
    };
}

mod captures;
mod fixtures;
mod robustness;
