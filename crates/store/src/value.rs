//! The portable cells the store binds and reads: one type per column kind both databases share.

use gatehouse_domain::oauth::ClientId;
use gatehouse_domain::{FamilyId, GrantId, Jti, Kid, OrganizationId, ScopeSet, TeamId, Timestamp, TokenHash, UserId};

/// A column's portable type: what both databases store it as (times are BIGINT milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Int,
    Text,
    Bytes,
    Bool,
}

/// One value bound to a statement or read from a row. Typed even when NULL: PostgreSQL needs a NULL's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Bool(Option<bool>),
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int(Some(value))
    }
}
impl From<Option<i64>> for Value {
    fn from(value: Option<i64>) -> Self {
        Value::Int(value)
    }
}
impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(Some(value))
    }
}
impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(Some(value))
    }
}
impl From<Option<String>> for Value {
    fn from(value: Option<String>) -> Self {
        Value::Text(value)
    }
}
impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(Some(value.to_string()))
    }
}
impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Value::Text(Some(value.clone()))
    }
}
impl From<Option<&str>> for Value {
    fn from(value: Option<&str>) -> Self {
        Value::Text(value.map(str::to_string))
    }
}
impl From<&Option<String>> for Value {
    fn from(value: &Option<String>) -> Self {
        Value::Text(value.clone())
    }
}
impl From<&[u8]> for Value {
    fn from(value: &[u8]) -> Self {
        Value::Bytes(Some(value.to_vec()))
    }
}
impl From<Vec<u8>> for Value {
    fn from(value: Vec<u8>) -> Self {
        Value::Bytes(Some(value))
    }
}
impl From<Timestamp> for Value {
    fn from(value: Timestamp) -> Self {
        Value::Int(Some(value.as_millis()))
    }
}
impl From<Option<Timestamp>> for Value {
    fn from(value: Option<Timestamp>) -> Self {
        Value::Int(value.map(Timestamp::as_millis))
    }
}
impl From<UserId> for Value {
    fn from(value: UserId) -> Self {
        Value::Int(Some(value.0))
    }
}
impl From<Option<UserId>> for Value {
    fn from(value: Option<UserId>) -> Self {
        Value::Int(value.map(|user| user.0))
    }
}
impl From<&TokenHash> for Value {
    fn from(value: &TokenHash) -> Self {
        Value::Bytes(Some(value.as_bytes().to_vec()))
    }
}
impl From<Option<TokenHash>> for Value {
    fn from(value: Option<TokenHash>) -> Self {
        Value::Bytes(value.map(|hash| hash.as_bytes().to_vec()))
    }
}
impl From<&ClientId> for Value {
    fn from(value: &ClientId) -> Self {
        Value::Text(Some(value.as_str().to_string()))
    }
}
impl From<ScopeSet> for Value {
    fn from(value: ScopeSet) -> Self {
        Value::Text(Some(value.to_space_delimited()))
    }
}

impl From<OrganizationId> for Value {
    fn from(id: OrganizationId) -> Self {
        Value::Int(Some(id.0))
    }
}
impl From<Option<OrganizationId>> for Value {
    fn from(id: Option<OrganizationId>) -> Self {
        Value::Int(id.map(|id| id.0))
    }
}
impl From<TeamId> for Value {
    fn from(id: TeamId) -> Self {
        Value::Int(Some(id.0))
    }
}
impl From<Option<TeamId>> for Value {
    fn from(id: Option<TeamId>) -> Self {
        Value::Int(id.map(|id| id.0))
    }
}
impl From<GrantId> for Value {
    fn from(id: GrantId) -> Self {
        Value::Int(Some(id.0))
    }
}
impl From<Option<GrantId>> for Value {
    fn from(id: Option<GrantId>) -> Self {
        Value::Int(id.map(|id| id.0))
    }
}
impl From<&FamilyId> for Value {
    fn from(id: &FamilyId) -> Self {
        Value::Text(Some(id.0.clone()))
    }
}
impl From<&Jti> for Value {
    fn from(id: &Jti) -> Self {
        Value::Text(Some(id.0.clone()))
    }
}
impl From<&Kid> for Value {
    fn from(id: &Kid) -> Self {
        Value::Text(Some(id.0.clone()))
    }
}
