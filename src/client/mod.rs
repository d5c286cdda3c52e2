//! Typed Whatsminer commands. (Only the reply types live here so far; the
//! client that sends commands joins them.)

pub mod types;
