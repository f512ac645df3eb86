//! Consent: which user let which client act for them, with what scopes and for which organization.

use async_trait::async_trait;
use gatehouse_domain::ids::{FamilyId, GrantId, OrganizationId};
use gatehouse_domain::oauth::{ClientId, Grant};
use gatehouse_domain::{ScopeSet, Timestamp, UserId};

use crate::backend::{Backend, Row, Target, is_unique_violation, query};
use crate::revocations::record_revocation;
use crate::schema::OAUTH_GRANTS;
use gatehouse_domain::revocation::Revoked;
use crate::sql_store::SqlStore;
use crate::error::StoreError;
use crate::error::StoreResult;

/// How fine a grant's `last_used` is kept: a use within this long of the stored time writes nothing.
pub const GRANT_LAST_USED_RESOLUTION_MILLIS: i64 = 60_000;

#[async_trait]
pub trait GrantRepository: Send + Sync {
    async fn live_grant(&self, user: UserId, client: &ClientId) -> StoreResult<Option<Grant>>;
    /// Records consent: updates the live grant (scopes and organization) or creates one.
    async fn save_grant(
        &self,
        user: UserId,
        client: &ClientId,
        organization: Option<OrganizationId>,
        scopes: ScopeSet,
        now: Timestamp,
    ) -> StoreResult<Grant>;
    async fn grant_by_id(&self, id: GrantId) -> StoreResult<Option<Grant>>;
    /// The user's live grants, oldest first.
    async fn grants_of_user(&self, user: UserId) -> StoreResult<Vec<Grant>>;
    /// Revokes the live grant with every family issued under it; returns the revoked family ids, or `None`
    /// when there was no live grant.
    async fn revoke_grant(&self, user: UserId, client: &ClientId, now: Timestamp) -> StoreResult<Option<Vec<FamilyId>>>;
    /// Revokes every live family issued under the grant (and their refresh tokens), leaving the grant itself
    /// live: a new consent replaces what the earlier one issued. Recorded in the revocation feed as the
    /// grant's, so other nodes drop their liveness answers. Returns the revoked families.
    async fn revoke_grant_families(&self, grant: GrantId, now: Timestamp) -> StoreResult<Vec<FamilyId>>;
    /// Notes the grant's use, at most once per [`GRANT_LAST_USED_RESOLUTION_MILLIS`].
    async fn touch_grant(&self, id: GrantId, now: Timestamp) -> StoreResult<()>;
}

fn grant_from_row<DB: Backend>(row: &Row<DB>) -> StoreResult<Grant> {
    Ok(Grant {
        id: row.get("id")?,
        user_id: row.get("user_id")?,
        client_id: row.get("client_id")?,
        organization_id: row.get("organization_id")?,
        scopes: row.get("scopes")?,
        created: row.get("created")?,
        last_used: row.get("last_used")?,
    })
}

/// Notes that a grant was used. Only when the stored time is a minute old or more: the sessions of one
/// grant refresh concurrently, and each would otherwise write (and on PostgreSQL, lock) the same row.
/// "Last used" is shown to people, for whom a minute is exact enough.
pub(crate) async fn touch_grant_on<T: Target>(on: T, id: GrantId, now: Timestamp) -> StoreResult<()> {
    query("UPDATE oauth_grants SET last_used = $1 WHERE id = $2 AND (last_used IS NULL OR last_used <= $3)")
        .bind(now)
        .bind(id)
        .bind(now.as_millis() - GRANT_LAST_USED_RESOLUTION_MILLIS)
        .execute(on)
        .await?;
    Ok(())
}

#[async_trait]
impl<DB: Backend> GrantRepository for SqlStore<DB> {
    async fn live_grant(&self, user: UserId, client: &ClientId) -> StoreResult<Option<Grant>> {
        let sql = format!(
            "SELECT {} FROM oauth_grants WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
            OAUTH_GRANTS.column_list()
        );
        let row = query(sql).bind(user).bind(client).fetch_optional(&self.pool).await?;
        row.as_ref().map(grant_from_row).transpose()
    }

    async fn save_grant(
        &self,
        user: UserId,
        client: &ClientId,
        organization: Option<OrganizationId>,
        scopes: ScopeSet,
        now: Timestamp,
    ) -> StoreResult<Grant> {
        let columns = OAUTH_GRANTS.column_list();
        let update = format!(
            "UPDATE oauth_grants SET organization_id = $1, scopes = $2
             WHERE user_id = $3 AND client_id = $4 AND revoked_at IS NULL RETURNING {columns}"
        );
        let insert = format!(
            "INSERT INTO oauth_grants (user_id, client_id, organization_id, scopes, created)
             VALUES ($1, $2, $3, $4, $5) RETURNING {columns}"
        );
        // Two consents racing: the partial unique index lets one insert win; the other updates.
        for _ in 0..3 {
            let updated = query(update.clone())
                .bind(organization)
                .bind(scopes)
                .bind(user)
                .bind(client)
                .fetch_optional(&self.writer)
                .await?;
            if let Some(row) = updated {
                return grant_from_row(&row);
            }
            let inserted =
                query(insert.clone()).bind(user).bind(client).bind(organization).bind(scopes).bind(now).fetch_one(&self.writer).await;
            match inserted {
                Ok(row) => return grant_from_row(&row),
                Err(error) if is_unique_violation(&error) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(StoreError::Conflict("the consent changed concurrently"))
    }

    async fn grant_by_id(&self, id: GrantId) -> StoreResult<Option<Grant>> {
        let sql = format!("SELECT {} FROM oauth_grants WHERE id = $1 AND revoked_at IS NULL", OAUTH_GRANTS.column_list());
        let row = query(sql).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(grant_from_row).transpose()
    }

    async fn grants_of_user(&self, user: UserId) -> StoreResult<Vec<Grant>> {
        let sql = format!(
            "SELECT {} FROM oauth_grants WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created ASC, id ASC",
            OAUTH_GRANTS.column_list()
        );
        let rows = query(sql).bind(user).fetch_all(&self.pool).await?;
        rows.iter().map(grant_from_row).collect()
    }

    async fn revoke_grant(&self, user: UserId, client: &ClientId, now: Timestamp) -> StoreResult<Option<Vec<FamilyId>>> {
        let mut tx = self.writer.begin().await?;
        let row = query(
            "UPDATE oauth_grants SET revoked_at = $1
             WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL RETURNING id",
        )
        .bind(now)
        .bind(user)
        .bind(client)
        .fetch_optional(&mut tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let grant_id: GrantId = row.get("id")?;
        let families = query("UPDATE oauth_families SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL RETURNING id")
            .bind(now)
            .bind(grant_id)
            .fetch_all(&mut tx)
            .await?;
        query("UPDATE oauth_refresh_tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(grant_id)
            .execute(&mut tx)
            .await?;
        record_revocation(&mut tx, &Revoked::Grant(grant_id), now).await?;
        tx.commit().await?;
        families.iter().map(|row| row.get::<FamilyId>("id")).collect::<StoreResult<Vec<_>>>().map(Some)
    }

    async fn touch_grant(&self, id: GrantId, now: Timestamp) -> StoreResult<()> {
        touch_grant_on(&self.writer, id, now).await
    }

    async fn revoke_grant_families(&self, grant: GrantId, now: Timestamp) -> StoreResult<Vec<FamilyId>> {
        let mut tx = self.writer.begin().await?;
        let families = query("UPDATE oauth_families SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL RETURNING id")
            .bind(now)
            .bind(grant)
            .fetch_all(&mut tx)
            .await?;
        query("UPDATE oauth_refresh_tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(grant)
            .execute(&mut tx)
            .await?;
        if !families.is_empty() {
            record_revocation(&mut tx, &Revoked::Grant(grant), now).await?;
        }
        tx.commit().await?;
        families.iter().map(|row| row.get::<FamilyId>("id")).collect()
    }
}
