//! Make's per-organization rate limit: `license.apiLimit` requests per minute, answered 429 with Make's
//! message and `Retry-After` once exceeded (reference §5.1).
//!
//! Fixed one-minute windows, counted per node: behind a load balancer with N nodes an organization can
//! make up to N × apiLimit requests a minute. Counting is in memory, off the database.

use std::collections::HashMap;
use std::sync::Mutex;

use gatehouse_domain::{OrganizationId, Timestamp};

const WINDOW_MILLIS: i64 = 60_000;

#[derive(Default)]
pub struct OrganizationLimiter {
    windows: Mutex<HashMap<OrganizationId, (i64, i64)>>,
}

/// Refused: retry after this many seconds.
#[derive(Debug, PartialEq, Eq)]
pub struct Exceeded {
    pub retry_after_secs: u64,
}

impl OrganizationLimiter {
    /// Counts one request for `organization` and refuses it when the minute's quota is spent.
    pub fn check(&self, organization: OrganizationId, limit_per_minute: i64, now: Timestamp) -> Result<(), Exceeded> {
        let window = now.as_millis().div_euclid(WINDOW_MILLIS);
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() > 100_000 {
            // Bound memory: drop windows that have ended.
            windows.retain(|_, (start, _)| *start == window);
        }
        let entry = windows.entry(organization).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= limit_per_minute {
            let window_end = (window + 1) * WINDOW_MILLIS;
            let retry_after_millis = window_end - now.as_millis();
            return Err(Exceeded { retry_after_secs: ((retry_after_millis + 999) / 1000).max(1) as u64 });
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_resets_with_each_minute() {
        let limiter = OrganizationLimiter::default();
        let start = Timestamp::from_millis(120_000);
        assert!(limiter.check(OrganizationId(1), 2, start).is_ok());
        assert!(limiter.check(OrganizationId(1), 2, start.plus_millis(10)).is_ok());
        assert_eq!(limiter.check(OrganizationId(1), 2, start.plus_secs(15)), Err(Exceeded { retry_after_secs: 45 }));
        assert!(limiter.check(OrganizationId(2), 2, start).is_ok(), "organizations are counted apart");
        assert!(limiter.check(OrganizationId(1), 2, start.plus_secs(60)).is_ok(), "a new minute");
    }
}
