//! The application object: what every use case reads (the store, the clock, the randomness, the
//! settings) and what a node keeps in memory. The use cases are `impl App` blocks in their own modules.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gatehouse_domain::oauth::OAuthSettings;
use gatehouse_domain::{Clock, Random, Timestamp};
use gatehouse_store::DynStore;

use crate::error::{AppError, AppResult};
use crate::invalidation::Invalidation;
use crate::rate_limit::{LimitSettings, Limiter, RedisCounters};
use crate::mail::{Mailer, Outbox};
use crate::{caches, keys, mail, usage};

/// What a node is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The zone this node serves; API tokens issued elsewhere are refused.
    pub zone: String,
    /// The public base URL of this server, e.g. `https://auth.example.com`.
    pub issuer: String,
    /// Lifetimes and switches of the OAuth authorization server.
    pub oauth: OAuthSettings,
    /// Rate limits and where they are counted.
    pub limits: LimitSettings,
    /// How signing keys are kept at rest: under the operator's secrets keys, or in clear in development.
    pub key_protection: keys::KeyProtection,
    /// Where email goes out; without an SMTP URL there is none (and no reset by email).
    pub mail: mail::MailSettings,
}

impl Settings {
    /// Settings with the default OAuth lifetimes.
    pub fn new(zone: impl Into<String>, issuer: impl Into<String>) -> Self {
        Self {
            zone: zone.into(),
            issuer: issuer.into(),
            oauth: OAuthSettings::default(),
            limits: LimitSettings::default(),
            key_protection: keys::KeyProtection::default(),
            mail: mail::MailSettings::default(),
        }
    }
}

fn mail_from(settings: &Settings) -> String {
    settings.mail.from.clone().filter(|from| !from.trim().is_empty()).unwrap_or_else(|| mail::default_from(&settings.issuer))
}

/// The application: the store, the clock, the randomness, and what a node keeps in memory.
pub struct App {
    pub store: DynStore,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub settings: Settings,
    pub keys: keys::Keys,
    pub caches: caches::Caches,
    pub usage: usage::UsageRecorder,
    /// Every rate limit's counters (see `rate_limit`, `limits`, `throttle`).
    pub limiter: Limiter,
    /// Password checks run (argon2), for tests and metrics: what the login throttle bounds.
    pub password_checks: AtomicU64,
    /// Audit events that could not be written (each is also logged at error level; see `audit`).
    pub audit_write_failures: AtomicU64,
    /// argon2id holds 19 MiB per hash: at most two at once.
    hashing: tokio::sync::Semaphore,
    /// The key that signs pre-login cookies, read from (or first stored in) the shared settings once.
    pub(crate) prelogin_key: tokio::sync::OnceCell<gatehouse_domain::oauth::prelogin::PreLoginKey>,
    /// Where email goes out, when the settings name an SMTP server (or a test gives a mailer).
    outbox: Option<Outbox>,
}

impl App {
    pub fn new(store: DynStore, clock: Arc<dyn Clock>, random: Arc<dyn Random>, settings: Settings) -> Self {
        let keys = keys::Keys::new(settings.oauth.access_token_algorithm);
        let limiter = match &settings.limits.redis_url {
            Some(url) => match RedisCounters::new(url, &settings.limits.redis_prefix) {
                Ok(counters) => Limiter::shared(Box::new(counters)),
                Err(error) => {
                    tracing::error!(%error, "rate limits: counting on this node only");
                    Limiter::local()
                }
            },
            None => Limiter::local(),
        };
        // `serve` checked the URL before binding; a bad one here (a test, a tool) means no mail, said once.
        let outbox = settings.mail.smtp_url.as_deref().and_then(|url| match crate::smtp::SmtpMailer::from_url(url) {
            Ok(mailer) => Some(Outbox::new(std::sync::Arc::new(mailer), mail_from(&settings))),
            Err(error) => {
                tracing::error!(%error, "email: not sent from this node");
                None
            }
        });
        Self {
            store,
            clock,
            random,
            settings,
            keys,
            caches: caches::Caches::default(),
            usage: usage::UsageRecorder::default(),
            limiter,
            password_checks: AtomicU64::new(0),
            audit_write_failures: AtomicU64::new(0),
            hashing: tokio::sync::Semaphore::new(2),
            prelogin_key: tokio::sync::OnceCell::new(),
            outbox,
        }
    }

    /// The same application sending its email through `mailer` instead.
    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.outbox = Some(Outbox::new(mailer, mail_from(&self.settings)));
        self
    }

    /// Whether this node sends email: without it the console offers no reset by email.
    pub fn mail_available(&self) -> bool {
        self.outbox.is_some()
    }

    pub fn outbox(&self) -> Option<&Outbox> {
        self.outbox.as_ref()
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The one place where this node's caches learn that something changed: a use case here, or (through
    /// the revocation feed) another node or the CLI.
    pub fn apply(&self, invalidations: &[Invalidation]) {
        for invalidation in invalidations {
            match invalidation {
                Invalidation::ApiToken(hash) => {
                    self.caches.api_tokens.invalidate(hash);
                    self.usage.forget(hash);
                }
                Invalidation::User(_) | Invalidation::Everything => {
                    self.caches.api_tokens.invalidate_all();
                    self.caches.forget_oauth();
                }
                Invalidation::OAuth => self.caches.forget_oauth(),
            }
        }
    }

    /// Argon2id off the async threads, at most two at once. An unknown account is checked against a dummy
    /// hash so that it takes as long as a wrong password.
    pub async fn verify_password(&self, phc: Option<String>, presented: String) -> bool {
        let Ok(_permit) = self.hashing.acquire().await else { return false };
        self.password_checks.fetch_add(1, Ordering::Relaxed);
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| gatehouse_domain::password::dummy_hash().to_string());
        let verified =
            tokio::task::spawn_blocking(move || gatehouse_domain::password::verify(&presented, &phc)).await.unwrap_or(false);
        verified && known
    }

    /// Hashes a new password (after the policy check) off the async threads.
    pub async fn hash_password(&self, password: String) -> AppResult<String> {
        gatehouse_domain::password::check_policy(&password)?;
        let salt = gatehouse_domain::password::salt(self.random.as_ref());
        let _permit = self.hashing.acquire().await.map_err(|_| AppError::Internal("the hashing pool is closed".into()))?;
        tokio::task::spawn_blocking(move || gatehouse_domain::password::hash(&password, salt))
            .await
            .map_err(|error| AppError::Internal(format!("password hashing failed: {error}")))
    }
}

