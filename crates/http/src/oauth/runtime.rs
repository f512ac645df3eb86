//! What the OAuth endpoints and the API's bearer check share: settings, the signing keys, the caches of
//! verified access tokens, of their liveness and of clients, the login throttle and the password-hashing
//! semaphore.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatehouse_domain::oauth::jose::{
    ACCESS_TOKEN_TYP, AccessTokenClaims, Expiring, JoseError, KeyRing, SigningAlgorithm, generate_signing_key_for,
};
use gatehouse_domain::oauth::{ClientId, OAuthClient, OAuthSettings};
use gatehouse_domain::{Clock, ScopeSet, Timestamp, TokenHash, UserId};
use gatehouse_store::{DynStore, StoreError};
use moka::sync::Cache;
use serde::de::DeserializeOwned;

/// How long a loaded key ring is used before the store is asked again, so that a key rotated by the CLI
/// or another node is picked up. An unknown `kid` forces a reload at once.
const KEY_RELOAD: Duration = Duration::from_secs(60);
/// How long a "this access token is live" answer is trusted. A revocation seen by this node (its own, or
/// one from the feed) makes every answer stale at once; this bounds staleness if the feed is down.
const LIVENESS_TTL: Duration = Duration::from_secs(5);
/// How long a verified access token's claims are kept. A signature, once checked, stays checked: the
/// claims cannot change, `exp` is checked on every use, and liveness is asked separately (above). The
/// bound is only there so that a key withdrawn by hand stops being honoured within a minute.
const VERIFIED_TTL: Duration = Duration::from_secs(60);
/// Each entry is a few hundred bytes: 100,000 of them is tens of MiB at most.
const VERIFIED_CAPACITY: u64 = 100_000;
/// How long a client read from the store is used. Changes made anywhere (approval, secret rotation,
/// rejection, deletion) reach every node through the revocation feed much sooner; the TTL is a backstop.
const CLIENT_TTL: Duration = Duration::from_secs(60);
const CLIENT_CAPACITY: u64 = 10_000;

/// Why an access token was refused, or that the check itself failed.
#[derive(Debug)]
pub enum TokenCheck {
    Invalid(&'static str),
    Internal(String),
}

impl From<StoreError> for TokenCheck {
    fn from(error: StoreError) -> Self {
        TokenCheck::Internal(error.to_string())
    }
}

impl From<JoseError> for TokenCheck {
    fn from(error: JoseError) -> Self {
        match error {
            JoseError::Invalid(reason) => TokenCheck::Invalid(reason),
            other => TokenCheck::Internal(other.to_string()),
        }
    }
}

/// The user an access token acts for, cached with its liveness.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: UserId,
    pub is_admin: bool,
    /// Introspection's `username`.
    pub email: Arc<str>,
}

/// An access token whose signature, `typ`, `iss` and `aud` have been checked, with its scopes parsed once.
#[derive(Debug)]
pub struct VerifiedAccessToken {
    pub claims: AccessTokenClaims,
    pub scopes: ScopeSet,
    /// The `current-authorization` body for this token, set by its first use there, so that later uses
    /// take no lock to find it.
    pub authorization_body: std::sync::OnceLock<Option<axum::body::Bytes>>,
}

/// A verified access token with the liveness answer of one moment.
struct CheckedBearer {
    verified: Arc<VerifiedAccessToken>,
    /// `None`: revoked, or its user or client is gone.
    principal: Option<Arc<Principal>>,
    /// The cache epoch when liveness was asked; a revocation since then makes the answer stale.
    epoch: u64,
    checked_at: Instant,
}

impl CheckedBearer {
    fn is_current(&self, epoch: u64) -> bool {
        self.epoch == epoch && self.checked_at.elapsed() < LIVENESS_TTL
    }

    fn answer(&self) -> Result<(Arc<VerifiedAccessToken>, Arc<Principal>), TokenCheck> {
        match &self.principal {
            Some(principal) => Ok((self.verified.clone(), principal.clone())),
            None => Err(TokenCheck::Invalid("revoked")),
        }
    }
}

impl VerifiedAccessToken {
    /// Client credentials: the client acts as itself (RFC 9068 §2.2, `sub` is the client id).
    pub fn is_client_credentials(&self) -> bool {
        self.claims.sub == self.claims.client_id
    }
}

pub struct OAuthRuntime {
    pub settings: OAuthSettings,
    pub issuer: String,
    /// The `aud` of our access tokens: this zone's API.
    pub audience: String,
    store: DynStore,
    clock: Arc<dyn Clock>,
    keys: tokio::sync::RwLock<Option<(Arc<KeyRing>, Instant)>>,
    /// Verified access tokens by the SHA-256 of their text, each with its last liveness answer: a cached
    /// token costs a hash and one lookup, not an RSA check and a query.
    bearers: Cache<TokenHash, Arc<CheckedBearer>>,
    /// Approved or not, by client id. Only clients that exist are kept, so unknown ids cannot fill it.
    clients: Cache<String, Arc<OAuthClient>>,
    /// Bumped on every revocation or client change. Liveness answers from an older epoch are stale, and a
    /// client read that began before a bump is not cached after it (see `remember_client`).
    epoch: AtomicU64,
    /// The token family each client's `client_credentials` tokens share, so that a grant costs no write.
    pub client_families: Cache<String, String>,
    pub throttle: LoginThrottle,
    /// argon2id holds 19 MiB per hash: at most two at once.
    pub hashing: tokio::sync::Semaphore,
}

impl OAuthRuntime {
    pub fn new(store: DynStore, clock: Arc<dyn Clock>, issuer: String, zone: &str, settings: OAuthSettings) -> Self {
        Self {
            settings,
            issuer,
            audience: zone.to_string(),
            store,
            clock,
            keys: tokio::sync::RwLock::new(None),
            bearers: Cache::builder().max_capacity(VERIFIED_CAPACITY).time_to_live(VERIFIED_TTL).build(),
            clients: Cache::builder().max_capacity(CLIENT_CAPACITY).time_to_live(CLIENT_TTL).build(),
            epoch: AtomicU64::new(0),
            client_families: Cache::builder().max_capacity(100_000).build(),
            throttle: LoginThrottle::default(),
            hashing: tokio::sync::Semaphore::new(2),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The current key ring, loading it (and generating the first key on first start) when needed.
    pub async fn ring(&self) -> Result<Arc<KeyRing>, TokenCheck> {
        if let Some((ring, loaded)) = self.keys.read().await.as_ref()
            && loaded.elapsed() < KEY_RELOAD
        {
            return Ok(ring.clone());
        }
        self.reload_keys().await
    }

    pub async fn reload_keys(&self) -> Result<Arc<KeyRing>, TokenCheck> {
        let mut slot = self.keys.write().await;
        let now = self.clock.now();
        let records = self.store.signing_keys().await?;
        let mut ring = KeyRing::load(&records, now)?;
        // First start (or every key of an algorithm retired, or ES256 newly chosen): make the keys that are
        // missing. Two nodes doing this at once each add a key; both are published and both verify, so the
        // race is harmless.
        let mut added = false;
        for algorithm in signing_algorithms(&self.settings) {
            if !ring.can_sign(algorithm) {
                let key = generate_signing_key_for(algorithm, now)?;
                self.store.insert_signing_key(&key).await?;
                tracing::info!(kid = %key.kid, algorithm = algorithm.name(), "generated a new signing key");
                added = true;
            }
        }
        if added {
            ring = KeyRing::load(&self.store.signing_keys().await?, now)?;
        }
        let ring = Arc::new(ring);
        *slot = Some((ring.clone(), Instant::now()));
        Ok(ring)
    }

    /// Verifies a JWT of the given `typ`, reloading the keys once if its `kid` is unknown here.
    pub async fn verify_jwt<T: DeserializeOwned + Expiring>(
        &self,
        token: &str,
        typ: &str,
        audience: Option<&str>,
    ) -> Result<T, TokenCheck> {
        let now = self.clock.now();
        let ring = self.ring().await?;
        match ring.verify::<T>(token, typ, &self.issuer, audience, now) {
            Err(JoseError::Invalid("unknown kid")) => {
                let ring = self.reload_keys().await?;
                Ok(ring.verify::<T>(token, typ, &self.issuer, audience, now)?)
            }
            other => Ok(other?),
        }
    }

    /// An RFC 9068 access token for our API: signature, `typ`, `iss`, `aud`, `exp`, and that neither its
    /// family nor the token itself has been revoked.
    pub async fn verify_access_token(
        &self,
        token: &str,
    ) -> Result<(Arc<VerifiedAccessToken>, Arc<Principal>), TokenCheck> {
        let key = TokenHash::of_bytes(token.as_bytes());
        let epoch = self.epoch.load(Ordering::Acquire);
        let verified = match self.bearers.get(&key) {
            Some(checked) => {
                if checked.verified.claims.exp <= self.clock.now().as_secs() {
                    return Err(TokenCheck::Invalid("expired"));
                }
                if checked.is_current(epoch) {
                    return checked.answer();
                }
                // Verified, but its liveness answer is old or predates a revocation: ask again.
                checked.verified.clone()
            }
            None => {
                let claims: AccessTokenClaims = self.verify_jwt(token, ACCESS_TOKEN_TYP, Some(&self.audience)).await?;
                let scopes = ScopeSet::parse_delimited(&claims.scope).unwrap_or_default();
                Arc::new(VerifiedAccessToken { claims, scopes, authorization_body: std::sync::OnceLock::new() })
            }
        };
        let principal = self.principal_of(&verified).await?.map(Arc::new);
        let checked = Arc::new(CheckedBearer { verified, principal, epoch, checked_at: Instant::now() });
        // Kept even when a revocation raced this check: the entry carries the epoch it was checked in, so
        // the next use asks again; what is kept is the signature check, which no revocation undoes.
        self.bearers.insert(key, checked.clone());
        checked.answer()
    }

    /// A client by id, from the cache or the store.
    pub async fn client(&self, id: &ClientId) -> Result<Option<Arc<OAuthClient>>, StoreError> {
        if let Some(client) = self.clients.get(id.as_str()) {
            return Ok(Some(client));
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let Some(client) = self.store.oauth_client(id).await? else { return Ok(None) };
        let client = Arc::new(client);
        self.remember_client(epoch, id, &client);
        Ok(Some(client))
    }

    async fn principal_of(&self, verified: &VerifiedAccessToken) -> Result<Option<Principal>, TokenCheck> {
        let claims = &verified.claims;
        if !self.store.access_token_live(&claims.fam, &claims.jti).await? {
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

    /// Caches a client read from the store, unless a client change came since `epoch` was read: a read
    /// that raced the change may predate it, and must not outlive it. The second check covers a change
    /// that lands between the first check and the insert.
    fn remember_client(&self, epoch: u64, id: &ClientId, client: &Arc<OAuthClient>) {
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        self.clients.insert(id.as_str().to_string(), client.clone());
        if self.epoch.load(Ordering::Acquire) != epoch {
            self.clients.invalidate(id.as_str());
        }
    }

    /// Called after any revocation or client change, here or (through the revocation feed) on another
    /// node: revoked access tokens fail, and a changed client is read afresh, on the next request.
    pub fn forget_liveness(&self) {
        // Cached bearers keep their verified signatures and ask for liveness again, seeing a new epoch.
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.clients.invalidate_all();
    }
}

fn signing_algorithms(settings: &OAuthSettings) -> Vec<SigningAlgorithm> {
    let mut algorithms = vec![SigningAlgorithm::Rs256];
    if settings.access_token_algorithm != SigningAlgorithm::Rs256 {
        algorithms.push(settings.access_token_algorithm);
    }
    algorithms
}

/// Rotates the signing keys: new keys (one per algorithm in use) sign from now on; the others stop signing
/// and stay published until every token they signed has expired. Returns the new keys' ids.
pub async fn rotate_keys(store: &DynStore, now: Timestamp, settings: &OAuthSettings) -> Result<Vec<String>, TokenCheck> {
    let mut kids = Vec::new();
    for algorithm in signing_algorithms(settings) {
        let key = generate_signing_key_for(algorithm, now)?;
        store.insert_signing_key(&key).await?;
        kids.push(key.kid);
    }
    store.retire_signing_keys_except(&kids, now.plus_secs(settings.key_retirement_secs())).await?;
    Ok(kids)
}

/// Failed logins per account and per client address, in a sliding window. In memory: each node throttles
/// what it sees, which bounds guessing per node; the argon2 cost bounds it further.
#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<std::collections::HashMap<String, VecDeque<Timestamp>>>,
}

pub const THROTTLE_WINDOW_SECS: i64 = 15 * 60;
pub const MAX_FAILURES_PER_ACCOUNT: usize = 5;
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;

impl LoginThrottle {
    fn prune(entries: &mut VecDeque<Timestamp>, now: Timestamp) {
        while entries.front().is_some_and(|at| at.plus_secs(THROTTLE_WINDOW_SECS) <= now) {
            entries.pop_front();
        }
    }

    /// Seconds until a login may be tried again, when any key is over its limit.
    pub fn retry_after(&self, keys: &[(String, usize)], now: Timestamp) -> Option<i64> {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut wait = None;
        for (key, limit) in keys {
            if let Some(entries) = failures.get_mut(key) {
                Self::prune(entries, now);
                if entries.len() >= *limit
                    && let Some(oldest) = entries.front()
                {
                    let secs = (oldest.plus_secs(THROTTLE_WINDOW_SECS).as_millis() - now.as_millis() + 999) / 1000;
                    wait = Some(wait.map_or(secs, |w: i64| w.max(secs)));
                }
            }
        }
        wait
    }

    pub fn record_failure(&self, keys: &[(String, usize)], now: Timestamp) {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if failures.len() > 100_000 {
            failures.retain(|_, entries| {
                Self::prune(entries, now);
                !entries.is_empty()
            });
        }
        for (key, _) in keys {
            let entries = failures.entry(key.clone()).or_default();
            Self::prune(entries, now);
            entries.push_back(now);
        }
    }

    pub fn clear(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(key);
    }
}
