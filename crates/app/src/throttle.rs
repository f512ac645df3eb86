//! The login throttle: failed sign-ins per account and per client address, in a sliding window, in
//! memory. Each node throttles what it sees, which bounds guessing per node; the argon2 cost bounds it
//! further.

use std::collections::VecDeque;
use std::sync::Mutex;

use gatehouse_domain::Timestamp;

/// Failed logins per account and per client address, in a sliding window. In memory: each node throttles
/// what it sees, which bounds guessing per node; the argon2 cost bounds it further.
#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<std::collections::HashMap<String, VecDeque<Timestamp>>>,
}

pub const THROTTLE_WINDOW_SECS: i64 = 15 * 60;
pub const MAX_FAILURES_PER_ACCOUNT: usize = 5;
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;

impl LoginThrottle {
    fn prune(entries: &mut VecDeque<Timestamp>, now: Timestamp) {
        while entries.front().is_some_and(|at| at.plus_secs(THROTTLE_WINDOW_SECS) <= now) {
            entries.pop_front();
        }
    }

    /// Seconds until a login may be tried again, when any key is over its limit.
    pub fn retry_after(&self, keys: &[(String, usize)], now: Timestamp) -> Option<i64> {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut wait = None;
        for (key, limit) in keys {
            if let Some(entries) = failures.get_mut(key) {
                Self::prune(entries, now);
                if entries.len() >= *limit
                    && let Some(oldest) = entries.front()
                {
                    let secs = (oldest.plus_secs(THROTTLE_WINDOW_SECS).as_millis() - now.as_millis() + 999) / 1000;
                    wait = Some(wait.map_or(secs, |w: i64| w.max(secs)));
                }
            }
        }
        wait
    }

    pub fn record_failure(&self, keys: &[(String, usize)], now: Timestamp) {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if failures.len() > 100_000 {
            failures.retain(|_, entries| {
                Self::prune(entries, now);
                !entries.is_empty()
            });
        }
        for (key, _) in keys {
            let entries = failures.entry(key.clone()).or_default();
            Self::prune(entries, now);
            entries.push_back(now);
        }
    }

    pub fn clear(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(key);
    }
}
