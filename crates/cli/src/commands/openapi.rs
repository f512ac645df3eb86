//! `openapi [--issuer URL]`: prints the OpenAPI document, the same one the server serves at
//! `/api/v2/openapi.json`. `gatehouse openapi > docs/openapi.json` regenerates the checked-in copy.

use std::io::Write;

use super::context::{CliError, CliResult};

pub fn openapi(issuer: Option<&str>) -> CliResult {
    let issuer = issuer.unwrap_or(gatehouse_http::openapi::EXAMPLE_ISSUER);
    let document = gatehouse_http::routes::openapi_document(issuer);
    let json = gatehouse_http::openapi::to_json(&document).map_err(|error| CliError(format!("cannot render the document: {error}")))?;
    std::io::stdout().lock().write_all(json.as_bytes()).map_err(|error| CliError(format!("cannot write the document: {error}")))
}
