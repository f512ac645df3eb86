//! Authorization codes (RFC 6749 §4.1): stored by hash, used once.
//!
//! Single use is enforced in SQL, not in memory: `UPDATE … SET used_at = $1 WHERE … AND used_at IS NULL`
//! succeeds for exactly one of several racing nodes, and the caller reads the count of changed rows.

use async_trait::async_trait;
use gatehouse_domain::oauth::{AuthorizationCode, CodeChallenge, RedirectUri};
use gatehouse_domain::{Timestamp, TokenHash};

use crate::backend::{Backend, Row, query};
use crate::schema::OAUTH_CODES;
use crate::sql_store::SqlStore;
use crate::error::StoreResult;

#[async_trait]
pub trait CodeRepository: Send + Sync {
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()>;
    async fn code_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<AuthorizationCode>>;
    /// Marks the code used. Atomic: of two nodes racing, exactly one gets `true`.
    async fn consume_code(&self, hash: &TokenHash, now: Timestamp) -> StoreResult<bool>;
}

fn code_from_row<DB: Backend>(row: &Row<DB>) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        hash: row.get("code_hash")?,
        client_id: row.get("client_id")?,
        user_id: row.get("user_id")?,
        grant_id: row.get("grant_id")?,
        family_id: row.get("family_id")?,
        redirect_uri: RedirectUri::from_stored(row.get("redirect_uri")?),
        redirect_uri_in_request: row.get("redirect_uri_in_request")?,
        scopes: row.get("scopes")?,
        organization_id: row.get("organization_id")?,
        challenge: CodeChallenge::from_stored(row.get("code_challenge")?),
        nonce: row.get("nonce")?,
        auth_time: row.get("auth_time")?,
        created: row.get("created")?,
        expires_at: row.get("expires_at")?,
        used_at: row.get("used_at")?,
    })
}

#[async_trait]
impl<DB: Backend> CodeRepository for SqlStore<DB> {
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        let row = OAUTH_CODES.row(vec![
            ("code_hash", (&code.hash).into()),
            ("client_id", (&code.client_id).into()),
            ("user_id", code.user_id.into()),
            ("grant_id", code.grant_id.into()),
            ("family_id", (&code.family_id).into()),
            ("redirect_uri", code.redirect_uri.as_str().into()),
            ("scopes", code.scopes.into()),
            ("organization_id", code.organization_id.into()),
            ("code_challenge", code.challenge.as_str().into()),
            ("nonce", (&code.nonce).into()),
            ("auth_time", code.auth_time.into()),
            ("created", code.created.into()),
            ("expires_at", code.expires_at.into()),
            ("used_at", code.used_at.into()),
            ("redirect_uri_in_request", code.redirect_uri_in_request.into()),
        ])?;
        query(OAUTH_CODES.insert_one()).bind_all(row).execute(&self.writer).await?;
        Ok(())
    }

    async fn code_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<AuthorizationCode>> {
        let sql = format!("SELECT {} FROM oauth_codes WHERE code_hash = $1", OAUTH_CODES.column_list());
        let row = query(sql).bind(hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(code_from_row).transpose()
    }

    async fn consume_code(&self, hash: &TokenHash, now: Timestamp) -> StoreResult<bool> {
        let changed = query("UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL")
            .bind(now)
            .bind(hash)
            .execute(&self.writer)
            .await?;
        Ok(changed == 1)
    }
}
