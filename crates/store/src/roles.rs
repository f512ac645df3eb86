//! Who holds which role where: team roles, a user's roles across organizations and teams, custom roles,
//! invitations and ownership transfer. Built-in roles are code (`gatehouse_domain::roles`), not rows.

use async_trait::async_trait;
use gatehouse_domain::ids::{OrganizationId, TeamId};
use gatehouse_domain::roles::{CUSTOM_ROLE_ID_BASE, CustomRole, Invitation, Permission, RoleCategory};
use gatehouse_domain::{Email, OrgRole, Page, TeamRole, Timestamp, User, UserId};

use crate::backend::{Backend, Row, is_unique_violation, query};
use crate::error::{StoreError, StoreResult};
use crate::organizations::owner_count_if_owner;
use crate::schema::{CUSTOM_ROLES, ORGANIZATION_INVITATIONS, USERS};
use crate::sql_store::SqlStore;
use crate::users::user_from_row;

/// A custom role as asked for.
#[derive(Debug, Clone)]
pub struct NewCustomRole {
    pub organization_id: OrganizationId,
    pub name: String,
    pub category: RoleCategory,
    pub description: Option<String>,
    pub permissions: Vec<Permission>,
}

/// What accepting an invitation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationAcceptance {
    /// The user joined with the invitation's role (or kept a role they already had).
    Joined { role: OrgRole, was_member: bool },
    NoSuchInvitation,
}

/// What an ownership transfer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnershipTransfer {
    /// `to` is an owner; `from` is an admin now.
    Transferred,
    /// `from` is not an owner of the organization.
    NotAnOwner,
    /// `to` is not a member of the organization.
    NotAMember,
}

#[async_trait]
pub trait RoleRepository: Send + Sync {
    async fn team_role(&self, team: TeamId, user: UserId) -> StoreResult<Option<TeamRole>>;
    /// Adds the user to the team with the role, or changes their role in it.
    async fn set_team_role(&self, team: TeamId, user: UserId, role: TeamRole) -> StoreResult<()>;
    /// The user's role in every organization they belong to, by organization id.
    async fn organization_roles_of_user(&self, user: UserId) -> StoreResult<Vec<(OrganizationId, OrgRole)>>;
    /// The user's role in every team they belong to, with the team's organization, by team id.
    async fn team_roles_of_user(&self, user: UserId) -> StoreResult<Vec<(TeamId, OrganizationId, TeamRole)>>;
    /// A page of a team's users with their team roles, by user id.
    async fn team_members_with_roles(&self, team: TeamId, page: Page) -> StoreResult<Vec<(User, TeamRole)>>;
    /// The organizations the user is the only owner of: deleting the user would leave them ownerless.
    async fn organizations_solely_owned_by(&self, user: UserId) -> StoreResult<Vec<OrganizationId>>;
    /// Makes `to` an owner and `from` an admin, atomically.
    async fn transfer_ownership(&self, org: OrganizationId, from: UserId, to: UserId) -> StoreResult<OwnershipTransfer>;

    async fn create_custom_role(&self, role: &NewCustomRole, now: Timestamp) -> StoreResult<CustomRole>;
    /// A custom role by its public id.
    async fn custom_role(&self, id: i64) -> StoreResult<Option<CustomRole>>;
    async fn custom_roles_of_organization(&self, org: OrganizationId) -> StoreResult<Vec<CustomRole>>;
    async fn update_custom_role(&self, role: &CustomRole) -> StoreResult<bool>;
    async fn delete_custom_role(&self, id: i64) -> StoreResult<bool>;

    /// Invites the email to the organization with the role; inviting the same email again changes the role.
    async fn create_invitation(
        &self,
        org: OrganizationId,
        email: &Email,
        role: OrgRole,
        by: Option<UserId>,
        now: Timestamp,
    ) -> StoreResult<Invitation>;
    async fn invitations_for_email(&self, email: &Email) -> StoreResult<Vec<Invitation>>;
    async fn invitations_of_organization(&self, org: OrganizationId) -> StoreResult<Vec<Invitation>>;
    async fn invitation(&self, id: i64) -> StoreResult<Option<Invitation>>;
    async fn delete_invitation(&self, id: i64) -> StoreResult<bool>;
    /// Joins the user to the invitation's organization and deletes the invitation, in one transaction. A
    /// user who is already a member keeps their role.
    async fn accept_invitation(&self, id: i64, user: UserId) -> StoreResult<InvitationAcceptance>;
}

fn corrupt(error: gatehouse_domain::ValidationError) -> StoreError {
    StoreError::Corrupt(error.0)
}

fn custom_role_from_row<DB: Backend>(row: &Row<DB>) -> StoreResult<CustomRole> {
    let stored_id: i64 = row.get("id")?;
    let permissions: String = row.get("permissions")?;
    let permissions = permissions
        .split(',')
        .filter(|name| !name.is_empty())
        .map(|name| Permission::by_name(name).ok_or_else(|| StoreError::Corrupt(format!("unknown permission {name}"))))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(CustomRole {
        id: CUSTOM_ROLE_ID_BASE + stored_id,
        organization_id: row.get("organization_id")?,
        name: row.get("name")?,
        category: RoleCategory::parse(&row.get::<String>("category")?).map_err(corrupt)?,
        description: row.get("description")?,
        permissions,
        created: row.get("created")?,
    })
}

fn invitation_from_row<DB: Backend>(row: &Row<DB>) -> StoreResult<Invitation> {
    Ok(Invitation {
        id: row.get("id")?,
        organization_id: row.get("organization_id")?,
        email: Email::from_stored(row.get("email")?),
        role: OrgRole::parse(&row.get::<String>("role")?).map_err(corrupt)?,
        invited_by: row.get("invited_by")?,
        created: row.get("created")?,
    })
}

fn permission_list(permissions: &[Permission]) -> String {
    permissions.iter().map(|permission| permission.name()).collect::<Vec<_>>().join(",")
}

/// The stored id behind a public custom role id; `None` for ids no custom role can have.
fn stored_custom_role_id(id: i64) -> Option<i64> {
    id.checked_sub(CUSTOM_ROLE_ID_BASE).filter(|stored| *stored > 0)
}

#[async_trait]
impl<DB: Backend> RoleRepository for SqlStore<DB> {
    async fn team_role(&self, team: TeamId, user: UserId) -> StoreResult<Option<TeamRole>> {
        let row = query("SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2")
            .bind(team)
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| TeamRole::parse(&row.get::<String>("role")?).map_err(corrupt)).transpose()
    }

    async fn set_team_role(&self, team: TeamId, user: UserId, role: TeamRole) -> StoreResult<()> {
        query(
            "INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3)
             ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(team)
        .bind(user)
        .bind(role.as_str())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn organization_roles_of_user(&self, user: UserId) -> StoreResult<Vec<(OrganizationId, OrgRole)>> {
        let rows = query("SELECT organization_id, role FROM organization_members WHERE user_id = $1 ORDER BY organization_id")
            .bind(user)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((row.get("organization_id")?, OrgRole::parse(&row.get::<String>("role")?).map_err(corrupt)?)))
            .collect()
    }

    async fn team_roles_of_user(&self, user: UserId) -> StoreResult<Vec<(TeamId, OrganizationId, TeamRole)>> {
        let rows = query(
            "SELECT m.team_id, t.organization_id, m.role FROM team_members m JOIN teams t ON t.id = m.team_id
             WHERE m.user_id = $1 ORDER BY m.team_id",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((row.get("team_id")?, row.get("organization_id")?, TeamRole::parse(&row.get::<String>("role")?).map_err(corrupt)?))
            })
            .collect()
    }

    async fn team_members_with_roles(&self, team: TeamId, page: Page) -> StoreResult<Vec<(User, TeamRole)>> {
        let sql = format!(
            "SELECT {}, t.role AS team_role FROM users u JOIN team_members t ON t.user_id = u.id
             WHERE t.team_id = $1 ORDER BY u.id ASC LIMIT {} OFFSET {}",
            USERS.column_list_of("u."),
            page.limit,
            page.offset
        );
        let rows = query(sql).bind(team).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| Ok((user_from_row(row)?, TeamRole::parse(&row.get::<String>("team_role")?).map_err(corrupt)?)))
            .collect()
    }

    async fn organizations_solely_owned_by(&self, user: UserId) -> StoreResult<Vec<OrganizationId>> {
        let rows = query(
            "SELECT m.organization_id FROM organization_members m
             WHERE m.user_id = $1 AND m.role = $2
               AND (SELECT COUNT(*) FROM organization_members o WHERE o.organization_id = m.organization_id AND o.role = $2) = 1
             ORDER BY m.organization_id",
        )
        .bind(user)
        .bind(OrgRole::Owner.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| row.get("organization_id")).collect()
    }

    async fn transfer_ownership(&self, org: OrganizationId, from: UserId, to: UserId) -> StoreResult<OwnershipTransfer> {
        let mut tx = self.writer.begin().await?;
        query("UPDATE organizations SET id = id WHERE id = $1").bind(org).execute(&mut tx).await?;
        if owner_count_if_owner(&mut tx, org, from).await?.is_none() {
            return Ok(OwnershipTransfer::NotAnOwner);
        }
        let promoted = query("UPDATE organization_members SET role = $1 WHERE organization_id = $2 AND user_id = $3")
            .bind(OrgRole::Owner.as_str())
            .bind(org)
            .bind(to)
            .execute(&mut tx)
            .await?;
        if promoted == 0 {
            return Ok(OwnershipTransfer::NotAMember);
        }
        if from != to {
            query("UPDATE organization_members SET role = $1 WHERE organization_id = $2 AND user_id = $3")
                .bind(OrgRole::Admin.as_str())
                .bind(org)
                .bind(from)
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(OwnershipTransfer::Transferred)
    }

    async fn create_custom_role(&self, role: &NewCustomRole, now: Timestamp) -> StoreResult<CustomRole> {
        let sql = format!(
            "INSERT INTO custom_roles (organization_id, name, category, description, permissions, created)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {}",
            CUSTOM_ROLES.column_list()
        );
        let row = query(sql)
            .bind(role.organization_id)
            .bind(&role.name)
            .bind(role.category.as_str())
            .bind(&role.description)
            .bind(permission_list(&role.permissions))
            .bind(now)
            .fetch_one(&self.writer)
            .await?;
        custom_role_from_row(&row)
    }

    async fn custom_role(&self, id: i64) -> StoreResult<Option<CustomRole>> {
        let Some(stored) = stored_custom_role_id(id) else { return Ok(None) };
        let sql = format!("SELECT {} FROM custom_roles WHERE id = $1", CUSTOM_ROLES.column_list());
        let row = query(sql).bind(stored).fetch_optional(&self.pool).await?;
        row.as_ref().map(custom_role_from_row).transpose()
    }

    async fn custom_roles_of_organization(&self, org: OrganizationId) -> StoreResult<Vec<CustomRole>> {
        let sql = format!("SELECT {} FROM custom_roles WHERE organization_id = $1 ORDER BY id", CUSTOM_ROLES.column_list());
        let rows = query(sql).bind(org).fetch_all(&self.pool).await?;
        rows.iter().map(custom_role_from_row).collect()
    }

    async fn update_custom_role(&self, role: &CustomRole) -> StoreResult<bool> {
        let Some(stored) = stored_custom_role_id(role.id) else { return Ok(false) };
        let changed = query("UPDATE custom_roles SET name = $1, description = $2, permissions = $3 WHERE id = $4")
            .bind(&role.name)
            .bind(&role.description)
            .bind(permission_list(&role.permissions))
            .bind(stored)
            .execute(&self.writer)
            .await?;
        Ok(changed == 1)
    }

    async fn delete_custom_role(&self, id: i64) -> StoreResult<bool> {
        let Some(stored) = stored_custom_role_id(id) else { return Ok(false) };
        Ok(query("DELETE FROM custom_roles WHERE id = $1").bind(stored).execute(&self.writer).await? == 1)
    }

    async fn create_invitation(
        &self,
        org: OrganizationId,
        email: &Email,
        role: OrgRole,
        by: Option<UserId>,
        now: Timestamp,
    ) -> StoreResult<Invitation> {
        let sql = format!(
            "INSERT INTO organization_invitations (organization_id, email, role, invited_by, created) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (organization_id, email) DO UPDATE SET role = excluded.role, invited_by = excluded.invited_by
             RETURNING {}",
            ORGANIZATION_INVITATIONS.column_list()
        );
        let result = query(sql).bind(org).bind(email.as_str()).bind(role.as_str()).bind(by).bind(now).fetch_one(&self.writer).await;
        match result {
            Ok(row) => invitation_from_row(&row),
            Err(error) if is_unique_violation(&error) => Err(StoreError::Conflict("this email is already invited")),
            Err(error) => Err(error),
        }
    }

    async fn invitations_for_email(&self, email: &Email) -> StoreResult<Vec<Invitation>> {
        let sql = format!("SELECT {} FROM organization_invitations WHERE email = $1 ORDER BY id", ORGANIZATION_INVITATIONS.column_list());
        let rows = query(sql).bind(email.as_str()).fetch_all(&self.pool).await?;
        rows.iter().map(invitation_from_row).collect()
    }

    async fn invitations_of_organization(&self, org: OrganizationId) -> StoreResult<Vec<Invitation>> {
        let sql =
            format!("SELECT {} FROM organization_invitations WHERE organization_id = $1 ORDER BY id", ORGANIZATION_INVITATIONS.column_list());
        let rows = query(sql).bind(org).fetch_all(&self.pool).await?;
        rows.iter().map(invitation_from_row).collect()
    }

    async fn invitation(&self, id: i64) -> StoreResult<Option<Invitation>> {
        let sql = format!("SELECT {} FROM organization_invitations WHERE id = $1", ORGANIZATION_INVITATIONS.column_list());
        let row = query(sql).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(invitation_from_row).transpose()
    }

    async fn delete_invitation(&self, id: i64) -> StoreResult<bool> {
        Ok(query("DELETE FROM organization_invitations WHERE id = $1").bind(id).execute(&self.writer).await? == 1)
    }

    async fn accept_invitation(&self, id: i64, user: UserId) -> StoreResult<InvitationAcceptance> {
        let mut tx = self.writer.begin().await?;
        let sql = format!("SELECT {} FROM organization_invitations WHERE id = $1", ORGANIZATION_INVITATIONS.column_list());
        let Some(row) = query(sql).bind(id).fetch_optional(&mut tx).await? else {
            return Ok(InvitationAcceptance::NoSuchInvitation);
        };
        let invitation = invitation_from_row(&row)?;
        let existing = query("SELECT role FROM organization_members WHERE organization_id = $1 AND user_id = $2")
            .bind(invitation.organization_id)
            .bind(user)
            .fetch_optional(&mut tx)
            .await?;
        let acceptance = match existing {
            Some(row) => InvitationAcceptance::Joined {
                role: OrgRole::parse(&row.get::<String>("role")?).map_err(corrupt)?,
                was_member: true,
            },
            None => {
                query("INSERT INTO organization_members (organization_id, user_id, role) VALUES ($1, $2, $3)")
                    .bind(invitation.organization_id)
                    .bind(user)
                    .bind(invitation.role.as_str())
                    .execute(&mut tx)
                    .await?;
                InvitationAcceptance::Joined { role: invitation.role, was_member: false }
            }
        };
        query("DELETE FROM organization_invitations WHERE id = $1").bind(id).execute(&mut tx).await?;
        tx.commit().await?;
        Ok(acceptance)
    }
}
