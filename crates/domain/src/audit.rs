//! The audit log's event: what happened, who did it, when, from where, in which organization, and to what.
//!
//! An event is written once and never changed (the store refuses updates). It never holds a secret: the
//! details are built only through [`AuditDetails`]' typed setters, which take labels, scope sets, roles
//! and reasons, never a token, hash, password, client secret or code.

use std::fmt;
use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::api_token::TokenLabel;
use crate::identity::{Email, UserId};
use crate::roles::{OrgRole, TeamRole};
use crate::ids::{GrantId, OrganizationId};
use crate::oauth::ClientId;
use crate::random::Random;
use crate::scope::ScopeSet;
use crate::time::Timestamp;

macro_rules! audit_kinds {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// What happened. The names are Make's style of `eventName` (`key_created`): stable, snake case.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditKind {
            $($(#[$doc])* $variant,)*
        }

        impl AuditKind {
            pub const ALL: &'static [AuditKind] = &[$(AuditKind::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditKind::$variant => $name,)*
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($name => Some(AuditKind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

audit_kinds! {
    ApiTokenCreated => "api_token_created",
    ApiTokenDeleted => "api_token_deleted",
    /// A client was filed for approval (Make's registration form).
    OAuthClientRequested => "oauth_client_requested",
    /// Approved, or created approved by the operator.
    OAuthClientApproved => "oauth_client_approved",
    OAuthClientRejected => "oauth_client_rejected",
    OAuthClientDeleted => "oauth_client_deleted",
    OAuthClientSecretRotated => "oauth_client_secret_rotated",
    /// A user consented to a client (a grant saved on the consent page).
    OAuthGrantGiven => "oauth_grant_given",
    OAuthGrantRevoked => "oauth_grant_revoked",
    LoginSucceeded => "login_succeeded",
    LoginFailed => "login_failed",
    /// A sign-in refused by the login throttle before the password was checked.
    LoginThrottled => "login_throttled",
    /// A refresh token presented again after its rotation: its family was revoked (RFC 9700 §4.14.2).
    RefreshTokenReplayed => "refresh_token_replayed",
    /// An authorization code presented again: its family was revoked (RFC 6749 §4.1.2).
    AuthorizationCodeReplayed => "authorization_code_replayed",
    SigningKeyRotated => "signing_key_rotated",
    /// A node made a signing key because none could sign (first start, or a new algorithm).
    SigningKeyGenerated => "signing_key_generated",
    /// A member's organization role was set (added with a role, or changed).
    OrganizationRoleChanged => "organization_role_changed",
    MemberAdded => "member_added",
    MemberRemoved => "member_removed",
    OrganizationCreated => "organization_created",
    OrganizationDeleted => "organization_deleted",
    TeamCreated => "team_created",
    TeamDeleted => "team_deleted",
    UserCreated => "user_created",
    UserDeleted => "user_deleted",
    /// A password set by an operator (`gatehouse user reset-password`).
    UserPasswordReset => "user_password_reset",
    /// A user changed their own password in the console (the current one was proven).
    UserPasswordChanged => "user_password_changed",
    /// The platform administrator flag changed (`gatehouse user set-admin`).
    UserAdminChanged => "user_admin_changed",
    UserUnlocked => "user_unlocked",
    /// A user changed their own details (`PATCH /users/me`).
    UserProfileUpdated => "user_profile_updated",
    /// A user's team role was set (added to a team with a role, or changed).
    TeamRoleChanged => "team_role_changed",
    CustomRoleCreated => "custom_role_created",
    CustomRoleUpdated => "custom_role_updated",
    CustomRoleDeleted => "custom_role_deleted",
    /// An email was invited to an organization.
    InvitationCreated => "invitation_created",
    /// An organization's ownership passed from one member to another.
    OwnershipTransferred => "ownership_transferred",
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditActor {
    /// A user through a credential: an API token (`client: None`) or an OAuth access token of `client`.
    User { id: UserId, client: Option<ClientId> },
    /// An OAuth client acting as itself (the token endpoint, where a replay is detected).
    Client(ClientId),
    /// The operator at the command line, acting for `user` when the command names one.
    Operator { user: Option<UserId> },
    /// Nobody proven: a sign-in attempt, with the account it tried when that was an email address.
    Anonymous { account: Option<Email> },
    /// The server itself (first start, a key a node had to make).
    System,
}

impl AuditActor {
    pub fn kind(&self) -> &'static str {
        match self {
            AuditActor::User { .. } => "user",
            AuditActor::Client(_) => "client",
            AuditActor::Operator { .. } => "operator",
            AuditActor::Anonymous { .. } => "anonymous",
            AuditActor::System => "system",
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match self {
            AuditActor::User { id, .. } => Some(*id),
            AuditActor::Operator { user } => *user,
            _ => None,
        }
    }

    pub fn client_id(&self) -> Option<&ClientId> {
        match self {
            AuditActor::User { client, .. } => client.as_ref(),
            AuditActor::Client(client) => Some(client),
            _ => None,
        }
    }

    pub fn account(&self) -> Option<&Email> {
        match self {
            AuditActor::Anonymous { account } => account.as_ref(),
            _ => None,
        }
    }

    /// The actor back from its stored columns; `None` for a kind this version does not know.
    pub fn from_parts(kind: &str, user: Option<UserId>, client: Option<ClientId>, account: Option<Email>) -> Option<Self> {
        Some(match (kind, user) {
            ("user", Some(id)) => AuditActor::User { id, client },
            ("client", _) => AuditActor::Client(client?),
            ("operator", user) => AuditActor::Operator { user },
            ("anonymous", _) => AuditActor::Anonymous { account },
            ("system", _) => AuditActor::System,
            _ => return None,
        })
    }
}

/// Where the request came from: the client's address as the HTTP edge resolved it (through trusted
/// proxies only), and the request's id when it had one. Empty for the command line and the server itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditOrigin {
    pub address: Option<IpAddr>,
    pub request_id: Option<String>,
}

impl AuditOrigin {
    /// The longest request id kept; longer ones are cut (an id is a correlation value, not evidence).
    pub const MAX_REQUEST_ID: usize = 128;

    pub fn new(address: Option<IpAddr>, request_id: Option<&str>) -> Self {
        let request_id = request_id
            .map(|id| id.chars().filter(|c| c.is_ascii_graphic()).take(Self::MAX_REQUEST_ID).collect::<String>())
            .filter(|id| !id.is_empty());
        Self { address, request_id }
    }
}

/// What the event concerns, beyond its organization: the ids of what was acted upon and a few facts
/// about it. The setters are the only way in, and none of them takes a secret.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditDetails {
    /// Make's `targetId`: the thing acted upon, in the form its own API names it (a token's `created`,
    /// a client id, a `kid`, a grant id…).
    pub target_id: Option<String>,
    pub target_user: Option<UserId>,
    pub target_client: Option<ClientId>,
    facts: Map<String, Value>,
}

impl AuditDetails {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn target(mut self, id: impl fmt::Display) -> Self {
        self.target_id = Some(id.to_string());
        self
    }

    pub fn user(mut self, user: UserId) -> Self {
        self.target_user = Some(user);
        self
    }

    pub fn client(mut self, client: &ClientId) -> Self {
        self.target_client = Some(client.clone());
        self
    }

    pub fn label(self, label: &TokenLabel) -> Self {
        self.fact("label", label.as_str())
    }

    pub fn name(self, name: &str) -> Self {
        self.fact("name", name)
    }

    pub fn email(self, email: &Email) -> Self {
        self.fact("email", email.as_str())
    }

    pub fn scopes(self, scopes: ScopeSet) -> Self {
        self.fact("scopes", scopes.names())
    }

    pub fn expires_at(self, at: Option<Timestamp>) -> Self {
        match at {
            Some(at) => self.fact("expiresAt", at.to_iso()),
            None => self,
        }
    }

    pub fn grant(self, grant: GrantId) -> Self {
        self.fact("grantId", grant.0)
    }

    /// A role change, as Make's `version` (`from`, `to`); `from` is `None` when the user was not a member.
    pub fn role_change(self, from: Option<OrgRole>, to: Option<OrgRole>) -> Self {
        self.fact("version", serde_json::json!({ "from": from.map(OrgRole::as_str), "to": to.map(OrgRole::as_str) }))
    }

    /// A team role change, as `role_change` does it for organizations.
    pub fn team_role_change(self, from: Option<TeamRole>, to: Option<TeamRole>) -> Self {
        self.fact("version", serde_json::json!({ "from": from.map(TeamRole::as_str), "to": to.map(TeamRole::as_str) }))
    }

    pub fn admin(self, is_admin: bool) -> Self {
        self.fact("isAdmin", is_admin)
    }

    /// Why, in words chosen by the code (never input echoed back).
    pub fn reason(self, reason: &'static str) -> Self {
        self.fact("reason", reason)
    }

    /// Signing key ids (`kid`, RFC 7517 §4.5): public by design.
    pub fn kids<'a>(self, kids: impl IntoIterator<Item = &'a str>) -> Self {
        self.fact("kids", kids.into_iter().collect::<Vec<_>>())
    }

    fn fact(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.facts.insert(key.to_string(), value.into());
        self
    }

    pub fn facts(&self) -> &Map<String, Value> {
        &self.facts
    }

    /// The facts as one JSON object, as the store keeps them.
    pub fn facts_json(&self) -> String {
        Value::Object(self.facts.clone()).to_string()
    }

    /// Facts read back from the store (checked when they were written); `None` if the text is not an object.
    pub fn with_stored_facts(mut self, json: &str) -> Option<Self> {
        match serde_json::from_str::<Value>(json).ok()? {
            Value::Object(facts) => {
                self.facts = facts;
                Some(self)
            }
            _ => None,
        }
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Make's `uuid`: drawn from the injected randomness.
    pub uuid: String,
    pub kind: AuditKind,
    /// When it happened, by the injected clock (Make's `triggeredAt`).
    pub at: Timestamp,
    pub actor: AuditActor,
    pub origin: AuditOrigin,
    /// The organization the event happened in, if any.
    pub organization: Option<OrganizationId>,
    /// Every organization whose log shows the event: its own, and for what a user does on their own
    /// account (tokens, sign-ins), the organizations the user belonged to at the time.
    pub visible_to: Vec<OrganizationId>,
    pub details: AuditDetails,
}

impl AuditEvent {
    pub fn new(kind: AuditKind, actor: AuditActor, at: Timestamp, random: &dyn Random) -> Self {
        let uuid = uuid::Builder::from_random_bytes(crate::random::bytes::<16>(random)).into_uuid().to_string();
        Self {
            uuid,
            kind,
            at,
            actor,
            origin: AuditOrigin::default(),
            organization: None,
            visible_to: Vec::new(),
            details: AuditDetails::default(),
        }
    }

    /// The organization the event happened in; its log shows the event.
    pub fn in_organization(mut self, organization: Option<OrganizationId>) -> Self {
        self.organization = organization;
        self
    }

    pub fn with(mut self, details: AuditDetails) -> Self {
        self.details = details;
        self
    }
}

/// Which events a listing asks for. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events visible to this organization.
    pub organization: Option<OrganizationId>,
    pub kinds: Vec<AuditKind>,
    /// Events whose actor is this user (through any credential, or the operator acting for them).
    pub actor_user: Option<UserId>,
    /// At or after.
    pub since: Option<Timestamp>,
    /// At or before.
    pub until: Option<Timestamp>,
}

/// A page of a listing: newest first unless `oldest_first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditPage {
    pub offset: u32,
    pub limit: u32,
    pub oldest_first: bool,
}

impl Default for AuditPage {
    fn default() -> Self {
        Self { offset: 0, limit: 100, oldest_first: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_back_from_its_name() {
        for kind in AuditKind::ALL {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(AuditKind::parse("nothing_happened"), None);
    }

    #[test]
    fn actors_survive_their_stored_columns() {
        let client = ClientId::from_stored("abc".into());
        let actors = [
            AuditActor::User { id: UserId(1), client: Some(client.clone()) },
            AuditActor::User { id: UserId(1), client: None },
            AuditActor::Client(client),
            AuditActor::Operator { user: None },
            AuditActor::Anonymous { account: Email::parse("a@b.c").ok() },
            AuditActor::System,
        ];
        for actor in actors {
            let back = AuditActor::from_parts(actor.kind(), actor.user_id(), actor.client_id().cloned(), actor.account().cloned());
            assert_eq!(back, Some(actor));
        }
    }

    #[test]
    fn a_request_id_is_bounded_and_printable() {
        let origin = AuditOrigin::new(None, Some(&format!("a b\n{}", "x".repeat(500))));
        let id = origin.request_id.unwrap_or_default();
        assert!(id.starts_with("ab") && id.len() == AuditOrigin::MAX_REQUEST_ID);
        assert_eq!(AuditOrigin::new(None, Some(" ")).request_id, None);
    }
}
