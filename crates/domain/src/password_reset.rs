//! A forgotten password's way back: a link sent by email whose secret, used once within 30 minutes, sets a
//! new password.
//!
//! The secret is an [`OpaqueSecret`] (256 random bits, base64url): too many bits to guess, so it is stored
//! as its SHA-256 like every other machine-made secret, never in clear.

use crate::api_token::TokenHash;
use crate::identity::UserId;
use crate::oauth::secret::OpaqueSecret;
use crate::time::Timestamp;

/// How long a reset link works: long enough to read the email, short enough that a mailbox read later (a
/// leaked backup, a forwarded message) finds it dead.
pub const RESET_TTL_SECS: i64 = 30 * 60;

/// A stored reset: whose, when, until when, and whether it was used. Never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordReset {
    pub hash: TokenHash,
    pub user_id: UserId,
    pub created: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

impl PasswordReset {
    /// A new reset for `user`, with the secret to mail (and nowhere else).
    pub fn issue(user: UserId, now: Timestamp, random: &dyn crate::random::Random) -> (OpaqueSecret, Self) {
        let secret = OpaqueSecret::generate(random);
        let reset =
            Self { hash: secret.hash(), user_id: user, created: now, expires_at: now.plus_secs(RESET_TTL_SECS), used_at: None };
        (secret, reset)
    }

    /// Whether the link still sets a password at `now`: unused and not yet expired.
    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.used_at.is_none() && now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn a_reset_works_for_thirty_minutes_and_never_after_use() {
        let now = Timestamp::from_millis(1_000_000);
        let (secret, reset) = PasswordReset::issue(UserId(7), now, &SeededRandom::new(1));
        assert!(reset.hash.matches(&secret.hash()), "stored by the hash of the mailed secret");
        assert!(reset.is_usable(now.plus_secs(RESET_TTL_SECS - 1)));
        assert!(!reset.is_usable(now.plus_secs(RESET_TTL_SECS)), "30 minutes, not a millisecond more");
        let used = PasswordReset { used_at: Some(now), ..reset };
        assert!(!used.is_usable(now), "single use");
    }

    #[test]
    fn two_resets_never_share_a_secret() {
        let random = SeededRandom::new(1);
        let (a, _) = PasswordReset::issue(UserId(7), Timestamp::from_millis(0), &random);
        let (b, _) = PasswordReset::issue(UserId(7), Timestamp::from_millis(0), &random);
        assert_ne!(a.reveal(), b.reveal());
    }
}
