//! The profile page: the user's own name, language, locale, time zone and country, changed through the
//! same use case as `PATCH /api/v2/users/me`, with Make's catalogue ids.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gatehouse_app::profile::ProfileChanges;
use gatehouse_domain::{User, catalogue};

use super::page::{self, DoneQuery, Chrome, SignedIn, form_message, notice, see_other};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "console/profile.html")]
struct ProfilePage<'a> {
    chrome: Chrome,
    name: &'a str,
    email: &'a str,
    languages: Vec<Choice>,
    locales: Vec<Choice>,
    timezones: Vec<Choice>,
    countries: Vec<Choice>,
    message: Option<&'a str>,
}

/// One `<option>`.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

const PROFILE_NOTICES: &[(&str, &str)] = &[("saved", "Your profile is saved.")];

fn profile_page<'a>(chrome: Chrome, user: &'a User, name: &'a str, message: Option<&'a str>) -> ProfilePage<'a> {
    let languages = catalogue::languages()
        .into_iter()
        .map(|code| Choice { value: code.to_string(), label: language_name(code), selected: user.language == code })
        .collect();
    let locales = catalogue::locales()
        .iter()
        .map(|locale| Choice { value: locale.id.to_string(), label: format!("{} ({})", locale.name, locale.code), selected: user.locale == locale.code })
        .collect();
    let timezones = catalogue::timezones()
        .iter()
        .map(|zone| Choice { value: zone.id.to_string(), label: zone.name(), selected: user.timezone == zone.code })
        .collect();
    let current_country = user.country.as_deref().and_then(catalogue::country_by_code);
    let mut countries = vec![Choice { value: String::new(), label: "Not set".to_string(), selected: current_country.is_none() }];
    countries.extend(catalogue::countries().iter().map(|country| Choice {
        value: country.id.to_string(),
        label: country.name.to_string(),
        selected: current_country.is_some_and(|current| current.id == country.id),
    }));
    ProfilePage { chrome, name, email: user.email.as_str(), languages, locales, timezones, countries, message }
}

/// A language's name, from the first locale written in it ("English" for `en`).
fn language_name(code: &str) -> String {
    catalogue::locales()
        .iter()
        .find(|locale| locale.language == code && locale.code == code)
        .or_else(|| catalogue::locales().iter().find(|locale| locale.language == code))
        .map_or_else(|| code.to_string(), |locale| locale.name.to_string())
}

/// `GET /user/profile`.
pub async fn profile(signed_in: SignedIn, Query(query): Query<DoneQuery>) -> Response {
    let chrome = signed_in.chrome("profile", notice(query.done(), PROFILE_NOTICES));
    page::render(StatusCode::OK, &profile_page(chrome, &signed_in.user, &signed_in.user.name, None))
}

/// `POST /user/profile`: every field at once; a bad value changes nothing and is shown on the form.
pub async fn update(State(state): State<AppState>, signed_in: SignedIn, headers: HeaderMap, body: Bytes) -> Response {
    let form = match signed_in.verify_form(&headers, &body) {
        Ok(form) => form,
        Err(response) => return response,
    };
    let text = |key: &str| form.get(key).ok().flatten().map(str::to_string);
    let id = |key: &str| -> Result<Option<i64>, String> {
        match form.get(key).ok().flatten() {
            None => Ok(None),
            Some(value) => value.parse::<i64>().map(Some).map_err(|_| format!("Choose a {key} from the list.")),
        }
    };
    let name = text("name").unwrap_or_default();
    let again = |message: &str| {
        let chrome = signed_in.chrome("profile", None);
        page::render(StatusCode::BAD_REQUEST, &profile_page(chrome, &signed_in.user, &name, Some(message)))
    };
    let (locale_id, timezone_id, country_id) = match (id("locale"), id("timezone"), id("country")) {
        (Ok(locale), Ok(timezone), Ok(country)) => (locale, timezone, country),
        (Err(message), _, _) | (_, Err(message), _) | (_, _, Err(message)) => return again(&message),
    };
    let changes = ProfileChanges { name: Some(name.clone()), language: text("language"), locale_id, timezone_id, country_id };
    match state.app.update_profile(&signed_in.actor(), changes).await {
        Ok(_) => see_other("/user/profile?done=saved"),
        Err(error) => match form_message(error) {
            Ok(message) => again(&message),
            Err(response) => response,
        },
    }
}

#[derive(Template)]
#[template(path = "console/account_delete.html")]
struct DeleteAccountPage<'a> {
    chrome: Chrome,
    email: &'a str,
    message: Option<&'a str>,
}

/// `GET /user/delete`: what deleting the account ends, and the button that does it.
pub async fn delete_confirm(signed_in: SignedIn) -> Response {
    let chrome = signed_in.chrome("profile", None);
    page::render(StatusCode::OK, &DeleteAccountPage { chrome, email: signed_in.user.email.as_str(), message: None })
}

/// `POST /user/delete`: the same use case as `DELETE /api/v2/users/me`. Every credential of the user ends
/// on every node, this session included. Refused while the user is an organization's only owner.
pub async fn delete(State(state): State<AppState>, signed_in: SignedIn, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = signed_in.verify_form(&headers, &body) {
        return response;
    }
    match state.app.delete_own_account(&signed_in.actor()).await {
        Ok(()) => {
            let mut response = see_other("/login?done=account-deleted");
            if let Ok(clear) = crate::cookies::session_clear_cookie(page::is_secure(&state)) {
                response.headers_mut().append(axum::http::header::SET_COOKIE, clear);
            }
            response
        }
        Err(error) => match form_message(error) {
            Ok(message) => {
                let chrome = signed_in.chrome("profile", None);
                page::render(
                    StatusCode::CONFLICT,
                    &DeleteAccountPage { chrome, email: signed_in.user.email.as_str(), message: Some(&message) },
                )
            }
            Err(response) => response,
        },
    }
}
