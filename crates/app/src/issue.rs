//! Minting tokens: RFC 9068 access tokens, OIDC ID tokens, and opaque rotating refresh tokens.

use gatehouse_domain::oauth::jose::{ACCESS_TOKEN_TYP, AccessTokenClaims, ID_TOKEN_TYP, IdTokenClaims, KeyRing, at_hash};
use gatehouse_domain::oauth::secret::random_id;
use gatehouse_domain::oauth::{ClientType, OAuthClient, OpaqueSecret, RefreshToken};
use gatehouse_domain::{FamilyId, GrantId, Jti, OrganizationId, Scope, ScopeSet, Timestamp, TokenHash, User};
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::error::AppResult;

/// Who and what a token is for.
pub struct Subject<'a> {
    pub client: &'a OAuthClient,
    /// None for client credentials.
    pub user: Option<&'a User>,
    pub scopes: ScopeSet,
    pub organization_id: Option<OrganizationId>,
    pub family_id: &'a FamilyId,
    pub auth_time: Option<Timestamp>,
}

/// Where a new refresh token sits: its grant and family, what it replaces, and what it keeps.
pub struct RefreshLineage<'a> {
    pub grant_id: GrantId,
    pub family_id: &'a FamilyId,
    pub parent: Option<TokenHash>,
    /// RFC 6749 §6: every rotation keeps the original scope, whatever narrower scope an access token got.
    pub scopes: ScopeSet,
    pub organization_id: Option<OrganizationId>,
    pub auth_time: Timestamp,
}

/// What the token endpoint answers (RFC 6749 §5.1), before rendering.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    pub access_token: String,
    /// Exactly the lifetime in the token's `exp - iat`.
    pub expires_in: i64,
    pub scopes: ScopeSet,
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
}

pub fn has(scopes: ScopeSet, name: &str) -> bool {
    Scope::parse(name).is_some_and(|scope| scopes.contains(scope))
}

/// The OIDC claims a user's scopes release (OIDC Core §5.4), shared by ID tokens and userinfo.
pub fn profile_claims(user: &User, scopes: ScopeSet) -> Map<String, Value> {
    let mut claims = Map::new();
    if has(scopes, "profile") {
        claims.insert("name".into(), json!(user.name));
        claims.insert("locale".into(), json!(user.locale));
        claims.insert("zoneinfo".into(), json!(user.timezone));
        claims.insert("updated_at".into(), json!(user.created.as_secs()));
    }
    if has(scopes, "email") {
        claims.insert("email".into(), json!(user.email.as_str()));
    }
    claims
}

impl App {
    pub(crate) fn mint_access_token(&self, ring: &KeyRing, subject: &Subject<'_>, now: Timestamp) -> AppResult<String> {
        let settings = &self.settings.oauth;
        let claims = AccessTokenClaims {
            iss: self.settings.issuer.clone(),
            sub: match subject.user {
                Some(user) => user.id.0.to_string(),
                None => subject.client.id.as_str().to_string(),
            },
            aud: self.settings.zone.clone(),
            client_id: subject.client.id.as_str().to_string(),
            scope: subject.scopes.to_space_delimited(),
            exp: now.as_secs() + settings.access_token_ttl_secs,
            iat: now.as_secs(),
            jti: Jti(random_id(self.random.as_ref())),
            auth_time: subject.auth_time.map(Timestamp::as_secs),
            org_id: subject.organization_id,
            fam: subject.family_id.clone(),
        };
        // A JWT starts with "eyJ" and has two dots: it can never match the SDK's UUIDv4 pattern, so the SDK
        // always sends it as Bearer.
        Ok(ring.sign_with(self.access_token_algorithm(), ACCESS_TOKEN_TYP, &claims)?)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn mint_id_token(
        &self,
        ring: &KeyRing,
        client: &OAuthClient,
        user: &User,
        scopes: ScopeSet,
        nonce: Option<String>,
        auth_time: Timestamp,
        access_token: &str,
        now: Timestamp,
    ) -> AppResult<String> {
        let claims = IdTokenClaims {
            iss: self.settings.issuer.clone(),
            sub: user.id.0.to_string(),
            aud: client.id.as_str().to_string(),
            exp: now.as_secs() + self.settings.oauth.id_token_ttl_secs,
            iat: now.as_secs(),
            auth_time: auth_time.as_secs(),
            nonce,
            azp: client.id.as_str().to_string(),
            at_hash: Some(at_hash(access_token)),
            profile: profile_claims(user, scopes),
        };
        Ok(ring.sign(ID_TOKEN_TYP, &claims)?)
    }

    /// Whether this client gets refresh tokens: confidential clients always (Make); public clients only
    /// when the server or the client is configured to allow it (Make's public clients get none).
    pub(crate) fn gets_refresh_token(&self, client: &OAuthClient) -> bool {
        match client.client_type {
            ClientType::Confidential => true,
            ClientType::Public => client.allow_refresh || self.settings.oauth.public_clients_get_refresh_tokens,
        }
    }

    /// A new refresh token: the secret to return once, and the row to store.
    pub(crate) fn mint_refresh_token(
        &self,
        client: &OAuthClient,
        user: &User,
        lineage: &RefreshLineage<'_>,
        now: Timestamp,
    ) -> (OpaqueSecret, RefreshToken) {
        let secret = OpaqueSecret::generate(self.random.as_ref());
        let row = RefreshToken {
            hash: secret.hash(),
            family_id: lineage.family_id.clone(),
            parent_hash: lineage.parent,
            client_id: client.id.clone(),
            user_id: user.id,
            grant_id: lineage.grant_id,
            scopes: lineage.scopes,
            organization_id: lineage.organization_id,
            auth_time: lineage.auth_time,
            created: now,
            expires_at: now.plus_secs(self.settings.oauth.refresh_token_ttl_secs),
            used_at: None,
            revoked_at: None,
        };
        (secret, row)
    }

    /// The access token (and the ID token when `openid` was granted) for a user's grant.
    pub(crate) async fn user_tokens(
        &self,
        subject: &Subject<'_>,
        user: &User,
        nonce: Option<String>,
        auth_time: Timestamp,
        now: Timestamp,
    ) -> AppResult<TokenResponse> {
        let ring = self.key_ring().await?;
        let access_token = self.mint_access_token(&ring, subject, now)?;
        let id_token = if has(subject.scopes, "openid") {
            Some(self.mint_id_token(&ring, subject.client, user, subject.scopes, nonce, auth_time, &access_token, now)?)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token,
            expires_in: self.settings.oauth.access_token_ttl_secs,
            scopes: subject.scopes,
            id_token,
            refresh_token: None,
        })
    }
}
