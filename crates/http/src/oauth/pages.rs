//! The login, consent and error pages. Plain HTML with every value escaped; no script. The form contract
//! (field names, the CSRF hidden input) is fixed for scripted clients and tests.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use gatehouse_domain::{Organization, ScopeSet};

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}\
label{display:block;margin:.8rem 0 .2rem}input,select{width:100%;padding:.4rem;box-sizing:border-box}\
button{margin:1rem .5rem 0 0;padding:.5rem 1.2rem}.error{color:#a00}li{margin:.3rem 0}";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1>{body}</body></html>",
        escape(title),
        escape(title)
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    // The pages may not be framed (clickjacking) and nothing on them needs a script or a remote resource.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An error that must not go back to the client (unknown client, unregistered redirect URI…).
pub fn error(status: StatusCode, message: &str) -> Response {
    page(status, "Authorization error", &format!("<p class=\"error\">{}</p>", escape(message)))
}

pub fn login(status: StatusCode, csrf: &str, request: &str, client_name: &str, login_hint: Option<&str>, message: Option<&str>) -> Response {
    let message = message.map(|m| format!("<p class=\"error\">{}</p>", escape(m))).unwrap_or_default();
    let body = format!(
        "<p>Sign in to continue to <strong>{}</strong>.</p>{message}\
         <form method=\"post\" action=\"/oauth/v2/authorize/login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"request\" value=\"{}\">\
         <label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required value=\"{}\">\
         <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form>",
        escape(client_name),
        escape(csrf),
        escape(request),
        escape(login_hint.unwrap_or("")),
    );
    page(status, "Sign in", &body)
}

pub struct ConsentView<'a> {
    pub csrf: &'a str,
    pub request: &'a str,
    pub client_name: &'a str,
    pub client_description: &'a str,
    pub user_email: &'a str,
    pub scopes: ScopeSet,
    pub organizations: &'a [Organization],
    pub selected: Option<i64>,
    pub message: Option<&'a str>,
}

pub fn consent(status: StatusCode, view: &ConsentView<'_>) -> Response {
    let scopes: String = view
        .scopes
        .iter()
        .map(|scope| format!("<li>{} <small>({})</small></li>", escape(scope.info().description), escape(scope.name())))
        .collect();
    let options: String = view
        .organizations
        .iter()
        .map(|org| {
            let selected = if view.selected == Some(org.id) { " selected" } else { "" };
            format!("<option value=\"{}\"{selected}>{}</option>", org.id, escape(&org.name))
        })
        .collect();
    let organizations = if view.organizations.is_empty() {
        "<p>You belong to no organization; the app will reach no organization's data.</p>".to_string()
    } else {
        format!("<label for=\"organizationId\">Organization</label><select id=\"organizationId\" name=\"organizationId\">{options}</select>")
    };
    let message = view.message.map(|m| format!("<p class=\"error\">{}</p>", escape(m))).unwrap_or_default();
    let description = if view.client_description.is_empty() {
        String::new()
    } else {
        format!("<p><em>{}</em></p>", escape(view.client_description))
    };
    let body = format!(
        "<p><strong>{}</strong> asks for access to your account <strong>{}</strong>.</p>{description}{message}\
         <p>It will be able to:</p><ul>{scopes}</ul>\
         <form method=\"post\" action=\"/oauth/v2/authorize/consent\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"request\" value=\"{}\">{organizations}\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        escape(view.client_name),
        escape(view.user_email),
        escape(view.csrf),
        escape(view.request),
    );
    page(status, "Allow access?", &body)
}
