use std::sync::Arc;

use gatehouse_domain::Clock;
use gatehouse_domain::oauth::OAuthSettings;
use gatehouse_store::DynStore;

use crate::auth::Authenticator;
use crate::oauth::runtime::OAuthRuntime;
use crate::rate_limit::OrganizationLimiter;

/// Largest request body accepted anywhere. Make's own bodies here are a label and a list of scopes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The zone this node serves; API tokens issued elsewhere are refused.
    pub zone: String,
    /// The public base URL of this server, e.g. `https://auth.example.com`.
    pub issuer: String,
    /// Lifetimes and switches of the OAuth authorization server.
    pub oauth: OAuthSettings,
}

impl ServerConfig {
    /// A configuration with the default OAuth settings.
    pub fn new(zone: impl Into<String>, issuer: impl Into<String>) -> Self {
        Self { zone: zone.into(), issuer: issuer.into(), oauth: OAuthSettings::default() }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ServerConfig>,
    pub auth: Arc<Authenticator>,
    pub oauth: Arc<OAuthRuntime>,
    pub organization_limits: Arc<OrganizationLimiter>,
}

impl AppState {
    pub fn new(store: DynStore, clock: Arc<dyn Clock>, config: ServerConfig) -> Self {
        let oauth = Arc::new(OAuthRuntime::new(
            store.clone(),
            clock.clone(),
            config.issuer.clone(),
            &config.zone,
            config.oauth.clone(),
        ));
        let auth = Arc::new(Authenticator::new(store.clone(), clock.clone(), config.zone.clone(), oauth.clone()));
        Self { store, clock, config: Arc::new(config), auth, oauth, organization_limits: Arc::default() }
    }
}
