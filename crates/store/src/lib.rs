//! Gatehouse's storage: one interface, [`Store`], with an embedded SQLite implementation (the default) and a
//! PostgreSQL one.
//!
//! The interface is one repository trait per concept (users, organizations, API tokens, OAuth clients, …),
//! each in its own module with its SQL, written once for both databases: sqlx's SQLite driver accepts
//! `$N` placeholders, and the SQL sticks to what both understand (`RETURNING`, `ON CONFLICT`, integer times,
//! no `now()`). What differs per database sits behind the `Backend` trait (`backend.rs`, implemented in
//! `sqlite.rs` and `postgres.rs`); the tables are described once, in [`schema`].
//!
//! Lookups return `Result<Option<T>>`: "not found" is an answer, not an error.

mod api_tokens;
mod audit;
mod backend;
mod clients;
mod error;
mod codes;
pub mod copy;
mod group_commit;
mod grants;
mod listener;
mod organizations;
mod password_resets;
mod postgres;
mod refresh_tokens;
pub mod repositories;
mod revocations;
mod roles;
mod rotation;
pub mod schema;
mod sessions;
mod settings;
mod signing_keys;
mod sql_store;
mod sqlite;
mod store;
mod users;
mod value;

pub use gatehouse_domain::revocation::Revoked;
pub use grants::GRANT_LAST_USED_RESOLUTION_MILLIS;
pub use organizations::{MemberRemoval, NewOrganization, OrganizationMember, OrganizationOverview, RoleAssignment};
pub use postgres::PostgresStore;
pub use rotation::Rotation;
pub use roles::{InvitationAcceptance, NewCustomRole, OwnershipTransfer};
pub use listener::RevocationListener;
pub use revocations::RevocationEvent;
pub use sql_store::SqlStore;
pub use sqlite::SqliteStore;
pub use error::{StoreError, StoreResult, redact_url};
pub use store::{DynStore, Store, open, open_with};

pub use backend::OpenMode;

pub use backend::{PoolStatistics, PoolStats};

