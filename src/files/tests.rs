use super::*;

#[test]
fn reads_a_regular_file_up_to_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f");
    std::fs::write(&p, b"12345").unwrap();
    assert_eq!(read_capped(&p, 5).unwrap(), b"12345");
    assert!(matches!(
        read_capped(&p, 4),
        Err(FileError::TooLarge { cap: 4 })
    ));
}

#[test]
fn refuses_what_is_not_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        read_capped(dir.path(), 1024),
        Err(FileError::NotRegular)
    ));
    let missing = read_capped(&dir.path().join("nope"), 1024).unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
}

#[cfg(target_os = "linux")]
#[test]
fn refuses_proc_files_and_does_not_hang_on_a_fifo() {
    // Holds this process's environment: never a secret source.
    assert!(matches!(
        read_secret(Path::new("/proc/self/environ")),
        Err(FileError::NotRegular)
    ));
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    // No writer: a blocking open would never return.
    assert!(matches!(read_secret(&fifo), Err(FileError::NotRegular)));
}

#[test]
fn secrets_drop_one_newline_and_must_hold_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pw");
    std::fs::write(&p, " pass word \n").unwrap();
    assert_eq!(read_secret(&p).unwrap().expose(), " pass word ");
    std::fs::write(&p, "crlf\r\n").unwrap();
    assert_eq!(read_secret(&p).unwrap().expose(), "crlf");
    std::fs::write(&p, " \n").unwrap();
    assert!(matches!(read_secret(&p), Err(FileError::Empty)));
}

#[test]
fn errors_never_quote_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    let content = "hunter2-".repeat(10_000);
    std::fs::write(&big, &content).unwrap();
    let e = read_secret(&big).unwrap_err().to_string();
    assert!(e.contains("larger than 65536 bytes"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    let binary = dir.path().join("bin");
    std::fs::write(&binary, b"hunter2\xff\xfe").unwrap();
    let e = read_secret(&binary).unwrap_err().to_string();
    assert!(!e.contains("hunter2"), "{e}");
    assert!(e.contains("UTF-8"), "{e}");
}
