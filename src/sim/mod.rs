//! A protocol-faithful simulated fleet of Whatsminer miners (API v2), for
//! tests, demos and benchmarks. The server side of the protocol, including
//! the writeable-command crypto, is written independently of the client.

pub mod crypto;
