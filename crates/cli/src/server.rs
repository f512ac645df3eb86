//! Running the server: bind, serve, flush batched writes, shut down cleanly.
//!
//! Connections are served one by one with hyper rather than through `axum::serve`, because a slow client
//! must be bounded at the connection (issue 10, hole 5): a cap on connections served at once, a deadline
//! for a request's headers, and an idle deadline on the socket, all from `EdgeLimits`.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use gatehouse_app::keys::KeyProtection;
use axum::extract::ConnectInfo;
use gatehouse_app::{App, Settings};
use gatehouse_domain::{Clock, OsRandom, SystemClock};
use gatehouse_http::revocation::RevocationFeed;
use gatehouse_http::{AppState, EdgeLimits};
use gatehouse_store::DynStore;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    revocations_applied: tokio::sync::watch::Receiver<i64>,
    shutdown: tokio::sync::watch::Sender<bool>,
    connections: Arc<Semaphore>,
    task: tokio::task::JoinHandle<()>,
    metrics: Option<(SocketAddr, tokio::task::JoinHandle<()>)>,
}

impl Running {
    /// Connections being served now (never more than `EdgeLimits::max_connections`).
    pub fn open_connections(&self) -> usize {
        self.state.edge.max_connections.saturating_sub(self.connections.available_permits())
    }

    /// The id of the last revocation event this node has applied to its caches.
    pub fn revocations_applied(&self) -> tokio::sync::watch::Receiver<i64> {
        self.revocations_applied.clone()
    }

    /// Stops accepting, lets in-flight requests finish, and writes pending `lastUsed` values.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
        if let Some((_, metrics)) = self.metrics {
            let _ = metrics.await;
        }
    }

    /// Serves this node's Prometheus metrics at `http://ADDR/metrics` on a listener of its own (`serve
    /// --metrics-listen`), never on the main one: they are for the operator's network, not the public.
    /// `None` serves nothing. A host name is resolved; the error names the address.
    pub async fn serve_metrics(&mut self, addr: Option<&str>) -> std::io::Result<()> {
        let Some(addr) = addr else { return Ok(()) };
        let listener = TcpListener::bind(addr).await.map_err(|error| {
            std::io::Error::new(error.kind(), format!("cannot listen for metrics on {addr} (HOST:PORT, e.g. 127.0.0.1:9090): {error}"))
        })?;
        let bound = listener.local_addr()?;
        let router = gatehouse_http::metrics::router(self.state.metrics.clone(), self.state.app.clone());
        let mut shutdown = self.shutdown.subscribe();
        let task = tokio::spawn(async move {
            let stopped = async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            };
            if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(stopped).await {
                tracing::error!(%error, "the metrics listener failed");
            }
        });
        tracing::info!(metrics_addr = %bound, "metrics served on http://{bound}/metrics");
        self.metrics = Some((bound, task));
        Ok(())
    }

    /// Where metrics are served, when they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(addr, _)| *addr)
    }
}

/// A node's state: the application over `store`, with the operating system's randomness.
pub fn state(store: DynStore, clock: Arc<dyn Clock>, settings: Settings) -> AppState {
    AppState::new(App::new(store, clock, Arc::new(OsRandom), settings))
}

/// Background cadences of a running node.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    /// How often pending `lastUsed` values are written.
    pub flush_every: Duration,
    /// How often the revocation feed is polled (PostgreSQL also pushes).
    pub revocation_poll: Duration,
}

impl Default for Cadence {
    fn default() -> Self {
        Self { flush_every: Duration::from_secs(5), revocation_poll: Duration::from_millis(250) }
    }
}

/// Serves `state` on `listener` until [`Running::stop`] is called or the process is signalled.
pub async fn start(listener: TcpListener, state: AppState, cadence: Cadence) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    protect_signing_keys(&state.app).await?;
    // First start: the signing key is made now, not on the first token request.
    if let Err(error) = state.app.key_ring().await {
        tracing::error!(?error, "could not load or create the OAuth signing key");
        return Err(std::io::Error::other("could not load or create the OAuth signing key"));
    }
    let flush_every = cadence.flush_every;
    let feed = RevocationFeed::start_at_head(state.clone()).await.map_err(std::io::Error::other)?;
    let revocations_applied = feed.applied();
    let (shutdown, mut shutdown_rx) = tokio::sync::watch::channel(false);
    let feed_task = tokio::spawn(feed.run(cadence.revocation_poll, shutdown_rx.clone()));
    let app = gatehouse_http::router(state.clone());
    let limits = state.edge;
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let accepting = connections.clone();
    let flusher_state = state.clone();
    let mut flusher_shutdown = shutdown_rx.clone();
    let task = tokio::spawn(async move {
        let flusher = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(flush_every);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {
                        let app = &flusher_state.app;
                        app.usage.flush(&app.store).await;
                        if let Err(error) = app.store.purge_expired_oauth(app.now()).await {
                            tracing::warn!(%error, "could not purge expired OAuth records");
                        }
                    }
                    _ = flusher_shutdown.changed() => break,
                }
            }
            flusher_state.app.usage.flush(&flusher_state.app.store).await;
        });
        serve(listener, app, limits, accepting, &mut shutdown_rx).await;
        let _ = flusher.await;
        let _ = feed_task.await;
    });
    Ok(Running { addr, state, revocations_applied, shutdown, connections, task, metrics: None })
}

/// Accepts while a connection slot is free, serves each connection in a task of its own, and on shutdown
/// lets in-flight requests finish (for at most a request timeout) before returning.
async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: EdgeLimits,
    slots: Arc<Semaphore>,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    // No HTTP/2 keep-alive pings: they would count as activity and keep an idle connection open.
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    loop {
        // A slot first, then the accept: past the cap, clients wait in the kernel's backlog instead of
        // holding one of our file descriptors.
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, or a connection reset before it was accepted: wait a moment
                    // rather than spin, as `axum::serve` does.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(AtomicU64::new(0));
        let io = TokioIo::new(Watched { inner: stream, activity: activity.clone() });
        let router = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = graceful.watch(builder.serve_connection_with_upgrades(io, service).into_owned());
        tokio::spawn(async move {
            tokio::select! {
                served = connection => {
                    if let Err(error) = served {
                        tracing::debug!(%error, %peer, "connection ended with an error");
                    }
                }
                () = idle_watchdog(activity, limits) => tracing::debug!(%peer, "idle connection closed"),
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.request_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the request timeout; closing them");
    }
}

/// Returns when the connection has been silent too long: no first byte within the header timeout, or
/// nothing read or written for the idle timeout after that. Checked at those intervals, so a connection
/// is closed between one and two intervals after it fell silent; a request's own deadline is shorter.
async fn idle_watchdog(activity: Arc<AtomicU64>, limits: EdgeLimits) {
    tokio::time::sleep(limits.header_read_timeout).await;
    let mut seen = activity.load(Ordering::Relaxed);
    if seen == 0 {
        return;
    }
    loop {
        tokio::time::sleep(limits.idle_timeout).await;
        let now = activity.load(Ordering::Relaxed);
        if now == seen {
            return;
        }
        seen = now;
    }
}

/// A socket that counts the reads and writes that moved bytes, for the idle watchdog.
struct Watched {
    inner: TcpStream,
    activity: Arc<AtomicU64>,
}

impl Watched {
    fn touch(&self) {
        self.activity.fetch_add(1, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.touch();
        }
        polled
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, data);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Issue 10, hole 7: no node serves without a secrets key, outside the named development mode; and a store
/// written before encryption at rest has its signing keys sealed in place before the first request.
async fn protect_signing_keys(app: &App) -> std::io::Result<()> {
    match &app.settings.key_protection {
        KeyProtection::Missing => Err(std::io::Error::other(MISSING_SECRETS_KEY)),
        KeyProtection::InsecurePlaintext => {
            tracing::warn!(
                "DEVELOPMENT MODE (--insecure-dev-keys / GATEHOUSE_DEV_MODE): the OAuth signing keys are stored in clear; \
                 anyone who can read the database can sign tokens. Never run this way in production."
            );
            Ok(())
        }
        KeyProtection::Sealed(secrets) => match app.protect_signing_keys(false).await {
            Ok(done) => {
                if done.sealed_from_plaintext > 0 {
                    tracing::warn!(
                        keys = done.sealed_from_plaintext,
                        "signing keys stored in clear were encrypted in place under the secrets key; keep that key: without it they cannot be read"
                    );
                }
                tracing::info!(secrets_keys = ?secrets.key_ids(), "signing keys are encrypted at rest");
                Ok(())
            }
            Err(error) => {
                tracing::error!(%error, "could not read or encrypt the OAuth signing keys");
                Err(std::io::Error::other(format!("could not read or encrypt the OAuth signing keys: {error}")))
            }
        },
    }
}

/// What `serve` says when it has no secrets key.
pub const MISSING_SECRETS_KEY: &str = "no secrets key: the OAuth signing keys are encrypted at rest under a key only the operator holds. \
Set GATEHOUSE_SECRETS_KEY (one or more secrets of at least 32 characters, comma-separated, the encrypting one first) \
or secrets_key_file / --secrets-key-file (one a line); `gatehouse keys generate-secret` makes one. \
For development only, --insecure-dev-keys (or GATEHOUSE_DEV_MODE=1) stores the keys in clear.";

pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}
