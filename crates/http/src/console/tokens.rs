//! Make's API access page (`/user/api`, the page Make's CLI opens): the user's tokens, adding one with a
//! label and scopes (shown once, then never again), and deleting one after a confirmation.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use gatehouse_app::api_tokens::TokenRequest;
use gatehouse_domain::scope::ScopeGroup;
use gatehouse_domain::{Scope, ScopeSet, Timestamp};

use super::page::{self, DoneQuery, Chrome, Reveal, SignedIn, form_message, notice, see_other};
use crate::state::AppState;

/// The purpose a new token is sealed under on its way to the next page.
const NEW_TOKEN: &str = "api-token";

#[derive(Template)]
#[template(path = "console/tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tokens: Vec<TokenRow>,
    new_token: Option<String>,
}

struct TokenRow {
    created_key: String,
    label: String,
    masked: String,
    scopes: Vec<&'static str>,
    created: String,
    last_used: String,
    expires: String,
}

const TOKEN_NOTICES: &[(&str, &str)] = &[("deleted", "The token is deleted. It no longer works anywhere.")];

/// `GET /user/api`: the list; right after "Save", the new token once.
pub async fn list(State(state): State<AppState>, signed_in: SignedIn, headers: HeaderMap, Query(query): Query<DoneQuery>) -> Response {
    let listed = match state.app.list_api_tokens(signed_in.user.id).await {
        Ok(listed) => listed,
        Err(error) => return page::app_error(&error),
    };
    let tokens = listed
        .into_iter()
        .map(|listed| TokenRow {
            created_key: listed.token.created.to_iso(),
            label: listed.token.label.as_str().to_string(),
            masked: listed.token.masked(),
            scopes: listed.token.scopes.names(),
            created: page::when(listed.token.created),
            last_used: listed.last_used.map_or_else(|| "Never".to_string(), page::when),
            expires: listed.token.expires_at.map_or_else(|| "Never".to_string(), page::when),
        })
        .collect();
    let revealed = Reveal::take(&state, &signed_in, &headers, NEW_TOKEN);
    let chrome = signed_in.chrome("api", notice(query.done(), TOKEN_NOTICES));
    let new_token = revealed.as_ref().map(|(token, _)| token.clone());
    let mut response = page::render(StatusCode::OK, &TokensPage { chrome, tokens, new_token });
    if let Some((_, clear)) = revealed {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

#[derive(Template)]
#[template(path = "console/token_new.html")]
struct NewTokenPage<'a> {
    chrome: Chrome,
    label: &'a str,
    expires: &'a str,
    groups: Vec<ScopeFieldset>,
    message: Option<&'a str>,
}

/// One `<fieldset>` of scope checkboxes, as Make's scopes page groups them.
pub struct ScopeFieldset {
    pub legend: &'static str,
    pub hint: &'static str,
    pub scopes: Vec<ScopeBox>,
}

pub struct ScopeBox {
    pub name: &'static str,
    pub description: &'static str,
    pub checked: bool,
}

/// The scope checkboxes a user may tick: the standard scopes for everyone, the administration scopes only
/// for platform administrators (Make shows those only on White Label platforms' admin accounts).
pub fn scope_fieldsets(is_admin: bool, checked: ScopeSet) -> Vec<ScopeFieldset> {
    let boxes = |group: ScopeGroup| {
        ScopeSet::catalog()
            .filter(|scope| scope.info().group == group)
            .map(|scope| ScopeBox { name: scope.name(), description: scope.info().description, checked: checked.contains(scope) })
            .collect::<Vec<_>>()
    };
    let mut groups = vec![ScopeFieldset {
        legend: "Standard user scopes",
        hint: "Read (:read) or change (:write) your own data and your organizations' and teams' data.",
        scopes: boxes(ScopeGroup::User),
    }];
    if is_admin {
        groups.push(ScopeFieldset {
            legend: "Administration scopes",
            hint: "Only for administrators of this platform.",
            scopes: boxes(ScopeGroup::Administration),
        });
    }
    groups
}

/// `GET /user/api/new`: the "Add token" form.
pub async fn new_form(signed_in: SignedIn) -> Response {
    let groups = scope_fieldsets(signed_in.user.is_admin, ScopeSet::EMPTY);
    let chrome = signed_in.chrome("api", None);
    page::render(StatusCode::OK, &NewTokenPage { chrome, label: "", expires: "", groups, message: None })
}

/// `POST /user/api`: creates the token with the same use case as the API, then redirects to the list,
/// which shows it once (post/redirect/get: a reload never creates a second token).
pub async fn create(State(state): State<AppState>, signed_in: SignedIn, headers: HeaderMap, body: Bytes) -> Response {
    let form = match signed_in.verify_form(&headers, &body) {
        Ok(form) => form,
        Err(response) => return response,
    };
    let label = form.get("label").ok().flatten().unwrap_or("");
    let expires = form.get("expires").ok().flatten().unwrap_or("");
    let scope_names: Vec<String> = form.all("scopes").into_iter().map(str::to_string).collect();
    let again = |message: &str| {
        // Keep what was ticked, so a mistake costs one correction, not the whole form.
        let checked = scope_names.iter().filter_map(|name| Scope::parse(name)).fold(ScopeSet::EMPTY, |mut set, scope| {
            set.insert(scope);
            set
        });
        let groups = scope_fieldsets(signed_in.user.is_admin, checked);
        let chrome = signed_in.chrome("api", None);
        page::render(StatusCode::BAD_REQUEST, &NewTokenPage { chrome, label, expires, groups, message: Some(message) })
    };
    let expires_at = match parse_expiry(expires) {
        Ok(expires_at) => expires_at,
        Err(message) => return again(message),
    };
    if scope_names.is_empty() {
        return again("Tick at least one scope.");
    }
    let request = TokenRequest { label, scopes: &scope_names, expires_at };
    match state.app.issue_api_token(&signed_in.actor(), request).await {
        Ok((secret, _)) => match Reveal::carry(&state, &signed_in, NEW_TOKEN, &secret.reveal()) {
            Ok(cookie) => {
                let mut response = see_other("/user/api");
                response.headers_mut().append(header::SET_COOKIE, cookie);
                response
            }
            Err(response) => response,
        },
        Err(error) => match form_message(error) {
            Ok(message) => again(&message),
            Err(response) => response,
        },
    }
}

/// The expiry field: empty for a token that does not expire, or a date (`<input type="date">` sends
/// `YYYY-MM-DD`), meaning the end of that day in UTC.
fn parse_expiry(text: &str) -> Result<Option<Timestamp>, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let is_date = text.len() == 10 && text.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if !is_date {
        return Err("The expiry must be a date, such as 2027-01-31.");
    }
    Timestamp::parse_iso(&format!("{text}T23:59:59.999Z")).map(Some).ok_or("The expiry must be a date, such as 2027-01-31.")
}

#[derive(Template)]
#[template(path = "console/token_delete.html")]
struct DeletePage {
    chrome: Chrome,
    created_key: String,
    label: String,
    masked: String,
}

/// `GET /user/api/tokens/{created}/delete`: "Delete the token …?", a confirmation that works without
/// script.
pub async fn delete_confirm(State(state): State<AppState>, signed_in: SignedIn, Path(created): Path<String>) -> Response {
    let Some(created) = Timestamp::parse_iso(&created) else {
        return page::error_page(StatusCode::NOT_FOUND, "There is no such token.");
    };
    let listed = match state.app.list_api_tokens(signed_in.user.id).await {
        Ok(listed) => listed,
        Err(error) => return page::app_error(&error),
    };
    let Some(token) = listed.into_iter().find(|listed| listed.token.created == created).map(|listed| listed.token) else {
        return page::error_page(StatusCode::NOT_FOUND, "There is no such token. It may have been deleted already.");
    };
    let chrome = signed_in.chrome("api", None);
    page::render(
        StatusCode::OK,
        &DeletePage { chrome, created_key: token.created.to_iso(), label: token.label.as_str().to_string(), masked: token.masked() },
    )
}

/// `POST /user/api/tokens/{created}/delete`: deletes the token on every node.
pub async fn delete(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(created): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = signed_in.verify_form(&headers, &body) {
        return response;
    }
    let Some(created) = Timestamp::parse_iso(&created) else {
        return page::error_page(StatusCode::NOT_FOUND, "There is no such token.");
    };
    match state.app.delete_api_token(&signed_in.actor(), created).await {
        Ok(_) => see_other("/user/api?done=deleted"),
        Err(error) => page::app_error(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expiry_is_empty_or_a_date() {
        assert_eq!(parse_expiry(""), Ok(None));
        assert_eq!(parse_expiry("2027-01-31").map(|t| t.map(Timestamp::to_iso)), Ok(Some("2027-01-31T23:59:59.999Z".to_string())));
        for bad in ["2027-1-31", "tomorrow", "2027-13-01", "2027-02-30", "２０２７-01-31", "2027-01-31T00:00:00Z"] {
            assert!(parse_expiry(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn administration_scopes_are_offered_to_administrators_only() {
        let user = scope_fieldsets(false, ScopeSet::EMPTY);
        assert_eq!(user.len(), 1);
        assert!(user[0].scopes.iter().all(|scope| !Scope::parse(scope.name).is_some_and(Scope::is_administration)));
        assert!(user[0].scopes.iter().any(|scope| scope.name == "scenarios:read"));
        let admin = scope_fieldsets(true, ScopeSet::EMPTY);
        assert!(admin.iter().any(|group| group.scopes.iter().any(|scope| scope.name == "admin:read")));
    }
}
