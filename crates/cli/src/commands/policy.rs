//! `policy check [FILE] METHOD PATH`: which rule of the forward-auth route policy decides a request, and
//! what it requires. Exits non-zero when the request would be denied, so scripts can assert on it.

use std::path::Path;

use gatehouse_domain::policy::original_path;
use serde_json::json;

use super::context::{CliError, CliResult};
use crate::args::{Global, PolicyCommand};
use crate::config::{self, FileConfig};

pub fn policy(global: &Global, command: PolicyCommand) -> CliResult {
    match command {
        PolicyCommand::Check { words } => {
            let (file, method, uri) = match words.as_slice() {
                [method, uri] => (None, method, uri),
                [file, method, uri] => (Some(Path::new(file.as_str())), method, uri),
                _ => return Err(CliError("usage: gatehouse policy check [FILE] METHOD PATH".into())),
            };
            check(global, file, method, uri)
        }
    }
}

fn check(global: &Global, file: Option<&Path>, method: &str, uri: &str) -> CliResult {
    let config = FileConfig::load(global.config.as_deref())?;
    let policy = config::resolve_policy(file, &config)?;
    let path = original_path(uri).map_err(|refusal| CliError(format!("denied: {refusal}")))?;
    let rule = policy.find(method, path);
    if global.json {
        let body = match rule {
            Some(rule) => json!({
                "method": method,
                "path": path,
                "allowed": true,
                "rule": rule.key(),
                "scopes": rule.scopes.names(),
                "parameters": rule
                    .parameters(path)
                    .into_iter()
                    .map(|(name, value)| (name.to_string(), json!(value)))
                    .collect::<serde_json::Map<_, _>>(),
            }),
            None => json!({ "method": method, "path": path, "allowed": false, "rule": null, "scopes": [] }),
        };
        println!("{body}");
    }
    let Some(rule) = rule else {
        return Err(CliError(format!("denied: no rule of the policy matches {method} {path}")));
    };
    if !global.json {
        println!("rule:     {}", rule.key());
        if rule.scopes.is_empty() {
            println!("requires: any valid credential");
        } else {
            println!("requires: {}", rule.scopes.names().join(" "));
        }
        for (name, value) in rule.parameters(path) {
            println!("param:    {name} = {value}");
        }
    }
    Ok(())
}
