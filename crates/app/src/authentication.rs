//! Verifying credentials: API tokens through the node's cache, OAuth access tokens (RFC 9068) through the
//! bearer cache with a liveness check, so that revocation takes effect at once.

use std::sync::Arc;

use gatehouse_domain::oauth::ClientId;
use gatehouse_domain::oauth::jose::{ACCESS_TOKEN_TYP, AccessTokenClaims};
use gatehouse_domain::{ApiToken, ApiTokenSecret, ScopeSet, TokenHash, UserId};

use crate::actor::{Actor, AuthMethod, OrganizationLimit};
use crate::app::App;
use crate::caches::{CheckedBearer, Principal, VerifiedAccessToken, VerifiedApiToken};
use crate::error::{AppError, AppResult};
use crate::keys::TokenCheck;

/// Why an API token was refused. Each answers 401 at the edge, with its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiTokenRefusal {
    UnknownOrDeleted,
    OtherZone,
    Expired,
}

impl App {
    /// An API token: known, issued in this zone, not expired. A cached token costs a hash and a lookup.
    pub async fn authenticate_api_token(
        &self,
        secret: &ApiTokenSecret,
    ) -> AppResult<Result<(Actor, Arc<VerifiedApiToken>), ApiTokenRefusal>> {
        self.authenticate_api_token_hash(secret.hash()).await
    }

    /// The same, for a caller that already holds the token's hash: the edge hashes once per request and
    /// keys its rate limit by the same hash.
    pub async fn authenticate_api_token_hash(
        &self,
        hash: TokenHash,
    ) -> AppResult<Result<(Actor, Arc<VerifiedApiToken>), ApiTokenRefusal>> {
        let now = self.clock.now();
        let verified = match self.caches.api_token(&hash, now) {
            Some(verified) => verified,
            None => {
                let token = self.store.api_token_by_hash(&hash).await?;
                let Some(token) = token.filter(|token| token.hash.matches(&hash)) else {
                    return Ok(Err(ApiTokenRefusal::UnknownOrDeleted));
                };
                let Some(user) = self.store.user_by_id(token.user_id).await? else {
                    return Ok(Err(ApiTokenRefusal::UnknownOrDeleted));
                };
                let verified = Arc::new(self.verified_api_token(&token, user.is_admin, now));
                self.caches.api_tokens.insert(hash, verified.clone());
                verified
            }
        };
        if !verified.in_this_zone {
            return Ok(Err(ApiTokenRefusal::OtherZone));
        }
        if verified.expires_at.is_some_and(|expires_at| expires_at <= now) {
            return Ok(Err(ApiTokenRefusal::Expired));
        }
        self.usage.note(&hash, &verified.usage, now);
        let actor = Actor {
            user_id: verified.user_id,
            is_admin: verified.is_admin,
            scopes: verified.scopes,
            method: AuthMethod::ApiToken { created: verified.created },
            organizations: OrganizationLimit::Any,
        };
        Ok(Ok((actor, verified)))
    }

    fn verified_api_token(&self, token: &ApiToken, is_admin: bool, now: gatehouse_domain::Timestamp) -> VerifiedApiToken {
        VerifiedApiToken {
            user_id: token.user_id,
            created: token.created,
            scopes: token.scopes,
            in_this_zone: token.zone == self.settings.zone,
            expires_at: token.expires_at,
            is_admin,
            label: token.label.clone(),
            usage: Arc::default(),
            verified_at: now,
        }
    }

    /// An OAuth access token on `/api/v2`: RFC 9068 checks, then liveness, limited to the organization
    /// chosen at consent. `Ok(Err(reason))` is a refusal.
    pub async fn authenticate_access_token(&self, token: &str) -> AppResult<Result<Actor, &'static str>> {
        match self.verify_access_token(token).await {
            Ok((verified, principal)) => {
                let organizations = if verified.is_client_credentials() {
                    OrganizationLimit::Any
                } else {
                    verified.claims.org_id.map_or(OrganizationLimit::Nothing, OrganizationLimit::Only)
                };
                Ok(Ok(Actor {
                    user_id: principal.user_id,
                    is_admin: principal.is_admin,
                    scopes: verified.scopes,
                    method: AuthMethod::OAuth { token: verified },
                    organizations,
                }))
            }
            Err(TokenCheck::Invalid(reason)) => Ok(Err(reason)),
            Err(TokenCheck::Failed(error)) => Err(error),
        }
    }

    /// An RFC 9068 access token for our API: signature, `typ`, `iss`, `aud`, `exp`, and that neither its
    /// family nor the token itself has been revoked.
    pub async fn verify_access_token(
        &self,
        token: &str,
    ) -> Result<(Arc<VerifiedAccessToken>, Arc<Principal>), TokenCheck> {
        let key = TokenHash::of_bytes(token.as_bytes());
        let epoch = self.caches.epoch();
        let now = self.clock.now();
        let verified = match self.caches.bearer(&key, now) {
            Some(checked) => {
                if checked.verified.claims.exp <= now.as_secs() {
                    return Err(TokenCheck::Invalid("expired"));
                }
                if checked.is_current(epoch, now) {
                    return answer(&checked);
                }
                // Verified, but its liveness answer is old or predates a revocation: ask again.
                checked.verified.clone()
            }
            None => {
                let audience = self.settings.zone.clone();
                let claims: AccessTokenClaims = self.verify_jwt(token, ACCESS_TOKEN_TYP, Some(&audience)).await?;
                let scopes = ScopeSet::parse_delimited(&claims.scope).unwrap_or_default();
                Arc::new(VerifiedAccessToken { claims, scopes, verified_at: now })
            }
        };
        let principal = self.principal_of(&verified).await?.map(Arc::new);
        let checked = Arc::new(CheckedBearer { verified, principal, epoch, checked_at: now });
        // Kept even when a revocation raced this check: the entry carries the epoch it was checked in, so
        // the next use asks again; what is kept is the signature check, which no revocation undoes.
        self.caches.bearers.insert(key, checked.clone());
        answer(&checked)
    }

    async fn principal_of(&self, verified: &VerifiedAccessToken) -> Result<Option<Principal>, TokenCheck> {
        let claims = &verified.claims;
        let Some(owner) = self.store.live_access_token_family(&claims.fam, &claims.jti).await? else { return Ok(None) };
        // Issue 10, hole 7: a token naming a live family must have been issued to that family's client and
        // user, or a signer (a leaked key) could borrow any live family for any subject.
        let family_subject = match owner.user_id {
            Some(user) => user.0.to_string(),
            None => owner.client_id.as_str().to_string(),
        };
        if owner.client_id.as_str() != claims.client_id || family_subject != claims.sub {
            tracing::warn!(family = %claims.fam, "an access token's sub or client_id does not match its family");
            return Ok(None);
        }
        let user_id = if verified.is_client_credentials() {
            // Client credentials: the client acts as itself, with its owner's account.
            let Some(client_id) = ClientId::parse(&claims.client_id) else { return Ok(None) };
            match self.client(&client_id).await? {
                Some(client) if client.is_approved() => client.owner,
                _ => return Ok(None),
            }
        } else {
            match claims.sub.parse::<i64>() {
                Ok(id) => UserId(id),
                Err(_) => return Ok(None),
            }
        };
        let Some(user) = self.store.user_by_id(user_id).await? else { return Ok(None) };
        Ok(Some(Principal { user_id: user.id, is_admin: user.is_admin, email: Arc::from(user.email.as_str()) }))
    }

    /// A client by id, from the cache or the store.
    pub async fn client(&self, id: &ClientId) -> AppResult<Option<Arc<gatehouse_domain::oauth::OAuthClient>>> {
        let now = self.clock.now();
        if let Some(client) = self.caches.client(id, now) {
            return Ok(Some(client));
        }
        let epoch = self.caches.epoch();
        let Some(client) = self.store.oauth_client(id).await? else { return Ok(None) };
        let client = Arc::new(client);
        self.caches.remember_client(epoch, &client, now);
        Ok(Some(client))
    }
}

fn answer(checked: &CheckedBearer) -> Result<(Arc<VerifiedAccessToken>, Arc<Principal>), TokenCheck> {
    match &checked.principal {
        Some(principal) => Ok((checked.verified.clone(), principal.clone())),
        None => Err(TokenCheck::Invalid("revoked")),
    }
}

impl From<TokenCheck> for AppError {
    fn from(check: TokenCheck) -> Self {
        match check {
            TokenCheck::Invalid(reason) => AppError::Unauthenticated(reason.to_string()),
            TokenCheck::Failed(error) => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::caches::LIVENESS_TTL_MILLIS;
    use crate::testing::TestApp;

    /// A revocation made by another node (here: straight in the store) is seen once the liveness answer
    /// is older than its bound, without any feed: the bound is read from the injected clock.
    #[tokio::test]
    async fn a_liveness_answer_is_trusted_for_its_bound_and_no_longer() {
        let app = TestApp::new().await;
        let consented = app.consented("user:read").await;
        let tokens = app.tokens(&consented, "user:read").await;
        let (verified, _) = app.verify_access_token(&tokens.access_token).await.unwrap();
        app.store.revoke_family(&verified.claims.fam, app.now()).await.unwrap();
        assert!(app.verify_access_token(&tokens.access_token).await.is_ok(), "within the bound, the cached answer stands");
        app.clock.advance_millis(LIVENESS_TTL_MILLIS);
        assert!(app.verify_access_token(&tokens.access_token).await.is_err(), "past the bound, liveness is asked again");
    }

    /// Hole 7 (issue 10): whoever can sign (a leaked key) must not borrow a live family for another
    /// subject: the family binds its user and client (RFC 9068 §4: the token must be valid for its
    /// subject; RFC 9700 §4.14.2 families).
    #[tokio::test]
    async fn hole7_a_token_naming_a_live_family_with_another_sub_or_client_is_refused() {
        use gatehouse_domain::oauth::jose::{ACCESS_TOKEN_TYP, AccessTokenClaims};
        let app = TestApp::new().await;
        let consented = app.consented("user:read").await;
        let admin = app.user("root@example.com", true).await;
        let tokens = app.tokens(&consented, "user:read").await;
        let (verified, _) = app.verify_access_token(&tokens.access_token).await.unwrap();
        let ring = app.key_ring().await.unwrap();
        let as_admin = AccessTokenClaims { sub: admin.id.0.to_string(), ..verified.claims.clone() };
        let forged = ring.sign(ACCESS_TOKEN_TYP, &as_admin).unwrap();
        assert!(app.verify_access_token(&forged).await.is_err(), "another sub on a real family");
        let other_client = AccessTokenClaims { client_id: "someone-else".into(), ..verified.claims.clone() };
        let forged = ring.sign(ACCESS_TOKEN_TYP, &other_client).unwrap();
        assert!(app.verify_access_token(&forged).await.is_err(), "another client on a real family");
        let same = ring.sign(ACCESS_TOKEN_TYP, &verified.claims).unwrap();
        assert!(app.verify_access_token(&same).await.is_ok(), "the control: the family's own subject");
    }

    /// `/metrics` computes the hit ratio from these: the first check of a token misses, the next hits, and
    /// a check past the cache's bound misses again.
    #[tokio::test]
    async fn bearer_cache_lookups_are_counted_as_hits_and_misses() {
        let app = TestApp::new().await;
        let consented = app.consented("user:read").await;
        let tokens = app.tokens(&consented, "user:read").await;
        let bearers = &app.caches.lookups.bearers;
        let (hits, misses) = (bearers.hits(), bearers.misses());
        app.verify_access_token(&tokens.access_token).await.unwrap();
        app.verify_access_token(&tokens.access_token).await.unwrap();
        assert_eq!((bearers.hits() - hits, bearers.misses() - misses), (1, 1));
        app.clock.advance_millis(crate::caches::VERIFIED_ACCESS_TOKEN_TTL_MILLIS);
        app.verify_access_token(&tokens.access_token).await.unwrap();
        assert_eq!((bearers.hits() - hits, bearers.misses() - misses), (1, 2));
    }

    /// A client change made elsewhere reaches this node within the client cache's bound.
    #[tokio::test]
    async fn a_cached_client_is_read_again_after_its_bound() {
        let app = TestApp::new().await;
        let consented = app.consented("user:read").await;
        let id = consented.client.id.clone();
        assert!(app.client(&id).await.unwrap().is_some_and(|c| c.is_approved()));
        app.store.reject_client(&id, app.now()).await.unwrap();
        assert!(app.client(&id).await.unwrap().is_some_and(|c| c.is_approved()), "cached");
        app.clock.advance_millis(crate::caches::CLIENT_TTL_MILLIS);
        assert!(app.client(&id).await.unwrap().is_some_and(|c| !c.is_approved()), "read again");
    }
}
