//! Identifiers that are not secrets, each its own type so that an organization's id can never be passed
//! where a team's is expected. Numeric ids are the database's; string ids are drawn at random (families,
//! `jti`) or derived from a key (`kid`).

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self(text)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(text.to_string())
            }
        }
    };
}

numeric_id!(
    /// An organization (Make's `organizationId`).
    OrganizationId
);
numeric_id!(
    /// A team (Make's `teamId`).
    TeamId
);
numeric_id!(
    /// A user's consent to a client.
    GrantId
);
text_id!(
    /// A token family: everything issued from one authorization code or one client's credentials.
    FamilyId
);
text_id!(
    /// An access token's `jti` (RFC 7519 §4.1.7).
    Jti
);
text_id!(
    /// A signing key's `kid` (RFC 7517 §4.5).
    Kid
);
