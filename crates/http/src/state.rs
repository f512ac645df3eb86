use std::sync::Arc;
use std::time::Duration;

use gatehouse_app::App;
use gatehouse_domain::policy::Policy;

use crate::client_address::TrustedProxies;
use crate::metrics::Metrics;
use crate::rendered::RenderedBodies;
use crate::request_id::RequestIds;
use crate::scope_header::ScopeHeaders;

/// Largest request body accepted anywhere. Make's own bodies here are a label and a list of scopes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The bounds every connection and request lives within (issue 10, hole 5): a slow or silent client is
/// cut off instead of holding a file descriptor and a task for as long as it likes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeLimits {
    /// From the connection's first byte (or the end of the previous response) to the end of a request's
    /// headers. In HTTP/1.1 this also bounds how long a kept-alive connection may wait for its next request.
    pub header_read_timeout: Duration,
    /// A connection on which nothing is read or written for this long is closed (HTTP/2 included).
    pub idle_timeout: Duration,
    /// From the request's headers to the end of its response's headers, body reading included.
    pub request_timeout: Duration,
    /// Connections served at once. Further clients wait in the listen backlog, using no descriptor of ours.
    pub max_connections: usize,
    /// How much of a refused body is still read (and thrown away) after the refusal was sent, so that a
    /// client that writes its whole body before reading sees the answer instead of a reset connection.
    pub drain_bytes: u64,
}

impl Default for EdgeLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_connections: 4096,
            drain_bytes: 16 * 1024 * 1024,
        }
    }
}

/// What the handlers share: the application, and what only HTTP needs (bodies rendered once).
#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub rendered: Arc<RenderedBodies>,
    /// Whose forwarding headers are believed (see `client_address`).
    pub trusted_proxies: Arc<TrustedProxies>,
    /// What forward-auth requires of each upstream route (`serve --policy`; Make's table by default).
    pub policy: Arc<Policy>,
    /// `X-Gatehouse-Scopes` values, built once per scope set.
    pub scope_headers: Arc<ScopeHeaders>,
    /// Timeouts, the connection cap and how much of a refused body is drained.
    pub edge: EdgeLimits,
    /// What `/metrics` reports (served on its own listener, see `metrics`).
    pub metrics: Arc<Metrics>,
    /// Makes the ids of requests that come without a sane `X-Request-Id`.
    pub request_ids: Arc<RequestIds>,
}

impl AppState {
    pub fn new(app: App) -> Self {
        // The embedded table is tested to parse; were it ever broken, forward-auth denies everything.
        let policy = Policy::make_default().unwrap_or_else(|_| Policy::deny_all());
        let request_ids = Arc::new(RequestIds::new(app.random.as_ref()));
        Self {
            app: Arc::new(app),
            rendered: Arc::default(),
            trusted_proxies: Arc::default(),
            policy: Arc::new(policy),
            scope_headers: Arc::default(),
            edge: EdgeLimits::default(),
            metrics: Arc::default(),
            request_ids,
        }
    }

    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = Arc::new(policy);
        self
    }

    pub fn with_edge_limits(mut self, edge: EdgeLimits) -> Self {
        self.edge = edge;
        self
    }

    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    pub fn issuer(&self) -> &str {
        &self.app.settings.issuer
    }
}
