//! What a node keeps in memory between requests: verified API tokens, verified OAuth access tokens with
//! their last liveness answer, and clients. Staleness is decided by the injected clock (each entry carries
//! the time it was checked), so the 5 s and 60 s bounds are tested without sleeping; moka only bounds
//! memory. Changes reach these caches through [`crate::App::apply`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gatehouse_domain::oauth::jose::AccessTokenClaims;
use gatehouse_domain::oauth::{ClientId, OAuthClient};
use gatehouse_domain::{FamilyId, ScopeSet, Timestamp, TokenHash, UserId};
use moka::sync::Cache;

use crate::usage::UsageCell;

/// How long a verified API token is trusted without asking the store again. Deletions anywhere reach the
/// cache through the revocation feed much sooner; this bounds staleness of what the feed does not carry
/// (a user's admin flag, say).
pub const API_TOKEN_TTL_MILLIS: i64 = 60_000;
const API_TOKEN_CAPACITY: u64 = 1_000_000;
/// How long a "this access token is live" answer is trusted. A revocation seen by this node makes every
/// answer stale at once; this bounds staleness if the feed is down.
pub const LIVENESS_TTL_MILLIS: i64 = 5_000;
/// How long a verified access token's signature check is kept: the claims cannot change and `exp` is
/// checked on every use; the bound is there so a key withdrawn by hand stops being honoured in a minute.
pub const VERIFIED_ACCESS_TOKEN_TTL_MILLIS: i64 = 60_000;
const ACCESS_TOKEN_CAPACITY: u64 = 100_000;
/// A client read from the store is used this long; changes reach every node through the feed sooner.
pub const CLIENT_TTL_MILLIS: i64 = 60_000;
const CLIENT_CAPACITY: u64 = 10_000;
/// Entries unused this long are dropped to free memory. Staleness is not decided here (see above).
const IDLE_MEMORY_BOUND: Duration = Duration::from_secs(600);

/// A verified API token: what it lets through, cached by hash.
#[derive(Debug)]
pub struct VerifiedApiToken {
    pub user_id: UserId,
    pub created: Timestamp,
    pub scopes: ScopeSet,
    /// Decided once, at verification, so an entry holds no string of its own.
    pub in_this_zone: bool,
    pub expires_at: Option<Timestamp>,
    pub is_admin: bool,
    /// Forward-auth hands it to the upstream (`X-Gatehouse-Token-Label`); a label never changes.
    pub label: gatehouse_domain::TokenLabel,
    /// Where requests note their use, without a lock (see `usage`).
    pub usage: Arc<UsageCell>,
    pub verified_at: Timestamp,
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
    pub verified_at: Timestamp,
}

impl VerifiedAccessToken {
    /// Client credentials: the client acts as itself (RFC 9068 §2.2, `sub` is the client id).
    pub fn is_client_credentials(&self) -> bool {
        self.claims.sub == self.claims.client_id
    }
}

/// A verified access token with the liveness answer of one moment.
#[derive(Debug)]
pub(crate) struct CheckedBearer {
    pub verified: Arc<VerifiedAccessToken>,
    /// `None`: revoked, or its user or client is gone.
    pub principal: Option<Arc<Principal>>,
    /// The epoch when liveness was asked; a revocation since then makes the answer stale.
    pub epoch: u64,
    pub checked_at: Timestamp,
}

impl CheckedBearer {
    pub fn is_current(&self, epoch: u64, now: Timestamp) -> bool {
        self.epoch == epoch && now.as_millis() - self.checked_at.as_millis() < LIVENESS_TTL_MILLIS
    }
}

pub(crate) struct CachedClient {
    pub client: Arc<OAuthClient>,
    pub loaded_at: Timestamp,
}

pub struct Caches {
    pub api_tokens: Cache<TokenHash, Arc<VerifiedApiToken>>,
    pub(crate) bearers: Cache<TokenHash, Arc<CheckedBearer>>,
    /// Only clients that exist are kept, so unknown ids cannot fill it.
    clients: Cache<ClientId, Arc<CachedClient>>,
    /// The token family each client's `client_credentials` tokens share, so that a grant costs no write.
    pub(crate) client_families: Cache<ClientId, FamilyId>,
    /// Bumped on every OAuth revocation or client change. Liveness answers from an older epoch are stale,
    /// and a client read that began before a bump is not cached after it.
    epoch: AtomicU64,
    /// Hits and misses of each cache, for `/metrics`.
    pub lookups: CacheLookups,
}

/// Each cache's hits and misses since the node started: one relaxed atomic add per lookup.
#[derive(Debug, Default)]
pub struct CacheLookups {
    pub api_tokens: HitsAndMisses,
    pub bearers: HitsAndMisses,
    pub clients: HitsAndMisses,
}

#[derive(Debug, Default)]
pub struct HitsAndMisses {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl HitsAndMisses {
    /// Counts a lookup by what it found (a fresh entry is a hit; none, or a stale one, a miss).
    fn count<T>(&self, found: Option<T>) -> Option<T> {
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

impl Default for Caches {
    fn default() -> Self {
        Self {
            api_tokens: Cache::builder().max_capacity(API_TOKEN_CAPACITY).time_to_idle(IDLE_MEMORY_BOUND).build(),
            bearers: Cache::builder().max_capacity(ACCESS_TOKEN_CAPACITY).time_to_idle(IDLE_MEMORY_BOUND).build(),
            clients: Cache::builder().max_capacity(CLIENT_CAPACITY).time_to_idle(IDLE_MEMORY_BOUND).build(),
            client_families: Cache::builder().max_capacity(100_000).build(),
            epoch: AtomicU64::new(0),
            lookups: CacheLookups::default(),
        }
    }
}

impl Caches {
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Revoked access tokens fail, and a changed client is read afresh, on the next request. Verified
    /// signatures are kept: they ask for liveness again, seeing a new epoch.
    pub fn forget_oauth(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.clients.invalidate_all();
    }

    /// A cached API token, unless it is older than its TTL.
    pub fn api_token(&self, hash: &TokenHash, now: Timestamp) -> Option<Arc<VerifiedApiToken>> {
        let found = self.api_tokens.get(hash).filter(|entry| now.as_millis() - entry.verified_at.as_millis() < API_TOKEN_TTL_MILLIS);
        self.lookups.api_tokens.count(found)
    }

    pub(crate) fn client(&self, id: &ClientId, now: Timestamp) -> Option<Arc<OAuthClient>> {
        let found = self
            .clients
            .get(id)
            .filter(|entry| now.as_millis() - entry.loaded_at.as_millis() < CLIENT_TTL_MILLIS)
            .map(|entry| entry.client.clone());
        self.lookups.clients.count(found)
    }

    /// Caches a client read from the store, unless a client change came since `epoch` was read: a read
    /// that raced the change may predate it, and must not outlive it. The second check covers a change
    /// that lands between the first check and the insert.
    pub(crate) fn remember_client(&self, epoch: u64, client: &Arc<OAuthClient>, now: Timestamp) {
        if self.epoch() != epoch {
            return;
        }
        self.clients.insert(client.id.clone(), Arc::new(CachedClient { client: client.clone(), loaded_at: now }));
        if self.epoch() != epoch {
            self.clients.invalidate(&client.id);
        }
    }

    /// A verified access token, unless its signature check is older than its TTL.
    pub(crate) fn bearer(&self, key: &TokenHash, now: Timestamp) -> Option<Arc<CheckedBearer>> {
        let found = self.bearers.get(key).filter(|entry| {
            now.as_millis() - entry.verified.verified_at.as_millis() < VERIFIED_ACCESS_TOKEN_TTL_MILLIS
        });
        self.lookups.bearers.count(found)
    }
}
