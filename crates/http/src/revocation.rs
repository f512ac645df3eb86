//! Following the store's revocation feed, so a deletion made anywhere (another node, the CLI) reaches this
//! node's caches within one poll interval, and at once where the store can push (PostgreSQL NOTIFY).

use std::time::Duration;

use gatehouse_app::Invalidation;
use gatehouse_store::StoreResult;
use tokio::sync::watch;

use crate::state::AppState;

/// How long revocation events are kept. Far longer than any cache entry lives, so a node that falls behind
/// for a while still sees every event that could matter to it.
const RETENTION_MILLIS: i64 = 60 * 60 * 1000;
const PRUNE_EVERY: Duration = Duration::from_secs(600);
const BATCH: i64 = 1000;

pub struct RevocationFeed {
    state: AppState,
    last_seen: i64,
    applied: watch::Sender<i64>,
}

impl RevocationFeed {
    /// Starts after the newest event: this node's caches are empty, so nothing older can be stale in them.
    pub async fn start_at_head(state: AppState) -> StoreResult<Self> {
        let last_seen = state.app.store.last_revocation_id().await?;
        Ok(Self { state, last_seen, applied: watch::Sender::new(last_seen) })
    }

    /// The id of the last event whose invalidations are applied: lets a caller (a test) await the feed's
    /// catch-up instead of polling.
    pub fn applied(&self) -> watch::Receiver<i64> {
        self.applied.subscribe()
    }

    /// Applies every event newer than the last one seen.
    pub async fn catch_up(&mut self) -> StoreResult<usize> {
        let mut applied = 0;
        loop {
            let events = self.state.app.store.revocations_after(self.last_seen, BATCH).await?;
            let count = events.len();
            let now = self.state.app.now();
            for event in events {
                self.state.app.apply(&[Invalidation::of_revoked(&event.revoked)]);
                self.last_seen = event.id;
                // Both times are wall clocks, the writer's and ours: across nodes, skew adds to the lag.
                self.state.metrics.revocation_applied(event.created, now);
            }
            self.applied.send_replace(self.last_seen);
            applied += count;
            if (count as i64) < BATCH {
                self.state.metrics.revocation_feed_read(now);
                return Ok(applied);
            }
        }
    }

    /// Runs until `shutdown` changes: wakes on a notification or every `poll`, whichever comes first.
    pub async fn run(mut self, poll: Duration, mut shutdown: watch::Receiver<bool>) {
        let mut listener = self.connect_listener().await;
        let mut last_prune = tokio::time::Instant::now();
        let mut reconnect_at = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let notified = async {
                match listener.as_mut() {
                    Some(listener) => listener.wait().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                result = notified => {
                    if let Err(error) = result {
                        tracing::warn!(%error, "revocation notifications lost; polling until they are back");
                        listener = None;
                    }
                }
                () = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => return,
            }
            if let Err(error) = self.catch_up().await {
                tracing::warn!(%error, "could not read the revocation feed; will retry");
            }
            let now = tokio::time::Instant::now();
            if listener.is_none() && now >= reconnect_at {
                listener = self.connect_listener().await;
                reconnect_at = now + Duration::from_secs(5);
            }
            if now.duration_since(last_prune) >= PRUNE_EVERY {
                last_prune = now;
                let before = self.state.app.now().plus_millis(-RETENTION_MILLIS);
                if let Err(error) = self.state.app.store.prune_revocations(before).await {
                    tracing::warn!(%error, "could not prune old revocation events");
                }
            }
        }
    }

    async fn connect_listener(&self) -> Option<Box<dyn gatehouse_store::RevocationListener>> {
        match self.state.app.store.revocation_listener().await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for revocations; polling only");
                None
            }
        }
    }
}
