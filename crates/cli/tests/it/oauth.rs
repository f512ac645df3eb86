//! The OAuth 2.0 / OpenID Connect authorization server, driven as a browser and a client would, each
//! test named after the clause it protects. Time is the server's mock clock: nothing sleeps.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_domain::identity::NewUser;
use gatehouse_domain::oauth::authorize::RawParams;
use gatehouse_domain::oauth::client::approve;
use gatehouse_domain::oauth::jose::{ACCESS_TOKEN_TYP, AccessTokenClaims};
use gatehouse_domain::oauth::pkce::s256_challenge;
use gatehouse_domain::oauth::NewClient;
use gatehouse_domain::{OrgRole, UserId, password};
use reqwest::{Method, Response};
use serde_json::Value;

use crate::harness::{ClockExt, TestServer, json};

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "a-very-long-pkce-code-verifier-of-at-least-43-characters-0123456789";
const PASSWORD: &str = "correct horse battery staple";

struct Client {
    id: String,
    secret: Option<String>,
}

struct World {
    server: TestServer,
    email: String,
    user: UserId,
    org: i64,
    other_org: i64,
    confidential: Client,
    public: Client,
}

fn form(pairs: &[(&str, &str)]) -> String {
    RawParams(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).to_query()
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The value of a hidden input in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no input {name} in {html}")) + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    unescape(&html[start..end])
}

fn query_param(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    RawParams::parse(query).0.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

async fn client(server: &TestServer, owner: UserId, kind: &str, scopes: &[&str]) -> Client {
    let mut client = NewClient::new("Test app", "An app under test", kind, &[REDIRECT], scopes)
        .expect("valid client")
        .into_client(owner, server.clock.now_ts());
    let secret = approve(&mut client).map(|s| s.reveal());
    server.store.insert_oauth_client(&client).await.expect("insert client");
    Client { id: client.id.as_str().to_string(), secret }
}

async fn world() -> World {
    world_on(TestServer::start().await).await
}

async fn world_on(server: TestServer) -> World {
    let email = "ada@example.com".to_string();
    let hash = password::hash(PASSWORD);
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
struct Browser<'a> {
    world: &'a World,
    cookie: Option<String>,
}

impl<'a> Browser<'a> {
    fn new(world: &'a World) -> Self {
        Self { world, cookie: None }
    }

    fn keep_cookie(&mut self, response: &Response) {
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            self.cookie = Some(text.split(';').next().unwrap().to_string());
        }
    }

    async fn get(&mut self, url: &str) -> (u16, String, Option<String>) {
        let mut request = self.world.server.http.get(url);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        self.read(response).await
    }

    async fn post(&mut self, path: &str, body: String, extra: &[(&str, &str)]) -> (u16, String, Option<String>) {
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

    async fn read(&mut self, response: Response) -> (u16, String, Option<String>) {
        self.keep_cookie(&response);
        let status = response.status().as_u16();
        let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        (status, response.text().await.unwrap(), location)
    }

    async fn login(&mut self, page: &str, password: &str) -> (u16, String, Option<String>) {
        let body = form(&[
            ("csrf", &hidden(page, "csrf")),
            ("request", &hidden(page, "request")),
            ("email", &self.world.email),
            ("password", password),
        ]);
        self.post("/oauth/v2/authorize/login", body, &[]).await
    }

    async fn consent(&mut self, page: &str, org: i64, decision: &str) -> (u16, String, Option<String>) {
        let body = form(&[
            ("csrf", &hidden(page, "csrf")),
            ("request", &hidden(page, "request")),
            ("organizationId", &org.to_string()),
            ("decision", decision),
        ]);
        self.post("/oauth/v2/authorize/consent", body, &[]).await
    }

    /// The whole browser side: login (if asked), consent (if asked) for `org`; returns the redirect.
    async fn authorize(&mut self, url: &str, org: i64) -> String {
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

fn authorize_url(world: &World, client: &Client, scope: &str, extra: &[(&str, &str)]) -> String {
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

async fn token_request(world: &World, client: &Client, params: &[(&str, &str)]) -> (u16, Value) {
    let mut pairs: Vec<(&str, &str)> = params.to_vec();
    pairs.push(("client_id", &client.id));
    if let Some(secret) = &client.secret {
        pairs.push(("client_secret", secret));
    }
    let response = world
        .server
        .http
        .post(world.server.url("/oauth/v2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&pairs))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"));
    json(response).await
}

async fn exchange(world: &World, client: &Client, code: &str) -> (u16, Value) {
    token_request(
        world,
        client,
        &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT), ("code_verifier", VERIFIER)],
    )
    .await
}

async fn code_for(world: &World, client: &Client, scope: &str) -> String {
    let mut browser = Browser::new(world);
    let location = browser.authorize(&authorize_url(world, client, scope, &[]), world.org).await;
    query_param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"))
}

async fn tokens_for(world: &World, client: &Client, scope: &str) -> Value {
    let code = code_for(world, client, scope).await;
    let (status, body) = exchange(world, client, &code).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn api(world: &World, path: &str, access_token: &str) -> (u16, Value) {
    let response = world
        .server
        .http
        .get(world.server.url(path))
        .header("authorization", format!("Bearer {access_token}"))
        .send()
        .await
        .unwrap();
    json(response).await
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn header_of(jwt: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').next().unwrap()).unwrap()).unwrap()
}

fn is_uuid_v4(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 5 && text.len() == 36 && parts[2].starts_with('4')
}

#[tokio::test]
async fn rfc6749_4_1_code_flow_with_pkce_gives_a_confidential_client_working_tokens() {
    let world = world().await;
    let url = authorize_url(&world, &world.confidential, "openid profile email user:read organizations:read", &[]);
    let mut browser = Browser::new(&world);
    let (status, page, _) = browser.get(&url).await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"email\"") && page.contains("name=\"password\"") && page.contains("name=\"csrf\""));
    let (status, page, _) = browser.login(&page, PASSWORD).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<select id=\"organizationId\" name=\"organizationId\">"));
    assert!(page.contains("value=\"allow\"") && page.contains("value=\"deny\""));
    assert!(page.contains("See your organizations"), "scopes are shown in words");
    let (status, _, location) = browser.consent(&page, world.org, "allow").await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert!(location.starts_with(REDIRECT));
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz"));
    // RFC 9207 §2: the issuer identifies itself on the redirect.
    assert_eq!(query_param(&location, "iss").as_deref(), Some(world.server.base.as_str()));
    let (status, body) = exchange(&world, &world.confidential, &query_param(&location, "code").unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    let access = body["access_token"].as_str().unwrap();
    assert!(!is_uuid_v4(access));
    assert_eq!(header_of(access)["typ"], "at+jwt");
    let claims = claims_of(access);
    for claim in ["iss", "sub", "aud", "client_id", "scope", "exp", "iat", "jti"] {
        assert!(!claims[claim].is_null(), "{claim} in {claims}");
    }
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300, "expires_in tells the truth");
    assert_eq!(claims["org_id"], world.org);
    assert!(body["refresh_token"].is_string());
    let id_token = claims_of(body["id_token"].as_str().unwrap());
    assert_eq!(id_token["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id_token["azp"], world.confidential.id.as_str());
    assert!(id_token["at_hash"].is_string() && id_token["auth_time"].is_i64());
    assert_eq!(id_token["email"], world.email.as_str());

    let (status, me) = api(&world, "/api/v2/users/me", access).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["authUser"]["email"], world.email.as_str());
    let (_, auth) = api(&world, "/api/v2/users/me/current-authorization", access).await;
    assert_eq!(auth["authorization"]["authUsed"], "oauth");
    assert_eq!(auth["authorization"]["scope"], serde_json::json!(["organizations:read", "user:read", "openid", "profile", "email"]));
    // Same scope rules as API tokens: teams:read was not granted.
    let (status, _) = api(&world, &format!("/api/v2/teams?organizationId={}", world.org), access).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn oauth_bearer_is_limited_to_the_organization_chosen_at_consent() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "organizations:read teams:read").await;
    let access = body["access_token"].as_str().unwrap();
    let (_, listed) = api(&world, "/api/v2/organizations", access).await;
    let ids: Vec<i64> = listed["organizations"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![world.org]);
    let (status, _) = api(&world, &format!("/api/v2/organizations/{}", world.other_org), access).await;
    assert_eq!(status, 404);
    let (status, _) = api(&world, &format!("/api/v2/teams?organizationId={}", world.other_org), access).await;
    assert_eq!(status, 404);
    let (status, _) = api(&world, &format!("/api/v2/organizations/{}", world.org), access).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn rfc7636_public_client_code_flow_works_without_a_secret_and_gets_no_refresh_token() {
    let world = world().await;
    let body = tokens_for(&world, &world.public, "openid user:read").await;
    assert!(body["access_token"].is_string());
    assert!(body["id_token"].is_string());
    assert!(body.get("refresh_token").is_none(), "Make's public clients get no refresh token: {body}");
}

#[tokio::test]
async fn rfc7636_4_4_1_a_missing_code_verifier_is_refused() {
    let world = world().await;
    let code = code_for(&world, &world.public, "user:read").await;
    let (status, body) = token_request(&world, &world.public, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn rfc7636_4_6_wrong_verifier_is_invalid_grant() {
    let world = world().await;
    let code = code_for(&world, &world.confidential, "user:read").await;
    let wrong = format!("{VERIFIER}x");
    let (status, body) = token_request(
        &world,
        &world.confidential,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT), ("code_verifier", &wrong)],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    // A failed attempt does not burn the code for its rightful holder.
    let (status, _) = exchange(&world, &world.confidential, &code).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn rfc7636_4_3_plain_and_missing_challenges_are_refused_with_a_redirect() {
    let world = world().await;
    let mut browser = Browser::new(&world);
    for extra in [[("code_challenge_method", "plain")], [("code_challenge", "")]] {
        let (status, _, location) = browser.get(&authorize_url(&world, &world.confidential, "user:read", &extra)).await;
        assert_eq!(status, 302);
        let location = location.unwrap();
        assert!(location.starts_with(REDIRECT));
        assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_request"));
        assert_eq!(query_param(&location, "state").as_deref(), Some("xyz"));
        assert_eq!(query_param(&location, "iss").as_deref(), Some(world.server.base.as_str()));
    }
}

#[tokio::test]
async fn rfc6749_4_1_2_1_redirect_uri_differing_by_one_char_is_never_redirected_to() {
    let world = world().await;
    let mut browser = Browser::new(&world);
    for uri in ["http://127.0.0.1:9/callbacK", "http://127.0.0.1:9/callback/", "http://127.0.0.1:9/callback?x=1", "http://127.0.0.1:90/callback"] {
        let (status, page, location) = browser.get(&authorize_url(&world, &world.confidential, "user:read", &[("redirect_uri", uri)])).await;
        assert_eq!(status, 400, "{uri}");
        assert!(location.is_none(), "{uri} redirected");
        assert!(page.contains("redirect_uri"), "{page}");
    }
}

#[tokio::test]
async fn rfc6749_4_1_2_1_unknown_client_is_shown_a_page_never_redirected() {
    let world = world().await;
    let unknown = Client { id: "no-such-client".into(), secret: None };
    let mut browser = Browser::new(&world);
    let (status, page, location) = browser.get(&authorize_url(&world, &unknown, "user:read", &[])).await;
    assert_eq!(status, 400);
    assert!(location.is_none());
    assert!(page.contains("unknown"));
}

#[tokio::test]
async fn rfc6749_5_2_unknown_client_and_wrong_secret_are_invalid_client() {
    let world = world().await;
    let code = code_for(&world, &world.confidential, "user:read").await;
    let unknown = Client { id: "no-such-client".into(), secret: Some("x".repeat(43)) };
    let (status, body) = exchange(&world, &unknown, &code).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    let wrong = Client { id: world.confidential.id.clone(), secret: Some(URL_SAFE_NO_PAD.encode([7u8; 32])) };
    let (status, body) = exchange(&world, &wrong, &code).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    // Basic authentication failing answers with a Basic challenge (RFC 6749 §5.2).
    let response = world
        .server
        .http
        .post(world.server.url("/oauth/v2/token"))
        .basic_auth(&world.confidential.id, Some("wrong"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("grant_type", "client_credentials")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().get("www-authenticate").unwrap().to_str().unwrap().starts_with("Basic"));
    // The right secret in Basic works.
    let response = world
        .server
        .http
        .post(world.server.url("/oauth/v2/token"))
        .basic_auth(&world.confidential.id, world.confidential.secret.as_deref())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT), ("code_verifier", VERIFIER)]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn rfc6749_4_1_2_code_replay_is_refused_and_revokes_every_token_issued_from_it() {
    let world = world().await;
    let code = code_for(&world, &world.confidential, "user:read").await;
    let (status, first) = exchange(&world, &world.confidential, &code).await;
    assert_eq!(status, 200);
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200);
    let (status, body) = exchange(&world, &world.confidential, &code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    // At once, not at expiry.
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 401);
    let (status, body) = token_request(&world, &world.confidential, &[("grant_type", "refresh_token"), ("refresh_token", first["refresh_token"].as_str().unwrap())]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn rfc6749_4_1_2_an_expired_code_is_invalid_grant() {
    let world = world().await;
    let code = code_for(&world, &world.confidential, "user:read").await;
    world.server.clock.advance_secs(301);
    let (status, body) = exchange(&world, &world.confidential, &code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
}

async fn refresh(world: &World, token: &str, scope: Option<&str>) -> (u16, Value) {
    let mut params = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        params.push(("scope", scope));
    }
    token_request(world, &world.confidential, &params).await
}

#[tokio::test]
async fn rfc9700_4_14_2_refresh_rotates_and_a_retry_inside_the_grace_window_keeps_the_family() {
    let world = world().await;
    let first = tokens_for(&world, &world.confidential, "openid user:read").await;
    let old = first["refresh_token"].as_str().unwrap();
    let (status, second) = refresh(&world, old, None).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"], "rotated");
    assert!(second["id_token"].is_string());
    // The answer was lost; the client retries the old token 10 s later.
    world.server.clock.advance_secs(10);
    let (status, retry) = refresh(&world, old, None).await;
    assert_eq!(status, 200, "{retry}");
    let newest = retry["refresh_token"].as_str().unwrap();
    // The family lives on through the newest token; the superseded successor is dead.
    assert_eq!(api(&world, "/api/v2/users/me", retry["access_token"].as_str().unwrap()).await.0, 200);
    let (status, _) = refresh(&world, newest, None).await;
    assert_eq!(status, 200);
    let (status, _) = refresh(&world, second["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn rfc9700_4_14_2_refresh_replay_after_the_grace_window_revokes_the_whole_family() {
    let world = world().await;
    let first = tokens_for(&world, &world.confidential, "user:read").await;
    let old = first["refresh_token"].as_str().unwrap();
    let (_, second) = refresh(&world, old, None).await;
    let access = second["access_token"].as_str().unwrap();
    world.server.clock.advance_secs(31);
    let (status, body) = refresh(&world, old, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (status, _) = refresh(&world, second["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 400, "the family is revoked");
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 401, "its access tokens fail at once");
}

#[tokio::test]
async fn rfc6749_6_refresh_scope_can_only_narrow() {
    let world = world().await;
    let first = tokens_for(&world, &world.confidential, "user:read organizations:read").await;
    let token = first["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&world, token, Some("user:read teams:write")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")));
    let (status, narrow) = refresh(&world, token, Some("user:read")).await;
    assert_eq!(status, 200, "{narrow}");
    assert_eq!(narrow["scope"], "user:read");
    // The rotated refresh token keeps the original scope (RFC 6749 §6).
    let (status, again) = refresh(&world, narrow["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 200);
    assert_eq!(again["scope"], "organizations:read user:read");
}

#[tokio::test]
async fn rfc6749_3_3_scopes_beyond_the_clients_approval_are_invalid_scope() {
    let world = world().await;
    let mut browser = Browser::new(&world);
    let (status, _, location) = browser.get(&authorize_url(&world, &world.confidential, "user:read admin:write", &[])).await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_scope"));
    // client_credentials cannot exceed the approval either.
    let (status, body) = token_request(&world, &world.confidential, &[("grant_type", "client_credentials"), ("scope", "admin:write")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")));
}

#[tokio::test]
async fn revoking_the_grant_from_authorized_apps_makes_its_access_tokens_fail_at_once() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let access = body["access_token"].as_str().unwrap();
    let owner = crate::harness::TestUser { id: world.user };
    let api_token = world.server.token(&owner, &["user:read", "user:write"]).await;
    let (status, apps) = json(world.server.get("/api/v2/users/me/authorized-apps", &api_token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let app = &apps["authorizedApps"][0];
    assert_eq!(app["clientId"], world.confidential.id.as_str());
    assert_eq!(app["organizationId"], world.org);
    assert_eq!(app["scope"], serde_json::json!(["user:read"]));
    assert!(app["lastUsed"].is_string());
    let path = format!("/api/v2/users/me/authorized-apps/{}", world.confidential.id);
    let (status, _) = json(world.server.request(Method::DELETE, &path, &api_token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 401);
    let (status, _) = refresh(&world, body["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 400);
}

async fn forged(world: &World, edit: impl FnOnce(&mut AccessTokenClaims)) -> String {
    let body = tokens_for(world, &world.confidential, "user:read").await;
    let token = body["access_token"].as_str().unwrap();
    let ring = world.server.state().oauth.ring().await.unwrap();
    let mut claims: AccessTokenClaims = serde_json::from_value(claims_of(token)).unwrap();
    edit(&mut claims);
    ring.sign(ACCESS_TOKEN_TYP, &claims).unwrap()
}

#[tokio::test]
async fn rfc9068_4_a_token_for_another_audience_is_refused() {
    let world = world().await;
    let token = forged(&world, |claims| claims.aud = "another.zone.example".into()).await;
    assert_eq!(api(&world, "/api/v2/users/me", &token).await.0, 401);
    let token = forged(&world, |claims| claims.iss = "https://evil.example".into()).await;
    assert_eq!(api(&world, "/api/v2/users/me", &token).await.0, 401);
    // The control: the same forge with nothing changed is accepted.
    let token = forged(&world, |_| {}).await;
    assert_eq!(api(&world, "/api/v2/users/me", &token).await.0, 200);
}

#[tokio::test]
async fn rfc9068_4_an_expired_access_token_is_refused() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let access = body["access_token"].as_str().unwrap();
    world.server.clock.advance_secs(299);
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200);
    world.server.clock.advance_secs(1);
    let (status, body) = api(&world, "/api/v2/users/me", access).await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn rfc7515_a_tampered_jwt_and_alg_none_are_refused() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let access = body["access_token"].as_str().unwrap();
    let parts: Vec<&str> = access.split('.').collect();
    let mut claims = claims_of(access);
    claims["scope"] = "user:read admin:write".into();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert_eq!(api(&world, "/api/v2/users/me", &tampered).await.0, 401);
    let mut header = header_of(access);
    header["alg"] = "none".into();
    let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()));
    assert_eq!(api(&world, "/api/v2/users/me", &none).await.0, 401);
    header["alg"] = "HS256".into();
    let hs = format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()), parts[1], parts[2]);
    assert_eq!(api(&world, "/api/v2/users/me", &hs).await.0, 401);
    // An ID token is not an access token (wrong typ and audience).
    let id_token = body.get("id_token").and_then(Value::as_str).map(str::to_string);
    if let Some(id_token) = id_token {
        assert_eq!(api(&world, "/api/v2/users/me", &id_token).await.0, 401);
    }
}

#[tokio::test]
async fn rfc6749_4_4_client_credentials_act_as_the_client_within_its_approval() {
    let world = world().await;
    let (status, body) = token_request(&world, &world.confidential, &[("grant_type", "client_credentials"), ("scope", "user:read")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none());
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(claims_of(access)["sub"], world.confidential.id.as_str());
    let (_, auth) = api(&world, "/api/v2/users/me/current-authorization", access).await;
    assert_eq!(auth["authorization"]["authUsed"], "oauth");
    let (status, body) = token_request(&world, &world.public, &[("grant_type", "client_credentials")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")));
}

async fn client_post(world: &World, path: &str, client: &Client, params: &[(&str, &str)]) -> Response {
    let mut pairs: Vec<(&str, &str)> = params.to_vec();
    pairs.push(("client_id", &client.id));
    if let Some(secret) = &client.secret {
        pairs.push(("client_secret", secret));
    }
    world
        .server
        .http
        .post(world.server.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&pairs))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn rfc7662_introspection_reports_active_as_a_boolean_and_scope_as_a_string() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read organizations:read").await;
    let access = body["access_token"].as_str().unwrap();
    let (status, info) = json(client_post(&world, "/oauth/v2/introspect", &world.confidential, &[("token", access)]).await).await;
    assert_eq!(status, 200);
    assert_eq!(info["active"], true);
    assert_eq!(info["scope"], "organizations:read user:read");
    assert_eq!(info["client_id"], world.confidential.id.as_str());
    let (_, info) = json(client_post(&world, "/oauth/v2/introspect", &world.confidential, &[("token", body["refresh_token"].as_str().unwrap())]).await).await;
    assert_eq!(info["active"], true);
    let (_, info) = json(client_post(&world, "/oauth/v2/introspect", &world.confidential, &[("token", "garbage")]).await).await;
    assert_eq!(info, serde_json::json!({ "active": false }));
    // Another client learns nothing about this client's tokens.
    let (_, info) = json(client_post(&world, "/oauth/v2/introspect", &world.public, &[("token", access)]).await).await;
    assert_eq!(info["active"], false);
    world.server.clock.advance_secs(300);
    let (_, info) = json(client_post(&world, "/oauth/v2/introspect", &world.confidential, &[("token", access)]).await).await;
    assert_eq!(info["active"], false);
}

#[tokio::test]
async fn rfc7009_revocation_answers_200_even_for_unknown_tokens_and_takes_effect_at_once() {
    let world = world().await;
    let response = client_post(&world, "/oauth/v2/revoke", &world.confidential, &[("token", "not-a-token-we-issued")]).await;
    assert_eq!(response.status().as_u16(), 200);
    // Revoking an access token: that token fails at once; the refresh token still works.
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let access = body["access_token"].as_str().unwrap();
    let response = client_post(&world, "/oauth/v2/revoke", &world.confidential, &[("token", access), ("token_type_hint", "access_token")]).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 401);
    let (status, refreshed) = refresh(&world, body["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 200);
    // Revoking the refresh token revokes the family: its access tokens fail at once too (§2.1).
    let fresh_access = refreshed["access_token"].as_str().unwrap();
    assert_eq!(api(&world, "/api/v2/users/me", fresh_access).await.0, 200);
    let response = client_post(&world, "/oauth/v2/revoke", &world.confidential, &[("token", refreshed["refresh_token"].as_str().unwrap())]).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(api(&world, "/api/v2/users/me", fresh_access).await.0, 401);
}

#[tokio::test]
async fn oidc_core_5_3_userinfo_accepts_the_access_token_and_makes_id_token() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "openid profile email user:read").await;
    let id_token = body["id_token"].as_str().unwrap();
    for token in [body["access_token"].as_str().unwrap(), id_token] {
        let response = world.server.http.get(world.server.url("/oauth/v2/oidc/userinfo")).bearer_auth(token).send().await.unwrap();
        let (status, info) = json(response).await;
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["sub"], claims_of(id_token)["sub"]);
        assert_eq!(info["email"], world.email.as_str());
        assert_eq!(info["name"], "Ada");
    }
    let response = world
        .server
        .http
        .post(world.server.url("/oauth/v2/oidc/userinfo"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("access_token", body["access_token"].as_str().unwrap())]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let response = world.server.http.get(world.server.url("/oauth/v2/oidc/userinfo")).bearer_auth("nope").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().get("www-authenticate").unwrap().to_str().unwrap().contains("invalid_token"));
    // Without openid, the access token does not reach userinfo.
    let plain = tokens_for(&world, &world.public, "user:read").await;
    let response = world.server.http.get(world.server.url("/oauth/v2/oidc/userinfo")).bearer_auth(plain["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test]
async fn oidc_discovery_and_rfc8414_metadata_describe_what_is_really_supported() {
    let world = world().await;
    for path in ["/.well-known/openid-configuration", "/oauth/v2/oidc/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
        let (status, meta) = json(world.server.http.get(world.server.url(path)).send().await.unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(meta["issuer"], world.server.base.as_str());
        assert_eq!(meta["grant_types_supported"], serde_json::json!(["authorization_code", "refresh_token", "client_credentials"]));
        assert_eq!(meta["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
        assert_eq!(meta["token_endpoint_auth_methods_supported"], serde_json::json!(["client_secret_post", "client_secret_basic", "none"]));
        assert_eq!(meta["token_endpoint"], format!("{}/oauth/v2/token", world.server.base));
    }
    let (status, jwks) = json(world.server.http.get(world.server.url("/oauth/v2/oidc/jwks")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let key = &jwks["keys"][0];
    for member in ["kid", "kty", "n", "e", "alg", "use"] {
        assert!(key[member].is_string(), "{member}");
    }
    assert_eq!(key["alg"], "RS256");
}

#[tokio::test]
async fn key_rotation_keeps_the_old_key_published_until_its_tokens_expire() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let access = body["access_token"].as_str().unwrap();
    let settings = world.server.state().config.oauth.clone();
    let kids = gatehouse_http::oauth::runtime::rotate_keys(&world.server.store, world.server.clock.now_ts(), &settings).await.unwrap();
    assert_eq!(kids.len(), 1, "RS256 alone by default");
    let kid = &kids[0];
    world.server.state().oauth.reload_keys().await.unwrap();
    let (_, jwks) = json(world.server.http.get(world.server.url("/oauth/v2/oidc/jwks")).send().await.unwrap()).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200, "old tokens still verify");
    let newer = tokens_for(&world, &world.confidential, "user:read").await;
    assert_eq!(header_of(newer["access_token"].as_str().unwrap())["kid"], kid.as_str());
    world.server.clock.advance_secs(settings.key_retirement_secs());
    world.server.state().oauth.reload_keys().await.unwrap();
    let (_, jwks) = json(world.server.http.get(world.server.url("/oauth/v2/oidc/jwks")).send().await.unwrap()).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
}

/// RFC 9068 §2.1 lets the server choose the access tokens' algorithm (RS256 must merely be supported). With
/// ES256 chosen, access tokens are ES256 under a published P-256 key, ID tokens stay RS256 (Make), and both
/// kinds are accepted where they were before; rotation renews both keys.
#[tokio::test]
async fn rfc9068_2_1_es256_access_tokens_when_chosen_with_rs256_id_tokens() {
    let settings = gatehouse_domain::oauth::OAuthSettings {
        access_token_algorithm: gatehouse_domain::oauth::jose::SigningAlgorithm::Es256,
        ..Default::default()
    };
    let world = world_on(TestServer::start_configured(crate::harness::ZONE, settings.clone()).await).await;
    let body = tokens_for(&world, &world.confidential, "openid user:read").await;
    let access = body["access_token"].as_str().unwrap();
    let (_, jwks) = json(world.server.http.get(world.server.url("/oauth/v2/oidc/jwks")).send().await.unwrap()).await;
    let keys = jwks["keys"].as_array().unwrap();
    let access_header = header_of(access);
    assert_eq!(access_header["alg"], "ES256");
    let signer = keys.iter().find(|key| key["kid"] == access_header["kid"]).expect("the access token's key is published");
    assert_eq!((signer["kty"].as_str(), signer["crv"].as_str()), (Some("EC"), Some("P-256")));
    let id_header = header_of(body["id_token"].as_str().unwrap());
    assert_eq!(id_header["alg"], "RS256", "ID tokens stay RS256");
    assert!(keys.iter().any(|key| key["kid"] == id_header["kid"] && key["kty"] == "RSA"));
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200);
    let response = client_post(&world, "/oauth/v2/introspect", &world.confidential, &[("token", access)]).await;
    let (_, introspected) = json(response).await;
    assert_eq!(introspected["active"], true);
    let (status, refreshed) = refresh(&world, body["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 200);
    assert_eq!(header_of(refreshed["access_token"].as_str().unwrap())["alg"], "ES256");
    let kids = gatehouse_http::oauth::runtime::rotate_keys(&world.server.store, world.server.clock.now_ts(), &settings).await.unwrap();
    assert_eq!(kids.len(), 2, "one new key per algorithm in use");
    world.server.state().oauth.reload_keys().await.unwrap();
    let (_, jwks) = json(world.server.http.get(world.server.url("/oauth/v2/oidc/jwks")).send().await.unwrap()).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 4, "old keys stay published until their tokens expire");
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200, "tokens signed before rotation still verify");
    let newer = tokens_for(&world, &world.confidential, "openid user:read").await;
    assert!(kids.iter().any(|kid| header_of(newer["access_token"].as_str().unwrap())["kid"] == kid.as_str()));
}

#[tokio::test]
async fn login_is_throttled_per_account_after_repeated_failures() {
    let world = world().await;
    let url = authorize_url(&world, &world.confidential, "user:read", &[]);
    let mut browser = Browser::new(&world);
    let (_, mut page, _) = browser.get(&url).await;
    for _ in 0..5 {
        let (status, next, _) = browser.login(&page, "wrong password!").await;
        assert_eq!(status, 401);
        page = next;
    }
    let (status, next, _) = browser.login(&page, PASSWORD).await;
    assert_eq!(status, 429, "even the right password waits");
    world.server.clock.advance_secs(15 * 60);
    let (status, _, _) = browser.login(&next, PASSWORD).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn csrf_forged_or_cross_site_form_posts_are_refused() {
    let world = world().await;
    let url = authorize_url(&world, &world.confidential, "user:read", &[]);
    let mut browser = Browser::new(&world);
    let (_, page, _) = browser.get(&url).await;
    let forged = form(&[("csrf", "forged"), ("request", &hidden(&page, "request")), ("email", &world.email), ("password", PASSWORD)]);
    let (status, _, _) = browser.post("/oauth/v2/authorize/login", forged, &[]).await;
    assert_eq!(status, 403);
    let genuine = form(&[("csrf", &hidden(&page, "csrf")), ("request", &hidden(&page, "request")), ("email", &world.email), ("password", PASSWORD)]);
    let (status, _, _) = browser.post("/oauth/v2/authorize/login", genuine.clone(), &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(status, 403);
    let mut stranger = Browser::new(&world);
    let (status, _, _) = stranger.post("/oauth/v2/authorize/login", genuine, &[]).await;
    assert_eq!(status, 400, "no session, no post");
    let (status, page, _) = browser.get(&url).await;
    assert_eq!(status, 200);
    let (status, _, _) = browser.login(&page, PASSWORD).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn oidc_core_3_1_2_1_consent_is_remembered_and_prompt_consent_and_none_behave() {
    let world = world().await;
    let mut browser = Browser::new(&world);
    let location = browser.authorize(&authorize_url(&world, &world.confidential, "user:read", &[]), world.org).await;
    assert!(query_param(&location, "code").is_some());
    // Remembered: straight back with a code.
    let (status, _, location) = browser.get(&authorize_url(&world, &world.confidential, "user:read", &[])).await;
    assert_eq!(status, 302);
    assert!(query_param(&location.unwrap(), "code").is_some());
    // prompt=consent shows the page again.
    let (status, page, _) = browser.get(&authorize_url(&world, &world.confidential, "user:read", &[("prompt", "consent")])).await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"decision\""));
    // New scopes ask again; prompt=none cannot, so it answers consent_required.
    let (status, _, location) = browser.get(&authorize_url(&world, &world.confidential, "user:read teams:read", &[("prompt", "none")])).await;
    assert_eq!(status, 302);
    assert_eq!(query_param(&location.unwrap(), "error").as_deref(), Some("consent_required"));
    let (_, _, location) = browser.get(&authorize_url(&world, &world.confidential, "user:read", &[("prompt", "none")])).await;
    assert!(query_param(&location.unwrap(), "code").is_some());
    // Without a session, prompt=none is login_required.
    let mut stranger = Browser::new(&world);
    let (_, _, location) = stranger.get(&authorize_url(&world, &world.confidential, "user:read", &[("prompt", "none")])).await;
    assert_eq!(query_param(&location.unwrap(), "error").as_deref(), Some("login_required"));
    // prompt=login asks for the password again.
    let (status, page, _) = browser.get(&authorize_url(&world, &world.confidential, "user:read", &[("prompt", "login")])).await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"password\""));
    // Deny goes back with access_denied.
    let (_, page, _) = browser.get(&authorize_url(&world, &world.confidential, "user:read", &[("prompt", "consent")])).await;
    let (_, _, location) = browser.consent(&page, world.org, "deny").await;
    assert_eq!(query_param(&location.unwrap(), "error").as_deref(), Some("access_denied"));
}

#[tokio::test]
async fn client_requests_are_approved_by_administrators_and_the_secret_is_shown_once() {
    let world = world().await;
    let owner = crate::harness::TestUser { id: world.user };
    let token = world.server.token(&owner, &["user:read"]).await;
    let body = serde_json::json!({ "name": "My app", "type": "confidential", "redirectUris": [REDIRECT], "scope": ["user:read"], "description": "d" });
    let (status, created) = json(world.server.request(Method::POST, "/api/v2/oauth/client-requests", &token).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["clientRequest"]["status"], "requested");
    let id = created["clientRequest"]["clientId"].as_str().unwrap().to_string();
    let path = format!("/api/v2/admin/oauth/clients/{id}/approve");
    let (status, _) = json(world.server.request(Method::POST, &path, &token).send().await.unwrap()).await;
    assert_eq!(status, 401, "a regular user's token lacks admin scopes");
    let admin = world.server.user("root@example.com", true).await;
    let admin_token = world.server.token(&admin, &["admin:read", "admin:write"]).await;
    let (status, approved) = json(world.server.request(Method::POST, &path, &admin_token).send().await.unwrap()).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["client"]["status"], "approved");
    assert_eq!(approved["client"]["clientSecret"].as_str().unwrap().len(), 43);
    let (_, listed) = json(world.server.get("/api/v2/admin/oauth/clients?status=approved", &admin_token).send().await.unwrap()).await;
    assert!(listed["clients"].as_array().unwrap().iter().all(|c| c.get("clientSecret").is_none()));
}

/// A revocation written by someone else (another node, the CLI) reaches this node's liveness cache through
/// the revocation feed, well before the cache's own 5-second lifetime.
#[tokio::test]
async fn a_grant_revoked_outside_the_server_reaches_its_cache_through_the_feed() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200, "cached as live now");
    let client_id = gatehouse_domain::oauth::ClientId::parse(&world.confidential.id).unwrap();
    world.server.store.revoke_grant(world.user, &client_id, world.server.clock.now_ts()).await.unwrap().unwrap();
    let start = std::time::Instant::now();
    while api(&world, "/api/v2/users/me", access).await.0 != 401 {
        assert!(start.elapsed() < std::time::Duration::from_secs(2), "the feed never reached the cache");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Clients are cached per node. A secret rotated by someone else (the CLI, another node) reaches the cache
/// through the revocation feed: the old secret stops working and the new one starts, within moments.
#[tokio::test]
async fn rfc6749_2_3_1_a_client_secret_rotated_outside_the_server_takes_effect_through_the_feed() {
    let world = world().await;
    let grant = [("grant_type", "client_credentials"), ("scope", "user:read")];
    let (status, _) = token_request(&world, &world.confidential, &grant).await;
    assert_eq!(status, 200, "the client is cached now");
    let client_id = gatehouse_domain::oauth::ClientId::parse(&world.confidential.id).unwrap();
    let mut stored = world.server.store.oauth_client(&client_id).await.unwrap().unwrap();
    let new_secret = gatehouse_domain::oauth::OpaqueSecret::generate();
    stored.secret_hash = Some(new_secret.hash());
    assert!(world.server.store.update_oauth_client(&stored, world.server.clock.now_ts()).await.unwrap());
    let start = std::time::Instant::now();
    loop {
        let (status, body) = token_request(&world, &world.confidential, &grant).await;
        if status == 401 {
            assert_eq!(body["error"], "invalid_client");
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(2), "the old secret still works: the feed never reached the client cache");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let rotated = Client { id: world.confidential.id.clone(), secret: Some(new_secret.reveal()) };
    assert_eq!(token_request(&world, &rotated, &grant).await.0, 200, "the new secret works");
}

/// Two real `gatehouse serve` processes on the world's store (the same PostgreSQL schema or SQLite file),
/// with the world's clock moved to the wall clock so that codes and tokens it issued are current for them.
fn two_nodes(world: &World) -> (crate::cli::Served, crate::cli::Served) {
    world.server.clock.set(gatehouse_domain::Clock::now(&gatehouse_domain::SystemClock));
    let zone = ["--zone", crate::harness::ZONE];
    let a = crate::cli::serve(&world.server.database_url, &zone, &[]);
    let b = crate::cli::serve(&world.server.database_url, &zone, &[]);
    (a, b)
}

/// A token request to a node process, off the async runtime (the node helpers are blocking).
fn token_request_to(base: &str, client: &Client, params: &[(&str, &str)]) -> (u16, Value) {
    let mut pairs: Vec<(&str, &str)> = params.to_vec();
    pairs.push(("client_id", &client.id));
    if let Some(secret) = &client.secret {
        pairs.push(("client_secret", secret));
    }
    let body = form(&pairs);
    let url = format!("{base}/oauth/v2/token");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let response = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        json(response).await
    })
}

/// Sends the same request to both nodes at the same moment and returns both answers.
fn race(a: &str, b: &str, client: &Client, params: &[(&str, &str)]) -> [(u16, Value); 2] {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let answers: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = [a, b]
            .into_iter()
            .map(|base| {
                let barrier = barrier.clone();
                scope.spawn(move || {
                    barrier.wait();
                    token_request_to(base, client, params)
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    });
    [answers[0].clone(), answers[1].clone()]
}

/// RFC 6749 §4.1.2: a code is single-use, even when two nodes redeem it at the same instant. The store's
/// atomic `used_at` update lets exactly one win; the loser is a replay and revokes what the winner got.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_redeeming_one_code_at_once_succeed_exactly_once() {
    let world = world().await;
    let (node_a, node_b) = two_nodes(&world);
    for _ in 0..5 {
        let code = code_for(&world, &world.confidential, "user:read").await;
        let (a, b) = (node_a.base.clone(), node_b.base.clone());
        let client = Client { id: world.confidential.id.clone(), secret: world.confidential.secret.clone() };
        let answers = tokio::task::spawn_blocking(move || {
            let params = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT), ("code_verifier", VERIFIER)];
            race(&a, &b, &client, &params)
        })
        .await
        .unwrap();
        let winners: Vec<&(u16, Value)> = answers.iter().filter(|(status, _)| *status == 200).collect();
        assert_eq!(winners.len(), 1, "exactly one node redeems the code: {answers:?}");
        let loser = answers.iter().find(|(status, _)| *status != 200).unwrap();
        assert_eq!((loser.0, loser.1["error"].as_str()), (400, Some("invalid_grant")), "{loser:?}");
    }
}

/// RFC 9700 §4.14.2: a refresh token raced on two nodes leaves one living family with one live refresh
/// token: the second request is a retry inside the grace window, and it supersedes the first's successor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_racing_one_refresh_token_leave_one_surviving_family() {
    let world = world().await;
    let (node_a, node_b) = two_nodes(&world);
    let first = tokens_for(&world, &world.confidential, "user:read").await;
    let mut old = first["refresh_token"].as_str().unwrap().to_string();
    let (a, b) = (node_a.base.clone(), node_b.base.clone());
    let client = Client { id: world.confidential.id.clone(), secret: world.confidential.secret.clone() };
    tokio::task::spawn_blocking(move || {
        for round in 0..5 {
            let answers = race(&a, &b, &client, &[("grant_type", "refresh_token"), ("refresh_token", old.as_str())]);
            assert!(answers.iter().any(|(status, _)| *status == 200), "round {round}: no node rotated: {answers:?}");
            // Which new refresh tokens still work? Each is tried once, on node A; the one that works
            // carries the family into the next round.
            let mut survivors = Vec::new();
            for (status, body) in &answers {
                if *status != 200 {
                    continue;
                }
                let next = body["refresh_token"].as_str().unwrap();
                let (status, body) = token_request_to(&a, &client, &[("grant_type", "refresh_token"), ("refresh_token", next)]);
                if status == 200 {
                    survivors.push(body["refresh_token"].as_str().unwrap().to_string());
                }
            }
            assert_eq!(survivors.len(), 1, "round {round}: exactly one successor survives: {answers:?}");
            old = survivors.remove(0);
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn oidc_core_3_1_2_1_the_authorization_endpoint_also_takes_a_form_post() {
    let world = world().await;
    let url = authorize_url(&world, &world.confidential, "user:read", &[]);
    let query = url.split_once('?').unwrap().1.to_string();
    let mut browser = Browser::new(&world);
    let (status, page, _) = browser.post("/oauth/v2/authorize", query, &[]).await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"password\""));
    let (status, _, location) = browser.login(&page, PASSWORD).await;
    assert_eq!(status, 200, "consent page next");
    assert!(location.is_none());
}

#[tokio::test]
async fn machine_endpoints_answer_cors_preflights_and_the_cookie_pages_do_not() {
    let world = world().await;
    let preflight = |path: &str| {
        world
            .server
            .http
            .request(Method::OPTIONS, world.server.url(path))
            .header("origin", "https://spa.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let response = preflight("/oauth/v2/token").await.unwrap();
    assert_eq!(response.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap()), Some("*"));
    let response = preflight("/oauth/v2/authorize/login").await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none());
}

/// Single use is decided by the database, so it holds with several nodes racing: of many concurrent
/// exchanges of one code exactly one wins, and the losers are treated as replays.
#[tokio::test]
async fn rfc6749_4_1_2_concurrent_exchanges_of_one_code_yield_exactly_one_token_response() {
    let world = world().await;
    let code = code_for(&world, &world.confidential, "user:read").await;
    let attempts = (0..6).map(|_| exchange(&world, &world.confidential, &code));
    let results = futures_util::future::join_all(attempts).await;
    let winners = results.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(winners, 1, "{results:?}");
    // The losers were replays: the winner's tokens are revoked too.
    let (_, body) = results.iter().find(|(status, _)| *status == 200).unwrap();
    assert_eq!(api(&world, "/api/v2/users/me", body["access_token"].as_str().unwrap()).await.0, 401);
}

/// The store decides rotations under the family's lock: of many concurrent rotations of one refresh token,
/// exactly one rotates, the others are grace retries that each supersede the previous successor, and one
/// live successor remains. With no grace window, the others are replays and store nothing.
#[tokio::test]
async fn store_rotates_refresh_tokens_atomically() {
    use gatehouse_store::Rotation;
    for (grace, expected_others) in [(30, Rotation::Retried), (0, Rotation::Replayed)] {
        let world = world().await;
        let first = tokens_for(&world, &world.confidential, "user:read").await;
        let secret = gatehouse_domain::oauth::OpaqueSecret::parse(first["refresh_token"].as_str().unwrap()).unwrap();
        let now = world.server.clock.now_ts();
        let store = &world.server.store;
        let parent = store.refresh_token_by_hash(&secret.hash()).await.unwrap().unwrap();
        let successors: Vec<_> = (0..8)
            .map(|_| {
                let mut next = parent.clone();
                next.hash = gatehouse_domain::oauth::OpaqueSecret::generate().hash();
                next.parent_hash = Some(parent.hash);
                next
            })
            .collect();
        let races = successors.iter().map(|next| store.rotate_refresh_token(&parent.hash, next, grace, now));
        let outcomes: Vec<Rotation> = futures_util::future::join_all(races).await.into_iter().map(Result::unwrap).collect();
        assert_eq!(outcomes.iter().filter(|o| **o == Rotation::Rotated).count(), 1, "{outcomes:?}");
        assert!(outcomes.iter().all(|o| *o == Rotation::Rotated || *o == expected_others), "{outcomes:?}");
        let mut live = 0;
        for next in &successors {
            if let Some(stored) = store.refresh_token_by_hash(&next.hash).await.unwrap() {
                live += usize::from(stored.revoked_at.is_none());
            }
        }
        assert_eq!(live, 1, "grace {grace}: exactly one live successor ({outcomes:?})");
    }
}

/// Rotations that arrive together may share one transaction (SQLite's group commit). One that fails must
/// fail alone: its partial work is rolled back and the others are stored.
#[tokio::test]
async fn a_failed_rotation_takes_no_other_rotation_with_it() {
    use gatehouse_store::Rotation;
    let world = world().await;
    let store = &world.server.store;
    let now = world.server.clock.now_ts();
    let mut parents = Vec::new();
    for _ in 0..2 {
        let body = tokens_for(&world, &world.confidential, "user:read").await;
        let secret = gatehouse_domain::oauth::OpaqueSecret::parse(body["refresh_token"].as_str().unwrap()).unwrap();
        parents.push(store.refresh_token_by_hash(&secret.hash()).await.unwrap().unwrap());
    }
    let successor_of = |parent: &gatehouse_domain::oauth::RefreshToken| {
        let mut next = parent.clone();
        next.hash = gatehouse_domain::oauth::OpaqueSecret::generate().hash();
        next.parent_hash = Some(parent.hash);
        next
    };
    // The first successor reuses the second parent's hash: its insert breaks the primary key.
    let mut clashing = successor_of(&parents[0]);
    clashing.hash = parents[1].hash;
    let good = successor_of(&parents[1]);
    let (failed, rotated) = tokio::join!(
        store.rotate_refresh_token(&parents[0].hash, &clashing, 30, now),
        store.rotate_refresh_token(&parents[1].hash, &good, 30, now),
    );
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(rotated.unwrap(), Rotation::Rotated);
    assert!(store.refresh_token_by_hash(&good.hash).await.unwrap().is_some(), "the good rotation was stored");
    let untouched = store.refresh_token_by_hash(&parents[0].hash).await.unwrap().unwrap();
    assert_eq!(untouched.used_at, None, "the failed rotation's partial work was rolled back");
    let retry = successor_of(&parents[0]);
    assert_eq!(store.rotate_refresh_token(&parents[0].hash, &retry, 30, now).await.unwrap(), Rotation::Rotated);
}

#[tokio::test]
async fn login_is_throttled_per_client_address_across_accounts() {
    let world = world().await;
    let url = authorize_url(&world, &world.confidential, "user:read", &[]);
    let mut browser = Browser::new(&world);
    let (_, mut page, _) = browser.get(&url).await;
    // Twenty failures spread over twenty accounts: no account reaches its own limit, the address does.
    for n in 0..20 {
        let body = form(&[
            ("csrf", &hidden(&page, "csrf")),
            ("request", &hidden(&page, "request")),
            ("email", &format!("guess{n}@example.com")),
            ("password", "wrong password!"),
        ]);
        let (status, next, _) = browser.post("/oauth/v2/authorize/login", body, &[]).await;
        assert_eq!(status, 401);
        page = next;
    }
    let (status, _, _) = browser.login(&page, PASSWORD).await;
    assert_eq!(status, 429);
}

#[tokio::test]
async fn rejecting_an_approved_client_revokes_its_tokens_at_once() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200);
    let admin = world.server.user("root@example.com", true).await;
    let admin_token = world.server.token(&admin, &["admin:write"]).await;
    let path = format!("/api/v2/admin/oauth/clients/{}/reject", world.confidential.id);
    let (status, _) = json(world.server.request(Method::POST, &path, &admin_token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 401);
    let (status, body) = refresh(&world, body["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
}
