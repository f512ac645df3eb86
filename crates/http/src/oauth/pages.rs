//! The login, consent and error pages, rendered by askama from `crates/http/templates/` (one base layout,
//! one page each), every value escaped by the template engine. No script and no inline style: the one
//! stylesheet is embedded in the binary and served by [`stylesheet`]. The form contract (field names, the
//! CSRF hidden input, the `decision` buttons) is fixed for scripted clients and tests.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use gatehouse_domain::{Organization, OrganizationId, ScopeSet};

/// The escaper askama applies to every value in a `.html` template (configured in `crates/http/askama.toml`).
/// It writes the five named entities the pages have always used, rather than askama's numeric ones
/// (`&#38;`): scripted clients that fill these forms, the integration tests among them, decode only those.
#[derive(Debug, Clone, Copy, Default)]
pub struct NamedEntities;

impl askama::filters::Escaper for NamedEntities {
    fn write_escaped_str<W: std::fmt::Write>(&self, mut dest: W, text: &str) -> std::fmt::Result {
        let mut rest = text;
        while let Some(index) = rest.find(['&', '<', '>', '"', '\'']) {
            let (plain, special) = rest.split_at(index);
            dest.write_str(plain)?;
            let mut chars = special.chars();
            dest.write_str(match chars.next() {
                Some('&') => "&amp;",
                Some('<') => "&lt;",
                Some('>') => "&gt;",
                Some('"') => "&quot;",
                _ => "&#39;",
            })?;
            rest = chars.as_str();
        }
        dest.write_str(rest)
    }
}

/// Where the base layout links the stylesheet; the route in `oauth::router` serves it.
pub const STYLESHEET_PATH: &str = "/assets/gatehouse.css";

const STYLESHEET: &str = include_str!("../../templates/assets/gatehouse.css");

/// The pages may not be framed (clickjacking), run no script and load nothing but their own stylesheet.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    request: &'a str,
    client_name: &'a str,
    login_hint: &'a str,
    message: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    csrf: &'a str,
    request: &'a str,
    client_name: &'a str,
    client_description: &'a str,
    user_email: &'a str,
    scopes: Vec<ScopeLine>,
    organizations: Vec<OrganizationChoice<'a>>,
    message: Option<&'a str>,
}

struct ScopeLine {
    name: &'static str,
    description: &'static str,
}

struct OrganizationChoice<'a> {
    id: OrganizationId,
    name: &'a str,
    selected: bool,
}

fn page(status: StatusCode, template: &dyn DynPage) -> Response {
    let html = match template.render_page() {
        Ok(html) => html,
        Err(error) => {
            tracing::error!(%error, "a page failed to render");
            return (StatusCode::INTERNAL_SERVER_ERROR, "The server failed to render the page.").into_response();
        }
    };
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Object-safe rendering, so `page` (and the console's `render`) is compiled once rather than once per
/// template.
pub trait DynPage {
    fn render_page(&self) -> askama::Result<String>;
}

impl<T: Template> DynPage for T {
    fn render_page(&self) -> askama::Result<String> {
        self.render()
    }
}

/// An error that must not go back to the client (unknown client, unregistered redirect URI…).
pub fn error(status: StatusCode, message: &str) -> Response {
    error_titled(status, "Authorization error", message)
}

/// An error page with its own heading (the console's: "Not found", "Not allowed"…).
pub fn error_titled(status: StatusCode, title: &str, message: &str) -> Response {
    page(status, &ErrorPage { title, message })
}

pub fn login(status: StatusCode, csrf: &str, request: &str, client_name: &str, login_hint: Option<&str>, message: Option<&str>) -> Response {
    page(status, &LoginPage { csrf, request, client_name, login_hint: login_hint.unwrap_or(""), message })
}

pub struct ConsentView<'a> {
    pub csrf: &'a str,
    pub request: &'a str,
    pub client_name: &'a str,
    pub client_description: &'a str,
    pub user_email: &'a str,
    pub scopes: ScopeSet,
    pub organizations: &'a [Organization],
    pub selected: Option<OrganizationId>,
    pub message: Option<&'a str>,
}

pub fn consent(status: StatusCode, view: &ConsentView<'_>) -> Response {
    let scopes = view.scopes.iter().map(|scope| ScopeLine { name: scope.name(), description: scope.info().description }).collect();
    let organizations = view
        .organizations
        .iter()
        .map(|org| OrganizationChoice { id: org.id, name: &org.name, selected: view.selected == Some(org.id) })
        .collect();
    page(
        status,
        &ConsentPage {
            csrf: view.csrf,
            request: view.request,
            client_name: view.client_name,
            client_description: view.client_description,
            user_email: view.user_email,
            scopes,
            organizations,
            message: view.message,
        },
    )
}

/// `GET /assets/gatehouse.css`: the pages' one stylesheet. It changes only with the binary, so caches may
/// keep it for an hour.
pub async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;

    async fn html(response: Response) -> String {
        let body = to_bytes(response.into_body(), usize::MAX).await.expect("a body");
        String::from_utf8(body.to_vec()).expect("UTF-8")
    }

    fn organization(id: i64, name: &str) -> Organization {
        Organization {
            id: OrganizationId(id),
            name: name.to_string(),
            zone: "eu1.make.com".to_string(),
            api_limit: 60,
            timezone: "UTC".to_string(),
            country: None,
            created: gatehouse_domain::Timestamp::from_millis(0),
        }
    }

    #[tokio::test]
    async fn every_value_is_escaped() {
        let hostile = "<script>alert(\"x\")</script>&'";
        let page = html(login(StatusCode::OK, hostile, hostile, hostile, Some(hostile), Some(hostile))).await;
        assert!(!page.contains("<script>"), "{page}");
        assert!(!page.contains("alert(\"x\")"), "a quote would end the attribute: {page}");
        assert!(page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"), "{page}");
    }

    #[tokio::test]
    async fn the_login_form_keeps_its_contract() {
        let response = login(StatusCode::UNAUTHORIZED, "tok", "client_id=a&scope=openid", "App", Some("ada@example.com"), Some("Wrong"));
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().expect("text").to_string();
        assert!(policy.contains("style-src 'self'") && policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe"));
        let page = html(response).await;
        assert!(page.contains(r#"<form method="post" action="/oauth/v2/authorize/login">"#), "{page}");
        assert!(page.contains(r#"name="csrf" value="tok""#), "{page}");
        assert!(page.contains(r#"name="request" value="client_id=a&amp;scope=openid""#), "{page}");
        assert!(page.contains(r#"name="email" type="email""#) && page.contains(r#"value="ada@example.com""#), "{page}");
        assert!(page.contains(r#"name="password" type="password""#), "{page}");
        assert!(page.contains(r#"<label for="email">"#) && page.contains(r#"<label for="password">"#), "{page}");
        assert!(page.contains(r#"href="/assets/gatehouse.css""#), "{page}");
        assert!(!page.contains("<script") && !page.contains("style="), "no inline script or style: {page}");
    }

    #[tokio::test]
    async fn the_consent_form_keeps_its_contract() {
        let organizations = [organization(7, "Acme & Co"), organization(9, "Other")];
        let view = ConsentView {
            csrf: "tok",
            request: "client_id=a",
            client_name: "App",
            client_description: "Does things",
            user_email: "ada@example.com",
            scopes: ScopeSet::all_api_scopes(),
            organizations: &organizations,
            selected: Some(OrganizationId(9)),
            message: None,
        };
        let page = html(consent(StatusCode::OK, &view)).await;
        assert!(page.contains(r#"<form method="post" action="/oauth/v2/authorize/consent">"#), "{page}");
        // The integration tests look for this exact tag.
        assert!(page.contains(r#"<select id="organizationId" name="organizationId">"#), "{page}");
        assert!(page.contains(r#"<option value="7">Acme &amp; Co</option>"#), "{page}");
        assert!(page.contains(r#"<option value="9" selected>Other</option>"#), "{page}");
        assert!(page.contains(r#"name="decision" value="allow""#) && page.contains(r#"name="decision" value="deny""#), "{page}");
        assert!(page.contains("See your organizations"), "scopes are shown in words: {page}");
        assert!(!page.contains("class=\"alert\""), "no message, no alert");
    }

    #[tokio::test]
    async fn the_error_page_offers_no_form() {
        let page = html(error(StatusCode::BAD_REQUEST, "The client is unknown.")).await;
        assert!(page.contains("The client is unknown.") && !page.contains("<form"), "{page}");
    }

    #[tokio::test]
    async fn the_stylesheet_is_served_as_css() {
        let response = stylesheet().await;
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/css; charset=utf-8");
        assert!(html(response).await.contains(":focus-visible"));
    }
}
