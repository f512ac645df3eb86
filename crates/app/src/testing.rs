//! A real application on a real SQLite store in a temporary directory, with a mock clock and seeded
//! randomness, for the use cases' own tests.

use std::ops::Deref;
use std::sync::Arc;

use gatehouse_domain::identity::NewUser;
use gatehouse_domain::{Clock, MockClock, SeededRandom, Timestamp, User};

use crate::app::{App, Settings};

/// 2026-01-01T00:00:00.000Z.
pub const START: Timestamp = Timestamp::from_millis(1_767_225_600_000);

/// The secrets key the use cases' tests seal signing keys under.
pub const TEST_SECRETS_KEY: &str = "test-secrets-key-for-the-use-cases-0123456789";

pub fn test_key_protection() -> crate::keys::KeyProtection {
    let secrets = gatehouse_domain::secrets::SecretsKeys::from_secrets([TEST_SECRETS_KEY]).expect("a long enough test key");
    crate::keys::KeyProtection::Sealed(Arc::new(secrets))
}

pub struct TestApp {
    pub app: App,
    pub clock: MockClock,
    _dir: tempfile::TempDir,
}

impl Deref for TestApp {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_key_protection(test_key_protection()).await
    }

    pub async fn with_key_protection(key_protection: crate::keys::KeyProtection) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = gatehouse_store::open(&format!("sqlite://{}/gatehouse.db", dir.path().display())).await.expect("store");
        let clock = MockClock::new(START);
        let mut settings = Settings::new("test.gatehouse.local", "http://127.0.0.1:1");
        settings.key_protection = key_protection;
        let app = App::new(store, Arc::new(clock.clone()), Arc::new(SeededRandom::new(42)), settings);
        Self { app, clock, _dir: dir }
    }

    /// Another application over the same store and clock (a node after a restart or an upgrade), with
    /// these key settings and empty caches.
    pub fn reopened(&self, key_protection: crate::keys::KeyProtection) -> App {
        let mut settings = self.app.settings.clone();
        settings.key_protection = key_protection;
        App::new(self.app.store.clone(), Arc::new(self.clock.clone()), Arc::new(SeededRandom::new(7)), settings)
    }

    pub async fn user(&self, email: &str, admin: bool) -> User {
        let new = NewUser::new("Test User", email, None, admin).expect("valid user");
        self.app.store.create_user(&new, self.clock.now()).await.expect("create user")
    }
}

/// An approved confidential client and a user who consented to it, ready to exchange codes.
pub struct Consented {
    pub client: gatehouse_domain::oauth::OAuthClient,
    pub session: crate::authorization::Session,
}

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const REDIRECT_URI: &str = "https://app.example/cb";

impl TestApp {
    pub async fn consented(&self, scopes: &str) -> Consented {
        let owner = self.user("dev@example.com", false).await;
        let uris = vec![REDIRECT_URI.to_string()];
        let names: Vec<String> = scopes.split(' ').map(str::to_string).collect();
        let registration = crate::clients::ClientRegistration {
            name: "App",
            description: "",
            client_type: "confidential",
            redirect_uris: &uris,
            scopes: &names,
        };
        let (client, _) = self.app.create_approved_client(owner.id, registration, false).await.expect("client");
        let user = self.user("ada@example.com", false).await;
        let session = self.app.create_session(user.id).await.expect("session");
        Consented { client, session }
    }

    /// A code for the consented client, through the authorization request and the consent form.
    pub async fn code(&self, consented: &Consented, scopes: &str) -> String {
        let challenge = gatehouse_domain::oauth::pkce::s256_challenge(VERIFIER);
        let query = format!(
            "response_type=code&client_id={}&redirect_uri={}&scope={}&code_challenge={challenge}&code_challenge_method=S256",
            consented.client.id,
            REDIRECT_URI,
            scopes.replace(' ', "+"),
        );
        let params = gatehouse_domain::oauth::authorize::RawParams::parse(&query);
        let request = match self.app.validate_authorization(&params).await.expect("store") {
            Ok(request) => request,
            Err(_) => panic!("the authorization request is valid"),
        };
        match self.app.consent(&request, &consented.session, None).await.expect("consent") {
            crate::authorization::ConsentOutcome::Code(code) => code,
            _ => panic!("consent gives a code"),
        }
    }

    pub async fn tokens(&self, consented: &Consented, scopes: &str) -> crate::issue::TokenResponse {
        let code = self.code(consented, scopes).await;
        let exchange = crate::token_endpoint::CodeExchange { code: &code, redirect_uri: Some(REDIRECT_URI), code_verifier: Some(VERIFIER) };
        self.app.exchange_code(&consented.client, exchange).await.expect("exchange")
    }
}
