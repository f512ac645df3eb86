//! Token families (one per sign-in) and the refresh tokens rotated within them (RFC 9700 §4.14.2).

use async_trait::async_trait;
use gatehouse_domain::ids::FamilyId;
use gatehouse_domain::oauth::grant::judge_refresh;
use gatehouse_domain::oauth::{ClientId, RefreshToken, RefreshVerdict, TokenFamily};
use gatehouse_domain::{Timestamp, TokenHash, UserId};
use sqlx::{Pool, Transaction};

use crate::backend::{Backend, Row, Target, query};
use crate::value::Value;
use crate::grants::touch_grant_on;
use crate::revocations::record_revocation;
use crate::schema::{OAUTH_FAMILIES, OAUTH_REFRESH_TOKENS};
use gatehouse_domain::revocation::Revoked;
use crate::rotation::{Rotation, RotationJob};
use crate::sql_store::SqlStore;
use crate::error::StoreError;
use crate::error::StoreResult;

#[async_trait]
pub trait RefreshTokenRepository: Send + Sync {
    async fn insert_family(&self, family: &TokenFamily) -> StoreResult<()>;
    /// Stores many families at once, for loading fixtures (the benchmark's), not for serving requests.
    async fn insert_families_bulk(&self, families: &[TokenFamily]) -> StoreResult<()>;
    async fn family(&self, id: &FamilyId) -> StoreResult<Option<TokenFamily>>;
    /// Revokes every live family of a client (a client rejected after approval). Returns how many.
    async fn revoke_client_families(&self, client: &ClientId, now: Timestamp) -> StoreResult<u64>;
    /// Revokes every live family of a user, with their refresh tokens, and puts the user on the
    /// revocation feed (an operator's password reset: what the old password opened ends). Returns how many.
    async fn revoke_user_families(&self, user: UserId, now: Timestamp) -> StoreResult<u64>;
    /// Revokes the family and its refresh tokens. True when it was live.
    async fn revoke_family(&self, id: &FamilyId, now: Timestamp) -> StoreResult<bool>;

    async fn insert_refresh_token(&self, token: &RefreshToken) -> StoreResult<()>;
    /// Stores many refresh tokens at once (their families first), for loading fixtures.
    async fn insert_refresh_tokens_bulk(&self, tokens: &[RefreshToken]) -> StoreResult<()>;
    async fn refresh_token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<RefreshToken>>;
    /// Rotates `parent` to `successor` in one transaction that first locks the family, so that rotations of
    /// one family are serialised across nodes: two requests racing with the same token can never leave two
    /// live successors. See [`Rotation`] for the outcomes; only `Rotated` and `Retried` store the successor.
    async fn rotate_refresh_token(
        &self,
        parent: &TokenHash,
        successor: &RefreshToken,
        grace_secs: i64,
        now: Timestamp,
    ) -> StoreResult<Rotation>;
}


/// Revokes a user's live families and their refresh tokens inside the caller's transaction (which records
/// the revocation). Access tokens die with their family: each use checks that it is live.
pub(crate) async fn revoke_user_families_in<DB: Backend>(tx: &mut Transaction<'_, DB>, user: UserId, now: Timestamp) -> StoreResult<u64> {
    let revoked = query("UPDATE oauth_families SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user)
        .execute(&mut *tx)
        .await?;
    query("UPDATE oauth_refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user)
        .execute(&mut *tx)
        .await?;
    Ok(revoked)
}

/// The most rotations one transaction takes.
pub(crate) const ROTATION_BATCH: usize = 128;

fn family_from_row<DB: Backend>(row: &Row<DB>) -> StoreResult<TokenFamily> {
    Ok(TokenFamily {
        id: row.get("id")?,
        client_id: row.get("client_id")?,
        user_id: row.get("user_id")?,
        grant_id: row.get("grant_id")?,
        created: row.get("created")?,
        revoked_at: row.get("revoked_at")?,
    })
}

fn family_row(family: &TokenFamily) -> StoreResult<Vec<Value>> {
    OAUTH_FAMILIES.row(vec![
        ("id", (&family.id).into()),
        ("client_id", (&family.client_id).into()),
        ("user_id", family.user_id.into()),
        ("grant_id", family.grant_id.into()),
        ("created", family.created.into()),
        ("revoked_at", family.revoked_at.into()),
    ])
}

fn refresh_from_row<DB: Backend>(row: &Row<DB>) -> StoreResult<RefreshToken> {
    Ok(RefreshToken {
        hash: row.get("token_hash")?,
        family_id: row.get("family_id")?,
        parent_hash: row.get("parent_hash")?,
        client_id: row.get("client_id")?,
        user_id: row.get("user_id")?,
        grant_id: row.get("grant_id")?,
        scopes: row.get("scopes")?,
        organization_id: row.get("organization_id")?,
        auth_time: row.get("auth_time")?,
        created: row.get("created")?,
        expires_at: row.get("expires_at")?,
        used_at: row.get("used_at")?,
        revoked_at: row.get("revoked_at")?,
    })
}

fn refresh_row(token: &RefreshToken) -> StoreResult<Vec<Value>> {
    OAUTH_REFRESH_TOKENS.row(vec![
        ("token_hash", (&token.hash).into()),
        ("family_id", (&token.family_id).into()),
        ("parent_hash", token.parent_hash.into()),
        ("client_id", (&token.client_id).into()),
        ("user_id", token.user_id.into()),
        ("grant_id", token.grant_id.into()),
        ("scopes", token.scopes.into()),
        ("organization_id", token.organization_id.into()),
        ("auth_time", token.auth_time.into()),
        ("created", token.created.into()),
        ("expires_at", token.expires_at.into()),
        ("used_at", token.used_at.into()),
        ("revoked_at", token.revoked_at.into()),
    ])
}

async fn insert_refresh<T: Target>(on: T, token: &RefreshToken) -> StoreResult<()> {
    query(OAUTH_REFRESH_TOKENS.insert_one()).bind_all(refresh_row(token)?).execute(on).await?;
    Ok(())
}

/// One rotation inside the caller's transaction: locks the family, applies the domain's rule to the parent
/// as it stands under the lock, and stores the successor when the rule allows.
async fn rotate_in<DB: Backend>(tx: &mut Transaction<'_, DB>, job: &RotationJob) -> StoreResult<Rotation> {
    let RotationJob { parent, successor, grace_secs, now } = job;
    let (grace_secs, now) = (*grace_secs, *now);
    // A no-op write to the family row: PostgreSQL's row lock, SQLite's write lock. Every rotation of this
    // family waits here for the one before it to commit.
    let family = query("UPDATE oauth_families SET revoked_at = revoked_at WHERE id = $1 AND revoked_at IS NULL")
        .bind(&successor.family_id)
        .execute(&mut *tx)
        .await?;
    if family == 0 {
        return Ok(Rotation::Revoked);
    }
    let sql = format!(
        "SELECT {} FROM oauth_refresh_tokens WHERE token_hash = $1 AND family_id = $2",
        OAUTH_REFRESH_TOKENS.column_list()
    );
    let row = query(sql).bind(parent).bind(&successor.family_id).fetch_optional(&mut *tx).await?;
    let Some(row) = row else { return Ok(Rotation::Revoked) };
    // The family is live: we hold its lock.
    let outcome = match judge_refresh(&refresh_from_row(&row)?, true, now, grace_secs) {
        RefreshVerdict::Revoked | RefreshVerdict::Expired => return Ok(Rotation::Revoked),
        RefreshVerdict::Replay => return Ok(Rotation::Replayed),
        RefreshVerdict::Rotate => {
            query("UPDATE oauth_refresh_tokens SET used_at = $1 WHERE token_hash = $2")
                .bind(now)
                .bind(parent)
                .execute(&mut *tx)
                .await?;
            Rotation::Rotated
        }
        RefreshVerdict::GraceRetry => {
            let successor_used = query("SELECT 1 AS used FROM oauth_refresh_tokens WHERE parent_hash = $1 AND used_at IS NOT NULL")
                .bind(parent)
                .fetch_optional(&mut *tx)
                .await?;
            if successor_used.is_some() {
                return Ok(Rotation::Replayed);
            }
            query(
                "UPDATE oauth_refresh_tokens SET revoked_at = $1
                 WHERE parent_hash = $2 AND used_at IS NULL AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(parent)
            .execute(&mut *tx)
            .await?;
            Rotation::Retried
        }
    };
    insert_refresh(&mut *tx, successor).await?;
    // The grant's "last used", in the same commit: one durable write per refresh, not two.
    touch_grant_on(&mut *tx, successor.grant_id, now).await?;
    Ok(outcome)
}

/// Group commit for rotations (see `group_commit`): the batch runs one after another in one transaction,
/// each inside its own savepoint, so one that fails takes nothing else with it, and all of them share one
/// commit. Rotations that see each other's writes is exactly what a lock per family would give them
/// anyway: the batch is serial.
pub(crate) async fn rotate_batch<DB: Backend>(pool: &Pool<DB>, jobs: Vec<RotationJob>) -> Vec<StoreResult<Rotation>> {
    let count = jobs.len();
    // The one error cannot be cloned to every caller: it is logged once, and each caller hears that its
    // rotation was not stored.
    let failed = |error: &StoreError| {
        tracing::warn!(%error, count, "a batch of refresh-token rotations was not committed");
        (0..count).map(|_| Err(StoreError::Unavailable("the refresh-token rotation was not committed"))).collect::<Vec<_>>()
    };
    let mut tx = match pool.begin().await {
        Ok(tx) => tx,
        Err(error) => return failed(&error.into()),
    };
    let mut outcomes = Vec::with_capacity(count);
    for job in &jobs {
        let outcome = async {
            let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
            let outcome = rotate_in(&mut savepoint, job).await?;
            savepoint.commit().await?;
            Ok(outcome)
        }
        .await;
        outcomes.push(outcome);
    }
    match tx.commit().await {
        Ok(()) => outcomes,
        Err(error) => failed(&error.into()),
    }
}

#[async_trait]
impl<DB: Backend> RefreshTokenRepository for SqlStore<DB> {
    async fn insert_family(&self, family: &TokenFamily) -> StoreResult<()> {
        query(OAUTH_FAMILIES.insert_one()).bind_all(family_row(family)?).execute(&self.writer).await?;
        Ok(())
    }

    async fn insert_families_bulk(&self, families: &[TokenFamily]) -> StoreResult<()> {
        let rows = families.iter().map(family_row).collect::<StoreResult<Vec<_>>>()?;
        self.insert_bulk(&OAUTH_FAMILIES, rows).await
    }

    async fn family(&self, id: &FamilyId) -> StoreResult<Option<TokenFamily>> {
        let sql = format!("SELECT {} FROM oauth_families WHERE id = $1", OAUTH_FAMILIES.column_list());
        let row = query(sql).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(family_from_row).transpose()
    }

    async fn revoke_client_families(&self, client: &ClientId, now: Timestamp) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await?;
        let revoked = query("UPDATE oauth_families SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(client)
            .execute(&mut tx)
            .await?;
        query("UPDATE oauth_refresh_tokens SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(client)
            .execute(&mut tx)
            .await?;
        record_revocation(&mut tx, &Revoked::Client(client.clone()), now).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn revoke_user_families(&self, user: UserId, now: Timestamp) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await?;
        let revoked = revoke_user_families_in(&mut tx, user, now).await?;
        record_revocation(&mut tx, &Revoked::User(user), now).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn revoke_family(&self, id: &FamilyId, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        let revoked = query("UPDATE oauth_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut tx)
            .await?;
        query("UPDATE oauth_refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut tx)
            .await?;
        if revoked == 1 {
            record_revocation(&mut tx, &Revoked::Family(id.clone()), now).await?;
        }
        tx.commit().await?;
        Ok(revoked == 1)
    }

    async fn insert_refresh_token(&self, token: &RefreshToken) -> StoreResult<()> {
        insert_refresh(&self.writer, token).await
    }

    async fn insert_refresh_tokens_bulk(&self, tokens: &[RefreshToken]) -> StoreResult<()> {
        let rows = tokens.iter().map(refresh_row).collect::<StoreResult<Vec<_>>>()?;
        self.insert_bulk(&OAUTH_REFRESH_TOKENS, rows).await
    }

    async fn refresh_token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<RefreshToken>> {
        let sql = format!("SELECT {} FROM oauth_refresh_tokens WHERE token_hash = $1", OAUTH_REFRESH_TOKENS.column_list());
        let row = query(sql).bind(hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(refresh_from_row).transpose()
    }

    async fn rotate_refresh_token(
        &self,
        parent: &TokenHash,
        successor: &RefreshToken,
        grace_secs: i64,
        now: Timestamp,
    ) -> StoreResult<Rotation> {
        let job = RotationJob { parent: *parent, successor: successor.clone(), grace_secs, now };
        match &self.rotations {
            Some(committer) => {
                committer.submit(job).await.unwrap_or(Err(StoreError::Unavailable("the refresh-token committer has stopped")))
            }
            None => {
                let mut tx = self.writer.begin().await?;
                let outcome = rotate_in(&mut tx, &job).await?;
                tx.commit().await?;
                Ok(outcome)
            }
        }
    }
}
