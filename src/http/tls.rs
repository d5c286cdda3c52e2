//! TLS for the admin listener: rustls with the ring provider, TLS 1.2 and
//! 1.3, HTTP/1.1 by ALPN. The certificate chain and private key are PEM
//! files (`[admin] tls_cert_file`, `tls_key_file`). The metrics listener's
//! TLS (`web::tls`, from a web config file) uses the same reloading
//! certificate.
//!
//! They are read when the exporter starts: a file that cannot be read, or
//! a key that does not belong to the certificate, stops the start with an
//! error naming the file. The admin API never falls back to plain HTTP.
//! After that, each handshake starts a check of the files' modification
//! times and lengths on a blocking thread (one at a time), which reads them
//! again when either changed, so a renewed certificate is served without a
//! restart, from the next handshakes on; a renewal that does not load keeps
//! the previous pair and logs one warning per change. A handshake itself
//! never touches the file system: a slow file (a hung network mount) holds
//! up one blocking thread, never the runtime threads that serve `/metrics`.
//! Errors never quote file contents.

use crate::files::{self, read_capped, FileError, FileStamp};
use crate::settings::TlsFiles;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio_rustls::rustls::crypto::ring as provider;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ServerConfig};
pub use tokio_rustls::TlsAcceptor;

/// Largest PEM file read: a chain of a few certificates is a few KiB.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// A TLS acceptor for `config`, or an error that names the bad file.
pub fn acceptor(config: &TlsFiles) -> std::io::Result<TlsAcceptor> {
    let resolver = ReloadingCert::load(&config.cert_file, &config.key_file).map_err(invalid)?;
    let mut server = ServerConfig::builder_with_provider(Arc::new(provider::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| invalid(format!("TLS setup: {e}")))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    // Only HTTP/1.1 is served; say so to clients that ask.
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server)))
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

/// Modification time and length of the certificate and key files.
type Stamp = [Option<FileStamp>; 2];

/// A certificate resolver that reads `cert_file` and `key_file` again
/// when they change, or an error that names the bad file.
pub(crate) fn reloading_cert(
    cert_file: &Path,
    key_file: &Path,
) -> Result<Arc<dyn ResolvesServerCert>, String> {
    Ok(Arc::new(ReloadingCert::load(cert_file, key_file)?))
}

/// The served certificate, read again when its files change.
struct ReloadingCert(Arc<Watched>);

struct Watched {
    cert_file: PathBuf,
    key_file: PathBuf,
    /// The pair served now: a handshake only clones it.
    served: Mutex<Arc<CertifiedKey>>,
    /// The files' stamp at the last check; held while a check runs.
    stamp: Mutex<Stamp>,
    /// A check is running (or queued) on a blocking thread.
    checking: AtomicBool,
}

/// Paths only: the key pair stays out of any `Debug` output.
impl std::fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingCert")
            .field("cert_file", &self.0.cert_file)
            .field("key_file", &self.0.key_file)
            .finish_non_exhaustive()
    }
}

impl ReloadingCert {
    fn load(cert_file: &Path, key_file: &Path) -> Result<Self, String> {
        let stamp = stamp(cert_file, key_file);
        let key = load_pair(cert_file, key_file)?;
        Ok(ReloadingCert(Arc::new(Watched {
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            served: Mutex::new(Arc::new(key)),
            stamp: Mutex::new(stamp),
            checking: AtomicBool::new(false),
        })))
    }

    /// The pair to serve now, after starting a check of the files in the
    /// background: never waits for the file system.
    fn serve(&self) -> Option<Arc<CertifiedKey>> {
        Watched::check_in_background(&self.0);
        self.0.served.lock().ok().map(|pair| Arc::clone(&pair))
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.serve()
    }
}

impl Watched {
    /// Checks the files on a blocking thread, unless a check is already
    /// running (without a runtime, as in a plain unit test, right here).
    fn check_in_background(this: &Arc<Self>) {
        if this.checking.swap(true, Ordering::AcqRel) {
            return;
        }
        let watched = Arc::clone(this);
        let check = move || {
            watched.check();
            watched.checking.store(false, Ordering::Release);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(check)),
            Err(_) => check(),
        }
    }

    /// Reads the pair again if the files' stamp changed since the last
    /// check.
    fn check(&self) {
        let Ok(mut last) = self.stamp.lock() else {
            return;
        };
        let now = stamp(&self.cert_file, &self.key_file);
        if *last == now {
            return;
        }
        // Remember the new stamp even on failure: one warning per change.
        *last = now;
        match load_pair(&self.cert_file, &self.key_file) {
            Ok(key) => {
                if let Ok(mut served) = self.served.lock() {
                    *served = Arc::new(key);
                }
                tracing::info!(cert = %self.cert_file.display(), "TLS certificate reloaded");
            }
            Err(e) => {
                tracing::warn!(error = %e, "TLS certificate changed but does not load; serving the previous one");
            }
        }
    }
}

fn stamp(cert_file: &Path, key_file: &Path) -> Stamp {
    [files::stamp(cert_file), files::stamp(key_file)]
}

/// Reads the chain and key and checks that they belong together.
pub(crate) fn load_pair(cert_file: &Path, key_file: &Path) -> Result<CertifiedKey, String> {
    let cert_pem = read_limited(cert_file)?;
    let key_pem = read_limited(key_file)?;
    pair_from_pem(
        &cert_pem,
        &key_pem,
        &cert_file.display().to_string(),
        &key_file.display().to_string(),
    )
}

/// A chain and key from PEM text; `cert_name` and `key_name` say where
/// they came from in errors, which never quote the text.
pub(crate) fn pair_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
    cert_name: &str,
    key_name: &str,
) -> Result<CertifiedKey, String> {
    let chain = certificates(cert_pem, cert_name)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
        format!(
            "{key_name}: {} (expected a PKCS#8, PKCS#1 or SEC1 private key)",
            pem_problem(&e)
        )
    })?;
    let signer = provider::sign::any_supported_type(&key)
        .map_err(|_| format!("{key_name}: unsupported private key type"))?;
    let pair = CertifiedKey::new(chain, signer);
    pair.keys_match().map_err(|_| {
        format!("{key_name} does not hold the key of the certificate in {cert_name}")
    })?;
    Ok(pair)
}

/// Every certificate in PEM text; at least one.
pub(crate) fn certificates(pem: &[u8], name: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{name}: {}", pem_problem(&e)))?;
    if chain.is_empty() {
        return Err(format!("{name}: no CERTIFICATE in the file"));
    }
    Ok(chain)
}

pub(crate) fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    read_capped(path, MAX_PEM_BYTES).map_err(|e| match e {
        FileError::Io(e) => format!("{}: {}", path.display(), e.kind()),
        FileError::TooLarge { .. } => format!("{}: over {MAX_PEM_BYTES} bytes", path.display()),
        other => format!("{}: {other}", path.display()),
    })
}

/// What is wrong with a PEM file, without quoting any of it.
fn pem_problem(e: &pem::Error) -> &'static str {
    match e {
        pem::Error::NoItemsFound => "no PEM section of the expected type",
        pem::Error::MissingSectionEnd { .. } => "a PEM section has no END line",
        pem::Error::IllegalSectionStart { .. } => "a malformed BEGIN line",
        pem::Error::Base64Decode(_) => "invalid base64 in a PEM section",
        pem::Error::SectionTooLarge => "a PEM section is too large",
        _ => "cannot read the PEM file",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    fn self_signed() -> (String, String) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("rcgen");
        (cert.cert.pem(), cert.key_pair.serialize_pem())
    }

    #[test]
    fn a_matching_pair_loads_and_debug_shows_no_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = self_signed();
        let config = TlsFiles {
            cert_file: write(dir.path(), "cert.pem", &cert),
            key_file: write(dir.path(), "key.pem", &key),
        };
        assert!(acceptor(&config).is_ok());
        let resolver = ReloadingCert::load(&config.cert_file, &config.key_file).expect("loads");
        let debug = format!("{resolver:?}");
        assert!(debug.contains("key.pem"), "{debug}");
        let key_line = key.lines().nth(1).expect("a base64 line");
        assert!(!debug.contains(&key_line[..16]), "{debug}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_handshake_never_waits_for_a_check_of_the_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = self_signed();
        let cert_file = write(dir.path(), "cert.pem", &cert);
        let key_file = write(dir.path(), "key.pem", &key);
        let resolver = ReloadingCert::load(&cert_file, &key_file).expect("loads");
        let old = resolver.serve().expect("a pair");
        // A check stuck on the file system (a hung mount): its lock held.
        let stuck = resolver.0.stamp.lock().expect("lock");
        let (cert2, key2) = self_signed();
        std::fs::write(&cert_file, &cert2).expect("write");
        std::fs::write(&key_file, &key2).expect("write");
        let started = std::time::Instant::now();
        for _ in 0..100 {
            let served = resolver.serve().expect("a pair");
            assert!(
                Arc::ptr_eq(&served, &old),
                "the old pair until the check ends"
            );
        }
        eprintln!(
            "100 handshakes' certificates during a stuck check: {:?}",
            started.elapsed()
        );
        drop(stuck);
        // Once the check can run, the renewed pair is served.
        let mut renewed = false;
        for _ in 0..500 {
            if !Arc::ptr_eq(&resolver.serve().expect("a pair"), &old) {
                renewed = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(renewed, "the renewed pair was never served");
    }

    #[test]
    fn bad_files_are_refused_without_quoting_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = self_signed();
        let (other_cert, _) = self_signed();
        let cert_path = write(dir.path(), "cert.pem", &cert);
        let key_path = write(dir.path(), "key.pem", &key);
        let secret_line = key.lines().nth(1).expect("a base64 line").to_string();
        let broken_key = key.replace(&secret_line, &format!("{secret_line}!!"));
        let cases = [
            (
                write(dir.path(), "c1", "not pem"),
                key_path.clone(),
                "no CERTIFICATE",
            ),
            (
                cert_path.clone(),
                write(dir.path(), "k1", &cert),
                "expected a PKCS#8",
            ),
            (
                cert_path.clone(),
                write(dir.path(), "k2", &broken_key),
                "k2: ",
            ),
            (
                write(dir.path(), "c2", &other_cert),
                key_path.clone(),
                "does not hold the key",
            ),
            (cert_path.clone(), dir.path().join("absent"), "not found"),
        ];
        for (cert_file, key_file, want) in cases {
            let config = TlsFiles {
                cert_file,
                key_file,
            };
            let e = acceptor(&config).err().expect("refused").to_string();
            assert!(e.contains(want), "{e}");
            assert!(!e.contains(&secret_line[..20]), "quotes the key: {e}");
        }
    }
}
