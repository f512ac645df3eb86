//! A refresh-token rotation as the store runs it: the job (possibly group-committed with others) and its
//! outcome.

use gatehouse_domain::oauth::RefreshToken;
use gatehouse_domain::{Timestamp, TokenHash};

/// The outcome of `RefreshTokenRepository::rotate_refresh_token`. A rotation also notes the grant's use.
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

/// One refresh-token rotation, as queued for the store.
pub(crate) struct RotationJob {
    pub(crate) parent: TokenHash,
    pub(crate) successor: RefreshToken,
    pub(crate) grace_secs: i64,
    pub(crate) now: Timestamp,
}
