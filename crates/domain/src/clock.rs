//! Time is a parameter: every rule that depends on "now" takes it from a [`Clock`].

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::time::Timestamp;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The wall clock. The only place in Gatehouse that reads it.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods, reason = "the one place that reads the wall clock")]
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(chrono::Utc::now().timestamp_millis())
    }
}

/// A clock that tests move by hand, so expiry and grace windows are tested without sleeping.
#[derive(Debug, Clone)]
pub struct MockClock {
    millis: Arc<AtomicI64>,
}

impl MockClock {
    pub fn new(start: Timestamp) -> Self {
        Self { millis: Arc::new(AtomicI64::new(start.as_millis())) }
    }

    pub fn advance_millis(&self, millis: i64) {
        self.millis.fetch_add(millis, Ordering::SeqCst);
    }

    pub fn advance_secs(&self, secs: i64) {
        self.advance_millis(secs * 1000);
    }

    pub fn set(&self, at: Timestamp) {
        self.millis.store(at.as_millis(), Ordering::SeqCst);
    }
}

impl Clock for MockClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.millis.load(Ordering::SeqCst))
    }
}
