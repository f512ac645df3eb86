//! What a revocation invalidates. Every node follows the store's revocation feed and drops the cache
//! entries an event names.

use crate::api_token::TokenHash;
use crate::identity::UserId;
use crate::ids::{FamilyId, GrantId, Jti};
use crate::oauth::ClientId;

/// One kind of subject per variant, so that a consumer matches on what was revoked instead of parsing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// An API token, by its hash.
    ApiToken(TokenHash),
    /// Everything a user holds.
    User(UserId),
    /// An OAuth token family (one sign-in) with its refresh and access tokens.
    Family(FamilyId),
    /// A consent, with every family issued under it.
    Grant(GrantId),
    /// A client changed (rejected, secret rotated, deleted) or lost its families.
    Client(ClientId),
    /// A single access token, by its `jti` (RFC 7009).
    AccessToken(Jti),
    /// A kind this node does not know (written by a newer node): drop every cache entry to be safe.
    Unknown,
}
