use std::sync::Arc;

use gatehouse_app::App;
use gatehouse_domain::policy::Policy;

use crate::client_address::TrustedProxies;
use crate::rendered::RenderedBodies;
use crate::scope_header::ScopeHeaders;

/// Largest request body accepted anywhere. Make's own bodies here are a label and a list of scopes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

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
}

impl AppState {
    pub fn new(app: App) -> Self {
        // The embedded table is tested to parse; were it ever broken, forward-auth denies everything.
        let policy = Policy::make_default().unwrap_or_else(|_| Policy::deny_all());
        Self {
            app: Arc::new(app),
            rendered: Arc::default(),
            trusted_proxies: Arc::default(),
            policy: Arc::new(policy),
            scope_headers: Arc::default(),
        }
    }

    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = Arc::new(policy);
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
