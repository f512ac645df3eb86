//! Who a use case acts for: the user behind a credential, what the credential reaches, and how it was
//! presented. The CLI and the signed-in console act as the user with every scope.

use std::sync::Arc;

use gatehouse_domain::{OrganizationId, ScopeSet, Timestamp, UserId};

use crate::caches::VerifiedAccessToken;
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: UserId,
    pub is_admin: bool,
    pub scopes: ScopeSet,
    pub method: AuthMethod,
    /// Which organizations the credential reaches. An OAuth grant reaches only the organization the user
    /// chose at consent.
    pub organizations: OrganizationLimit,
}

/// How the caller authenticated, as `current-authorization` reports it.
#[derive(Debug, Clone)]
pub enum AuthMethod {
    /// An API token, identified by its per-user key.
    ApiToken { created: Timestamp },
    /// An OAuth access token (RFC 9068): its verified claims, shared with the cache.
    OAuth { token: Arc<VerifiedAccessToken> },
    /// The operator at the command line, or the user signed in to the console.
    Operator,
}

impl AuthMethod {
    pub const API_TOKEN_USED: &'static str = "token";
    pub const OAUTH_USED: &'static str = "oauth";

    /// Make's `authUsed` value.
    pub fn auth_used(&self) -> &'static str {
        match self {
            AuthMethod::ApiToken { .. } | AuthMethod::Operator => Self::API_TOKEN_USED,
            AuthMethod::OAuth { .. } => Self::OAUTH_USED,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganizationLimit {
    /// Every organization the user belongs to (API tokens; client credentials, which act as the owner).
    Any,
    Only(OrganizationId),
    /// A consent given while the user belonged to no organization.
    Nothing,
}

impl Actor {
    /// The user themself, with every scope: the CLI on the server, or the signed-in console.
    pub fn operator(user: &gatehouse_domain::User) -> Self {
        Self {
            user_id: user.id,
            is_admin: user.is_admin,
            scopes: ScopeSet::all_api_scopes(),
            method: AuthMethod::Operator,
            organizations: OrganizationLimit::Any,
        }
    }

    /// Whether the credential may reach this organization at all (membership is checked separately).
    pub fn reaches_organization(&self, id: OrganizationId) -> bool {
        match self.organizations {
            OrganizationLimit::Any => true,
            OrganizationLimit::Only(only) => only == id,
            OrganizationLimit::Nothing => false,
        }
    }

    /// Issue 10, hole 3: a credential may never create a credential that holds more than itself, or it
    /// could climb from `user:write` to `admin:write`. The operator (the CLI, the signed-in console) holds
    /// every scope and keeps Make's behaviour: administration scopes may be put on a token, and are refused
    /// at use unless the user is an administrator. Answers 403 naming the scopes the caller lacks.
    pub fn may_confer(&self, scopes: ScopeSet) -> AppResult<()> {
        if matches!(self.method, AuthMethod::Operator) {
            return Ok(());
        }
        let lacking = scopes.difference(self.scopes);
        if lacking.is_empty() {
            return Ok(());
        }
        Err(AppError::forbidden(format!(
            "A credential cannot create a credential with scopes it does not hold itself. This credential lacks: {}.",
            lacking.names().join(", ")
        )))
    }

    pub fn is_oauth(&self) -> bool {
        matches!(self.method, AuthMethod::OAuth { .. })
    }
}
