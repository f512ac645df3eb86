//! The push channel a backend may offer for revocations.

use async_trait::async_trait;

use crate::error::StoreResult;

/// Wakes a node when another node revokes something (PostgreSQL `LISTEN`). Polling still runs behind it,
/// so a dropped notification connection delays revocation by at most one poll interval.
#[async_trait]
pub trait RevocationListener: Send {
    /// Returns when a notification arrives, or with an error when the connection is lost.
    async fn wait(&mut self) -> StoreResult<()>;
}
