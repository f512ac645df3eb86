//! What a change makes stale in a node's memory. Use cases report these to [`crate::App::apply`]; the
//! revocation feed turns other nodes' durable revocations into the same values.

use gatehouse_domain::{TokenHash, UserId};
use gatehouse_store::Revoked;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    /// One API token was deleted.
    ApiToken(TokenHash),
    /// Everything a user holds (the user was deleted).
    User(UserId),
    /// OAuth access tokens may have been revoked, or a client changed: every cached liveness answer and
    /// every cached client is stale.
    OAuth,
    /// Something this node cannot name (an event written by a newer node): forget every credential.
    Everything,
}

impl Invalidation {
    /// The invalidation a durable revocation event stands for.
    pub fn of_revoked(revoked: &Revoked) -> Self {
        match revoked {
            Revoked::ApiToken(hash) => Invalidation::ApiToken(*hash),
            Revoked::User(user) => Invalidation::User(*user),
            Revoked::Family(_) | Revoked::Grant(_) | Revoked::Client(_) | Revoked::AccessToken(_) => Invalidation::OAuth,
            Revoked::Unknown => Invalidation::Everything,
        }
    }
}
