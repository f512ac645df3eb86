//! `X-Gatehouse-Scopes` values built once per scope set and shared, as `rendered` does for
//! `current-authorization` bodies: a token with every scope makes a header of about 1 KiB, and building and
//! validating it on every forward-auth check was the largest cost of the check.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::http::HeaderValue;
use gatehouse_domain::ScopeSet;

/// Bounded: past this many distinct sets, values are built per request.
const MAX_SETS: usize = 4096;

#[derive(Default)]
pub struct ScopeHeaders(RwLock<HashMap<ScopeSet, HeaderValue>>);

impl ScopeHeaders {
    /// The space-separated scope names (catalog names are visible ASCII, so the value is always valid).
    pub fn for_scopes(&self, scopes: ScopeSet) -> HeaderValue {
        if let Some(value) = self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&scopes) {
            return value.clone();
        }
        let value = HeaderValue::from_str(&scopes.to_space_delimited()).unwrap_or(HeaderValue::from_static(""));
        let mut values = self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if values.len() < MAX_SETS {
            values.insert(scopes, value.clone());
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_scope_set_makes_a_valid_header_value() {
        let headers = ScopeHeaders::default();
        let all = ScopeSet::catalog().fold(ScopeSet::EMPTY, |mut set, scope| {
            set.insert(scope);
            set
        });
        assert_eq!(headers.for_scopes(all).to_str().unwrap(), all.to_space_delimited());
        assert_eq!(headers.for_scopes(ScopeSet::EMPTY).to_str().unwrap(), "");
    }
}
