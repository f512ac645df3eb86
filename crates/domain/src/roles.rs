//! Make's role catalogue: the permissions a role can grant, the built-in organization and team roles, and
//! what each grants. A token's scopes say what kind of call it may make; the caller's role in the
//! organization or team it touches says whether they may make it there (Make's "roles and API scopes").
//!
//! Ids are Make-style stable integers: permissions 101+ (organization) and 201+ (team), built-in
//! organization roles 1–5, team roles 11–15, custom roles from [`CUSTOM_ROLE_ID_BASE`] on. None ever
//! changes meaning; new ones are appended (docs/compatibility.md lists them).

use crate::error::ValidationError;
use crate::identity::{Email, UserId};
use crate::ids::OrganizationId;
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoleCategory {
    Organization,
    Team,
}

impl RoleCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Organization => "organization",
            Self::Team => "team",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text.trim() {
            "organization" => Ok(Self::Organization),
            "team" => Ok(Self::Team),
            other => Err(ValidationError::new(format!("Unknown role category {other:?}: use organization or team."))),
        }
    }
}

macro_rules! permissions {
    ($($variant:ident = $id:literal, $name:literal, $category:ident, $group:literal, $label:literal, $note:literal, [$($requires:literal),*];)*) => {
        /// What a role may grant. The names are what `GET /users/roles` lists in `permissions`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Permission { $($variant),* }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),*];

            pub fn id(self) -> i64 { match self { $(Permission::$variant => $id),* } }
            pub fn name(self) -> &'static str { match self { $(Permission::$variant => $name),* } }
            pub fn role_category(self) -> RoleCategory { match self { $(Permission::$variant => RoleCategory::$category),* } }
            /// The group the permission is shown in (Make's `category`).
            pub fn group(self) -> &'static str { match self { $(Permission::$variant => $group),* } }
            pub fn label(self) -> &'static str { match self { $(Permission::$variant => $label),* } }
            pub fn note(self) -> &'static str { match self { $(Permission::$variant => $note),* } }
            /// Permissions a role must also grant to grant this one.
            pub fn requires(self) -> &'static [&'static str] { match self { $(Permission::$variant => &[$($requires),*]),* } }
        }
    };
}

permissions! {
    OrganizationView = 101, "organization:view", Organization, "organization", "View the organization",
        "See the organization, its teams and its settings.", [];
    OrganizationUpdate = 102, "organization:update", Organization, "organization", "Change the organization",
        "Change the organization's name, time zone and country.", ["organization:view"];
    OrganizationDelete = 103, "organization:delete", Organization, "organization", "Delete the organization",
        "Delete the organization with its teams.", ["organization:view"];
    OrganizationMembersView = 104, "organization:members:view", Organization, "users", "View users",
        "List the organization's users and their roles.", ["organization:view"];
    OrganizationMembersManage = 105, "organization:members:manage", Organization, "users", "Manage users",
        "Invite and remove users and change their roles, except the owner's.", ["organization:members:view"];
    OrganizationOwnershipTransfer = 106, "organization:ownership:transfer", Organization, "users", "Transfer ownership",
        "Make another user the organization's owner.", ["organization:members:manage"];
    OrganizationTeamsCreate = 107, "organization:teams:create", Organization, "teams", "Create teams",
        "Create teams in the organization.", ["organization:view"];
    OrganizationTeamsManage = 108, "organization:teams:manage", Organization, "teams", "Manage every team",
        "Act as a team admin in every team of the organization, and delete teams.", ["organization:teams:create"];
    OrganizationRolesManage = 109, "organization:roles:manage", Organization, "users", "Manage custom roles",
        "Create, change and delete the organization's custom roles.", ["organization:members:manage"];
    OrganizationAuditLogView = 110, "organization:audit-log:view", Organization, "organization", "View the audit log",
        "Read the organization's audit log.", ["organization:view"];
    OrganizationSubscriptionView = 111, "organization:subscription:view", Organization, "billing", "View the subscription",
        "See the organization's plan, limits and invoices.", ["organization:view"];
    OrganizationAppsDevelop = 112, "organization:apps:develop", Organization, "apps", "Develop apps",
        "Create and change the organization's custom apps.", ["organization:view"];
    TeamView = 201, "team:view", Team, "team", "View the team",
        "See the team and its settings.", [];
    TeamUpdate = 202, "team:update", Team, "team", "Change the team",
        "Change the team's name and settings.", ["team:view"];
    TeamDelete = 203, "team:delete", Team, "team", "Delete the team",
        "Delete the team.", ["team:view"];
    TeamMembersView = 204, "team:members:view", Team, "users", "View team users",
        "List the team's users and their roles.", ["team:view"];
    TeamMembersManage = 205, "team:members:manage", Team, "users", "Manage team users",
        "Add and remove the team's users and change their team roles.", ["team:members:view"];
    TeamScenariosView = 206, "team:scenarios:view", Team, "scenarios", "View scenarios",
        "See the team's scenarios and their executions.", ["team:view"];
    TeamScenariosRun = 207, "team:scenarios:run", Team, "scenarios", "Run scenarios",
        "Run, start and stop the team's scenarios.", ["team:scenarios:view"];
    TeamScenariosEdit = 208, "team:scenarios:edit", Team, "scenarios", "Edit scenarios",
        "Create, change and delete the team's scenarios.", ["team:scenarios:view"];
    TeamConnectionsManage = 209, "team:connections:manage", Team, "connections", "Manage connections",
        "Create, change and delete the team's connections, keys and webhooks.", ["team:view"];
}

impl Permission {
    pub fn by_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|permission| permission.name() == name)
    }

    pub fn by_id(id: i64) -> Option<Self> {
        Self::ALL.iter().copied().find(|permission| permission.id() == id)
    }

    pub fn of_category(category: RoleCategory) -> impl Iterator<Item = Permission> {
        Self::ALL.iter().copied().filter(move |permission| permission.role_category() == category)
    }
}

/// Who manages a role, as Make says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagementType {
    /// Built in, and never changed (Owner).
    SystemLocked,
    /// Built in; the platform's administrators could change it.
    AdminManaged,
    /// An organization's own role.
    CustomManaged,
}

impl ManagementType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SystemLocked => "system_locked",
            Self::AdminManaged => "admin_managed",
            Self::CustomManaged => "custom_managed",
        }
    }
}

/// A user's role in an organization. Stored by [`OrgRole::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OrgRole {
    Accountant,
    AppDeveloper,
    Member,
    Admin,
    Owner,
}

/// A user's role in a team. Stored by [`TeamRole::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TeamRole {
    Admin,
    Member,
    Monitoring,
    Operator,
    RestrictedMember,
}

use Permission as P;

const ORGANIZATION_VIEW: &[Permission] = &[P::OrganizationView, P::OrganizationMembersView];

impl OrgRole {
    pub const ALL: &'static [OrgRole] = &[Self::Owner, Self::Admin, Self::Member, Self::Accountant, Self::AppDeveloper];

    /// The stored and command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Accountant => "accountant",
            Self::AppDeveloper => "app_developer",
        }
    }

    /// `owner`, `admin`, … (any case, `-` or `_`), Make's role name (`App Developer`), or its id.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let normalised = text.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Self::ALL
            .iter()
            .copied()
            .find(|role| role.as_str() == normalised || role.id().to_string() == normalised || role.identifier() == normalised)
            .ok_or_else(|| {
                ValidationError::new(format!(
                    "Unknown role {:?}: use owner, admin, member, accountant or app_developer (organization roles).",
                    text.trim()
                ))
            })
    }

    pub fn id(self) -> i64 {
        match self {
            Self::Owner => 1,
            Self::Admin => 2,
            Self::Member => 3,
            Self::Accountant => 4,
            Self::AppDeveloper => 5,
        }
    }

    pub fn by_id(id: i64) -> Option<Self> {
        Self::ALL.iter().copied().find(|role| role.id() == id)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Owner => "Owner",
            Self::Admin => "Admin",
            Self::Member => "Member",
            Self::Accountant => "Accountant",
            Self::AppDeveloper => "App Developer",
        }
    }

    /// Make's machine-readable `identifier`.
    pub fn identifier(self) -> &'static str {
        match self {
            Self::Owner => "organization_owner",
            Self::Admin => "organization_admin",
            Self::Member => "organization_member",
            Self::Accountant => "organization_accountant",
            Self::AppDeveloper => "organization_app_developer",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Owner => "Full control of the organization, including deleting it and transferring ownership.",
            Self::Admin => "Manages the organization, its users and every team; cannot delete it or transfer ownership.",
            Self::Member => "Sees the organization and its users; works in the teams they are added to.",
            Self::Accountant => "Sees the organization and manages its subscription and invoices.",
            Self::AppDeveloper => "Sees the organization and develops its custom apps.",
        }
    }

    pub fn management_type(self) -> ManagementType {
        if self == Self::Owner { ManagementType::SystemLocked } else { ManagementType::AdminManaged }
    }

    /// Whether users who are not platform administrators may assign it (Make's `subsidiary`).
    pub fn subsidiary(self) -> bool {
        self != Self::Owner
    }

    pub fn permissions(self) -> Vec<Permission> {
        match self {
            Self::Owner => Permission::of_category(RoleCategory::Organization).collect(),
            Self::Admin => Permission::of_category(RoleCategory::Organization)
                .filter(|permission| !matches!(permission, P::OrganizationDelete | P::OrganizationOwnershipTransfer))
                .collect(),
            Self::Member => ORGANIZATION_VIEW.to_vec(),
            Self::Accountant => [ORGANIZATION_VIEW, &[P::OrganizationSubscriptionView]].concat(),
            Self::AppDeveloper => [ORGANIZATION_VIEW, &[P::OrganizationAppsDevelop]].concat(),
        }
    }

    pub fn grants(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }

    /// Owners and admins manage an organization's teams and settings.
    pub fn can_manage(self) -> bool {
        self.grants(P::OrganizationUpdate)
    }
}

impl TeamRole {
    pub const ALL: &'static [TeamRole] = &[Self::Admin, Self::Member, Self::Monitoring, Self::Operator, Self::RestrictedMember];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Monitoring => "monitoring",
            Self::Operator => "operator",
            Self::RestrictedMember => "restricted_member",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let normalised = text.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        let without_prefix = normalised.strip_prefix("team_").unwrap_or(&normalised);
        Self::ALL
            .iter()
            .copied()
            .find(|role| role.as_str() == without_prefix || role.id().to_string() == normalised)
            .ok_or_else(|| {
                ValidationError::new(format!(
                    "Unknown team role {:?}: use admin, member, monitoring, operator or restricted_member.",
                    text.trim()
                ))
            })
    }

    pub fn id(self) -> i64 {
        match self {
            Self::Admin => 11,
            Self::Member => 12,
            Self::Monitoring => 13,
            Self::Operator => 14,
            Self::RestrictedMember => 15,
        }
    }

    pub fn by_id(id: i64) -> Option<Self> {
        Self::ALL.iter().copied().find(|role| role.id() == id)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Admin => "Team Admin",
            Self::Member => "Team Member",
            Self::Monitoring => "Team Monitoring",
            Self::Operator => "Team Operator",
            Self::RestrictedMember => "Team Restricted Member",
        }
    }

    pub fn identifier(self) -> &'static str {
        match self {
            Self::Admin => "team_admin",
            Self::Member => "team_member",
            Self::Monitoring => "team_monitoring",
            Self::Operator => "team_operator",
            Self::RestrictedMember => "team_restricted_member",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Admin => "Full access to the team: its settings, users, scenarios and connections.",
            Self::Member => "Builds and runs the team's scenarios and manages its connections.",
            Self::Monitoring => "Sees the team's scenarios and their executions, and changes nothing.",
            Self::Operator => "Sees and runs the team's scenarios, and changes nothing else.",
            Self::RestrictedMember => "Builds and runs scenarios, without managing connections, keys or webhooks.",
        }
    }

    pub fn permissions(self) -> Vec<Permission> {
        let view = [P::TeamView, P::TeamMembersView, P::TeamScenariosView];
        match self {
            Self::Admin => Permission::of_category(RoleCategory::Team).filter(|permission| *permission != P::TeamDelete).collect(),
            Self::Member => [&view[..], &[P::TeamScenariosRun, P::TeamScenariosEdit, P::TeamConnectionsManage]].concat(),
            Self::Monitoring => view.to_vec(),
            Self::Operator => [&view[..], &[P::TeamScenariosRun]].concat(),
            Self::RestrictedMember => [&view[..], &[P::TeamScenariosRun, P::TeamScenariosEdit]].concat(),
        }
    }

    pub fn grants(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

/// What a caller may do in a team: their team role's permissions, and every team permission for those
/// who manage every team of the organization (its owners and admins), even outside the team. Every member
/// of the organization sees that its teams exist (`team:view`), as `GET /teams` lists them.
pub fn team_permission_granted(org_role: Option<OrgRole>, team_role: Option<TeamRole>, permission: Permission) -> bool {
    let Some(org_role) = org_role else { return false };
    org_role.grants(P::OrganizationTeamsManage)
        || permission == P::TeamView
        || team_role.is_some_and(|role| role.grants(permission))
}

/// Custom roles' public ids start here, above every built-in role's.
pub const CUSTOM_ROLE_ID_BASE: i64 = 1000;

/// An organization's own role (Make's custom roles): a name and a set of permissions of one category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRole {
    /// The public id, from [`CUSTOM_ROLE_ID_BASE`] on.
    pub id: i64,
    pub organization_id: OrganizationId,
    pub name: String,
    pub category: RoleCategory,
    pub description: Option<String>,
    pub permissions: Vec<Permission>,
    pub created: Timestamp,
}

/// An invitation to an organization: the invitee accepts it signed in with the invited email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: i64,
    pub organization_id: OrganizationId,
    pub email: Email,
    pub role: OrgRole,
    pub invited_by: Option<UserId>,
    pub created: Timestamp,
}

/// A custom role's permissions, checked: known, of the role's category, and with every permission each
/// requires. Returned in catalogue order, each once.
pub fn check_custom_permissions(category: RoleCategory, ids: &[i64]) -> Result<Vec<Permission>, ValidationError> {
    let mut chosen = Vec::new();
    for id in ids {
        let permission = Permission::by_id(*id).ok_or_else(|| {
            ValidationError::new(format!("Unknown permission {id}: see GET /api/v2/users/roles/permissions."))
        })?;
        if permission.role_category() != category {
            return Err(ValidationError::new(format!(
                "Permission {id} ({}) is not a {} permission.",
                permission.name(),
                category.as_str()
            )));
        }
        chosen.push(permission);
    }
    for permission in &chosen {
        for required in permission.requires() {
            if !chosen.iter().any(|other| other.name() == *required) {
                return Err(ValidationError::new(format!("Permission {} requires {required}.", permission.name())));
            }
        }
    }
    Ok(Permission::ALL.iter().copied().filter(|permission| chosen.contains(permission)).collect())
}

/// Custom role names: trimmed, 1 to 100 characters, no control characters.
pub fn parse_role_name(text: &str) -> Result<String, ValidationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 100 || trimmed.chars().any(char::is_control) {
        return Err(ValidationError::new("A role name must be 1 to 100 characters, without control characters."));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique_and_pinned() {
        for (index, permission) in Permission::ALL.iter().enumerate() {
            for other in &Permission::ALL[index + 1..] {
                assert_ne!(permission.id(), other.id());
                assert_ne!(permission.name(), other.name());
            }
            for required in permission.requires() {
                assert!(Permission::by_name(required).is_some(), "{} requires unknown {required}", permission.name());
            }
        }
        assert_eq!(Permission::TeamDelete.id(), 203);
        assert_eq!(OrgRole::Owner.id(), 1);
        assert_eq!(TeamRole::Member.id(), 12);
        assert_eq!(OrgRole::by_id(5), Some(OrgRole::AppDeveloper));
    }

    #[test]
    fn every_built_in_role_grants_what_its_permissions_require() {
        let org: Vec<Vec<Permission>> = OrgRole::ALL.iter().map(|role| role.permissions()).collect();
        let team: Vec<Vec<Permission>> = TeamRole::ALL.iter().map(|role| role.permissions()).collect();
        for permissions in org.iter().chain(team.iter()) {
            for permission in permissions {
                for required in permission.requires() {
                    assert!(permissions.iter().any(|p| p.name() == *required), "{} without {required}", permission.name());
                }
            }
        }
    }

    #[test]
    fn owners_hold_everything_admins_all_but_deletion_and_transfer() {
        assert!(OrgRole::Owner.grants(Permission::OrganizationDelete));
        assert!(!OrgRole::Admin.grants(Permission::OrganizationDelete));
        assert!(!OrgRole::Admin.grants(Permission::OrganizationOwnershipTransfer));
        assert!(OrgRole::Admin.can_manage() && OrgRole::Owner.can_manage());
        assert!(!OrgRole::Member.can_manage() && !OrgRole::Accountant.can_manage());
    }

    #[test]
    fn team_members_cannot_change_the_team_its_admins_and_the_organizations_admins_can() {
        assert!(!team_permission_granted(Some(OrgRole::Member), Some(TeamRole::Member), Permission::TeamUpdate));
        assert!(!team_permission_granted(Some(OrgRole::Member), Some(TeamRole::Monitoring), Permission::TeamScenariosRun));
        assert!(team_permission_granted(Some(OrgRole::Member), Some(TeamRole::Admin), Permission::TeamMembersManage));
        assert!(!team_permission_granted(Some(OrgRole::Member), Some(TeamRole::Admin), Permission::TeamDelete));
        assert!(team_permission_granted(Some(OrgRole::Owner), None, Permission::TeamDelete));
        assert!(!team_permission_granted(None, None, Permission::TeamView));
    }

    #[test]
    fn roles_parse_by_name_identifier_and_id() {
        assert_eq!(OrgRole::parse("Owner"), Ok(OrgRole::Owner));
        assert_eq!(OrgRole::parse("App Developer"), Ok(OrgRole::AppDeveloper));
        assert_eq!(OrgRole::parse("organization_admin"), Ok(OrgRole::Admin));
        assert_eq!(OrgRole::parse("3"), Ok(OrgRole::Member));
        assert!(OrgRole::parse("god").is_err());
        assert_eq!(TeamRole::parse("Team Monitoring"), Ok(TeamRole::Monitoring));
        assert_eq!(TeamRole::parse("operator"), Ok(TeamRole::Operator));
        assert_eq!(TeamRole::parse("12"), Ok(TeamRole::Member));
        assert!(TeamRole::parse("owner").is_err());
    }

    #[test]
    fn custom_permissions_are_checked_for_category_and_requirements() {
        let chosen = check_custom_permissions(RoleCategory::Team, &[206, 201]).unwrap();
        assert_eq!(chosen, vec![Permission::TeamView, Permission::TeamScenariosView]);
        assert!(check_custom_permissions(RoleCategory::Team, &[206]).is_err(), "team:scenarios:view requires team:view");
        assert!(check_custom_permissions(RoleCategory::Team, &[101]).is_err(), "an organization permission");
        assert!(check_custom_permissions(RoleCategory::Organization, &[9999]).is_err());
    }
}
