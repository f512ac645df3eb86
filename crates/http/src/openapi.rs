//! The OpenAPI 3.1 document of everything under `/api/v2` and `/oauth/v2` (and discovery under
//! `/.well-known`), generated from the code: each handler's `#[utoipa::path]` describes its parameters,
//! body and answers next to it, and the wire types derive their schemas. What each `/api/v2` route
//! requires comes from the route table (`routes::openapi_document` hands it to [`document`]), so that the
//! document and the table cannot disagree. A test (`crates/cli/tests/it/openapi.rs`) checks that every
//! route is documented, that nothing else is, and that `docs/openapi.json` is what the code generates.
//!
//! To document a new `/api/v2` route: annotate its handler with `#[utoipa::path(...)]` (path, params,
//! body, its own answers; no `security`, which comes from the table) and list the handler in
//! `paths(...)` below.

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use gatehouse_domain::ScopeSet;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{Object, Ref, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, AuthorizationCode, ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, OpenIdConnect,
    Scopes, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, Header, OpenApi as Document, Server};
use utoipa::{IntoParams, OpenApi};

use crate::api;
use crate::error::ApiError;
use crate::oauth;
use crate::state::AppState;

/// Where the document is served.
pub const PATH: &str = "/api/v2/openapi.json";

/// The issuer `docs/openapi.json` is generated for: a served document names the server's own issuer.
pub const EXAMPLE_ISSUER: &str = "https://gatehouse.example.com";

/// The security schemes' names, as operations refer to them.
pub const API_TOKEN: &str = "apiToken";
pub const BEARER: &str = "bearerAuth";
pub const OAUTH2: &str = "oauth2";
pub const OPENID_CONNECT: &str = "openIdConnect";
pub const CLIENT_BASIC: &str = "clientSecretBasic";

#[derive(OpenApi)]
#[openapi(
    paths(
        api::users::me,
        api::users::update_me,
        api::users::delete_me,
        api::users::current_authorization,
        api::tokens::list,
        api::tokens::create,
        api::tokens::delete,
        api::oauth_clients::authorized_apps,
        api::oauth_clients::revoke_authorized_app,
        api::oauth_clients::request,
        api::oauth_clients::my_requests,
        api::oauth_clients::admin_list,
        api::oauth_clients::approve,
        api::oauth_clients::reject,
        api::oauth_clients::remove,
        api::enums::user_api_token_scopes,
        api::enums::countries,
        api::enums::timezones,
        api::enums::locales,
        api::enums::imt_regions,
        api::roles::list,
        api::roles::detail,
        api::roles::permissions,
        api::roles::custom_list,
        api::roles::custom_create,
        api::roles::custom_update,
        api::roles::custom_delete,
        api::roles::users,
        api::roles::user_organization_roles,
        api::roles::user_organization_role,
        api::roles::set_user_organization_role,
        api::roles::remove_user_organization_role,
        api::roles::organization_roles,
        api::roles::organization_role_of_user,
        api::roles::transfer_ownership,
        api::roles::user_team_roles,
        api::roles::user_team_role,
        api::roles::set_user_team_role,
        api::roles::remove_user_team_role,
        api::roles::team_roles,
        api::roles::team_role_of_user,
        api::roles::invite,
        api::roles::organization_invitations,
        api::roles::my_invitations,
        api::roles::accept_invitation,
        api::roles::delete_invitation,
        api::organizations::list,
        api::organizations::create,
        api::organizations::detail,
        api::organizations::update,
        api::organizations::remove,
        api::teams::list,
        api::teams::create,
        api::teams::detail,
        api::teams::remove,
        api::admin::users,
        api::admin::delete_user,
        api::admin::organizations,
        api::admin::system,
        api::audit::organization_log,
        api::audit::platform_log,
        openapi_json,
        oauth::authorize::authorize,
        oauth::authorize::authorize_post,
        oauth::authorize::login,
        oauth::authorize::consent,
        oauth::token::token,
        oauth::revoke::revoke,
        oauth::introspect::introspect,
        oauth::userinfo::userinfo_get,
        oauth::userinfo::userinfo_post,
        oauth::discovery::jwks,
        oauth::discovery::openid_configuration,
        oauth::discovery::openid_configuration_make,
        oauth::discovery::authorization_server_metadata,
    ),
    components(schemas(crate::error::MakeErrorBody, oauth::error::OAuthErrorBody)),
    tags(
        (name = "users", description = "The caller's own account and grants."),
        (name = "api-tokens", description = "The caller's API tokens (Make's token CRUD)."),
        (name = "organizations", description = "Organizations the caller belongs to."),
        (name = "teams", description = "Teams of the caller's organizations."),
        (name = "oauth-clients", description = "Requests for OAuth clients."),
        (name = "enums", description = "Catalogues."),
        (name = "roles", description = "The role catalogue: built-in organization and team roles, and custom roles."),
        (name = "memberships", description = "Who holds which role in which organization and team; invitations."),
        (name = "audit", description = "An organization's audit log (Make's shape): who did what, when and from where."),
        (name = "admin", description = "Platform administration: administrators with administration scopes only."),
        (name = "meta", description = "This document."),
        (name = "oauth", description = "The OAuth 2.0 authorization server (RFC 6749, 7009, 7636, 7662, 8414)."),
        (name = "oidc", description = "OpenID Connect (Core 1.0, Discovery 1.0)."),
        (name = "oauth-pages", description = "The forms of the authorization pages: for the user's browser, not for API clients."),
    )
)]
struct ApiDoc;

const DESCRIPTION: &str = "\
Gatehouse: Make-compatible API tokens and scopes, and an OAuth 2.0 / OpenID Connect server.

`/api/v2` answers errors in Make's schema (`MakeError`: `message`, `detail`, `code`); the OAuth endpoints \
answer RFC 6749 §5.2 errors (`OAuthErrorBody`), and the authorization pages answer HTML.

Every `/api/v2` operation accepts an API token (`Authorization: Token <uuid>`) or an OAuth access token \
(`Authorization: Bearer <jwt>`), and names the scope it needs in its security requirements: `<resource>:read` \
for GET, `<resource>:write` for the other methods. A credential without it gets 401 with \
`WWW-Authenticate: ... error=\"insufficient_scope\"`, as Make answers.

Not described here: `/health` (for load balancers), `/forward-auth` (for reverse proxies: any method, any \
path below it), the pages' stylesheet under `/assets`, and `/metrics` (on its own listener).";

/// What an `/api/v2` operation requires, as the route table says it.
#[derive(Debug, Clone)]
pub struct Requirement {
    pub method: Method,
    /// The full path, `/api/v2/...`.
    pub path: String,
    pub scopes: RequiredScopes,
    /// A platform administrator behind the credential, besides the scope.
    pub administrators_only: bool,
}

/// The scope an API token and an OAuth access token must carry, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequiredScopes {
    pub api_token: Option<&'static str>,
    pub oauth: Option<&'static str>,
}

/// The document for a server whose issuer (and so base URL) is `issuer`, with what each `/api/v2`
/// operation requires.
pub fn document(issuer: &str, requirements: &[Requirement]) -> Document {
    let mut doc = ApiDoc::openapi();
    doc.info.title = "Gatehouse".to_string();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.info.description = Some(DESCRIPTION.to_string());
    doc.info.license = Some(utoipa::openapi::LicenseBuilder::new().name("Apache-2.0").identifier(Some("Apache-2.0")).build());
    doc.servers = Some(vec![Server::new(issuer)]);
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, scheme) in security_schemes(issuer) {
        components.add_security_scheme(name, scheme);
    }
    for requirement in requirements {
        if let Some(operation) = doc.paths.paths.get_mut(&requirement.path).and_then(|item| operation_mut(item, &requirement.method)) {
            apply(operation, requirement);
        }
    }
    doc
}

/// The document as the server sends it and as `docs/openapi.json` holds it: pretty JSON, one final newline.
pub fn to_json(document: &Document) -> Result<String, serde_json::Error> {
    document.to_pretty_json().map(|json| json + "\n")
}

/// `GET /api/v2/openapi.json`, public like discovery: the document says what the API is, nothing of its
/// data. Rendered once, when the router is built, not per request.
pub fn route(document: &Document) -> MethodRouter<AppState> {
    match to_json(document) {
        Ok(json) => {
            let body = Bytes::from(json);
            get(move || openapi_json(body.clone()))
        }
        Err(error) => {
            let cause = error.to_string();
            get(move || {
                let cause = cause.clone();
                async move { ApiError::internal(&format!("the OpenAPI document could not be rendered: {cause}")) }
            })
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v2/openapi.json", tag = "meta", operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document of this server.", content_type = "application/json", body = Object)))]
async fn openapi_json(body: Bytes) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

fn security_schemes(issuer: &str) -> Vec<(&'static str, SecurityScheme)> {
    let catalogue = || {
        Scopes::from_iter(ScopeSet::catalog().map(|scope| (scope.name().to_string(), scope.info().description.to_string())))
    };
    let authorize_url = format!("{issuer}/oauth/v2/authorize");
    let token_url = format!("{issuer}/oauth/v2/token");
    let api_token = ApiKey::Header(ApiKeyValue::with_description(
        "Authorization",
        "An API token, sent as `Authorization: Token <uuid>` (Make's scheme). Create one with \
         `POST /api/v2/users/me/api-tokens` or `gatehouse token create`.",
    ));
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("JWT")
        .description(Some("An OAuth access token (RFC 9068 JWT) from the token endpoint, sent as `Authorization: Bearer <jwt>`."))
        .build();
    let oauth2 = OAuth2::with_description(
        [
            Flow::AuthorizationCode(AuthorizationCode::with_refresh_url(authorize_url, token_url.clone(), catalogue(), token_url.clone())),
            Flow::ClientCredentials(ClientCredentials::new(token_url, catalogue())),
        ],
        "Make's scope catalogue. The authorization code flow takes PKCE (RFC 7636, `S256` only), which public \
         clients must use.",
    );
    let client_basic = HttpBuilder::new()
        .scheme(HttpAuthScheme::Basic)
        .description(Some(
            "`client_secret_basic` (RFC 6749 §2.3.1). The endpoints also take `client_secret_post` (the client's id \
             and secret in the form) and `none` (a public client's `client_id` alone).",
        ))
        .build();
    vec![
        (API_TOKEN, SecurityScheme::ApiKey(api_token)),
        (BEARER, SecurityScheme::Http(bearer)),
        (OAUTH2, SecurityScheme::OAuth2(oauth2)),
        (
            OPENID_CONNECT,
            SecurityScheme::OpenIdConnect(OpenIdConnect::new(format!("{issuer}/.well-known/openid-configuration"))),
        ),
        (CLIENT_BASIC, SecurityScheme::Http(client_basic)),
    ]
}

fn operation_mut<'a>(item: &'a mut PathItem, method: &Method) -> Option<&'a mut Operation> {
    match *method {
        Method::GET => item.get.as_mut(),
        Method::POST => item.post.as_mut(),
        Method::PUT => item.put.as_mut(),
        Method::PATCH => item.patch.as_mut(),
        Method::DELETE => item.delete.as_mut(),
        _ => None,
    }
}

fn apply(operation: &mut Operation, requirement: &Requirement) {
    let scopes = requirement.scopes;
    let list = |scope: Option<&'static str>| scope.into_iter().collect::<Vec<_>>();
    operation.security = Some(vec![
        SecurityRequirement::new(API_TOKEN, list(scopes.api_token)),
        SecurityRequirement::new(BEARER, list(scopes.oauth)),
        SecurityRequirement::new(OAUTH2, list(scopes.oauth)),
    ]);
    let needs = match (requirement.administrators_only, scopes.api_token, scopes.oauth) {
        (true, Some(scope), _) => format!("Requires `{scope}` and a platform administrator."),
        (_, Some(scope), _) => format!("Requires `{scope}`."),
        (_, None, Some(scope)) => format!("Any API token; an OAuth access token needs `{scope}`."),
        (_, None, None) => "Any valid credential.".to_string(),
    };
    operation.description = Some(match operation.description.take() {
        Some(description) => format!("{description}\n\n{needs}"),
        None => needs,
    });
    let responses = &mut operation.responses.responses;
    responses.entry("401".to_string()).or_insert_with(|| {
        make_error(
            "No credential, or a malformed, unknown, expired, revoked or foreign one; or a credential without the \
             scope this operation needs (Make answers 401 there too). `WWW-Authenticate` names the error.",
        )
        .header("WWW-Authenticate", string_header("The Token and Bearer challenges (RFC 6750 §3)."))
        .into()
    });
    if requirement.administrators_only {
        responses
            .entry("403".to_string())
            .or_insert_with(|| make_error("The credential's user is not a platform administrator (SC403).").into());
    }
    responses.entry("429".to_string()).or_insert_with(|| {
        make_error("A rate limit refused the request (SC429).")
            .header("Retry-After", string_header("Seconds to wait."))
            .into()
    });
}

fn make_error(description: &str) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", Content::new(Some(Ref::from_schema_name("MakeError"))))
}

fn string_header(description: &str) -> Header {
    let mut header = Header::new(Object::with_type(Type::String));
    header.description = Some(description.to_string());
    header
}

/// Make's paging parameters, `pg[...]`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes what `MakeQuery::page` reads; never built.
pub struct Paging {
    /// How many items, from 1 to 10000 (default 10000).
    #[param(rename = "pg[limit]", minimum = 1, maximum = 10000)]
    limit: Option<u32>,
    /// How many items to skip.
    #[param(rename = "pg[offset]", minimum = 0)]
    offset: Option<u32>,
    /// `name` (the default) or `id`; any other key is refused rather than ignored.
    #[param(rename = "pg[sortBy]")]
    sort_by: Option<String>,
    /// `asc` (the default) or `desc`.
    #[param(rename = "pg[sortDir]")]
    sort_dir: Option<String>,
}

/// Make's column selection, `cols[]`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes what `MakeQuery::cols` reads; never built.
pub struct Columns {
    /// The columns to return, repeated (`cols[]=id&cols[]=name`); absent or `*` returns every column, unknown
    /// names are ignored. The objects then hold only these columns, whatever their schema says is required.
    #[param(rename = "cols[]", style = Form, explode)]
    columns: Option<Vec<String>>,
}

/// Make's confirmation of a destructive call.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Describes what `MakeQuery::is_true("confirmed")` reads; never built.
pub struct Confirmed {
    /// Must be `true`: without it the call answers IM004 and deletes nothing.
    confirmed: Option<bool>,
}
