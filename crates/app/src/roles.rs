//! Roles and memberships: the permission checks the route table declares, the role catalogue with each
//! organization's custom roles, who holds which role where, invitations, ownership transfer and leaving.
//!
//! Every rule about what a role may do is in `gatehouse_domain::roles`; here it meets the store. An actor
//! who does not belong to an organization (or whose OAuth grant does not reach it) is told it does not
//! exist, as everywhere in the directory; a member without the permission gets 403.

use gatehouse_domain::roles::{
    CustomRole, Invitation, ManagementType, Permission, RoleCategory, check_custom_permissions, parse_role_name,
    team_permission_granted,
};
use gatehouse_domain::{AuditDetails, AuditKind, Email, OrgRole, Organization, OrganizationId, Page, Team, TeamId, TeamRole, User, UserId};
use gatehouse_store::{InvitationAcceptance, MemberRemoval, NewCustomRole, OwnershipTransfer, RoleAssignment};

use crate::actor::Actor;
use crate::app::App;
use crate::directory::last_owner;
use crate::error::{AppError, AppResult};
use crate::invalidation::Invalidation;

/// One entry of the role catalogue: a built-in role or an organization's custom role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogueRole {
    Organization(OrgRole),
    Team(TeamRole),
    Custom(CustomRole),
}

impl CatalogueRole {
    pub fn id(&self) -> i64 {
        match self {
            Self::Organization(role) => role.id(),
            Self::Team(role) => role.id(),
            Self::Custom(role) => role.id,
        }
    }

    pub fn category(&self) -> RoleCategory {
        match self {
            Self::Organization(_) => RoleCategory::Organization,
            Self::Team(_) => RoleCategory::Team,
            Self::Custom(role) => role.category,
        }
    }

    pub fn permissions(&self) -> Vec<Permission> {
        match self {
            Self::Organization(role) => role.permissions(),
            Self::Team(role) => role.permissions(),
            Self::Custom(role) => role.permissions.clone(),
        }
    }

    pub fn management_type(&self) -> ManagementType {
        match self {
            Self::Organization(role) => role.management_type(),
            Self::Team(_) => ManagementType::AdminManaged,
            Self::Custom(_) => ManagementType::CustomManaged,
        }
    }
}

/// Which roles `GET /users/roles` lists.
#[derive(Debug, Clone, Default)]
pub struct RoleQuery {
    pub category: Option<RoleCategory>,
    /// Include this organization's custom roles (the caller must belong to it).
    pub organization: Option<OrganizationId>,
    /// Include the custom roles of this team's organization.
    pub team: Option<TeamId>,
    pub exclude: Vec<i64>,
    pub only: Option<i64>,
}

/// A custom role as asked for (`POST /users/custom-roles`).
#[derive(Debug, Clone)]
pub struct CustomRoleRequest {
    pub organization: OrganizationId,
    pub name: String,
    pub category: RoleCategory,
    pub description: Option<String>,
    pub permissions: Vec<i64>,
}

/// Changes to a custom role; `None` keeps a field, `Some(None)` clears the description.
#[derive(Debug, Clone, Default)]
pub struct CustomRoleChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub permissions: Option<Vec<i64>>,
}

/// A user's role in an organization, as Make's `userOrganizationRole` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationRoleHeld {
    pub user_id: UserId,
    pub organization_id: OrganizationId,
    pub role: OrgRole,
}

/// A user's role in a team, as Make's `userTeamRole` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRoleHeld {
    pub user_id: UserId,
    pub team_id: TeamId,
    pub organization_id: OrganizationId,
    pub role: TeamRole,
}

fn lacks(permission: Permission) -> AppError {
    AppError::forbidden(format!("Your role does not grant the permission {} here.", permission.name()))
}

fn check_role_kind(permission: Permission, category: RoleCategory) -> AppResult<()> {
    if permission.role_category() == category {
        Ok(())
    } else {
        Err(AppError::Internal(format!("{} is not a {} permission", permission.name(), category.as_str())))
    }
}

impl App {
    // The checks the route table declares (`Needs` in http/routes.rs). They do not count the request
    // against the organization's rate limit: the use case behind the route does, once.

    /// The actor's role in the organization, if the credential reaches it and they belong to it.
    async fn reachable_role(&self, actor: &Actor, org: OrganizationId) -> AppResult<Option<OrgRole>> {
        if !actor.reaches_organization(org) {
            return Ok(None);
        }
        Ok(self.store.organization_role(org, actor.user_id).await?)
    }

    /// Refuses unless the actor's role in the organization grants the permission: 404 for outsiders (and
    /// for OAuth grants limited to another organization), 403 for members without it.
    pub async fn check_organization_permission(&self, actor: &Actor, org: OrganizationId, permission: Permission) -> AppResult<()> {
        check_role_kind(permission, RoleCategory::Organization)?;
        let role = self.reachable_role(actor, org).await?.ok_or_else(|| AppError::not_found("The organization does not exist."))?;
        if role.grants(permission) { Ok(()) } else { Err(lacks(permission)) }
    }

    /// The team and what the actor holds around it, if they may see it at all.
    async fn team_roles_of_actor(&self, actor: &Actor, team: TeamId) -> AppResult<(Team, Option<OrgRole>, Option<TeamRole>)> {
        let not_found = || AppError::not_found("The team does not exist.");
        let team = self.store.team(team).await?.ok_or_else(not_found)?;
        let org_role = self.reachable_role(actor, team.organization_id).await?.ok_or_else(not_found)?;
        let team_role = self.store.team_role(team.id, actor.user_id).await?;
        Ok((team, Some(org_role), team_role))
    }

    /// Refuses unless the actor may do this in the team: by their team role, or because their
    /// organization role manages every team. Members of the organization outside the team may see that
    /// it exists (as `GET /teams` lists it) but get 403 for anything the permission guards.
    pub async fn check_team_permission(&self, actor: &Actor, team: TeamId, permission: Permission) -> AppResult<()> {
        check_role_kind(permission, RoleCategory::Team)?;
        let (_, org_role, team_role) = self.team_roles_of_actor(actor, team).await?;
        if team_permission_granted(org_role, team_role, permission) { Ok(()) } else { Err(lacks(permission)) }
    }

    // The role catalogue.

    /// Custom roles the actor may see: those of an organization they belong to.
    async fn visible_custom_roles(&self, actor: &Actor, org: OrganizationId) -> AppResult<Vec<CustomRole>> {
        self.check_organization_permission(actor, org, Permission::OrganizationView).await?;
        Ok(self.store.custom_roles_of_organization(org).await?)
    }

    /// `GET /users/roles`: the built-in roles, and the custom roles of the organization (or the team's
    /// organization) asked for.
    pub async fn role_catalogue(&self, actor: &Actor, query: RoleQuery) -> AppResult<Vec<CatalogueRole>> {
        let mut roles: Vec<CatalogueRole> = OrgRole::ALL
            .iter()
            .map(|role| CatalogueRole::Organization(*role))
            .chain(TeamRole::ALL.iter().map(|role| CatalogueRole::Team(*role)))
            .collect();
        let org = match (query.organization, query.team) {
            (Some(org), _) => Some(org),
            (None, Some(team)) => Some(self.team_roles_of_actor(actor, team).await?.0.organization_id),
            (None, None) => None,
        };
        if let Some(org) = org {
            roles.extend(self.visible_custom_roles(actor, org).await?.into_iter().map(CatalogueRole::Custom));
        }
        roles.retain(|role| {
            query.category.is_none_or(|category| role.category() == category)
                && !query.exclude.contains(&role.id())
                && query.only.is_none_or(|only| role.id() == only)
        });
        Ok(roles)
    }

    /// `GET /users/roles/{id}`: a built-in role, or a custom role of an organization the actor belongs to.
    pub async fn catalogue_role(&self, actor: &Actor, id: i64) -> AppResult<CatalogueRole> {
        if let Some(role) = OrgRole::by_id(id) {
            return Ok(CatalogueRole::Organization(role));
        }
        if let Some(role) = TeamRole::by_id(id) {
            return Ok(CatalogueRole::Team(role));
        }
        let not_found = || AppError::not_found("The role does not exist.");
        let role = self.store.custom_role(id).await?.ok_or_else(not_found)?;
        self.check_organization_permission(actor, role.organization_id, Permission::OrganizationView)
            .await
            .map_err(|_| not_found())?;
        Ok(CatalogueRole::Custom(role))
    }

    // Custom roles: an organization's owners and admins manage them.

    pub async fn create_custom_role(&self, actor: &Actor, request: CustomRoleRequest) -> AppResult<CustomRole> {
        self.check_organization_permission(actor, request.organization, Permission::OrganizationRolesManage).await?;
        let new = NewCustomRole {
            organization_id: request.organization,
            name: parse_role_name(&request.name)?,
            category: request.category,
            description: request.description.map(|text| text.trim().to_string()).filter(|text| !text.is_empty()),
            permissions: check_custom_permissions(request.category, &request.permissions)?,
        };
        let role = self.store.create_custom_role(&new, self.clock.now()).await?;
        let details = AuditDetails::new().target(role.id).name(&role.name);
        self.audit(AuditKind::CustomRoleCreated, Some(actor), Some(role.organization_id), details).await;
        Ok(role)
    }

    /// A custom role of the organization named, for those who manage its roles. A role of another
    /// organization is "not found", whatever the actor holds there.
    async fn managed_custom_role(&self, actor: &Actor, organization: OrganizationId, id: i64) -> AppResult<CustomRole> {
        self.check_organization_permission(actor, organization, Permission::OrganizationRolesManage).await?;
        self.store
            .custom_role(id)
            .await?
            .filter(|role| role.organization_id == organization)
            .ok_or_else(|| AppError::not_found("The custom role does not exist in this organization."))
    }

    pub async fn update_custom_role(
        &self,
        actor: &Actor,
        organization: OrganizationId,
        id: i64,
        changes: CustomRoleChanges,
    ) -> AppResult<CustomRole> {
        let mut role = self.managed_custom_role(actor, organization, id).await?;
        if let Some(name) = &changes.name {
            role.name = parse_role_name(name)?;
        }
        if let Some(description) = changes.description {
            role.description = description.map(|text| text.trim().to_string()).filter(|text| !text.is_empty());
        }
        if let Some(permissions) = &changes.permissions {
            role.permissions = check_custom_permissions(role.category, permissions)?;
        }
        self.store.update_custom_role(&role).await?;
        let details = AuditDetails::new().target(role.id).name(&role.name);
        self.audit(AuditKind::CustomRoleUpdated, Some(actor), Some(organization), details).await;
        Ok(role)
    }

    pub async fn delete_custom_role(&self, actor: &Actor, organization: OrganizationId, id: i64) -> AppResult<i64> {
        let role = self.managed_custom_role(actor, organization, id).await?;
        self.store.delete_custom_role(role.id).await?;
        let details = AuditDetails::new().target(role.id).name(&role.name);
        self.audit(AuditKind::CustomRoleDeleted, Some(actor), Some(organization), details).await;
        Ok(role.id)
    }

    // Who holds which role where.

    /// Whether the actor may see the user's memberships in this organization: their own always, others'
    /// with `organization:members:view`.
    async fn may_see_members(&self, actor: &Actor, org: OrganizationId, user: UserId) -> AppResult<bool> {
        let Some(role) = self.reachable_role(actor, org).await? else { return Ok(false) };
        Ok(user == actor.user_id || role.grants(Permission::OrganizationMembersView))
    }

    /// `GET /users/{userId}/user-organization-roles`: the user's organization roles the actor may see.
    pub async fn user_organization_roles(&self, actor: &Actor, user: UserId) -> AppResult<Vec<OrganizationRoleHeld>> {
        let mut held = Vec::new();
        for (org, role) in self.store.organization_roles_of_user(user).await? {
            if self.may_see_members(actor, org, user).await? {
                held.push(OrganizationRoleHeld { user_id: user, organization_id: org, role });
            }
        }
        Ok(held)
    }

    /// One user's role in one organization.
    pub async fn user_organization_role(&self, actor: &Actor, user: UserId, org: OrganizationId) -> AppResult<OrganizationRoleHeld> {
        let not_found = || AppError::not_found("The user is not a member of this organization.");
        if !self.may_see_members(actor, org, user).await? {
            return Err(AppError::not_found("The organization does not exist."));
        }
        let role = self.store.organization_role(org, user).await?.ok_or_else(not_found)?;
        Ok(OrganizationRoleHeld { user_id: user, organization_id: org, role })
    }

    /// `GET /organizations/{id}/user-organization-roles`: every member's role.
    pub async fn organization_roles(&self, actor: &Actor, org: OrganizationId, page: Page) -> AppResult<Vec<OrganizationRoleHeld>> {
        self.check_organization_permission(actor, org, Permission::OrganizationMembersView).await?;
        let (org, _) = self.membership(actor, org).await?;
        let members = self.store.organization_members(org.id, page).await?;
        Ok(members
            .into_iter()
            .map(|member| OrganizationRoleHeld { user_id: member.user.id, organization_id: org.id, role: member.role })
            .collect())
    }

    /// `GET /users?organizationId=`: the organization's users with their roles.
    pub async fn organization_users(&self, actor: &Actor, org: OrganizationId, page: Page) -> AppResult<Vec<(User, OrgRole)>> {
        self.check_organization_permission(actor, org, Permission::OrganizationMembersView).await?;
        let (org, _) = self.membership(actor, org).await?;
        Ok(self.store.organization_members(org.id, page).await?.into_iter().map(|member| (member.user, member.role)).collect())
    }

    /// Sets a member's organization role (Make: `POST /users/{userId}/user-organization-roles/{organizationId}`).
    /// Needs `organization:members:manage`; the owner role is given only by a transfer, and an owner's role
    /// is changed only by an owner. The last owner is never demoted.
    pub async fn set_user_organization_role(
        &self,
        actor: &Actor,
        user: UserId,
        org: OrganizationId,
        role: OrgRole,
    ) -> AppResult<OrganizationRoleHeld> {
        let (org, actor_role) = self.membership(actor, org).await?;
        if !actor_role.grants(Permission::OrganizationMembersManage) {
            return Err(lacks(Permission::OrganizationMembersManage));
        }
        let before = self.store.organization_role(org.id, user).await?;
        let Some(before) = before else {
            return Err(AppError::not_found("The user is not a member of this organization: invite them first."));
        };
        if role == OrgRole::Owner && before != OrgRole::Owner {
            return Err(AppError::forbidden("The owner role is given by transferring the ownership (POST /organizations/{id}/user-organization-roles/transfer)."));
        }
        if before == OrgRole::Owner && actor_role != OrgRole::Owner {
            return Err(AppError::forbidden("Only an owner can change an owner's role."));
        }
        if self.store.set_organization_role(org.id, user, role).await? == RoleAssignment::LastOwner {
            return Err(last_owner(org.id));
        }
        // A role carries permissions that cached answers do not hold, but every check reads the role from
        // the store, so nothing cached goes stale.
        self.record_role_change(Some(actor), org.id, user, Some(before), Some(role)).await;
        Ok(OrganizationRoleHeld { user_id: user, organization_id: org.id, role })
    }

    /// Removes a user from an organization and its teams: the actor themself (leaving), or a member with
    /// `organization:members:manage` (an owner only by an owner). The last owner stays. The OAuth consents
    /// given for this organization end with the membership, on every node.
    pub async fn remove_from_organization(&self, actor: &Actor, user: UserId, org: OrganizationId) -> AppResult<()> {
        let (org, actor_role) = self.membership(actor, org).await?;
        let target_role = self
            .store
            .organization_role(org.id, user)
            .await?
            .ok_or_else(|| AppError::not_found("The user is not a member of this organization."))?;
        if user != actor.user_id {
            if !actor_role.grants(Permission::OrganizationMembersManage) {
                return Err(lacks(Permission::OrganizationMembersManage));
            }
            if target_role == OrgRole::Owner && actor_role != OrgRole::Owner {
                return Err(AppError::forbidden("Only an owner can remove an owner."));
            }
        }
        match self.store.remove_organization_member(org.id, user, self.clock.now()).await? {
            MemberRemoval::Removed { revoked_grants } => {
                if !revoked_grants.is_empty() {
                    self.apply(&[Invalidation::OAuth]);
                }
                self.record_role_change(Some(actor), org.id, user, Some(target_role), None).await;
                Ok(())
            }
            MemberRemoval::NotAMember => Err(AppError::not_found("The user is not a member of this organization.")),
            MemberRemoval::LastOwner => Err(last_owner(org.id)),
        }
    }

    /// Makes another member an owner; the actor, an owner, becomes an admin (Make's transfer).
    pub async fn transfer_ownership(&self, actor: &Actor, org: OrganizationId, to: UserId) -> AppResult<()> {
        let (org, actor_role) = self.membership(actor, org).await?;
        if !actor_role.grants(Permission::OrganizationOwnershipTransfer) {
            return Err(lacks(Permission::OrganizationOwnershipTransfer));
        }
        match self.store.transfer_ownership(org.id, actor.user_id, to).await? {
            OwnershipTransfer::Transferred => {
                let details = AuditDetails::new().target(to.0).user(to).role_change(Some(actor_role), Some(OrgRole::Owner));
                self.audit(AuditKind::OwnershipTransferred, Some(actor), Some(org.id), details).await;
                Ok(())
            }
            OwnershipTransfer::NotAnOwner => Err(lacks(Permission::OrganizationOwnershipTransfer)),
            OwnershipTransfer::NotAMember => Err(AppError::not_found("The new owner must be a member of the organization.")),
        }
    }

    // Teams.

    /// `GET /users/{userId}/user-team-roles`: the user's team roles the actor may see.
    pub async fn user_team_roles(&self, actor: &Actor, user: UserId) -> AppResult<Vec<TeamRoleHeld>> {
        let mut held = Vec::new();
        for (team, org, role) in self.store.team_roles_of_user(user).await? {
            if self.may_see_members(actor, org, user).await? {
                held.push(TeamRoleHeld { user_id: user, team_id: team, organization_id: org, role });
            }
        }
        Ok(held)
    }

    pub async fn user_team_role(&self, actor: &Actor, user: UserId, team: TeamId) -> AppResult<TeamRoleHeld> {
        let (team, _, _) = self.team_roles_of_actor(actor, team).await?;
        if user != actor.user_id {
            self.check_team_permission(actor, team.id, Permission::TeamMembersView).await?;
        }
        let role = self
            .store
            .team_role(team.id, user)
            .await?
            .ok_or_else(|| AppError::not_found("The user is not a member of this team."))?;
        Ok(TeamRoleHeld { user_id: user, team_id: team.id, organization_id: team.organization_id, role })
    }

    /// `GET /teams/{id}/user-team-roles` and `GET /users?teamId=`: the team's users with their roles.
    pub async fn team_users(&self, actor: &Actor, team: TeamId, page: Page) -> AppResult<Vec<(User, TeamRole)>> {
        self.check_team_permission(actor, team, Permission::TeamMembersView).await?;
        let (team, _) = self.visible_team(actor, team).await?;
        Ok(self.store.team_members_with_roles(team.id, page).await?)
    }

    /// Adds a member of the team's organization to the team with a role, or changes their role
    /// (`team:members:manage`).
    pub async fn set_user_team_role(&self, actor: &Actor, user: UserId, team: TeamId, role: TeamRole) -> AppResult<TeamRoleHeld> {
        self.check_team_permission(actor, team, Permission::TeamMembersManage).await?;
        let (team, _) = self.visible_team(actor, team).await?;
        if self.store.organization_role(team.organization_id, user).await?.is_none() {
            return Err(AppError::not_found("The user is not a member of the team's organization: invite them first."));
        }
        let before = self.store.team_role(team.id, user).await?;
        self.store.set_team_role(team.id, user, role).await?;
        if before != Some(role) {
            let details = AuditDetails::new().target(team.id).name(&team.name).user(user).team_role_change(before, Some(role));
            self.audit(AuditKind::TeamRoleChanged, Some(actor), Some(team.organization_id), details).await;
        }
        Ok(TeamRoleHeld { user_id: user, team_id: team.id, organization_id: team.organization_id, role })
    }

    /// Removes a user from a team: the actor themself (leaving), or with `team:members:manage`.
    pub async fn remove_from_team(&self, actor: &Actor, user: UserId, team: TeamId) -> AppResult<()> {
        if user != actor.user_id {
            self.check_team_permission(actor, team, Permission::TeamMembersManage).await?;
        }
        let (team, _) = self.visible_team(actor, team).await?;
        let before = self.store.team_role(team.id, user).await?;
        if !self.store.remove_team_member(team.id, user).await? {
            return Err(AppError::not_found("The user is not a member of this team."));
        }
        let details = AuditDetails::new().target(team.id).name(&team.name).user(user).team_role_change(before, None);
        self.audit(AuditKind::TeamRoleChanged, Some(actor), Some(team.organization_id), details).await;
        Ok(())
    }

    // Invitations.

    /// Invites an email to the organization with a role (`organization:members:manage`). The invitee
    /// accepts it signed in with that email. No message is sent here: a mailer would be called where
    /// `invitation_created` is recorded (see `docs/compatibility.md`).
    pub async fn invite_to_organization(&self, actor: &Actor, org: OrganizationId, email: &str, role: OrgRole) -> AppResult<Invitation> {
        let (org, actor_role) = self.membership(actor, org).await?;
        if !actor_role.grants(Permission::OrganizationMembersManage) {
            return Err(lacks(Permission::OrganizationMembersManage));
        }
        if role == OrgRole::Owner {
            return Err(AppError::invalid("Invite with another role; the owner role is given by transferring the ownership."));
        }
        let email = Email::parse(email)?;
        if let Some(user) = self.store.user_by_email(&email).await?
            && self.store.organization_role(org.id, user.id).await?.is_some()
        {
            return Err(AppError::Conflict(format!("{} is already a member of this organization.", email.as_str())));
        }
        let invitation = self.store.create_invitation(org.id, &email, role, Some(actor.user_id), self.clock.now()).await?;
        let details = AuditDetails::new().target(invitation.id).email(&email).role_change(None, Some(role));
        self.audit(AuditKind::InvitationCreated, Some(actor), Some(org.id), details).await;
        Ok(invitation)
    }

    /// The organization's pending invitations (`organization:members:view`).
    pub async fn organization_invitations(&self, actor: &Actor, org: OrganizationId) -> AppResult<Vec<Invitation>> {
        self.check_organization_permission(actor, org, Permission::OrganizationMembersView).await?;
        Ok(self.store.invitations_of_organization(org).await?)
    }

    /// The invitations waiting for the actor's email, with their organizations.
    pub async fn my_invitations(&self, actor: &Actor) -> AppResult<Vec<(Invitation, Organization)>> {
        let user = self.signed_in_user(actor).await?;
        let mut pending = Vec::new();
        for invitation in self.store.invitations_for_email(&user.email).await? {
            if let Some(org) = self.store.organization(invitation.organization_id).await? {
                pending.push((invitation, org));
            }
        }
        Ok(pending)
    }

    /// Accepts the invitation to the organization addressed to the actor's email: they join with its role.
    /// An OAuth grant limited to another organization cannot accept (it would reach beyond its consent).
    pub async fn accept_invitation(&self, actor: &Actor, org: OrganizationId) -> AppResult<OrganizationRoleHeld> {
        let not_found = || AppError::not_found("No invitation to this organization is waiting for your email.");
        if !actor.reaches_organization(org) && actor.organizations != crate::actor::OrganizationLimit::Nothing {
            return Err(not_found());
        }
        let user = self.signed_in_user(actor).await?;
        let invitation = self
            .store
            .invitations_for_email(&user.email)
            .await?
            .into_iter()
            .find(|invitation| invitation.organization_id == org)
            .ok_or_else(not_found)?;
        match self.store.accept_invitation(invitation.id, user.id).await? {
            InvitationAcceptance::Joined { role, was_member } => {
                if !was_member {
                    self.record_role_change(Some(actor), org, user.id, None, Some(role)).await;
                }
                Ok(OrganizationRoleHeld { user_id: user.id, organization_id: org, role })
            }
            InvitationAcceptance::NoSuchInvitation => Err(not_found()),
        }
    }

    /// Declines (the invitee) or withdraws (`organization:members:manage`) an invitation.
    pub async fn delete_invitation(&self, actor: &Actor, org: OrganizationId, id: i64) -> AppResult<()> {
        let not_found = || AppError::not_found("The invitation does not exist.");
        let invitation = self.store.invitation(id).await?.filter(|invitation| invitation.organization_id == org).ok_or_else(not_found)?;
        let user = self.signed_in_user(actor).await?;
        if invitation.email != user.email {
            self.check_organization_permission(actor, org, Permission::OrganizationMembersManage).await?;
        }
        self.store.delete_invitation(invitation.id).await?;
        Ok(())
    }

    async fn signed_in_user(&self, actor: &Actor) -> AppResult<User> {
        self.store
            .user_by_id(actor.user_id)
            .await?
            .ok_or_else(|| AppError::Unauthenticated("The credential's user no longer exists.".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::OrganizationLimit;
    use crate::directory::OrganizationRequest;
    use crate::testing::TestApp;

    async fn organization(app: &TestApp, owner: &User) -> OrganizationId {
        app.create_organization_for(owner.id, OrganizationRequest { name: "Acme".into(), ..Default::default() }).await.unwrap().id
    }

    #[tokio::test]
    async fn a_team_member_cannot_change_the_team_and_the_owner_can() {
        let app = TestApp::new().await;
        let ada = app.user("ada@example.com", false).await;
        let bob = app.user("bob@example.com", false).await;
        let org = organization(&app, &ada).await;
        let team = app.create_team_in(org, "Ops").await.unwrap();
        app.add_team_member(team.id, bob.id).await.unwrap();
        let bob_actor = Actor::operator(&bob);
        let refused = app.check_team_permission(&bob_actor, team.id, Permission::TeamMembersManage).await;
        assert!(matches!(refused, Err(AppError::Forbidden(_))), "{refused:?}");
        assert!(app.check_team_permission(&bob_actor, team.id, Permission::TeamView).await.is_ok());
        app.check_team_permission(&Actor::operator(&ada), team.id, Permission::TeamDelete).await.unwrap();
        // Made a team admin, Bob manages its members but still cannot delete it.
        app.set_user_team_role(&Actor::operator(&ada), bob.id, team.id, TeamRole::Admin).await.unwrap();
        app.check_team_permission(&bob_actor, team.id, Permission::TeamMembersManage).await.unwrap();
        assert!(app.check_team_permission(&bob_actor, team.id, Permission::TeamDelete).await.is_err());
    }

    #[tokio::test]
    async fn a_grant_limited_to_one_organization_sees_no_other() {
        let app = TestApp::new().await;
        let ada = app.user("ada@example.com", false).await;
        let first = organization(&app, &ada).await;
        let second = organization(&app, &ada).await;
        let mut actor = Actor::operator(&ada);
        actor.organizations = OrganizationLimit::Only(first);
        app.check_organization_permission(&actor, first, Permission::OrganizationUpdate).await.unwrap();
        let refused = app.check_organization_permission(&actor, second, Permission::OrganizationView).await;
        assert!(matches!(refused, Err(AppError::NotFound(_))));
        let held = app.user_organization_roles(&actor, ada.id).await.unwrap();
        assert_eq!(held.iter().map(|held| held.organization_id).collect::<Vec<_>>(), vec![first]);
    }

    #[tokio::test]
    async fn the_last_owner_is_never_demoted_and_ownership_moves_by_transfer() {
        let app = TestApp::new().await;
        let ada = app.user("ada@example.com", false).await;
        let bob = app.user("bob@example.com", false).await;
        let org = organization(&app, &ada).await;
        let ada_actor = Actor::operator(&ada);
        assert!(matches!(app.set_organization_role(org, ada.id, OrgRole::Member).await, Err(AppError::Conflict(_))));
        assert!(matches!(app.set_user_organization_role(&ada_actor, ada.id, org, OrgRole::Admin).await, Err(AppError::Conflict(_))));
        assert!(matches!(app.remove_from_organization(&ada_actor, ada.id, org).await, Err(AppError::Conflict(_))));
        app.set_organization_role(org, bob.id, OrgRole::Member).await.unwrap();
        assert!(matches!(app.set_user_organization_role(&ada_actor, bob.id, org, OrgRole::Owner).await, Err(AppError::Forbidden(_))));
        app.transfer_ownership(&ada_actor, org, bob.id).await.unwrap();
        assert_eq!(app.store.organization_role(org, bob.id).await.unwrap(), Some(OrgRole::Owner));
        assert_eq!(app.store.organization_role(org, ada.id).await.unwrap(), Some(OrgRole::Admin));
        // Ada may leave now that Bob owns it.
        app.remove_from_organization(&ada_actor, ada.id, org).await.unwrap();
    }

    #[tokio::test]
    async fn an_invitation_is_accepted_by_the_invited_email_only() {
        let app = TestApp::new().await;
        let ada = app.user("ada@example.com", false).await;
        let bob = app.user("bob@example.com", false).await;
        let eve = app.user("eve@example.com", false).await;
        let org = organization(&app, &ada).await;
        app.invite_to_organization(&Actor::operator(&ada), org, "BOB@example.com", OrgRole::Accountant).await.unwrap();
        assert!(app.accept_invitation(&Actor::operator(&eve), org).await.is_err());
        assert_eq!(app.my_invitations(&Actor::operator(&bob)).await.unwrap().len(), 1);
        let held = app.accept_invitation(&Actor::operator(&bob), org).await.unwrap();
        assert_eq!(held.role, OrgRole::Accountant);
        assert!(app.my_invitations(&Actor::operator(&bob)).await.unwrap().is_empty());
        assert!(app.accept_invitation(&Actor::operator(&bob), org).await.is_err(), "used once");
    }

    #[tokio::test]
    async fn custom_roles_belong_to_one_organization() {
        let app = TestApp::new().await;
        let ada = app.user("ada@example.com", false).await;
        let bob = app.user("bob@example.com", false).await;
        let acme = organization(&app, &ada).await;
        let bobco = organization(&app, &bob).await;
        let request = CustomRoleRequest {
            organization: acme,
            name: "Viewer".into(),
            category: RoleCategory::Team,
            description: None,
            permissions: vec![201, 206],
        };
        let role = app.create_custom_role(&Actor::operator(&ada), request).await.unwrap();
        assert!(role.id > gatehouse_domain::roles::CUSTOM_ROLE_ID_BASE);
        let listed = app.role_catalogue(&Actor::operator(&ada), RoleQuery { organization: Some(acme), ..Default::default() }).await.unwrap();
        assert!(listed.iter().any(|entry| entry.id() == role.id));
        assert!(app.catalogue_role(&Actor::operator(&bob), role.id).await.is_err(), "another organization's role");
        assert!(app.delete_custom_role(&Actor::operator(&bob), bobco, role.id).await.is_err());
        assert_eq!(app.delete_custom_role(&Actor::operator(&ada), acme, role.id).await.unwrap(), role.id);
    }
}
