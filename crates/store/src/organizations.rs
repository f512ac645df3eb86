//! Organizations, their teams, and who belongs to which with what role.

use async_trait::async_trait;
use gatehouse_domain::ids::{OrganizationId, TeamId};
use gatehouse_domain::{OrgRole, Organization, Page, Team, Timestamp, UserId};

use crate::backend::{Backend, Row, query};
use crate::schema::{ORGANIZATIONS, TEAMS};
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
    /// Adds the member or changes the member's role.
    async fn set_organization_role(&self, org: OrganizationId, user: UserId, role: OrgRole) -> StoreResult<()>;
    async fn organization_role(&self, org: OrganizationId, user: UserId) -> StoreResult<Option<OrgRole>>;

    async fn create_team(&self, org: OrganizationId, name: &str, now: Timestamp) -> StoreResult<Team>;
    async fn team(&self, id: TeamId) -> StoreResult<Option<Team>>;
    async fn teams_of_organization(&self, org: OrganizationId, page: Page) -> StoreResult<Vec<Team>>;
    async fn delete_team(&self, id: TeamId) -> StoreResult<bool>;
    async fn add_team_member(&self, team: TeamId, user: UserId) -> StoreResult<()>;
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

#[async_trait]
impl<DB: Backend> OrganizationRepository for SqlStore<DB> {
    async fn create_organization(&self, org: &NewOrganization, owner: UserId, now: Timestamp) -> StoreResult<Organization> {
        let mut tx = self.writer.begin().await?;
        let sql = format!(
            "INSERT INTO organizations (name, zone, api_limit, timezone, country, created)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {}",
            ORGANIZATIONS.column_list()
        );
        let row = query(sql)
            .bind(&org.name)
            .bind(&org.zone)
            .bind(org.api_limit)
            .bind(&org.timezone)
            .bind(&org.country)
            .bind(now)
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

    async fn set_organization_role(&self, org: OrganizationId, user: UserId, role: OrgRole) -> StoreResult<()> {
        query(
            "INSERT INTO organization_members (organization_id, user_id, role) VALUES ($1, $2, $3)
             ON CONFLICT (organization_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(org)
        .bind(user)
        .bind(role.as_str())
        .execute(&self.writer)
        .await?;
        Ok(())
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
}
