use std::sync::Arc;

use gatehouse_app::App;

use crate::rendered::RenderedBodies;

/// Largest request body accepted anywhere. Make's own bodies here are a label and a list of scopes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the handlers share: the application, and what only HTTP needs (bodies rendered once).
#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub rendered: Arc<RenderedBodies>,
}

impl AppState {
    pub fn new(app: App) -> Self {
        Self { app: Arc::new(app), rendered: Arc::default() }
    }

    pub fn issuer(&self) -> &str {
        &self.app.settings.issuer
    }
}
