//! A user's OAuth grants ("authorized apps" in Make's profile): listed, and revoked with every token
//! issued under them.

use gatehouse_domain::oauth::{ClientId, Grant, OAuthClient};
use gatehouse_domain::{AuditDetails, AuditKind, UserId};

use crate::actor::Actor;
use crate::app::App;
use crate::audit::audit_actor;
use crate::error::{AppError, AppResult};
use crate::invalidation::Invalidation;

#[derive(Debug, Clone)]
pub struct AuthorizedApp {
    pub grant: Grant,
    /// `None` when the client was deleted after the grant was read.
    pub client: Option<OAuthClient>,
}

impl App {
    pub async fn authorized_apps(&self, user: UserId) -> AppResult<Vec<AuthorizedApp>> {
        let grants = self.store.grants_of_user(user).await?;
        let mut apps = Vec::with_capacity(grants.len());
        for grant in grants {
            let client = self.store.oauth_client(&grant.client_id).await?;
            apps.push(AuthorizedApp { grant, client });
        }
        Ok(apps)
    }

    /// Make's "revoke from the API access section": the grant and every token issued under it, at once.
    pub async fn revoke_authorized_app(&self, actor: &Actor, client_id: &str) -> AppResult<ClientId> {
        let not_found = || AppError::not_found("You have not authorized this app.");
        let client_id = ClientId::parse(client_id).ok_or_else(not_found)?;
        // Read first, for the audit log: which grant, in which organization.
        let grant = self.store.live_grant(actor.user_id, &client_id).await?;
        self.store.revoke_grant(actor.user_id, &client_id, self.clock.now()).await?.ok_or_else(not_found)?;
        self.apply(&[Invalidation::OAuth]);
        let mut details = AuditDetails::new().target(&client_id).client(&client_id).user(actor.user_id);
        if let Some(grant) = &grant {
            details = details.grant(grant.id).scopes(grant.scopes);
        }
        let event = self
            .audit_event(AuditKind::OAuthGrantRevoked, audit_actor(Some(actor)))
            .in_organization(grant.and_then(|grant| grant.organization_id))
            .with(details);
        self.record_for_user(event, actor.user_id).await;
        Ok(client_id)
    }
}
