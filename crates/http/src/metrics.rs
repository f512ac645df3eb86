//! Prometheus metrics, served on a listener of their own (`serve --metrics-listen`), never on the main one:
//! what a node has served (requests and latency by route), how credentials fared (authentication outcomes
//! by reason), how well its caches work, its database pools, the rate limits it enforced, and how far
//! behind the revocation feed it runs.
//!
//! The request path only adds to atomics: a counter and a histogram bucket per request, found by label in
//! a read-locked map. Everything the application already knows (cache lookups, rate-limit refusals, the
//! pools) is read at scrape time instead of being copied on every request.

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{MatchedPath, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gatehouse_app::App;
use gatehouse_domain::Timestamp;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::TypedMetric;
use prometheus_client::registry::Registry;

/// The route a request matched, as its template (`/api/v2/teams/{id}`), never the path it was sent to: the
/// path holds ids, and a label per id would grow without bound.
#[derive(Debug, Clone)]
pub enum Route {
    Matched(MatchedPath),
    Unmatched,
}

impl Route {
    pub fn as_str(&self) -> &str {
        match self {
            Route::Matched(path) => path.as_str(),
            Route::Unmatched => "unmatched",
        }
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl Hash for Route {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

/// A method as a label: the standard ones by name, any other as `other`, so a client cannot mint labels.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: Route,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    route: Route,
}

/// Why a credential was accepted or refused, as `/api/v2` and forward-auth decide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    Accepted,
    /// No `Authorization` header.
    Missing,
    /// More than one (RFC 6750 §3.1).
    Repeated,
    /// Not a scheme we take, not a token's form, or an API token sent as `Bearer`.
    Malformed,
    /// An API token no store knows (never issued, or deleted).
    Unknown,
    Expired,
    /// An OAuth access token whose family, grant or self was revoked, or whose user or client is gone.
    Revoked,
    /// An API token of another zone, or an access token for another audience.
    WrongZone,
    /// An access token whose signature, key, issuer or type does not hold.
    Invalid,
    /// The store could not answer.
    Error,
}

impl AuthOutcome {
    const ALL: [AuthOutcome; 10] = [
        AuthOutcome::Accepted,
        AuthOutcome::Missing,
        AuthOutcome::Repeated,
        AuthOutcome::Malformed,
        AuthOutcome::Unknown,
        AuthOutcome::Expired,
        AuthOutcome::Revoked,
        AuthOutcome::WrongZone,
        AuthOutcome::Invalid,
        AuthOutcome::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthOutcome::Accepted => "accepted",
            AuthOutcome::Missing => "missing",
            AuthOutcome::Repeated => "repeated",
            AuthOutcome::Malformed => "malformed",
            AuthOutcome::Unknown => "unknown",
            AuthOutcome::Expired => "expired",
            AuthOutcome::Revoked => "revoked",
            AuthOutcome::WrongZone => "wrong_zone",
            AuthOutcome::Invalid => "invalid",
            AuthOutcome::Error => "error",
        }
    }

    /// The outcome of an `Authorization` header that could not be read as one credential.
    pub fn of_unreadable(headers: &HeaderMap) -> Self {
        match headers.get_all(header::AUTHORIZATION).iter().count() {
            0 => AuthOutcome::Missing,
            1 => AuthOutcome::Malformed,
            _ => AuthOutcome::Repeated,
        }
    }

    /// The outcome of an access token refused with `reason` (the application's words, see `jose`).
    pub fn of_access_token_refusal(reason: &str) -> Self {
        match reason {
            "expired" => AuthOutcome::Expired,
            "revoked" => AuthOutcome::Revoked,
            "wrong audience" => AuthOutcome::WrongZone,
            "malformed header" | "malformed token" => AuthOutcome::Malformed,
            _ => AuthOutcome::Invalid,
        }
    }
}

/// Latency buckets, in seconds: a cached credential check answers in well under a millisecond, a token
/// grant in tens of milliseconds, a password check (argon2) in about a hundred.
const LATENCY_BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A histogram that an observation changes with two relaxed atomic adds (its bucket and the sum), where
/// `prometheus_client`'s own takes a write lock. Buckets are counted apart and summed up at scrape.
#[derive(Debug, Clone, Default)]
pub struct AtomicHistogram(Arc<HistogramCells>);

#[derive(Debug, Default)]
struct HistogramCells {
    /// One per bound, and the last for everything above the largest.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl AtomicHistogram {
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let index = LATENCY_BUCKETS.iter().position(|bound| seconds <= *bound).unwrap_or(LATENCY_BUCKETS.len());
        self.0.buckets[index].fetch_add(1, Ordering::Relaxed);
        self.0.sum_micros.fetch_add(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

impl TypedMetric for AtomicHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for AtomicHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let mut buckets: Vec<(f64, u64)> = Vec::with_capacity(LATENCY_BUCKETS.len() + 1);
        for (index, cell) in self.0.buckets.iter().enumerate() {
            // `f64::MAX` is how the encoder names `+Inf`.
            let bound = LATENCY_BUCKETS.get(index).copied().unwrap_or(f64::MAX);
            buckets.push((bound, cell.load(Ordering::Relaxed)));
        }
        let count = buckets.iter().map(|(_, count)| count).sum();
        let sum = self.0.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// This node's metrics. Shared by the request layer, the credential check, the revocation feed and the
/// scrape handler.
#[derive(Debug)]
pub struct Metrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, AtomicHistogram>,
    authentications: [AtomicU64; AuthOutcome::ALL.len()],
    revocation_lag: AtomicHistogram,
    /// Milliseconds between the newest applied revocation's writing and its application here.
    revocation_last_lag_millis: AtomicI64,
    /// When the feed was last read successfully (the app's clock, in milliseconds; 0: never).
    revocation_last_poll_millis: AtomicI64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            latency: Family::default(),
            authentications: std::array::from_fn(|_| AtomicU64::new(0)),
            revocation_lag: AtomicHistogram::default(),
            revocation_last_lag_millis: AtomicI64::new(0),
            revocation_last_poll_millis: AtomicI64::new(0),
        }
    }
}

impl Metrics {
    pub fn request(&self, route: &Route, method: &Method, status: StatusCode, elapsed: Duration) {
        let labels = RequestLabels { route: route.clone(), method: method_label(method), status: status.as_u16() };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&RouteLabels { route: labels.route }).observe(elapsed);
    }

    pub fn authentication(&self, outcome: AuthOutcome) {
        let index = AuthOutcome::ALL.iter().position(|known| *known == outcome).unwrap_or(0);
        self.authentications[index].fetch_add(1, Ordering::Relaxed);
    }

    pub fn authentications(&self, outcome: AuthOutcome) -> u64 {
        AuthOutcome::ALL
            .iter()
            .position(|known| *known == outcome)
            .map_or(0, |index| self.authentications[index].load(Ordering::Relaxed))
    }

    /// A revocation written at `written` was applied to this node's caches at `now`.
    pub fn revocation_applied(&self, written: Timestamp, now: Timestamp) {
        let lag_millis = (now.as_millis() - written.as_millis()).max(0);
        self.revocation_last_lag_millis.store(lag_millis, Ordering::Relaxed);
        self.revocation_lag.observe(Duration::from_millis(u64::try_from(lag_millis).unwrap_or(0)));
    }

    /// The feed was read to its end at `now`.
    pub fn revocation_feed_read(&self, now: Timestamp) {
        self.revocation_last_poll_millis.store(now.as_millis(), Ordering::Relaxed);
    }

    /// The exposition (OpenMetrics text) of everything this node measures, read from `app` where it keeps
    /// the figures itself.
    pub fn encode(self: &Arc<Self>, app: &Arc<App>) -> Result<String, std::fmt::Error> {
        let mut registry = Registry::with_prefix("gatehouse");
        registry.register_collector(Box::new(Scrape { metrics: self.clone(), app: app.clone() }));
        let mut text = String::with_capacity(16 * 1024);
        prometheus_client::encoding::text::encode(&mut text, &registry)?;
        Ok(text)
    }
}

/// What one scrape reads: this node's metrics, and the application's own counts.
struct Scrape {
    metrics: Arc<Metrics>,
    app: Arc<App>,
}

/// The collector trait asks for `Debug`, which `App` is not.
impl std::fmt::Debug for Scrape {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Scrape").field("metrics", &self.metrics).finish_non_exhaustive()
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let metrics = &self.metrics;
        let app = &self.app;
        let requests = encoder.encode_descriptor(
            "http_requests",
            "Requests answered, by route template, method and status.",
            None,
            MetricType::Counter,
        )?;
        metrics.requests.encode(requests)?;
        let latency = encoder.encode_descriptor(
            "http_request_duration_seconds",
            "Time from a request's head to its response's head, by route template.",
            None,
            MetricType::Histogram,
        )?;
        metrics.latency.encode(latency)?;

        let mut outcomes = encoder.encode_descriptor(
            "authentications",
            "Credentials presented to /api/v2 and /forward-auth, by outcome.",
            None,
            MetricType::Counter,
        )?;
        for outcome in AuthOutcome::ALL {
            let labels = [("outcome", outcome.as_str())];
            ConstCounter::new(metrics.authentications(outcome)).encode(outcomes.encode_family(&labels)?)?;
        }

        let lookups = &app.caches.lookups;
        let caches = [("api_token", &lookups.api_tokens), ("access_token", &lookups.bearers), ("client", &lookups.clients)];
        let mut hits = encoder.encode_descriptor(
            "cache_hits",
            "Lookups answered from this node's memory, by cache (api_token, access_token, client).",
            None,
            MetricType::Counter,
        )?;
        for (cache, counts) in caches {
            ConstCounter::new(counts.hits()).encode(hits.encode_family(&[("cache", cache)])?)?;
        }
        let mut misses = encoder.encode_descriptor(
            "cache_misses",
            "Lookups that had to ask the store (or verify a signature), by cache.",
            None,
            MetricType::Counter,
        )?;
        for (cache, counts) in caches {
            ConstCounter::new(counts.misses()).encode(misses.encode_family(&[("cache", cache)])?)?;
        }

        let pools = app.store.pool_stats();
        let mut size = encoder.encode_descriptor(
            "db_pool_connections",
            "Database connections open, idle ones included, by pool.",
            None,
            MetricType::Gauge,
        )?;
        for pool in &pools {
            ConstGauge::new(i64::from(pool.size)).encode(size.encode_family(&[("pool", pool.pool)])?)?;
        }
        let mut idle =
            encoder.encode_descriptor("db_pool_idle_connections", "Database connections idle, by pool.", None, MetricType::Gauge)?;
        for pool in &pools {
            ConstGauge::new(i64::from(pool.idle)).encode(idle.encode_family(&[("pool", pool.pool)])?)?;
        }
        let mut max = encoder.encode_descriptor(
            "db_pool_max_connections",
            "The most connections each pool opens.",
            None,
            MetricType::Gauge,
        )?;
        for pool in &pools {
            ConstGauge::new(i64::from(pool.max)).encode(max.encode_family(&[("pool", pool.pool)])?)?;
        }

        let mut refused = encoder.encode_descriptor(
            "rate_limit_refusals",
            "Requests and sign-in attempts refused by a rate limit, by rule (org, token, client, token-endpoint, login-…).",
            None,
            MetricType::Counter,
        )?;
        for (rule, count) in app.limiter.refusals() {
            ConstCounter::new(count).encode(refused.encode_family(&[("rule", rule)])?)?;
        }

        let lag = encoder.encode_descriptor(
            "revocation_apply_lag_seconds",
            "Time from a revocation's writing (by any node or the CLI) to its application to this node's caches.",
            None,
            MetricType::Histogram,
        )?;
        metrics.revocation_lag.encode(lag)?;
        let last_lag = encoder.encode_descriptor(
            "revocation_last_apply_lag_seconds",
            "The same, for the newest revocation applied.",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(metrics.revocation_last_lag_millis.load(Ordering::Relaxed) as f64 / 1000.0).encode(last_lag)?;
        let last_poll = metrics.revocation_last_poll_millis.load(Ordering::Relaxed);
        if last_poll > 0 {
            let since = encoder.encode_descriptor(
                "revocation_feed_last_read_age_seconds",
                "Time since the revocation feed was last read successfully.",
                None,
                MetricType::Gauge,
            )?;
            let age_millis = (app.now().as_millis() - last_poll).max(0);
            ConstGauge::new(age_millis as f64 / 1000.0).encode(since)?;
        }
        Ok(())
    }
}

/// What the metrics listener serves: `GET /metrics`, and nothing else.
pub fn router(metrics: Arc<Metrics>, app: Arc<App>) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state((metrics, app))
}

/// The OpenMetrics text format, which Prometheus asks for first (the classic text format's parsers read it
/// too, `# EOF` being a comment to them).
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

async fn scrape(State((metrics, app)): State<(Arc<Metrics>, Arc<App>)>) -> Response {
    match metrics.encode(&app) {
        Ok(text) => ([(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))], text).into_response(),
        Err(error) => {
            tracing::error!(%error, "could not encode the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
