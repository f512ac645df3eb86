//! What a client may ask about tokens it holds: revocation (RFC 7009), introspection (RFC 7662) and, for
//! the user's own data, userinfo (OIDC Core §5.3).

use gatehouse_domain::oauth::grant::judge_refresh;
use gatehouse_domain::oauth::jose::{ACCESS_TOKEN_TYP, AccessTokenClaims, ID_TOKEN_TYP, IdTokenClaims, peek_typ};
use gatehouse_domain::oauth::{ClientId, OAuthClient, OpaqueSecret, RefreshVerdict};
use gatehouse_domain::{OrganizationId, ScopeSet, Timestamp, User, UserId};
use serde_json::{Map, Value};

use crate::app::App;
use crate::error::{AppError, AppResult, OAuthRefusal};
use crate::invalidation::Invalidation;
use crate::issue::{has, profile_claims};
use crate::keys::TokenCheck;

/// RFC 7662 §2.2: what an active token is. An inactive one is `None`.
#[derive(Debug, Clone)]
pub enum Introspection {
    RefreshToken {
        scopes: ScopeSet,
        client_id: ClientId,
        user_id: UserId,
        issued_at: Timestamp,
        expires_at: Timestamp,
        organization_id: Option<OrganizationId>,
    },
    AccessToken {
        claims: AccessTokenClaims,
        /// The user's email (`username`); none for client credentials.
        username: Option<String>,
    },
}

impl App {
    /// RFC 7009. Revoking a refresh token revokes its whole family, so the access tokens issued from the
    /// same grant fail at once (§2.1); revoking an access token revokes that token. Unknown tokens, and
    /// tokens of other clients, change nothing (§2.2): the caller learns nothing about them.
    pub async fn revoke_token(&self, client: &OAuthClient, token: &str) -> AppResult<()> {
        let now = self.clock.now();
        // The hint only orders the lookups (§2.1); the shape of the token decides.
        if let Some(secret) = OpaqueSecret::parse(token) {
            if let Some(row) = self.store.refresh_token_by_hash(&secret.hash()).await?
                && row.client_id == client.id
            {
                self.revoke_family(&row.family_id, now).await?;
            }
            return Ok(());
        }
        // An access token: the signature must be ours, but an expired one needs no revoking.
        if let Ok(claims) = self.verify_jwt::<AccessTokenClaims>(token, ACCESS_TOKEN_TYP, None).await
            && claims.client_id == client.id.as_str()
        {
            self.store.revoke_access_token(&claims.jti, Timestamp::from_millis(claims.exp.saturating_mul(1000)), now).await?;
            self.apply(&[Invalidation::OAuth]);
        }
        Ok(())
    }

    /// RFC 7662. A client may introspect the tokens issued to it; anything else is inactive (§2.2), as are
    /// unknown, expired and revoked tokens.
    pub async fn introspect(&self, client: &OAuthClient, token: &str) -> AppResult<Option<Introspection>> {
        let now = self.clock.now();
        if let Some(secret) = OpaqueSecret::parse(token) {
            let Some(row) = self.store.refresh_token_by_hash(&secret.hash()).await? else { return Ok(None) };
            if row.client_id != client.id
                || judge_refresh(&row, true, now, self.settings.oauth.refresh_grace_secs) != RefreshVerdict::Rotate
                || self.store.family(&row.family_id).await?.is_none_or(|family| family.revoked_at.is_some())
                || self.store.grant_by_id(row.grant_id).await?.is_none()
            {
                return Ok(None);
            }
            return Ok(Some(Introspection::RefreshToken {
                scopes: row.scopes,
                client_id: row.client_id,
                user_id: row.user_id,
                issued_at: row.created,
                expires_at: row.expires_at,
                organization_id: row.organization_id,
            }));
        }
        match self.verify_access_token(token).await {
            Ok((verified, principal)) if verified.claims.client_id == client.id.as_str() => {
                let username = (!verified.is_client_credentials()).then(|| principal.email.to_string());
                Ok(Some(Introspection::AccessToken { claims: verified.claims.clone(), username }))
            }
            Ok(_) | Err(TokenCheck::Invalid(_)) => Ok(None),
            Err(TokenCheck::Failed(error)) => Err(error),
        }
    }

    /// OIDC Core §5.3: the claims the token's scopes release. Standard clients send the access token
    /// (which must carry `openid`); Make documents sending the ID token instead, so that is accepted too,
    /// and is as good as the live consent behind it.
    pub async fn userinfo(&self, token: &str) -> AppResult<(User, Map<String, Value>)> {
        let refused = |check: TokenCheck| match check {
            TokenCheck::Invalid(_) => AppError::OAuth(OAuthRefusal::InvalidToken("The token is invalid, expired or revoked.".into())),
            TokenCheck::Failed(error) => error,
        };
        let is_access_token = peek_typ(token)
            .is_some_and(|typ| typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || typ.eq_ignore_ascii_case("application/at+jwt"));
        let (user_id, scopes) = if is_access_token {
            let (verified, principal) = self.verify_access_token(token).await.map_err(refused)?;
            if verified.is_client_credentials() {
                return Err(OAuthRefusal::InvalidToken("A client credentials token has no user.".into()).into());
            }
            if !has(verified.scopes, "openid") {
                return Err(OAuthRefusal::InsufficientScope("The access token was not granted the openid scope.".into()).into());
            }
            (principal.user_id, verified.scopes)
        } else {
            let claims: IdTokenClaims = self.verify_jwt(token, ID_TOKEN_TYP, None).await.map_err(refused)?;
            let invalid = || AppError::OAuth(OAuthRefusal::InvalidToken("The token is invalid, expired or revoked.".into()));
            let user_id = claims.sub.parse::<i64>().map(UserId).map_err(|_| invalid())?;
            let client_id = ClientId::parse(&claims.aud).ok_or_else(invalid)?;
            let grant = self.store.live_grant(user_id, &client_id).await?.ok_or_else(invalid)?;
            (user_id, grant.scopes)
        };
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or_else(|| AppError::OAuth(OAuthRefusal::InvalidToken("The user no longer exists.".into())))?;
        let claims = profile_claims(&user, scopes);
        Ok((user, claims))
    }
}
