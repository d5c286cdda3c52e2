//! Process-wide helpers shared by the commands (`serve`, `simulate`,
//! `bench`, the miner commands): the exit codes and the open-files limit.
//! They belong to no layer of the flow, like [`crate::memory`], so that the
//! benchmark and the CLI need not import each other.

/// Exit codes a shell script can act on.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Anything not covered below.
    pub const FAILURE: u8 = 1;
    /// Bad arguments or configuration (clap also uses 2).
    pub const USAGE: u8 = 2;
    /// The miner could not be reached or did not answer in time.
    pub const UNREACHABLE: u8 = 3;
    /// The miner answered, with an error or a reply we could not read.
    pub const MINER_ERROR: u8 = 4;
    /// Authentication: wrong password, token refused, write API disabled.
    pub const AUTH: u8 = 5;
}

/// Raises the soft open-files limit to the hard limit: a fleet of 5,000
/// miners needs more than the usual 1,024 descriptors. Returns the new
/// soft limit, or `None` if it could not be read.
#[cfg(unix)]
pub fn raise_nofile_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    // rlim_t is u64 on Linux but not on every unix.
    #[allow(clippy::unnecessary_cast)]
    Some(limit.rlim_cur as u64)
}

#[cfg(not(unix))]
pub fn raise_nofile_limit() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests;
