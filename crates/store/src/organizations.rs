//! Organizations, their teams, and who belongs to which with what role.

use async_trait::async_trait;
use sqlx::Transaction;
use gatehouse_domain::ids::{GrantId, OrganizationId, TeamId};
use gatehouse_domain::revocation::Revoked;
use gatehouse_domain::{Email, OrgRole, Organization, Page, Team, Timestamp, User, UserId};

use crate::backend::{Backend, Row, query};
use crate::revocations::record_revocation;
use crate::schema::{ORGANIZATIONS, TEAMS, USERS};
use crate::users::user_from_row;
use crate::sql_store::page_clause;
use crate::sql_store::SqlStore;
use crate::error::StoreError;
use crate::error::StoreResult;

#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub name: String,
    pub zone: String,
    pub api_limit: i64,
    pub timezone: String,
    pub country: Option<String>,
    /// Make's `regionId`: kept as given at creation (docs/compatibility.md), not shown.
    pub region_id: Option<i64>,
}

/// What setting a member's organization role did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleAssignment {
    /// Set (the user was added, or their role changed or stayed).
    Set,
    /// Refused: the user is the organization's only owner, and the new role is not owner.
    LastOwner,
}

/// An organization as an operator lists it: with its owners and how many members it has.
#[derive(Debug, Clone)]
pub struct OrganizationOverview {
    pub organization: Organization,
    pub owners: Vec<Email>,
    pub member_count: i64,
}

/// A member of an organization, with their role in it.
#[derive(Debug, Clone)]
pub struct OrganizationMember {
    pub user: User,
    pub role: OrgRole,
}

/// What removing a member from an organization did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberRemoval {
    /// Removed, from the organization's teams too; these OAuth consents given for the organization were
    /// revoked with their token families.
    Removed { revoked_grants: Vec<GrantId> },
    NotAMember,
    /// Refused: the user is the organization's only owner, and an organization without an owner has nobody
    /// who may delete it or name another owner.
    LastOwner,
}

#[async_trait]
pub trait OrganizationRepository: Send + Sync {
    /// Creates the organization and makes `owner` its owner, atomically.
    async fn create_organization(&self, org: &NewOrganization, owner: UserId, now: Timestamp) -> StoreResult<Organization>;
    async fn organization(&self, id: OrganizationId) -> StoreResult<Option<Organization>>;
    async fn organizations_of_user(&self, user: UserId, page: Page) -> StoreResult<Vec<Organization>>;
    async fn list_organizations(&self, page: Page) -> StoreResult<Vec<Organization>>;
    async fn update_organization(&self, org: &Organization) -> StoreResult<bool>;
    /// Deletes the organization with its teams and memberships.
    async fn delete_organization(&self, id: OrganizationId) -> StoreResult<bool>;
    /// Adds the member or changes the member's role; never demotes the organization's last owner.
    async fn set_organization_role(&self, org: OrganizationId, user: UserId, role: OrgRole) -> StoreResult<RoleAssignment>;
    async fn organization_role(&self, org: OrganizationId, user: UserId) -> StoreResult<Option<OrgRole>>;

    async fn create_team(&self, org: OrganizationId, name: &str, now: Timestamp) -> StoreResult<Team>;
    async fn team(&self, id: TeamId) -> StoreResult<Option<Team>>;
    async fn teams_of_organization(&self, org: OrganizationId, page: Page) -> StoreResult<Vec<Team>>;
    async fn delete_team(&self, id: TeamId) -> StoreResult<bool>;
    async fn add_team_member(&self, team: TeamId, user: UserId) -> StoreResult<()>;

    /// A page of organizations with their owners and member counts.
    async fn organization_overviews(&self, page: Page) -> StoreResult<Vec<OrganizationOverview>>;
    /// The organization's members, oldest account first.
    async fn organization_members(&self, org: OrganizationId, page: Page) -> StoreResult<Vec<OrganizationMember>>;
    /// The team's members, oldest account first.
    async fn team_members(&self, team: TeamId, page: Page) -> StoreResult<Vec<User>>;
    /// Removes the user from the organization and its teams, and revokes the OAuth consents they gave for
    /// it (a consent names the organization its tokens reach), in one transaction that holds the
    /// organization's row, so that two removals at once cannot leave it without an owner.
    async fn remove_organization_member(&self, org: OrganizationId, user: UserId, now: Timestamp) -> StoreResult<MemberRemoval>;
    /// `false`: the user was not in the team.
    async fn remove_team_member(&self, team: TeamId, user: UserId) -> StoreResult<bool>;
}

fn org_from_row<DB: Backend>(row: &Row<DB>) -> StoreResult<Organization> {
    Ok(Organization {
        id: row.get("id")?,
        name: row.get("name")?,
        zone: row.get("zone")?,
        api_limit: row.get("api_limit")?,
        timezone: row.get("timezone")?,
        country: row.get("country")?,
        created: row.get("created")?,
    })
}

fn team_from_row<DB: Backend>(row: &Row<DB>) -> StoreResult<Team> {
    Ok(Team {
        id: row.get("id")?,
        name: row.get("name")?,
        organization_id: row.get("organization_id")?,
        created: row.get("created")?,
    })
}

/// How many owners the organization has, when `user` is one of them; `None` when they are not an owner.
pub(crate) async fn owner_count_if_owner<DB: Backend>(
    tx: &mut Transaction<'_, DB>,
    org: OrganizationId,
    user: UserId,
) -> StoreResult<Option<i64>> {
    let role = query("SELECT role FROM organization_members WHERE organization_id = $1 AND user_id = $2")
        .bind(org)
        .bind(user)
        .fetch_optional(&mut *tx)
        .await?;
    match role {
        Some(row) if row.get::<String>("role")? == OrgRole::Owner.as_str() => {
            let owners: i64 = query("SELECT COUNT(*) AS n FROM organization_members WHERE organization_id = $1 AND role = $2")
                .bind(org)
                .bind(OrgRole::Owner.as_str())
                .fetch_one(&mut *tx)
                .await?
                .get("n")?;
            Ok(Some(owners))
        }
        _ => Ok(None),
    }
}

#[async_trait]
impl<DB: Backend> OrganizationRepository for SqlStore<DB> {
    async fn create_organization(&self, org: &NewOrganization, owner: UserId, now: Timestamp) -> StoreResult<Organization> {
        let mut tx = self.writer.begin().await?;
        let sql = format!(
            "INSERT INTO organizations (name, zone, api_limit, timezone, country, created, region_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {}",
            ORGANIZATIONS.column_list()
        );
        let row = query(sql)
            .bind(&org.name)
            .bind(&org.zone)
            .bind(org.api_limit)
            .bind(&org.timezone)
            .bind(&org.country)
            .bind(now)
            .bind(org.region_id)
            .fetch_one(&mut tx)
            .await?;
        let created = org_from_row(&row)?;
        query("INSERT INTO organization_members (organization_id, user_id, role) VALUES ($1, $2, $3)")
            .bind(created.id)
            .bind(owner)
            .bind(OrgRole::Owner.as_str())
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn organization(&self, id: OrganizationId) -> StoreResult<Option<Organization>> {
        let sql = format!("SELECT {} FROM organizations WHERE id = $1", ORGANIZATIONS.column_list());
        let row = query(sql).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(org_from_row).transpose()
    }

    async fn organizations_of_user(&self, user: UserId, page: Page) -> StoreResult<Vec<Organization>> {
        let sql = format!(
            "SELECT {} FROM organizations o
             JOIN organization_members m ON m.organization_id = o.id
             WHERE m.user_id = $1{}",
            ORGANIZATIONS.column_list_of("o."),
            page_clause(page, "o.")
        );
        let rows = query(sql).bind(user).fetch_all(&self.pool).await?;
        rows.iter().map(org_from_row).collect()
    }

    async fn list_organizations(&self, page: Page) -> StoreResult<Vec<Organization>> {
        let sql = format!("SELECT {} FROM organizations{}", ORGANIZATIONS.column_list(), page_clause(page, ""));
        let rows = query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(org_from_row).collect()
    }

    async fn update_organization(&self, org: &Organization) -> StoreResult<bool> {
        let changed = query("UPDATE organizations SET name = $1, api_limit = $2, timezone = $3, country = $4 WHERE id = $5")
            .bind(&org.name)
            .bind(org.api_limit)
            .bind(&org.timezone)
            .bind(&org.country)
            .bind(org.id)
            .execute(&self.writer)
            .await?;
        Ok(changed == 1)
    }

    async fn delete_organization(&self, id: OrganizationId) -> StoreResult<bool> {
        // Foreign keys cascade to teams, team members and organization members.
        Ok(query("DELETE FROM organizations WHERE id = $1").bind(id).execute(&self.writer).await? == 1)
    }

    async fn set_organization_role(&self, org: OrganizationId, user: UserId, role: OrgRole) -> StoreResult<RoleAssignment> {
        let mut tx = self.writer.begin().await?;
        // The organization's row lock, as in `remove_organization_member`: changes to one organization's
        // owners take turns, so two demotions cannot each see the other's owner and leave none.
        query("UPDATE organizations SET id = id WHERE id = $1").bind(org).execute(&mut tx).await?;
        if role != OrgRole::Owner && owner_count_if_owner(&mut tx, org, user).await? == Some(1) {
            return Ok(RoleAssignment::LastOwner);
        }
        query(
            "INSERT INTO organization_members (organization_id, user_id, role) VALUES ($1, $2, $3)
             ON CONFLICT (organization_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(org)
        .bind(user)
        .bind(role.as_str())
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(RoleAssignment::Set)
    }

    async fn organization_role(&self, org: OrganizationId, user: UserId) -> StoreResult<Option<OrgRole>> {
        let row = query("SELECT role FROM organization_members WHERE organization_id = $1 AND user_id = $2")
            .bind(org)
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(OrgRole::parse(&row.get::<String>("role")?).map_err(|error| StoreError::Corrupt(error.0))?)),
            None => Ok(None),
        }
    }

    async fn create_team(&self, org: OrganizationId, name: &str, now: Timestamp) -> StoreResult<Team> {
        let sql =
            format!("INSERT INTO teams (name, organization_id, created) VALUES ($1, $2, $3) RETURNING {}", TEAMS.column_list());
        let row = query(sql).bind(name).bind(org).bind(now).fetch_one(&self.writer).await?;
        team_from_row(&row)
    }

    async fn team(&self, id: TeamId) -> StoreResult<Option<Team>> {
        let sql = format!("SELECT {} FROM teams WHERE id = $1", TEAMS.column_list());
        let row = query(sql).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(team_from_row).transpose()
    }

    async fn teams_of_organization(&self, org: OrganizationId, page: Page) -> StoreResult<Vec<Team>> {
        let sql = format!("SELECT {} FROM teams WHERE organization_id = $1{}", TEAMS.column_list(), page_clause(page, ""));
        let rows = query(sql).bind(org).fetch_all(&self.pool).await?;
        rows.iter().map(team_from_row).collect()
    }

    async fn delete_team(&self, id: TeamId) -> StoreResult<bool> {
        Ok(query("DELETE FROM teams WHERE id = $1").bind(id).execute(&self.writer).await? == 1)
    }

    async fn add_team_member(&self, team: TeamId, user: UserId) -> StoreResult<()> {
        query("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT (team_id, user_id) DO NOTHING")
            .bind(team)
            .bind(user)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
    async fn organization_overviews(&self, page: Page) -> StoreResult<Vec<OrganizationOverview>> {
        let sql = format!(
            "SELECT {}, (SELECT COUNT(*) FROM organization_members m WHERE m.organization_id = o.id) AS member_count
             FROM organizations o{}",
            ORGANIZATIONS.column_list_of("o."),
            page_clause(page, "o.")
        );
        let rows = query(sql).fetch_all(&self.pool).await?;
        let mut overviews = rows
            .iter()
            .map(|row| Ok(OrganizationOverview { organization: org_from_row(row)?, owners: Vec::new(), member_count: row.get("member_count")? }))
            .collect::<StoreResult<Vec<_>>>()?;
        // The owners of the same page, in one more query rather than one per organization.
        let owners_sql = format!(
            "SELECT m.organization_id, u.email FROM organization_members m JOIN users u ON u.id = m.user_id
             WHERE m.role = $1 AND m.organization_id IN (SELECT o.id FROM organizations o{})
             ORDER BY u.email",
            page_clause(page, "o.")
        );
        for row in query(owners_sql).bind(OrgRole::Owner.as_str()).fetch_all(&self.pool).await? {
            let org: OrganizationId = row.get("organization_id")?;
            if let Some(overview) = overviews.iter_mut().find(|overview| overview.organization.id == org) {
                overview.owners.push(Email::from_stored(row.get("email")?));
            }
        }
        Ok(overviews)
    }

    async fn organization_members(&self, org: OrganizationId, page: Page) -> StoreResult<Vec<OrganizationMember>> {
        let sql = format!(
            "SELECT {}, m.role AS member_role FROM users u JOIN organization_members m ON m.user_id = u.id
             WHERE m.organization_id = $1 ORDER BY u.id ASC LIMIT {} OFFSET {}",
            USERS.column_list_of("u."),
            page.limit,
            page.offset
        );
        let rows = query(sql).bind(org).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let role = OrgRole::parse(&row.get::<String>("member_role")?).map_err(|error| StoreError::Corrupt(error.0))?;
                Ok(OrganizationMember { user: user_from_row(row)?, role })
            })
            .collect()
    }

    async fn team_members(&self, team: TeamId, page: Page) -> StoreResult<Vec<User>> {
        let sql = format!(
            "SELECT {} FROM users u JOIN team_members t ON t.user_id = u.id
             WHERE t.team_id = $1 ORDER BY u.id ASC LIMIT {} OFFSET {}",
            USERS.column_list_of("u."),
            page.limit,
            page.offset
        );
        let rows = query(sql).bind(team).fetch_all(&self.pool).await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn remove_organization_member(&self, org: OrganizationId, user: UserId, now: Timestamp) -> StoreResult<MemberRemoval> {
        let mut tx = self.writer.begin().await?;
        // A no-op write to the organization's row: PostgreSQL's row lock, SQLite's write lock. Removals
        // from one organization take turns, so each counts the owners the other left.
        query("UPDATE organizations SET id = id WHERE id = $1").bind(org).execute(&mut tx).await?;
        let role = query("SELECT role FROM organization_members WHERE organization_id = $1 AND user_id = $2")
            .bind(org)
            .bind(user)
            .fetch_optional(&mut tx)
            .await?;
        if role.is_none() {
            return Ok(MemberRemoval::NotAMember);
        }
        if owner_count_if_owner(&mut tx, org, user).await?.is_some_and(|owners| owners <= 1) {
            return Ok(MemberRemoval::LastOwner);
        }
        query("DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2").bind(org).bind(user).execute(&mut tx).await?;
        query("DELETE FROM team_members WHERE user_id = $1 AND team_id IN (SELECT id FROM teams WHERE organization_id = $2)")
            .bind(user)
            .bind(org)
            .execute(&mut tx)
            .await?;
        let grants = query(
            "UPDATE oauth_grants SET revoked_at = $1
             WHERE user_id = $2 AND organization_id = $3 AND revoked_at IS NULL RETURNING id",
        )
        .bind(now)
        .bind(user)
        .bind(org)
        .fetch_all(&mut tx)
        .await?
        .iter()
        .map(|row| row.get::<GrantId>("id"))
        .collect::<StoreResult<Vec<_>>>()?;
        for grant in &grants {
            query("UPDATE oauth_families SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(*grant)
                .execute(&mut tx)
                .await?;
            query("UPDATE oauth_refresh_tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(*grant)
                .execute(&mut tx)
                .await?;
            record_revocation(&mut tx, &Revoked::Grant(*grant), now).await?;
        }
        tx.commit().await?;
        Ok(MemberRemoval::Removed { revoked_grants: grants })
    }

    async fn remove_team_member(&self, team: TeamId, user: UserId) -> StoreResult<bool> {
        Ok(query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2").bind(team).bind(user).execute(&self.writer).await? == 1)
    }
}
