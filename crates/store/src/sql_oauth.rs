//! The OAuth SQL both backends share, stamped onto each pool type like `sql.rs`.
//!
//! Single use is enforced in SQL, not in memory: `UPDATE … SET used_at = $1 WHERE … AND used_at IS NULL`
//! succeeds for exactly one of several racing nodes, and the caller reads `rows_affected`.

/// One refresh-token rotation, as queued for the store (see `OAuthStore::rotate_refresh_token`).
pub(crate) struct RotationJob {
    pub(crate) parent: gatehouse_domain::TokenHash,
    pub(crate) successor: gatehouse_domain::oauth::RefreshToken,
    pub(crate) grace_secs: i64,
    pub(crate) now: gatehouse_domain::Timestamp,
}

/// The most rotations one transaction takes.
pub(crate) const ROTATION_BATCH: usize = 128;

pub(crate) const CLIENT_COLUMNS: &str =
    "id, name, description, client_type, secret_hash, redirect_uris, scopes, status, owner_id, allow_refresh, created";
pub(crate) const GRANT_COLUMNS: &str = "id, user_id, client_id, organization_id, scopes, created, last_used";
pub(crate) const FAMILY_COLUMNS: &str = "id, client_id, user_id, grant_id, created, revoked_at";
pub(crate) const CODE_COLUMNS: &str = "code_hash, client_id, user_id, grant_id, family_id, redirect_uri, scopes, \
     organization_id, code_challenge, nonce, auth_time, created, expires_at, used_at";
pub(crate) const REFRESH_COLUMNS: &str = "token_hash, family_id, parent_hash, client_id, user_id, grant_id, scopes, \
     organization_id, auth_time, created, expires_at, used_at, revoked_at";

macro_rules! sql_oauth_impl {
    ($store:ty, $db:ty) => {
        mod shared_oauth_sql {
            use async_trait::async_trait;
            use gatehouse_domain::oauth::{
                AuthorizationCode, BrowserSession, ClientId, ClientStatus, ClientType, CodeChallenge, Grant, OAuthClient,
                RedirectUri, RefreshToken, SigningKeyRecord, TokenFamily,
            };
            use gatehouse_domain::{ScopeSet, Timestamp, TokenHash, UserId};
            use sqlx::Row;

            use super::*;
            use crate::sql::is_unique_violation;
            use crate::sql_oauth::RotationJob;
            use crate::sql_oauth::{CLIENT_COLUMNS, CODE_COLUMNS, FAMILY_COLUMNS, GRANT_COLUMNS, REFRESH_COLUMNS};
            use crate::{OAuthStore, Revoked, StoreError, StoreResult};

            type DbRow = <$db as sqlx::Database>::Row;

            /// Puts the revocation on the revocation feed inside the caller's transaction, so that every
            /// node forgets its cached access-token liveness (at once on PostgreSQL, within a poll on
            /// SQLite), not just this one.
            async fn feed(tx: &mut sqlx::Transaction<'_, $db>, subject: &str, now: Timestamp) -> StoreResult<()> {
                super::shared_sql::record_revocation(tx, &Revoked::OAuth(subject.to_string()), now).await
            }

            /// Notes that a grant was used. Only when the stored time is a minute old or more: the sessions of
            /// one grant refresh concurrently, and each would otherwise write (and on PostgreSQL, lock) the
            /// same row. "Last used" is shown to people, for whom a minute is exact enough.
            async fn touch_grant_on<'e, E: sqlx::Executor<'e, Database = $db>>(executor: E, id: i64, now: Timestamp) -> StoreResult<()> {
                sqlx::query("UPDATE oauth_grants SET last_used = $1 WHERE id = $2 AND (last_used IS NULL OR last_used <= $3)")
                    .bind(now.as_millis())
                    .bind(id)
                    .bind(now.as_millis() - crate::GRANT_LAST_USED_RESOLUTION_MILLIS)
                    .execute(executor)
                    .await?;
                Ok(())
            }

            /// One rotation inside the caller's transaction: locks the family, applies the domain's rule to
            /// the parent as it stands under the lock, and stores the successor when the rule allows.
            async fn rotate_in(tx: &mut sqlx::Transaction<'_, $db>, job: &RotationJob) -> StoreResult<crate::Rotation> {
                use crate::Rotation;
                use gatehouse_domain::oauth::RefreshVerdict;
                use gatehouse_domain::oauth::grant::judge_refresh;
                let RotationJob { parent, successor, grace_secs, now } = job;
                let (grace_secs, now) = (*grace_secs, *now);
                // A no-op write to the family row: PostgreSQL's row lock, SQLite's write lock. Every
                // rotation of this family waits here for the one before it to commit.
                let family = sqlx::query("UPDATE oauth_families SET revoked_at = revoked_at WHERE id = $1 AND revoked_at IS NULL")
                    .bind(&successor.family_id)
                    .execute(&mut **tx)
                    .await?;
                if family.rows_affected() == 0 {
                    return Ok(Rotation::Revoked);
                }
                let sql = format!("SELECT {REFRESH_COLUMNS} FROM oauth_refresh_tokens WHERE token_hash = $1 AND family_id = $2");
                let row = sqlx::query(&sql)
                    .bind(parent.as_bytes().as_slice())
                    .bind(&successor.family_id)
                    .fetch_optional(&mut **tx)
                    .await?;
                let Some(row) = row else { return Ok(Rotation::Revoked) };
                // The domain's rule, applied to the row as it stands under the lock.
                let outcome = match judge_refresh(&refresh_from_row(&row)?, now, grace_secs) {
                    RefreshVerdict::Revoked | RefreshVerdict::Expired => return Ok(Rotation::Revoked),
                    RefreshVerdict::Replay => return Ok(Rotation::Replayed),
                    RefreshVerdict::Rotate => {
                        sqlx::query("UPDATE oauth_refresh_tokens SET used_at = $1 WHERE token_hash = $2")
                            .bind(now.as_millis())
                            .bind(parent.as_bytes().as_slice())
                            .execute(&mut **tx)
                            .await?;
                        Rotation::Rotated
                    }
                    RefreshVerdict::GraceRetry => {
                        let successor_used = sqlx::query(
                            "SELECT 1 FROM oauth_refresh_tokens WHERE parent_hash = $1 AND used_at IS NOT NULL",
                        )
                        .bind(parent.as_bytes().as_slice())
                        .fetch_optional(&mut **tx)
                        .await?;
                        if successor_used.is_some() {
                            return Ok(Rotation::Replayed);
                        }
                        sqlx::query(
                            "UPDATE oauth_refresh_tokens SET revoked_at = $1
                             WHERE parent_hash = $2 AND used_at IS NULL AND revoked_at IS NULL",
                        )
                        .bind(now.as_millis())
                        .bind(parent.as_bytes().as_slice())
                        .execute(&mut **tx)
                        .await?;
                        Rotation::Retried
                    }
                };
                insert_refresh(&mut **tx, successor).await?;
                // The grant's "last used", in the same commit: one durable write per refresh, not two.
                touch_grant_on(&mut **tx, successor.grant_id, now).await?;
                Ok(outcome)
            }

            impl $store {
                /// Group commit for rotations (see `group_commit`): the batch runs one after another in one
                /// transaction, each inside its own savepoint, so one that fails takes nothing else with
                /// it, and all of them share one commit. Rotations that see each other's writes is exactly
                /// what a lock per family would give them anyway: the batch is serial.
                #[allow(dead_code, reason = "only SQLite batches rotations; see PostgresStore::rotations")]
                pub(crate) async fn rotate_batch(pool: &sqlx::Pool<$db>, jobs: Vec<RotationJob>) -> Vec<StoreResult<crate::Rotation>> {
                    let count = jobs.len();
                    // The one error cannot be cloned to every caller: it is logged once, and each caller
                    // hears that its rotation was not stored.
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
            }

            /// One refresh-token row, on the pool or inside a transaction.
            async fn insert_refresh<'e, E: sqlx::Executor<'e, Database = $db>>(executor: E, token: &RefreshToken) -> StoreResult<()> {
                let sql = format!(
                    "INSERT INTO oauth_refresh_tokens ({REFRESH_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                );
                sqlx::query(&sql)
                    .bind(token.hash.as_bytes().as_slice())
                    .bind(&token.family_id)
                    .bind(token.parent_hash.map(|h| h.as_bytes().to_vec()))
                    .bind(token.client_id.as_str())
                    .bind(token.user_id.0)
                    .bind(token.grant_id)
                    .bind(token.scopes.to_space_delimited())
                    .bind(token.organization_id)
                    .bind(token.auth_time.as_millis())
                    .bind(token.created.as_millis())
                    .bind(token.expires_at.as_millis())
                    .bind(token.used_at.map(Timestamp::as_millis))
                    .bind(token.revoked_at.map(Timestamp::as_millis))
                    .execute(executor)
                    .await?;
                Ok(())
            }

            fn corrupt(what: &str) -> StoreError {
                StoreError::Corrupt(what.to_string())
            }

            fn hash(bytes: Vec<u8>) -> StoreResult<TokenHash> {
                TokenHash::from_stored(&bytes).ok_or_else(|| corrupt("hash is not 32 bytes"))
            }

            fn scopes(text: String) -> StoreResult<ScopeSet> {
                ScopeSet::parse_delimited(&text).map_err(|error| StoreError::Corrupt(error.0))
            }

            fn ts(value: Option<i64>) -> Option<Timestamp> {
                value.map(Timestamp::from_millis)
            }

            fn client_from_row(row: &DbRow) -> StoreResult<OAuthClient> {
                let uris: String = row.try_get("redirect_uris")?;
                let secret: Option<Vec<u8>> = row.try_get("secret_hash")?;
                Ok(OAuthClient {
                    id: ClientId::from_stored(row.try_get("id")?),
                    name: row.try_get("name")?,
                    description: row.try_get("description")?,
                    client_type: ClientType::parse(&row.try_get::<String, _>("client_type")?)
                        .map_err(|error| StoreError::Corrupt(error.0))?,
                    secret_hash: secret.map(hash).transpose()?,
                    // Redirect URIs never contain whitespace, so a newline separates them.
                    redirect_uris: uris.lines().map(|uri| RedirectUri::from_stored(uri.to_string())).collect(),
                    scopes: scopes(row.try_get("scopes")?)?,
                    status: ClientStatus::parse(&row.try_get::<String, _>("status")?)
                        .map_err(|error| StoreError::Corrupt(error.0))?,
                    owner: UserId(row.try_get("owner_id")?),
                    allow_refresh: row.try_get("allow_refresh")?,
                    created: Timestamp::from_millis(row.try_get("created")?),
                })
            }

            fn grant_from_row(row: &DbRow) -> StoreResult<Grant> {
                Ok(Grant {
                    id: row.try_get("id")?,
                    user_id: UserId(row.try_get("user_id")?),
                    client_id: ClientId::from_stored(row.try_get("client_id")?),
                    organization_id: row.try_get("organization_id")?,
                    scopes: scopes(row.try_get("scopes")?)?,
                    created: Timestamp::from_millis(row.try_get("created")?),
                    last_used: ts(row.try_get("last_used")?),
                })
            }

            fn family_from_row(row: &DbRow) -> StoreResult<TokenFamily> {
                Ok(TokenFamily {
                    id: row.try_get("id")?,
                    client_id: ClientId::from_stored(row.try_get("client_id")?),
                    user_id: row.try_get::<Option<i64>, _>("user_id")?.map(UserId),
                    grant_id: row.try_get("grant_id")?,
                    created: Timestamp::from_millis(row.try_get("created")?),
                    revoked_at: ts(row.try_get("revoked_at")?),
                })
            }

            fn code_from_row(row: &DbRow) -> StoreResult<AuthorizationCode> {
                Ok(AuthorizationCode {
                    hash: hash(row.try_get("code_hash")?)?,
                    client_id: ClientId::from_stored(row.try_get("client_id")?),
                    user_id: UserId(row.try_get("user_id")?),
                    grant_id: row.try_get("grant_id")?,
                    family_id: row.try_get("family_id")?,
                    redirect_uri: RedirectUri::from_stored(row.try_get("redirect_uri")?),
                    scopes: scopes(row.try_get("scopes")?)?,
                    organization_id: row.try_get("organization_id")?,
                    challenge: CodeChallenge::from_stored(row.try_get("code_challenge")?),
                    nonce: row.try_get("nonce")?,
                    auth_time: Timestamp::from_millis(row.try_get("auth_time")?),
                    created: Timestamp::from_millis(row.try_get("created")?),
                    expires_at: Timestamp::from_millis(row.try_get("expires_at")?),
                    used_at: ts(row.try_get("used_at")?),
                })
            }

            fn refresh_from_row(row: &DbRow) -> StoreResult<RefreshToken> {
                let parent: Option<Vec<u8>> = row.try_get("parent_hash")?;
                Ok(RefreshToken {
                    hash: hash(row.try_get("token_hash")?)?,
                    family_id: row.try_get("family_id")?,
                    parent_hash: parent.map(hash).transpose()?,
                    client_id: ClientId::from_stored(row.try_get("client_id")?),
                    user_id: UserId(row.try_get("user_id")?),
                    grant_id: row.try_get("grant_id")?,
                    scopes: scopes(row.try_get("scopes")?)?,
                    organization_id: row.try_get("organization_id")?,
                    auth_time: Timestamp::from_millis(row.try_get("auth_time")?),
                    created: Timestamp::from_millis(row.try_get("created")?),
                    expires_at: Timestamp::from_millis(row.try_get("expires_at")?),
                    used_at: ts(row.try_get("used_at")?),
                    revoked_at: ts(row.try_get("revoked_at")?),
                })
            }

            fn session_from_row(row: &DbRow) -> StoreResult<BrowserSession> {
                Ok(BrowserSession {
                    hash: hash(row.try_get("session_hash")?)?,
                    user_id: row.try_get::<Option<i64>, _>("user_id")?.map(UserId),
                    auth_time: ts(row.try_get("auth_time")?),
                    created: Timestamp::from_millis(row.try_get("created")?),
                    expires_at: Timestamp::from_millis(row.try_get("expires_at")?),
                })
            }

            #[async_trait]
            impl OAuthStore for $store {
                async fn insert_oauth_client(&self, client: &OAuthClient) -> StoreResult<()> {
                    let sql = format!(
                        "INSERT INTO oauth_clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                    );
                    let uris: Vec<&str> = client.redirect_uris.iter().map(RedirectUri::as_str).collect();
                    let result = sqlx::query(&sql)
                        .bind(client.id.as_str())
                        .bind(&client.name)
                        .bind(&client.description)
                        .bind(client.client_type.as_str())
                        .bind(client.secret_hash.map(|h| h.as_bytes().to_vec()))
                        .bind(uris.join("\n"))
                        .bind(client.scopes.to_space_delimited())
                        .bind(client.status.as_str())
                        .bind(client.owner.0)
                        .bind(client.allow_refresh)
                        .bind(client.created.as_millis())
                        .execute(&self.writer)
                        .await;
                    match result {
                        Ok(_) => Ok(()),
                        Err(error) if is_unique_violation(&error) => Err(StoreError::Conflict("a client with this id already exists")),
                        Err(error) => Err(error.into()),
                    }
                }

                async fn oauth_client(&self, id: &ClientId) -> StoreResult<Option<OAuthClient>> {
                    let sql = format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE id = $1");
                    let row = sqlx::query(&sql).bind(id.as_str()).fetch_optional(&self.pool).await?;
                    row.as_ref().map(client_from_row).transpose()
                }

                async fn list_oauth_clients(
                    &self,
                    status: Option<ClientStatus>,
                    owner: Option<UserId>,
                ) -> StoreResult<Vec<OAuthClient>> {
                    let sql = format!(
                        "SELECT {CLIENT_COLUMNS} FROM oauth_clients
                         WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR owner_id = $2)
                         ORDER BY created ASC, id ASC"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(status.map(ClientStatus::as_str))
                        .bind(owner.map(|o| o.0))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(client_from_row).collect()
                }

                async fn update_oauth_client(&self, client: &OAuthClient, now: Timestamp) -> StoreResult<bool> {
                    let mut tx = self.writer.begin().await?;
                    let result = sqlx::query(
                        "UPDATE oauth_clients SET status = $1, secret_hash = $2, scopes = $3, allow_refresh = $4 WHERE id = $5",
                    )
                    .bind(client.status.as_str())
                    .bind(client.secret_hash.map(|h| h.as_bytes().to_vec()))
                    .bind(client.scopes.to_space_delimited())
                    .bind(client.allow_refresh)
                    .bind(client.id.as_str())
                    .execute(&mut *tx)
                    .await?;
                    if result.rows_affected() == 1 {
                        // Nodes cache clients: a rotated secret or a rejection must reach them all.
                        feed(&mut tx, &format!("client:{}", client.id.as_str()), now).await?;
                    }
                    tx.commit().await?;
                    Ok(result.rows_affected() == 1)
                }

                async fn delete_oauth_client(&self, id: &ClientId, now: Timestamp) -> StoreResult<bool> {
                    let mut tx = self.writer.begin().await?;
                    // Refresh tokens reference families, which cascade; delete explicitly for clarity.
                    sqlx::query("DELETE FROM oauth_refresh_tokens WHERE client_id = $1").bind(id.as_str()).execute(&mut *tx).await?;
                    let result = sqlx::query("DELETE FROM oauth_clients WHERE id = $1").bind(id.as_str()).execute(&mut *tx).await?;
                    if result.rows_affected() == 1 {
                        feed(&mut tx, &format!("client:{}", id.as_str()), now).await?;
                    }
                    tx.commit().await?;
                    Ok(result.rows_affected() == 1)
                }

                async fn live_grant(&self, user: UserId, client: &ClientId) -> StoreResult<Option<Grant>> {
                    let sql = format!(
                        "SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL"
                    );
                    let row = sqlx::query(&sql).bind(user.0).bind(client.as_str()).fetch_optional(&self.pool).await?;
                    row.as_ref().map(grant_from_row).transpose()
                }

                async fn save_grant(
                    &self,
                    user: UserId,
                    client: &ClientId,
                    organization: Option<i64>,
                    scope_set: ScopeSet,
                    now: Timestamp,
                ) -> StoreResult<Grant> {
                    let update = format!(
                        "UPDATE oauth_grants SET organization_id = $1, scopes = $2
                         WHERE user_id = $3 AND client_id = $4 AND revoked_at IS NULL RETURNING {GRANT_COLUMNS}"
                    );
                    let insert = format!(
                        "INSERT INTO oauth_grants (user_id, client_id, organization_id, scopes, created)
                         VALUES ($1, $2, $3, $4, $5) RETURNING {GRANT_COLUMNS}"
                    );
                    // Two consents racing: the partial unique index lets one insert win; the other updates.
                    for _ in 0..3 {
                        let updated = sqlx::query(&update)
                            .bind(organization)
                            .bind(scope_set.to_space_delimited())
                            .bind(user.0)
                            .bind(client.as_str())
                            .fetch_optional(&self.writer)
                            .await?;
                        if let Some(row) = updated {
                            return grant_from_row(&row);
                        }
                        let inserted = sqlx::query(&insert)
                            .bind(user.0)
                            .bind(client.as_str())
                            .bind(organization)
                            .bind(scope_set.to_space_delimited())
                            .bind(now.as_millis())
                            .fetch_one(&self.writer)
                            .await;
                        match inserted {
                            Ok(row) => return grant_from_row(&row),
                            Err(error) if is_unique_violation(&error) => continue,
                            Err(error) => return Err(error.into()),
                        }
                    }
                    Err(StoreError::Conflict("the consent changed concurrently"))
                }

                async fn grant_by_id(&self, id: i64) -> StoreResult<Option<Grant>> {
                    let sql = format!("SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE id = $1 AND revoked_at IS NULL");
                    let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?;
                    row.as_ref().map(grant_from_row).transpose()
                }

                async fn grants_of_user(&self, user: UserId) -> StoreResult<Vec<Grant>> {
                    let sql = format!(
                        "SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created ASC, id ASC"
                    );
                    let rows = sqlx::query(&sql).bind(user.0).fetch_all(&self.pool).await?;
                    rows.iter().map(grant_from_row).collect()
                }

                async fn revoke_grant(&self, user: UserId, client: &ClientId, now: Timestamp) -> StoreResult<Option<Vec<String>>> {
                    let mut tx = self.writer.begin().await?;
                    let row = sqlx::query(
                        "UPDATE oauth_grants SET revoked_at = $1
                         WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL RETURNING id",
                    )
                    .bind(now.as_millis())
                    .bind(user.0)
                    .bind(client.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(row) = row else { return Ok(None) };
                    let grant_id: i64 = row.try_get("id")?;
                    let rows = sqlx::query(
                        "UPDATE oauth_families SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL RETURNING id",
                    )
                    .bind(now.as_millis())
                    .bind(grant_id)
                    .fetch_all(&mut *tx)
                    .await?;
                    sqlx::query("UPDATE oauth_refresh_tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL")
                        .bind(now.as_millis())
                        .bind(grant_id)
                        .execute(&mut *tx)
                        .await?;
                    feed(&mut tx, &format!("grant:{grant_id}"), now).await?;
                    tx.commit().await?;
                    rows.iter().map(|row| row.try_get::<String, _>("id").map_err(StoreError::from)).collect::<StoreResult<Vec<_>>>().map(Some)
                }

                async fn touch_grant(&self, id: i64, now: Timestamp) -> StoreResult<()> {
                    touch_grant_on(&self.writer, id, now).await
                }

                async fn insert_family(&self, family: &TokenFamily) -> StoreResult<()> {
                    sqlx::query(&format!("INSERT INTO oauth_families ({FAMILY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"))
                        .bind(&family.id)
                        .bind(family.client_id.as_str())
                        .bind(family.user_id.map(|u| u.0))
                        .bind(family.grant_id)
                        .bind(family.created.as_millis())
                        .bind(family.revoked_at.map(Timestamp::as_millis))
                        .execute(&self.writer)
                        .await?;
                    Ok(())
                }

                async fn family(&self, id: &str) -> StoreResult<Option<TokenFamily>> {
                    let sql = format!("SELECT {FAMILY_COLUMNS} FROM oauth_families WHERE id = $1");
                    let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?;
                    row.as_ref().map(family_from_row).transpose()
                }

                async fn revoke_client_families(&self, client: &ClientId, now: Timestamp) -> StoreResult<u64> {
                    let mut tx = self.writer.begin().await?;
                    let result = sqlx::query("UPDATE oauth_families SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL")
                        .bind(now.as_millis())
                        .bind(client.as_str())
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("UPDATE oauth_refresh_tokens SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL")
                        .bind(now.as_millis())
                        .bind(client.as_str())
                        .execute(&mut *tx)
                        .await?;
                    feed(&mut tx, &format!("client:{}", client.as_str()), now).await?;
                    tx.commit().await?;
                    Ok(result.rows_affected())
                }

                async fn revoke_family(&self, id: &str, now: Timestamp) -> StoreResult<bool> {
                    let mut tx = self.writer.begin().await?;
                    let result = sqlx::query("UPDATE oauth_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                        .bind(now.as_millis())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("UPDATE oauth_refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
                        .bind(now.as_millis())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    if result.rows_affected() == 1 {
                        feed(&mut tx, &format!("family:{id}"), now).await?;
                    }
                    tx.commit().await?;
                    Ok(result.rows_affected() == 1)
                }

                async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
                    let sql = format!(
                        "INSERT INTO oauth_codes ({CODE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                    );
                    sqlx::query(&sql)
                        .bind(code.hash.as_bytes().as_slice())
                        .bind(code.client_id.as_str())
                        .bind(code.user_id.0)
                        .bind(code.grant_id)
                        .bind(&code.family_id)
                        .bind(code.redirect_uri.as_str())
                        .bind(code.scopes.to_space_delimited())
                        .bind(code.organization_id)
                        .bind(code.challenge.as_str())
                        .bind(&code.nonce)
                        .bind(code.auth_time.as_millis())
                        .bind(code.created.as_millis())
                        .bind(code.expires_at.as_millis())
                        .bind(code.used_at.map(Timestamp::as_millis))
                        .execute(&self.writer)
                        .await?;
                    Ok(())
                }

                async fn code_by_hash(&self, code_hash: &TokenHash) -> StoreResult<Option<AuthorizationCode>> {
                    let sql = format!("SELECT {CODE_COLUMNS} FROM oauth_codes WHERE code_hash = $1");
                    let row = sqlx::query(&sql).bind(code_hash.as_bytes().as_slice()).fetch_optional(&self.pool).await?;
                    row.as_ref().map(code_from_row).transpose()
                }

                async fn consume_code(&self, code_hash: &TokenHash, now: Timestamp) -> StoreResult<bool> {
                    let result = sqlx::query("UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL")
                        .bind(now.as_millis())
                        .bind(code_hash.as_bytes().as_slice())
                        .execute(&self.writer)
                        .await?;
                    Ok(result.rows_affected() == 1)
                }

                async fn insert_refresh_token(&self, token: &RefreshToken) -> StoreResult<()> {
                    insert_refresh(&self.writer, token).await
                }

                async fn refresh_token_by_hash(&self, token_hash: &TokenHash) -> StoreResult<Option<RefreshToken>> {
                    let sql = format!("SELECT {REFRESH_COLUMNS} FROM oauth_refresh_tokens WHERE token_hash = $1");
                    let row = sqlx::query(&sql).bind(token_hash.as_bytes().as_slice()).fetch_optional(&self.pool).await?;
                    row.as_ref().map(refresh_from_row).transpose()
                }

                async fn rotate_refresh_token(
                    &self,
                    parent: &TokenHash,
                    successor: &RefreshToken,
                    grace_secs: i64,
                    now: Timestamp,
                ) -> StoreResult<crate::Rotation> {
                    let job = RotationJob { parent: *parent, successor: successor.clone(), grace_secs, now };
                    match &self.rotations {
                        Some(committer) => committer
                            .submit(job)
                            .await
                            .unwrap_or(Err(StoreError::Unavailable("the refresh-token committer has stopped"))),
                        None => {
                            let mut tx = self.writer.begin().await?;
                            let outcome = rotate_in(&mut tx, &job).await?;
                            tx.commit().await?;
                            Ok(outcome)
                        }
                    }
                }

                async fn revoke_access_token(&self, jti: &str, expires_at: Timestamp, now: Timestamp) -> StoreResult<()> {
                    let mut tx = self.writer.begin().await?;
                    sqlx::query(
                        "INSERT INTO oauth_revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
                    )
                    .bind(jti)
                    .bind(expires_at.as_millis())
                    .execute(&mut *tx)
                    .await?;
                    feed(&mut tx, &format!("jti:{jti}"), now).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn access_token_live(&self, family_id: &str, jti: &str) -> StoreResult<bool> {
                    let row = sqlx::query(
                        "SELECT 1 AS live FROM oauth_families f
                         WHERE f.id = $1 AND f.revoked_at IS NULL
                           AND NOT EXISTS (SELECT 1 FROM oauth_revoked_access_tokens r WHERE r.jti = $2)",
                    )
                    .bind(family_id)
                    .bind(jti)
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(row.is_some())
                }

                async fn insert_session(&self, session: &BrowserSession) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO oauth_sessions (session_hash, user_id, auth_time, created, expires_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(session.hash.as_bytes().as_slice())
                    .bind(session.user_id.map(|u| u.0))
                    .bind(session.auth_time.map(Timestamp::as_millis))
                    .bind(session.created.as_millis())
                    .bind(session.expires_at.as_millis())
                    .execute(&self.writer)
                    .await?;
                    Ok(())
                }

                async fn session(&self, session_hash: &TokenHash) -> StoreResult<Option<BrowserSession>> {
                    let row = sqlx::query(
                        "SELECT session_hash, user_id, auth_time, created, expires_at FROM oauth_sessions WHERE session_hash = $1",
                    )
                    .bind(session_hash.as_bytes().as_slice())
                    .fetch_optional(&self.pool)
                    .await?;
                    row.as_ref().map(session_from_row).transpose()
                }

                async fn delete_session(&self, session_hash: &TokenHash) -> StoreResult<()> {
                    sqlx::query("DELETE FROM oauth_sessions WHERE session_hash = $1")
                        .bind(session_hash.as_bytes().as_slice())
                        .execute(&self.writer)
                        .await?;
                    Ok(())
                }

                async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
                    sqlx::query("INSERT INTO oauth_signing_keys (kid, private_pkcs8, created, retire_at) VALUES ($1, $2, $3, $4)")
                        .bind(&key.kid)
                        .bind(key.private_pkcs8.as_slice())
                        .bind(key.created.as_millis())
                        .bind(key.retire_at.map(Timestamp::as_millis))
                        .execute(&self.writer)
                        .await?;
                    Ok(())
                }

                async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
                    let rows = sqlx::query("SELECT kid, private_pkcs8, created, retire_at FROM oauth_signing_keys ORDER BY created DESC, kid ASC")
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(SigningKeyRecord {
                                kid: row.try_get("kid")?,
                                private_pkcs8: row.try_get("private_pkcs8")?,
                                created: Timestamp::from_millis(row.try_get("created")?),
                                retire_at: ts(row.try_get("retire_at")?),
                            })
                        })
                        .collect()
                }

                async fn retire_signing_keys_except(&self, kids: &[String], retire_at: Timestamp) -> StoreResult<u64> {
                    let kept: Vec<String> = (0..kids.len()).map(|index| format!("${}", index + 2)).collect();
                    let sql = if kept.is_empty() {
                        "UPDATE oauth_signing_keys SET retire_at = $1 WHERE retire_at IS NULL".to_string()
                    } else {
                        format!("UPDATE oauth_signing_keys SET retire_at = $1 WHERE retire_at IS NULL AND kid NOT IN ({})", kept.join(", "))
                    };
                    let mut query = sqlx::query(&sql).bind(retire_at.as_millis());
                    for kid in kids {
                        query = query.bind(kid);
                    }
                    Ok(query.execute(&self.writer).await?.rows_affected())
                }

                async fn purge_expired_oauth(&self, now: Timestamp) -> StoreResult<()> {
                    let at = now.as_millis();
                    let mut tx = self.writer.begin().await?;
                    // Used codes are kept until they expire, so that a replay is still recognised as one.
                    sqlx::query("DELETE FROM oauth_codes WHERE expires_at < $1").bind(at).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM oauth_sessions WHERE expires_at < $1").bind(at).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM oauth_revoked_access_tokens WHERE expires_at < $1").bind(at).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM oauth_refresh_tokens WHERE expires_at < $1").bind(at).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM oauth_signing_keys WHERE retire_at IS NOT NULL AND retire_at < $1").bind(at).execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use sql_oauth_impl;
