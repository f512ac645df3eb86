//! What an operator watches (issue 14): the request id on every response, one log line per request that
//! names no credential, JSON logs, and Prometheus metrics on a listener of their own, read with the real
//! Prometheus parser (the Python `prometheus_client` package).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatehouse_http::metrics::AuthOutcome;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::harness::{TEST_SECRETS_KEY, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");
const ME: &str = "/api/v2/users/me";

fn request_id(response: &Response) -> String {
    response.headers().get("x-request-id").expect("an X-Request-Id on every response").to_str().unwrap().to_string()
}

fn is_sane(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_any_other_replaced_on_every_kind_of_response() {
    let server = TestServer::start().await;
    let http = &server.http;
    // Every surface: the API's 200 and 401, an unmatched path's 404, a 405, OAuth's RFC 6749 400, a page,
    // forward-auth, and `/health`.
    let requests = [
        (Method::GET, "/health"),
        (Method::GET, ME),
        (Method::GET, "/api/v2/no-such-thing"),
        (Method::PUT, "/health"),
        (Method::POST, "/oauth/v2/token"),
        (Method::GET, "/oauth/v2/authorize"),
        (Method::GET, "/forward-auth"),
        (Method::GET, "/.well-known/openid-configuration"),
    ];
    for (method, path) in requests {
        let echoed = http.request(method.clone(), server.url(path)).header("x-request-id", "trace-42.A_b").send().await.unwrap();
        assert_eq!(request_id(&echoed), "trace-42.A_b", "{method} {path} ({})", echoed.status());

        let first = request_id(&http.request(method.clone(), server.url(path)).send().await.unwrap());
        let second = request_id(&http.request(method.clone(), server.url(path)).send().await.unwrap());
        assert!(is_sane(&first) && is_sane(&second), "{first} {second}");
        assert_ne!(first, second, "{method} {path}: each request gets an id of its own");
    }
    let too_long = "a".repeat(65);
    for insane in ["has space", "quote\"d", "<script>", "", too_long.as_str()] {
        let replaced = request_id(&http.get(server.url(ME)).header("x-request-id", insane).send().await.unwrap());
        assert_ne!(replaced, insane);
        assert!(is_sane(&replaced), "{replaced}");
    }
    let longest = "b".repeat(64);
    assert_eq!(request_id(&http.get(server.url(ME)).header("x-request-id", &longest).send().await.unwrap()), longest);
}

#[tokio::test]
async fn metrics_are_not_served_on_the_main_listener() {
    let server = TestServer::start().await;
    let response = server.http.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body = response.text().await.unwrap();
    assert!(!body.contains("gatehouse_http_requests"), "{body}");
}

/// Every reason a credential is refused is counted apart, and only once per request.
#[tokio::test]
async fn authentication_outcomes_are_counted_by_reason() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &["user:read"]).await;
    let elsewhere = server.token_in_zone(&user, &["user:read"], "other.zone").await;
    let metrics = &server.state().metrics;
    let send = |authorization: Option<String>| {
        let mut request = server.http.get(server.url(ME));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(send(Some(format!("Token {token}"))).await, 200);
    assert_eq!(send(Some(format!("Token {token}"))).await, 200);
    assert_eq!(send(None).await, 401);
    assert_eq!(send(Some("Token not-a-uuid".into())).await, 401);
    assert_eq!(send(Some(format!("Bearer {token}"))).await, 401);
    assert_eq!(send(Some("Token 3b241101-e2bb-4255-8caf-4136c566a962".into())).await, 401);
    assert_eq!(send(Some(format!("Token {elsewhere}"))).await, 401);
    assert_eq!(send(Some("Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln".into())).await, 401);
    let expected = [
        (AuthOutcome::Accepted, 2),
        (AuthOutcome::Missing, 1),
        (AuthOutcome::Malformed, 2),
        (AuthOutcome::Unknown, 1),
        (AuthOutcome::WrongZone, 1),
        (AuthOutcome::Invalid, 1),
        (AuthOutcome::Expired, 0),
        (AuthOutcome::Revoked, 0),
    ];
    for (outcome, count) in expected {
        assert_eq!(metrics.authentications(outcome), count, "{}", outcome.as_str());
    }
}

/// A `gatehouse serve` process whose standard error is kept whole.
struct Spawned {
    child: Child,
    base: String,
    metrics: Option<String>,
    stderr: Arc<Mutex<Vec<String>>>,
    first_start: Value,
}

impl Spawned {
    fn start(database: &str, extra: &[&str], envs: &[(&str, &str)]) -> Self {
        let mut command = Command::new(BIN);
        command.args(["serve", "--listen", "127.0.0.1:0", "--database", database, "--json"]).args(extra);
        for name in ["GATEHOUSE_ZONE", "GATEHOUSE_CONFIG", "GATEHOUSE_DATABASE_URL", "GATEHOUSE_SECRETS_KEY_FILE", "GATEHOUSE_DEV_MODE"] {
            command.env_remove(name);
        }
        for name in ["GATEHOUSE_LOG", "GATEHOUSE_LOG_FORMAT", "GATEHOUSE_METRICS_LISTEN"] {
            command.env_remove(name);
        }
        command.env("GATEHOUSE_SECRETS_KEY", TEST_SECRETS_KEY).envs(envs.iter().copied());
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn gatehouse");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = stderr.clone();
        let pipe = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("the first start's line");
        let first_start: Value = serde_json::from_str(&first).unwrap_or_else(|_| panic!("first start as JSON: {first:?}"));
        // Drained to the end, so the server never writes into a closed pipe.
        std::thread::spawn(move || for _ in stdout.lines().map_while(Result::ok) {});
        let mut spawned = Self { child, base: String::new(), metrics: None, stderr, first_start };
        let listening = spawned.wait_for_line(|line| line.contains("gatehouse listening on"));
        spawned.base = after(&listening, "gatehouse listening on ");
        if extra.contains(&"--metrics-listen") {
            let metrics = spawned.wait_for_line(|line| line.contains("metrics served on"));
            spawned.metrics = Some(after(&metrics, "metrics served on ").trim_end_matches("/metrics").to_string());
        }
        spawned
    }

    fn wait_for_line(&self, found: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(line) = self.stderr.lock().unwrap().iter().find(|line| found(line)) {
                return line.clone();
            }
            assert!(Instant::now() < deadline, "not logged within 20 s; stderr:\n{}", self.stderr_text());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stderr_text(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    fn token(&self) -> String {
        self.first_start["token"].as_str().expect("first-start token").to_string()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The URL after `marker` in a log line, text or JSON.
fn after(line: &str, marker: &str) -> String {
    let rest = line.split(marker).nth(1).expect("marker");
    rest.split(|c: char| c.is_whitespace() || c == '"').next().unwrap().to_string()
}

fn temp_db() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/gh.db", dir.path().display());
    (dir, url)
}

/// The scrape as the Python client's OpenMetrics parser reads it: `{family: {"type", "samples": [[name, labels, value]]}}`.
/// `None` (with the reason printed) when the parser is not installed, except under CI, where that fails.
fn parse_with_prometheus_client(scrape: &str) -> Option<Value> {
    const SCRIPT: &str = r#"
import json, sys
try:
    # The scrape is OpenMetrics text (its content type says so, and Prometheus asks for it first): read it
    # with the client's OpenMetrics parser, the strict one (it insists on `# EOF`, counters named `_total`,
    # cumulative buckets ending in +Inf). The classic-format parser would file each counter's samples apart.
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
except ImportError as error:
    print("MISSING " + str(error))
    sys.exit(3)
families = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    families[family.name] = {
        "type": family.type,
        "samples": [[sample.name, sample.labels, sample.value] for sample in family.samples],
    }
print(json.dumps(families))
"#;
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(scrape.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.code() == Some(3) {
        let reason = format!("the Prometheus parser is not installed (pip install prometheus-client): {stdout}");
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{reason}");
        eprintln!("skipped: {reason}");
        return None;
    }
    assert!(output.status.success(), "the Prometheus parser refused the scrape: {}\n{scrape}", String::from_utf8_lossy(&output.stderr));
    Some(serde_json::from_str(&stdout).expect("the parser's JSON"))
}

/// The value of the sample `name` whose labels include every pair of `labels` (0 when there is none).
fn sample(families: &Value, family: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let Some(samples) = families[family]["samples"].as_array() else {
        panic!("no family {family} in {families}");
    };
    samples
        .iter()
        .filter(|sample| sample[0] == name && labels.iter().all(|(key, value)| sample[1][key] == *value))
        .map(|sample| sample[2].as_f64().unwrap())
        .sum()
}

/// Issue 14: one JSON log line per request, holding method, route template, status, latency, request id and
/// client, and no credential anywhere in what the server wrote; then a scrape of the metrics listener,
/// parsed by Prometheus's own parser, in which the traffic just sent has moved every count.
#[tokio::test]
async fn json_request_log_holds_the_fields_and_no_secret_and_the_scrape_parses_with_the_counts_moved() {
    let (dir, db) = temp_db();
    let config = dir.path().join("gatehouse.toml");
    std::fs::write(&config, "revocation_poll_ms = 50\n[rate_limits]\nper_token_per_minute = 8\n").unwrap();
    let server = Spawned::start(
        &db,
        &["--log-format", "json", "--metrics-listen", "127.0.0.1:0", "--config", config.to_str().unwrap()],
        &[("GATEHOUSE_LOG", "info")],
    );
    let token = server.token();
    let password = server.first_start["password"].as_str().unwrap().to_string();
    let email = server.first_start["email"].as_str().unwrap().to_string();
    let http = reqwest::Client::new();
    let base = &server.base;
    let with_token = |method: Method, path: &str, value: &str| {
        http.request(method, format!("{base}{path}")).header("authorization", format!("Token {value}"))
    };

    // Accepted twice (a cache miss, then a hit), then a second token made and deleted: a revocation.
    assert_eq!(with_token(Method::GET, ME, &token).send().await.unwrap().status(), 200);
    assert_eq!(with_token(Method::GET, ME, &token).send().await.unwrap().status(), 200);
    let created = with_token(Method::POST, "/api/v2/users/me/api-tokens", &token)
        .json(&json!({ "label": "short-lived", "scope": ["user:read"] }))
        .send()
        .await
        .unwrap();
    let created: Value = created.json().await.unwrap();
    let second = created["apiToken"]["token"].as_str().expect("a new token").to_string();
    let created_at = created["apiToken"]["created"].as_str().unwrap().to_string();
    let deleted = with_token(Method::DELETE, &format!("/api/v2/users/me/api-tokens/{created_at}"), &token).send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    // Refused: a deleted token, no credential, a malformed one.
    assert_eq!(with_token(Method::GET, ME, &second).send().await.unwrap().status(), 401);
    assert_eq!(http.get(format!("{base}{ME}")).send().await.unwrap().status(), 401);
    assert_eq!(with_token(Method::GET, ME, "not-a-token").send().await.unwrap().status(), 401);
    // Secrets where a careless log would pick them up: the query, a cookie, Basic credentials, a body.
    let query = format!("{base}/health?password={password}&token={token}");
    assert_eq!(http.get(query).header("cookie", format!("gh_session={token}")).send().await.unwrap().status(), 200);
    let basic = http
        .post(format!("{base}/oauth/v2/token"))
        .basic_auth(&email, Some(&password))
        .form(&[("grant_type", "password"), ("username", email.as_str()), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert!(basic.status().is_client_error());
    let login = http
        .post(format!("{base}/oauth/v2/authorize/login"))
        .form(&[("email", email.as_str()), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert!(login.status().is_client_error(), "{}", login.status());
    assert_eq!(http.get(format!("{base}/no/such/path/{token}")).send().await.unwrap().status(), 404);
    // Past the per-token limit (8 a minute; 4 counted so far): two refusals.
    let mut limited = 0;
    for _ in 0..6 {
        if with_token(Method::GET, ME, &token).send().await.unwrap().status() == 429 {
            limited += 1;
        }
    }
    assert_eq!(limited, 2);
    assert_eq!(http.get(format!("{base}/metrics")).send().await.unwrap().status(), 404, "not on the main listener");
    let last = http.get(format!("{base}/health")).header("x-request-id", "observability-last").send().await.unwrap();
    assert_eq!(request_id(&last), "observability-last");

    // The scrape, once the revocation feed has applied the deletion.
    let metrics_base = server.metrics.clone().expect("the metrics address");
    let deadline = Instant::now() + Duration::from_secs(10);
    let scrape = loop {
        let response = http.get(format!("{metrics_base}/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
        assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
        let text = response.text().await.unwrap();
        if text.contains("gatehouse_revocation_apply_lag_seconds_count 1") || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for secret in [&token, &second, &password] {
        assert!(!scrape.contains(secret.as_str()), "a secret in the scrape");
    }

    // The log: every line JSON; one request line per request, with its fields.
    server.wait_for_line(|line| line.contains("observability-last"));
    let stderr = server.stderr_text();
    for secret in [&token, &second, &password] {
        assert!(!stderr.contains(secret.as_str()), "a secret in the log:\n{stderr}");
    }
    let lines: Vec<Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON line: {line}")))
        .collect();
    let requests: Vec<&Value> = lines.iter().filter(|line| line["target"] == "gatehouse::request").collect();
    assert_eq!(requests.len(), 19, "one line per request:\n{stderr}");
    for line in &requests {
        assert_eq!(line["level"], "INFO");
        assert!(line["method"].is_string() && line["route"].is_string(), "{line}");
        assert!(line["status"].as_u64().is_some_and(|status| (100..600).contains(&status)), "{line}");
        assert!(line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
        assert!(line["request_id"].as_str().is_some_and(is_sane), "{line}");
        assert_eq!(line["client"], "127.0.0.1", "{line}");
    }
    let me = requests.iter().find(|line| line["route"] == ME && line["status"] == 200).expect("a line for /users/me");
    assert_eq!(me["method"], "GET");
    assert!(requests.iter().any(|line| line["route"] == "/api/v2/users/me/api-tokens/{created}" && line["method"] == "DELETE"));
    assert!(requests.iter().any(|line| line["route"] == "/oauth/v2/token" && (line["status"] == 400 || line["status"] == 401)));
    assert!(requests.iter().any(|line| line["route"] == "unmatched" && line["status"] == 404));
    assert!(requests.iter().any(|line| line["route"] == "/health" && line["request_id"] == "observability-last"));

    // The scrape, read by Prometheus's parser.
    let Some(families) = parse_with_prometheus_client(&scrape) else { return };
    let requests_family = "gatehouse_http_requests";
    assert_eq!(families[requests_family]["type"], "counter", "{families}");
    assert!(sample(&families, requests_family, "gatehouse_http_requests_total", &[("route", ME), ("method", "GET"), ("status", "200")]) >= 2.0);
    assert!(sample(&families, requests_family, "gatehouse_http_requests_total", &[("route", "unmatched"), ("status", "404")]) >= 2.0);
    assert!(sample(&families, requests_family, "gatehouse_http_requests_total", &[("route", ME), ("status", "429")]) >= 2.0);
    let latency = "gatehouse_http_request_duration_seconds";
    assert_eq!(families[latency]["type"], "histogram");
    assert!(sample(&families, latency, "gatehouse_http_request_duration_seconds_count", &[("route", ME)]) >= 5.0);
    assert!(sample(&families, latency, "gatehouse_http_request_duration_seconds_bucket", &[("route", ME), ("le", "+Inf")]) >= 5.0);
    let outcomes = "gatehouse_authentications";
    for (outcome, at_least) in [("accepted", 7.0), ("unknown", 1.0), ("missing", 1.0), ("malformed", 1.0)] {
        assert!(sample(&families, outcomes, "gatehouse_authentications_total", &[("outcome", outcome)]) >= at_least, "{outcome}");
    }
    assert!(sample(&families, "gatehouse_cache_hits", "gatehouse_cache_hits_total", &[("cache", "api_token")]) >= 1.0);
    assert!(sample(&families, "gatehouse_cache_misses", "gatehouse_cache_misses_total", &[("cache", "api_token")]) >= 1.0);
    assert_eq!(families["gatehouse_db_pool_connections"]["type"], "gauge");
    assert!(sample(&families, "gatehouse_db_pool_connections", "gatehouse_db_pool_connections", &[("pool", "reads")]) >= 1.0);
    assert!(families["gatehouse_db_pool_idle_connections"]["samples"].as_array().is_some_and(|samples| samples.len() == 2));
    assert_eq!(sample(&families, "gatehouse_rate_limit_refusals", "gatehouse_rate_limit_refusals_total", &[("rule", "token")]), 2.0);
    let lag = "gatehouse_revocation_apply_lag_seconds";
    assert_eq!(families[lag]["type"], "histogram");
    assert_eq!(sample(&families, lag, "gatehouse_revocation_apply_lag_seconds_count", &[]), 1.0, "{scrape}");
    let since = sample(&families, "gatehouse_revocation_feed_last_read_age_seconds", "gatehouse_revocation_feed_last_read_age_seconds", &[]);
    assert!((0.0..5.0).contains(&since), "{since}");
}

/// The default format is text, and the request line reads as one.
#[tokio::test]
async fn the_text_request_log_names_the_route_and_never_the_query() {
    let (_dir, db) = temp_db();
    let server = Spawned::start(&db, &[], &[("GATEHOUSE_LOG", "info")]);
    let token = server.token();
    let http = reqwest::Client::new();
    let url = format!("{}/api/v2/users/me/api-tokens?secret={token}", server.base);
    let response = http.get(url).header("authorization", format!("Token {token}")).header("x-request-id", "text-line").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let line = server.wait_for_line(|line| line.contains("text-line"));
    for field in ["gatehouse::request", "method=GET", "route=/api/v2/users/me/api-tokens", "status=200", "latency_ms=", "client=127.0.0.1"] {
        assert!(line.contains(field), "{field} in {line}");
    }
    assert!(!server.stderr_text().contains(&token), "{}", server.stderr_text());
}
