//! Group commit: concurrent writes of one kind share a transaction, and so share its `fsync`.
//!
//! Each backend with `synchronous = FULL` (SQLite) or a flushing commit (PostgreSQL) pays one disk flush per
//! transaction. Token creation under load used to be one transaction per request; here a single committer
//! task takes whatever has queued up while the previous batch was committing, commits it as one
//! transaction, and only then answers each caller. So the durability guarantee is unchanged — a caller
//! hears "stored" only once its row is committed — while N concurrent creations cost one flush, not N.
//! Batches form by themselves under load and are of size one when idle, so nothing waits on a timer.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

/// The most token rows one transaction takes.
pub(crate) const TOKEN_BATCH: usize = 256;

/// Work queued for the committer: the item and where to send its outcome.
type Job<T, R> = (T, oneshot::Sender<R>);

/// The handle callers submit through. Dropping every handle stops the committer task.
pub(crate) struct Committer<T, R> {
    queue: mpsc::Sender<Job<T, R>>,
}

impl<T: Send + 'static, R: Send + 'static> Committer<T, R> {
    /// Spawns the committer on the current tokio runtime. `commit` receives up to `max_batch` items and
    /// returns one outcome per item, in order; it is called again only after the previous call returned.
    pub(crate) fn spawn<F, Fut>(max_batch: usize, mut commit: F) -> Self
    where
        F: FnMut(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        // The queue is bounded so that a stalled database pushes back on callers instead of growing memory.
        let (queue, mut jobs) = mpsc::channel::<Job<T, R>>(max_batch * 4);
        tokio::spawn(async move {
            let mut items = Vec::with_capacity(max_batch);
            let mut replies = Vec::with_capacity(max_batch);
            while let Some((item, reply)) = jobs.recv().await {
                items.push(item);
                replies.push(reply);
                while items.len() < max_batch {
                    match jobs.try_recv() {
                        Ok((item, reply)) => {
                            items.push(item);
                            replies.push(reply);
                        }
                        Err(_) => break,
                    }
                }
                let outcomes = commit(std::mem::take(&mut items)).await;
                debug_assert_eq!(outcomes.len(), replies.len());
                for (reply, outcome) in replies.drain(..).zip(outcomes) {
                    // A caller that went away (its connection closed) no longer needs the answer; its row is
                    // committed all the same, as it would have been without batching.
                    let _ = reply.send(outcome);
                }
            }
        });
        Self { queue }
    }

    /// Queues `item` and waits for its outcome; `None` if the committer has stopped (it panicked, or the
    /// runtime is shutting down).
    pub(crate) async fn submit(&self, item: T) -> Option<R> {
        let (reply, outcome) = oneshot::channel();
        self.queue.send((item, reply)).await.ok()?;
        outcome.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn each_caller_gets_its_own_outcome_in_order() {
        let committer = Committer::spawn(8, |batch: Vec<u32>| async move { batch.into_iter().map(|n| n * 10).collect() });
        let committer = Arc::new(committer);
        let handles: Vec<_> = (0..50u32)
            .map(|n| {
                let committer = committer.clone();
                tokio::spawn(async move { (n, committer.submit(n).await) })
            })
            .collect();
        for handle in handles {
            let (n, outcome) = handle.await.expect("task");
            assert_eq!(outcome, Some(n * 10));
        }
    }

    #[tokio::test]
    async fn concurrent_submissions_share_batches() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let committer = Arc::new(Committer::spawn(64, move |batch: Vec<u32>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                // A slow commit, so that submissions pile up behind it.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                batch
            }
        }));
        let handles: Vec<_> = (0..64u32)
            .map(|n| {
                let committer = committer.clone();
                tokio::spawn(async move { committer.submit(n).await })
            })
            .collect();
        for handle in handles {
            assert!(handle.await.expect("task").is_some());
        }
        let calls = calls.load(Ordering::SeqCst);
        assert!(calls < 64, "64 concurrent submissions took {calls} commits");
    }
}
