//! The authorization endpoint's decisions (RFC 6749 §4.1.1–4.1.2, OIDC Core §3.1.2): who is signed in,
//! whether consent is needed, and the single-use code. The HTTP edge renders each decision as a page or a
//! redirect; browser sessions and the login throttle live here so the console shares them.

use std::net::IpAddr;

use gatehouse_domain::oauth::authorize::{self, AuthorizationRequest, AuthorizeError, RawParams};
use gatehouse_domain::oauth::grant::needs_consent;
use gatehouse_domain::oauth::prelogin::{PreLogin, PreLoginKey};
use gatehouse_domain::oauth::secret::random_id;
use gatehouse_domain::oauth::{AuthorizationCode, BrowserSession, OpaqueSecret, TokenFamily};
use gatehouse_domain::{
    AuditActor, AuditDetails, AuditKind, Email, FamilyId, GrantId, Organization, OrganizationId, Page, SortDir, SortKey, Timestamp, User,
    UserId,
};

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::invalidation::Invalidation;
use crate::throttle::account_key;

/// The settings key of the pre-login cookies' signing key, shared by every node on the store.
const PRELOGIN_KEY_SETTING: &str = "oauth_prelogin_cookie_key";
/// How often a throttled sign-in is recorded in the audit log, per account and address.
const THROTTLED_EVENT_RULE: crate::rate_limit::Rule =
    crate::rate_limit::Rule { name: "audit-login-throttled", limit: 1, window_millis: 60_000 };
/// Long enough to read the login form and type a password; short, because it is not revocable.
const PRELOGIN_TTL_SECS: i64 = 30 * 60;

/// A browser session: a random secret in a cookie, stored hashed so every node sees it.
#[derive(Clone)]
pub struct Session {
    pub secret: OpaqueSecret,
    pub record: BrowserSession,
}

impl Session {
    /// The CSRF token of this session's forms, derived from its secret.
    pub fn csrf(&self) -> String {
        self.secret.derive("gatehouse-csrf")
    }

    /// Compares a presented CSRF token in constant time.
    pub fn csrf_matches(&self, presented: &str) -> bool {
        gatehouse_domain::oauth::secret::constant_time_eq(presented, &self.csrf())
    }

    pub fn user(&self) -> Option<(UserId, Timestamp)> {
        self.record.user_id.zip(self.record.auth_time)
    }
}

/// What the authorization endpoint does next.
pub enum Decision {
    /// Show the login form.
    Login,
    /// `prompt=none` but nobody is signed in (OIDC Core §3.1.2.6 `login_required`).
    LoginRequired,
    /// Show the consent form.
    Consent(Box<ConsentView>),
    /// `prompt=none` but consent is needed (`consent_required`).
    ConsentRequired,
    /// Redirect to the client with this code.
    Code(String),
    /// The session's user was deleted.
    AccountGone,
}

/// What the consent page shows.
pub struct ConsentView {
    pub user: User,
    pub organizations: Vec<Organization>,
    pub selected: Option<OrganizationId>,
}

pub enum LoginOutcome {
    SignedIn(Box<Session>),
    Refused,
    Throttled { retry_after_secs: i64 },
}

pub enum ConsentOutcome {
    Code(String),
    /// The organization chosen is not one of the user's: choose again.
    ChooseOrganization(Box<ConsentView>),
    AccountGone,
}

impl App {
    /// Validates an authorization request against the client it names.
    pub async fn validate_authorization(&self, params: &RawParams) -> AppResult<Result<AuthorizationRequest, AuthorizeError>> {
        let client_id = match authorize::client_id_of(params) {
            Ok(id) => id,
            Err(error) => return Ok(Err(AuthorizeError::Unsafe(error))),
        };
        let client = self.store.oauth_client(&client_id).await?;
        Ok(authorize::validate(params, client))
    }

    /// The live session a cookie value names, if any.
    pub async fn session(&self, cookie_value: &str) -> AppResult<Option<Session>> {
        let Some(secret) = OpaqueSecret::parse(cookie_value) else { return Ok(None) };
        let now = self.clock.now();
        Ok(self
            .store
            .session(&secret.hash())
            .await?
            .filter(|record| record.expires_at > now)
            .map(|record| Session { secret, record }))
    }

    /// A session for a user who signed in now. Only a proven user gets a durable row (issue 10, hole 6):
    /// anonymous visitors carry a stateless pre-login cookie instead.
    pub async fn create_session(&self, user: UserId) -> AppResult<Session> {
        let now = self.clock.now();
        let secret = OpaqueSecret::generate(self.random.as_ref());
        let record = BrowserSession {
            hash: secret.hash(),
            user_id: Some(user),
            auth_time: Some(now),
            created: now,
            expires_at: now.plus_secs(self.settings.oauth.session_ttl_secs),
        };
        self.store.insert_session(&record).await?;
        Ok(Session { secret, record })
    }

    /// The key every node signs pre-login cookies with: the first node to need it stores a new one, and
    /// every node then reads that one, so a cookie from one node opens on another.
    async fn prelogin_key(&self) -> AppResult<&PreLoginKey> {
        self.prelogin_key
            .get_or_try_init(|| async {
                let candidate = PreLoginKey::generate(self.random.as_ref());
                let stored = self.store.setting_or_insert(PRELOGIN_KEY_SETTING, &candidate.to_text()).await?;
                PreLoginKey::parse(&stored).ok_or_else(|| AppError::Internal("the stored pre-login cookie key is malformed".into()))
            })
            .await
    }

    /// A new pre-login cookie for an anonymous visitor of the login form. Nothing is written.
    pub async fn start_prelogin(&self) -> AppResult<PreLogin> {
        let key = self.prelogin_key().await?;
        Ok(key.issue(self.random.as_ref(), self.clock.now().plus_secs(PRELOGIN_TTL_SECS)))
    }

    /// The pre-login a cookie value stands for, if one of our nodes signed it and it has not expired.
    pub async fn prelogin(&self, cookie_value: &str) -> AppResult<Option<PreLogin>> {
        let key = self.prelogin_key().await?;
        Ok(key.open(cookie_value, self.clock.now()))
    }

    /// Login if needed, then consent if needed, then the code. `fresh_login` is set right after the user
    /// signed in on this request, so `prompt=login` and `max_age` are satisfied.
    pub async fn decide(&self, request: &AuthorizationRequest, session: Option<&Session>, fresh_login: bool) -> AppResult<Decision> {
        let now = self.clock.now();
        let signed_in = session.and_then(Session::user);
        let must_login = match signed_in {
            None => true,
            Some(_) if fresh_login => false,
            Some((_, auth_time)) => {
                request.prompt.login
                    || request.max_age.is_some_and(|max_age| now.as_millis() - auth_time.as_millis() > max_age.saturating_mul(1000))
            }
        };
        let Some((user_id, auth_time)) = signed_in.filter(|_| !must_login) else {
            return Ok(if request.prompt.none { Decision::LoginRequired } else { Decision::Login });
        };
        let Some(user) = self.store.user_by_id(user_id).await? else { return Ok(Decision::AccountGone) };
        let remembered = self.store.live_grant(user.id, &request.client.id).await?;
        match remembered {
            Some(grant) if !needs_consent(Some(&grant), request.scopes, request.prompt) => {
                let code = self.issue_code(request, &user, grant.id, grant.organization_id, auth_time).await?;
                Ok(Decision::Code(code))
            }
            _ if request.prompt.none => Ok(Decision::ConsentRequired),
            remembered => {
                let selected = remembered.and_then(|grant| grant.organization_id);
                Ok(Decision::Consent(Box::new(self.consent_view(user, selected).await?)))
            }
        }
    }

    async fn consent_view(&self, user: User, selected: Option<OrganizationId>) -> AppResult<ConsentView> {
        let page = Page { sort_by: SortKey::Name, sort_dir: SortDir::Asc, ..Page::default() };
        let organizations = self.store.organizations_of_user(user.id, page).await?;
        Ok(ConsentView { user, organizations, selected })
    }

    /// Signs a user in on the login form: throttled per account and per client address, argon2id-checked,
    /// and on success a new session replaces the old one, so a session planted before login is worth
    /// nothing (session fixation).
    pub async fn sign_in(&self, previous: Option<&Session>, email: &str, password: String, peer: IpAddr) -> AppResult<LoginOutcome> {
        let now = self.clock.now();
        let parsed = Email::parse(email).ok();
        let account = account_key(email);
        // Counted before the hash runs, atomically with the limit's check: concurrent guesses cannot race it.
        let ticket = match self.admit_login(&account, peer, now).await? {
            Ok(ticket) => ticket,
            Err(wait) => {
                // One event per account and address a minute: a flood of refused guesses must not become a
                // flood of durable writes (the throttle exists to make them cheap).
                let quota = self.limiter.hit(THROTTLED_EVENT_RULE, &format!("{account}|{peer}"), now).await;
                if quota.allowed {
                    self.record_login(AuditKind::LoginThrottled, parsed.as_ref(), None, peer).await;
                }
                return Ok(LoginOutcome::Throttled { retry_after_secs: i64::try_from(wait).unwrap_or(i64::MAX) });
            }
        };
        let user = match &parsed {
            Some(email) => self.store.user_by_email(email).await?,
            None => None,
        };
        // An unknown account is checked against a dummy hash, so it takes as long as a wrong password.
        let phc = user.as_ref().and_then(|user| user.password_hash.clone());
        let verified = self.verify_password(phc, password).await;
        let known = user.as_ref().map(|user| user.id);
        let Some(user) = user.filter(|_| verified) else {
            tracing::info!(%peer, "failed sign-in");
            self.record_login(AuditKind::LoginFailed, parsed.as_ref(), known, peer).await;
            return Ok(LoginOutcome::Refused);
        };
        self.forgive_login(ticket).await;
        if let Some(previous) = previous {
            self.store.delete_session(&previous.record.hash).await?;
        }
        let session = self.create_session(user.id).await?;
        self.record_login(AuditKind::LoginSucceeded, Some(&user.email), Some(user.id), peer).await;
        Ok(LoginOutcome::SignedIn(Box::new(session)))
    }

    /// A sign-in's event. Until the password is proven the actor is anonymous, named by the account it
    /// tried when that is an email address: text typed in the email field that is not one may be a
    /// password typed in the wrong field, so it is never kept. A known account's organizations see the
    /// attempts on it. The address is the one the throttle counted.
    async fn record_login(&self, kind: AuditKind, account: Option<&Email>, user: Option<UserId>, peer: IpAddr) {
        let actor = match (kind, user) {
            (AuditKind::LoginSucceeded, Some(id)) => AuditActor::User { id, client: None },
            _ => AuditActor::Anonymous { account: account.cloned() },
        };
        let mut event = self.audit_event(kind, actor);
        event.origin.address = Some(peer);
        match user {
            Some(user) => self.record_for_user(event.with(AuditDetails::new().target(user.0).user(user)), user).await,
            None => self.record(event).await,
        }
    }

    /// Records consent and issues the code. The organization must be one of the user's when they have any.
    ///
    /// The consent given on this page is the whole consent: the grant becomes exactly these scopes for this
    /// organization. When the earlier consent allowed anything this one does not (another organization, or
    /// a scope left out), everything issued under it ends (issue 10, hole 2): its refresh tokens would
    /// otherwise keep the old scopes and organization for as long as they rotate.
    pub async fn consent(&self, request: &AuthorizationRequest, session: &Session, chosen: Option<OrganizationId>) -> AppResult<ConsentOutcome> {
        let Some((user_id, auth_time)) = session.user() else { return Ok(ConsentOutcome::AccountGone) };
        let Some(user) = self.store.user_by_id(user_id).await? else { return Ok(ConsentOutcome::AccountGone) };
        let view = self.consent_view(user, None).await?;
        let organization_id = match (view.organizations.is_empty(), chosen) {
            (true, _) => None,
            (false, Some(id)) if view.organizations.iter().any(|org| org.id == id) => Some(id),
            (false, _) => return Ok(ConsentOutcome::ChooseOrganization(Box::new(view))),
        };
        let user = view.user;
        let now = self.clock.now();
        if let Some(earlier) = self.store.live_grant(user.id, &request.client.id).await?
            && (earlier.organization_id != organization_id || !earlier.scopes.is_subset_of(request.scopes))
        {
            let revoked = self.store.revoke_grant_families(earlier.id, now).await?;
            if !revoked.is_empty() {
                self.apply(&[Invalidation::OAuth]);
            }
        }
        let grant = self.store.save_grant(user.id, &request.client.id, organization_id, request.scopes, now).await?;
        let code = self.issue_code(request, &user, grant.id, organization_id, auth_time).await?;
        let details =
            AuditDetails::new().target(grant.id).grant(grant.id).client(&request.client.id).user(user.id).scopes(request.scopes);
        let event = self
            .audit_event(AuditKind::OAuthGrantGiven, AuditActor::User { id: user.id, client: None })
            .in_organization(organization_id)
            .with(details);
        self.record_for_user(event, user.id).await;
        Ok(ConsentOutcome::Code(code))
    }

    /// RFC 6749 §4.1.2: a single-use code bound to the client, the redirect URI and the PKCE challenge,
    /// opening a token family of its own.
    async fn issue_code(
        &self,
        request: &AuthorizationRequest,
        user: &User,
        grant_id: GrantId,
        organization_id: Option<OrganizationId>,
        auth_time: Timestamp,
    ) -> AppResult<String> {
        let now = self.clock.now();
        let family = TokenFamily {
            id: FamilyId(random_id(self.random.as_ref())),
            client_id: request.client.id.clone(),
            user_id: Some(user.id),
            grant_id: Some(grant_id),
            created: now,
            revoked_at: None,
        };
        self.store.insert_family(&family).await?;
        let secret = OpaqueSecret::generate(self.random.as_ref());
        let code = AuthorizationCode {
            hash: secret.hash(),
            client_id: request.client.id.clone(),
            user_id: user.id,
            grant_id,
            family_id: family.id,
            redirect_uri: request.redirect_uri.clone(),
            redirect_uri_in_request: request.raw.0.iter().any(|(key, _)| key == "redirect_uri"),
            scopes: request.scopes,
            organization_id,
            challenge: request.challenge.clone(),
            nonce: request.nonce.clone(),
            auth_time,
            created: now,
            expires_at: now.plus_secs(self.settings.oauth.code_ttl_secs),
            used_at: None,
        };
        self.store.insert_code(&code).await?;
        Ok(secret.reveal())
    }
}
