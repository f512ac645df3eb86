//! Running the server: bind, serve, flush batched writes, shut down cleanly.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_app::keys::KeyProtection;
use gatehouse_app::{App, Settings};
use gatehouse_domain::{Clock, OsRandom, SystemClock};
use gatehouse_http::AppState;
use gatehouse_http::revocation::RevocationFeed;
use gatehouse_store::DynStore;
use tokio::net::TcpListener;

pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    revocations_applied: tokio::sync::watch::Receiver<i64>,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// The id of the last revocation event this node has applied to its caches.
    pub fn revocations_applied(&self) -> tokio::sync::watch::Receiver<i64> {
        self.revocations_applied.clone()
    }

    /// Stops accepting, lets in-flight requests finish, and writes pending `lastUsed` values.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
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
        let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = shutdown_rx.changed().await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "server stopped with an error");
        }
        let _ = flusher.await;
        let _ = feed_task.await;
    });
    Ok(Running { addr, state, revocations_applied, shutdown, task })
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
