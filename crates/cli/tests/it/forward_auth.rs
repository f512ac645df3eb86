//! `/forward-auth`: a reverse proxy asks Gatehouse about a request it is about to forward. The original
//! request comes from the proxy's headers, is judged by the route policy, and a 200 names the caller.

use std::sync::Arc;
use std::time::Duration;

use gatehouse::server;
use gatehouse_domain::policy::Policy;
use gatehouse_http::AppState;
use gatehouse_http::client_address::TrustedProxies;
use reqwest::RequestBuilder;
use reqwest::header::HeaderMap;

use crate::harness::{TestServer, assert_make_error, json};
use crate::oauth::support::{tokens_for, world};

/// A request as nginx's `auth_request` sends it: the original method and URI in `X-Original-*`.
fn nginx(server: &TestServer, method: &str, uri: &str) -> RequestBuilder {
    server.http.get(server.url("/forward-auth")).header("x-original-method", method).header("x-original-uri", uri)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers.get(name).map(|value| value.to_str().unwrap()).unwrap_or_else(|| panic!("no {name} header"))
}

/// Another node on the same store, with its state changed by `edit` (a policy, the trusted proxies).
async fn node_with(server: &TestServer, edit: impl FnOnce(AppState) -> AppState) -> (String, server::Running) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let store = gatehouse_store::open(&server.database_url).await.unwrap();
    let state = edit(server::state(store, Arc::new(server.clock.clone()), server.state().app.settings.clone()));
    let cadence = server::Cadence { flush_every: Duration::from_secs(3600), revocation_poll: Duration::from_millis(50) };
    (base, server::start(listener, state, cadence).await.unwrap())
}

#[tokio::test]
async fn an_allowed_request_gets_200_with_the_callers_identity_for_the_upstream() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &["scenarios:read", "teams:read"]).await;
    let response = nginx(&server, "GET", "/api/v2/scenarios?teamId=1").header("authorization", format!("Token {token}")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(header(headers, "x-gatehouse-user"), user.id.0.to_string());
    assert_eq!(header(headers, "x-gatehouse-scopes"), "scenarios:read teams:read");
    assert_eq!(header(headers, "x-gatehouse-auth"), "token");
    assert_eq!(header(headers, "x-gatehouse-token-label"), "test");
    // Always present, empty when not applicable, so a proxy copying them overwrites what a client sent.
    assert_eq!(header(headers, "x-gatehouse-client"), "");
    assert_eq!(header(headers, "x-gatehouse-organization"), "");
}

#[tokio::test]
async fn a_request_without_the_rules_scope_gets_makes_401_with_the_missing_scope() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &["scenarios:read"]).await;
    let response = nginx(&server, "POST", "/api/v2/scenarios/7/run").header("authorization", format!("Token {token}")).send().await.unwrap();
    let challenge = header(response.headers(), "www-authenticate").to_string();
    assert!(challenge.contains("error=\"insufficient_scope\"") && challenge.contains("scope=\"scenarios:run\""), "{challenge}");
    let (status, body) = json(response).await;
    assert_make_error(status, &body, 401, "SC401");
    assert!(body["detail"].as_str().unwrap().contains("scenarios:run"), "{body}");
}

#[tokio::test]
async fn no_credential_is_401_with_the_challenge() {
    let server = TestServer::start().await;
    let response = nginx(&server, "GET", "/api/v2/scenarios").send().await.unwrap();
    assert!(header(response.headers(), "www-authenticate").starts_with("Token realm=\"gatehouse\""));
    let (status, body) = json(response).await;
    assert_make_error(status, &body, 401, "SC401");
}

#[tokio::test]
async fn a_route_no_rule_matches_is_denied_with_403() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &["scenarios:read"]).await;
    for uri in ["/internal/metrics", "/api/v2/scenarios/", "/api/v2/public/../scenarios", "/api/v2/scenarios%2F1"] {
        let (status, body) = json(nginx(&server, "GET", uri).header("authorization", format!("Token {token}")).send().await.unwrap()).await;
        assert_make_error(status, &body, 403, "SC403");
    }
}

#[tokio::test]
async fn traefik_headers_are_read_and_any_check_method_is_accepted() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &["hooks:write"]).await;
    let response = server
        .http
        .post(server.url("/forward-auth"))
        .header("x-forwarded-method", "DELETE")
        .header("x-forwarded-uri", "/api/v2/hooks/12?confirmed=true")
        .header("x-forwarded-host", "api.example.com")
        .header("authorization", format!("Token {token}"))
        .body("a body that is never read")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, _) = json(
        server
            .http
            .get(server.url("/forward-auth"))
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-uri", "/api/v2/hooks/12")
            .header("authorization", format!("Token {token}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401, "hooks:write does not read");
}

#[tokio::test]
async fn envoy_sends_the_original_path_below_forward_auth() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &["connections:write"]).await;
    let response = server
        .http
        .patch(server.url("/forward-auth/api/v2/connections/3?x=1"))
        .header("authorization", format!("Token {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn without_the_original_request_the_answer_is_403_not_a_guess() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &["scenarios:read"]).await;
    let (status, body) = json(server.get("/forward-auth", &token).send().await.unwrap()).await;
    assert_make_error(status, &body, 403, "SC403");
    assert!(body["detail"].as_str().unwrap().contains("X-Original-URI"), "{body}");
}

#[tokio::test]
async fn proxy_headers_from_an_untrusted_peer_are_not_believed() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &["scenarios:read"]).await;
    let (base, running) = node_with(&server, |state| state.with_trusted_proxies(TrustedProxies::none())).await;
    let response = server
        .http
        .get(format!("{base}/forward-auth"))
        .header("x-original-method", "GET")
        .header("x-original-uri", "/api/v2/scenarios")
        .header("authorization", format!("Token {token}"))
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_make_error(status, &body, 403, "SC403");
    assert!(body["detail"].as_str().unwrap().contains("trusted proxies"), "{body}");
    running.stop().await;
}

#[tokio::test]
async fn a_configured_policy_replaces_makes_table() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &["datastores:read"]).await;
    let policy = Policy::from_toml("[rules]\n\"GET /reports/{id}\" = [\"datastores:read\"]\n\"* /health\" = []\n").unwrap();
    let (base, running) = node_with(&server, |state| state.with_policy(policy)).await;
    let ask = |method: &'static str, uri: &'static str| {
        server
            .http
            .get(format!("{base}/forward-auth"))
            .header("x-original-method", method)
            .header("x-original-uri", uri)
            .header("authorization", format!("Token {token}"))
            .send()
    };
    assert_eq!(ask("GET", "/reports/2024").await.unwrap().status(), 200);
    assert_eq!(ask("POST", "/health").await.unwrap().status(), 200, "an empty list needs only a credential");
    assert_eq!(ask("GET", "/api/v2/data-stores").await.unwrap().status(), 403, "Make's table is replaced");
    running.stop().await;
}

#[tokio::test]
async fn an_oauth_token_names_its_client_and_its_one_organization_and_counts_against_it() {
    let world = world().await;
    let tokens = tokens_for(&world, &world.confidential, "teams:read").await;
    let access = tokens["access_token"].as_str().unwrap();
    let ask = || {
        nginx(&world.server, "GET", "/api/v2/teams?organizationId=1").header("authorization", format!("Bearer {access}")).send()
    };
    let response = ask().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(header(headers, "x-gatehouse-auth"), "oauth");
    assert_eq!(header(headers, "x-gatehouse-client"), world.confidential.id);
    assert_eq!(header(headers, "x-gatehouse-organization"), world.org.to_string());
    assert_eq!(header(headers, "x-gatehouse-user"), world.user.0.to_string());
    assert_eq!(header(headers, "x-gatehouse-token-label"), "");
    // The harness's organizations allow 60 requests a minute; the first was counted above.
    for _ in 1..60 {
        assert_eq!(ask().await.unwrap().status(), 200);
    }
    let response = ask().await.unwrap();
    assert!(response.headers().contains_key("retry-after"));
    // Issue 13: the limit is named on forward-auth answers as on `/api/v2`.
    assert_eq!(header(response.headers(), "ratelimit-remaining"), "0");
    assert!(!header(response.headers(), "ratelimit-limit").is_empty());
    let (status, body) = json(response).await;
    assert_make_error(status, &body, 429, "SC429");
}

#[tokio::test]
async fn api_tokens_are_not_counted_against_any_organization() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    server.org(&user, "Acme").await;
    let token = server.token(&user, &["teams:read"]).await;
    for _ in 0..70 {
        let response = nginx(&server, "GET", "/api/v2/teams").header("authorization", format!("Token {token}")).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
}

#[tokio::test]
async fn labels_outside_visible_ascii_are_percent_encoded() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let now = crate::harness::ClockExt::now_ts(&server.clock);
    let request = gatehouse_domain::NewApiTokenRequest::new("Zürich 100%", &["scenarios:read"], None, now).unwrap();
    let zone = server.state().app.settings.zone.clone();
    let (secret, _) = crate::harness::issue_api_token(&server.store, &zone, user.id, request, now).await.unwrap();
    let response =
        nginx(&server, "GET", "/api/v2/scenarios").header("authorization", format!("Token {}", secret.reveal())).send().await.unwrap();
    assert_eq!(header(response.headers(), "x-gatehouse-token-label"), "Z%C3%BCrich 100%25");
}

#[test]
fn policy_check_names_the_deciding_rule_and_exits_1_when_denied() {
    let bin = env!("CARGO_BIN_EXE_gatehouse");
    let allowed = std::process::Command::new(bin).args(["policy", "check", "GET", "/api/v2/scenarios/12?x=1"]).output().unwrap();
    assert!(allowed.status.success());
    let text = String::from_utf8(allowed.stdout).unwrap();
    assert!(text.contains("GET /api/v2/scenarios/{scenarioId}") && text.contains("scenarios:read"), "{text}");
    assert!(text.contains("scenarioId = 12"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.toml");
    std::fs::write(&file, "[rules]\n\"* /reports/{*rest}\" = [\"datastores:read\"]\n").unwrap();
    let json = std::process::Command::new(bin)
        .args(["--json", "policy", "check", file.to_str().unwrap(), "DELETE", "/reports/2024/q1"])
        .output()
        .unwrap();
    assert!(json.status.success());
    let body: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(body["rule"], "* /reports/{*rest}");
    assert_eq!(body["scopes"], serde_json::json!(["datastores:read"]));
    assert_eq!(body["parameters"]["rest"], "2024/q1");

    let denied = std::process::Command::new(bin).args(["policy", "check", "GET", "/internal"]).output().unwrap();
    assert_eq!(denied.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&denied.stderr).contains("no rule of the policy matches GET /internal"));

    std::fs::write(&file, "[rules]\n\"GET /a\" = [\"scenario:read\"]\n").unwrap();
    let invalid = std::process::Command::new(bin).args(["policy", "check", file.to_str().unwrap(), "GET", "/a"]).output().unwrap();
    assert!(!invalid.status.success());
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("rule \"GET /a\": unknown scope \"scenario:read\""));
}
