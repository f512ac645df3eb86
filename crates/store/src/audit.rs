//! The audit log: appended through a group committer, listed newest first with filters. There is no
//! update and no delete here; the databases refuse them too (migration 0006).

use std::sync::LazyLock;

use async_trait::async_trait;
use gatehouse_domain::oauth::ClientId;
use gatehouse_domain::{AuditActor, AuditDetails, AuditEvent, AuditFilter, AuditKind, AuditOrigin, AuditPage, Email};
use sqlx::Pool;

use crate::backend::{Backend, Row, query};
use crate::group_commit::Committer;
use crate::schema::AUDIT_EVENTS;
use crate::sql_store::SqlStore;
use crate::error::StoreError;
use crate::error::StoreResult;

#[async_trait]
pub trait AuditRepository: Send + Sync {
    /// Appends an event with the organizations that see it; answers once it is committed. Concurrent
    /// appends share one transaction (see `group_commit`), so recording costs a busy server no extra flush.
    async fn append_audit_event(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Events that match every filter given, a page of them, newest first unless the page asks otherwise.
    /// Their `visible_to` is left empty.
    async fn audit_events(&self, filter: &AuditFilter, page: AuditPage) -> StoreResult<Vec<AuditEvent>>;
}

/// The most events one transaction appends.
pub(crate) const AUDIT_BATCH: usize = 256;

pub(crate) type AuditCommitter = Committer<AuditEvent, StoreResult<()>>;

/// The committer every `SqlStore` appends through, writing on `writer`.
pub(crate) fn spawn_audit_committer<DB: Backend>(writer: Pool<DB>) -> AuditCommitter {
    Committer::spawn(AUDIT_BATCH, move |batch| {
        let writer = writer.clone();
        async move { append_batch(&writer, batch).await }
    })
}

/// Every column but the generated `id`.
static INSERT_EVENT: LazyLock<String> = LazyLock::new(|| {
    let columns: Vec<&str> = AUDIT_EVENTS.columns.iter().map(|(name, _)| *name).filter(|name| *name != "id").collect();
    let placeholders: Vec<String> = (1..=columns.len()).map(|n| format!("${n}")).collect();
    format!("INSERT INTO audit_events ({}) VALUES ({}) RETURNING id", columns.join(", "), placeholders.join(", "))
});

const INSERT_LINK: &str = "INSERT INTO audit_event_organizations (organization_id, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";

/// A batch in one transaction; if it fails as a whole, each event alone, so one bad event never fails
/// its neighbours and each caller hears its own outcome.
async fn append_batch<DB: Backend>(pool: &Pool<DB>, events: Vec<AuditEvent>) -> Vec<StoreResult<()>> {
    if events.len() > 1 && append_in_one_transaction(pool, &events).await.is_ok() {
        return events.iter().map(|_| Ok(())).collect();
    }
    let mut outcomes = Vec::with_capacity(events.len());
    for event in &events {
        outcomes.push(append_in_one_transaction(pool, std::slice::from_ref(event)).await);
    }
    outcomes
}

async fn append_in_one_transaction<DB: Backend>(pool: &Pool<DB>, events: &[AuditEvent]) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    for event in events {
        let id: i64 = query(INSERT_EVENT.as_str())
            .bind(event.uuid.as_str())
            .bind(event.kind.as_str())
            .bind(event.at)
            .bind(event.actor.kind())
            .bind(event.actor.user_id())
            .bind(event.actor.client_id().map(ClientId::as_str))
            .bind(event.actor.account().map(Email::as_str))
            .bind(event.origin.address.map(|address| address.to_string()))
            .bind(event.origin.request_id.clone())
            .bind(event.organization)
            .bind(event.details.target_id.clone())
            .bind(event.details.target_user)
            .bind(event.details.target_client.as_ref().map(ClientId::as_str))
            .bind(event.details.facts_json())
            .fetch_one(&mut tx)
            .await?
            .get("id")?;
        let mut organizations = event.visible_to.clone();
        organizations.extend(event.organization);
        organizations.sort();
        organizations.dedup();
        for organization in organizations {
            query(INSERT_LINK).bind(organization).bind(id).execute(&mut tx).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

fn event_from_row<DB: Backend>(row: &Row<DB>) -> StoreResult<AuditEvent> {
    let kind_text: String = row.get("kind")?;
    let kind = AuditKind::parse(&kind_text).ok_or_else(|| StoreError::Corrupt(format!("unknown audit event kind {kind_text}")))?;
    let actor_type: String = row.get("actor_type")?;
    let actor_client: Option<String> = row.get("actor_client_id")?;
    let account: Option<String> = row.get("actor_account")?;
    let actor = AuditActor::from_parts(
        &actor_type,
        row.get("actor_user_id")?,
        actor_client.map(ClientId::from_stored),
        account.map(Email::from_stored),
    )
    .ok_or_else(|| StoreError::Corrupt(format!("unknown audit actor {actor_type}")))?;
    let address: Option<String> = row.get("client_address")?;
    let origin = AuditOrigin { address: address.and_then(|text| text.parse().ok()), request_id: row.get("request_id")? };
    let target_client: Option<String> = row.get("target_client_id")?;
    let details_json: String = row.get("details")?;
    let mut details = AuditDetails::new()
        .with_stored_facts(&details_json)
        .ok_or_else(|| StoreError::Corrupt("an audit event's details are not a JSON object".into()))?;
    details.target_id = row.get("target_id")?;
    details.target_user = row.get("target_user_id")?;
    details.target_client = target_client.map(ClientId::from_stored);
    Ok(AuditEvent {
        uuid: row.get("uuid")?,
        kind,
        at: row.get("occurred_at")?,
        actor,
        origin,
        organization: row.get("organization_id")?,
        visible_to: Vec::new(),
        details,
    })
}

#[async_trait]
impl<DB: Backend> AuditRepository for SqlStore<DB> {
    async fn append_audit_event(&self, event: &AuditEvent) -> StoreResult<()> {
        self.audit.submit(event.clone()).await.unwrap_or(Err(StoreError::Corrupt("the audit committer has stopped".into())))
    }

    async fn audit_events(&self, filter: &AuditFilter, page: AuditPage) -> StoreResult<Vec<AuditEvent>> {
        let mut sql = format!("SELECT {} FROM audit_events e", AUDIT_EVENTS.column_list_of("e."));
        let mut values: Vec<crate::value::Value> = Vec::new();
        let next = |value: crate::value::Value, values: &mut Vec<crate::value::Value>| {
            values.push(value);
            format!("${}", values.len())
        };
        if let Some(organization) = filter.organization {
            let placeholder = next(organization.into(), &mut values);
            sql.push_str(&format!(" JOIN audit_event_organizations o ON o.event_id = e.id AND o.organization_id = {placeholder}"));
        }
        let mut conditions: Vec<String> = Vec::new();
        if !filter.kinds.is_empty() {
            let placeholders: Vec<String> = filter.kinds.iter().map(|kind| next(kind.as_str().into(), &mut values)).collect();
            conditions.push(format!("e.kind IN ({})", placeholders.join(", ")));
        }
        if let Some(user) = filter.actor_user {
            conditions.push(format!("e.actor_user_id = {}", next(user.into(), &mut values)));
        }
        if let Some(since) = filter.since {
            conditions.push(format!("e.occurred_at >= {}", next(since.into(), &mut values)));
        }
        if let Some(until) = filter.until {
            conditions.push(format!("e.occurred_at <= {}", next(until.into(), &mut values)));
        }
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        // Time first, then the insertion order: events of one millisecond keep the order they happened in.
        let direction = if page.oldest_first { "ASC" } else { "DESC" };
        sql.push_str(&format!(" ORDER BY e.occurred_at {direction}, e.id {direction} LIMIT {} OFFSET {}", page.limit, page.offset));
        let rows = query(sql).bind_all(values).fetch_all(&self.pool).await?;
        rows.iter().map(event_from_row).collect()
    }
}
