//! Users, organizations, teams and memberships. Outsiders are told an organization does not exist (Make
//! hides existence), and every request that reaches an organization's resources counts against its rate
//! limit here, where membership is checked.

use gatehouse_domain::catalogue;
use gatehouse_domain::identity::{DEFAULT_API_LIMIT, NewUser, parse_name};
use gatehouse_domain::password;
use gatehouse_domain::roles::{Permission, TeamRole, team_permission_granted};
use gatehouse_domain::{
    AuditDetails, AuditKind, Email, OrgRole, Organization, OrganizationId, Page, SortDir, SortKey, Team, TeamId, User, UserId,
};
use gatehouse_store::{MemberRemoval, NewOrganization, OrganizationMember, OrganizationOverview, RoleAssignment};

use crate::actor::{Actor, OrganizationLimit};
use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::invalidation::Invalidation;

/// Make's `license.apiLimit` bounds.
pub const API_LIMIT_RANGE: std::ops::RangeInclusive<i64> = 1..=1_000_000;

/// A new organization as asked for. The time zone and country may be given by name (`timezone`: an
/// IANA name, `country`: an ISO 3166-1 code) or by catalogue id (Make's `timezoneId`, `countryId`); an
/// id wins over a name.
#[derive(Debug, Clone, Default)]
pub struct OrganizationRequest {
    pub name: String,
    pub timezone: Option<String>,
    pub country: Option<String>,
    pub timezone_id: Option<i64>,
    pub country_id: Option<i64>,
    pub region_id: Option<i64>,
    pub api_limit: Option<i64>,
}

/// Changes to an organization; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct OrganizationChanges {
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub country: Option<String>,
    pub timezone_id: Option<i64>,
    pub country_id: Option<i64>,
    pub api_limit: Option<i64>,
}

/// The time zone a request names, by id or by name, checked against the catalogue.
fn chosen_timezone(id: Option<i64>, name: Option<&str>) -> AppResult<Option<String>> {
    Ok(match (id, name) {
        (Some(id), _) => Some(catalogue::timezone_by_id(id)?.code.to_string()),
        (None, Some(name)) => Some(catalogue::parse_timezone(name)?.code.to_string()),
        (None, None) => None,
    })
}

/// The country a request names, by id or by code, stored as its alpha-2 code.
fn chosen_country(id: Option<i64>, code: Option<&str>) -> AppResult<Option<String>> {
    Ok(match (id, code) {
        (Some(id), _) => Some(catalogue::country_by_id(id)?.alpha2.to_string()),
        (None, Some(code)) => Some(catalogue::parse_country(code)?.alpha2.to_string()),
        (None, None) => None,
    })
}

/// The refusal to leave an organization without an owner.
pub(crate) fn last_owner(org: OrganizationId) -> AppError {
    AppError::Conflict(format!(
        "The user is the only owner of organization {org}: make another member an owner first (transfer the ownership)."
    ))
}

fn check_api_limit(limit: i64) -> AppResult<i64> {
    if API_LIMIT_RANGE.contains(&limit) {
        Ok(limit)
    } else {
        Err(AppError::invalid("license.apiLimit must be from 1 to 1000000."))
    }
}

impl App {
    // Users.

    /// Creates a user; with a password, after the policy check and hashed with argon2id.
    pub async fn create_user(&self, name: &str, email: &str, password: Option<String>, admin: bool) -> AppResult<User> {
        let hash = match password {
            Some(password) => Some(self.hash_password(password).await?),
            None => None,
        };
        let new = NewUser::new(name, email, hash, admin)?;
        let user = self.store.create_user(&new, self.clock.now()).await?;
        let details = AuditDetails::new().target(user.id.0).user(user.id).email(&user.email).name(&user.name).admin(user.is_admin);
        self.audit(AuditKind::UserCreated, None, None, details).await;
        Ok(user)
    }

    pub async fn user(&self, id: UserId) -> AppResult<Option<User>> {
        Ok(self.store.user_by_id(id).await?)
    }

    pub async fn user_by_email(&self, email: &str) -> AppResult<User> {
        let email = Email::parse(email)?;
        self.store.user_by_email(&email).await?.ok_or_else(|| AppError::not_found(format!("No user has the email {}.", email.as_str())))
    }

    pub async fn list_users(&self, page: Page) -> AppResult<Vec<User>> {
        Ok(self.store.list_users(page).await?)
    }

    /// Deletes a user with everything they hold; their credentials stop working on every node.
    /// `by` is the administrator asking, who may not delete themselves (a platform never loses its last
    /// way in by accident); `None` is the operator at the command line.
    pub async fn delete_user(&self, id: UserId, by: Option<&Actor>) -> AppResult<()> {
        if by.is_some_and(|actor| actor.user_id == id) {
            return Err(AppError::invalid("Administrators cannot delete their own account here."));
        }
        // Read first: the log keeps who the user was, since their row is about to go.
        let user = self.store.user_by_id(id).await?;
        if let Some(user) = &user {
            self.refuse_if_sole_owner(user).await?;
        }
        if !self.store.delete_user(id, self.clock.now()).await? {
            return Err(AppError::not_found("The user does not exist."));
        }
        self.apply(&[Invalidation::User(id)]);
        let mut details = AuditDetails::new().target(id.0).user(id);
        if let Some(user) = &user {
            details = details.email(&user.email).name(&user.name);
        }
        self.audit(AuditKind::UserDeleted, by, None, details).await;
        Ok(())
    }

    // Organizations.

    /// The organizations the actor belongs to and reaches, a page of them. A credential limited to one
    /// organization sees that one alone, so its pages are never short.
    pub async fn organizations_of(&self, actor: &Actor, page: Page) -> AppResult<Vec<Organization>> {
        match actor.organizations {
            OrganizationLimit::Any => Ok(self.store.organizations_of_user(actor.user_id, page).await?),
            OrganizationLimit::Nothing => Ok(Vec::new()),
            OrganizationLimit::Only(id) => {
                if page.offset > 0 || page.limit == 0 || self.store.organization_role(id, actor.user_id).await?.is_none() {
                    return Ok(Vec::new());
                }
                Ok(self.store.organization(id).await?.into_iter().collect())
            }
        }
    }

    /// Every organization (administrators).
    pub async fn all_organizations(&self, page: Page) -> AppResult<Vec<Organization>> {
        Ok(self.store.list_organizations(page).await?)
    }

    /// The organization and the actor's role in it, counting the request against its rate limit.
    /// Outsiders get "not found", not "forbidden".
    pub async fn membership(&self, actor: &Actor, id: OrganizationId) -> AppResult<(Organization, OrgRole)> {
        let not_found = || AppError::not_found("The organization does not exist.");
        // An OAuth grant reaches only the organization chosen at consent; others look nonexistent.
        if !actor.reaches_organization(id) {
            return Err(not_found());
        }
        let role = self.store.organization_role(id, actor.user_id).await?.ok_or_else(not_found)?;
        let org = self.store.organization(id).await?.ok_or_else(not_found)?;
        self.count_organization_request(&org, self.clock.now()).await?;
        Ok((org, role))
    }

    /// The organization with its teams, for its members.
    pub async fn organization_detail(&self, actor: &Actor, id: OrganizationId) -> AppResult<(Organization, Vec<Team>)> {
        let (org, _) = self.membership(actor, id).await?;
        let page = Page { sort_by: SortKey::Id, sort_dir: SortDir::Asc, ..Page::default() };
        let teams = self.store.teams_of_organization(org.id, page).await?;
        Ok((org, teams))
    }

    /// Make: "Create organizations (admins only)". The creator owns it.
    pub async fn create_organization(&self, actor: &Actor, request: OrganizationRequest) -> AppResult<Organization> {
        if !actor.is_admin {
            return Err(AppError::forbidden("Only platform administrators can create organizations."));
        }
        if actor.organizations != OrganizationLimit::Any {
            return Err(AppError::forbidden("This OAuth grant is limited to one organization and cannot create others."));
        }
        self.create_organization_by(actor.user_id, request, Some(actor)).await
    }

    /// Creates an organization owned by `owner` (the operator's way, and first start).
    pub async fn create_organization_for(&self, owner: UserId, request: OrganizationRequest) -> AppResult<Organization> {
        self.create_organization_by(owner, request, None).await
    }

    async fn create_organization_by(&self, owner: UserId, request: OrganizationRequest, by: Option<&Actor>) -> AppResult<Organization> {
        let new = NewOrganization {
            name: parse_name(&request.name, "organization")?,
            zone: self.settings.zone.clone(),
            api_limit: check_api_limit(request.api_limit.unwrap_or(DEFAULT_API_LIMIT))?,
            timezone: chosen_timezone(request.timezone_id, request.timezone.as_deref())?.unwrap_or_else(|| "UTC".into()),
            country: chosen_country(request.country_id, request.country.as_deref())?,
            region_id: request.region_id.map(catalogue::region_by_id).transpose()?.map(|region| region.id),
        };
        let org = self.store.create_organization(&new, owner, self.clock.now()).await?;
        let details = AuditDetails::new().target(org.id).name(&org.name).user(owner).role_change(None, Some(OrgRole::Owner));
        self.audit(AuditKind::OrganizationCreated, by, Some(org.id), details).await;
        Ok(org)
    }

    /// Owners and admins change an organization; only platform administrators change its limit, as a
    /// plan is changed on make.com.
    pub async fn update_organization(&self, actor: &Actor, id: OrganizationId, changes: OrganizationChanges) -> AppResult<Organization> {
        let (mut org, role) = self.membership(actor, id).await?;
        if !role.grants(Permission::OrganizationUpdate) {
            return Err(AppError::forbidden("Only the organization's owners and admins can change it."));
        }
        if let Some(name) = changes.name {
            org.name = parse_name(&name, "organization")?;
        }
        if let Some(timezone) = chosen_timezone(changes.timezone_id, changes.timezone.as_deref())? {
            org.timezone = timezone;
        }
        if let Some(country) = chosen_country(changes.country_id, changes.country.as_deref())? {
            org.country = Some(country);
        }
        if let Some(limit) = changes.api_limit {
            if !actor.is_admin {
                return Err(AppError::forbidden("Only platform administrators can change license.apiLimit."));
            }
            org.api_limit = check_api_limit(limit)?;
        }
        self.store.update_organization(&org).await?;
        Ok(org)
    }

    /// The operator sets an organization's `license.apiLimit` (the CLI). It applies from the next request
    /// on every node, since each request reads the organization.
    pub async fn set_api_limit(&self, id: OrganizationId, limit: i64) -> AppResult<Organization> {
        let mut org = self.organization_by_id(id).await?;
        org.api_limit = check_api_limit(limit)?;
        self.store.update_organization(&org).await?;
        Ok(org)
    }

    /// Owners delete an organization with its teams and memberships.
    pub async fn delete_organization(&self, actor: &Actor, id: OrganizationId, confirmed: bool) -> AppResult<OrganizationId> {
        let (org, role) = self.membership(actor, id).await?;
        if !role.grants(Permission::OrganizationDelete) {
            return Err(AppError::forbidden("Only the organization's owners can delete it."));
        }
        if !confirmed {
            return Err(AppError::ConfirmationRequired("an organization"));
        }
        self.store.delete_organization(org.id).await?;
        self.audit(AuditKind::OrganizationDeleted, Some(actor), Some(org.id), AuditDetails::new().target(org.id).name(&org.name)).await;
        Ok(org.id)
    }

    /// Adds a member or changes a member's role (the operator's way).
    pub async fn set_organization_role(&self, org: OrganizationId, user: UserId, role: OrgRole) -> AppResult<()> {
        self.store.organization(org).await?.ok_or_else(|| AppError::not_found(format!("No organization has the id {org}.")))?;
        let before = self.store.organization_role(org, user).await?;
        if self.store.set_organization_role(org, user, role).await? == RoleAssignment::LastOwner {
            return Err(last_owner(org));
        }
        self.record_role_change(None, org, user, before, Some(role)).await;
        Ok(())
    }

    /// A membership's event: `member_added` when the user was not a member, `member_removed` when they no
    /// longer are, `organization_role_changed` otherwise; Make's `version` holds the roles before and
    /// after. Nothing is recorded when nothing changed. `by`: `None` is the operator at the command line.
    pub async fn record_role_change(
        &self,
        by: Option<&Actor>,
        org: OrganizationId,
        user: UserId,
        before: Option<OrgRole>,
        after: Option<OrgRole>,
    ) {
        let kind = match (before, after) {
            (None, None) => return,
            (before, after) if before == after => return,
            (None, Some(_)) => AuditKind::MemberAdded,
            (Some(_), None) => AuditKind::MemberRemoved,
            (Some(_), Some(_)) => AuditKind::OrganizationRoleChanged,
        };
        let details = AuditDetails::new().target(user.0).user(user).role_change(before, after);
        self.audit(kind, by, Some(org), details).await;
    }

    // Teams.

    pub async fn teams_of(&self, actor: &Actor, organization: OrganizationId, page: Page) -> AppResult<Vec<Team>> {
        let (org, _) = self.membership(actor, organization).await?;
        Ok(self.store.teams_of_organization(org.id, page).await?)
    }

    /// A team the actor can see, with their role in its organization.
    pub async fn visible_team(&self, actor: &Actor, id: TeamId) -> AppResult<(Team, OrgRole)> {
        let not_found = || AppError::not_found("The team does not exist.");
        let team = self.store.team(id).await?.ok_or_else(not_found)?;
        let (_, role) = self.membership(actor, team.organization_id).await.map_err(|error| match error {
            AppError::NotFound(_) => not_found(),
            other => other,
        })?;
        Ok((team, role))
    }

    /// Owners and admins create teams; the creator joins the team as its admin.
    pub async fn create_team(&self, actor: &Actor, organization: OrganizationId, name: &str) -> AppResult<Team> {
        let name = parse_name(name, "team")?;
        let (org, role) = self.membership(actor, organization).await?;
        if !role.grants(Permission::OrganizationTeamsCreate) {
            return Err(AppError::forbidden("Only the organization's owners and admins can create teams."));
        }
        let team = self.store.create_team(org.id, &name, self.clock.now()).await?;
        self.store.set_team_role(team.id, actor.user_id, TeamRole::Admin).await?;
        self.audit(AuditKind::TeamCreated, Some(actor), Some(org.id), AuditDetails::new().target(team.id).name(&team.name)).await;
        Ok(team)
    }

    /// Creates a team in an organization (the operator's way).
    pub async fn create_team_in(&self, organization: OrganizationId, name: &str) -> AppResult<Team> {
        let name = parse_name(name, "team")?;
        self.store
            .organization(organization)
            .await?
            .ok_or_else(|| AppError::not_found(format!("No organization has the id {organization}.")))?;
        let team = self.store.create_team(organization, &name, self.clock.now()).await?;
        self.audit(AuditKind::TeamCreated, None, Some(organization), AuditDetails::new().target(team.id).name(&team.name)).await;
        Ok(team)
    }

    pub async fn delete_team(&self, actor: &Actor, id: TeamId, confirmed: bool) -> AppResult<TeamId> {
        let (team, role) = self.visible_team(actor, id).await?;
        let team_role = self.store.team_role(team.id, actor.user_id).await?;
        if !team_permission_granted(Some(role), team_role, Permission::TeamDelete) {
            return Err(AppError::forbidden("Only the organization's owners and admins can delete teams."));
        }
        if !confirmed {
            return Err(AppError::ConfirmationRequired("a team"));
        }
        self.store.delete_team(team.id).await?;
        let details = AuditDetails::new().target(team.id).name(&team.name);
        self.audit(AuditKind::TeamDeleted, Some(actor), Some(team.organization_id), details).await;
        Ok(team.id)
    }

    /// Adds a user to a team as a team member, and to its organization as a member if they were not in it.
    pub async fn add_team_member(&self, team: TeamId, user: UserId) -> AppResult<()> {
        self.add_team_member_as(team, user, TeamRole::Member).await
    }

    /// Adds a user to a team with a team role, or changes their role (the operator's way); they join its
    /// organization as a member if they were not in it.
    pub async fn add_team_member_as(&self, team: TeamId, user: UserId, role: TeamRole) -> AppResult<()> {
        let team = self.store.team(team).await?.ok_or_else(|| AppError::not_found(format!("No team has the id {team}.")))?;
        if self.store.organization_role(team.organization_id, user).await?.is_none() {
            // Not a member, so not its last owner: the assignment cannot be refused.
            self.store.set_organization_role(team.organization_id, user, OrgRole::Member).await?;
            self.record_role_change(None, team.organization_id, user, None, Some(OrgRole::Member)).await;
        }
        Ok(self.store.set_team_role(team.id, user, role).await?)
    }
}

/// The operator's administration (the CLI): no actor, since whoever can open the store can do anything.
/// Every lookup that fails names what it looked for.
impl App {
    /// A new random password, as the first start generates one.
    pub fn generate_password(&self) -> String {
        password::generate(self.random.as_ref())
    }

    /// Sets a user's password (after the policy check) and ends every browser session they have, on
    /// every node: a reset is how an operator takes an account back.
    pub async fn reset_password(&self, id: UserId, new_password: String) -> AppResult<()> {
        let hash = self.hash_password(new_password).await?;
        if !self.store.set_password(id, &hash).await? {
            return Err(AppError::not_found(format!("No user has the id {}.", id.0)));
        }
        // What the old password opened ends with it: browser sessions went with the update, and OAuth
        // refresh tokens (with the access tokens issued from them) go here, on every node.
        self.store.revoke_user_families(id, self.clock.now()).await?;
        self.apply(&[Invalidation::User(id)]);
        self.audit(AuditKind::UserPasswordReset, None, None, AuditDetails::new().target(id.0).user(id)).await;
        Ok(())
    }

    /// Makes a user a platform administrator, or no longer one. Credentials verified with the old flag are
    /// dropped from every node's cache, so a revoked administrator's tokens lose the administration
    /// scopes at once, not after the cache's bound.
    pub async fn set_platform_admin(&self, id: UserId, is_admin: bool) -> AppResult<()> {
        if !self.store.set_admin(id, is_admin, self.clock.now()).await? {
            return Err(AppError::not_found(format!("No user has the id {}.", id.0)));
        }
        self.apply(&[Invalidation::User(id)]);
        self.audit(AuditKind::UserAdminChanged, None, None, AuditDetails::new().target(id.0).user(id).admin(is_admin)).await;
        Ok(())
    }

    /// A page of every organization, with its owners and member count.
    pub async fn organization_overviews(&self, page: Page) -> AppResult<Vec<OrganizationOverview>> {
        Ok(self.store.organization_overviews(page).await?)
    }

    pub async fn organization_by_id(&self, id: OrganizationId) -> AppResult<Organization> {
        self.store.organization(id).await?.ok_or_else(|| AppError::not_found(format!("No organization has the id {id}.")))
    }

    pub async fn team_by_id(&self, id: TeamId) -> AppResult<Team> {
        self.store.team(id).await?.ok_or_else(|| AppError::not_found(format!("No team has the id {id}.")))
    }

    /// A page of an organization's teams.
    pub async fn teams_in(&self, organization: OrganizationId, page: Page) -> AppResult<Vec<Team>> {
        let org = self.organization_by_id(organization).await?;
        Ok(self.store.teams_of_organization(org.id, page).await?)
    }

    pub async fn organization_members(&self, organization: OrganizationId, page: Page) -> AppResult<Vec<OrganizationMember>> {
        let org = self.organization_by_id(organization).await?;
        Ok(self.store.organization_members(org.id, page).await?)
    }

    pub async fn team_members(&self, team: TeamId, page: Page) -> AppResult<Vec<User>> {
        let team = self.team_by_id(team).await?;
        Ok(self.store.team_members(team.id, page).await?)
    }

    /// Deletes an organization with its teams and memberships. Its members' access ends with the rows:
    /// membership is read from the store on every request.
    pub async fn delete_organization_by_operator(&self, id: OrganizationId) -> AppResult<Organization> {
        let org = self.organization_by_id(id).await?;
        if !self.store.delete_organization(org.id).await? {
            return Err(AppError::not_found(format!("No organization has the id {id}.")));
        }
        self.audit(AuditKind::OrganizationDeleted, None, Some(org.id), AuditDetails::new().target(org.id).name(&org.name)).await;
        Ok(org)
    }

    /// Deletes a team with its memberships.
    pub async fn delete_team_by_operator(&self, id: TeamId) -> AppResult<Team> {
        let team = self.team_by_id(id).await?;
        if !self.store.delete_team(team.id).await? {
            return Err(AppError::not_found(format!("No team has the id {id}.")));
        }
        let details = AuditDetails::new().target(team.id).name(&team.name);
        self.audit(AuditKind::TeamDeleted, None, Some(team.organization_id), details).await;
        Ok(team)
    }

    /// Removes a user from an organization and its teams. What the membership allowed ends with it: API
    /// tokens reach an organization only while membership is stored (it is read on every request), and
    /// the OAuth consents given for this organization are revoked with their tokens, on every node. The
    /// last owner stays: an organization without one could be neither deleted nor given another owner by
    /// its members.
    pub async fn remove_organization_member(&self, organization: OrganizationId, user: &User) -> AppResult<()> {
        let org = self.organization_by_id(organization).await?;
        let before = self.store.organization_role(org.id, user.id).await?;
        match self.store.remove_organization_member(org.id, user.id, self.clock.now()).await? {
            MemberRemoval::Removed { revoked_grants } => {
                if !revoked_grants.is_empty() {
                    self.apply(&[Invalidation::OAuth]);
                }
                self.record_role_change(None, org.id, user.id, before, None).await;
                Ok(())
            }
            MemberRemoval::NotAMember => {
                Err(AppError::not_found(format!("{} is not a member of organization {}.", user.email.as_str(), org.id)))
            }
            MemberRemoval::LastOwner => Err(AppError::Conflict(format!(
                "{} is the only owner of organization {}: make another member an owner first.",
                user.email.as_str(),
                org.id
            ))),
        }
    }

    /// Removes a user from a team; they stay in its organization.
    pub async fn remove_team_member(&self, team: TeamId, user: &User) -> AppResult<()> {
        let team = self.team_by_id(team).await?;
        if !self.store.remove_team_member(team.id, user.id).await? {
            return Err(AppError::not_found(format!("{} is not a member of team {}.", user.email.as_str(), team.id)));
        }
        let details = AuditDetails::new().target(team.id).name(&team.name).user(user.id);
        self.audit(AuditKind::MemberRemoved, None, Some(team.organization_id), details).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestApp;

    #[tokio::test]
    async fn a_grant_limited_to_one_organization_lists_it_on_the_first_page_whatever_the_others() {
        let app = TestApp::new().await;
        let user = app.user("ada@example.com", true).await;
        let mut ids = Vec::new();
        for name in ["A", "B", "C"] {
            let org = app
                .create_organization_for(user.id, OrganizationRequest { name: name.into(), ..Default::default() })
                .await
                .unwrap();
            ids.push(org.id);
        }
        let mut actor = Actor::operator(&user);
        actor.organizations = OrganizationLimit::Only(ids[2]);
        let first = Page { limit: 1, ..Page::default() };
        let listed = app.organizations_of(&actor, first).await.unwrap();
        assert_eq!(listed.iter().map(|o| o.id).collect::<Vec<_>>(), vec![ids[2]], "not cut off by LIMIT before filtering");
        let second = Page { limit: 1, offset: 1, ..Page::default() };
        assert!(app.organizations_of(&actor, second).await.unwrap().is_empty());
    }
}
