//! `lastUsed` for API tokens without a database write per request: uses are noted in memory and written
//! in one batch per flush interval.

use std::collections::HashMap;
use std::sync::Mutex;

use gatehouse_domain::{Timestamp, TokenHash};
use gatehouse_store::DynStore;

#[derive(Default)]
pub struct UsageRecorder {
    pending: Mutex<HashMap<TokenHash, Timestamp>>,
}

impl UsageRecorder {
    pub fn note(&self, hash: TokenHash, at: Timestamp) {
        let mut pending = self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = pending.entry(hash).or_insert(at);
        if *entry < at {
            *entry = at;
        }
    }

    /// The newest use not yet written, so listings are current between flushes.
    pub fn pending_for(&self, hash: &TokenHash) -> Option<Timestamp> {
        self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(hash).copied()
    }

    pub fn forget(&self, hash: &TokenHash) {
        self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(hash);
    }

    /// Writes every pending use in one transaction. On failure the uses are put back for the next flush.
    pub async fn flush(&self, store: &DynStore) {
        let batch: Vec<(TokenHash, Timestamp)> = {
            let mut pending = self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            pending.drain().collect()
        };
        if batch.is_empty() {
            return;
        }
        if let Err(error) = store.record_api_token_use(&batch).await {
            tracing::warn!(%error, count = batch.len(), "could not record API token use; will retry");
            for (hash, at) in batch {
                self.note(hash, at);
            }
        }
    }
}
