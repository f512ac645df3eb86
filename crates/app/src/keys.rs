//! The key ring a node signs and verifies with. Loading, verifying and rotating are in `signing`.

use std::sync::Arc;

use gatehouse_domain::oauth::jose::{JoseError, KeyRing, SigningAlgorithm};
use gatehouse_domain::oauth::OAuthSettings;
use gatehouse_domain::Timestamp;

use crate::error::AppError;

/// How long a loaded ring is used before the store is asked again. An unknown `kid` reloads at once.
pub const KEY_RELOAD_MILLIS: i64 = 60_000;

pub struct Keys {
    pub(crate) access_token_algorithm: SigningAlgorithm,
    /// The ring and when it was loaded, by the injected clock.
    pub(crate) ring: tokio::sync::RwLock<Option<(Arc<KeyRing>, Timestamp)>>,
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
    pub fn new(access_token_algorithm: SigningAlgorithm) -> Self {
        Self { access_token_algorithm, ring: tokio::sync::RwLock::new(None) }
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

