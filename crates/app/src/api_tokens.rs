//! Make's API tokens: created once and shown once, listed masked, deleted by their `created` key, never
//! edited.

use gatehouse_domain::{ApiToken, ApiTokenSecret, AuditDetails, AuditKind, NewApiTokenRequest, Timestamp, TokenLabel, UserId};

use crate::actor::Actor;
use crate::app::App;
use crate::audit::audit_actor;
use crate::error::{AppError, AppResult};
use crate::invalidation::Invalidation;

/// A token as its owner sees it in a listing: never the secret, and the newest use this node knows of.
#[derive(Debug, Clone)]
pub struct ListedToken {
    pub token: ApiToken,
    pub last_used: Option<Timestamp>,
}

/// What the caller asked for, before the rules are applied.
#[derive(Debug, Clone)]
pub struct TokenRequest<'a> {
    pub label: &'a str,
    pub scopes: &'a [String],
    pub expires_at: Option<Timestamp>,
}

impl App {
    /// Creates and stores a token for the actor; the secret is returned to be shown once.
    pub async fn issue_api_token(&self, actor: &Actor, request: TokenRequest<'_>) -> AppResult<(ApiTokenSecret, ApiToken)> {
        if actor.is_oauth() {
            // An API token would outlive the grant and escape its organization limit: an app that was given
            // user:write must not be able to mint one.
            return Err(AppError::forbidden("OAuth access tokens cannot create API tokens."));
        }
        let now = self.clock.now();
        let request = NewApiTokenRequest::new(request.label, request.scopes, request.expires_at, now)?;
        actor.may_confer(request.scopes)?;
        let (secret, token) = self.store_api_token(actor.user_id, request, now).await?;
        self.record_token_event(AuditKind::ApiTokenCreated, Some(actor), &token).await;
        self.notify_token_created(&token).await;
        Ok((secret, token))
    }

    /// Make mails the owner when a token is created on their account, whoever created it and however (API,
    /// console, CLI): a stolen session or credential minting a token does not go unseen.
    async fn notify_token_created(&self, token: &ApiToken) {
        let Some(outbox) = self.outbox() else { return };
        match self.store.user_by_id(token.user_id).await {
            Ok(Some(owner)) => {
                let origin = crate::audit::current_origin();
                outbox.queue(crate::mail::token_created_notice(outbox.from(), &owner.email, token, &origin, &self.settings.issuer));
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "the new-token notice was not sent: the owner could not be read"),
        }
    }

    /// A token's event: its owner's, visible to the owner's organizations. Names the token by its key
    /// (`created`), never by its secret or hash.
    pub(crate) async fn record_token_event(&self, kind: AuditKind, by: Option<&Actor>, token: &ApiToken) {
        let details = AuditDetails::new()
            .target(token.created.to_iso())
            .user(token.user_id)
            .label(&token.label)
            .scopes(token.scopes)
            .expires_at(token.expires_at);
        self.record_for_user(self.audit_event(kind, audit_actor(by)).with(details), token.user_id).await;
    }

    pub(crate) async fn store_api_token(
        &self,
        user: UserId,
        request: NewApiTokenRequest,
        now: Timestamp,
    ) -> AppResult<(ApiTokenSecret, ApiToken)> {
        let secret = ApiTokenSecret::generate(self.random.as_ref());
        let token = ApiToken {
            user_id: user,
            created: now,
            label: request.label,
            scopes: request.scopes,
            hash: secret.hash(),
            prefix: secret.prefix(),
            zone: self.settings.zone.clone(),
            expires_at: request.expires_at,
            last_used: None,
        };
        let stored = self.store.insert_api_token(&token).await?;
        Ok((secret, stored))
    }

    /// The user's tokens, oldest first, each with the newest use known (stored or not yet flushed).
    pub async fn list_api_tokens(&self, user: UserId) -> AppResult<Vec<ListedToken>> {
        let tokens = self.store.api_tokens_of_user(user).await?;
        Ok(tokens
            .into_iter()
            .map(|token| {
                let last_used = self.usage.pending_for(&token.hash).max(token.last_used);
                ListedToken { token, last_used }
            })
            .collect())
    }

    /// Deletes the actor's token created at `created`; it stops working on every node.
    pub async fn delete_api_token(&self, actor: &Actor, created: Timestamp) -> AppResult<ApiToken> {
        let deleted = self
            .store
            .delete_api_token(actor.user_id, created, self.clock.now())
            .await?
            .ok_or_else(|| AppError::not_found("No API token of yours was created at that time."))?;
        self.apply(&[Invalidation::ApiToken(deleted.hash)]);
        self.record_token_event(AuditKind::ApiTokenDeleted, Some(actor), &deleted).await;
        Ok(deleted)
    }
}

/// The label rule, for callers that check a label before anything else.
pub fn parse_label(text: &str) -> AppResult<TokenLabel> {
    Ok(TokenLabel::parse(text)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestApp;

    #[tokio::test]
    async fn a_deleted_token_is_refused_at_once_on_this_node() {
        let app = TestApp::new().await;
        let user = app.user("ada@example.com", false).await;
        let actor = Actor::operator(&user);
        let scopes = vec!["user:read".to_string()];
        let (secret, stored) =
            app.issue_api_token(&actor, TokenRequest { label: "ci", scopes: &scopes, expires_at: None }).await.unwrap();
        assert!(app.authenticate_api_token(&secret).await.unwrap().is_ok());
        app.delete_api_token(&actor, stored.created).await.unwrap();
        assert!(app.authenticate_api_token(&secret).await.unwrap().is_err(), "the cache learnt of the deletion");
    }

    #[tokio::test]
    async fn an_expired_token_is_refused_by_the_clock() {
        let app = TestApp::new().await;
        let user = app.user("ada@example.com", false).await;
        let scopes = vec!["user:read".to_string()];
        let expires_at = Some(app.now().plus_secs(60));
        let (secret, _) = app
            .issue_api_token(&Actor::operator(&user), TokenRequest { label: "ci", scopes: &scopes, expires_at })
            .await
            .unwrap();
        assert!(app.authenticate_api_token(&secret).await.unwrap().is_ok());
        app.clock.advance_secs(60);
        assert_eq!(
            app.authenticate_api_token(&secret).await.unwrap().err(),
            Some(crate::authentication::ApiTokenRefusal::Expired)
        );
    }

    /// Hole 3 (issue 10): a token holding only `user:write` cannot create one with `organizations:write` or
    /// `admin:write`; the operator (CLI, console) still may, as Make lets any user put administration
    /// scopes on a token and refuses them at use.
    #[tokio::test]
    async fn hole3_an_api_token_cannot_create_an_api_token_wider_than_itself() {
        let app = TestApp::new().await;
        let user = app.user("ada@example.com", false).await;
        let operator = Actor::operator(&user);
        let writer = vec!["user:write".to_string()];
        let (secret, _) =
            app.issue_api_token(&operator, TokenRequest { label: "writer", scopes: &writer, expires_at: None }).await.unwrap();
        let (actor, _) = app.authenticate_api_token(&secret).await.unwrap().unwrap();
        for wider in [vec!["organizations:write".to_string()], vec!["user:write".to_string(), "admin:write".to_string()]] {
            let refused = app.issue_api_token(&actor, TokenRequest { label: "wider", scopes: &wider, expires_at: None }).await;
            match refused {
                Err(AppError::Forbidden(detail)) => assert!(detail.contains(wider.last().unwrap()), "{detail}"),
                other => panic!("expected 403, got {other:?}"),
            }
        }
        let narrower = app.issue_api_token(&actor, TokenRequest { label: "same", scopes: &writer, expires_at: None }).await;
        assert!(narrower.is_ok(), "a token may create one within its own scopes");
        let admin = vec!["admin:write".to_string()];
        assert!(app.issue_api_token(&operator, TokenRequest { label: "op", scopes: &admin, expires_at: None }).await.is_ok());
    }

    #[tokio::test]
    async fn seeded_randomness_gives_the_same_token_twice() {
        let first = TestApp::new().await;
        let second = TestApp::new().await;
        let scopes = vec!["user:read".to_string()];
        let mut secrets = Vec::new();
        for app in [&first, &second] {
            let user = app.user("ada@example.com", false).await;
            let (secret, _) = app
                .issue_api_token(&Actor::operator(&user), TokenRequest { label: "ci", scopes: &scopes, expires_at: None })
                .await
                .unwrap();
            secrets.push(secret.reveal());
        }
        assert_eq!(secrets[0], secrets[1]);
    }
}
