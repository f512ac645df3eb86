//! OAuth clients, the Make way: any user requests one, a platform administrator approves or rejects it.
//! A confidential client's secret is shown once, at approval or rotation, and stored hashed.

use gatehouse_domain::oauth::client::approve;
use gatehouse_domain::oauth::{ClientId, ClientStatus, ClientType, NewClient, OAuthClient, OpaqueSecret};
use gatehouse_domain::{AuditDetails, AuditKind, ScopeSet, UserId};

use crate::actor::Actor;
use crate::app::App;
use crate::audit::audit_actor;
use crate::error::{AppError, AppResult};
use crate::invalidation::Invalidation;

/// A registration as filed (Make's form): name, type, redirect URIs, scopes, description.
#[derive(Debug, Clone)]
pub struct ClientRegistration<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub client_type: &'a str,
    pub redirect_uris: &'a [String],
    pub scopes: &'a [String],
}

/// An administrator's decision to approve, with what it may narrow.
#[derive(Debug, Clone, Default)]
pub struct Approval {
    /// The scopes to approve; by default those requested. Never more than requested.
    pub scopes: Option<Vec<String>>,
    /// Lets a public client receive refresh tokens. `None` keeps what the client has.
    pub allow_refresh: Option<bool>,
}

impl App {
    fn registration(registration: &ClientRegistration<'_>) -> AppResult<NewClient> {
        Ok(NewClient::new(
            registration.name,
            registration.description,
            registration.client_type,
            registration.redirect_uris,
            registration.scopes,
        )?)
    }

    /// Files a client request (status: requested) owned by the actor. Once approved, the client may act as
    /// its owner with its API scopes (`client_credentials`): so a request confers them, and a credential
    /// may only ask for API scopes it holds itself (hole 3). OpenID scopes confer nothing by themselves.
    pub async fn request_client(&self, actor: &Actor, registration: ClientRegistration<'_>) -> AppResult<OAuthClient> {
        let new = Self::registration(&registration)?;
        actor.may_confer(new.scopes.intersection(ScopeSet::all_api_scopes()))?;
        let client = new.into_client(actor.user_id, self.clock.now(), self.random.as_ref());
        self.store.insert_oauth_client(&client).await?;
        let event = self.audit_event(AuditKind::OAuthClientRequested, audit_actor(Some(actor))).with(client_details(&client));
        self.record_for_user(event, client.owner).await;
        Ok(client)
    }

    /// Makes an approved client at once (the operator's shortcut); returns its secret when confidential.
    pub async fn create_approved_client(
        &self,
        owner: UserId,
        registration: ClientRegistration<'_>,
        allow_refresh: bool,
    ) -> AppResult<(OAuthClient, Option<OpaqueSecret>)> {
        let mut new = Self::registration(&registration)?;
        new.allow_refresh = allow_refresh;
        let mut client = new.into_client(owner, self.clock.now(), self.random.as_ref());
        let secret = approve(&mut client, self.random.as_ref());
        self.store.insert_oauth_client(&client).await?;
        let details = client_details(&client).reason("created approved by the operator");
        self.audit(AuditKind::OAuthClientApproved, None, None, details).await;
        Ok((client, secret))
    }

    /// Clients, oldest first, optionally only those with a status or an owner.
    pub async fn list_clients(&self, status: Option<ClientStatus>, owner: Option<UserId>) -> AppResult<Vec<OAuthClient>> {
        Ok(self.store.list_oauth_clients(status, owner).await?)
    }

    pub async fn find_client(&self, id: &str) -> AppResult<OAuthClient> {
        let not_found = || AppError::not_found("The client does not exist.");
        let id = ClientId::parse(id).ok_or_else(not_found)?;
        self.store.oauth_client(&id).await?.ok_or_else(not_found)
    }

    /// Approves a requested client; a confidential client's secret is in this answer and nowhere else.
    /// `by` is the administrator deciding; `None` the operator at the command line.
    pub async fn approve_client(&self, id: &str, approval: Approval, by: Option<&Actor>) -> AppResult<(OAuthClient, Option<OpaqueSecret>)> {
        let mut client = self.find_client(id).await?;
        if client.status == ClientStatus::Approved {
            return Err(AppError::Conflict("The client is already approved; rotate its secret instead.".into()));
        }
        if let Some(names) = approval.scopes {
            let asked = ScopeSet::parse_names(names.iter().map(String::as_str))?;
            client.scopes = asked
                .narrowing(client.scopes)
                .map_err(|_| AppError::invalid("An approval cannot add scopes the client did not request."))?;
        }
        if let Some(allow) = approval.allow_refresh {
            client.allow_refresh = allow;
        }
        let secret = approve(&mut client, self.random.as_ref());
        self.store.update_oauth_client(&client, self.clock.now()).await?;
        self.apply(&[Invalidation::OAuth]);
        self.audit(AuditKind::OAuthClientApproved, by, None, client_details(&client)).await;
        Ok((client, secret))
    }

    /// Rejects a client. One rejected after approval loses every token it holds, at once, in the same
    /// transaction as the rejection.
    pub async fn reject_client(&self, id: &str, by: Option<&Actor>) -> AppResult<OAuthClient> {
        let client = self.find_client(id).await?;
        let rejected = self
            .store
            .reject_client(&client.id, self.clock.now())
            .await?
            .ok_or_else(|| AppError::not_found("The client does not exist."))?;
        self.apply(&[Invalidation::OAuth]);
        self.audit(AuditKind::OAuthClientRejected, by, None, client_details(&rejected)).await;
        Ok(rejected)
    }

    /// Rejects a client, keeping the administrator's reason for its owner to read (the console's review
    /// queue). The reason is the administrator's words: 1 to 500 characters.
    pub async fn reject_client_with_reason(&self, id: &str, reason: &str, by: Option<&Actor>) -> AppResult<OAuthClient> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(AppError::invalid("Give a reason for the rejection, at most 500 characters."));
        }
        let rejected = self.reject_client(id, by).await?;
        self.store.set_rejection_reason(&rejected.id, reason, self.clock.now()).await?;
        Ok(rejected)
    }

    /// Why the client was rejected, when an administrator said.
    pub async fn client_rejection_reason(&self, id: &ClientId) -> AppResult<Option<String>> {
        Ok(self.store.rejection_reason(id).await?)
    }

    /// Deletes a client with its grants, families, codes and refresh tokens.
    pub async fn delete_client(&self, id: &str, by: Option<&Actor>) -> AppResult<OAuthClient> {
        let client = self.find_client(id).await?;
        self.store.delete_oauth_client(&client.id, self.clock.now()).await?;
        self.apply(&[Invalidation::OAuth]);
        self.audit(AuditKind::OAuthClientDeleted, by, None, client_details(&client)).await;
        Ok(client)
    }

    /// Gives an approved confidential client a new secret; the old one stops working at once.
    pub async fn rotate_client_secret(&self, id: &str, by: Option<&Actor>) -> AppResult<(OAuthClient, OpaqueSecret)> {
        let mut client = self.find_client(id).await?;
        if client.client_type != ClientType::Confidential || client.status != ClientStatus::Approved {
            return Err(AppError::invalid("Only an approved confidential client has a secret."));
        }
        let secret = OpaqueSecret::generate(self.random.as_ref());
        client.secret_hash = Some(secret.hash());
        self.store.update_oauth_client(&client, self.clock.now()).await?;
        self.apply(&[Invalidation::OAuth]);
        self.audit(AuditKind::OAuthClientSecretRotated, by, None, client_details(&client)).await;
        Ok((client, secret))
    }
}

/// What the audit log says of a client: its id, owner, name and scopes; never its secret or its hash.
fn client_details(client: &OAuthClient) -> AuditDetails {
    AuditDetails::new().target(&client.id).client(&client.id).user(client.owner).name(&client.name).scopes(client.scopes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestApp;

    fn registration<'a>(uris: &'a [String], scopes: &'a [String]) -> ClientRegistration<'a> {
        ClientRegistration { name: "App", description: "", client_type: "public", redirect_uris: uris, scopes }
    }

    #[tokio::test]
    async fn an_approval_without_allow_refresh_keeps_the_clients_choice() {
        let app = TestApp::new().await;
        let owner = app.user("dev@example.com", false).await;
        let uris = vec!["https://app.example/cb".to_string()];
        let scopes = vec!["teams:read".to_string()];
        let requested = app.request_client(&Actor::operator(&owner), registration(&uris, &scopes)).await.unwrap();
        let (approved, secret) = app.approve_client(requested.id.as_str(), Approval::default(), None).await.unwrap();
        assert!(secret.is_none(), "public clients have no secret");
        assert!(!approved.allow_refresh);
        assert_eq!(approved.status, ClientStatus::Approved);
    }

    #[tokio::test]
    async fn an_approval_never_adds_scopes() {
        let app = TestApp::new().await;
        let owner = app.user("dev@example.com", false).await;
        let uris = vec!["https://app.example/cb".to_string()];
        let scopes = vec!["teams:read".to_string()];
        let requested = app.request_client(&Actor::operator(&owner), registration(&uris, &scopes)).await.unwrap();
        let wider = Approval { scopes: Some(vec!["teams:read".into(), "teams:write".into()]), allow_refresh: None };
        assert!(matches!(app.approve_client(requested.id.as_str(), wider, None).await, Err(AppError::Invalid(_))));
    }

    #[tokio::test]
    async fn a_rejected_client_is_forgotten_by_the_cache() {
        let app = TestApp::new().await;
        let owner = app.user("dev@example.com", false).await;
        let uris = vec!["https://app.example/cb".to_string()];
        let scopes = vec!["teams:read".to_string()];
        let requested = app.request_client(&Actor::operator(&owner), registration(&uris, &scopes)).await.unwrap();
        app.approve_client(requested.id.as_str(), Approval::default(), None).await.unwrap();
        assert!(app.client(&requested.id).await.unwrap().is_some_and(|c| c.is_approved()));
        app.reject_client(requested.id.as_str(), None).await.unwrap();
        assert!(app.client(&requested.id).await.unwrap().is_some_and(|c| !c.is_approved()));
    }
}
