//! What was revoked: the feed every node follows to drop its caches, access tokens revoked one by one
//! (RFC 7009), and the purge of rows that expiry made irrelevant.

use async_trait::async_trait;
use gatehouse_domain::ids::{FamilyId, GrantId, Jti};
use gatehouse_domain::oauth::ClientId;
use gatehouse_domain::{Timestamp, TokenHash, UserId};
use sqlx::Transaction;

use crate::backend::{Backend, query};
use gatehouse_domain::revocation::Revoked;
use crate::listener::RevocationListener;
use crate::sql_store::SqlStore;
use crate::error::StoreResult;

/// Whom a token family was issued to: its client, and its user (none for client credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyOwner {
    pub client_id: ClientId,
    pub user_id: Option<UserId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationEvent {
    pub id: i64,
    pub revoked: Revoked,
    /// When the revocation was written (the writer's clock): how far behind a node applies it.
    pub created: Timestamp,
}

#[async_trait]
pub trait RevocationRepository: Send + Sync {
    /// Revocation events after `after`, oldest first, at most `limit`.
    async fn revocations_after(&self, after: i64, limit: i64) -> StoreResult<Vec<RevocationEvent>>;
    /// The newest revocation event's id (0 when there is none): where a starting node begins to follow.
    async fn last_revocation_id(&self) -> StoreResult<i64>;
    /// Deletes events created before `before`.
    async fn prune_revocations(&self, before: Timestamp) -> StoreResult<u64>;
    /// A push channel for revocations, where the backend has one (PostgreSQL); `None` means poll only.
    async fn revocation_listener(&self) -> StoreResult<Option<Box<dyn RevocationListener>>>;

    /// Revokes one access token until it would have expired anyway.
    async fn revoke_access_token(&self, jti: &Jti, expires_at: Timestamp, now: Timestamp) -> StoreResult<()>;
    /// The family of an access token that may still be used (its family is live and it was not revoked by
    /// itself), so that the caller can check the token's `sub` and `client_id` against the family's
    /// (issue 10, hole 7). `None` when the token may not be used.
    async fn live_access_token_family(&self, family: &FamilyId, jti: &Jti) -> StoreResult<Option<FamilyOwner>>;

    /// Deletes expired codes, sessions and revocation records, and keys past retirement.
    async fn purge_expired_oauth(&self, now: Timestamp) -> StoreResult<()>;
}

/// How an event is stored: a kind and a subject. OAuth subjects keep the form written before [`Revoked`]
/// had a variant per subject (kind `oauth`, subject `family:…`, `grant:…`, `client:…` or `jti:…`), so
/// that events written by older nodes still read right, and older nodes still read ours during a rolling
/// upgrade.
pub(crate) fn kind_and_subject(revoked: &Revoked) -> (&'static str, String) {
    match revoked {
        Revoked::ApiToken(hash) => ("api_token", hash.to_hex()),
        Revoked::User(user) => ("user", user.0.to_string()),
        Revoked::Family(id) => ("oauth", format!("family:{id}")),
        Revoked::Grant(id) => ("oauth", format!("grant:{id}")),
        Revoked::Client(id) => ("oauth", format!("client:{}", id.as_str())),
        Revoked::AccessToken(jti) => ("oauth", format!("jti:{jti}")),
        Revoked::Unknown => ("unknown", String::new()),
    }
}

pub(crate) fn from_kind_and_subject(kind: &str, subject: &str) -> Revoked {
    match kind {
        "api_token" => TokenHash::from_hex(subject).map_or(Revoked::Unknown, Revoked::ApiToken),
        "user" => subject.parse().map_or(Revoked::Unknown, |id| Revoked::User(UserId(id))),
        "oauth" => match subject.split_once(':') {
            Some(("family", id)) => Revoked::Family(FamilyId::from(id)),
            Some(("grant", id)) => id.parse().map_or(Revoked::Unknown, |id| Revoked::Grant(GrantId(id))),
            Some(("client", id)) => Revoked::Client(ClientId::from_stored(id.to_string())),
            Some(("jti", jti)) => Revoked::AccessToken(Jti::from(jti)),
            _ => Revoked::Unknown,
        },
        _ => Revoked::Unknown,
    }
}

/// Records a revocation inside the caller's transaction, and wakes listening nodes on commit.
pub(crate) async fn record_revocation<DB: Backend>(
    tx: &mut Transaction<'_, DB>,
    revoked: &Revoked,
    now: Timestamp,
) -> StoreResult<()> {
    let (kind, subject) = kind_and_subject(revoked);
    query("INSERT INTO revocations (kind, subject, created) VALUES ($1, $2, $3)")
        .bind(kind)
        .bind(subject)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    if let Some(notify) = DB::NOTIFY_REVOCATION {
        query(notify).execute(&mut *tx).await?;
    }
    Ok(())
}

#[async_trait]
impl<DB: Backend> RevocationRepository for SqlStore<DB> {
    async fn revocations_after(&self, after: i64, limit: i64) -> StoreResult<Vec<RevocationEvent>> {
        let rows = query("SELECT id, kind, subject, created FROM revocations WHERE id > $1 ORDER BY id ASC LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.get("kind")?;
                let subject: String = row.get("subject")?;
                Ok(RevocationEvent {
                    id: row.get("id")?,
                    revoked: from_kind_and_subject(&kind, &subject),
                    created: row.get("created")?,
                })
            })
            .collect()
    }

    async fn last_revocation_id(&self) -> StoreResult<i64> {
        query("SELECT COALESCE(MAX(id), 0) AS id FROM revocations").fetch_one(&self.pool).await?.get("id")
    }

    async fn prune_revocations(&self, before: Timestamp) -> StoreResult<u64> {
        query("DELETE FROM revocations WHERE created < $1").bind(before).execute(&self.writer).await
    }

    async fn revocation_listener(&self) -> StoreResult<Option<Box<dyn RevocationListener>>> {
        DB::listen(&self.pool).await
    }

    async fn revoke_access_token(&self, jti: &Jti, expires_at: Timestamp, now: Timestamp) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        query("INSERT INTO oauth_revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
            .bind(jti)
            .bind(expires_at)
            .execute(&mut tx)
            .await?;
        record_revocation(&mut tx, &Revoked::AccessToken(jti.clone()), now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn live_access_token_family(&self, family: &FamilyId, jti: &Jti) -> StoreResult<Option<FamilyOwner>> {
        let row = query(
            "SELECT f.client_id, f.user_id FROM oauth_families f
             WHERE f.id = $1 AND f.revoked_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM oauth_revoked_access_tokens r WHERE r.jti = $2)",
        )
        .bind(family)
        .bind(jti)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok(FamilyOwner { client_id: row.get("client_id")?, user_id: row.get("user_id")? })).transpose()
    }

    async fn purge_expired_oauth(&self, now: Timestamp) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        // Used codes are kept until they expire, so that a replay is still recognised as one.
        for table in ["oauth_codes", "oauth_sessions", "oauth_revoked_access_tokens", "oauth_refresh_tokens", "password_resets"] {
            query(format!("DELETE FROM {table} WHERE expires_at < $1")).bind(now).execute(&mut tx).await?;
        }
        query("DELETE FROM oauth_signing_keys WHERE retire_at IS NOT NULL AND retire_at < $1").bind(now).execute(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_written_before_the_enum_read_as_their_subject() {
        // Exactly what the store wrote when OAuth revocations were one string variant.
        assert_eq!(from_kind_and_subject("oauth", "family:f-1"), Revoked::Family("f-1".into()));
        assert_eq!(from_kind_and_subject("oauth", "grant:42"), Revoked::Grant(GrantId(42)));
        assert_eq!(from_kind_and_subject("oauth", "client:app:1"), Revoked::Client(ClientId::from_stored("app:1".into())));
        assert_eq!(from_kind_and_subject("oauth", "jti:abc"), Revoked::AccessToken("abc".into()));
        assert_eq!(from_kind_and_subject("user", "7"), Revoked::User(UserId(7)));
        assert_eq!(from_kind_and_subject("oauth", "grant:x"), Revoked::Unknown);
        assert_eq!(from_kind_and_subject("oauth", "session:1"), Revoked::Unknown);
        assert_eq!(from_kind_and_subject("webhook", "1"), Revoked::Unknown);
    }

    #[test]
    fn every_kind_reads_back_as_written() {
        let all = [
            Revoked::ApiToken(TokenHash::from_stored(&[7; 32]).expect("32 bytes")),
            Revoked::User(UserId(3)),
            Revoked::Family("fam".into()),
            Revoked::Grant(GrantId(9)),
            Revoked::Client(ClientId::from_stored("c".into())),
            Revoked::AccessToken("j".into()),
            Revoked::Unknown,
        ];
        for revoked in all {
            let (kind, subject) = kind_and_subject(&revoked);
            assert_eq!(from_kind_and_subject(kind, &subject), revoked);
        }
    }
}
