//! Extractors that turn request parts into typed input, answering Make-schema errors on bad input.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use gatehouse_domain::{Page, SortDir, SortKey};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::MAX_BODY_BYTES;

/// The caller, put in the request by the route's requirement layer.
impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::internal(&"a handler that needs a caller is mounted without a requirement layer")
        })
    }
}

/// A JSON body, with every rejection answered in Make's schema.
pub struct MakeJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for MakeJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(MakeJson(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(ApiError::unsupported_media_type("Send the body as JSON, with Content-Type: application/json."))
            }
            Err(JsonRejection::JsonSyntaxError(error)) => {
                Err(ApiError::invalid_input(format!("The body is not valid JSON: {}", error.body_text())))
            }
            Err(JsonRejection::JsonDataError(error)) => {
                // axum prefixes serde's message with its own; keep only serde's, which names the field.
                let text = error.body_text();
                let reason = text.split_once(": ").map_or(text.as_str(), |(_, reason)| reason);
                Err(ApiError::invalid_input(format!("Invalid body: {reason}")))
            }
            Err(JsonRejection::BytesRejection(_)) => Err(ApiError::payload_too_large(MAX_BODY_BYTES)),
            Err(other) => Err(ApiError::bad_request(other.body_text())),
        }
    }
}

/// Make's query string: `pg[...]`, `cols[]` and plain parameters, with brackets percent-encoded or not.
/// Unknown parameters are ignored, as Make's clients send extras (`wait`, `includePrivateSpaces`…).
#[derive(Debug, Default)]
pub struct MakeQuery {
    pairs: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for MakeQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::parse(parts.uri.query().unwrap_or("")))
    }
}

impl MakeQuery {
    /// `form_urlencoded` decodes `%5B`/`%5D` and `+`, so both spellings of a bracket arrive the same, and
    /// escapes that are not UTF-8 arrive as U+FFFD, never as raw bytes.
    pub fn parse(query: &str) -> Self {
        Self { pairs: form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect() }
    }

    /// A repeated parameter's last value wins, as in most web frameworks' query parsers.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated parameter (`excludeRole[]=1&excludeRole[]=2`), in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// An optional positive integer id parameter: absent is `None`, anything but a positive integer 400.
    pub fn optional_id(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(_) => self.required_id(key).map(Some),
        }
    }

    pub fn is_true(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }

    /// A required integer id parameter such as `organizationId`.
    pub fn required_id(&self, key: &str) -> Result<i64, ApiError> {
        let value = self.get(key).ok_or_else(|| ApiError::invalid_input(format!("Missing required parameter {key}.")))?;
        value.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| ApiError::invalid_input(format!("{key} must be a positive integer.")))
    }

    /// `pg[limit]`, `pg[offset]`, `pg[sortBy]`, `pg[sortDir]`. Sort keys other than `id` and `name` are
    /// refused rather than ignored, so a caller never believes a list is sorted when it is not.
    pub fn page(&self) -> Result<Page, ApiError> {
        let mut page = Page::default();
        if let Some(limit) = self.get("pg[limit]") {
            page.limit = limit
                .parse::<u32>()
                .ok()
                .filter(|limit| (1..=Page::MAX_LIMIT).contains(limit))
                .ok_or_else(|| ApiError::invalid_input(format!("pg[limit] must be an integer from 1 to {}.", Page::MAX_LIMIT)))?;
        }
        if let Some(offset) = self.get("pg[offset]") {
            page.offset = offset.parse::<u32>().map_err(|_| ApiError::invalid_input("pg[offset] must be a non-negative integer."))?;
        }
        if let Some(sort_by) = self.get("pg[sortBy]") {
            page.sort_by = match sort_by {
                "id" => SortKey::Id,
                "name" => SortKey::Name,
                _ => return Err(ApiError::invalid_input("pg[sortBy] must be id or name.")),
            };
        }
        if let Some(sort_dir) = self.get("pg[sortDir]") {
            page.sort_dir = match sort_dir.to_ascii_lowercase().as_str() {
                "asc" => SortDir::Asc,
                "desc" => SortDir::Desc,
                _ => return Err(ApiError::invalid_input("pg[sortDir] must be asc or desc.")),
            };
        }
        Ok(page)
    }

    /// `cols[]=id&cols[]=name`: the columns to return. Absent or `*` means every column.
    pub fn cols(&self) -> Option<Vec<&str>> {
        let cols: Vec<&str> = self.pairs.iter().filter(|(k, _)| k == "cols[]" || k == "cols").map(|(_, v)| v.as_str()).collect();
        if cols.is_empty() || cols.contains(&"*") { None } else { Some(cols) }
    }

    /// Keeps only the requested columns of an object. Unknown column names are ignored.
    pub fn select(&self, value: Value) -> Value {
        match (self.cols(), value) {
            (Some(cols), Value::Object(map)) => {
                Value::Object(map.into_iter().filter(|(key, _)| cols.contains(&key.as_str())).collect::<Map<_, _>>())
            }
            (_, value) => value,
        }
    }
}

/// A numeric id from the path. Anything else cannot name a resource: 404, as Make does for unknown ids.
pub fn path_id(text: &str, what: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found(format!("The {what} does not exist.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_are_the_same_percent_encoded_or_not() {
        for query in ["pg[limit]=5&pg[sortBy]=name", "pg%5Blimit%5D=5&pg%5BsortBy%5D=name", "pg%5blimit%5d=5&pg[sortBy%5D=name"] {
            let page = MakeQuery::parse(query).page().expect("a page");
            assert_eq!((page.limit, page.sort_by), (5, SortKey::Name), "{query}");
        }
        let query = MakeQuery::parse("cols%5B%5D=id&cols[]=name&cols=email");
        assert_eq!(query.cols(), Some(vec!["id", "name", "email"]));
    }

    #[test]
    fn plus_is_a_space_and_percent_plus_one_is_never_byte_0x01() {
        let query = MakeQuery::parse("name=a+b&other=%+1&plus=%2B");
        assert_eq!(query.get("name"), Some("a b"));
        assert_eq!(query.get("other"), Some("% 1"));
        assert_eq!(query.get("plus"), Some("+"));
    }

    #[test]
    fn escapes_that_are_not_utf8_are_replaced() {
        assert_eq!(MakeQuery::parse("name=%FFx").get("name"), Some("\u{FFFD}x"));
        assert!(MakeQuery::parse("organizationId=%FF1").required_id("organizationId").is_err());
    }

    #[test]
    fn a_repeated_parameter_keeps_its_last_value() {
        let query = MakeQuery::parse("organizationId=1&organizationId=2&pg[limit]=1&pg%5Blimit%5D=3");
        assert_eq!(query.required_id("organizationId").ok(), Some(2));
        assert_eq!(query.page().map(|page| page.limit).ok(), Some(3));
    }

    #[test]
    fn bad_paging_is_refused_not_ignored() {
        for query in ["pg[limit]=0", "pg[limit]=x", "pg[offset]=-1", "pg[sortBy]=email", "pg[sortDir]=up"] {
            assert!(MakeQuery::parse(query).page().is_err(), "{query}");
        }
    }
}
