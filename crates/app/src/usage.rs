//! `lastUsed` for API tokens without a database write per request, and without a lock per request.
//!
//! Each verified token carries a [`UsageCell`]: the newest use as an atomic, and a "pending" flag. A request
//! raises the atomic (usually it is already at this millisecond, so it only reads it) and, only when the
//! token has no use waiting to be written, puts the cell in one of [`SHARDS`] pending maps. So a token in
//! steady use takes one shard lock per flush interval, not one per request. The flusher drains the maps and
//! writes every pending use in one transaction.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use gatehouse_domain::{Timestamp, TokenHash};
use gatehouse_store::DynStore;

/// Enough that two cores never queue on one lock; a power of two so that a hash byte picks the shard.
const SHARDS: usize = 16;
/// `last_used` of a cell that has seen no use yet.
const NEVER: i64 = i64::MIN;

/// One token's newest use not yet written.
#[derive(Debug)]
pub struct UsageCell {
    last_used: AtomicI64,
    pending: AtomicBool,
}

impl Default for UsageCell {
    fn default() -> Self {
        Self { last_used: AtomicI64::new(NEVER), pending: AtomicBool::new(false) }
    }
}

impl UsageCell {
    fn newest(&self) -> Option<Timestamp> {
        let millis = self.last_used.load(Ordering::SeqCst);
        (millis != NEVER).then(|| Timestamp::from_millis(millis))
    }
}

type Pending = HashMap<TokenHash, Arc<UsageCell>>;

pub struct UsageRecorder {
    shards: [Mutex<Pending>; SHARDS],
}

impl Default for UsageRecorder {
    fn default() -> Self {
        Self { shards: std::array::from_fn(|_| Mutex::new(HashMap::new())) }
    }
}

impl UsageRecorder {
    fn shard(&self, hash: &TokenHash) -> MutexGuard<'_, Pending> {
        // The hash is SHA-256 output: any byte is uniform.
        let index = hash.as_bytes()[0] as usize % SHARDS;
        self.shards[index].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Notes a use of the token behind `cell`. Lock-free unless the token had no use waiting to be written.
    pub fn note(&self, hash: &TokenHash, cell: &Arc<UsageCell>, at: Timestamp) {
        let at = at.as_millis();
        // Within one millisecond every request but the first only reads: no cache line bouncing between cores.
        if cell.last_used.load(Ordering::Relaxed) < at {
            cell.last_used.fetch_max(at, Ordering::SeqCst);
        }
        // SeqCst on both sides pairs with `flush`, which clears `pending` before it reads `last_used`: either
        // the flusher reads this use, or this request sees `pending` cleared and queues the cell again.
        if cell.pending.load(Ordering::SeqCst) || cell.pending.swap(true, Ordering::SeqCst) {
            return;
        }
        let mut shard = self.shard(hash);
        match shard.entry(*hash) {
            Entry::Vacant(vacant) => {
                vacant.insert(cell.clone());
            }
            Entry::Occupied(mut occupied) => {
                // The token was verified again (its cache entry expired) while its old cell was pending:
                // carry the old cell's newest use over, so that it is not lost.
                if !Arc::ptr_eq(occupied.get(), cell) {
                    if let Some(older) = occupied.get().newest() {
                        cell.last_used.fetch_max(older.as_millis(), Ordering::SeqCst);
                    }
                    occupied.insert(cell.clone());
                }
            }
        }
    }

    /// The newest use not yet written, so listings are current between flushes.
    pub fn pending_for(&self, hash: &TokenHash) -> Option<Timestamp> {
        self.shard(hash).get(hash).and_then(|cell| cell.newest())
    }

    pub fn forget(&self, hash: &TokenHash) {
        self.shard(hash).remove(hash);
    }

    /// Writes every pending use in one transaction. On failure the uses are put back for the next flush.
    pub async fn flush(&self, store: &DynStore) {
        let mut drained: Vec<(TokenHash, Arc<UsageCell>)> = Vec::new();
        for shard in &self.shards {
            drained.extend(shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).drain());
        }
        if drained.is_empty() {
            return;
        }
        let observed: Vec<(TokenHash, Arc<UsageCell>, Timestamp)> = drained
            .into_iter()
            .filter_map(|(hash, cell)| {
                cell.pending.store(false, Ordering::SeqCst);
                let at = cell.newest()?;
                Some((hash, cell, at))
            })
            .collect();
        let batch: Vec<(TokenHash, Timestamp)> = observed.iter().map(|(hash, _, at)| (*hash, *at)).collect();
        if let Err(error) = store.record_api_token_use(&batch).await {
            tracing::warn!(%error, count = batch.len(), "could not record API token use; will retry");
            for (hash, cell, at) in &observed {
                self.note(hash, cell, *at);
            }
        }
    }

    /// How many tokens have a use waiting to be written.
    pub fn pending_count(&self) -> usize {
        self.shards.iter().map(|shard| shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: u8) -> TokenHash {
        TokenHash::of_bytes(&[n])
    }

    #[test]
    fn a_token_in_steady_use_is_queued_once_per_flush() {
        let recorder = UsageRecorder::default();
        let cell = Arc::new(UsageCell::default());
        for ms in 0..1000 {
            recorder.note(&hash(1), &cell, Timestamp::from_millis(10_000 + ms));
        }
        assert_eq!(recorder.pending_count(), 1);
        assert_eq!(recorder.pending_for(&hash(1)), Some(Timestamp::from_millis(10_999)));
    }

    #[test]
    fn an_older_use_never_replaces_a_newer_one() {
        let recorder = UsageRecorder::default();
        let cell = Arc::new(UsageCell::default());
        recorder.note(&hash(1), &cell, Timestamp::from_millis(2_000));
        recorder.note(&hash(1), &cell, Timestamp::from_millis(1_000));
        assert_eq!(recorder.pending_for(&hash(1)), Some(Timestamp::from_millis(2_000)));
    }

    #[test]
    fn a_rebuilt_cache_entry_keeps_the_pending_use_of_the_old_one() {
        let recorder = UsageRecorder::default();
        let old = Arc::new(UsageCell::default());
        recorder.note(&hash(1), &old, Timestamp::from_millis(5_000));
        let new = Arc::new(UsageCell::default());
        recorder.note(&hash(1), &new, Timestamp::from_millis(4_000));
        assert_eq!(recorder.pending_count(), 1);
        assert_eq!(recorder.pending_for(&hash(1)), Some(Timestamp::from_millis(5_000)));
    }

    #[test]
    fn forget_drops_the_pending_use() {
        let recorder = UsageRecorder::default();
        let cell = Arc::new(UsageCell::default());
        recorder.note(&hash(1), &cell, Timestamp::from_millis(5_000));
        recorder.forget(&hash(1));
        assert_eq!(recorder.pending_for(&hash(1)), None);
    }

    #[test]
    fn uses_from_many_threads_are_all_seen() {
        let recorder = Arc::new(UsageRecorder::default());
        let cells: Vec<Arc<UsageCell>> = (0..64).map(|_| Arc::new(UsageCell::default())).collect();
        let threads: Vec<_> = (0..4)
            .map(|thread| {
                let recorder = recorder.clone();
                let cells = cells.clone();
                std::thread::spawn(move || {
                    for round in 0..200 {
                        for (n, cell) in cells.iter().enumerate() {
                            recorder.note(&hash(n as u8), cell, Timestamp::from_millis(1_000 + round * 4 + thread));
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread");
        }
        assert_eq!(recorder.pending_count(), 64);
        for n in 0..64u8 {
            assert_eq!(recorder.pending_for(&hash(n)), Some(Timestamp::from_millis(1_000 + 199 * 4 + 3)));
        }
    }
}
