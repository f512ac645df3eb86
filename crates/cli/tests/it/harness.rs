//! A real server on a real socket, in-process so that tests own its clock, against a fresh store.
//!
//! The backend is SQLite in a temporary directory, or PostgreSQL when `GATEHOUSE_TEST_POSTGRES_URL` is set
//! (each server then gets a schema of its own, so runs never collide).

use std::sync::Arc;
use std::time::Duration;

use gatehouse::server::{self, Running};
use gatehouse_domain::identity::NewUser;
use gatehouse_domain::{OrganizationId, TeamId, MockClock, NewApiTokenRequest, OrgRole, Timestamp, UserId};
use gatehouse_app::Settings as ServerConfig;
use gatehouse_store::{DynStore, NewOrganization};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

pub const ZONE: &str = "test.gatehouse.local";
/// The secrets key test servers seal their signing keys under (spawned processes get it through
/// `GATEHOUSE_SECRETS_KEY`).
pub const TEST_SECRETS_KEY: &str = "integration-test-secrets-key-0123456789abcdef";

pub fn test_key_protection() -> gatehouse_app::keys::KeyProtection {
    let secrets = gatehouse_domain::secrets::SecretsKeys::from_secrets([TEST_SECRETS_KEY]).expect("a long enough key");
    gatehouse_app::keys::KeyProtection::Sealed(Arc::new(secrets))
}
/// 2026-01-01T00:00:00.000Z: a fixed start so that timestamps in assertions are predictable.
pub const START: Timestamp = Timestamp::from_millis(1_767_225_600_000);

pub struct TestServer {
    pub base: String,
    pub clock: MockClock,
    pub store: DynStore,
    pub http: reqwest::Client,
    running: Option<Running>,
    /// The store's URL, for other processes (nodes, the CLI) to open the same store.
    pub database_url: String,
    _dir: tempfile::TempDir,
}

pub struct TestUser {
    pub id: UserId,
}

/// Where the test stores live: a temporary SQLite file, or a fresh PostgreSQL schema.
pub async fn fresh_database_url(dir: &tempfile::TempDir) -> String {
    match std::env::var("GATEHOUSE_TEST_POSTGRES_URL") {
        Ok(base) if !base.is_empty() => crate::postgres::fresh_schema_url(&base).await,
        _ => format!("sqlite://{}/gatehouse.db", dir.path().display()),
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_in_zone(ZONE).await
    }

    pub async fn start_in_zone(zone: &str) -> Self {
        Self::start_configured(zone, gatehouse_domain::oauth::OAuthSettings::default()).await
    }

    pub async fn start_configured(zone: &str, oauth: gatehouse_domain::oauth::OAuthSettings) -> Self {
        Self::start_with(zone, gatehouse_http::EdgeLimits::default(), |config| config.oauth = oauth).await
    }

    /// A server keeping its signing keys this way (in clear: as a store written before encryption at rest).
    pub async fn start_with_key_protection(key_protection: gatehouse_app::keys::KeyProtection) -> Self {
        Self::start_with(ZONE, gatehouse_http::EdgeLimits::default(), |config| config.key_protection = key_protection).await
    }

    /// A server with these rate-limit settings (Redis, limits beyond Make's).
    pub async fn start_with_limits(limits: gatehouse_app::rate_limit::LimitSettings) -> Self {
        Self::start_with(ZONE, gatehouse_http::EdgeLimits::default(), |config| config.limits = limits).await
    }

    /// A server sending its email through this SMTP URL (see `mail.rs` for a real server to point it at).
    pub async fn start_with_mail(smtp_url: &str) -> Self {
        let mail = gatehouse_app::mail::MailSettings { smtp_url: Some(smtp_url.to_string()), from: None };
        Self::start_with(ZONE, gatehouse_http::EdgeLimits::default(), |config| config.mail = mail).await
    }

    /// A server with these connection bounds (short timeouts, a small connection cap).
    pub async fn start_with_edge(edge: gatehouse_http::EdgeLimits) -> Self {
        Self::start_with(ZONE, edge, |_| {}).await
    }

    /// A fresh store, a free port, the test secrets key, and whatever `configure` changes.
    async fn start_with(zone: &str, edge: gatehouse_http::EdgeLimits, configure: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database_url(&dir).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let mut config = ServerConfig::new(zone, base);
        config.key_protection = test_key_protection();
        configure(&mut config);
        Self::start_full(listener, database_url, MockClock::new(START), config, dir, edge).await
    }

    /// Another node on this server's store, clock and configuration (the same issuer, as behind one
    /// public URL), with caches of its own: what one node writes, the other learns through the feed.
    pub async fn another_node(&self) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let config = self.state().app.settings.clone();
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_on(listener, self.database_url.clone(), self.clock.clone(), config, dir).await
    }

    /// A server over an existing store (another node, or the same store after an upgrade), with these
    /// settings and its own caches.
    pub async fn start_over(database_url: String, clock: MockClock, config: ServerConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_on(listener, database_url, clock, config, dir).await
    }

    async fn start_on(listener: tokio::net::TcpListener, database_url: String, clock: MockClock, config: ServerConfig, dir: tempfile::TempDir) -> Self {
        Self::start_full(listener, database_url, clock, config, dir, gatehouse_http::EdgeLimits::default()).await
    }

    async fn start_full(
        listener: tokio::net::TcpListener,
        database_url: String,
        clock: MockClock,
        config: ServerConfig,
        dir: tempfile::TempDir,
        edge: gatehouse_http::EdgeLimits,
    ) -> Self {
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let store = gatehouse_store::open(&database_url).await.expect("open store");
        let state = server::state(store.clone(), Arc::new(clock.clone()), config).with_edge_limits(edge);
        // A long flush interval: tests flush by hand, to observe that uses are batched.
        let cadence = server::Cadence { flush_every: Duration::from_secs(3600), revocation_poll: Duration::from_millis(50) };
        let running = server::start(listener, state, cadence).await.expect("start");
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Self { base, clock, store, http, running: Some(running), database_url, _dir: dir }
    }

    /// Waits until this node's revocation feed has applied every event in the store so far, so that what
    /// another writer revoked is visible here. Fails the test after five seconds.
    pub async fn feed_caught_up(&self) {
        self.feed_caught_up_within(Duration::from_secs(5)).await;
    }

    pub async fn feed_caught_up_within(&self, limit: Duration) {
        let head = self.store.last_revocation_id().await.expect("revocation head");
        let mut applied = self.running.as_ref().expect("running").revocations_applied();
        let caught_up = tokio::time::timeout(limit, applied.wait_for(|id| *id >= head)).await.map(|waited| waited.map(|_| ()));
        match caught_up {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => panic!("the revocation feed stopped before applying event {head}"),
            Err(_) => panic!("the revocation feed did not apply event {head} within {limit:?} (last applied: {})", *applied.borrow()),
        }
    }

    /// Connections the server is serving now.
    pub fn open_connections(&self) -> usize {
        self.running.as_ref().expect("running").open_connections()
    }

    pub fn state(&self) -> &gatehouse_http::AppState {
        &self.running.as_ref().expect("running").state
    }

    pub async fn user(&self, email: &str, admin: bool) -> TestUser {
        let new = NewUser::new("Test User", email, None, admin).expect("valid user");
        let user = self.store.create_user(&new, self.clock.now_ts()).await.expect("create user");
        TestUser { id: user.id }
    }

    pub async fn org(&self, owner: &TestUser, name: &str) -> OrganizationId {
        let new = NewOrganization { name: name.into(), zone: ZONE.into(), api_limit: 60, timezone: "UTC".into(), country: None, region_id: None };
        self.store.create_organization(&new, owner.id, self.clock.now_ts()).await.expect("create org").id
    }

    pub async fn join(&self, org: OrganizationId, user: &TestUser, role: OrgRole) {
        self.store.set_organization_role(org, user.id, role).await.expect("join");
    }

    pub async fn team(&self, org: OrganizationId, name: &str) -> TeamId {
        self.store.create_team(org, name, self.clock.now_ts()).await.expect("create team").id
    }

    /// An API token for `user` in this server's zone.
    pub async fn token(&self, user: &TestUser, scopes: &[&str]) -> String {
        self.token_in_zone(user, scopes, &self.state().app.settings.zone.clone()).await
    }

    pub async fn token_in_zone(&self, user: &TestUser, scopes: &[&str], zone: &str) -> String {
        let now = self.clock.now_ts();
        let request = NewApiTokenRequest::new("test", scopes, None, now).expect("valid request");
        let (secret, _) = issue_api_token(&self.store, zone, user.id, request, now).await.expect("issue");
        secret.reveal()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.http.request(method, self.url(path)).header("authorization", format!("Token {token}"))
    }

    pub fn get(&self, path: &str, token: &str) -> RequestBuilder {
        self.request(Method::GET, path, token)
    }
}

pub trait ClockExt {
    fn now_ts(&self) -> Timestamp;
    fn now_iso_plus(&self, millis: i64) -> String;
}

impl ClockExt for MockClock {
    fn now_ts(&self) -> Timestamp {
        gatehouse_domain::Clock::now(self)
    }

    fn now_iso_plus(&self, millis: i64) -> String {
        self.now_ts().plus_millis(millis).to_iso()
    }
}

/// Status and JSON body, for assertions.
pub async fn json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

/// Asserts Make's error schema and returns the body.
#[track_caller]
pub fn assert_make_error(status: u16, body: &Value, expected_status: u16, expected_code: &str) {
    assert_eq!(status, expected_status, "status; body: {body}");
    assert_eq!(body["code"], expected_code, "code; body: {body}");
    assert!(body["message"].is_string(), "message; body: {body}");
    assert!(body["detail"].is_string(), "detail; body: {body}");
}

/// Stores an API token for `user` in any zone, as a node of that zone would have issued it: tests seed
/// tokens from other zones this way.
pub async fn issue_api_token(
    store: &DynStore,
    zone: &str,
    user: UserId,
    request: NewApiTokenRequest,
    now: Timestamp,
) -> Result<(gatehouse_domain::ApiTokenSecret, gatehouse_domain::ApiToken), gatehouse_store::StoreError> {
    let secret = gatehouse_domain::ApiTokenSecret::generate(&gatehouse_domain::OsRandom);
    let token = gatehouse_domain::ApiToken {
        user_id: user,
        created: now,
        label: request.label,
        scopes: request.scopes,
        hash: secret.hash(),
        prefix: secret.prefix(),
        zone: zone.to_string(),
        expires_at: request.expires_at,
        last_used: None,
    };
    let stored = store.insert_api_token(&token).await?;
    Ok((secret, stored))
}
