//! Make's JSON shapes for our domain types: the API renders them, and the CLI prints the same shapes
//! with `--json`.

use gatehouse_domain::oauth::{Grant, OAuthClient};
use gatehouse_domain::{ApiToken, Organization, Team, Timestamp, User};
use serde_json::{Value, json};

/// `authUser` as `GET /users/me` returns it. Gatehouse keeps time zones, locales and countries by name;
/// Make's numeric catalogue ids (`timezoneId`, `localeId`, `countryId`) have no meaning here and are null.
pub fn auth_user(user: &User) -> Value {
    json!({
        "id": user.id.0,
        "name": user.name,
        "email": user.email.as_str(),
        "language": user.language,
        "timezoneId": null,
        "localeId": null,
        "countryId": null,
        "features": {},
        "avatar": "",
        "timezone": user.timezone,
        "locale": user.locale,
        "country": user.country,
        "emailNotifications": true,
        "usersAdminsRoleId": if user.is_admin { json!(1) } else { Value::Null },
        "forceSetPassword": false,
        "hasPassword": user.password_hash.is_some(),
        "tfaEnabled": false,
    })
}

pub fn organization(org: &Organization) -> Value {
    json!({
        "id": org.id,
        "name": org.name,
        "zone": org.zone,
        "timezoneId": null,
        "countryId": null,
        "timezone": org.timezone,
        "country": org.country,
        "license": { "apiLimit": org.api_limit },
    })
}

pub fn team(team: &Team) -> Value {
    json!({
        "id": team.id,
        "name": team.name,
        "organizationId": team.organization_id,
    })
}

pub fn iso(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, |at| Value::String(at.to_iso()))
}

/// A token as listed: masked, with its key, scopes and (beyond Make) expiry and last use.
pub fn listed_token(token: &ApiToken, last_used: Option<Timestamp>) -> Value {
    json!({
        "token": token.masked(),
        "label": token.label.as_str(),
        "scope": token.scopes.names(),
        "created": token.created.to_iso(),
        "expires": iso(token.expires_at),
        "lastUsed": iso(last_used),
    })
}

/// A client as listed. Never its secret (only its approval shows that, once).
pub fn client_view(client: &OAuthClient) -> Value {
    json!({
        "clientId": client.id.as_str(),
        "name": client.name,
        "description": client.description,
        "type": client.client_type.as_str(),
        "redirectUris": client.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        "scope": client.scopes.names(),
        "status": client.status.as_str(),
        "ownerId": client.owner.0,
        "allowRefresh": client.allow_refresh,
        "created": client.created.to_iso(),
    })
}

/// A user's grant as "authorized apps" lists it.
pub fn authorized_app(grant: &Grant, client: Option<&OAuthClient>) -> Value {
    json!({
        "clientId": grant.client_id.as_str(),
        "name": client.map(|c| c.name.as_str()),
        "scope": grant.scopes.names(),
        "organizationId": grant.organization_id,
        "created": grant.created.to_iso(),
        "lastUsed": iso(grant.last_used),
    })
}
