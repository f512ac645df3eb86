//! The SQL both backends share. sqlx's SQLite driver accepts `$N` placeholders, and every statement here
//! sticks to what both databases understand (`RETURNING`, `ON CONFLICT`, integer times, no `now()`), so one
//! text serves both. The macro stamps the same implementation onto each backend's pool type.

use gatehouse_domain::identity::OrgRole;
use gatehouse_domain::{Page, SortDir, SortKey};

use crate::StoreError;

pub(crate) const USER_COLUMNS: &str =
    "id, name, email, password_hash, language, timezone, locale, country, is_admin, created";
pub(crate) const ORG_COLUMNS: &str = "id, name, zone, api_limit, timezone, country, created";
pub(crate) const TEAM_COLUMNS: &str = "id, name, organization_id, created";
pub(crate) const TOKEN_COLUMNS: &str = "user_id, created, token_hash, prefix, label, scopes, zone, expires_at, last_used";
/// `lastUsed` updates a flush commits at once; a transaction this size holds the write lock for about a
/// millisecond.
pub(crate) const USAGE_ROWS_PER_TRANSACTION: usize = 256;

/// `ORDER BY … LIMIT … OFFSET …` for a page. Columns come from an enum, never from the request.
pub(crate) fn page_clause(page: Page, table_alias: &str) -> String {
    let column = match page.sort_by {
        SortKey::Id => "id",
        SortKey::Name => "name",
    };
    let direction = match page.sort_dir {
        SortDir::Asc => "ASC",
        SortDir::Desc => "DESC",
    };
    format!(
        " ORDER BY {table_alias}{column} {direction}, {table_alias}id ASC LIMIT {} OFFSET {}",
        page.limit, page.offset
    )
}

pub(crate) fn parse_role(text: &str) -> Result<OrgRole, StoreError> {
    OrgRole::parse(text).map_err(|error| StoreError::Corrupt(error.0))
}

pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|db| db.is_unique_violation())
}

macro_rules! sql_store_impl {
    ($store:ty, $db:ty, $backend:literal, notify: $notify:expr, reset_sequence: $reset:expr) => {
        mod shared_sql {
            use async_trait::async_trait;
            use gatehouse_domain::api_token::TokenLabel;
            use gatehouse_domain::identity::NewUser;
            use gatehouse_domain::{
                ApiToken, Email, OrgRole, Organization, Page, ScopeSet, Team, Timestamp, TokenHash, User, UserId,
            };
            use sqlx::Row;

            use super::*;
            use crate::sql::{
                is_unique_violation, page_clause, parse_role, ORG_COLUMNS, TEAM_COLUMNS, TOKEN_COLUMNS, USER_COLUMNS,
            };
            use crate::{NewOrganization, RevocationEvent, RevocationListener, Revoked, Store, StoreError, StoreResult};

            /// Records a revocation inside the caller's transaction, and wakes listening nodes on commit.
            pub(super) async fn record_revocation(
                tx: &mut sqlx::Transaction<'_, Db>,
                revoked: &Revoked,
                now: Timestamp,
            ) -> StoreResult<()> {
                let (kind, subject) = revoked.kind_and_subject();
                sqlx::query("INSERT INTO revocations (kind, subject, created) VALUES ($1, $2, $3)")
                    .bind(kind)
                    .bind(subject)
                    .bind(now.as_millis())
                    .execute(&mut **tx)
                    .await?;
                let notify: Option<&str> = $notify;
                if let Some(notify) = notify {
                    sqlx::query(notify).execute(&mut **tx).await?;
                }
                Ok(())
            }

            type Db = $db;
            type DbRow = <Db as sqlx::Database>::Row;

            fn user_from_row(row: &DbRow) -> StoreResult<User> {
                Ok(User {
                    id: UserId(row.try_get("id")?),
                    name: row.try_get("name")?,
                    email: Email::from_stored(row.try_get("email")?),
                    password_hash: row.try_get("password_hash")?,
                    language: row.try_get("language")?,
                    timezone: row.try_get("timezone")?,
                    locale: row.try_get("locale")?,
                    country: row.try_get("country")?,
                    is_admin: row.try_get("is_admin")?,
                    created: Timestamp::from_millis(row.try_get("created")?),
                })
            }

            fn org_from_row(row: &DbRow) -> StoreResult<Organization> {
                Ok(Organization {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    zone: row.try_get("zone")?,
                    api_limit: row.try_get("api_limit")?,
                    timezone: row.try_get("timezone")?,
                    country: row.try_get("country")?,
                    created: Timestamp::from_millis(row.try_get("created")?),
                })
            }

            fn team_from_row(row: &DbRow) -> StoreResult<Team> {
                Ok(Team {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    organization_id: row.try_get("organization_id")?,
                    created: Timestamp::from_millis(row.try_get("created")?),
                })
            }

            fn token_from_row(row: &DbRow) -> StoreResult<ApiToken> {
                let hash_bytes: Vec<u8> = row.try_get("token_hash")?;
                let scopes: String = row.try_get("scopes")?;
                Ok(ApiToken {
                    user_id: UserId(row.try_get("user_id")?),
                    created: Timestamp::from_millis(row.try_get("created")?),
                    label: TokenLabel::from_stored(row.try_get("label")?),
                    scopes: ScopeSet::parse_delimited(&scopes).map_err(|error| StoreError::Corrupt(error.0))?,
                    hash: TokenHash::from_stored(&hash_bytes)
                        .ok_or_else(|| StoreError::Corrupt("token hash is not 32 bytes".into()))?,
                    prefix: row.try_get("prefix")?,
                    zone: row.try_get("zone")?,
                    expires_at: row.try_get::<Option<i64>, _>("expires_at")?.map(Timestamp::from_millis),
                    last_used: row.try_get::<Option<i64>, _>("last_used")?.map(Timestamp::from_millis),
                })
            }

            const INSERT_TOKEN: &str = "INSERT INTO api_tokens (user_id, created, token_hash, prefix, label, scopes, zone, expires_at, last_used)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)
                 ON CONFLICT (user_id, created) DO NOTHING";

            /// How many later milliseconds a token may move to when its `created` is taken. Bounded, in
            /// case of a pathological burst for one user.
            const CREATED_PROBES: usize = 1000;

            impl $store {
                /// The group committer's work: a batch of new tokens in one transaction, one outcome per
                /// token, in order. If the transaction fails as a whole (a hash collision aborts it on
                /// PostgreSQL, or the database errs), every token is retried alone, so one bad row never
                /// fails its neighbours and each caller gets its own error.
                pub(crate) async fn insert_api_token_batch(
                    pool: &sqlx::Pool<Db>,
                    tokens: Vec<ApiToken>,
                ) -> Vec<StoreResult<ApiToken>> {
                    if tokens.len() > 1 {
                        if let Ok(outcomes) = Self::insert_api_tokens_in_one_transaction(pool, &tokens).await {
                            return outcomes;
                        }
                    }
                    let mut outcomes = Vec::with_capacity(tokens.len());
                    for token in tokens {
                        let outcome = match Self::insert_api_tokens_in_one_transaction(pool, std::slice::from_ref(&token)).await {
                            Ok(mut single) => single.pop().unwrap_or(Err(StoreError::Corrupt("empty batch outcome".into()))),
                            Err(error) => Err(error),
                        };
                        outcomes.push(outcome);
                    }
                    outcomes
                }

                /// Inserts `tokens` in one transaction. `created` stays unique per user: a token whose
                /// millisecond is taken (by a stored token, or by an earlier one in this batch) moves to the
                /// next free one.
                async fn insert_api_tokens_in_one_transaction(
                    pool: &sqlx::Pool<Db>,
                    tokens: &[ApiToken],
                ) -> StoreResult<Vec<StoreResult<ApiToken>>> {
                    let mut tx = pool.begin().await?;
                    let mut outcomes = Vec::with_capacity(tokens.len());
                    // The last `created` given to each user in this batch: same-millisecond requests of one
                    // user are spread in memory instead of by failed inserts.
                    let mut last_in_batch: Vec<(UserId, Timestamp)> = Vec::new();
                    for token in tokens {
                        let mut stored = token.clone();
                        if let Some((_, last)) = last_in_batch.iter().find(|(user, _)| *user == stored.user_id) {
                            if stored.created <= *last {
                                stored.created = last.plus_millis(1);
                            }
                        }
                        let mut placed = false;
                        for _ in 0..CREATED_PROBES {
                            let result = sqlx::query(INSERT_TOKEN)
                                .bind(stored.user_id.0)
                                .bind(stored.created.as_millis())
                                .bind(stored.hash.as_bytes().as_slice())
                                .bind(&stored.prefix)
                                .bind(stored.label.as_str())
                                .bind(stored.scopes.to_space_delimited())
                                .bind(&stored.zone)
                                .bind(stored.expires_at.map(Timestamp::as_millis))
                                .execute(&mut *tx)
                                .await;
                            match result {
                                Ok(done) if done.rows_affected() == 1 => {
                                    placed = true;
                                    break;
                                }
                                Ok(_) => stored.created = stored.created.plus_millis(1),
                                // Not (user_id, created), which is handled above: the hash is taken.
                                Err(error) if is_unique_violation(&error) => {
                                    if tokens.len() > 1 {
                                        return Err(error.into());
                                    }
                                    return Ok(vec![Err(StoreError::Conflict("an API token with this hash already exists"))]);
                                }
                                Err(error) => return Err(error.into()),
                            }
                        }
                        if placed {
                            match last_in_batch.iter_mut().find(|(user, _)| *user == stored.user_id) {
                                Some((_, last)) => *last = stored.created,
                                None => last_in_batch.push((stored.user_id, stored.created)),
                            }
                            outcomes.push(Ok(stored));
                        } else {
                            outcomes.push(Err(StoreError::Conflict("no free creation timestamp for this user")));
                        }
                    }
                    tx.commit().await?;
                    Ok(outcomes)
                }
            }

            #[async_trait]
            impl Store for $store {
                fn backend(&self) -> &'static str {
                    $backend
                }

                async fn ping(&self) -> StoreResult<()> {
                    sqlx::query("SELECT 1").execute(&self.pool).await?;
                    Ok(())
                }

                async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
                    let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
                        .bind(key)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(match row {
                        Some(row) => Some(row.try_get("value")?),
                        None => None,
                    })
                }

                async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO settings (key, value) VALUES ($1, $2)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    )
                    .bind(key)
                    .bind(value)
                    .execute(&self.writer)
                    .await?;
                    Ok(())
                }

                async fn create_user(&self, user: &NewUser, now: Timestamp) -> StoreResult<User> {
                    let sql = format!(
                        "INSERT INTO users (name, email, password_hash, is_admin, created)
                         VALUES ($1, $2, $3, $4, $5) RETURNING {USER_COLUMNS}"
                    );
                    let result = sqlx::query(&sql)
                        .bind(&user.name)
                        .bind(user.email.as_str())
                        .bind(&user.password_hash)
                        .bind(user.is_admin)
                        .bind(now.as_millis())
                        .fetch_one(&self.writer)
                        .await;
                    match result {
                        Ok(row) => user_from_row(&row),
                        Err(error) if is_unique_violation(&error) => {
                            Err(StoreError::Conflict("a user with this email already exists"))
                        }
                        Err(error) => Err(error.into()),
                    }
                }

                async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
                    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
                    let row = sqlx::query(&sql).bind(id.0).fetch_optional(&self.pool).await?;
                    row.as_ref().map(user_from_row).transpose()
                }

                async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
                    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
                    let row = sqlx::query(&sql).bind(email.as_str()).fetch_optional(&self.pool).await?;
                    row.as_ref().map(user_from_row).transpose()
                }

                async fn count_users(&self) -> StoreResult<i64> {
                    let row = sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(&self.pool).await?;
                    Ok(row.try_get("n")?)
                }

                async fn delete_user(&self, id: UserId, now: Timestamp) -> StoreResult<bool> {
                    let mut tx = self.writer.begin().await?;
                    // Foreign keys cascade to tokens, memberships and (with OAuth) grants.
                    let result = sqlx::query("DELETE FROM users WHERE id = $1").bind(id.0).execute(&mut *tx).await?;
                    if result.rows_affected() == 0 {
                        return Ok(false);
                    }
                    record_revocation(&mut tx, &Revoked::User(id), now).await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn list_users(&self, page: Page) -> StoreResult<Vec<User>> {
                    let sql = format!("SELECT {USER_COLUMNS} FROM users{}", page_clause(page, ""));
                    let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
                    rows.iter().map(user_from_row).collect()
                }

                async fn create_organization(
                    &self,
                    org: &NewOrganization,
                    owner: UserId,
                    now: Timestamp,
                ) -> StoreResult<Organization> {
                    let mut tx = self.writer.begin().await?;
                    let sql = format!(
                        "INSERT INTO organizations (name, zone, api_limit, timezone, country, created)
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {ORG_COLUMNS}"
                    );
                    let row = sqlx::query(&sql)
                        .bind(&org.name)
                        .bind(&org.zone)
                        .bind(org.api_limit)
                        .bind(&org.timezone)
                        .bind(&org.country)
                        .bind(now.as_millis())
                        .fetch_one(&mut *tx)
                        .await?;
                    let created = org_from_row(&row)?;
                    sqlx::query("INSERT INTO organization_members (organization_id, user_id, role) VALUES ($1, $2, $3)")
                        .bind(created.id)
                        .bind(owner.0)
                        .bind(OrgRole::Owner.as_str())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(created)
                }

                async fn organization(&self, id: i64) -> StoreResult<Option<Organization>> {
                    let sql = format!("SELECT {ORG_COLUMNS} FROM organizations WHERE id = $1");
                    let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?;
                    row.as_ref().map(org_from_row).transpose()
                }

                async fn organizations_of_user(&self, user: UserId, page: Page) -> StoreResult<Vec<Organization>> {
                    let columns = ORG_COLUMNS.split(", ").map(|c| format!("o.{c}")).collect::<Vec<_>>().join(", ");
                    let sql = format!(
                        "SELECT {columns} FROM organizations o
                         JOIN organization_members m ON m.organization_id = o.id
                         WHERE m.user_id = $1{}",
                        page_clause(page, "o.")
                    );
                    let rows = sqlx::query(&sql).bind(user.0).fetch_all(&self.pool).await?;
                    rows.iter().map(org_from_row).collect()
                }

                async fn list_organizations(&self, page: Page) -> StoreResult<Vec<Organization>> {
                    let sql = format!("SELECT {ORG_COLUMNS} FROM organizations{}", page_clause(page, ""));
                    let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
                    rows.iter().map(org_from_row).collect()
                }

                async fn update_organization(&self, org: &Organization) -> StoreResult<bool> {
                    let result = sqlx::query(
                        "UPDATE organizations SET name = $1, api_limit = $2, timezone = $3, country = $4 WHERE id = $5",
                    )
                    .bind(&org.name)
                    .bind(org.api_limit)
                    .bind(&org.timezone)
                    .bind(&org.country)
                    .bind(org.id)
                    .execute(&self.writer)
                    .await?;
                    Ok(result.rows_affected() == 1)
                }

                async fn delete_organization(&self, id: i64) -> StoreResult<bool> {
                    // Foreign keys cascade to teams, team members and organization members.
                    let result =
                        sqlx::query("DELETE FROM organizations WHERE id = $1").bind(id).execute(&self.writer).await?;
                    Ok(result.rows_affected() == 1)
                }

                async fn set_organization_role(&self, org: i64, user: UserId, role: OrgRole) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO organization_members (organization_id, user_id, role) VALUES ($1, $2, $3)
                         ON CONFLICT (organization_id, user_id) DO UPDATE SET role = excluded.role",
                    )
                    .bind(org)
                    .bind(user.0)
                    .bind(role.as_str())
                    .execute(&self.writer)
                    .await?;
                    Ok(())
                }

                async fn organization_role(&self, org: i64, user: UserId) -> StoreResult<Option<OrgRole>> {
                    let row = sqlx::query(
                        "SELECT role FROM organization_members WHERE organization_id = $1 AND user_id = $2",
                    )
                    .bind(org)
                    .bind(user.0)
                    .fetch_optional(&self.pool)
                    .await?;
                    match row {
                        Some(row) => Ok(Some(parse_role(&row.try_get::<String, _>("role")?)?)),
                        None => Ok(None),
                    }
                }

                async fn create_team(&self, org: i64, name: &str, now: Timestamp) -> StoreResult<Team> {
                    let sql = format!(
                        "INSERT INTO teams (name, organization_id, created) VALUES ($1, $2, $3) RETURNING {TEAM_COLUMNS}"
                    );
                    let row = sqlx::query(&sql).bind(name).bind(org).bind(now.as_millis()).fetch_one(&self.writer).await?;
                    team_from_row(&row)
                }

                async fn team(&self, id: i64) -> StoreResult<Option<Team>> {
                    let sql = format!("SELECT {TEAM_COLUMNS} FROM teams WHERE id = $1");
                    let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?;
                    row.as_ref().map(team_from_row).transpose()
                }

                async fn teams_of_organization(&self, org: i64, page: Page) -> StoreResult<Vec<Team>> {
                    let sql =
                        format!("SELECT {TEAM_COLUMNS} FROM teams WHERE organization_id = $1{}", page_clause(page, ""));
                    let rows = sqlx::query(&sql).bind(org).fetch_all(&self.pool).await?;
                    rows.iter().map(team_from_row).collect()
                }

                async fn delete_team(&self, id: i64) -> StoreResult<bool> {
                    let result = sqlx::query("DELETE FROM teams WHERE id = $1").bind(id).execute(&self.writer).await?;
                    Ok(result.rows_affected() == 1)
                }

                async fn add_team_member(&self, team: i64, user: UserId) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)
                         ON CONFLICT (team_id, user_id) DO NOTHING",
                    )
                    .bind(team)
                    .bind(user.0)
                    .execute(&self.writer)
                    .await?;
                    Ok(())
                }

                async fn insert_api_token(&self, token: &ApiToken) -> StoreResult<ApiToken> {
                    // Through the group committer: the row is committed before this returns.
                    self.tokens
                        .submit(token.clone())
                        .await
                        .unwrap_or(Err(StoreError::Unavailable("the API token committer has stopped")))
                }

                async fn api_token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<ApiToken>> {
                    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1");
                    let row = sqlx::query(&sql).bind(hash.as_bytes().as_slice()).fetch_optional(&self.pool).await?;
                    row.as_ref().map(token_from_row).transpose()
                }

                async fn api_tokens_of_user(&self, user: UserId) -> StoreResult<Vec<ApiToken>> {
                    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created ASC");
                    let rows = sqlx::query(&sql).bind(user.0).fetch_all(&self.pool).await?;
                    rows.iter().map(token_from_row).collect()
                }

                async fn delete_api_token(
                    &self,
                    user: UserId,
                    created: Timestamp,
                    now: Timestamp,
                ) -> StoreResult<Option<ApiToken>> {
                    let mut tx = self.writer.begin().await?;
                    let sql = format!("DELETE FROM api_tokens WHERE user_id = $1 AND created = $2 RETURNING {TOKEN_COLUMNS}");
                    let row = sqlx::query(&sql).bind(user.0).bind(created.as_millis()).fetch_optional(&mut *tx).await?;
                    let Some(row) = row else { return Ok(None) };
                    let token = token_from_row(&row)?;
                    record_revocation(&mut tx, &Revoked::ApiToken(token.hash), now).await?;
                    tx.commit().await?;
                    Ok(Some(token))
                }

                async fn count_rows(&self, table: &str) -> StoreResult<i64> {
                    let spec = crate::copy::table(table).ok_or(StoreError::Conflict("unknown table"))?;
                    let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {}", spec.name)).fetch_one(&self.pool).await?;
                    Ok(row.try_get("n")?)
                }

                async fn read_rows(&self, table: &str, offset: i64, limit: i64) -> StoreResult<Vec<Vec<crate::copy::Cell>>> {
                    use crate::copy::{Cell, ColumnType};
                    let spec = crate::copy::table(table).ok_or(StoreError::Conflict("unknown table"))?;
                    let columns: Vec<&str> = spec.columns.iter().map(|(name, _)| *name).collect();
                    let sql = format!(
                        "SELECT {} FROM {} ORDER BY {} LIMIT $1 OFFSET $2",
                        columns.join(", "),
                        spec.name,
                        spec.order_by
                    );
                    let rows = sqlx::query(&sql).bind(limit).bind(offset).fetch_all(&self.pool).await?;
                    rows.iter()
                        .map(|row| {
                            spec.columns
                                .iter()
                                .enumerate()
                                .map(|(index, (_, kind))| {
                                    Ok(match kind {
                                        ColumnType::Int => row.try_get::<Option<i64>, _>(index)?.map_or(Cell::Null, Cell::Int),
                                        ColumnType::Text => row.try_get::<Option<String>, _>(index)?.map_or(Cell::Null, Cell::Text),
                                        ColumnType::Bytes => row.try_get::<Option<Vec<u8>>, _>(index)?.map_or(Cell::Null, Cell::Bytes),
                                        ColumnType::Bool => row.try_get::<Option<bool>, _>(index)?.map_or(Cell::Null, Cell::Bool),
                                    })
                                })
                                .collect::<StoreResult<Vec<Cell>>>()
                        })
                        .collect()
                }

                async fn write_rows(&self, table: &str, rows: &[Vec<crate::copy::Cell>]) -> StoreResult<()> {
                    use crate::copy::{Cell, ColumnType};
                    let spec = crate::copy::table(table).ok_or(StoreError::Conflict("unknown table"))?;
                    let columns: Vec<&str> = spec.columns.iter().map(|(name, _)| *name).collect();
                    let placeholders: Vec<String> = (1..=columns.len()).map(|n| format!("${n}")).collect();
                    let sql = format!("INSERT INTO {} ({}) VALUES ({})", spec.name, columns.join(", "), placeholders.join(", "));
                    let mut tx = self.writer.begin().await?;
                    for row in rows {
                        let mut query = sqlx::query(&sql);
                        for ((_, kind), cell) in spec.columns.iter().zip(row) {
                            query = match (kind, cell) {
                                (ColumnType::Int, Cell::Int(value)) => query.bind(*value),
                                (ColumnType::Int, _) => query.bind(None::<i64>),
                                (ColumnType::Text, Cell::Text(value)) => query.bind(value.clone()),
                                (ColumnType::Text, _) => query.bind(None::<String>),
                                (ColumnType::Bytes, Cell::Bytes(value)) => query.bind(value.clone()),
                                (ColumnType::Bytes, _) => query.bind(None::<Vec<u8>>),
                                (ColumnType::Bool, Cell::Bool(value)) => query.bind(*value),
                                (ColumnType::Bool, _) => query.bind(None::<bool>),
                            };
                        }
                        query.execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn clear_table(&self, table: &str) -> StoreResult<()> {
                    let spec = crate::copy::table(table).ok_or(StoreError::Conflict("unknown table"))?;
                    sqlx::query(&format!("DELETE FROM {}", spec.name)).execute(&self.writer).await?;
                    Ok(())
                }

                async fn after_copy(&self, table: &str) -> StoreResult<()> {
                    let spec = crate::copy::table(table).ok_or(StoreError::Conflict("unknown table"))?;
                    let reset: Option<&str> = $reset;
                    if let (true, Some(template)) = (spec.generated_id, reset) {
                        sqlx::query(&template.replace("{table}", spec.name)).execute(&self.writer).await?;
                    }
                    Ok(())
                }

                async fn revocations_after(&self, after: i64, limit: i64) -> StoreResult<Vec<RevocationEvent>> {
                    let rows = sqlx::query("SELECT id, kind, subject FROM revocations WHERE id > $1 ORDER BY id ASC LIMIT $2")
                        .bind(after)
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter()
                        .map(|row| {
                            let kind: String = row.try_get("kind")?;
                            let subject: String = row.try_get("subject")?;
                            Ok(RevocationEvent { id: row.try_get("id")?, revoked: Revoked::from_kind_and_subject(&kind, &subject) })
                        })
                        .collect()
                }

                async fn last_revocation_id(&self) -> StoreResult<i64> {
                    let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS id FROM revocations").fetch_one(&self.pool).await?;
                    Ok(row.try_get("id")?)
                }

                async fn prune_revocations(&self, before: Timestamp) -> StoreResult<u64> {
                    let result = sqlx::query("DELETE FROM revocations WHERE created < $1").bind(before.as_millis()).execute(&self.writer).await?;
                    Ok(result.rows_affected())
                }

                async fn revocation_listener(&self) -> StoreResult<Option<Box<dyn RevocationListener>>> {
                    // Each backend's own inherent method: the one place the backends differ here.
                    self.listen_for_revocations().await
                }

                async fn record_api_token_use(&self, uses: &[(TokenHash, Timestamp)]) -> StoreResult<()> {
                    if uses.is_empty() {
                        return Ok(());
                    }
                    // In slices, each its own transaction: a flush after a burst of distinct tokens would
                    // otherwise hold the one write lock for as long as thousands of updates take, and every
                    // token creation would wait behind it.
                    for slice in uses.chunks(crate::sql::USAGE_ROWS_PER_TRANSACTION) {
                        let mut tx = self.writer.begin().await?;
                        for (hash, at) in slice {
                            sqlx::query(
                                "UPDATE api_tokens SET last_used = $1
                                 WHERE token_hash = $2 AND (last_used IS NULL OR last_used < $1)",
                            )
                            .bind(at.as_millis())
                            .bind(hash.as_bytes().as_slice())
                            .execute(&mut *tx)
                            .await?;
                        }
                        tx.commit().await?;
                    }
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use sql_store_impl;
