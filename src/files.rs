//! Bounded reads of the files an operator points the exporter at: the
//! config and its target lists, secret files (config, CLI, simulator), the
//! admin API's TLS PEM files and the webhook state file. One reader for all,
//! so each gets the same guarantees:
//!
//! - the size cap bounds the read itself (`take(cap + 1)`), so a file that
//!   grows after any check still cannot make us load more than the cap;
//! - only regular files: the type is checked on the opened handle (no
//!   check-then-open race), a FIFO is opened non-blocking so it cannot hang
//!   the start, and pseudo files (`/proc`, `/sys`: "regular" with a made-up
//!   size) are refused, so `/proc/self/environ` cannot stand in for a secret;
//! - errors name the path and the cause, never the content.
//!
//! Beside the reader, the other file work shared across the program: an
//! atomic replace ([`write_atomically`]), a change stamp from metadata
//! ([`stamp`], for the watched target lists, TLS and web config files), and
//! the extension test that picks a file's format ([`has_extension`]).

use crate::secret::Secret;
use std::fmt;
use std::io::Read;
use std::path::Path;

/// Whether `path` ends in one of `extensions` (no dot, any case): how a
/// target list's or an output file's format is told.
pub fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// What tells a changed file without reading it: a rewrite changes the
/// size or the time, a rename over it (how editors and config tools save)
/// the inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: u64,
}

/// `path`'s stamp; `None` when it cannot be read now.
pub fn stamp(path: &Path) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(FileStamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        inode,
    })
}

/// Replaces `path` atomically: writes `bytes` to `<path>.tmp` beside it,
/// fsyncs, renames. A reader (Prometheus, our own `[[miner_files]]`, the
/// next start) sees the old content or the new, never half; a failed write
/// leaves no temporary file behind.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp_name);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A secret file larger than this is certainly not a password or a token.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Why a file could not be read.
#[derive(Debug)]
pub enum FileError {
    Io(std::io::Error),
    /// A directory, FIFO, device, socket, or a `/proc` or `/sys` file.
    NotRegular,
    /// The file holds more than the cap.
    TooLarge {
        cap: u64,
    },
    NotUtf8,
    /// A secret file with nothing but whitespace.
    Empty,
}

impl FileError {
    /// Whether the file does not exist (some callers treat that as "none").
    pub fn is_not_found(&self) -> bool {
        matches!(self, FileError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Io(e) => write!(f, "{e}"),
            FileError::NotRegular => f.write_str("not a regular file"),
            FileError::TooLarge { cap } => write!(f, "larger than {cap} bytes"),
            // The words std's read_to_string uses for the same failure.
            FileError::NotUtf8 => f.write_str("stream did not contain valid UTF-8"),
            FileError::Empty => f.write_str("is empty"),
        }
    }
}

impl std::error::Error for FileError {}

/// Reads a whole regular file of at most `cap` bytes.
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, FileError> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(FileError::Io)?;
    if bytes.len() as u64 > cap {
        return Err(FileError::TooLarge { cap });
    }
    Ok(bytes)
}

/// Reads a UTF-8 text file of at most `cap` bytes.
pub fn read_text(path: &Path, cap: u64) -> Result<String, FileError> {
    String::from_utf8(read_capped(path, cap)?).map_err(|_| FileError::NotUtf8)
}

/// Reads a password or token: one trailing newline (as `echo` or an editor
/// writes it) is dropped, any other whitespace kept; a file holding only
/// whitespace is refused.
pub fn read_secret(path: &Path) -> Result<Secret, FileError> {
    let mut text = read_text(path, MAX_SECRET_FILE_BYTES)?;
    if text.trim().is_empty() {
        return Err(FileError::Empty);
    }
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(Secret::new(text))
}

fn open_regular(path: &Path) -> Result<std::fs::File, FileError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading blocks until a writer comes; this does
        // not, and the type check below then refuses it.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(FileError::Io)?;
    let metadata = file.metadata().map_err(FileError::Io)?;
    if !metadata.is_file() || is_pseudo_file(&file) {
        return Err(FileError::NotRegular);
    }
    Ok(file)
}

/// Files of `/proc` and `/sys` call themselves regular; their size is made
/// up and their content is the kernel's, never an operator's.
#[cfg(target_os = "linux")]
#[allow(clippy::unnecessary_cast)] // The field's and constants' widths differ by target.
fn is_pseudo_file(file: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: `statfs` is plain data, zero is a valid value for it, and
    // `fstatfs` only writes into it; the descriptor is open for the call.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(file.as_raw_fd(), &mut fs) } != 0 {
        return false;
    }
    let kind = fs.f_type as i64;
    kind == libc::PROC_SUPER_MAGIC as i64 || kind == libc::SYSFS_MAGIC as i64
}

#[cfg(not(target_os = "linux"))]
fn is_pseudo_file(_file: &std::fs::File) -> bool {
    false
}

#[cfg(test)]
mod tests;
