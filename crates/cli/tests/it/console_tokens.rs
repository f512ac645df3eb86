//! The web console, driven over a real socket as a browser drives it (cookies kept, forms posted with
//! their CSRF tokens, redirects read by hand), and as an attacker would: without the token, cross-site, with
//! another session's sealed secret, with a foreign `next`.

use std::collections::BTreeMap;

use gatehouse_domain::identity::NewUser;
use gatehouse_domain::password;
use reqwest::Response;
use serde_json::Value;

use crate::harness::{ClockExt, TestServer, json};
use crate::oauth::support::{api, form, hidden, tokens_for, world};

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A browser for the console: keeps every cookie by name (the session, the pre-login cookie, the one-time
/// reveal) as Set-Cookie says, dropping those it deletes; follows no redirect by itself.
pub(crate) struct ConsoleBrowser<'a> {
    pub(crate) server: &'a TestServer,
    pub(crate) cookies: BTreeMap<String, String>,
}

pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) html: String,
    pub(crate) location: Option<String>,
    pub(crate) headers: reqwest::header::HeaderMap,
}

impl<'a> ConsoleBrowser<'a> {
    pub(crate) fn new(server: &'a TestServer) -> Self {
        Self { server, cookies: BTreeMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }

    async fn read(&mut self, response: Response) -> Page {
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let (name, value) = text.split(';').next().unwrap().split_once('=').unwrap();
            if value.is_empty() || text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let status = response.status().as_u16();
        let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        let headers = response.headers().clone();
        Page { status, html: response.text().await.unwrap(), location, headers }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let response = self.server.http.get(self.server.url(path)).header("cookie", self.cookie_header()).send().await.unwrap();
        self.read(response).await
    }

    pub(crate) async fn post_raw(&mut self, path: &str, body: String, extra: &[(&str, &str)]) -> Page {
        let mut request = self
            .server
            .http
            .post(self.server.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", self.cookie_header())
            .body(body);
        for (key, value) in extra {
            request = request.header(*key, *value);
        }
        let response = request.send().await.unwrap();
        self.read(response).await
    }

    /// Posts a form with the CSRF token of the page it came from.
    pub(crate) async fn submit(&mut self, page: &Page, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = hidden(&page.html, "csrf");
        let mut pairs = vec![("csrf", csrf.as_str())];
        pairs.extend_from_slice(fields);
        self.post_raw(path, form(&pairs), &[]).await
    }

    /// Signs in on `/login` and returns where the console sent the browser.
    pub(crate) async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let login = self.get("/login").await;
        assert_eq!(login.status, 200, "{}", login.html);
        self.submit(&login, "/login", &[("email", email), ("password", password)]).await
    }
}

pub(crate) async fn person(server: &TestServer, email: &str, admin: bool) {
    let hash = password::hash(PASSWORD, password::salt(&gatehouse_domain::OsRandom));
    server.store.create_user(&NewUser::new("Ada Lovelace", email, Some(hash), admin).unwrap(), server.clock.now_ts()).await.unwrap();
}

/// The text of the element with this id (no nested tags expected).
fn element_text(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('<')? + start;
    Some(html[start..end].to_string())
}

async fn current_scopes(server: &TestServer, token: &str) -> (u16, Value) {
    json(server.get("/api/v2/users/me/current-authorization", token).send().await.unwrap()).await
}

#[tokio::test]
async fn a_signed_out_visitor_is_sent_to_sign_in_and_back() {
    let server = TestServer::start().await;
    person(&server, "ada@example.com", false).await;
    let mut browser = ConsoleBrowser::new(&server);
    let root = browser.get("/").await;
    assert_eq!((root.status, root.location.as_deref()), (303, Some("/login")));
    let page = browser.get("/user/api").await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/login?next=%2Fuser%2Fapi")));
    let login = browser.get("/login?next=%2Fuser%2Fapi").await;
    assert!(login.html.contains(r#"name="next" value="/user/api""#), "{}", login.html);
    let signed_in = browser.submit(&login, "/login", &[("email", "ada@example.com"), ("password", PASSWORD), ("next", "/user/api")]).await;
    assert_eq!((signed_in.status, signed_in.location.as_deref()), (303, Some("/user/api")), "{}", signed_in.html);
    let tokens = browser.get("/user/api").await;
    assert_eq!(tokens.status, 200);
    assert!(tokens.html.contains("<h1>API access</h1>") && tokens.html.contains("You have no API tokens yet"), "{}", tokens.html);
    let policy = tokens.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("frame-ancestors 'none'") && policy.contains("script-src 'self'") && !policy.contains("unsafe"), "{policy}");
    assert_eq!(tokens.headers["cache-control"], "no-store");
    assert_eq!(tokens.headers["x-frame-options"], "DENY");
}

#[tokio::test]
async fn sign_in_never_redirects_off_site_and_refuses_a_wrong_password() {
    let server = TestServer::start().await;
    person(&server, "ada@example.com", false).await;
    let mut browser = ConsoleBrowser::new(&server);
    let login = browser.get("/login?next=%2F%2Fevil.example%2F").await;
    assert!(login.html.contains(r#"name="next" value="/user/api""#), "a foreign next is dropped on the form: {}", login.html);
    let wrong = browser.submit(&login, "/login", &[("email", "ada@example.com"), ("password", "not it at all")]).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.html.contains("The email or password is incorrect.") && wrong.html.contains(r#"class="alert""#));
    assert!(!browser.cookies.keys().any(|name| name.contains("session")), "no session for a wrong password");
    for next in ["//evil.example/", "https://evil.example/", "/\\evil.example"] {
        let signed_in = browser.submit(&wrong, "/login", &[("email", "ada@example.com"), ("password", PASSWORD), ("next", next)]).await;
        assert_eq!((signed_in.status, signed_in.location.as_deref()), (303, Some("/user/api")), "next={next}");
    }
}

#[tokio::test]
async fn a_token_made_on_the_page_is_shown_once_and_has_exactly_the_ticked_scopes() {
    let server = TestServer::start().await;
    person(&server, "ada@example.com", false).await;
    let mut browser = ConsoleBrowser::new(&server);
    browser.sign_in("ada@example.com", PASSWORD).await;
    let form_page = browser.get("/user/api/new").await;
    assert_eq!(form_page.status, 200);
    assert!(form_page.html.contains(r#"<label for="label">Label</label>"#), "{}", form_page.html);
    assert!(form_page.html.contains(r#"value="scenarios:read" id="scope-scenarios:read""#), "{}", form_page.html);
    assert!(!form_page.html.contains(r#"value="admin:read""#), "administration scopes are for administrators only");
    let saved = browser.submit(&form_page, "/user/api", &[("label", "CI deploy ✓"), ("scopes", "scenarios:read"), ("scopes", "teams:read")]).await;
    assert_eq!((saved.status, saved.location.as_deref()), (303, Some("/user/api")), "{}", saved.html);
    assert!(saved.html.is_empty(), "the redirect's body carries no secret: {}", saved.html);
    let shown = browser.get("/user/api").await;
    let token = element_text(&shown.html, "new-token").unwrap_or_else(|| panic!("no new token on {}", shown.html));
    assert!(shown.html.contains("you will not see it again"), "{}", shown.html);
    assert!(shown.html.contains(r#"data-label="CI deploy ✓""#), "{}", shown.html);
    let (status, body) = current_scopes(&server, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["authorization"]["scope"], serde_json::json!(["scenarios:read", "teams:read"]));
    let reloaded = browser.get("/user/api").await;
    assert!(element_text(&reloaded.html, "new-token").is_none() && !reloaded.html.contains(&token), "shown once only");
    assert!(reloaded.html.contains(&format!("{}-****", &token[..8])), "listed masked: {}", reloaded.html);
}

#[tokio::test]
async fn a_sealed_token_cannot_be_opened_by_another_session() {
    let server = TestServer::start().await;
    person(&server, "ada@example.com", false).await;
    let mut ada = ConsoleBrowser::new(&server);
    ada.sign_in("ada@example.com", PASSWORD).await;
    let form_page = ada.get("/user/api/new").await;
    ada.submit(&form_page, "/user/api", &[("label", "mine"), ("scopes", "user:read")]).await;
    let (name, sealed) = ada.cookies.iter().find(|(name, _)| name.contains("reveal")).map(|(n, v)| (n.clone(), v.clone())).unwrap();
    // The same person in a second browser (a second session) is handed the first browser's cookie.
    let mut other = ConsoleBrowser::new(&server);
    other.sign_in("ada@example.com", PASSWORD).await;
    other.cookies.insert(name, sealed);
    let page = other.get("/user/api").await;
    assert!(element_text(&page.html, "new-token").is_none(), "another session's sealed token stays sealed: {}", page.html);
    assert!(ada.get("/user/api").await.html.contains("id=\"new-token\""), "its own session opens it");
}

#[tokio::test]
async fn every_form_needs_its_csrf_token_and_a_same_site_post() {
    let server = TestServer::start().await;
    person(&server, "ada@example.com", false).await;
    let mut browser = ConsoleBrowser::new(&server);
    browser.sign_in("ada@example.com", PASSWORD).await;
    let form_page = browser.get("/user/api/new").await;
    let fields = form(&[("label", "x"), ("scopes", "user:read")]);
    let missing = browser.post_raw("/user/api", fields.clone(), &[]).await;
    assert_eq!(missing.status, 403, "no CSRF token");
    let wrong = browser.post_raw("/user/api", format!("csrf=forged&{fields}"), &[]).await;
    assert_eq!(wrong.status, 403, "a forged CSRF token");
    let csrf = hidden(&form_page.html, "csrf");
    let cross_site = browser.post_raw("/user/api", format!("csrf={csrf}&{fields}"), &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(cross_site.status, 403, "a cross-site post, even with the token");
    let logout = browser.post_raw("/logout", String::new(), &[]).await;
    assert_eq!(logout.status, 403, "signing out needs the token too (logout CSRF)");
    let listed = browser.get("/user/api").await;
    assert!(listed.html.contains("You have no API tokens yet"), "nothing was created: {}", listed.html);
}

#[tokio::test]
async fn a_token_deleted_on_the_page_is_refused_by_the_api() {
    let server = TestServer::start().await;
    person(&server, "ada@example.com", false).await;
    let mut browser = ConsoleBrowser::new(&server);
    browser.sign_in("ada@example.com", PASSWORD).await;
    let form_page = browser.get("/user/api/new").await;
    browser.submit(&form_page, "/user/api", &[("label", "doomed"), ("scopes", "user:read")]).await;
    let shown = browser.get("/user/api").await;
    let token = element_text(&shown.html, "new-token").unwrap();
    assert_eq!(current_scopes(&server, &token).await.0, 200);
    let start = shown.html.find("href=\"/user/api/tokens/").unwrap() + "href=\"".len();
    let delete_path = shown.html[start..shown.html[start..].find('"').unwrap() + start].to_string();
    let confirm = browser.get(&delete_path).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.html.contains("Delete the token doomed?") && confirm.html.contains(">Delete token</button>"), "{}", confirm.html);
    let deleted = browser.submit(&confirm, &delete_path, &[]).await;
    assert_eq!((deleted.status, deleted.location.as_deref()), (303, Some("/user/api?done=deleted")));
    let (status, body) = current_scopes(&server, &token).await;
    assert_eq!(status, 401, "{body}");
    let listed = browser.get("/user/api?done=deleted").await;
    assert!(listed.html.contains(r#"class="notice""#) && listed.html.contains("You have no API tokens yet"), "{}", listed.html);
    assert_eq!(browser.get("/user/api/tokens/not-a-time/delete").await.status, 404);
}

#[tokio::test]
async fn bad_token_forms_are_answered_on_the_form_keeping_what_was_typed() {
    let server = TestServer::start().await;
    person(&server, "ada@example.com", false).await;
    let mut browser = ConsoleBrowser::new(&server);
    browser.sign_in("ada@example.com", PASSWORD).await;
    let form_page = browser.get("/user/api/new").await;
    let no_scope = browser.submit(&form_page, "/user/api", &[("label", "<b>bold</b>")]).await;
    assert_eq!(no_scope.status, 400);
    assert!(no_scope.html.contains("Tick at least one scope.") && no_scope.html.contains("value=\"&lt;b&gt;bold&lt;/b&gt;\""), "{}", no_scope.html);
    let admin_scope = browser.submit(&form_page, "/user/api", &[("label", "x"), ("scopes", "teams:read"), ("scopes", "nonsense:read")]).await;
    assert_eq!(admin_scope.status, 400, "{}", admin_scope.html);
    assert!(admin_scope.html.contains(r#"value="teams:read" id="scope-teams:read" checked"#), "ticks are kept: {}", admin_scope.html);
    let bad_date = browser.submit(&form_page, "/user/api", &[("label", "x"), ("scopes", "teams:read"), ("expires", "soon")]).await;
    assert_eq!(bad_date.status, 400);
    assert!(bad_date.html.contains("The expiry must be a date"));
    let not_a_form = browser.post_raw("/user/api", "{\"label\":\"x\"}".into(), &[]).await;
    assert_eq!(not_a_form.status, 403, "no CSRF token in a JSON body");
    let huge = browser.post_raw("/user/api", format!("csrf=x&label={}", "a".repeat(2 << 20)), &[]).await;
    assert_eq!(huge.status, 413);
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session() {
    let server = TestServer::start().await;
    person(&server, "ada@example.com", false).await;
    let mut here = ConsoleBrowser::new(&server);
    here.sign_in("ada@example.com", PASSWORD).await;
    let mut elsewhere = ConsoleBrowser::new(&server);
    elsewhere.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(elsewhere.get("/user/api").await.status, 200);
    let page = here.get("/user/password").await;
    let wrong = here.submit(&page, "/user/password", &[("current", "wrong guess"), ("password", "a new long password"), ("confirm", "a new long password")]).await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.html.contains("The current password is incorrect."));
    let differ = here.submit(&page, "/user/password", &[("current", PASSWORD), ("password", "a new long password"), ("confirm", "another one")]).await;
    assert!(differ.html.contains("The two new passwords differ."));
    let changed = here.submit(&page, "/user/password", &[("current", PASSWORD), ("password", "a new long password"), ("confirm", "a new long password")]).await;
    assert_eq!((changed.status, changed.location.as_deref()), (303, Some("/user/password?done=changed")), "{}", changed.html);
    assert_eq!(here.get("/user/api").await.status, 200, "this browser stays signed in");
    let other = elsewhere.get("/user/api").await;
    assert_eq!(other.status, 303, "the other session ended");
    let mut fresh = ConsoleBrowser::new(&server);
    assert_eq!(fresh.sign_in("ada@example.com", PASSWORD).await.status, 401, "the old password is refused");
    assert_eq!(fresh.sign_in("ada@example.com", "a new long password").await.status, 303);
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let server = TestServer::start().await;
    person(&server, "ada@example.com", false).await;
    let mut browser = ConsoleBrowser::new(&server);
    browser.sign_in("ada@example.com", PASSWORD).await;
    let page = browser.get("/user/api").await;
    let kept = browser.cookies.clone();
    let out = browser.submit(&page, "/logout", &[]).await;
    assert_eq!((out.status, out.location.as_deref()), (303, Some("/login?done=signed-out")));
    assert!(!browser.cookies.keys().any(|name| name.contains("session")), "the cookie is cleared");
    // A copy of the cookie taken before signing out is worth nothing now.
    browser.cookies = kept;
    assert_eq!(browser.get("/user/api").await.status, 303);
}

#[tokio::test]
async fn an_app_revoked_on_the_authorized_apps_page_loses_its_tokens() {
    let world = world().await;
    let tokens = tokens_for(&world, &world.confidential, "openid user:read").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200);
    let mut browser = ConsoleBrowser::new(&world.server);
    assert_eq!(browser.sign_in(&world.email, crate::oauth::support::PASSWORD).await.status, 303);
    let apps = browser.get("/user/apps").await;
    let row = format!("data-client=\"{}\"", world.confidential.id);
    assert!(apps.html.contains(&row) && apps.html.contains("Test app") && apps.html.contains("Ada&#39;s org"), "{}", apps.html);
    let revoked = browser.submit(&apps, &format!("/user/apps/{}/revoke", world.confidential.id), &[]).await;
    assert_eq!((revoked.status, revoked.location.as_deref()), (303, Some("/user/apps?done=revoked")));
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 401);
    let refresh = crate::oauth::support::refresh(&world, tokens["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(refresh.0, 400, "{}", refresh.1);
    assert!(!browser.get("/user/apps").await.html.contains(&row));
}

#[tokio::test]
async fn deleting_the_user_ends_their_console_session_on_every_node() {
    let server = TestServer::start().await;
    person(&server, "ada@example.com", false).await;
    let other_node = server.another_node().await;
    let mut browser = ConsoleBrowser::new(&server);
    browser.sign_in("ada@example.com", PASSWORD).await;
    let mut same_cookie_elsewhere = ConsoleBrowser::new(&other_node);
    same_cookie_elsewhere.cookies = browser.cookies.clone();
    assert_eq!(same_cookie_elsewhere.get("/user/api").await.status, 200, "a session opens on every node");
    let user = server.state().app.user_by_email("ada@example.com").await.unwrap();
    server.state().app.delete_user(user.id, None).await.unwrap();
    assert_eq!(browser.get("/user/api").await.status, 303);
    assert_eq!(same_cookie_elsewhere.get("/user/api").await.status, 303, "and ends on every node");
}

#[tokio::test]
async fn the_profile_page_changes_what_the_api_reports() {
    let server = TestServer::start().await;
    person(&server, "ada@example.com", false).await;
    let mut browser = ConsoleBrowser::new(&server);
    browser.sign_in("ada@example.com", PASSWORD).await;
    let page = browser.get("/user/profile").await;
    assert_eq!(page.status, 200);
    for label in [r#"<label for="name">Name</label>"#, r#"<label for="language">Language</label>"#, r#"<label for="timezone">Timezone</label>"#] {
        assert!(page.html.contains(label), "{label}: {}", page.html);
    }
    let prague = gatehouse_domain::catalogue::timezone_by_code("Europe/Prague").unwrap().id.to_string();
    let bad = browser.submit(&page, "/user/profile", &[("name", "Ada"), ("language", "en"), ("timezone", "999999")]).await;
    assert_eq!(bad.status, 400, "{}", bad.html);
    assert!(bad.html.contains(r#"class="alert""#));
    let not_a_number = browser.submit(&page, "/user/profile", &[("name", "Ada"), ("timezone", "Europe/Prague")]).await;
    assert_eq!(not_a_number.status, 400);
    let saved = browser.submit(&page, "/user/profile", &[("name", "Ada King ✓"), ("language", "en"), ("timezone", &prague)]).await;
    assert_eq!((saved.status, saved.location.as_deref()), (303, Some("/user/profile?done=saved")), "{}", saved.html);
    let token = {
        let form_page = browser.get("/user/api/new").await;
        browser.submit(&form_page, "/user/api", &[("label", "me"), ("scopes", "user:read")]).await;
        element_text(&browser.get("/user/api").await.html, "new-token").unwrap()
    };
    let (status, me) = json(server.get("/api/v2/users/me", &token).send().await.unwrap()).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["authUser"]["name"], "Ada King ✓");
    assert_eq!(me["authUser"]["timezoneId"].to_string(), prague);
    let again = browser.get("/user/profile").await;
    assert!(again.html.contains(&format!(r#"<option value="{prague}" selected>Europe/Prague</option>"#)), "the saved zone is selected");
}

#[tokio::test]
async fn deleting_ones_own_account_on_the_page_ends_every_credential() {
    let server = TestServer::start().await;
    person(&server, "ada@example.com", false).await;
    let mut browser = ConsoleBrowser::new(&server);
    browser.sign_in("ada@example.com", PASSWORD).await;
    let form_page = browser.get("/user/api/new").await;
    browser.submit(&form_page, "/user/api", &[("label", "mine"), ("scopes", "user:read")]).await;
    let token = element_text(&browser.get("/user/api").await.html, "new-token").unwrap();
    // An organization's only owner is refused: the organization would be left with nobody to run it.
    let user = server.state().app.user_by_email("ada@example.com").await.unwrap();
    let org = server.org(&crate::harness::TestUser { id: user.id }, "Ada's org").await;
    let confirm = browser.get("/user/delete").await;
    assert!(confirm.html.contains(">Delete my account</button>"), "{}", confirm.html);
    let refused = browser.submit(&confirm, "/user/delete", &[]).await;
    assert_eq!(refused.status, 409, "{}", refused.html);
    assert!(refused.html.contains(r#"class="alert""#));
    assert_eq!(current_scopes(&server, &token).await.0, 200, "nothing was deleted");
    server.state().app.delete_organization_by_operator(org).await.unwrap();
    let deleted = browser.submit(&confirm, "/user/delete", &[]).await;
    assert_eq!((deleted.status, deleted.location.as_deref()), (303, Some("/login?done=account-deleted")), "{}", deleted.html);
    assert_eq!(current_scopes(&server, &token).await.0, 401, "the token ended");
    assert_eq!(browser.get("/user/api").await.status, 303, "the session ended");
    assert_eq!(ConsoleBrowser::new(&server).sign_in("ada@example.com", PASSWORD).await.status, 401);
}
