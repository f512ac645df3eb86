//! Make-style API tokens: stored by hash, keyed by (user, `created`), created through a group committer.

use std::sync::LazyLock;

use async_trait::async_trait;
use gatehouse_domain::api_token::TokenLabel;
use gatehouse_domain::{ApiToken, Timestamp, TokenHash, UserId};
use sqlx::Pool;

use crate::backend::{Backend, Row, is_unique_violation, query};
use crate::value::Value;
use crate::revocations::record_revocation;
use crate::schema::API_TOKENS;
use gatehouse_domain::revocation::Revoked;
use crate::sql_store::SqlStore;
use crate::error::StoreError;
use crate::error::StoreResult;

#[async_trait]
pub trait ApiTokenRepository: Send + Sync {
    /// Stores a token. If `created` is taken for this user, the next free millisecond is used, so that
    /// `created` stays unique per user; the stored token (with its final `created`) is returned, once it
    /// is committed. Concurrent calls are group-committed: they share one transaction.
    async fn insert_api_token(&self, token: &ApiToken) -> StoreResult<ApiToken>;
    /// Stores many tokens at once, as given (a `created` already taken is a conflict), in few statements:
    /// for loading fixtures such as the benchmark's, not for serving requests.
    async fn insert_api_tokens_bulk(&self, tokens: &[ApiToken]) -> StoreResult<()>;
    async fn api_token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<ApiToken>>;
    /// The user's tokens, oldest first.
    async fn api_tokens_of_user(&self, user: UserId) -> StoreResult<Vec<ApiToken>>;
    /// Deletes a token and records its revocation in the same transaction.
    async fn delete_api_token(&self, user: UserId, created: Timestamp, now: Timestamp) -> StoreResult<Option<ApiToken>>;
    /// Applies a batch of "last used" observations in one transaction. Older observations never
    /// overwrite newer ones.
    async fn record_api_token_use(&self, uses: &[(TokenHash, Timestamp)]) -> StoreResult<()>;
}

/// `lastUsed` updates a flush commits at once; a transaction this size holds the write lock for about a
/// millisecond.
const USAGE_ROWS_PER_TRANSACTION: usize = 256;

/// How many later milliseconds a token may move to when its `created` is taken. Bounded, in case of a
/// pathological burst for one user.
const CREATED_PROBES: usize = 1000;

static INSERT_TOKEN: LazyLock<String> =
    LazyLock::new(|| format!("{} ON CONFLICT (user_id, created) DO NOTHING", API_TOKENS.insert_one()));

/// Rows per statement in a bulk insert: 9,000 values, under SQLite's limit of 32,766 and PostgreSQL's 65,535.
pub(crate) const BULK_ROWS_PER_STATEMENT: usize = 1000;

fn token_from_row<DB: Backend>(row: &Row<DB>) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        user_id: row.get("user_id")?,
        created: row.get("created")?,
        label: TokenLabel::from_stored(row.get("label")?),
        scopes: row.get("scopes")?,
        hash: row.get("token_hash")?,
        prefix: row.get("prefix")?,
        zone: row.get("zone")?,
        expires_at: row.get("expires_at")?,
        last_used: row.get("last_used")?,
    })
}

fn token_row(token: &ApiToken) -> StoreResult<Vec<Value>> {
    API_TOKENS.row(vec![
        ("user_id", token.user_id.into()),
        ("created", token.created.into()),
        ("token_hash", (&token.hash).into()),
        ("prefix", (&token.prefix).into()),
        ("label", token.label.as_str().into()),
        ("scopes", token.scopes.into()),
        ("zone", (&token.zone).into()),
        ("expires_at", token.expires_at.into()),
        ("last_used", token.last_used.into()),
    ])
}

/// The group committer's work: a batch of new tokens in one transaction, one outcome per token, in order.
/// If the transaction fails as a whole (a hash collision aborts it on PostgreSQL, or the database errs),
/// every token is retried alone, so one bad row never fails its neighbours and each caller gets its own
/// error.
pub(crate) async fn insert_api_token_batch<DB: Backend>(pool: &Pool<DB>, tokens: Vec<ApiToken>) -> Vec<StoreResult<ApiToken>> {
    if tokens.len() > 1
        && let Ok(outcomes) = insert_api_tokens_in_one_transaction(pool, &tokens).await
    {
        return outcomes;
    }
    let mut outcomes = Vec::with_capacity(tokens.len());
    for token in tokens {
        let outcome = match insert_api_tokens_in_one_transaction(pool, std::slice::from_ref(&token)).await {
            Ok(mut single) => single.pop().unwrap_or(Err(StoreError::Corrupt("empty batch outcome".into()))),
            Err(error) => Err(error),
        };
        outcomes.push(outcome);
    }
    outcomes
}

/// Inserts `tokens` in one transaction. `created` stays unique per user: a token whose millisecond is
/// taken (by a stored token, or by an earlier one in this batch) moves to the next free one.
async fn insert_api_tokens_in_one_transaction<DB: Backend>(
    pool: &Pool<DB>,
    tokens: &[ApiToken],
) -> StoreResult<Vec<StoreResult<ApiToken>>> {
    let mut tx = pool.begin().await?;
    let mut outcomes = Vec::with_capacity(tokens.len());
    // The last `created` given to each user in this batch: same-millisecond requests of one user are spread
    // in memory instead of by failed inserts.
    let mut last_in_batch: Vec<(UserId, Timestamp)> = Vec::new();
    for token in tokens {
        let mut stored = token.clone();
        stored.last_used = None;
        if let Some((_, last)) = last_in_batch.iter().find(|(user, _)| *user == stored.user_id)
            && stored.created <= *last
        {
            stored.created = last.plus_millis(1);
        }
        let mut placed = false;
        for _ in 0..CREATED_PROBES {
            let result = query(INSERT_TOKEN.as_str()).bind_all(token_row(&stored)?).execute(&mut tx).await;
            match result {
                Ok(1) => {
                    placed = true;
                    break;
                }
                Ok(_) => stored.created = stored.created.plus_millis(1),
                // Not (user_id, created), which is handled above: the hash is taken.
                Err(error) if is_unique_violation(&error) => {
                    if tokens.len() > 1 {
                        return Err(error);
                    }
                    return Ok(vec![Err(StoreError::Conflict("an API token with this hash already exists"))]);
                }
                Err(error) => return Err(error),
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

#[async_trait]
impl<DB: Backend> ApiTokenRepository for SqlStore<DB> {
    async fn insert_api_token(&self, token: &ApiToken) -> StoreResult<ApiToken> {
        // Through the group committer: the row is committed before this returns.
        self.tokens.submit(token.clone()).await.unwrap_or(Err(StoreError::Unavailable("the API token committer has stopped")))
    }

    async fn insert_api_tokens_bulk(&self, tokens: &[ApiToken]) -> StoreResult<()> {
        let rows = tokens.iter().map(token_row).collect::<StoreResult<Vec<_>>>()?;
        self.insert_bulk(&API_TOKENS, rows).await
    }

    async fn api_token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<ApiToken>> {
        let sql = format!("SELECT {} FROM api_tokens WHERE token_hash = $1", API_TOKENS.column_list());
        let row = query(sql).bind(hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn api_tokens_of_user(&self, user: UserId) -> StoreResult<Vec<ApiToken>> {
        let sql = format!("SELECT {} FROM api_tokens WHERE user_id = $1 ORDER BY created ASC", API_TOKENS.column_list());
        let rows = query(sql).bind(user).fetch_all(&self.pool).await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn delete_api_token(&self, user: UserId, created: Timestamp, now: Timestamp) -> StoreResult<Option<ApiToken>> {
        let mut tx = self.writer.begin().await?;
        let sql = format!("DELETE FROM api_tokens WHERE user_id = $1 AND created = $2 RETURNING {}", API_TOKENS.column_list());
        let Some(row) = query(sql).bind(user).bind(created).fetch_optional(&mut tx).await? else { return Ok(None) };
        let token = token_from_row(&row)?;
        record_revocation(&mut tx, &Revoked::ApiToken(token.hash), now).await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    async fn record_api_token_use(&self, uses: &[(TokenHash, Timestamp)]) -> StoreResult<()> {
        // In slices, each its own transaction: a flush after a burst of distinct tokens would otherwise hold
        // the one write lock for as long as thousands of updates take, and every token creation would wait
        // behind it.
        for slice in uses.chunks(USAGE_ROWS_PER_TRANSACTION) {
            let mut tx = self.writer.begin().await?;
            for (hash, at) in slice {
                query(
                    "UPDATE api_tokens SET last_used = $1
                     WHERE token_hash = $2 AND (last_used IS NULL OR last_used < $1)",
                )
                .bind(*at)
                .bind(hash)
                .execute(&mut tx)
                .await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }
}

impl<DB: Backend> SqlStore<DB> {
    /// Inserts rows of `table` in one transaction, many rows per statement, with the backend's bulk-load
    /// settings around it.
    pub(crate) async fn insert_bulk(&self, table: &crate::schema::Table, rows: Vec<Vec<Value>>) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        for setting in DB::BULK_BEFORE {
            query(*setting).execute(&self.writer).await?;
        }
        let outcome = async {
            let mut tx = self.writer.begin().await?;
            let full = table.insert_sql(BULK_ROWS_PER_STATEMENT, DB::NUMBERED_BULK_PLACEHOLDERS);
            let mut rows = rows.into_iter().peekable();
            while rows.peek().is_some() {
                let chunk: Vec<Vec<Value>> = rows.by_ref().take(BULK_ROWS_PER_STATEMENT).collect();
                let sql = if chunk.len() == BULK_ROWS_PER_STATEMENT { full.clone() } else { table.insert_sql(chunk.len(), DB::NUMBERED_BULK_PLACEHOLDERS) };
                query(sql).bind_all(chunk.into_iter().flatten()).execute(&mut tx).await?;
            }
            tx.commit().await?;
            Ok(())
        }
        .await;
        for setting in DB::BULK_AFTER {
            query(*setting).execute(&self.writer).await?;
        }
        outcome
    }
}
