//! Gatehouse's domain: scopes, API tokens, identities and the rules between them.
//!
//! Nothing in this crate knows about HTTP or SQL. Time comes from a [`Clock`] so that expiry rules are
//! testable without sleeping; secrets are parsed once into types that cannot be confused with each other.

pub mod api_token;
pub mod audit;
pub mod catalogue;
pub mod clock;
pub mod error;
pub mod identity;
pub mod ids;
pub mod oauth;
pub mod page;
pub mod password;
pub mod password_reset;
pub mod policy;
pub mod random;
pub mod revocation;
pub mod roles;
pub mod scope;
pub mod sealed;
pub mod secrets;
pub mod time;

pub use audit::{AuditActor, AuditDetails, AuditEvent, AuditFilter, AuditKind, AuditOrigin, AuditPage};
pub use api_token::{ApiToken, ApiTokenSecret, NewApiTokenRequest, TokenHash, TokenLabel};
pub use clock::{Clock, MockClock, SystemClock};
pub use error::ValidationError;
pub use identity::{Email, Organization, Team, User, UserId};
pub use roles::{OrgRole, Permission, RoleCategory, TeamRole};
pub use ids::{FamilyId, GrantId, Jti, Kid, OrganizationId, TeamId};
pub use page::{Page, SortDir, SortKey};
pub use random::{OsRandom, Random, SeededRandom};
pub use scope::{Access, Scope, ScopeSet};
pub use time::Timestamp;
