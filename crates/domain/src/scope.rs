//! Make's API scopes: the catalog, its aliases, and the rule that maps HTTP verbs to `:read` / `:write`.
//!
//! A scope is an index into one static catalog, and a set of scopes is a bitset, so checking a
//! requirement on the hot path is one AND. The catalog order is the order in which scopes are listed.

use std::fmt;

use crate::error::ValidationError;

/// Which group of Make's scopes page a scope belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeGroup {
    /// "Administration scopes (only for administrators of White Label platforms)".
    Administration,
    /// "Standard user scopes (all users)".
    User,
    /// OpenID Connect scopes: valid in an OAuth request, never on an API token.
    OpenId,
}

pub struct ScopeInfo {
    pub name: &'static str,
    pub group: ScopeGroup,
    /// Shown on the OAuth consent page, so it is written for the person granting access.
    pub description: &'static str,
}

macro_rules! catalog {
    ($( $group:ident $name:literal => $description:literal ),* $(,)?) => {
        pub static CATALOG: &[ScopeInfo] = &[
            $( ScopeInfo { name: $name, group: ScopeGroup::$group, description: $description } ),*
        ];
    };
}

catalog! {
    Administration "admin:read" => "Read everything in the administration interface: all users, templates, scenarios and apps",
    Administration "admin:write" => "Perform administration actions: create organizations, manage users, templates and apps",
    Administration "apps:read" => "List native apps and read their details",
    Administration "apps:write" => "Update or delete native apps",
    Administration "system:read" => "Read platform settings",
    Administration "system:write" => "Change platform settings",
    User "agents:read" => "See your on-premise agents",
    User "agents:write" => "Create, update or delete on-premise agents",
    User "analytics:read" => "Read analytics data for your organizations",
    User "connections:read" => "See your teams' connections",
    User "connections:write" => "Create, update, verify or delete connections",
    User "credential-requests:read" => "See credential requests",
    User "credential-requests:write" => "Create, update or delete credential requests",
    User "custom-property-structures:read" => "See custom property structures and their items",
    User "custom-property-structures:write" => "Create custom property structures and change their items",
    User "datastores:read" => "See your teams' data stores and read their records",
    User "datastores:write" => "Create, update or delete data stores and their records",
    User "devices:read" => "See your teams' devices",
    User "devices:write" => "Create, update or delete devices",
    User "dlqs:read" => "See incomplete executions, their bundles, blueprints and logs",
    User "dlqs:write" => "Update or delete incomplete executions",
    User "functions:read" => "See your teams' custom functions and their history",
    User "functions:write" => "Create, update or delete custom functions",
    User "hooks:read" => "See your teams' webhooks and mailhooks and their requests",
    User "hooks:write" => "Create, update, enable, disable or delete hooks",
    User "keys:read" => "See your teams' keys",
    User "keys:write" => "Create, update or delete keys",
    User "mcp:use" => "Use your scenarios as MCP tools",
    User "notifications:read" => "Read your notifications",
    User "notifications:write" => "Mark notifications as read or delete them",
    User "organization-variables:read" => "See organization variables and their history",
    User "organization-variables:write" => "Create, update or delete organization variables",
    User "organizations:read" => "See your organizations, their apps, invitations and roles",
    User "organizations:write" => "Update or delete your organizations, accept invitations and add members",
    User "private-spaces:read" => "See your private spaces",
    User "private-spaces:write" => "Create, update or delete private spaces",
    User "scenarios:read" => "See scenarios, their blueprints, logs, folders and interfaces",
    User "scenarios:run" => "Run your scenarios",
    User "scenarios:write" => "Create, update, clone, activate, deactivate or delete scenarios and folders",
    User "sdk-apps:read" => "See your custom apps and their configuration",
    User "sdk-apps:write" => "Create, configure, clone, review, roll back or delete custom apps",
    User "team-variables:read" => "See team variables and their history",
    User "team-variables:write" => "Create, update or delete team variables",
    User "teams:read" => "See your organizations' teams and team roles",
    User "teams:write" => "Create, update or delete teams",
    User "templates:read" => "See templates and their blueprints",
    User "templates:write" => "Create, update, publish or delete templates",
    User "udts:read" => "See your teams' data structures",
    User "udts:write" => "Create, update, clone or delete data structures",
    User "user:read" => "See your profile, your API tokens, team and organization users and roles",
    User "user:write" => "Change your profile and roles, create and delete API tokens",
    OpenId "openid" => "Confirm your identity (sign you in)",
    OpenId "profile" => "See your name, language and time zone",
    OpenId "email" => "See your email address",
    OpenId "offline_access" => "Keep access while you are away (a refresh token)",
}

/// Spellings Make uses for the same scope in different documents (reference §1.3). Each maps to the
/// canonical name that `GET /enums/user-api-token-scopes` lists.
static ALIASES: &[(&str, &str)] = &[
    ("organizations-variables:read", "organization-variables:read"),
    ("organizations-variables:write", "organization-variables:write"),
    ("teams-variables:read", "team-variables:read"),
    ("teams-variables:write", "team-variables:write"),
    // The reference lists this singular form for `GET /users/me` and nowhere else.
    ("organization:read", "organizations:read"),
];

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope(u8);

/// What a verb needs on a resource: `:read` for GET, `:write` for POST, PUT, PATCH and DELETE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    /// Make's verb rule (reference §1.1). HEAD and OPTIONS read; every other verb writes.
    pub fn for_method(method: &str) -> Self {
        match method {
            "GET" | "HEAD" | "OPTIONS" => Access::Read,
            _ => Access::Write,
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

impl Scope {
    /// Looks a scope up by its canonical name or one of Make's alternative spellings.
    pub fn parse(name: &str) -> Option<Self> {
        let canonical = ALIASES.iter().find(|(alias, _)| *alias == name).map_or(name, |(_, canonical)| canonical);
        CATALOG.iter().position(|info| info.name == canonical).map(|index| Scope(index as u8))
    }

    /// The scope that `access` on `resource` needs, e.g. `("teams", Write)` → `teams:write`.
    pub fn for_resource(resource: &str, access: Access) -> Option<Self> {
        Self::parse(&format!("{resource}:{}", access.suffix()))
    }

    pub fn info(self) -> &'static ScopeInfo {
        &CATALOG[self.0 as usize]
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn is_administration(self) -> bool {
        self.info().group == ScopeGroup::Administration
    }

    /// Scopes that may be put on an API token: everything but the OpenID Connect ones.
    pub fn is_api_scope(self) -> bool {
        self.info().group != ScopeGroup::OpenId
    }

    fn bit(self) -> u128 {
        1u128 << self.0
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of scopes. Duplicates collapse and order is the catalog's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ScopeSet(u128);

impl ScopeSet {
    pub const EMPTY: ScopeSet = ScopeSet(0);

    /// Every scope an API token may carry: what the first-start administrator token gets.
    pub fn all_api_scopes() -> Self {
        Self::from_iter(Self::catalog().filter(|scope| scope.is_api_scope()))
    }

    pub fn catalog() -> impl Iterator<Item = Scope> {
        (0..CATALOG.len()).map(|index| Scope(index as u8))
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn insert(&mut self, scope: Scope) {
        self.0 |= scope.bit();
    }

    pub fn remove(&mut self, scope: Scope) {
        self.0 &= !scope.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The rule that a request may only narrow what was granted (RFC 6749 §3.3 and §6, and an approval
    /// of a client request): `Err` holds the scopes that exceed it.
    pub fn narrowing(self, granted: ScopeSet) -> Result<ScopeSet, ScopeSet> {
        if self.is_subset_of(granted) { Ok(self) } else { Err(self.difference(granted)) }
    }

    pub fn is_subset_of(self, other: ScopeSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn intersection(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 & other.0)
    }

    pub fn union(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 | other.0)
    }

    pub fn difference(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 & !other.0)
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Self::catalog().filter(move |scope| self.contains(*scope))
    }

    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Scope::name).collect()
    }

    /// Parses a list of names, refusing the whole list if any name is unknown, so that a typo never
    /// silently produces a token with less access than its creator believes it has.
    pub fn parse_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, ValidationError> {
        let mut set = ScopeSet::EMPTY;
        let mut unknown = Vec::new();
        for name in names {
            match Scope::parse(name) {
                Some(scope) => set.insert(scope),
                None if unknown.len() < 5 => unknown.push(truncate_for_message(name)),
                None => {}
            }
        }
        if unknown.is_empty() {
            Ok(set)
        } else {
            Err(ValidationError::new(format!("Unknown scope: {}.", unknown.join(", "))))
        }
    }

    /// OAuth's `scope` parameter: space-delimited per RFC 6749 §3.3; Make also accepts commas.
    pub fn parse_delimited(text: &str) -> Result<Self, ValidationError> {
        Self::parse_names(text.split([' ', ',']).filter(|part| !part.is_empty()))
    }

    /// The storage form and RFC 6749 §3.3 form: canonical names separated by single spaces.
    pub fn to_space_delimited(self) -> String {
        self.names().join(" ")
    }
}

fn truncate_for_message(name: &str) -> String {
    let short: String = name.chars().take(64).collect();
    if short.len() < name.len() { format!("{short}…") } else { short }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut set = ScopeSet::EMPTY;
        for scope in iter {
            set.insert(scope);
        }
        set
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_fits_the_bitset_and_has_unique_names() {
        assert!(CATALOG.len() <= 128);
        for (index, info) in CATALOG.iter().enumerate() {
            assert_eq!(CATALOG.iter().position(|other| other.name == info.name), Some(index), "{}", info.name);
        }
    }

    #[test]
    fn every_alias_points_at_a_catalog_scope() {
        for (alias, canonical) in ALIASES {
            assert_eq!(Scope::parse(alias).map(Scope::name), Some(*canonical));
            assert!(Scope::parse(canonical).is_some(), "{canonical}");
        }
    }

    #[test]
    fn verb_rule_read_is_get_write_is_everything_else() {
        assert_eq!(Access::for_method("GET"), Access::Read);
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            assert_eq!(Access::for_method(method), Access::Write);
        }
        assert_eq!(Scope::for_resource("teams", Access::Write).map(Scope::name), Some("teams:write"));
    }

    #[test]
    fn unknown_names_refuse_the_whole_list() {
        let error = ScopeSet::parse_names(["teams:read", "teams:fly"]).unwrap_err();
        assert!(error.0.contains("teams:fly"));
    }

    #[test]
    fn duplicates_collapse_and_commas_separate_like_spaces() {
        let set = ScopeSet::parse_delimited("teams:read,teams:read scenarios:run").unwrap();
        assert_eq!(set.names(), vec!["scenarios:run", "teams:read"]);
        assert_eq!(set.to_space_delimited(), "scenarios:run teams:read");
    }

    #[test]
    fn openid_scopes_are_not_api_token_scopes() {
        let all = ScopeSet::all_api_scopes();
        assert!(!all.contains(Scope::parse("openid").unwrap()));
        assert!(all.contains(Scope::parse("admin:write").unwrap()));
        assert!(all.contains(Scope::parse("scenarios:run").unwrap()));
    }

    #[test]
    fn subset_and_difference() {
        let wide = ScopeSet::parse_names(["teams:read", "teams:write"]).unwrap();
        let narrow = ScopeSet::parse_names(["teams:read"]).unwrap();
        assert!(narrow.is_subset_of(wide));
        assert!(!wide.is_subset_of(narrow));
        assert_eq!(wide.difference(narrow).names(), vec!["teams:write"]);
    }
}
