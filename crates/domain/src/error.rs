use thiserror::Error;

/// Input that breaks a domain rule. The HTTP edge shows it as Make's `IM005` "Invalid Input Parameters".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

impl ValidationError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
