//! Make's JSON shapes for our domain types: the API renders them, the CLI prints the same shapes with
//! `--json`, and the OpenAPI document describes them from these very types (`openapi.rs`), so that what
//! is documented is what is sent.

use gatehouse_domain::catalogue;
use gatehouse_domain::oauth::{Grant, OAuthClient};
use gatehouse_domain::{ApiToken, Organization, Page, SortDir, SortKey, Team, Timestamp, User};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A view as a JSON value, for the handlers that keep only the columns asked for (`cols[]`).
pub fn to_value(view: impl Serialize) -> Value {
    // Serializing these types cannot fail: they hold no map with non-string keys and no custom
    // `Serialize`. A failure would be a bug in this file, shown as null rather than a panic.
    serde_json::to_value(view).unwrap_or(Value::Null)
}

/// `authUser` as `GET /users/me` returns it. Gatehouse keeps time zones, locales and countries by name and
/// answers Make's catalogue ids beside them (`GET /enums/timezones`, `/enums/locales`, `/enums/countries`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthUser {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub language: String,
    /// The time zone's catalogue id (`GET /enums/timezones`).
    pub timezone_id: Option<i64>,
    /// The locale's catalogue id (`GET /enums/locales`).
    pub locale_id: Option<i64>,
    /// The country's catalogue id (`GET /enums/countries`); null when none is set.
    pub country_id: Option<i64>,
    /// Always empty.
    #[schema(value_type = Object)]
    pub features: Map<String, Value>,
    /// Always empty.
    pub avatar: String,
    /// An IANA time zone name.
    pub timezone: String,
    pub locale: String,
    /// An ISO 3166-1 alpha-2 code, if set.
    pub country: Option<String>,
    pub email_notifications: bool,
    /// 1 for a platform administrator, else null.
    pub users_admins_role_id: Option<i64>,
    pub force_set_password: bool,
    pub has_password: bool,
    pub tfa_enabled: bool,
}

pub fn auth_user_view(user: &User) -> AuthUser {
    AuthUser {
        id: user.id.0,
        name: user.name.clone(),
        email: user.email.as_str().to_string(),
        language: user.language.clone(),
        timezone_id: catalogue::timezone_by_code(&user.timezone).map(|zone| zone.id),
        locale_id: catalogue::locale_by_code(&user.locale).map(|locale| locale.id),
        country_id: user.country.as_deref().and_then(catalogue::country_by_code).map(|country| country.id),
        features: Map::new(),
        avatar: String::new(),
        timezone: user.timezone.clone(),
        locale: user.locale.clone(),
        country: user.country.clone(),
        email_notifications: true,
        users_admins_role_id: user.is_admin.then_some(1),
        force_set_password: false,
        has_password: user.password_hash.is_some(),
        tfa_enabled: false,
    }
}

pub fn auth_user(user: &User) -> Value {
    to_value(auth_user_view(user))
}

/// A user as administrators list them: `authUser` and whether they administer the platform.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminUser {
    #[serde(flatten)]
    pub user: AuthUser,
    pub is_admin: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct License {
    /// Requests per minute for the whole organization.
    pub api_limit: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationView {
    pub id: i64,
    pub name: String,
    pub zone: String,
    /// The time zone's catalogue id (`GET /enums/timezones`).
    pub timezone_id: Option<i64>,
    /// The country's catalogue id (`GET /enums/countries`); null when none is set.
    pub country_id: Option<i64>,
    pub timezone: String,
    pub country: Option<String>,
    pub license: License,
}

pub fn organization_view(org: &Organization) -> OrganizationView {
    OrganizationView {
        id: org.id.0,
        name: org.name.clone(),
        zone: org.zone.clone(),
        timezone_id: catalogue::timezone_by_code(&org.timezone).map(|zone| zone.id),
        country_id: org.country.as_deref().and_then(catalogue::country_by_code).map(|country| country.id),
        timezone: org.timezone.clone(),
        country: org.country.clone(),
        license: License { api_limit: org.api_limit },
    }
}

pub fn organization(org: &Organization) -> Value {
    to_value(organization_view(org))
}

/// A team as its organization's detail lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamName {
    pub id: i64,
    pub name: String,
}

/// An organization with its teams (`GET /organizations/{id}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationDetail {
    #[serde(flatten)]
    pub organization: OrganizationView,
    pub teams: Vec<TeamName>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamView {
    pub id: i64,
    pub name: String,
    pub organization_id: i64,
}

pub fn team_view(team: &Team) -> TeamView {
    TeamView { id: team.id.0, name: team.name.clone(), organization_id: team.organization_id.0 }
}

pub fn team(team: &Team) -> Value {
    to_value(team_view(team))
}

pub fn iso(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, |at| Value::String(at.to_iso()))
}

/// A token as listed: masked, with its key, scopes and (beyond Make) expiry and last use.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListedToken {
    /// The token with all but its last characters masked.
    pub token: String,
    pub label: String,
    pub scope: Vec<&'static str>,
    /// The token's key: `DELETE /users/me/api-tokens/{created}` names it by this timestamp.
    #[schema(format = DateTime)]
    pub created: String,
    /// Beyond Make: when the token stops working, if ever.
    #[schema(format = DateTime)]
    pub expires: Option<String>,
    /// Beyond Make: when the token was last used, to the minute or so.
    #[schema(format = DateTime)]
    pub last_used: Option<String>,
}

pub fn listed_token_view(token: &ApiToken, last_used: Option<Timestamp>) -> ListedToken {
    ListedToken {
        token: token.masked(),
        label: token.label.as_str().to_string(),
        scope: token.scopes.names(),
        created: token.created.to_iso(),
        expires: token.expires_at.map(Timestamp::to_iso),
        last_used: last_used.map(Timestamp::to_iso),
    }
}

pub fn listed_token(token: &ApiToken, last_used: Option<Timestamp>) -> Value {
    to_value(listed_token_view(token, last_used))
}

/// A client as listed. Never its secret (only its approval shows that, once).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub description: String,
    /// `confidential` or `public`.
    #[serde(rename = "type")]
    pub client_type: &'static str,
    pub redirect_uris: Vec<String>,
    pub scope: Vec<&'static str>,
    /// `pending`, `approved` or `rejected`.
    pub status: &'static str,
    pub owner_id: i64,
    pub allow_refresh: bool,
    #[schema(format = DateTime)]
    pub created: String,
}

pub fn client_view_of(client: &OAuthClient) -> ClientView {
    ClientView {
        client_id: client.id.as_str().to_string(),
        name: client.name.clone(),
        description: client.description.clone(),
        client_type: client.client_type.as_str(),
        redirect_uris: client.redirect_uris.iter().map(|uri| uri.as_str().to_string()).collect(),
        scope: client.scopes.names(),
        status: client.status.as_str(),
        owner_id: client.owner.0,
        allow_refresh: client.allow_refresh,
        created: client.created.to_iso(),
    }
}

pub fn client_view(client: &OAuthClient) -> Value {
    to_value(client_view_of(client))
}

/// A client as its approval returns it: with its secret, shown here once and never again.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovedClient {
    #[serde(flatten)]
    pub client: ClientView,
    /// A confidential client's secret; null for a public client.
    pub client_secret: Option<String>,
}

/// A user's grant as "authorized apps" lists it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizedApp {
    pub client_id: String,
    /// The client's name; null when the client has been deleted since.
    pub name: Option<String>,
    pub scope: Vec<&'static str>,
    pub organization_id: Option<i64>,
    #[schema(format = DateTime)]
    pub created: String,
    #[schema(format = DateTime)]
    pub last_used: Option<String>,
}

pub fn authorized_app(grant: &Grant, client: Option<&OAuthClient>) -> AuthorizedApp {
    AuthorizedApp {
        client_id: grant.client_id.as_str().to_string(),
        name: client.map(|client| client.name.clone()),
        scope: grant.scopes.names(),
        organization_id: grant.organization_id.map(|id| id.0),
        created: grant.created.to_iso(),
        last_used: grant.last_used.map(Timestamp::to_iso),
    }
}

/// The echo of `pg` that Make's list responses carry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageEcho {
    /// `id` or `name`.
    pub sort_by: &'static str,
    /// `asc` or `desc`.
    pub sort_dir: &'static str,
    pub limit: u32,
    pub offset: u32,
}

pub fn page_echo(page: Page) -> PageEcho {
    PageEcho {
        sort_by: match page.sort_by {
            SortKey::Id => "id",
            SortKey::Name => "name",
        },
        sort_dir: match page.sort_dir {
            SortDir::Asc => "asc",
            SortDir::Desc => "desc",
        },
        limit: page.limit,
        offset: page.offset,
    }
}
