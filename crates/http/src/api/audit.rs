//! The audit log, in Make's shape: `GET /audit-logs/organization/{organizationId}` for an organization's
//! owners and admins (and platform administrators), and `GET /admin/audit-logs` for the whole platform.
//! Choices and differences from Make are listed in `docs/compatibility.md`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use gatehouse_app::AppError;
use gatehouse_app::audit::AuditEntry;
use gatehouse_domain::{AuditFilter, AuditKind, AuditPage, Email, OrganizationId, Page, Timestamp, UserId};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, MakeErrorBody};
use crate::extract::{MakeQuery, path_id};
use crate::state::AppState;

/// Entries per page when `pg[limit]` is not given.
pub const DEFAULT_LIMIT: u32 = 100;

/// Make's `GET /audit-logs/organization/{organizationId}`.
#[utoipa::path(get, path = "/api/v2/audit-logs/organization/{id}", tag = "audit", operation_id = "audit-logs-organization",
    params(("id" = i64, Path, description = "The organization's id."), AuditLogQuery),
    responses(
        (status = 200, description = "A page of the organization's events, newest first unless pg[sortDir]=asc.", body = AuditLogList),
        (status = 400, description = "An unknown event name, author, date or paging value (IM005).", body = MakeErrorBody),
        (status = 403, description = "The caller is a member but neither an owner nor an admin of the organization.", body = MakeErrorBody),
        (status = 404, description = "No organization the caller belongs to has this id.", body = MakeErrorBody),
    ))]
pub async fn organization_log(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let id = OrganizationId(path_id(&id, "organization")?);
    let query = AuditQuery::parse(raw.as_deref().unwrap_or(""))?;
    let Some(filter) = query.filter(&state).await? else {
        // Checked all the same: an outsider must not learn anything from an author that matches nobody.
        state.app.organization_audit_log(&caller.actor, id, AuditFilter::default(), AuditPage { limit: 0, ..query.page }).await?;
        return Ok(Json(listing(&[], query.page)));
    };
    let (_, entries) = state.app.organization_audit_log(&caller.actor, id, filter, query.page).await?;
    Ok(Json(listing(&entries, query.page)))
}

/// `GET /admin/audit-logs`: every event of the platform, with Make's filters and `organizationId`.
#[utoipa::path(get, path = "/api/v2/admin/audit-logs", tag = "admin", operation_id = "admin-audit-logs",
    params(AuditLogQuery, ("organizationId" = Option<i64>, Query, description = "Only this organization's events.")),
    responses(
        (status = 200, description = "A page of the platform's events, newest first unless pg[sortDir]=asc.", body = AuditLogList),
        (status = 400, description = "An unknown event name, author, date or paging value (IM005).", body = MakeErrorBody),
    ))]
pub async fn platform_log(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Json<Value>> {
    let raw = raw.unwrap_or_default();
    let query = AuditQuery::parse(&raw)?;
    let Some(mut filter) = query.filter(&state).await? else {
        return Ok(Json(listing(&[], query.page)));
    };
    let make_query = MakeQuery::parse(&raw);
    if make_query.get("organizationId").is_some() {
        filter.organization = Some(OrganizationId(make_query.required_id("organizationId")?));
    }
    let entries = state.app.audit_log(filter, query.page).await?;
    Ok(Json(listing(&entries, query.page)))
}

fn listing(entries: &[AuditEntry], page: AuditPage) -> Value {
    let listed: Vec<Value> = entries.iter().map(entry).collect();
    json!({
        "auditLogs": listed,
        "pg": {
            "sortBy": "triggeredAt",
            "sortDir": if page.oldest_first { "asc" } else { "desc" },
            "limit": page.limit,
            "offset": page.offset,
        }
    })
}

/// One entry in Make's shape (`uuid`, `createdAt`, `triggeredAt`, `organizationId`, `organization`,
/// `eventName`, `team`, `actor`, `targetId`, `version`), with Gatehouse's own fields after them. The CLI
/// prints the same shape with `--json`.
pub fn entry(entry: &AuditEntry) -> Value {
    let event = &entry.event;
    let mut details = event.details.facts().clone();
    let version = details.remove("version").unwrap_or(Value::Null);
    let actor_user = entry.actor.as_ref();
    json!({
        "uuid": event.uuid,
        "createdAt": event.at.to_iso(),
        "triggeredAt": event.at.as_millis(),
        "organizationId": event.organization,
        "organization": event.organization.map(|id| json!({
            "id": id,
            "name": entry.organization.as_ref().map(|org| org.name.clone()),
        })),
        "eventName": event.kind.as_str(),
        "team": Value::Null,
        "actor": {
            "id": event.actor.user_id(),
            "name": actor_user.map(|user| user.name.clone()),
            "email": actor_user.map(|user| user.email.as_str().to_string()).or_else(|| event.actor.account().map(|email| email.as_str().to_string())),
            "type": event.actor.kind(),
            "clientId": event.actor.client_id().map(|client| client.as_str().to_string()),
        },
        "targetId": event.details.target_id,
        "version": version,
        "targetUserId": event.details.target_user,
        "targetClientId": event.details.target_client.as_ref().map(|client| client.as_str().to_string()),
        "clientAddress": event.origin.address.map(|address| address.to_string()),
        "requestId": event.origin.request_id,
        "details": details,
    })
}

/// Make's audit-log query: `event` (one, or `event[0]`, `event[1]`…), `author` (a user id or email),
/// `dateFrom` and `dateTo` (a date or an RFC 3339 time), `pg[offset]`, `pg[limit]`, `pg[sortBy]`
/// (`triggeredAt` only) and `pg[sortDir]`.
pub struct AuditQuery {
    kinds: Vec<AuditKind>,
    author: Option<String>,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    pub page: AuditPage,
}

impl AuditQuery {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(raw.as_bytes()).map(|(key, value)| (key.into_owned(), value.into_owned())).collect();
        let query = MakeQuery::parse(raw);
        let mut kinds = Vec::new();
        for (key, value) in &pairs {
            let is_event = key == "event" || (key.starts_with("event[") && key.ends_with(']'));
            if !is_event {
                continue;
            }
            let kind = AuditKind::parse(value).ok_or_else(|| {
                let known: Vec<&str> = AuditKind::ALL.iter().map(|kind| kind.as_str()).collect();
                ApiError::invalid_input(format!("Unknown event {value:?}; the events are: {}.", known.join(", ")))
            })?;
            kinds.push(kind);
        }
        if pairs.iter().any(|(key, _)| key == "team" || key.starts_with("team[")) {
            return Err(ApiError::invalid_input("The team filter is not supported: Gatehouse's events belong to organizations and users, not teams."));
        }
        let authors: Vec<&str> =
            pairs.iter().filter(|(key, _)| key == "author" || key.starts_with("author[")).map(|(_, value)| value.as_str()).collect();
        if authors.len() > 1 {
            return Err(ApiError::invalid_input("Give one author (a user id or email address)."));
        }
        let since = query.get("dateFrom").map(|text| parse_date(text, "dateFrom", false)).transpose()?;
        let until = query.get("dateTo").map(|text| parse_date(text, "dateTo", true)).transpose()?;
        let mut page = AuditPage { limit: DEFAULT_LIMIT, ..AuditPage::default() };
        if let Some(limit) = query.get("pg[limit]") {
            page.limit = limit
                .parse::<u32>()
                .ok()
                .filter(|limit| (1..=Page::MAX_LIMIT).contains(limit))
                .ok_or_else(|| ApiError::invalid_input(format!("pg[limit] must be an integer from 1 to {}.", Page::MAX_LIMIT)))?;
        }
        if let Some(offset) = query.get("pg[offset]") {
            page.offset = offset.parse::<u32>().map_err(|_| ApiError::invalid_input("pg[offset] must be a non-negative integer."))?;
        }
        if let Some(sort_by) = query.get("pg[sortBy]")
            && sort_by != "triggeredAt"
        {
            return Err(ApiError::invalid_input("pg[sortBy] must be triggeredAt."));
        }
        if let Some(sort_dir) = query.get("pg[sortDir]") {
            page.oldest_first = match sort_dir.to_ascii_lowercase().as_str() {
                "asc" => true,
                "desc" => false,
                _ => return Err(ApiError::invalid_input("pg[sortDir] must be asc or desc.")),
            };
        }
        Ok(Self { kinds, author: authors.first().map(|author| author.to_string()), since, until, page })
    }

    /// The filter, with the author resolved to a user; `None` when the author names nobody (no event can
    /// match).
    pub async fn filter(&self, state: &AppState) -> Result<Option<AuditFilter>, ApiError> {
        let actor_user = match self.author.as_deref().map(str::trim) {
            None => None,
            Some(text) => match text.parse::<i64>() {
                Ok(id) => Some(UserId(id)),
                Err(_) => {
                    let email = Email::parse(text).map_err(|_| ApiError::invalid_input("author must be a user id or an email address."))?;
                    match state.app.user_by_email(email.as_str()).await {
                        Ok(user) => Some(user.id),
                        Err(AppError::NotFound(_)) => return Ok(None),
                        Err(other) => return Err(other.into()),
                    }
                }
            },
        };
        Ok(Some(AuditFilter { organization: None, kinds: self.kinds.clone(), actor_user, since: self.since, until: self.until }))
    }
}

/// Make documents `YYYY-MM-DD` and shows full times in its examples: both are accepted. A date alone is
/// the whole day: from its first millisecond, or until its last.
fn parse_date(text: &str, name: &str, end_of_day: bool) -> Result<Timestamp, ApiError> {
    let invalid = || ApiError::invalid_input(format!("{name} must be a date (YYYY-MM-DD) or an RFC 3339 time."));
    if let Some(at) = Timestamp::parse_iso(text) {
        return Ok(at);
    }
    let start = Timestamp::parse_iso(&format!("{}T00:00:00Z", text.trim())).ok_or_else(invalid)?;
    Ok(if end_of_day { start.plus_millis(86_400_000 - 1) } else { start })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_one_or_as_an_array_and_unknown_ones_are_refused() {
        let query = AuditQuery::parse("event[0]=login_failed&event%5B1%5D=api_token_created").expect("valid");
        assert_eq!(query.kinds, vec![AuditKind::LoginFailed, AuditKind::ApiTokenCreated]);
        assert_eq!(AuditQuery::parse("event=login_failed").expect("valid").kinds, vec![AuditKind::LoginFailed]);
        assert!(AuditQuery::parse("event=key_created").is_err());
    }

    #[test]
    fn a_date_alone_covers_the_whole_day() {
        let query = AuditQuery::parse("dateFrom=2026-01-01&dateTo=2026-01-01").expect("valid");
        assert_eq!(query.since.map(Timestamp::to_iso).as_deref(), Some("2026-01-01T00:00:00.000Z"));
        assert_eq!(query.until.map(Timestamp::to_iso).as_deref(), Some("2026-01-01T23:59:59.999Z"));
        assert!(AuditQuery::parse("dateFrom=yesterday").is_err());
    }

    #[test]
    fn paging_is_makes_and_sorts_by_time_only() {
        let query = AuditQuery::parse("pg[limit]=5&pg[offset]=10&pg[sortDir]=asc").expect("valid");
        assert_eq!(query.page, AuditPage { limit: 5, offset: 10, oldest_first: true });
        assert!(AuditQuery::parse("pg[sortBy]=name").is_err());
        assert!(AuditQuery::parse("pg[limit]=0").is_err());
        assert!(AuditQuery::parse("team=1").is_err());
        assert!(AuditQuery::parse("author=1&author[1]=2").is_err());
    }
}

// What `listing` and `entry` write, for the OpenAPI document. They build JSON directly (the CLI prints the same
// shape), so these types are never built; `openapi::tests` and the audit integration tests read the real
// answers against the same field names.

/// Make's audit-log query.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes what `AuditQuery::parse` reads; never built.
pub struct AuditLogQuery {
    /// An event name (`api_token_created`, …), or several as `event[0]`, `event[1]`, ….
    event: Option<String>,
    /// Only what this user did: a user id or an email.
    author: Option<String>,
    /// From this date (`2026-12-01`) or RFC 3339 time, inclusive.
    #[param(rename = "dateFrom")]
    date_from: Option<String>,
    /// Up to this date or RFC 3339 time, inclusive.
    #[param(rename = "dateTo")]
    date_to: Option<String>,
    /// How many entries (default 100).
    #[param(rename = "pg[limit]", minimum = 1)]
    limit: Option<u32>,
    /// How many entries to skip.
    #[param(rename = "pg[offset]", minimum = 0)]
    offset: Option<u32>,
    /// `triggeredAt` only.
    #[param(rename = "pg[sortBy]")]
    sort_by: Option<String>,
    /// `desc` (the default) or `asc`.
    #[param(rename = "pg[sortDir]")]
    sort_dir: Option<String>,
}

/// A page of audit-log entries.
#[derive(serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes `listing`'s JSON; never built.
pub struct AuditLogList {
    audit_logs: Vec<AuditLogEntry>,
    pg: AuditLogPaging,
}

#[derive(serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes `listing`'s JSON; never built.
pub struct AuditLogPaging {
    /// Always `triggeredAt`.
    sort_by: String,
    /// `desc` or `asc`.
    sort_dir: String,
    limit: u32,
    offset: u32,
}

/// One event: Make's fields, then Gatehouse's own. Never a secret.
#[derive(serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes `entry`'s JSON; never built.
pub struct AuditLogEntry {
    uuid: String,
    /// ISO 8601.
    created_at: String,
    /// Milliseconds since the Unix epoch.
    triggered_at: i64,
    organization_id: Option<i64>,
    #[schema(value_type = Option<Object>)]
    organization: Option<Value>,
    /// What happened: `api_token_created`, `login_failed`, `refresh_token_replayed`, ….
    event_name: String,
    /// Always null: teams have no log of their own yet.
    #[schema(value_type = Option<Object>)]
    team: Option<Value>,
    /// Who: `id`, `name`, `email`, `type` (`user`, `client`, `operator`, `anonymous`, `system`), `clientId`.
    #[schema(value_type = Object)]
    actor: Value,
    target_id: Option<String>,
    /// Before and after, for changes (a role, say).
    #[schema(value_type = Option<Object>)]
    version: Option<Value>,
    target_user_id: Option<i64>,
    target_client_id: Option<String>,
    /// The client's address, through trusted proxies; null at the command line.
    client_address: Option<String>,
    /// The request's `X-Request-Id`.
    request_id: Option<String>,
    /// What the event touched: label, scopes, role, key ids, reason.
    #[schema(value_type = Object)]
    details: Value,
}
