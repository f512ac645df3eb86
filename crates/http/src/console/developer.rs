//! OAuth apps, for developers: Make's registration form (a request an administrator reviews), the
//! developer's requests and clients, and a new client secret, shown once.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use gatehouse_app::clients::ClientRegistration;
use gatehouse_domain::oauth::{ClientStatus, ClientType};
use gatehouse_domain::{Scope, ScopeSet};

use super::page::{self, DoneQuery, Chrome, Reveal, SignedIn, form_message, notice, see_other};
use super::tokens::{ScopeFieldset, scope_fieldsets};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "console/developer_apps.html")]
struct AppsPage {
    chrome: Chrome,
    apps: Vec<AppRow>,
    new_secret: Option<String>,
}

struct AppRow {
    id: String,
    name: String,
    status: &'static str,
    client_type: &'static str,
    redirect_uris: Vec<String>,
    rotatable: bool,
    rejection: Option<String>,
}

const APP_NOTICES: &[(&str, &str)] = &[
    ("requested", "Your app was sent for review. An administrator will approve or reject it."),
    ("rotated", "The app has a new secret; the old one no longer works."),
];

/// What carries a rotated secret to the page that shows it once.
const NEW_SECRET: &str = "developer-new-client-secret";

/// `GET /developer/apps`: the developer's requests and clients.
pub async fn list(State(state): State<AppState>, signed_in: SignedIn, headers: HeaderMap, Query(query): Query<DoneQuery>) -> Response {
    let clients = match state.app.list_clients(None, Some(signed_in.user.id)).await {
        Ok(clients) => clients,
        Err(error) => return page::app_error(&error),
    };
    let mut apps = Vec::with_capacity(clients.len());
    for client in clients {
        let rejection = match client.status {
            ClientStatus::Rejected => match state.app.client_rejection_reason(&client.id).await {
                Ok(reason) => reason,
                Err(error) => return page::app_error(&error),
            },
            _ => None,
        };
        apps.push(AppRow {
            id: client.id.to_string(),
            name: client.name,
            status: match client.status {
                ClientStatus::Requested => "pending",
                ClientStatus::Approved => "approved",
                ClientStatus::Rejected => "rejected",
            },
            client_type: client.client_type.as_str(),
            redirect_uris: client.redirect_uris.iter().map(|uri| uri.as_str().to_string()).collect(),
            rotatable: client.status == ClientStatus::Approved && client.client_type == ClientType::Confidential,
            rejection,
        });
    }
    let revealed = Reveal::take(&state, &signed_in, &headers, NEW_SECRET);
    let chrome = signed_in.chrome("developer", notice(query.done(), APP_NOTICES));
    let new_secret = revealed.as_ref().map(|(secret, _)| secret.clone());
    let mut response = page::render(StatusCode::OK, &AppsPage { chrome, apps, new_secret });
    if let Some((_, clear)) = revealed {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

#[derive(Template)]
#[template(path = "console/developer_app_new.html")]
struct NewAppPage<'a> {
    chrome: Chrome,
    name: &'a str,
    client_type: &'a str,
    redirect_uris: &'a str,
    description: &'a str,
    groups: Vec<ScopeFieldset>,
    message: Option<&'a str>,
}

/// `GET /developer/apps/new`: Make's registration form.
pub async fn new_form(signed_in: SignedIn) -> Response {
    let groups = scope_fieldsets(signed_in.user.is_admin, ScopeSet::EMPTY);
    let chrome = signed_in.chrome("developer", None);
    let page = NewAppPage { chrome, name: "", client_type: "confidential", redirect_uris: "", description: "", groups, message: None };
    page::render(StatusCode::OK, &page)
}

/// `POST /developer/apps`: files the request with the same use case as the API.
pub async fn request(State(state): State<AppState>, signed_in: SignedIn, headers: HeaderMap, body: Bytes) -> Response {
    let form = match signed_in.verify_form(&headers, &body) {
        Ok(form) => form,
        Err(response) => return response,
    };
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("").to_string();
    let (name, client_type, uris_text, description) = (field("name"), field("type"), field("redirectUris"), field("description"));
    let redirect_uris: Vec<String> = uris_text.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_string).collect();
    let scopes: Vec<String> = form.all("scopes").into_iter().map(str::to_string).collect();
    let registration = ClientRegistration {
        name: name.trim(),
        description: description.trim(),
        client_type: &client_type,
        redirect_uris: &redirect_uris,
        scopes: &scopes,
    };
    match state.app.request_client(&signed_in.actor(), registration).await {
        Ok(_) => see_other("/developer/apps?done=requested"),
        Err(error) => match form_message(error) {
            Ok(message) => {
                let checked = scopes.iter().filter_map(|name| Scope::parse(name)).fold(ScopeSet::EMPTY, |mut set, scope| {
                    set.insert(scope);
                    set
                });
                let page = NewAppPage {
                    chrome: signed_in.chrome("developer", None),
                    name: &name,
                    client_type: &client_type,
                    redirect_uris: &uris_text,
                    description: &description,
                    groups: scope_fieldsets(signed_in.user.is_admin, checked),
                    message: Some(&message),
                };
                page::render(StatusCode::BAD_REQUEST, &page)
            }
            Err(response) => response,
        },
    }
}

/// `POST /developer/apps/{clientId}/secret`: a new secret for the developer's own approved confidential
/// client, shown once on the list the redirect leads to.
pub async fn rotate_secret(State(state): State<AppState>, signed_in: SignedIn, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = signed_in.verify_form(&headers, &body) {
        return response;
    }
    // Another developer's client is not there, as far as this page is concerned.
    match state.app.find_client(&id).await {
        Ok(client) if client.owner == signed_in.user.id => {}
        Ok(_) => return page::error_page(StatusCode::NOT_FOUND, "The client does not exist."),
        Err(error) => return page::app_error(&error),
    }
    match state.app.rotate_client_secret(&id, Some(&signed_in.actor())).await {
        Ok((_, secret)) => match Reveal::carry(&state, &signed_in, NEW_SECRET, &secret.reveal()) {
            Ok(cookie) => {
                let mut response = see_other("/developer/apps?done=rotated");
                response.headers_mut().append(header::SET_COOKIE, cookie);
                response
            }
            Err(response) => response,
        },
        Err(error) => page::app_error(&error),
    }
}
