//! Counting requests and attempts in fixed windows, once for every limit Gatehouse has: Make's
//! per-organization `license.apiLimit` (reference §5.1), the optional per-token and per-client limits, the
//! token endpoint's per-client limit and the login throttle.
//!
//! A hit adds one to a counter and returns the count including it, in one atomic step (an `INCR`), so of N
//! concurrent hits exactly `limit` are allowed: there is no read-then-write to race. Windows are indexes
//! computed from the injected clock, so tests move them with a `MockClock`.
//!
//! Counters live in this node's memory, or in Redis when one is configured, so that several nodes share one
//! count. If Redis stops answering, the node counts locally (it never stops limiting and never fails a
//! request for it), logs the change once, reports it in `/health`, and goes back to Redis when it answers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use gatehouse_domain::Timestamp;

/// How limits are configured on a node (TOML `[rate_limits]`, `serve --redis-url`).
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// Counters shared between nodes; `None`: each node counts in its memory.
    pub redis_url: Option<String>,
    /// Prefixes every Redis key, so deployments (and test runs) sharing one Redis never meet.
    pub redis_prefix: String,
    /// Beyond Make: requests per minute per API token or OAuth access token. Off by default.
    pub per_token_per_minute: Option<u64>,
    /// Beyond Make: `/api/v2` requests per minute per OAuth client, all its tokens together. Off by default.
    pub per_client_per_minute: Option<u64>,
    /// Token endpoint requests per minute per client (authenticated or not).
    pub token_endpoint_per_client_per_minute: u64,
    /// Password checks per minute for one account from one address; the first rung of the login backoff.
    pub login_checks_per_minute: u64,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            redis_url: None,
            redis_prefix: "gatehouse:".into(),
            per_token_per_minute: None,
            per_client_per_minute: None,
            token_endpoint_per_client_per_minute: 600,
            login_checks_per_minute: 5,
        }
    }
}

/// A counter that cannot be reached (Redis down or slow).
#[derive(Debug, thiserror::Error)]
#[error("counter unavailable: {0}")]
pub struct CounterError(pub String);

/// Where counts are kept.
#[async_trait]
pub trait Counters: Send + Sync {
    /// Adds one to `key`'s count and returns the count including this hit. `key` already names its window;
    /// `ttl_millis` is how long the counter must outlive its window's start.
    async fn hit(&self, key: &str, ttl_millis: i64) -> Result<u64, CounterError>;

    /// Takes one back (an attempt that turned out not to count, such as a successful sign-in).
    async fn forgive(&self, key: &str) -> Result<(), CounterError>;
}

/// Counts in this node's memory. Keys carry their window, so a counter of an ended window is never read
/// again; they are dropped when the map grows past a bound.
#[derive(Default)]
pub struct MemoryCounters {
    counts: Mutex<HashMap<String, u64>>,
}

const MEMORY_BOUND: usize = 100_000;

impl MemoryCounters {
    fn hit_now(&self, key: &str) -> u64 {
        let mut counts = self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if counts.len() >= MEMORY_BOUND && !counts.contains_key(key) {
            // Dropping every counter forgives at most one window's counts; it bounds memory under a flood of
            // distinct keys (addresses, emails).
            counts.clear();
        }
        let count = counts.entry(key.to_string()).or_insert(0);
        *count += 1;
        *count
    }

    fn forgive_now(&self, key: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = counts.get_mut(key) {
            *count = count.saturating_sub(1);
        }
    }
}

#[async_trait]
impl Counters for MemoryCounters {
    async fn hit(&self, key: &str, _ttl_millis: i64) -> Result<u64, CounterError> {
        Ok(self.hit_now(key))
    }

    async fn forgive(&self, key: &str) -> Result<(), CounterError> {
        self.forgive_now(key);
        Ok(())
    }
}

/// Counts in Redis: one `INCR`, and a `PEXPIRE` on the first hit, in one script so that a counter never
/// lives without an expiry. Keys are prefixed per deployment.
pub struct RedisCounters {
    client: redis::Client,
    prefix: String,
    connection: Mutex<Option<redis::aio::MultiplexedConnection>>,
    /// When a broken connection may be tried again: a monotonic instant, not the injected clock, because
    /// it paces network retries, not a rule of the domain.
    retry_at: Mutex<Option<tokio::time::Instant>>,
    connecting: tokio::sync::Mutex<()>,
    script: redis::Script,
}

/// Redis answers in well under a millisecond on a LAN; past this the node counts locally instead of
/// making every request wait.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

const HIT_SCRIPT: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
";

impl RedisCounters {
    /// Parses the URL; connects on first use, so a node starts even while Redis is down.
    pub fn new(url: &str, prefix: &str) -> Result<Self, CounterError> {
        let client = redis::Client::open(url).map_err(|error| CounterError(format!("invalid Redis URL: {error}")))?;
        Ok(Self {
            client,
            prefix: prefix.to_string(),
            connection: Mutex::new(None),
            retry_at: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
            script: redis::Script::new(HIT_SCRIPT),
        })
    }

    async fn connection(&self) -> Result<redis::aio::MultiplexedConnection, CounterError> {
        if let Some(connection) = self.current() {
            return Ok(connection);
        }
        // One caller connects; the others wait for its outcome (bounded by the timeout) rather than each
        // opening a connection, or counting locally while Redis is merely being connected to.
        let _connecting = self.connecting.lock().await;
        if let Some(connection) = self.current() {
            return Ok(connection);
        }
        let now = tokio::time::Instant::now();
        if self.retry_at.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).is_some_and(|at| now < at) {
            return Err(CounterError("Redis is down; retrying shortly".into()));
        }
        let connected = tokio::time::timeout(REDIS_TIMEOUT, self.client.get_multiplexed_async_connection()).await;
        let error = match connected {
            Ok(Ok(connection)) => {
                *self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(connection.clone());
                return Ok(connection);
            }
            Ok(Err(error)) => CounterError(error.to_string()),
            Err(_) => CounterError("connecting to Redis timed out".into()),
        };
        *self.retry_at.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(now + RECONNECT_EVERY);
        Err(error)
    }

    fn current(&self) -> Option<redis::aio::MultiplexedConnection> {
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn drop_connection(&self) {
        *self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        *self.retry_at.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(tokio::time::Instant::now() + RECONNECT_EVERY);
    }
}

#[async_trait]
impl Counters for RedisCounters {
    async fn hit(&self, key: &str, ttl_millis: i64) -> Result<u64, CounterError> {
        let mut connection = self.connection().await?;
        let key = format!("{}{key}", self.prefix);
        let mut invocation = self.script.key(&key);
        invocation.arg(ttl_millis.max(1));
        let invoked = invocation.invoke_async::<u64>(&mut connection);
        match tokio::time::timeout(REDIS_TIMEOUT, invoked).await {
            Ok(Ok(count)) => Ok(count),
            Ok(Err(error)) => {
                self.drop_connection();
                Err(CounterError(error.to_string()))
            }
            Err(_) => {
                self.drop_connection();
                Err(CounterError("Redis did not answer in time".into()))
            }
        }
    }

    async fn forgive(&self, key: &str) -> Result<(), CounterError> {
        let mut connection = self.connection().await?;
        let key = format!("{}{key}", self.prefix);
        let mut command = redis::cmd("DECR");
        command.arg(&key);
        let decremented = command.query_async::<i64>(&mut connection);
        match tokio::time::timeout(REDIS_TIMEOUT, decremented).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => {
                self.drop_connection();
                Err(CounterError(error.to_string()))
            }
            Err(_) => {
                self.drop_connection();
                Err(CounterError("Redis did not answer in time".into()))
            }
        }
    }
}

/// A limit: at most `limit` hits per `window_millis`, named so that keys and logs say which limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub name: &'static str,
    pub limit: u64,
    pub window_millis: i64,
}

impl Rule {
    pub const fn per_minute(name: &'static str, limit: u64) -> Self {
        Self { name, limit, window_millis: 60_000 }
    }
}

/// The outcome of one hit, as the `RateLimit-*` headers report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the window ends (at least 1).
    pub reset_secs: u64,
    pub allowed: bool,
}

/// Whether counts are shared between nodes right now, as `/health` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountingMode {
    /// No Redis configured, or Redis unreachable: each node counts what it sees.
    Local,
    Shared,
}

impl CountingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CountingMode::Local => "local",
            CountingMode::Shared => "shared",
        }
    }
}

/// Every limit's counters: shared ones when configured, with this node's memory behind them.
pub struct Limiter {
    local: MemoryCounters,
    shared: Option<Box<dyn Counters>>,
    degraded: AtomicBool,
    refusals: Refusals,
}

/// How many hits each rule refused on this node since it started, for `/metrics`. Only refusals take the
/// lock; an allowed hit costs nothing more.
#[derive(Default)]
struct Refusals(Mutex<Vec<(&'static str, u64)>>);

impl Refusals {
    fn count(&self, rule: &'static str) {
        let mut counts = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match counts.iter_mut().find(|(name, _)| *name == rule) {
            Some((_, count)) => *count += 1,
            None => counts.push((rule, 1)),
        }
    }
}

impl Default for Limiter {
    fn default() -> Self {
        Self::local()
    }
}

impl Limiter {
    pub fn local() -> Self {
        Self { local: MemoryCounters::default(), shared: None, degraded: AtomicBool::new(false), refusals: Refusals::default() }
    }

    pub fn shared(counters: Box<dyn Counters>) -> Self {
        Self {
            local: MemoryCounters::default(),
            shared: Some(counters),
            degraded: AtomicBool::new(false),
            refusals: Refusals::default(),
        }
    }

    pub fn mode(&self) -> CountingMode {
        match &self.shared {
            Some(_) if !self.degraded.load(Ordering::Relaxed) => CountingMode::Shared,
            _ => CountingMode::Local,
        }
    }

    /// Hits refused so far, by rule name (`org`, `token`, `client`, `token-endpoint`, `login-…`).
    pub fn refusals(&self) -> Vec<(&'static str, u64)> {
        self.refusals.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn key(rule: Rule, subject: &str, now: Timestamp) -> (String, i64) {
        let window = now.as_millis().div_euclid(rule.window_millis.max(1));
        (format!("{}:{subject}:{window}", rule.name), window)
    }

    /// Gives back a hit counted at `now` (in the same window), where it still exists.
    pub async fn forgive(&self, rule: Rule, subject: &str, now: Timestamp) {
        let (key, _) = Self::key(rule, subject, now);
        match &self.shared {
            Some(shared) if self.mode() == CountingMode::Shared => {
                if shared.forgive(&key).await.is_err() {
                    self.local.forgive_now(&key);
                }
            }
            _ => self.local.forgive_now(&key),
        }
    }

    /// Counts one hit of `subject` against `rule` in the window holding `now`.
    pub async fn hit(&self, rule: Rule, subject: &str, now: Timestamp) -> Quota {
        let window_millis = rule.window_millis.max(1);
        let (key, window) = Self::key(rule, subject, now);
        // Twice the window: the key's expiry runs on Redis's clock, which tests do not control.
        let count = self.count(&key, window_millis * 2).await;
        let reset_millis = (window + 1) * window_millis - now.as_millis();
        let allowed = count <= rule.limit;
        if !allowed {
            self.refusals.count(rule.name);
        }
        Quota {
            limit: rule.limit,
            remaining: rule.limit.saturating_sub(count),
            reset_secs: ((reset_millis + 999) / 1000).max(1) as u64,
            allowed,
        }
    }

    async fn count(&self, key: &str, ttl_millis: i64) -> u64 {
        if let Some(shared) = &self.shared {
            match shared.hit(key, ttl_millis).await {
                Ok(count) => {
                    if self.degraded.swap(false, Ordering::Relaxed) {
                        tracing::warn!("rate limits: Redis answers again; counts are shared between nodes");
                    }
                    return count;
                }
                Err(error) => {
                    if !self.degraded.swap(true, Ordering::Relaxed) {
                        tracing::error!(%error, "rate limits: Redis unavailable; counting on this node only until it returns");
                    }
                }
            }
        }
        self.local.hit_now(key)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const RULE: Rule = Rule::per_minute("org", 2);

    #[tokio::test]
    async fn the_quota_resets_with_each_window() {
        let limiter = Limiter::local();
        let start = Timestamp::from_millis(120_000);
        assert_eq!(limiter.hit(RULE, "1", start).await, Quota { limit: 2, remaining: 1, reset_secs: 60, allowed: true });
        assert!(limiter.hit(RULE, "1", start.plus_millis(10)).await.allowed);
        assert_eq!(
            limiter.hit(RULE, "1", start.plus_secs(15)).await,
            Quota { limit: 2, remaining: 0, reset_secs: 45, allowed: false }
        );
        assert!(limiter.hit(RULE, "2", start).await.allowed, "subjects are counted apart");
        assert!(limiter.hit(RULE, "1", start.plus_secs(60)).await.allowed, "a new window");
    }

    #[tokio::test]
    async fn only_refused_hits_are_counted_as_refusals_by_rule() {
        let limiter = Limiter::local();
        let now = Timestamp::from_millis(0);
        for _ in 0..5 {
            limiter.hit(RULE, "1", now).await;
        }
        limiter.hit(Rule::per_minute("token", 10), "1", now).await;
        assert_eq!(limiter.refusals(), vec![("org", 3)]);
    }

    #[tokio::test]
    async fn concurrent_hits_allow_exactly_the_limit() {
        let limiter = Arc::new(Limiter::local());
        assert_eq!(concurrent_allowed(&limiter, Rule::per_minute("org", 10), "1", 100).await, 10);
    }

    /// How many of `count` hits sent at once are allowed.
    async fn concurrent_allowed(limiter: &Arc<Limiter>, rule: Rule, subject: &'static str, count: usize) -> usize {
        let now = Timestamp::from_millis(0);
        let hits: Vec<_> = (0..count)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move { limiter.hit(rule, subject, now).await.allowed })
            })
            .collect();
        let mut allowed = 0;
        for hit in hits {
            allowed += usize::from(hit.await.unwrap());
        }
        allowed
    }

    struct Down;

    #[async_trait]
    impl Counters for Down {
        async fn hit(&self, _key: &str, _ttl_millis: i64) -> Result<u64, CounterError> {
            Err(CounterError("down".into()))
        }

        async fn forgive(&self, _key: &str) -> Result<(), CounterError> {
            Err(CounterError("down".into()))
        }
    }

    #[tokio::test]
    async fn an_unreachable_store_falls_back_to_local_counts() {
        let limiter = Limiter::shared(Box::new(Down));
        assert_eq!(limiter.mode(), CountingMode::Shared);
        let now = Timestamp::from_millis(0);
        assert!(limiter.hit(RULE, "1", now).await.allowed);
        assert_eq!(limiter.mode(), CountingMode::Local);
        assert!(limiter.hit(RULE, "1", now).await.allowed);
        assert!(!limiter.hit(RULE, "1", now).await.allowed, "still limited, locally");
    }

    /// Needs Redis on 127.0.0.1:6379; skipped (with a note) when it is absent.
    #[tokio::test]
    async fn redis_counts_are_atomic_and_prefixed() {
        let Ok(counters) = RedisCounters::new("redis://127.0.0.1:6379", &format!("gatehouse-unit-{}:", std::process::id())) else {
            return;
        };
        if counters.hit("probe", 1000).await.is_err() {
            eprintln!("skipped: no Redis on 127.0.0.1:6379");
            return;
        }
        let limiter = Arc::new(Limiter::shared(Box::new(counters)));
        assert_eq!(concurrent_allowed(&limiter, Rule::per_minute("org", 7), "unit", 30).await, 7);
        assert_eq!(limiter.mode(), CountingMode::Shared);
    }
}
