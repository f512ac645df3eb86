//! The token endpoint's grants (RFC 6749 §3.2): the authorization code with PKCE (§4.1.3, RFC 7636 §4.6),
//! refresh with rotation (§6, RFC 9700 §4.14.2), and client credentials (§4.4); and client authentication
//! (§2.3), which the revocation and introspection endpoints share.

use std::sync::Arc;

use gatehouse_domain::oauth::grant::judge_refresh;
use gatehouse_domain::oauth::secret::random_id;
use gatehouse_domain::oauth::{ClientId, ClientType, OAuthClient, OpaqueSecret, RefreshToken, RefreshVerdict, TokenFamily};
use gatehouse_domain::{AuditActor, AuditDetails, AuditKind, FamilyId, OrganizationId, ScopeSet, Timestamp, UserId};
use gatehouse_store::Rotation;

use crate::app::App;
use crate::error::{AppError, AppResult, OAuthRefusal};
use crate::invalidation::Invalidation;
use crate::issue::{RefreshLineage, Subject, TokenResponse};

/// A client's credentials as presented, by whichever method (RFC 6749 §2.3.1).
#[derive(Debug, Clone)]
pub struct PresentedClient<'a> {
    pub id: &'a str,
    pub secret: Option<&'a str>,
    /// The credentials came in `Authorization: Basic`: a failure then answers with a Basic challenge.
    pub via_basic: bool,
}

/// The parameters of an authorization-code exchange (RFC 6749 §4.1.3, RFC 7636 §4.5).
#[derive(Debug, Clone, Copy)]
pub struct CodeExchange<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

fn invalid_code() -> AppError {
    AppError::invalid_grant("The authorization code is invalid, expired or already used.")
}

fn invalid_refresh() -> AppError {
    AppError::invalid_grant("The refresh token is invalid, expired or revoked.")
}

/// A requested scope may only narrow what was granted (RFC 6749 §3.3 and §6).
fn narrowed(requested: Option<&str>, granted: ScopeSet, refusal: impl FnOnce(ScopeSet) -> String) -> AppResult<ScopeSet> {
    let Some(text) = requested else { return Ok(granted) };
    let asked = ScopeSet::parse_delimited(text).map_err(|e| OAuthRefusal::InvalidScope(e.0))?;
    asked.narrowing(granted).map_err(|excess| OAuthRefusal::InvalidScope(refusal(excess)).into())
}

impl App {
    /// Client authentication: an approved client, with its secret when confidential, without one when
    /// public (a public client that presents a secret is misconfigured or an impostor).
    pub async fn authenticate_client(&self, presented: PresentedClient<'_>) -> AppResult<Arc<OAuthClient>> {
        let refused = || {
            AppError::OAuth(OAuthRefusal::InvalidClient {
                description: "Client authentication failed.".into(),
                basic_challenge: presented.via_basic,
            })
        };
        // Before the lookup and the secret's check: a flood of guesses for one client costs little.
        self.count_token_request(presented.id).await?;
        let client_id = ClientId::parse(presented.id).ok_or_else(refused)?;
        let client = self.client(&client_id).await?.filter(|client| client.is_approved()).ok_or_else(refused)?;
        match (client.client_type, presented.secret) {
            (ClientType::Confidential, Some(secret)) if client.secret_matches(secret) => Ok(client),
            (ClientType::Public, None) => Ok(client),
            _ => Err(refused()),
        }
    }

    /// Revokes a token family (replay, or the client's request) and forgets every liveness answer.
    pub(crate) async fn revoke_family(&self, family: &FamilyId, now: Timestamp) -> AppResult<()> {
        self.store.revoke_family(family, now).await?;
        self.apply(&[Invalidation::OAuth]);
        Ok(())
    }

    /// A replay's event: the client presented what was already spent, and the family it opened is revoked.
    /// Names the family (a random id, not a credential), never the code or token itself.
    async fn record_replay(
        &self,
        kind: AuditKind,
        client: &OAuthClient,
        family: &FamilyId,
        user: UserId,
        organization: Option<OrganizationId>,
        reason: &'static str,
    ) {
        let details = AuditDetails::new().target(family).client(&client.id).user(user).reason(reason);
        let event = self.audit_event(kind, AuditActor::Client(client.id.clone())).in_organization(organization).with(details);
        self.record_for_user(event, user).await;
    }

    /// RFC 6749 §4.1.3 and RFC 7636 §4.6.
    pub async fn exchange_code(&self, client: &OAuthClient, exchange: CodeExchange<'_>) -> AppResult<TokenResponse> {
        let now = self.clock.now();
        let secret = OpaqueSecret::parse(exchange.code).ok_or_else(invalid_code)?;
        let code = self.store.code_by_hash(&secret.hash()).await?.ok_or_else(invalid_code)?;
        if !code.hash.matches(&secret.hash()) || code.client_id != client.id {
            return Err(invalid_code());
        }
        if code.used_at.is_some() {
            // RFC 6749 §4.1.2 and RFC 9700 §4.5: a replayed code revokes everything issued from it.
            self.revoke_family(&code.family_id, now).await?;
            tracing::warn!(client_id = %client.id, "authorization code replayed; its tokens are revoked");
            let reason = "the code was already used; the tokens issued from it are revoked";
            self.record_replay(AuditKind::AuthorizationCodeReplayed, client, &code.family_id, code.user_id, code.organization_id, reason)
                .await;
            return Err(invalid_code());
        }
        if code.is_expired(now) {
            return Err(invalid_code());
        }
        // RFC 6749 §4.1.3: "required, if the redirect_uri parameter was included in the authorization
        // request, and their values MUST be identical". A refusal here leaves the code unused (as every check
        // before `consume_code` does): it takes the PKCE verifier as well to redeem it, and the client may
        // correct its request within the code's short life.
        match (exchange.redirect_uri, code.redirect_uri_in_request) {
            (Some(uri), _) if uri == code.redirect_uri.as_str() => {}
            (Some(_), _) => return Err(AppError::invalid_grant("redirect_uri does not match the authorization request.")),
            (None, false) => {}
            (None, true) => {
                return Err(AppError::invalid_grant(
                    "redirect_uri is required: the authorization request carried one (RFC 6749 §4.1.3).",
                ));
            }
        }
        let verifier = exchange
            .code_verifier
            .ok_or_else(|| OAuthRefusal::InvalidRequest("The code_verifier parameter is required (PKCE).".into()))?;
        if !code.challenge.verify(verifier) {
            return Err(AppError::invalid_grant("The code_verifier does not match the code_challenge."));
        }
        // A newer consent (or the user) may have ended the code's family while the code waited. Asked before
        // the code is taken: a replay racing the winner ends the family too, and the winner must still get
        // its (then dead) answer, so that exactly one exchange wins. A family ended between here and the
        // issue leaves tokens that no liveness check accepts.
        if self.store.family(&code.family_id).await?.is_none_or(|family| family.revoked_at.is_some()) {
            return Err(AppError::invalid_grant("The consent was revoked."));
        }
        // Checks passed: now take the code. Of two racing exchanges exactly one wins; the loser is a replay.
        if !self.store.consume_code(&code.hash, now).await? {
            self.revoke_family(&code.family_id, now).await?;
            let reason = "two exchanges of one code raced; the tokens issued from it are revoked";
            self.record_replay(AuditKind::AuthorizationCodeReplayed, client, &code.family_id, code.user_id, code.organization_id, reason)
                .await;
            return Err(invalid_code());
        }
        let grant =
            self.store.grant_by_id(code.grant_id).await?.ok_or_else(|| AppError::invalid_grant("The consent was revoked."))?;
        let user = self.store.user_by_id(code.user_id).await?.ok_or_else(invalid_code)?;
        let subject = Subject {
            client,
            user: Some(&user),
            scopes: code.scopes,
            organization_id: code.organization_id,
            family_id: &code.family_id,
            auth_time: Some(code.auth_time),
        };
        let mut response = self.user_tokens(&subject, &user, code.nonce.clone(), code.auth_time, now).await?;
        if self.gets_refresh_token(client) {
            let lineage = RefreshLineage {
                grant_id: grant.id,
                family_id: &code.family_id,
                parent: None,
                scopes: code.scopes,
                organization_id: code.organization_id,
                auth_time: code.auth_time,
            };
            let (secret, row) = self.mint_refresh_token(client, &user, &lineage, now);
            self.store.insert_refresh_token(&row).await?;
            response.refresh_token = Some(secret.reveal());
        }
        self.store.touch_grant(grant.id, now).await?;
        Ok(response)
    }

    /// RFC 6749 §6, with rotation (RFC 9700 §4.14.2).
    pub async fn refresh(&self, client: &OAuthClient, refresh_token: &str, scope: Option<&str>) -> AppResult<TokenResponse> {
        let now = self.clock.now();
        let secret = OpaqueSecret::parse(refresh_token).ok_or_else(invalid_refresh)?;
        let token = self.store.refresh_token_by_hash(&secret.hash()).await?.ok_or_else(invalid_refresh)?;
        if !token.hash.matches(&secret.hash()) || token.client_id != client.id {
            return Err(invalid_refresh());
        }
        let scopes = narrowed(scope, token.scopes, |excess| {
            format!("A refresh cannot add scopes: {} was not granted.", excess.to_space_delimited())
        })?;
        // A first judgement from what we read, to refuse early without minting anything; the store makes the
        // binding decision atomically in `rotate`, since another node may rotate the same token meanwhile.
        // A token revoked by itself is one a grace retry superseded; whether that is a replay depends on its
        // family, read only then so that the common path costs no extra read.
        let family_live = token.revoked_at.is_none()
            || self.store.family(&token.family_id).await?.is_some_and(|family| family.revoked_at.is_none());
        match judge_refresh(&token, family_live, now, self.settings.oauth.refresh_grace_secs) {
            RefreshVerdict::Revoked | RefreshVerdict::Expired => Err(invalid_refresh()),
            RefreshVerdict::Replay => {
                self.revoke_family(&token.family_id, now).await?;
                tracing::warn!(client_id = %client.id, "refresh token replayed (after the grace window, or superseded); family revoked");
                let reason = "a rotated refresh token was presented after the grace window, or a superseded one; the family is revoked";
                self.record_replay(AuditKind::RefreshTokenReplayed, client, &token.family_id, token.user_id, token.organization_id, reason)
                    .await;
                Err(invalid_refresh())
            }
            RefreshVerdict::Rotate | RefreshVerdict::GraceRetry => self.rotate(client, &token, scopes, now).await,
        }
    }

    /// Mints the new pair, then lets the store decide, under the family's lock, whether this request
    /// rotates the token, retries a rotation inside the grace window, or replays it.
    async fn rotate(&self, client: &OAuthClient, old: &RefreshToken, scopes: ScopeSet, now: Timestamp) -> AppResult<TokenResponse> {
        let grant = self.store.grant_by_id(old.grant_id).await?.ok_or_else(invalid_refresh)?;
        let user = self.store.user_by_id(old.user_id).await?.ok_or_else(invalid_refresh)?;
        let subject = Subject {
            client,
            user: Some(&user),
            scopes,
            organization_id: old.organization_id,
            family_id: &old.family_id,
            auth_time: Some(old.auth_time),
        };
        // OIDC Core §12.2: a refresh may return a new ID token, without a nonce.
        let mut response = self.user_tokens(&subject, &user, None, old.auth_time, now).await?;
        let lineage = RefreshLineage {
            grant_id: grant.id,
            family_id: &old.family_id,
            parent: Some(old.hash),
            scopes: old.scopes,
            organization_id: old.organization_id,
            auth_time: old.auth_time,
        };
        let (secret, row) = self.mint_refresh_token(client, &user, &lineage, now);
        match self.store.rotate_refresh_token(&old.hash, &row, self.settings.oauth.refresh_grace_secs, now).await? {
            Rotation::Rotated | Rotation::Retried => {}
            Rotation::Replayed => {
                self.revoke_family(&old.family_id, now).await?;
                tracing::warn!(client_id = %client.id, "refresh token replayed; family revoked");
                let reason = "the refresh token was rotated concurrently and presented again; the family is revoked";
                self.record_replay(AuditKind::RefreshTokenReplayed, client, &old.family_id, old.user_id, old.organization_id, reason).await;
                return Err(invalid_refresh());
            }
            Rotation::Revoked => return Err(invalid_refresh()),
        }
        // The store noted the grant's use in the rotation's own commit.
        response.refresh_token = Some(secret.reveal());
        Ok(response)
    }

    /// The family a client's `client_credentials` tokens share. A family per grant cost a durable write
    /// per token request; one live family per client costs a read. Revoking the client revokes it with
    /// every token in it; a revoked family is replaced on the next grant.
    async fn client_credentials_family(&self, client: &OAuthClient, now: Timestamp) -> AppResult<FamilyId> {
        if let Some(id) = self.caches.client_families.get(&client.id)
            && self.store.family(&id).await?.is_some_and(|family| family.revoked_at.is_none())
        {
            return Ok(id);
        }
        let family = TokenFamily {
            id: FamilyId(random_id(self.random.as_ref())),
            client_id: client.id.clone(),
            user_id: None,
            grant_id: None,
            created: now,
            revoked_at: None,
        };
        self.store.insert_family(&family).await?;
        self.caches.client_families.insert(client.id.clone(), family.id.clone());
        Ok(family.id)
    }

    /// RFC 6749 §4.4: a confidential client acting as itself, within the API scopes it was approved for.
    pub async fn client_credentials(&self, client: &OAuthClient, scope: Option<&str>) -> AppResult<TokenResponse> {
        if client.client_type != ClientType::Confidential {
            return Err(OAuthRefusal::UnauthorizedClient("Only confidential clients may use client_credentials.".into()).into());
        }
        let now = self.clock.now();
        let approved = client.scopes.intersection(ScopeSet::all_api_scopes());
        let scopes = narrowed(scope, approved, |excess| {
            format!("The client is not approved for: {}.", excess.to_space_delimited())
        })?;
        let family_id = self.client_credentials_family(client, now).await?;
        let ring = self.key_ring().await?;
        let subject = Subject { client, user: None, scopes, organization_id: None, family_id: &family_id, auth_time: None };
        let access_token = self.mint_access_token(&ring, &subject, now)?;
        Ok(TokenResponse {
            access_token,
            expires_in: self.settings.oauth.access_token_ttl_secs,
            scopes,
            id_token: None,
            refresh_token: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{REDIRECT_URI, TestApp, VERIFIER};

    fn is_invalid_grant(result: &AppResult<TokenResponse>) -> bool {
        matches!(result, Err(AppError::OAuth(OAuthRefusal::InvalidGrant(_))))
    }

    /// RFC 6749 §4.1.2: a code is single use; RFC 9700 §4.5: its replay revokes what it issued.
    #[tokio::test]
    async fn a_replayed_code_is_refused_and_revokes_what_it_issued() {
        let app = TestApp::new().await;
        let consented = app.consented("user:read").await;
        let code = app.code(&consented, "user:read").await;
        let exchange = CodeExchange { code: &code, redirect_uri: Some(REDIRECT_URI), code_verifier: Some(VERIFIER) };
        let first = app.exchange_code(&consented.client, exchange).await.unwrap();
        assert!(app.verify_access_token(&first.access_token).await.is_ok());
        assert!(is_invalid_grant(&app.exchange_code(&consented.client, exchange).await));
        assert!(app.verify_access_token(&first.access_token).await.is_err(), "the first exchange's token is revoked");
    }

    /// RFC 6749 §4.1.2 recommends codes live at most ten minutes; Make's live five.
    #[tokio::test]
    async fn a_code_expires_by_the_clock() {
        let app = TestApp::new().await;
        let consented = app.consented("user:read").await;
        let code = app.code(&consented, "user:read").await;
        app.clock.advance_secs(app.settings.oauth.code_ttl_secs);
        let exchange = CodeExchange { code: &code, redirect_uri: Some(REDIRECT_URI), code_verifier: Some(VERIFIER) };
        assert!(is_invalid_grant(&app.exchange_code(&consented.client, exchange).await));
    }

    /// Hole 10, RFC 6749 §4.1.3: the authorization request carried `redirect_uri`, so the token request
    /// must carry the identical value; leaving it out is `invalid_grant`, even for a client with one URI.
    #[tokio::test]
    async fn hole10_a_code_exchange_without_the_redirect_uri_of_the_authorization_request_is_refused_rfc6749_4_1_3() {
        let app = TestApp::new().await;
        let consented = app.consented("user:read").await;
        assert_eq!(consented.client.redirect_uris.len(), 1);
        let code = app.code(&consented, "user:read").await;
        let without = CodeExchange { code: &code, redirect_uri: None, code_verifier: Some(VERIFIER) };
        assert!(is_invalid_grant(&app.exchange_code(&consented.client, without).await));
        // The refusal did not consume the code: the corrected request is answered.
        let with = CodeExchange { code: &code, redirect_uri: Some(REDIRECT_URI), code_verifier: Some(VERIFIER) };
        assert!(app.exchange_code(&consented.client, with).await.is_ok());
    }

    /// RFC 7636 §4.6.
    #[tokio::test]
    async fn a_wrong_verifier_is_refused() {
        let app = TestApp::new().await;
        let consented = app.consented("user:read").await;
        let code = app.code(&consented, "user:read").await;
        let wrong = "x".repeat(43);
        let exchange = CodeExchange { code: &code, redirect_uri: Some(REDIRECT_URI), code_verifier: Some(&wrong) };
        assert!(is_invalid_grant(&app.exchange_code(&consented.client, exchange).await));
    }

    /// RFC 9700 §4.14.2: inside the grace window a retry of the same refresh is answered; after it, the
    /// old token is a replay and the whole family ends.
    #[tokio::test]
    async fn a_refresh_retried_in_the_grace_window_is_answered_and_a_later_replay_ends_the_family() {
        let app = TestApp::new().await;
        let consented = app.consented("user:read").await;
        let first = app.tokens(&consented, "user:read").await;
        let old = first.refresh_token.clone().unwrap();
        let rotated = app.refresh(&consented.client, &old, None).await.unwrap();
        app.clock.advance_secs(app.settings.oauth.refresh_grace_secs - 1);
        let retried = app.refresh(&consented.client, &old, None).await.unwrap();
        assert_ne!(retried.refresh_token, rotated.refresh_token);
        app.clock.advance_secs(2);
        assert!(is_invalid_grant(&app.refresh(&consented.client, &old, None).await));
        let newest = retried.refresh_token.unwrap();
        assert!(is_invalid_grant(&app.refresh(&consented.client, &newest, None).await), "the family ended");
    }

    /// Hole 1 (issue 10), RFC 9700 §4.14.2: the client rotates RT1 to RT2; a thief replays RT1 inside the
    /// grace window (RT3) and rotates on (RT4). When the client then presents RT2, the family must end, the
    /// thief's tokens with it.
    #[tokio::test]
    async fn hole1_a_stolen_refresh_token_replayed_in_the_grace_window_ends_the_family_when_the_client_returns_rfc9700_4_14_2() {
        let app = TestApp::new().await;
        let consented = app.consented("user:read").await;
        let rt1 = app.tokens(&consented, "user:read").await.refresh_token.unwrap();
        let rt2 = app.refresh(&consented.client, &rt1, None).await.unwrap().refresh_token.unwrap();
        app.clock.advance_secs(1);
        let rt3 = app.refresh(&consented.client, &rt1, None).await.unwrap().refresh_token.unwrap();
        let thief = app.refresh(&consented.client, &rt3, None).await.unwrap();
        let rt4 = thief.refresh_token.clone().unwrap();
        assert!(is_invalid_grant(&app.refresh(&consented.client, &rt2, None).await), "RT2 was superseded");
        assert!(is_invalid_grant(&app.refresh(&consented.client, &rt4, None).await), "the thief's line ended with the family");
        assert!(app.verify_access_token(&thief.access_token).await.is_err(), "the thief's access token is revoked");
    }

    /// Hole 2 (issue 10): a new consent for fewer scopes ends what the earlier consent issued; its refresh
    /// token no longer refreshes with the old scopes, and its access token stops working (RFC 6749 §10.4's
    /// "refresh tokens are bound to the scope … the resource owner authorized").
    #[tokio::test]
    async fn hole2_a_narrower_consent_ends_the_tokens_of_the_earlier_consent_rfc6749_10_4() {
        let app = TestApp::new().await;
        let consented = app.consented("user:read teams:read").await;
        let earlier = app.tokens(&consented, "user:read teams:read").await;
        assert!(app.verify_access_token(&earlier.access_token).await.is_ok());
        let narrower = app.tokens(&consented, "user:read").await;
        let old_refresh = earlier.refresh_token.unwrap();
        assert!(is_invalid_grant(&app.refresh(&consented.client, &old_refresh, None).await), "the old refresh token ended");
        assert!(app.verify_access_token(&earlier.access_token).await.is_err(), "the old access token ended");
        let (verified, _) = app.verify_access_token(&narrower.access_token).await.unwrap();
        assert_eq!(verified.scopes.to_space_delimited(), "user:read");
        let refreshed = app.refresh(&consented.client, &narrower.refresh_token.unwrap(), None).await.unwrap();
        assert_eq!(refreshed.scopes.to_space_delimited(), "user:read");
    }

    /// The same consent given again (or a wider one) takes nothing away: the earlier tokens stay.
    #[tokio::test]
    async fn a_consent_that_keeps_every_earlier_scope_keeps_the_earlier_tokens() {
        let app = TestApp::new().await;
        let consented = app.consented("user:read teams:read").await;
        let earlier = app.tokens(&consented, "user:read").await;
        app.tokens(&consented, "user:read teams:read").await;
        assert!(app.verify_access_token(&earlier.access_token).await.is_ok());
        assert!(app.refresh(&consented.client, &earlier.refresh_token.unwrap(), None).await.is_ok());
    }

    /// RFC 6749 §6: a refresh may narrow the scope, never widen it.
    #[tokio::test]
    async fn a_refresh_only_narrows_the_scope() {
        let app = TestApp::new().await;
        let consented = app.consented("user:read teams:read").await;
        let first = app.tokens(&consented, "user:read teams:read").await;
        let refresh = first.refresh_token.unwrap();
        let wider = app.refresh(&consented.client, &refresh, Some("user:read teams:write")).await;
        assert!(matches!(wider, Err(AppError::OAuth(OAuthRefusal::InvalidScope(_)))));
        let narrower = app.refresh(&consented.client, &refresh, Some("user:read")).await.unwrap();
        assert_eq!(narrower.scopes.to_space_delimited(), "user:read");
    }
}

/// Property test of refresh-family state (issue 10): whatever two parties holding copies of one refresh
/// token do, in whatever order and at whatever pace, the family never forks into two live lines, and once
/// a presentation is refused the family stays ended (RFC 9700 §4.14.2).
#[cfg(test)]
mod family_properties {
    use std::collections::{HashMap, HashSet};

    use proptest::prelude::*;

    use crate::testing::TestApp;

    /// One step: which party acts, which of its tokens it presents (0: its newest; k: its k-th newest,
    /// or its oldest if it holds fewer), and how many seconds pass before.
    #[derive(Debug, Clone)]
    struct Step {
        thief: bool,
        age: usize,
        wait_secs: i64,
    }

    fn step() -> impl Strategy<Value = Step> {
        (any::<bool>(), 0usize..3, prop_oneof![Just(0i64), 1i64..5, 25i64..40]).prop_map(|(thief, age, wait_secs)| Step { thief, age, wait_secs })
    }

    async fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
        let app = TestApp::new().await;
        let consented = app.consented("user:read").await;
        let first = app.tokens(&consented, "user:read").await.refresh_token.ok_or_else(|| TestCaseError::fail("no refresh token"))?;
        // Both parties hold the first token: the thief copied it.
        let mut held: [Vec<String>; 2] = [vec![first.clone()], vec![first]];
        let mut parent_of: HashMap<String, String> = HashMap::new();
        let mut presented_ok: HashSet<String> = HashSet::new();
        let mut ended = false;
        for step in steps {
            app.clock.advance_secs(step.wait_secs);
            let mine = &held[usize::from(step.thief)];
            let token = mine[mine.len().saturating_sub(1 + step.age)].clone();
            match app.refresh(&consented.client, &token, None).await {
                Ok(answer) => {
                    prop_assert!(!ended, "a refresh succeeded after the family was refused once");
                    let successor = answer.refresh_token.ok_or_else(|| TestCaseError::fail("no successor"))?;
                    parent_of.insert(successor.clone(), token.clone());
                    presented_ok.insert(token);
                    held[usize::from(step.thief)].push(successor);
                }
                Err(_) => ended = true,
            }
        }
        // Of the tokens issued for one parent (a rotation and its grace retries), at most one was ever
        // presented successfully: one line continues, never two.
        let mut continued: HashMap<&String, usize> = HashMap::new();
        for (child, parent) in &parent_of {
            if presented_ok.contains(child) {
                *continued.entry(parent).or_default() += 1;
            }
        }
        prop_assert!(continued.values().all(|count| *count <= 1), "the family forked: {continued:?}");
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn two_parties_never_keep_two_lines_alive_and_an_ended_family_stays_ended(steps in proptest::collection::vec(step(), 1..10)) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| TestCaseError::fail(e.to_string()))?;
            runtime.block_on(run(steps))?;
        }
    }
}
