//! HTTP/1 serving plumbing shared by the metrics and admin listeners:
//! accept loop, per-connection limits, slow-client timeouts, optional TLS
//! (admin listener) and graceful shutdown. Routing lives in the callers.
//!
//! A full listener closes its oldest connection that has not yet sent a
//! request (see [`Waiting`]): connections that only send half a header
//! cannot starve a client that sends its request at once (issue 19: 64
//! such connections held an authenticated admin request for 9.7 s).

use super::write_timeout::WriteTimeout;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify, Semaphore};

/// Response bodies: whole (`Full`) for small answers, streamed in chunks
/// for `/metrics`, whose text for a large fleet runs to tens of megabytes.
pub type Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
/// A router: request in, response out. Never fails: errors are responses.
pub type Router =
    Arc<dyn Fn(Request<Incoming>, std::net::SocketAddr) -> BoxFuture<Response<Body>> + Send + Sync>;

/// Limits that protect the exporter from slow or greedy clients.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// A client must send its request headers within this time.
    pub header_read_timeout: Duration,
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
    /// A response write that makes no progress this long ends the
    /// connection (a client that stopped reading).
    pub write_stall_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(10),
            write_stall_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` turns true, then lets
/// in-flight requests finish (up to the grace period). With `tls`, every
/// connection must complete a TLS handshake within the header read timeout
/// (in its own task: a silent client never holds up the accept loop).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
    limits: ServerLimits,
    tls: Option<super::tls::TlsAcceptor>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let waiting = Arc::new(Waiting::default());
    loop {
        // Accept first, then take a slot: a full listener then knows that
        // someone is waiting and makes room by closing its oldest
        // connection without a request (if any; otherwise the newcomer
        // waits for a slot as before).
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                waiting.close_oldest();
                tokio::select! {
                    permit = slots.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => break },
                    _ = shutdown.changed() => break,
                }
            }
        };
        let router = router.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        let (id, closed) = waiting.add();
        let waiting = waiting.clone();
        tokio::spawn(async move {
            let served = async {
                match tls {
                    None => {
                        serve_connection(stream, peer, router, limits, watcher, (id, &waiting))
                            .await
                    }
                    Some(acceptor) => {
                        let handshake = acceptor.accept(stream);
                        match tokio::time::timeout(limits.header_read_timeout, handshake).await {
                            Ok(Ok(stream)) => {
                                serve_connection(
                                    stream,
                                    peer,
                                    router,
                                    limits,
                                    watcher,
                                    (id, &waiting),
                                )
                                .await
                            }
                            Ok(Err(e)) => {
                                tracing::debug!(error = %e, %peer, "TLS handshake failed")
                            }
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        }
                    }
                }
            };
            tokio::select! {
                _ = served => {}
                _ = closed.notified() => {
                    tracing::debug!(%peer, "connection closed: no request yet and the listener is full")
                }
            }
            waiting.remove(id);
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {},
        _ = tokio::time::sleep(limits.shutdown_grace) => tracing::warn!("shutdown grace period over; dropping connections"),
    }
}

/// Serves HTTP/1 on one accepted (and, for TLS, handshaken) connection.
async fn serve_connection<S>(
    stream: S,
    peer: std::net::SocketAddr,
    router: Router,
    limits: ServerLimits,
    watcher: hyper_util::server::graceful::Watcher,
    (id, waiting): (u64, &Arc<Waiting>),
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let waiting = Arc::clone(waiting);
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        // A request head arrived: the connection is no longer evictable.
        waiting.remove(id);
        let fut = router(req, peer);
        async move { Ok::<_, std::convert::Infallible>(fut.await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(64 * 1024)
        .serve_connection(
            TokioIo::new(WriteTimeout::new(stream, limits.write_stall_timeout)),
            service,
        );
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, %peer, "connection ended with an error");
    }
}

/// Connections accepted that have not yet sent a complete request head
/// (TLS handshake included), oldest first, each with the signal that
/// closes it.
#[derive(Default)]
struct Waiting {
    next_id: std::sync::atomic::AtomicU64,
    open: Mutex<BTreeMap<u64, Arc<Notify>>>,
}

impl Waiting {
    fn add(&self) -> (u64, Arc<Notify>) {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let closed = Arc::new(Notify::new());
        if let Ok(mut open) = self.open.lock() {
            open.insert(id, closed.clone());
        }
        (id, closed)
    }

    fn remove(&self, id: u64) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(&id);
        }
    }

    /// Closes the oldest connection still without a request, if any.
    fn close_oldest(&self) {
        let oldest = self.open.lock().ok().and_then(|mut open| open.pop_first());
        if let Some((_, closed)) = oldest {
            // `notify_one` keeps the signal if the task is not waiting yet.
            closed.notify_one();
        }
    }
}

/// A plain-text response.
pub fn text(status: hyper::StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    respond(status, "text/plain; charset=utf-8", body)
}

pub fn respond(
    status: hyper::StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    use http_body_util::BodyExt;
    let mut resp = Response::new(Full::new(body.into()).boxed());
    *resp.status_mut() = status;
    set_content_type(&mut resp, content_type);
    resp
}

/// The content type, and `nosniff`: error bodies may quote a (cut) target,
/// which a browser must never take for HTML.
fn set_content_type(resp: &mut Response<Body>, content_type: &'static str) {
    use hyper::header::{HeaderValue, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}

/// Reads a request body up to `max` bytes within `timeout`; a bigger or
/// slower body is the client's fault (413 / 408).
pub async fn read_body(
    body: Incoming,
    max: usize,
    timeout: Duration,
) -> Result<Bytes, Response<Body>> {
    use http_body_util::BodyExt;
    let limited = http_body_util::Limited::new(body, max);
    match tokio::time::timeout(timeout, limited.collect()).await {
        Err(_) => Err(text(
            hyper::StatusCode::REQUEST_TIMEOUT,
            "request body too slow\n",
        )),
        Ok(Err(e)) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(text(
                    hyper::StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body over {max} bytes\n"),
                ))
            } else {
                Err(text(
                    hyper::StatusCode::BAD_REQUEST,
                    "could not read request body\n",
                ))
            }
        }
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// A body fed chunk by chunk from a channel, so the sender never holds the
/// whole response in memory. The stream ends when the sender is dropped.
pub struct ChannelBody {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
}

impl ChannelBody {
    pub fn new(rx: tokio::sync::mpsc::Receiver<Bytes>) -> Self {
        ChannelBody { rx }
    }
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|data| Ok(hyper::body::Frame::data(data))))
    }
}

/// A streamed response from a [`ChannelBody`].
pub fn respond_stream(
    status: hyper::StatusCode,
    content_type: &'static str,
    rx: tokio::sync::mpsc::Receiver<Bytes>,
) -> Response<Body> {
    use http_body_util::BodyExt;
    let mut resp = Response::new(ChannelBody::new(rx).boxed());
    *resp.status_mut() = status;
    set_content_type(&mut resp, content_type);
    resp
}
