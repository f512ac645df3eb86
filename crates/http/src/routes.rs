//! Every `/api/v2` route, with what it requires, in one table a reader can audit at a glance.

use axum::extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post};
use axum::Router;
use gatehouse_app::limits::collecting_quota;
use gatehouse_domain::roles::Permission;
use gatehouse_domain::{Access, OrganizationId, Scope, TeamId};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

use crate::api::{admin, audit, enums, health, oauth_clients, organizations, roles, teams, tokens, users};
use crate::error::ApiError;
use crate::openapi::{self, RequiredScopes, Requirement};
use crate::body_limit;
use crate::state::{AppState, EdgeLimits, MAX_BODY_BYTES};

pub const API_PREFIX: &str = "/api/v2";

/// What a route requires of the caller.
#[derive(Debug, Clone, Copy)]
pub enum Needs {
    /// Any valid credential, whatever its scopes: only for what is public to every signed-in caller (the
    /// scope catalogue).
    Credential,
    /// The caller's own account, read. Any valid API token, whatever its scopes (Make's `/users/me`; see
    /// reference §1.3); an OAuth access token only with `user:read`, since a user who consented to
    /// `openid` alone was asked to confirm their identity, not to release their profile (issue 10, hole 4;
    /// `docs/compatibility.md`).
    OwnAccount,
    /// `<resource>:read` for GET, `<resource>:write` for POST, PUT, PATCH and DELETE (Make's verb rule).
    Scope(&'static str),
    /// An administration scope by the verb rule, and a platform administrator behind the credential:
    /// a regular user's token with admin scopes gets 403 Access denied (Make, scopes overview).
    AdminScope(&'static str),
    /// The scope by the verb rule, and the caller's role in the organization the request names granting
    /// the permission (Make: "roles and API scopes"). Outsiders, and OAuth grants limited to another
    /// organization, get 404; members without the permission get 403.
    InOrganization(&'static str, Permission, IdFrom),
    /// The scope by the verb rule, and the caller's role in the team the request names (or their role in
    /// its organization, for those who manage every team) granting the permission.
    InTeam(&'static str, Permission, IdFrom),
}

/// Where a request names the organization or team a role is checked in.
#[derive(Debug, Clone, Copy)]
pub enum IdFrom {
    /// A path parameter, such as `{id}`.
    Path(&'static str),
    /// A query parameter, such as `?organizationId=`.
    Query(&'static str),
    /// A field of the JSON body, such as `organizationId`.
    Body(&'static str),
}

pub struct ApiRoute {
    pub method: Method,
    pub path: &'static str,
    pub needs: Needs,
    handler: fn() -> MethodRouter<AppState>,
}

macro_rules! route {
    ($method:ident $path:literal, $needs:expr, $handler:expr) => {
        ApiRoute { method: Method::$method, path: $path, needs: $needs, handler: || $handler }
    };
}

use IdFrom::{Body, Path, Query};
use Needs::{AdminScope, Credential, InOrganization as InOrg, InTeam, OwnAccount, Scope as S};
use Permission as P;

/// The table. Paths are relative to `/api/v2`. `InOrg` and `InTeam` routes check the scope and the
/// caller's role permission there (`gatehouse_domain::roles`); the use cases check the same permission
/// again, for the callers that do not come through this table (the CLI, the console).
pub static API_ROUTES: &[ApiRoute] = &[
    route!(GET    "/users/me",                       OwnAccount,       get(users::me)),
    // The user's own details and account are theirs to change, with user:write (Make's PATCH /users/me).
    route!(PATCH  "/users/me",                       S("user"),        patch(users::update_me)),
    route!(DELETE "/users/me",                       S("user"),        delete(users::delete_me)),
    route!(GET    "/users/me/current-authorization", OwnAccount,       get(users::current_authorization)),
    route!(GET    "/users/me/api-tokens",            S("user"),        get(tokens::list)),
    route!(POST   "/users/me/api-tokens",            S("user"),        post(tokens::create)),
    route!(DELETE "/users/me/api-tokens/{created}",  S("user"),        delete(tokens::delete)),
    // The user's OAuth grants (Make: "API access" in the profile). Grants are part of the user's account,
    // like API tokens, so they take the same scope: user:read to list, user:write to revoke.
    route!(GET    "/users/me/authorized-apps",       S("user"),        get(oauth_clients::authorized_apps)),
    route!(DELETE "/users/me/authorized-apps/{clientId}", S("user"),   delete(oauth_clients::revoke_authorized_app)),
    // Invitations waiting for the caller's email; accepting one joins its organization.
    route!(GET    "/users/me/invitations",           S("user"),        get(roles::my_invitations)),
    // Any user may ask for a client (Make's registration form); administrators decide. Filing one is a
    // write in the user's name, so it takes user:write from every credential (issue 10, hole 4).
    route!(POST   "/oauth/client-requests",          S("user"),        post(oauth_clients::request)),
    route!(GET    "/oauth/client-requests",          OwnAccount,       get(oauth_clients::my_requests)),
    route!(GET    "/admin/oauth/clients",            AdminScope("admin"), get(oauth_clients::admin_list)),
    route!(POST   "/admin/oauth/clients/{clientId}/approve", AdminScope("admin"), post(oauth_clients::approve)),
    route!(POST   "/admin/oauth/clients/{clientId}/reject",  AdminScope("admin"), post(oauth_clients::reject)),
    route!(DELETE "/admin/oauth/clients/{clientId}", AdminScope("admin"), delete(oauth_clients::remove)),
    route!(GET    "/enums/user-api-token-scopes",    Credential,       get(enums::user_api_token_scopes)),
    // Make's catalogues: public to every signed-in caller, as Make's tool metadata has them (no scope).
    route!(GET    "/enums/countries",                Credential,       get(enums::countries)),
    route!(GET    "/enums/timezones",                Credential,       get(enums::timezones)),
    route!(GET    "/enums/locales",                  Credential,       get(enums::locales)),
    route!(GET    "/enums/imt-regions",              Credential,       get(enums::imt_regions)),
    // The role catalogue (Make: user:read / user:write). Custom roles belong to an organization: managing
    // them takes organization:roles:manage there.
    route!(GET    "/users/roles",                    S("user"),        get(roles::list)),
    route!(GET    "/users/roles/permissions",        S("user"),        get(roles::permissions)),
    route!(GET    "/users/roles/{id}",               S("user"),        get(roles::detail)),
    route!(GET    "/users/custom-roles",             InOrg("user", P::OrganizationView, Query("organizationId")), get(roles::custom_list)),
    route!(POST   "/users/custom-roles",             InOrg("user", P::OrganizationRolesManage, Body("organizationId")), post(roles::custom_create)),
    route!(PATCH  "/users/custom-roles/{id}",        InOrg("user", P::OrganizationRolesManage, Body("organizationId")), patch(roles::custom_update)),
    route!(DELETE "/users/custom-roles/{id}",        InOrg("user", P::OrganizationRolesManage, Body("organizationId")), delete(roles::custom_delete)),
    // Who holds which role where. Reading one's own roles needs no permission beyond membership; the use
    // cases show others' only with organization:members:view (team:members:view).
    route!(GET    "/users",                          S("organizations"), get(roles::users)),
    route!(GET    "/users/{userId}/user-organization-roles", S("organizations"), get(roles::user_organization_roles)),
    route!(GET    "/users/{userId}/user-organization-roles/{organizationId}", InOrg("organizations", P::OrganizationView, Path("organizationId")), get(roles::user_organization_role)),
    route!(POST   "/users/{userId}/user-organization-roles/{organizationId}", InOrg("organizations", P::OrganizationView, Path("organizationId")), post(roles::set_user_organization_role)),
    route!(DELETE "/users/{userId}/user-organization-roles/{organizationId}", InOrg("organizations", P::OrganizationView, Path("organizationId")), delete(roles::remove_user_organization_role)),
    route!(GET    "/users/{userId}/user-team-roles", S("teams"),       get(roles::user_team_roles)),
    route!(GET    "/users/{userId}/user-team-roles/{teamId}", InTeam("teams", P::TeamView, Path("teamId")), get(roles::user_team_role)),
    route!(POST   "/users/{userId}/user-team-roles/{teamId}", InTeam("teams", P::TeamMembersManage, Path("teamId")), post(roles::set_user_team_role)),
    route!(DELETE "/users/{userId}/user-team-roles/{teamId}", InTeam("teams", P::TeamView, Path("teamId")), delete(roles::remove_user_team_role)),
    route!(GET    "/organizations",                  S("organizations"), get(organizations::list)),
    // Make: "Create organizations (admins only)": a platform role, checked by the use case.
    route!(POST   "/organizations",                  S("organizations"), post(organizations::create)),
    route!(GET    "/organizations/{id}",             InOrg("organizations", P::OrganizationView, Path("id")), get(organizations::detail)),
    route!(PATCH  "/organizations/{id}",             InOrg("organizations", P::OrganizationUpdate, Path("id")), patch(organizations::update)),
    route!(DELETE "/organizations/{id}",             InOrg("organizations", P::OrganizationDelete, Path("id")), delete(organizations::remove)),
    route!(GET    "/organizations/{id}/user-organization-roles", InOrg("organizations", P::OrganizationMembersView, Path("id")), get(roles::organization_roles)),
    route!(GET    "/organizations/{id}/user-organization-roles/{userId}", InOrg("organizations", P::OrganizationMembersView, Path("id")), get(roles::organization_role_of_user)),
    route!(POST   "/organizations/{id}/user-organization-roles/transfer", InOrg("organizations", P::OrganizationOwnershipTransfer, Path("id")), post(roles::transfer_ownership)),
    route!(POST   "/organizations/{id}/invite",      InOrg("organizations", P::OrganizationMembersManage, Path("id")), post(roles::invite)),
    route!(GET    "/organizations/{id}/invitations", InOrg("organizations", P::OrganizationMembersView, Path("id")), get(roles::organization_invitations)),
    // The invitee is not a member yet, or withdraws an invitation of their own: the use cases check.
    route!(DELETE "/organizations/{id}/invitations/{invitationId}", S("organizations"), delete(roles::delete_invitation)),
    route!(POST   "/organizations/{id}/accept-invitation", S("organizations"), post(roles::accept_invitation)),
    // Make's organization audit log, with Make's scope; the use case admits only the organization's owners
    // and admins, and platform administrators, who need not be members (docs/compatibility.md, "Audit log").
    route!(GET    "/audit-logs/organization/{id}",   S("organizations"), get(audit::organization_log)),
    route!(GET    "/teams",                          InOrg("teams", P::OrganizationView, Query("organizationId")), get(teams::list)),
    route!(POST   "/teams",                          InOrg("teams", P::OrganizationTeamsCreate, Body("organizationId")), post(teams::create)),
    route!(GET    "/teams/{id}",                     InTeam("teams", P::TeamView, Path("id")), get(teams::detail)),
    route!(DELETE "/teams/{id}",                     InTeam("teams", P::TeamDelete, Path("id")), delete(teams::remove)),
    route!(GET    "/teams/{id}/user-team-roles",     InTeam("teams", P::TeamMembersView, Path("id")), get(roles::team_roles)),
    route!(GET    "/teams/{id}/user-team-roles/{userId}", InTeam("teams", P::TeamMembersView, Path("id")), get(roles::team_role_of_user)),
    route!(GET    "/admin/users",                    AdminScope("admin"),  get(admin::users)),
    route!(DELETE "/admin/users/{id}",               AdminScope("admin"),  delete(admin::delete_user)),
    route!(GET    "/admin/organizations",            AdminScope("admin"),  get(admin::organizations)),
    route!(GET    "/admin/audit-logs",               AdminScope("admin"),  get(audit::platform_log)),
    route!(GET    "/admin/system",                   AdminScope("system"), get(admin::system)),
];

impl Needs {
    /// The scopes the requirement layer checks for a route with this method, by credential, as the OpenAPI
    /// document states them.
    pub fn required_scopes(self, method: &Method) -> RequiredScopes {
        let scope_for = |resource: &str| Scope::for_resource(resource, Access::for_method(method.as_str())).map(Scope::name);
        match self {
            Needs::Credential => RequiredScopes { api_token: None, oauth: None },
            Needs::OwnAccount => RequiredScopes { api_token: None, oauth: scope_for("user") },
            Needs::Scope(resource)
            | Needs::AdminScope(resource)
            | Needs::InOrganization(resource, ..)
            | Needs::InTeam(resource, ..) => {
                let scope = scope_for(resource);
                RequiredScopes { api_token: scope, oauth: scope }
            }
        }
    }
}

/// The OpenAPI document, with what each route of the table requires.
pub fn openapi_document(issuer: &str) -> utoipa::openapi::OpenApi {
    let requirements: Vec<Requirement> = API_ROUTES
        .iter()
        .map(|route| Requirement {
            method: route.method.clone(),
            path: format!("{API_PREFIX}{}", route.path),
            scopes: route.needs.required_scopes(&route.method),
            administrators_only: matches!(route.needs, Needs::AdminScope(_)),
        })
        .collect();
    openapi::document(issuer, &requirements)
}

pub fn router(state: AppState) -> Router {
    let mut api = Router::new();
    for route in API_ROUTES {
        let needs = route.needs;
        let method_router = (route.handler)()
            .route_layer(middleware::from_fn_with_state((state.clone(), needs), require));
        api = api.route(&format!("{API_PREFIX}{}", route.path), method_router);
    }
    let api = Router::new()
        .route("/health", get(health::health))
        // Public, like discovery: the document describes the API, nothing of its data.
        .route(openapi::PATH, openapi::route(&openapi_document(state.issuer())))
        .merge(api)
        .merge(crate::forward_auth::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Names the matched route to the request log, which runs outside this router. A per-route layer (see
        // below), but one that only copies the route's template: no future, no allocation of its own.
        .layer(crate::request_log::RecordRoute)
        .with_state(state.clone());
    // The layers wrap the API's router once, as one service. `Router::layer` would wrap every route in a
    // boxed service of its own, so that each layer cost a clone and a boxed future on every request: on
    // the hot path that was a fifth of the instructions (callgrind, bench/RESULTS.md).
    let api = ServiceBuilder::new()
        .layer(middleware::from_fn_with_state(state.edge, edge))
        .layer(CatchPanicLayer::custom(|_| ApiError::internal(&"handler panicked").into_response()))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A request that takes longer than this (a slow body, a stuck store) is cut off, never left hanging.
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, state.edge.request_timeout))
        .service(api);
    // OAuth's routes first; they answer in their own formats, so they carry the same bounds in their own
    // layers. Everything else is the API's, with its own 404 and 405 in Make's schema.
    // Around every route's use cases (API, OAuth, pages): where the request came from, for the audit log.
    let origin = crate::origin::OriginLayer::new(state.trusted_proxies.clone());
    // Outermost, around every route and the fallback: every response carries the request id, and is
    // counted and logged once, whatever answered it (see `request_log`).
    let observe = crate::request_log::RequestLogLayer::new(&state);
    crate::oauth::router(state).fallback_service(api).layer(origin).layer(observe)
}

/// What every response goes through, in one layer rather than seven: each tower layer costs a future and
/// often an allocation per request, and this is the hot path of every credential check.
/// - A declared body larger than the limit is refused before anything reads it, then drained (bounded) so
///   the refusal reaches the client (see `body_limit`).
/// - Errors produced below the handlers (axum's own rejections, timeouts) come without Make's body: give
///   them one. Only under `/api/`: other surfaces (OAuth's RFC 6749 errors, HTML pages) own their formats.
/// - The security headers: nothing here is meant to be sniffed, framed, cached or to leak a referrer.
async fn edge(State(limits): State<EdgeLimits>, request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let mut response = if body_limit::declared_too_large(request.headers()) {
        body_limit::drain(request.into_body(), &limits);
        ApiError::payload_too_large(MAX_BODY_BYTES).into_response()
    } else {
        next.run(body_limit::drain_if_refused(request, &limits)).await
    };
    let status = response.status();
    if is_api && (status.is_client_error() || status.is_server_error()) {
        let is_json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
        if !is_json {
            response = ApiError::for_status(status).into_response();
        }
    }
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The requirement layer: authenticates the caller and checks the route's requirement before the
/// handler runs, so handlers never test scopes themselves.
async fn require(
    State((state, needs)): State<(AppState, Needs)>,
    request: Request,
    next: Next,
) -> Response {
    let (mut response, quota) = collecting_quota(authorize_and_run(state, needs, request, next)).await;
    if let Some(quota) = quota {
        crate::quota::rate_limit_headers(response.headers_mut(), quota);
    }
    response
}

async fn authorize_and_run(state: AppState, needs: Needs, mut request: Request, next: Next) -> Response {
    let caller = match crate::auth::authenticate(&state, request.headers()).await {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let method = request.method().as_str();
    let check = match needs {
        Needs::Credential => Ok(()),
        Needs::OwnAccount if caller.is_oauth() => check_scope(&caller, "user", method, request.uri().path()),
        Needs::OwnAccount => Ok(()),
        Needs::Scope(resource) => check_scope(&caller, resource, method, request.uri().path()),
        Needs::AdminScope(resource) => check_scope(&caller, resource, method, request.uri().path())
            .and_then(|()| if caller.is_admin { Ok(()) } else { Err(ApiError::access_denied()) }),
        Needs::InOrganization(resource, _, _) | Needs::InTeam(resource, _, _) => {
            check_scope(&caller, resource, method, request.uri().path())
        }
    };
    if let Err(error) = check {
        return error.into_response();
    }
    if let Needs::InOrganization(_, permission, from) | Needs::InTeam(_, permission, from) = needs {
        let (id, restored) = match named_id(request, from).await {
            Ok(found) => found,
            Err(error) => return error.into_response(),
        };
        request = restored;
        let allowed = match needs {
            Needs::InTeam(..) => state.app.check_team_permission(&caller, TeamId(id), permission).await,
            _ => state.app.check_organization_permission(&caller, OrganizationId(id), permission).await,
        };
        if let Err(error) = allowed {
            return ApiError::from(error).into_response();
        }
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The organization or team id a request names, and the request as it was (a body read here is put back
/// for the handler). A path id that is not a positive integer names nothing (404, as the handlers say);
/// a missing query or body id is 400.
async fn named_id(request: Request, from: IdFrom) -> Result<(i64, Request), ApiError> {
    match from {
        IdFrom::Path(name) => {
            let (mut parts, body) = request.into_parts();
            let params = RawPathParams::from_request_parts(&mut parts, &()).await.map_err(|_| ApiError::not_found("The resource does not exist."))?;
            let text = params.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_string()).unwrap_or_default();
            let id = crate::extract::path_id(&text, "resource")?;
            Ok((id, Request::from_parts(parts, body)))
        }
        IdFrom::Query(name) => {
            let id = crate::extract::MakeQuery::parse(request.uri().query().unwrap_or("")).required_id(name)?;
            Ok((id, request))
        }
        IdFrom::Body(name) => {
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| ApiError::payload_too_large(MAX_BODY_BYTES))?;
            let id = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|body| body.get(name).and_then(serde_json::Value::as_i64))
                .filter(|id| *id > 0)
                .ok_or_else(|| ApiError::invalid_input(format!("The body must name {name}, a positive integer.")))?;
            Ok((id, Request::from_parts(parts, axum::body::Body::from(bytes))))
        }
    }
}

fn check_scope(caller: &crate::auth::Caller, resource: &str, method: &str, path: &str) -> Result<(), ApiError> {
    let Some(scope) = Scope::for_resource(resource, Access::for_method(method)) else {
        // A route declared with a resource that has no such scope: fail closed.
        return Err(ApiError::internal(&format!("route {method} {path} names unknown scope resource {resource}")));
    };
    if caller.scopes.contains(scope) { Ok(()) } else { Err(ApiError::insufficient_scope(scope.name(), method, path)) }
}

/// Authentication before routing (issue 12): under `/api/v2`, a caller without a valid credential learns
/// that first, on every path, served or not. Make's clients read a 404 as "no such resource" and never
/// tell the user their key is wrong (Make's MCP server did exactly that). Only a known caller learns
/// which paths exist. The public OpenAPI document is the one exception: it needs no credential.
async fn unauthenticated_first(state: &AppState, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    let path = uri.path();
    let under_api = path == API_PREFIX || path.starts_with(&format!("{API_PREFIX}/"));
    if !under_api || path == openapi::PATH {
        return None;
    }
    crate::auth::authenticate(state, headers).await.err().map(IntoResponse::into_response)
}

async fn not_found(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(refusal) = unauthenticated_first(&state, &uri, &headers).await {
        return refusal;
    }
    ApiError::not_found("The requested resource does not exist.").into_response()
}

/// RFC 9110 §15.5.6: a 405 lists the methods the resource does support in `Allow`.
async fn method_not_allowed(State(state): State<AppState>, matched: Option<MatchedPath>, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(refusal) = unauthenticated_first(&state, &uri, &headers).await {
        return refusal;
    }
    let mut response = ApiError::method_not_allowed().into_response();
    let allowed: Vec<&str> = match &matched {
        Some(matched) if matched.as_str() == "/health" || matched.as_str() == openapi::PATH => vec!["GET", "HEAD"],
        Some(matched) => API_ROUTES
            .iter()
            .filter(|route| matched.as_str().strip_prefix(API_PREFIX) == Some(route.path))
            .flat_map(|route| if route.method == Method::GET { vec!["GET", "HEAD"] } else { vec![route.method.as_str()] })
            .collect(),
        None => Vec::new(),
    };
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scoped_route_names_a_read_and_a_write_scope() {
        for route in API_ROUTES {
            if let Needs::Scope(resource) | Needs::AdminScope(resource) | Needs::InOrganization(resource, ..) | Needs::InTeam(resource, ..) =
                route.needs
            {
                let access = Access::for_method(route.method.as_str());
                let scope = Scope::for_resource(resource, access);
                assert!(scope.is_some(), "{} {} needs {resource}:{access:?}", route.method, route.path);
            }
        }
    }

    #[test]
    fn admin_routes_need_administration_scopes() {
        for route in API_ROUTES {
            if let Needs::AdminScope(resource) = route.needs {
                let scope = Scope::for_resource(resource, Access::Read).expect("declared");
                assert!(scope.is_administration(), "{}", route.path);
            }
        }
    }

    /// Issue 10, hole 4: every write needs a write scope, whatever the credential; "any credential" is
    /// left only for reads.
    #[test]
    fn hole4_every_write_route_needs_a_write_scope() {
        for route in API_ROUTES {
            if route.method != Method::GET {
                assert!(
                    matches!(route.needs, Needs::Scope(_) | Needs::AdminScope(_) | Needs::InOrganization(..) | Needs::InTeam(..)),
                    "{} {} is a write that any credential may make",
                    route.method,
                    route.path
                );
            }
        }
    }

    #[test]
    fn no_route_is_declared_twice() {
        for (index, route) in API_ROUTES.iter().enumerate() {
            for other in &API_ROUTES[index + 1..] {
                assert!(!(route.method == other.method && route.path == other.path), "{} {}", route.method, route.path);
            }
        }
    }
}
