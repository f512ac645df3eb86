//! What the OAuth tests share: a world (a user in two organizations, one confidential and one public
//! client), a browser that keeps its session cookie, and the requests a client makes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_domain::OrganizationId;
use gatehouse_domain::identity::NewUser;
use gatehouse_domain::oauth::NewClient;
use gatehouse_domain::oauth::authorize::RawParams;
use gatehouse_domain::oauth::client::approve;
use gatehouse_domain::oauth::jose::{ACCESS_TOKEN_TYP, AccessTokenClaims};
use gatehouse_domain::oauth::pkce::s256_challenge;
use gatehouse_domain::{OrgRole, UserId, password};
use reqwest::Response;
use serde_json::Value;

use crate::harness::{ClockExt, TestServer, json};

pub(crate) const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub(crate) const VERIFIER: &str = "a-very-long-pkce-code-verifier-of-at-least-43-characters-0123456789";
pub(crate) const PASSWORD: &str = "correct horse battery staple";

pub(crate) struct Client {
    pub(crate) id: String,
    pub(crate) secret: Option<String>,
}

pub(crate) struct World {
    pub(crate) server: TestServer,
    pub(crate) email: String,
    pub(crate) user: UserId,
    pub(crate) org: OrganizationId,
    pub(crate) other_org: OrganizationId,
    pub(crate) confidential: Client,
    pub(crate) public: Client,
}

pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    RawParams(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).to_query()
}

pub(crate) fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The value of a hidden input in a page.
pub(crate) fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no input {name} in {html}")) + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    unescape(&html[start..end])
}

pub(crate) fn query_param(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    RawParams::parse(query).0.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

pub(crate) async fn client(server: &TestServer, owner: UserId, kind: &str, scopes: &[&str]) -> Client {
    let mut client = NewClient::new("Test app", "An app under test", kind, &[REDIRECT], scopes)
        .expect("valid client")
        .into_client(owner, server.clock.now_ts(), &gatehouse_domain::OsRandom);
    let secret = approve(&mut client, &gatehouse_domain::OsRandom).map(|s| s.reveal());
    server.store.insert_oauth_client(&client).await.expect("insert client");
    Client { id: client.id.as_str().to_string(), secret }
}

pub(crate) async fn world() -> World {
    world_on(TestServer::start().await).await
}

pub(crate) async fn world_on(server: TestServer) -> World {
    let email = "ada@example.com".to_string();
    let hash = password::hash(PASSWORD, password::salt(&gatehouse_domain::OsRandom));
    let user = server.store.create_user(&NewUser::new("Ada", &email, Some(hash), false).unwrap(), server.clock.now_ts()).await.unwrap();
    let owner = crate::harness::TestUser { id: user.id };
    let org = server.org(&owner, "Ada's org").await;
    let other_owner = server.user("other@example.com", false).await;
    let other_org = server.org(&other_owner, "Another org").await;
    server.join(other_org, &owner, OrgRole::Member).await;
    let scopes = ["openid", "profile", "email", "user:read", "organizations:read", "teams:read", "teams:write"];
    let confidential = client(&server, user.id, "confidential", &scopes).await;
    let public = client(&server, user.id, "public", &scopes).await;
    World { server, email, user: user.id, org, other_org, confidential, public }
}

/// A browser: follows nothing by itself, keeps the session cookie.
pub(crate) struct Browser<'a> {
    world: &'a World,
    cookie: Option<String>,
}

impl<'a> Browser<'a> {
    pub(crate) fn new(world: &'a World) -> Self {
        Self { world, cookie: None }
    }

    pub(crate) fn keep_cookie(&mut self, response: &Response) {
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            self.cookie = Some(text.split(';').next().unwrap().to_string());
        }
    }

    pub(crate) async fn get(&mut self, url: &str) -> (u16, String, Option<String>) {
        let mut request = self.world.server.http.get(url);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        self.read(response).await
    }

    pub(crate) async fn post(&mut self, path: &str, body: String, extra: &[(&str, &str)]) -> (u16, String, Option<String>) {
        let mut request = self
            .world
            .server
            .http
            .post(self.world.server.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        for (key, value) in extra {
            request = request.header(*key, *value);
        }
        let response = request.send().await.unwrap();
        self.read(response).await
    }

    pub(crate) async fn read(&mut self, response: Response) -> (u16, String, Option<String>) {
        self.keep_cookie(&response);
        let status = response.status().as_u16();
        let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        (status, response.text().await.unwrap(), location)
    }

    pub(crate) async fn login(&mut self, page: &str, password: &str) -> (u16, String, Option<String>) {
        let email = self.world.email.clone();
        self.login_as(page, &email, password).await
    }

    /// Posts the login form of `page` (its CSRF token and request) with these credentials.
    pub(crate) async fn login_as(&mut self, page: &str, email: &str, password: &str) -> (u16, String, Option<String>) {
        let body = form(&[("csrf", &hidden(page, "csrf")), ("request", &hidden(page, "request")), ("email", email), ("password", password)]);
        self.post("/oauth/v2/authorize/login", body, &[]).await
    }

    pub(crate) async fn consent(&mut self, page: &str, org: OrganizationId, decision: &str) -> (u16, String, Option<String>) {
        let body = form(&[
            ("csrf", &hidden(page, "csrf")),
            ("request", &hidden(page, "request")),
            ("organizationId", &org.to_string()),
            ("decision", decision),
        ]);
        self.post("/oauth/v2/authorize/consent", body, &[]).await
    }

    /// The whole browser side: login (if asked), consent (if asked) for `org`; returns the redirect.
    pub(crate) async fn authorize(&mut self, url: &str, org: OrganizationId) -> String {
        let (mut status, mut page, mut location) = self.get(url).await;
        if status == 200 && page.contains("name=\"password\"") {
            (status, page, location) = self.login(&page, PASSWORD).await;
        }
        if status == 200 && page.contains("name=\"decision\"") {
            (_, _, location) = self.consent(&page, org, "allow").await;
        }
        location.unwrap_or_else(|| panic!("no redirect ({status}): {page}"))
    }
}

pub(crate) fn authorize_url(world: &World, client: &Client, scope: &str, extra: &[(&str, &str)]) -> String {
    let challenge = s256_challenge(VERIFIER);
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "xyz"),
        ("nonce", "n-0S6_WzA2Mj"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for (key, value) in extra {
        pairs.retain(|(k, _)| k != key);
        if !value.is_empty() {
            pairs.push((key, value));
        }
    }
    world.server.url(&format!("/oauth/v2/authorize?{}", form(&pairs)))
}

/// A form post from a client to one of the server's endpoints, authenticating in the body.
pub(crate) async fn client_post_to(server: &TestServer, path: &str, client: &Client, params: &[(&str, &str)]) -> Response {
    let mut pairs: Vec<(&str, &str)> = params.to_vec();
    pairs.push(("client_id", &client.id));
    if let Some(secret) = &client.secret {
        pairs.push(("client_secret", secret));
    }
    server
        .http
        .post(server.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&pairs))
        .send()
        .await
        .unwrap()
}

pub(crate) async fn client_post(world: &World, path: &str, client: &Client, params: &[(&str, &str)]) -> Response {
    client_post_to(&world.server, path, client, params).await
}

/// A token request to `server` (any node); every answer must say `Cache-Control: no-store` (RFC 6749 §5.1).
pub(crate) async fn token_request_to(server: &TestServer, client: &Client, params: &[(&str, &str)]) -> (u16, Value) {
    let response = client_post_to(server, "/oauth/v2/token", client, params).await;
    assert_eq!(response.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"));
    json(response).await
}

pub(crate) async fn token_request(world: &World, client: &Client, params: &[(&str, &str)]) -> (u16, Value) {
    token_request_to(&world.server, client, params).await
}

/// The code grant's parameters for `code`, with the world's redirect URI and PKCE verifier.
pub(crate) fn code_grant(code: &str) -> [(&str, &str); 4] {
    [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT), ("code_verifier", VERIFIER)]
}

pub(crate) async fn exchange(world: &World, client: &Client, code: &str) -> (u16, Value) {
    token_request(world, client, &code_grant(code)).await
}

pub(crate) async fn code_for(world: &World, client: &Client, scope: &str) -> String {
    let mut browser = Browser::new(world);
    let location = browser.authorize(&authorize_url(world, client, scope, &[]), world.org).await;
    query_param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"))
}

pub(crate) async fn tokens_for(world: &World, client: &Client, scope: &str) -> Value {
    let code = code_for(world, client, scope).await;
    let (status, body) = exchange(world, client, &code).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A request to the API with an OAuth access token, on `server` (any node).
pub(crate) async fn api_on(server: &TestServer, path: &str, access_token: &str) -> (u16, Value) {
    let response = server.http.get(server.url(path)).header("authorization", format!("Bearer {access_token}")).send().await.unwrap();
    json(response).await
}

pub(crate) async fn api(world: &World, path: &str, access_token: &str) -> (u16, Value) {
    api_on(&world.server, path, access_token).await
}

pub(crate) async fn refresh(world: &World, token: &str, scope: Option<&str>) -> (u16, Value) {
    let mut params = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        params.push(("scope", scope));
    }
    token_request(world, &world.confidential, &params).await
}

pub(crate) async fn forged(world: &World, edit: impl FnOnce(&mut AccessTokenClaims)) -> String {
    let body = tokens_for(world, &world.confidential, "user:read").await;
    let token = body["access_token"].as_str().unwrap();
    let ring = world.server.state().app.key_ring().await.unwrap();
    let mut claims: AccessTokenClaims = serde_json::from_value(claims_of(token)).unwrap();
    edit(&mut claims);
    ring.sign(ACCESS_TOKEN_TYP, &claims).unwrap()
}

pub(crate) fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub(crate) fn header_of(jwt: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').next().unwrap()).unwrap()).unwrap()
}

pub(crate) fn is_uuid_v4(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 5 && text.len() == 36 && parts[2].starts_with('4')
}
