//! The OpenAPI document (issue 14): generated from the code, served publicly at `/api/v2/openapi.json`,
//! checked against the routers so that it cannot drift from them, checked in at `docs/openapi.json`, and
//! valid by a real validator.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use gatehouse_domain::{Access, Scope, ScopeSet};
use gatehouse_http::oauth::OAUTH_ROUTES;
use gatehouse_http::openapi::{self, EXAMPLE_ISSUER};
use gatehouse_http::routes::{API_PREFIX, API_ROUTES, Needs, openapi_document};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

/// Set to regenerate `docs/openapi.json` instead of comparing it.
const UPDATE_ENV: &str = "GATEHOUSE_UPDATE_OPENAPI";

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn generated(issuer: &str) -> Value {
    serde_json::to_value(openapi_document(issuer)).expect("the document is JSON")
}

fn rendered(issuer: &str) -> String {
    openapi::to_json(&openapi_document(issuer)).expect("render")
}

/// Every (METHOD, path) the document describes.
fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

/// Every (METHOD, path) the routers serve under `/api/v2`, `/oauth/v2` and `/.well-known`.
fn served_operations() -> BTreeSet<(String, String)> {
    let mut served: BTreeSet<(String, String)> =
        API_ROUTES.iter().map(|route| (route.method.to_string(), format!("{API_PREFIX}{}", route.path))).collect();
    served.extend(OAUTH_ROUTES.iter().map(|route| (route.method.to_string(), route.path.to_string())));
    served.insert(("GET".to_string(), openapi::PATH.to_string()));
    served
}

/// The security requirements a route's `Needs` call for, worked out here from the scope rules themselves
/// (Make's verb rule: `<resource>:read` for GET, `:write` for the rest), not from `openapi.rs`.
fn expected_security(method: &str, needs: Needs) -> Value {
    let scope = |resource: &str| Scope::for_resource(resource, Access::for_method(method)).expect("a declared scope").name();
    let (api_token, oauth): (Vec<&str>, Vec<&str>) = match needs {
        Needs::Credential => (vec![], vec![]),
        Needs::OwnAccount => (vec![], vec![scope("user")]),
        Needs::Scope(resource) | Needs::AdminScope(resource) | Needs::InOrganization(resource, ..) | Needs::InTeam(resource, ..) => {
            (vec![scope(resource)], vec![scope(resource)])
        }
    };
    json!([{ "apiToken": api_token }, { "bearerAuth": oauth }, { "oauth2": oauth }])
}

#[test]
fn every_api_route_is_documented_with_the_scope_its_table_row_requires() {
    let doc = generated(EXAMPLE_ISSUER);
    for route in API_ROUTES {
        let path = format!("{API_PREFIX}{}", route.path);
        let method = route.method.as_str();
        let operation = &doc["paths"][&path][method.to_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {path} is served but not documented: annotate its handler with #[utoipa::path(...)] and list it \
             in paths(...) in crates/http/src/openapi.rs"
        );
        assert_eq!(operation["security"], expected_security(method, route.needs), "{method} {path}: security");
        assert!(operation["responses"]["401"].is_object(), "{method} {path}: the 401 of the requirement layer");
        if matches!(route.needs, Needs::AdminScope(_)) {
            assert!(operation["responses"]["403"].is_object(), "{method} {path}: administrators only");
        }
        // Path parameters named in the path are declared, and only those.
        let in_path: BTreeSet<&str> =
            path.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}')).collect();
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .map(|parameters| parameters.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(declared, in_path, "{method} {path}: path parameters");
    }
}

#[test]
fn the_oauth2_scheme_offers_the_whole_scope_catalogue_and_every_required_scope_is_in_it() {
    let doc = generated(EXAMPLE_ISSUER);
    let flows = &doc["components"]["securitySchemes"]["oauth2"]["flows"];
    for flow in ["authorizationCode", "clientCredentials"] {
        let offered: BTreeSet<&str> = flows[flow]["scopes"].as_object().expect("scopes").keys().map(String::as_str).collect();
        let catalogue: BTreeSet<&str> = ScopeSet::catalog().map(Scope::name).collect();
        assert_eq!(offered, catalogue, "{flow}");
    }
    assert_eq!(flows["authorizationCode"]["authorizationUrl"], format!("{EXAMPLE_ISSUER}/oauth/v2/authorize"));
    assert_eq!(flows["authorizationCode"]["tokenUrl"], format!("{EXAMPLE_ISSUER}/oauth/v2/token"));
    for (_, path) in documented_operations(&doc) {
        for (method, operation) in doc["paths"][&path].as_object().expect("item") {
            for requirement in operation["security"].as_array().into_iter().flatten() {
                for scope in requirement.as_object().expect("a requirement").values().flat_map(|s| s.as_array().expect("scopes")) {
                    let name = scope.as_str().expect("a scope name");
                    assert!(Scope::parse(name).is_some(), "{method} {path} requires {name}, which is not in the catalogue");
                }
            }
        }
    }
    let schemes = doc["components"]["securitySchemes"].as_object().expect("schemes");
    assert_eq!(schemes["apiToken"], json!({ "type": "apiKey", "in": "header", "name": "Authorization", "description": schemes["apiToken"]["description"] }));
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["bearerAuth"]["bearerFormat"], "JWT");
}

#[test]
fn every_oauth_route_is_documented_with_its_client_or_bearer_authentication() {
    let doc = generated(EXAMPLE_ISSUER);
    for route in OAUTH_ROUTES {
        let method = route.method.as_str();
        let operation = &doc["paths"][route.path][method.to_lowercase()];
        assert!(operation.is_object(), "{method} {} is served but not documented", route.path);
        let expected = match route.path {
            // RFC 6749 §2.3: client_secret_basic, or (not a security scheme) client_secret_post or none.
            "/oauth/v2/token" | "/oauth/v2/revoke" | "/oauth/v2/introspect" => json!([{ "clientSecretBasic": [] }, {}]),
            "/oauth/v2/oidc/userinfo" => json!([{ "bearerAuth": ["openid"] }, { "oauth2": ["openid"] }]),
            _ => Value::Null,
        };
        assert_eq!(operation["security"], expected, "{method} {}: security", route.path);
        if route.surface == gatehouse_http::oauth::Surface::Machine && method == "POST" && route.path != "/oauth/v2/oidc/userinfo" {
            let error = &operation["responses"]["400"]["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(error, "#/components/schemas/OAuthErrorBody", "{method} {}: RFC 6749 §5.2 errors", route.path);
        }
    }
}

#[test]
fn the_document_has_no_operation_the_routers_do_not_serve() {
    let doc = generated(EXAMPLE_ISSUER);
    let documented = documented_operations(&doc);
    let served = served_operations();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(unserved.is_empty(), "documented but not served: {unserved:?}");
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(undocumented.is_empty(), "served but not documented: {undocumented:?}");
}

/// The tables above are what the routers are built from; this asks the running server itself. Without a
/// credential every `/api/v2` operation answers its requirement layer's 401 (the fallbacks would answer 404
/// or 405), and no OAuth operation answers a fallback's 404 or 405.
#[tokio::test]
async fn every_documented_operation_is_answered_by_the_running_server() {
    let server = TestServer::start().await;
    let doc = generated(&server.base);
    for (method, path) in documented_operations(&doc) {
        let concrete = path.replace("{created}", "2020-03-27T05:53:27.368Z").replace("{clientId}", "c").replace("{id}", "1");
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        let response = server.http.request(method.clone(), server.url(&concrete)).send().await.expect("send");
        let status = response.status().as_u16();
        if path == openapi::PATH {
            assert_eq!(status, 200, "{method} {path}");
        } else if path.starts_with(API_PREFIX) {
            assert_eq!(status, 401, "{method} {path} without a credential");
        } else {
            assert!(status != 404 && status != 405, "{method} {path} answered {status}: not served");
        }
    }
}

#[tokio::test]
async fn the_document_is_served_publicly_as_json_and_is_the_one_the_code_generates() {
    let server = TestServer::start().await;
    let response = server.http.get(server.url(openapi::PATH)).send().await.expect("send");
    assert_eq!(response.status(), 200, "no credential needed");
    let content_type = response.headers()["content-type"].to_str().expect("text").to_string();
    assert_eq!(content_type, "application/json");
    let body = response.text().await.expect("body");
    assert_eq!(body, rendered(&server.base));
    let doc: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"], json!([{ "url": server.base }]), "the server's own issuer");
    // Only GET (and HEAD): the 405 lists them, in Make's schema.
    let response = server.http.post(server.url(openapi::PATH)).send().await.expect("send");
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
}

fn checked_in_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[test]
fn docs_openapi_json_is_what_the_code_generates() {
    let generated = rendered(EXAMPLE_ISSUER);
    let path = checked_in_path();
    if std::env::var_os(UPDATE_ENV).is_some() {
        std::fs::write(&path, &generated).expect("write docs/openapi.json");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/openapi.json differs from what the code generates. Regenerate it with \
         `cargo run -q -p gatehouse -- openapi > docs/openapi.json` (or `{UPDATE_ENV}=1 cargo test -p gatehouse --test it \
         docs_openapi_json`) and commit it."
    );
}

#[test]
fn the_openapi_command_prints_the_document() {
    let output = Command::new(BIN).arg("openapi").output().expect("run gatehouse openapi");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8(output.stdout).expect("UTF-8"), rendered(EXAMPLE_ISSUER));
    let output = Command::new(BIN).args(["openapi", "--issuer", "https://id.example.org"]).output().expect("run");
    let doc: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(doc["servers"][0]["url"], "https://id.example.org");
}

/// The Python package `openapi-spec-validator` (pip), run on the document the server serves. Skipped with a
/// reason when it is not installed, except in CI (`CI=true`), where it must be.
#[tokio::test]
async fn the_served_document_passes_openapi_spec_validator() {
    let has_validator = Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !has_validator {
        let reason = "the Python module openapi_spec_validator is missing (pip install openapi-spec-validator)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{reason}: CI must run this check");
        eprintln!("skipped: {reason}");
        return;
    }
    let server = TestServer::start().await;
    let body = server.http.get(server.url(openapi::PATH)).send().await.expect("send").text().await.expect("body");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, body).expect("write");
    let output = Command::new("python3")
        .args(["-m", "openapi_spec_validator", "--schema", "3.1", "--validation-errors", "all"])
        .arg(&file)
        .output()
        .expect("run the validator");
    assert!(
        output.status.success(),
        "openapi-spec-validator refused the document:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `current-authorization` writes its body by hand for speed; it must still be what its schema says.
#[tokio::test]
async fn current_authorization_answers_the_shape_its_schema_describes() {
    let server = TestServer::start().await;
    let user = server.user("shape@example.com", false).await;
    let token = server.token(&user, &["user:read", "teams:read"]).await;
    let (status, body) = crate::harness::json(server.get("/api/v2/users/me/current-authorization", &token).send().await.expect("send")).await;
    assert_eq!(status, 200);
    let doc = generated(&server.base);
    let schemas = &doc["components"]["schemas"];
    let top: BTreeSet<&str> = schemas["CurrentAuthorization"]["properties"].as_object().expect("props").keys().map(String::as_str).collect();
    let inner: BTreeSet<&str> = schemas["Authorization"]["properties"].as_object().expect("props").keys().map(String::as_str).collect();
    assert_eq!(body.as_object().expect("object").keys().map(String::as_str).collect::<BTreeSet<_>>(), top);
    assert_eq!(body["authorization"].as_object().expect("object").keys().map(String::as_str).collect::<BTreeSet<_>>(), inner);
    assert_eq!(body["authorization"]["authUsed"], "token");
}
