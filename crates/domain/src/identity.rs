//! Users, organizations and teams (the roles that connect them are in `roles`).

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::ids::{OrganizationId, TeamId};
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

/// An email address, trimmed and lowercased so that one person cannot hold two accounts by case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let normalised = text.trim().to_lowercase();
        let valid = normalised.len() <= 254
            && normalised.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            })
            && !normalised.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid { Ok(Self(normalised)) } else { Err(ValidationError::new(format!("Invalid email address {text:?}."))) }
    }

    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub email: Email,
    pub password_hash: Option<String>,
    pub language: String,
    pub timezone: String,
    pub locale: String,
    pub country: Option<String>,
    /// A platform administrator: may use administration scopes (Make's White Label admin role).
    pub is_admin: bool,
    pub created: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub email: Email,
    pub password_hash: Option<String>,
    pub is_admin: bool,
}

impl NewUser {
    pub fn new(name: &str, email: &str, password_hash: Option<String>, is_admin: bool) -> Result<Self, ValidationError> {
        Ok(Self { name: parse_name(name, "user")?, email: Email::parse(email)?, password_hash, is_admin })
    }
}

/// Names of users, organizations and teams: trimmed, 1 to 200 characters, no control characters.
pub fn parse_name(text: &str, what: &str) -> Result<String, ValidationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::new(format!("The {what} name must not be empty.")));
    }
    if trimmed.chars().count() > 200 {
        return Err(ValidationError::new(format!("The {what} name must be at most 200 characters.")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ValidationError::new(format!("The {what} name must not contain control characters.")));
    }
    Ok(trimmed.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    pub zone: String,
    /// Requests per minute for the whole organization (Make's `license.apiLimit`).
    pub api_limit: i64,
    pub timezone: String,
    pub country: Option<String>,
    pub created: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub organization_id: OrganizationId,
    pub created: Timestamp,
}

/// Make's Core plan limit: the default for a new organization.
pub const DEFAULT_API_LIMIT: i64 = 60;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(Email::parse("  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
        assert!(Email::parse("no-at-sign").is_err());
        assert!(Email::parse("a@b@c").is_err());
        assert!(Email::parse("@example.com").is_err());
        assert!(Email::parse("a b@example.com").is_err());
    }
}
