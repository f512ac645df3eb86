use axum::Json;
use axum::extract::State;
use gatehouse_domain::ScopeSet;
use gatehouse_domain::catalogue;

use crate::state::AppState;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ScopeName {
    name: &'static str,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScopeCatalog {
    user_api_token_scopes: Vec<ScopeName>,
}

/// `GET /enums/user-api-token-scopes`: the canonical catalog (aliases are accepted but not listed).
#[utoipa::path(get, path = "/api/v2/enums/user-api-token-scopes", tag = "enums", operation_id = "enums-user-api-token-scopes",
    responses((status = 200, description = "Every scope an API token may carry.", body = ScopeCatalog)))]
pub async fn user_api_token_scopes() -> Json<ScopeCatalog> {
    let user_api_token_scopes = ScopeSet::all_api_scopes().iter().map(|scope| ScopeName { name: scope.name() }).collect();
    Json(ScopeCatalog { user_api_token_scopes })
}

/// A country of `GET /enums/countries` (Make's `Country`).
#[derive(Serialize, ToSchema)]
pub struct CountryEntry {
    /// Stable across releases (docs/compatibility.md).
    id: i64,
    name: &'static str,
    /// ISO 3166-1 alpha-3, upper case.
    code: &'static str,
    /// ISO 3166-1 alpha-2, lower case.
    code2: String,
}

#[derive(Serialize, ToSchema)]
pub struct CountryCatalog {
    countries: Vec<CountryEntry>,
}

/// `GET /enums/countries`: every ISO 3166-1 country, with the id `countryId` takes.
#[utoipa::path(get, path = "/api/v2/enums/countries", tag = "enums", operation_id = "enums-countries",
    responses((status = 200, description = "Every country.", body = CountryCatalog)))]
pub async fn countries() -> Json<CountryCatalog> {
    let countries = catalogue::countries()
        .iter()
        .map(|country| CountryEntry { id: country.id, name: country.name, code: country.alpha3, code2: country.alpha2.to_ascii_lowercase() })
        .collect();
    Json(CountryCatalog { countries })
}

/// A time zone of `GET /enums/timezones` (Make's `Timezone`).
#[derive(Serialize, ToSchema)]
pub struct TimezoneEntry {
    /// Stable across releases (docs/compatibility.md).
    id: i64,
    /// The display name (`Europe/Prague`, underscores as spaces).
    name: String,
    /// The IANA name.
    code: &'static str,
    /// The UTC offset now, as `+01:00`.
    offset: String,
}

#[derive(Serialize, ToSchema)]
pub struct TimezoneCatalog {
    timezones: Vec<TimezoneEntry>,
}

/// `GET /enums/timezones`: every IANA time zone, with the id `timezoneId` takes and its offset now.
#[utoipa::path(get, path = "/api/v2/enums/timezones", tag = "enums", operation_id = "enums-timezones",
    responses((status = 200, description = "Every time zone.", body = TimezoneCatalog)))]
pub async fn timezones(State(state): State<AppState>) -> Json<TimezoneCatalog> {
    let now = state.app.now();
    let timezones = catalogue::timezones()
        .iter()
        .map(|zone| TimezoneEntry { id: zone.id, name: zone.name(), code: zone.code, offset: zone.offset_at(now) })
        .collect();
    Json(TimezoneCatalog { timezones })
}

/// A locale of `GET /enums/locales`.
#[derive(Serialize, ToSchema)]
pub struct LocaleEntry {
    id: i64,
    name: &'static str,
    /// A BCP 47 tag.
    code: &'static str,
    /// The ISO 639-1 language it is written in (a user's `language`).
    language: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct LocaleCatalog {
    locales: Vec<LocaleEntry>,
}

/// `GET /enums/locales`: the locales a user may pick, with the id `localeId` takes.
#[utoipa::path(get, path = "/api/v2/enums/locales", tag = "enums", operation_id = "enums-locales",
    responses((status = 200, description = "Every locale.", body = LocaleCatalog)))]
pub async fn locales() -> Json<LocaleCatalog> {
    let locales = catalogue::locales()
        .iter()
        .map(|locale| LocaleEntry { id: locale.id, name: locale.name, code: locale.code, language: locale.language })
        .collect();
    Json(LocaleCatalog { locales })
}

/// A region of `GET /enums/imt-regions` (Make's `Region`).
#[derive(Serialize, ToSchema)]
pub struct RegionEntry {
    id: i64,
    name: &'static str,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegionCatalog {
    imt_regions: Vec<RegionEntry>,
}

/// `GET /enums/imt-regions`: the regions an organization may be created in (`regionId`).
#[utoipa::path(get, path = "/api/v2/enums/imt-regions", tag = "enums", operation_id = "enums-imt-regions",
    responses((status = 200, description = "Every region.", body = RegionCatalog)))]
pub async fn imt_regions() -> Json<RegionCatalog> {
    let imt_regions = catalogue::regions().iter().map(|region| RegionEntry { id: region.id, name: region.name }).collect();
    Json(RegionCatalog { imt_regions })
}
