use std::sync::Arc;

use gatehouse_app::App;

use crate::client_address::TrustedProxies;
use crate::rendered::RenderedBodies;

/// Largest request body accepted anywhere. Make's own bodies here are a label and a list of scopes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the handlers share: the application, and what only HTTP needs (bodies rendered once).
#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub rendered: Arc<RenderedBodies>,
    /// Whose forwarding headers are believed (see `client_address`).
    pub trusted_proxies: Arc<TrustedProxies>,
}

impl AppState {
    pub fn new(app: App) -> Self {
        Self { app: Arc::new(app), rendered: Arc::default(), trusted_proxies: Arc::default() }
    }

    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    pub fn issuer(&self) -> &str {
        &self.app.settings.issuer
    }
}
