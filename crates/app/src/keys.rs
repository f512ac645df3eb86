//! The key ring a node signs and verifies with. Loading, verifying and rotating are in `signing`.

use std::sync::Arc;

use gatehouse_domain::oauth::jose::{JoseError, KeyRing, SigningAlgorithm};
use gatehouse_domain::oauth::OAuthSettings;
use gatehouse_domain::secrets::SecretsKeys;
use gatehouse_domain::Timestamp;

use crate::error::AppError;

/// How long a loaded ring is used before the store is asked again.
pub const KEY_RELOAD_MILLIS: i64 = 60_000;
/// An unknown `kid` reloads the ring at most once per this long (issue 10, hole 9): a flood of forged
/// `kid`s must not cost a lock, a read and key parsing each. A key rotated on another node is still
/// learnt within this bound.
pub const UNKNOWN_KID_RELOAD_MILLIS: i64 = 5_000;

/// How the signing keys' private halves are kept in the store (issue 10, hole 7).
#[derive(Debug, Clone, Default)]
pub enum KeyProtection {
    /// No secrets key was given: signing keys can be neither read nor written (`serve` refuses to start).
    #[default]
    Missing,
    /// Sealed under the operator's secrets keys: the first seals, every one opens.
    Sealed(Arc<SecretsKeys>),
    /// Development only (`--insecure-dev-keys`, `GATEHOUSE_DEV_MODE=1`): stored in clear.
    InsecurePlaintext,
}

pub struct Keys {
    pub(crate) access_token_algorithm: SigningAlgorithm,
    /// The ring and when it was loaded, by the injected clock.
    pub(crate) ring: tokio::sync::RwLock<Option<(Arc<KeyRing>, Timestamp)>>,
    /// When an unknown `kid` last made this node reload, by the injected clock.
    pub(crate) unknown_kid_reload: std::sync::Mutex<Option<Timestamp>>,
    /// How many times the ring was read from the store: what the unknown-`kid` bound limits.
    pub reloads: std::sync::atomic::AtomicU64,
}

/// Why a JWT was refused, or that checking it failed.
#[derive(Debug)]
pub enum TokenCheck {
    Invalid(&'static str),
    Failed(AppError),
}

impl From<JoseError> for TokenCheck {
    fn from(error: JoseError) -> Self {
        match error {
            JoseError::Invalid(reason) => TokenCheck::Invalid(reason),
            other => TokenCheck::Failed(AppError::Internal(other.to_string())),
        }
    }
}

impl From<AppError> for TokenCheck {
    fn from(error: AppError) -> Self {
        TokenCheck::Failed(error)
    }
}

impl From<gatehouse_store::StoreError> for TokenCheck {
    fn from(error: gatehouse_store::StoreError) -> Self {
        TokenCheck::Failed(AppError::Store(error))
    }
}

impl Keys {
    /// Whether an unknown `kid` may reload the ring now; if so, notes that it does.
    pub(crate) fn may_reload_for_unknown_kid(&self, now: Timestamp) -> bool {
        let mut last = self.unknown_kid_reload.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match *last {
            Some(at) if now.as_millis() - at.as_millis() < UNKNOWN_KID_RELOAD_MILLIS => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    pub fn new(access_token_algorithm: SigningAlgorithm) -> Self {
        Self {
            access_token_algorithm,
            ring: tokio::sync::RwLock::new(None),
            unknown_kid_reload: std::sync::Mutex::new(None),
            reloads: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

/// RS256 always (ID tokens, and every RFC 9068 resource server accepts it), and the access-token algorithm
/// when it is another.
pub fn signing_algorithms(settings: &OAuthSettings) -> Vec<SigningAlgorithm> {
    let mut algorithms = vec![SigningAlgorithm::Rs256];
    if settings.access_token_algorithm != SigningAlgorithm::Rs256 {
        algorithms.push(settings.access_token_algorithm);
    }
    algorithms
}

