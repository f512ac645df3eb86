//! OAuth clients: requested by a developer, approved or rejected by an administrator.

use async_trait::async_trait;
use gatehouse_domain::oauth::{ClientId, ClientStatus, ClientType, OAuthClient, RedirectUri};
use gatehouse_domain::{Timestamp, UserId};

use crate::backend::{Backend, Row, is_unique_violation, query};
use crate::value::Value;
use crate::revocations::record_revocation;
use crate::schema::OAUTH_CLIENTS;
use gatehouse_domain::revocation::Revoked;
use crate::sql_store::SqlStore;
use crate::error::StoreError;
use crate::error::StoreResult;

#[async_trait]
pub trait ClientRepository: Send + Sync {
    async fn insert_oauth_client(&self, client: &OAuthClient) -> StoreResult<()>;
    async fn oauth_client(&self, id: &ClientId) -> StoreResult<Option<OAuthClient>>;
    /// Clients, oldest first, optionally only those with a status or an owner.
    async fn list_oauth_clients(&self, status: Option<ClientStatus>, owner: Option<UserId>) -> StoreResult<Vec<OAuthClient>>;
    /// Saves status, secret, scopes and the refresh switch, and puts the change on the revocation feed so
    /// that every node reads the client afresh.
    async fn update_oauth_client(&self, client: &OAuthClient, now: Timestamp) -> StoreResult<bool>;
    /// Rejects the client in one transaction: status rejected, no secret, every live family (and its
    /// refresh tokens) revoked, and the change on the revocation feed. Returns the client as it now
    /// stands, or `None` when there is no such client.
    async fn reject_client(&self, id: &ClientId, now: Timestamp) -> StoreResult<Option<OAuthClient>>;
    /// Keeps why an administrator rejected the client (the console's review queue), replacing an older reason.
    async fn set_rejection_reason(&self, id: &ClientId, reason: &str, now: Timestamp) -> StoreResult<()>;
    async fn rejection_reason(&self, id: &ClientId) -> StoreResult<Option<String>>;
    /// Deletes the client with its grants, families, codes and refresh tokens.
    async fn delete_oauth_client(&self, id: &ClientId, now: Timestamp) -> StoreResult<bool>;
}

fn client_from_row<DB: Backend>(row: &Row<DB>) -> StoreResult<OAuthClient> {
    let uris: String = row.get("redirect_uris")?;
    Ok(OAuthClient {
        id: row.get("id")?,
        name: row.get("name")?,
        description: row.get("description")?,
        client_type: ClientType::parse(&row.get::<String>("client_type")?).map_err(|error| StoreError::Corrupt(error.0))?,
        secret_hash: row.get("secret_hash")?,
        // Redirect URIs never contain whitespace, so a newline separates them.
        redirect_uris: uris.lines().map(|uri| RedirectUri::from_stored(uri.to_string())).collect(),
        scopes: row.get("scopes")?,
        status: ClientStatus::parse(&row.get::<String>("status")?).map_err(|error| StoreError::Corrupt(error.0))?,
        owner: row.get("owner_id")?,
        allow_refresh: row.get("allow_refresh")?,
        created: row.get("created")?,
    })
}

fn client_row(client: &OAuthClient) -> StoreResult<Vec<Value>> {
    let uris: Vec<&str> = client.redirect_uris.iter().map(RedirectUri::as_str).collect();
    OAUTH_CLIENTS.row(vec![
        ("id", (&client.id).into()),
        ("name", (&client.name).into()),
        ("description", (&client.description).into()),
        ("client_type", client.client_type.as_str().into()),
        ("secret_hash", client.secret_hash.into()),
        ("redirect_uris", uris.join("\n").into()),
        ("scopes", client.scopes.into()),
        ("status", client.status.as_str().into()),
        ("owner_id", client.owner.into()),
        ("allow_refresh", client.allow_refresh.into()),
        ("created", client.created.into()),
    ])
}

#[async_trait]
impl<DB: Backend> ClientRepository for SqlStore<DB> {
    async fn set_rejection_reason(&self, id: &ClientId, reason: &str, now: Timestamp) -> StoreResult<()> {
        query(
            "INSERT INTO oauth_client_rejections (client_id, reason, rejected_at) VALUES ($1, $2, $3)
             ON CONFLICT (client_id) DO UPDATE SET reason = excluded.reason, rejected_at = excluded.rejected_at",
        )
        .bind(id)
        .bind(reason)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn rejection_reason(&self, id: &ClientId) -> StoreResult<Option<String>> {
        let row = query("SELECT reason FROM oauth_client_rejections WHERE client_id = $1").bind(id).fetch_optional(&self.pool).await?;
        row.map(|row| row.get("reason")).transpose()
    }

    async fn insert_oauth_client(&self, client: &OAuthClient) -> StoreResult<()> {
        let result = query(OAUTH_CLIENTS.insert_one()).bind_all(client_row(client)?).execute(&self.writer).await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_unique_violation(&error) => Err(StoreError::Conflict("a client with this id already exists")),
            Err(error) => Err(error),
        }
    }

    async fn oauth_client(&self, id: &ClientId) -> StoreResult<Option<OAuthClient>> {
        let sql = format!("SELECT {} FROM oauth_clients WHERE id = $1", OAUTH_CLIENTS.column_list());
        let row = query(sql).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn list_oauth_clients(&self, status: Option<ClientStatus>, owner: Option<UserId>) -> StoreResult<Vec<OAuthClient>> {
        let sql = format!(
            "SELECT {} FROM oauth_clients
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR owner_id = $2)
             ORDER BY created ASC, id ASC",
            OAUTH_CLIENTS.column_list()
        );
        let rows = query(sql).bind(status.map(ClientStatus::as_str)).bind(owner).fetch_all(&self.pool).await?;
        rows.iter().map(client_from_row).collect()
    }

    async fn update_oauth_client(&self, client: &OAuthClient, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        let changed = query("UPDATE oauth_clients SET status = $1, secret_hash = $2, scopes = $3, allow_refresh = $4 WHERE id = $5")
            .bind(client.status.as_str())
            .bind(client.secret_hash)
            .bind(client.scopes)
            .bind(client.allow_refresh)
            .bind(&client.id)
            .execute(&mut tx)
            .await?;
        if changed == 1 {
            // Nodes cache clients: a rotated secret or a rejection must reach them all.
            record_revocation(&mut tx, &Revoked::Client(client.id.clone()), now).await?;
        }
        tx.commit().await?;
        Ok(changed == 1)
    }

    async fn reject_client(&self, id: &ClientId, now: Timestamp) -> StoreResult<Option<OAuthClient>> {
        let mut tx = self.writer.begin().await?;
        let sql = format!(
            "UPDATE oauth_clients SET status = $1, secret_hash = NULL WHERE id = $2 RETURNING {}",
            OAUTH_CLIENTS.column_list()
        );
        let Some(row) = query(sql).bind(ClientStatus::Rejected.as_str()).bind(id).fetch_optional(&mut tx).await? else {
            return Ok(None);
        };
        let client = client_from_row(&row)?;
        // A client rejected after approval loses every token it holds, at once.
        query("UPDATE oauth_families SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut tx)
            .await?;
        query("UPDATE oauth_refresh_tokens SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut tx)
            .await?;
        // One event covers both: nodes reread the client and forget every access token's liveness.
        record_revocation(&mut tx, &Revoked::Client(id.clone()), now).await?;
        tx.commit().await?;
        Ok(Some(client))
    }

    async fn delete_oauth_client(&self, id: &ClientId, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        // Refresh tokens reference families, which cascade; delete explicitly for clarity.
        query("DELETE FROM oauth_refresh_tokens WHERE client_id = $1").bind(id).execute(&mut tx).await?;
        let deleted = query("DELETE FROM oauth_clients WHERE id = $1").bind(id).execute(&mut tx).await?;
        if deleted == 1 {
            record_revocation(&mut tx, &Revoked::Client(id.clone()), now).await?;
        }
        tx.commit().await?;
        Ok(deleted == 1)
    }
}
