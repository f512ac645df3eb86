//! Rate limits: Make's per-organization `license.apiLimit` (reference §5.1), exact under concurrency and
//! across nodes sharing Redis, the `RateLimit-*` headers, the login throttle's fairness, and Redis failing
//! mid-test. Time is the servers' mock clock.
//!
//! Tests that need Redis (127.0.0.1:6379) say why they skip when it is absent; `.ci/run` starts it. They
//! hold one lock, since one of them stops Redis.

use std::sync::atomic::Ordering;
use std::time::Duration;

use gatehouse_app::rate_limit::LimitSettings;
use gatehouse_domain::OrgRole;
use reqwest::Method;
use serde_json::Value;

use crate::harness::{TestServer, assert_make_error, json};
use crate::oauth::support::{PASSWORD, authorize_url, form, hidden, world_on, Browser};

const LIMIT: i64 = 10;
const REDIS_URL: &str = "redis://127.0.0.1:6379";
static REDIS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn redis_cli(args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("redis-cli").args(args).output().ok()?;
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn redis_is_up() -> bool {
    redis_cli(&["ping"]).as_deref() == Some("PONG")
}

fn start_redis() {
    let _ = std::fs::create_dir_all("/var/lib/redis");
    let _ = std::fs::create_dir_all("/var/log/redis");
    let _ = std::process::Command::new("redis-server")
        .args(["--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "", "--appendonly", "no"])
        .args(["--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log"])
        .status();
}

/// Limits shared through Redis under a key prefix of this test's own.
fn shared_limits(test: &str) -> LimitSettings {
    LimitSettings {
        redis_url: Some(REDIS_URL.into()),
        redis_prefix: format!("gatehouse-it-{}-{test}:", std::process::id()),
        ..LimitSettings::default()
    }
}

/// A server with an organization limited to `LIMIT` a minute, and a token of its owner.
async fn limited_org(server: &TestServer) -> (gatehouse_domain::OrganizationId, String) {
    let owner = server.user("owner@example.com", false).await;
    let org = server.org(&owner, "Limited").await;
    server.state().app.set_api_limit(org, LIMIT).await.unwrap();
    (org, server.token(&owner, &["organizations:read", "teams:read"]).await)
}

/// Fires `count` concurrent requests for the organization, spread over `nodes`; returns the statuses.
async fn burst(nodes: &[&TestServer], org: gatehouse_domain::OrganizationId, token: &str, count: usize) -> Vec<u16> {
    let requests = (0..count).map(|n| {
        let node = nodes[n % nodes.len()];
        node.get(&format!("/api/v2/organizations/{org}"), token)
    });
    futures_statuses(requests).await
}

/// Sends the requests at once (each on its own task) and returns their statuses.
async fn futures_statuses(requests: impl Iterator<Item = reqwest::RequestBuilder>) -> Vec<u16> {
    let sent: Vec<_> = requests.map(|request| tokio::spawn(request.send())).collect();
    let mut statuses = Vec::with_capacity(sent.len());
    for response in sent {
        statuses.push(response.await.unwrap().unwrap().status().as_u16());
    }
    statuses
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

#[track_caller]
fn assert_no_5xx(statuses: &[u16]) {
    assert!(statuses.iter().all(|s| *s < 500), "a 5xx: {statuses:?}");
}

async fn rate_limits_mode(server: &TestServer) -> String {
    let (_, body) = json(server.http.get(server.url("/health")).send().await.unwrap()).await;
    body["rateLimits"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn twice_the_limit_yields_the_limit_per_window_on_one_node() {
    let server = TestServer::start().await;
    let (org, token) = limited_org(&server).await;
    for window in 0..2 {
        let statuses = burst(&[&server], org, &token, 2 * LIMIT as usize).await;
        assert_eq!(count(&statuses, 200), LIMIT as usize, "window {window}: {statuses:?}");
        assert_eq!(count(&statuses, 429), LIMIT as usize, "window {window}: {statuses:?}");
        server.clock.advance_secs(60);
    }
    assert_eq!(rate_limits_mode(&server).await, "local");
}

#[tokio::test]
async fn a_refusal_is_makes_429_with_retry_after_and_every_counted_response_says_what_is_left() {
    let server = TestServer::start().await;
    let (org, token) = limited_org(&server).await;
    server.clock.advance_secs(15);
    let path = format!("/api/v2/organizations/{org}");
    for used in 1..=LIMIT {
        let response = server.get(&path, &token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers();
        assert_eq!(headers["ratelimit-limit"], LIMIT.to_string());
        assert_eq!(headers["ratelimit-remaining"], (LIMIT - used).to_string());
        assert_eq!(headers["ratelimit-reset"], "45");
    }
    let response = server.get(&path, &token).send().await.unwrap();
    assert_eq!(response.headers()["retry-after"], "45");
    assert_eq!(response.headers()["ratelimit-remaining"], "0");
    let (status, body) = json(response).await;
    assert_make_error(status, &body, 429, "SC429");
    assert_eq!(body["detail"], "Requests limit for organization exceeded, please try again later.");
    // Teams of the organization count against it too; the caller's own profile counts against none.
    let response = server.get(&format!("/api/v2/teams?organizationId={org}"), &token).send().await.unwrap();
    assert_eq!(response.status(), 429);
    let response = server.get("/api/v2/users/me", &token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("ratelimit-limit").is_none(), "/users/me counts against no organization");
}

#[tokio::test]
async fn a_new_limit_set_from_the_cli_applies_at_once() {
    let server = TestServer::start().await;
    let (org, token) = limited_org(&server).await;
    let statuses = burst(&[&server], org, &token, LIMIT as usize).await;
    assert_eq!(count(&statuses, 200), LIMIT as usize);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["--database", &server.database_url, "org", "set-limit", "--org", &org.to_string(), "--api-limit", "12"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let statuses = burst(&[&server], org, &token, 5).await;
    assert_eq!(count(&statuses, 200), 2, "12 a minute now, 10 used: {statuses:?}");
}

#[tokio::test]
async fn per_token_limits_are_off_by_default_and_count_when_configured() {
    let server = TestServer::start_with_limits(LimitSettings { per_token_per_minute: Some(3), ..LimitSettings::default() }).await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &["user:read"]).await;
    let statuses = futures_statuses((0..6).map(|_| server.get("/api/v2/users/me", &token))).await;
    assert_eq!(count(&statuses, 200), 3, "{statuses:?}");
    let response = server.get("/api/v2/users/me", &token).send().await.unwrap();
    assert_eq!(response.headers()["ratelimit-limit"], "3");
    let (status, body) = json(response).await;
    assert_make_error(status, &body, 429, "SC429");
    let other = server.token(&user, &["user:read"]).await;
    assert_eq!(server.get("/api/v2/users/me", &other).send().await.unwrap().status(), 200, "another token, its own count");
}

#[tokio::test]
async fn the_token_endpoint_is_limited_per_client() {
    let server = TestServer::start_with_limits(LimitSettings { token_endpoint_per_client_per_minute: 3, ..LimitSettings::default() }).await;
    let post = |client: &str| {
        server.http.post(server.url("/oauth/v2/token")).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", "wrong"),
        ])
    };
    let statuses = futures_statuses((0..5).map(|_| post("guessed-client"))).await;
    assert_eq!(count(&statuses, 401), 3, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 2, "{statuses:?}");
    let response = post("guessed-client").send().await.unwrap();
    assert!(response.headers().get("retry-after").is_some());
    let (_, body) = json(response).await;
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(post("another-client").send().await.unwrap().status(), 401, "counted per client");
}

#[tokio::test]
async fn concurrent_wrong_passwords_are_checked_at_most_the_limit_and_the_owner_still_signs_in_elsewhere() {
    let world = world_on(TestServer::start().await).await;
    let app = &world.server.state().app;
    let url = authorize_url(&world, &world.confidential, "user:read", &[]);
    let (cookie, page) = fresh_session(&world.server, &url).await;
    let body = form(&[("csrf", &hidden(&page, "csrf")), ("request", &hidden(&page, "request")), ("email", &world.email), ("password", "wrong password!")]);
    let checks_before = app.password_checks.load(Ordering::Relaxed);
    let statuses = futures_statuses((0..100).map(|_| {
        world
            .server
            .http
            .post(world.server.url("/oauth/v2/authorize/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &cookie)
            .header("x-forwarded-for", "203.0.113.66")
            .body(body.clone())
    }))
    .await;
    assert_no_5xx(&statuses);
    let checks = app.password_checks.load(Ordering::Relaxed) - checks_before;
    assert!(checks <= 5, "{checks} password checks for 100 concurrent guesses: {statuses:?}");
    assert_eq!(count(&statuses, 401) as u64, checks);
    assert_eq!(count(&statuses, 429) as u64, 100 - checks);
    // The owner, from another address behind the same trusted proxy, signs in at once.
    let mut owner = Browser::new(&world);
    let (_, page, _) = owner.get(&url).await;
    let genuine = form(&[("csrf", &hidden(&page, "csrf")), ("request", &hidden(&page, "request")), ("email", &world.email), ("password", PASSWORD)]);
    let (status, page, _) = owner.post("/oauth/v2/authorize/login", genuine, &[("x-forwarded-for", "198.51.100.7")]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("name=\"decision\""), "the consent page follows");
}

/// A fresh browser session on the authorize page: its cookie and the page.
async fn fresh_session(server: &TestServer, url: &str) -> (String, String) {
    let response = server.http.get(url).send().await.unwrap();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().split(';').next().unwrap().to_string())
        .next_back()
        .unwrap();
    (cookie, response.text().await.unwrap())
}

#[tokio::test]
async fn an_unlock_from_the_cli_lifts_the_login_limit() {
    let world = world_on(TestServer::start().await).await;
    let url = authorize_url(&world, &world.confidential, "user:read", &[]);
    let mut browser = Browser::new(&world);
    let (_, mut page, _) = browser.get(&url).await;
    for _ in 0..5 {
        let (status, next, _) = browser.login(&page, "wrong password!").await;
        assert_eq!(status, 401);
        page = next;
    }
    let (status, next, _) = browser.login(&page, PASSWORD).await;
    assert_eq!(status, 429);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["--database", &world.server.database_url, "user", "unlock", "--email", &world.email])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (status, _, _) = browser.login(&next, PASSWORD).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn two_nodes_sharing_redis_allow_the_limit_once_per_window() {
    let _redis = REDIS.lock().await;
    if !redis_is_up() {
        eprintln!("skipped: no Redis on 127.0.0.1:6379 (.ci/run starts one)");
        return;
    }
    let first = TestServer::start_with_limits(shared_limits("two-nodes")).await;
    let second = first.another_node().await;
    let (org, token) = limited_org(&first).await;
    for window in 0..2 {
        let statuses = burst(&[&first, &second], org, &token, 2 * LIMIT as usize).await;
        assert_eq!(count(&statuses, 200), LIMIT as usize, "window {window}: {statuses:?}");
        first.clock.advance_secs(60);
    }
    assert_eq!(rate_limits_mode(&first).await, "shared");
    assert_eq!(rate_limits_mode(&second).await, "shared");
}

#[tokio::test]
async fn redis_going_away_mid_test_keeps_limiting_locally_and_sharing_resumes_when_it_returns() {
    let _redis = REDIS.lock().await;
    if !redis_is_up() {
        eprintln!("skipped: no Redis on 127.0.0.1:6379 (.ci/run starts one)");
        return;
    }
    let first = TestServer::start_with_limits(shared_limits("failover")).await;
    let second = first.another_node().await;
    let (org, token) = limited_org(&first).await;
    let statuses = burst(&[&first, &second], org, &token, 4).await;
    assert_eq!(count(&statuses, 200), 4);

    redis_cli(&["shutdown", "nosave"]);
    for _ in 0..50 {
        if !redis_is_up() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Same window: each node now counts alone, from zero, and still limits.
    let statuses = burst(&[&first, &second], org, &token, 4 * LIMIT as usize).await;
    assert_no_5xx(&statuses);
    assert_eq!(count(&statuses, 200), 2 * LIMIT as usize, "each node allows the limit on its own: {statuses:?}");
    assert_eq!(rate_limits_mode(&first).await, "local");
    assert_eq!(rate_limits_mode(&second).await, "local");
    let (status, _): (u16, Value) = json(first.request(Method::GET, "/api/v2/users/me", &token).send().await.unwrap()).await;
    assert_eq!(status, 200, "requests that count against no limit are served as ever");

    start_redis();
    for _ in 0..50 {
        if redis_is_up() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(redis_is_up(), "Redis did not come back");
    // Past the reconnect interval, in a new window: shared again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    first.clock.advance_secs(60);
    let _ = burst(&[&first, &second], org, &token, 2).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    first.clock.advance_secs(60);
    let statuses = burst(&[&first, &second], org, &token, 2 * LIMIT as usize).await;
    assert_no_5xx(&statuses);
    assert_eq!(count(&statuses, 200), LIMIT as usize, "shared again: {statuses:?}");
    assert_eq!(rate_limits_mode(&first).await, "shared");
    assert_eq!(rate_limits_mode(&second).await, "shared");
}

#[tokio::test]
async fn members_share_their_organizations_limit() {
    let server = TestServer::start().await;
    let (org, token) = limited_org(&server).await;
    let member = server.user("member@example.com", false).await;
    server.join(org, &member, OrgRole::Member).await;
    let other = server.token(&member, &["organizations:read"]).await;
    let mut statuses = burst(&[&server], org, &token, LIMIT as usize / 2).await;
    statuses.extend(burst(&[&server], org, &other, LIMIT as usize).await);
    assert_eq!(count(&statuses, 200), LIMIT as usize, "{statuses:?}");
}
