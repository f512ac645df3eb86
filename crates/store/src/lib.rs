//! Gatehouse's storage: one interface, [`Store`], with an embedded SQLite implementation (the default) and a
//! PostgreSQL one. Both run the same SQL text (see `sql.rs`); only the connection setup and the DDL differ.
//!
//! Lookups return `Result<Option<T>>`: "not found" is an answer, not an error.

use std::sync::Arc;

use async_trait::async_trait;
use gatehouse_domain::identity::NewUser;
use gatehouse_domain::oauth::{
    AuthorizationCode, BrowserSession, ClientId, ClientStatus, Grant, OAuthClient, RefreshToken, SigningKeyRecord, TokenFamily,
};
use gatehouse_domain::{ApiToken, Email, OrgRole, Organization, Page, ScopeSet, Team, Timestamp, TokenHash, User, UserId};

pub mod copy;
mod group_commit;
mod postgres;
mod sql;
mod sql_oauth;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (an email already registered, say). The message names the rule.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// A part of the store that runs on its own (the token committer) has stopped.
    #[error("store unavailable: {0}")]
    Unavailable(&'static str),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// How fine a grant's `last_used` is kept: a use within this long of the stored time writes nothing.
pub const GRANT_LAST_USED_RESOLUTION_MILLIS: i64 = 60_000;

/// The outcome of [`OAuthStore::rotate_refresh_token`]. A rotation also notes the grant's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The parent was unused: it is now used, and the successor stored.
    Rotated,
    /// The parent was already rotated within the grace window and none of its successors was used since:
    /// a retry whose answer was lost. Its unused successors are revoked and this successor stored.
    Retried,
    /// The parent was rotated before the grace window, or a successor of it was already used: someone holds
    /// a copy. Nothing was stored; the caller revokes the family (RFC 9700 §4.14.2).
    Replayed,
    /// The parent, or its family, is revoked.
    Revoked,
}

/// What a revocation invalidates. Nodes drop matching cache entries when they see the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// An API token, by its hash.
    ApiToken(TokenHash),
    /// Everything a user holds.
    User(UserId),
    /// OAuth access tokens: a token family, a grant, a client or a single access token (`jti`) was revoked.
    /// Nodes forget every cached access-token liveness.
    OAuth(String),
    /// A kind this node does not know (written by a newer node): drop every cache entry to be safe.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationEvent {
    pub id: i64,
    pub revoked: Revoked,
}

impl Revoked {
    pub(crate) fn kind_and_subject(&self) -> (&'static str, String) {
        match self {
            Revoked::ApiToken(hash) => ("api_token", hash.to_hex()),
            Revoked::User(user) => ("user", user.0.to_string()),
            Revoked::OAuth(subject) => ("oauth", subject.clone()),
            Revoked::Unknown => ("unknown", String::new()),
        }
    }

    pub(crate) fn from_kind_and_subject(kind: &str, subject: &str) -> Self {
        match kind {
            "api_token" => TokenHash::from_hex(subject).map_or(Revoked::Unknown, Revoked::ApiToken),
            "user" => subject.parse().map_or(Revoked::Unknown, |id| Revoked::User(UserId(id))),
            "oauth" => Revoked::OAuth(subject.to_string()),
            _ => Revoked::Unknown,
        }
    }
}

/// Wakes a node when another node revokes something (PostgreSQL `LISTEN`). Polling still runs behind it,
/// so a dropped notification connection delays revocation by at most one poll interval.
#[async_trait]
pub trait RevocationListener: Send {
    /// Returns when a notification arrives, or with an error when the connection is lost.
    async fn wait(&mut self) -> StoreResult<()>;
}

#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub name: String,
    pub zone: String,
    pub api_limit: i64,
    pub timezone: String,
    pub country: Option<String>,
}

/// The one storage interface. Every backend passes the same test suite.
#[async_trait]
pub trait Store: OAuthStore + Send + Sync + 'static {
    /// `sqlite` or `postgres`, for logs and `/health`.
    fn backend(&self) -> &'static str;

    /// Answers when the database answers a trivial query.
    async fn ping(&self) -> StoreResult<()>;

    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()>;

    async fn create_user(&self, user: &NewUser, now: Timestamp) -> StoreResult<User>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;
    async fn count_users(&self) -> StoreResult<i64>;
    /// Deletes the user with everything they hold (tokens, memberships), and records the revocation in the
    /// same transaction so every node drops the user's cached credentials.
    async fn delete_user(&self, id: UserId, now: Timestamp) -> StoreResult<bool>;
    async fn list_users(&self, page: Page) -> StoreResult<Vec<User>>;

    /// Creates the organization and makes `owner` its owner, atomically.
    async fn create_organization(&self, org: &NewOrganization, owner: UserId, now: Timestamp) -> StoreResult<Organization>;
    async fn organization(&self, id: i64) -> StoreResult<Option<Organization>>;
    async fn organizations_of_user(&self, user: UserId, page: Page) -> StoreResult<Vec<Organization>>;
    async fn list_organizations(&self, page: Page) -> StoreResult<Vec<Organization>>;
    async fn update_organization(&self, org: &Organization) -> StoreResult<bool>;
    /// Deletes the organization with its teams and memberships.
    async fn delete_organization(&self, id: i64) -> StoreResult<bool>;
    /// Adds the member or changes the member's role.
    async fn set_organization_role(&self, org: i64, user: UserId, role: OrgRole) -> StoreResult<()>;
    async fn organization_role(&self, org: i64, user: UserId) -> StoreResult<Option<OrgRole>>;

    async fn create_team(&self, org: i64, name: &str, now: Timestamp) -> StoreResult<Team>;
    async fn team(&self, id: i64) -> StoreResult<Option<Team>>;
    async fn teams_of_organization(&self, org: i64, page: Page) -> StoreResult<Vec<Team>>;
    async fn delete_team(&self, id: i64) -> StoreResult<bool>;
    async fn add_team_member(&self, team: i64, user: UserId) -> StoreResult<()>;

    /// Stores a token. If `created` is taken for this user, the next free millisecond is used, so that
    /// `created` stays unique per user; the stored token (with its final `created`) is returned, once it
    /// is committed. Concurrent calls are group-committed: they share one transaction.
    async fn insert_api_token(&self, token: &ApiToken) -> StoreResult<ApiToken>;
    async fn api_token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<ApiToken>>;
    /// The user's tokens, oldest first.
    async fn api_tokens_of_user(&self, user: UserId) -> StoreResult<Vec<ApiToken>>;
    /// Deletes a token and records its revocation in the same transaction.
    async fn delete_api_token(&self, user: UserId, created: Timestamp, now: Timestamp) -> StoreResult<Option<ApiToken>>;
    /// Revocation events after `after`, oldest first, at most `limit`.
    async fn revocations_after(&self, after: i64, limit: i64) -> StoreResult<Vec<RevocationEvent>>;
    /// The newest revocation event's id (0 when there is none): where a starting node begins to follow.
    async fn last_revocation_id(&self) -> StoreResult<i64>;
    /// Deletes events created before `before`.
    async fn prune_revocations(&self, before: Timestamp) -> StoreResult<u64>;
    /// A push channel for revocations, where the backend has one (PostgreSQL); `None` means poll only.
    async fn revocation_listener(&self) -> StoreResult<Option<Box<dyn RevocationListener>>>;

    /// Rows in a table named in [`copy::TABLES`].
    async fn count_rows(&self, table: &str) -> StoreResult<i64>;
    /// A page of a table's rows, in [`copy::TableSpec::order_by`] order, as portable cells.
    async fn read_rows(&self, table: &str, offset: i64, limit: i64) -> StoreResult<Vec<Vec<copy::Cell>>>;
    /// Inserts rows (ids included) into a table, in one transaction.
    async fn write_rows(&self, table: &str, rows: &[Vec<copy::Cell>]) -> StoreResult<()>;
    async fn clear_table(&self, table: &str) -> StoreResult<()>;
    /// Moves generated-id sequences past the copied ids.
    async fn after_copy(&self, table: &str) -> StoreResult<()>;

    /// Applies a batch of "last used" observations in one transaction. Older observations never
    /// overwrite newer ones.
    async fn record_api_token_use(&self, uses: &[(TokenHash, Timestamp)]) -> StoreResult<()>;

}

/// The OAuth 2.0 / OpenID Connect half of the store, a supertrait of [`Store`] so that every backend has
/// it. It lives in its own trait (and its SQL in `sql_oauth.rs`) because `async_trait` cannot see methods
/// that a macro adds inside an impl block.
#[async_trait]
pub trait OAuthStore: Send + Sync {
    // OAuth clients.
    async fn insert_oauth_client(&self, client: &OAuthClient) -> StoreResult<()>;
    async fn oauth_client(&self, id: &ClientId) -> StoreResult<Option<OAuthClient>>;
    /// Clients, oldest first, optionally only those with a status or an owner.
    async fn list_oauth_clients(&self, status: Option<ClientStatus>, owner: Option<UserId>) -> StoreResult<Vec<OAuthClient>>;
    /// Saves status, secret, scopes and the refresh switch, and puts the change on the revocation feed so
    /// that every node reads the client afresh.
    async fn update_oauth_client(&self, client: &OAuthClient, now: Timestamp) -> StoreResult<bool>;
    /// Deletes the client with its grants, families, codes and refresh tokens.
    async fn delete_oauth_client(&self, id: &ClientId, now: Timestamp) -> StoreResult<bool>;
    /// Rejects a client: status rejected, no secret, every live family revoked.
    async fn reject_client(&self, id: &ClientId, now: Timestamp) -> StoreResult<Option<OAuthClient>> {
        let Some(mut client) = self.oauth_client(id).await? else { return Ok(None) };
        client.status = ClientStatus::Rejected;
        client.secret_hash = None;
        self.update_oauth_client(&client, now).await?;
        self.revoke_client_families(id, now).await?;
        Ok(Some(client))
    }

    // Consent.
    async fn live_grant(&self, user: UserId, client: &ClientId) -> StoreResult<Option<Grant>>;
    /// Records consent: updates the live grant (scopes and organization) or creates one.
    async fn save_grant(
        &self,
        user: UserId,
        client: &ClientId,
        organization: Option<i64>,
        scopes: ScopeSet,
        now: Timestamp,
    ) -> StoreResult<Grant>;
    async fn grant_by_id(&self, id: i64) -> StoreResult<Option<Grant>>;
    /// The user's live grants, oldest first.
    async fn grants_of_user(&self, user: UserId) -> StoreResult<Vec<Grant>>;
    /// Revokes the live grant with every family issued under it; returns the revoked family ids, or `None`
    /// when there was no live grant.
    async fn revoke_grant(&self, user: UserId, client: &ClientId, now: Timestamp) -> StoreResult<Option<Vec<String>>>;
    /// Notes the grant's use, at most once per [`GRANT_LAST_USED_RESOLUTION_MILLIS`].
    async fn touch_grant(&self, id: i64, now: Timestamp) -> StoreResult<()>;

    // Token families.
    async fn insert_family(&self, family: &TokenFamily) -> StoreResult<()>;
    async fn family(&self, id: &str) -> StoreResult<Option<TokenFamily>>;
    /// Revokes every live family of a client (a client rejected after approval). Returns how many.
    async fn revoke_client_families(&self, client: &ClientId, now: Timestamp) -> StoreResult<u64>;
    /// Revokes the family and its refresh tokens. True when it was live.
    async fn revoke_family(&self, id: &str, now: Timestamp) -> StoreResult<bool>;

    // Authorization codes.
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()>;
    async fn code_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<AuthorizationCode>>;
    /// Marks the code used. Atomic: of two nodes racing, exactly one gets `true`.
    async fn consume_code(&self, hash: &TokenHash, now: Timestamp) -> StoreResult<bool>;

    // Refresh tokens.
    async fn insert_refresh_token(&self, token: &RefreshToken) -> StoreResult<()>;
    async fn refresh_token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<RefreshToken>>;
    /// Rotates `parent` to `successor` in one transaction that first locks the family, so that rotations of
    /// one family are serialised across nodes: two requests racing with the same token can never leave two
    /// live successors. See [`Rotation`] for the outcomes; only `Rotated` and `Retried` store the successor.
    async fn rotate_refresh_token(
        &self,
        parent: &TokenHash,
        successor: &RefreshToken,
        grace_secs: i64,
        now: Timestamp,
    ) -> StoreResult<Rotation>;

    // Access tokens.
    async fn revoke_access_token(&self, jti: &str, expires_at: Timestamp, now: Timestamp) -> StoreResult<()>;
    /// Whether an access token may still be used: its family is live and it was not revoked by itself.
    async fn access_token_live(&self, family: &str, jti: &str) -> StoreResult<bool>;

    // Browser sessions at the authorization endpoint.
    async fn insert_session(&self, session: &BrowserSession) -> StoreResult<()>;
    async fn session(&self, hash: &TokenHash) -> StoreResult<Option<BrowserSession>>;
    async fn delete_session(&self, hash: &TokenHash) -> StoreResult<()>;

    // Signing keys.
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Stops every other unretired key from signing; each stays trusted until `retire_at`.
    async fn retire_signing_keys_except(&self, kids: &[String], retire_at: Timestamp) -> StoreResult<u64>;

    /// Deletes expired codes, sessions and revocation records, and keys past retirement.
    async fn purge_expired_oauth(&self, now: Timestamp) -> StoreResult<()>;
}

pub type DynStore = Arc<dyn Store>;

/// Opens the store a URL names, running its migrations: `sqlite://PATH` (created if missing) or
/// `postgres://…` / `postgresql://…`.
pub async fn open(url: &str) -> StoreResult<DynStore> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_string()))
    }
}
