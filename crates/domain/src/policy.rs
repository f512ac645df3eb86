//! The route policy for forward-auth: which scopes a request needs, by method and path, for an API that
//! Gatehouse guards without seeing it. Rules are `METHOD /path/{param} → scopes`; the most specific rule
//! that matches decides, and a request that no rule matches is denied.
//!
//! The file is TOML with one table, `[rules]`, whose keys are `"METHOD /path"` and values the scopes the
//! rule requires (all of them; an empty list asks only for a valid credential):
//!
//! ```toml
//! [rules]
//! "GET /api/v2/scenarios" = ["scenarios:read"]
//! "* /api/v2/scenarios/{scenarioId}" = ["scenarios:write"]
//! "GET /status/{*rest}" = []
//! ```
//!
//! Patterns are compiled once into a trie, so matching a request walks its path once, without allocating.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Deserialize;

use crate::scope::{Scope, ScopeSet};

/// Make's endpoint → scope table for `/api/v2`, generated from `@makehq/sdk` (scripts/make-policy.mjs).
pub const MAKE_DEFAULT_TOML: &str = include_str!("policy/make-default.toml");

/// The methods a rule may name. Anything else is a typo, refused at start rather than never matched.
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The rule's key as written, when the error is in one rule.
    pub rule: Option<String>,
    pub reason: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Some(rule) => write!(f, "rule {rule:?}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for PolicyError {}

fn rule_error(rule: &str, reason: impl Into<String>) -> PolicyError {
    PolicyError { rule: Some(rule.to_string()), reason: reason.into() }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    /// `{*name}`, last only: one or more remaining segments.
    Rest(String),
}

/// One rule, as written and as compiled.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `None` for `*`, any method.
    pub method: Option<&'static str>,
    pub pattern: String,
    pub scopes: ScopeSet,
    segments: Vec<Segment>,
}

impl Rule {
    pub fn method_text(&self) -> &'static str {
        self.method.unwrap_or("*")
    }

    /// The rule's key as the file writes it.
    pub fn key(&self) -> String {
        format!("{} {}", self.method_text(), self.pattern)
    }

    /// The values of the rule's parameters in `path`, for explaining a match (not the hot path).
    pub fn parameters<'p>(&self, path: &'p str) -> Vec<(&str, &'p str)> {
        let mut values = Vec::new();
        let mut rest = path.strip_prefix('/').unwrap_or(path);
        for segment in &self.segments {
            let (head, tail) = rest.split_once('/').unwrap_or((rest, ""));
            match segment {
                Segment::Literal(_) => {}
                Segment::Param(name) => values.push((name.as_str(), head)),
                Segment::Rest(name) => {
                    values.push((name.as_str(), rest));
                    break;
                }
            }
            rest = tail;
        }
        values
    }
}

#[derive(Debug, Default)]
struct Node {
    literals: HashMap<Box<str>, Node>,
    param: Option<Box<Node>>,
    /// Rules whose pattern ends here, by method (`None` = `*`): indexes into `Policy::rules`.
    ends: Vec<(Option<&'static str>, usize)>,
    /// Rules whose `{*rest}` starts here.
    rest: Vec<(Option<&'static str>, usize)>,
}

impl Node {
    /// The exact method first; a GET rule also answers HEAD (Make's verb rule reads HEAD as a read);
    /// `*` last.
    fn rule_for(ends: &[(Option<&'static str>, usize)], method: &str) -> Option<usize> {
        let exact = |wanted: &str| ends.iter().find(|(m, _)| *m == Some(wanted)).map(|(_, index)| *index);
        exact(method)
            .or_else(|| if method == "HEAD" { exact("GET") } else { None })
            .or_else(|| ends.iter().find(|(m, _)| m.is_none()).map(|(_, index)| *index))
    }

    /// Depth first, literal before parameter before rest: the first rule found is the most specific.
    fn find(&self, method: &str, rest: &str) -> Option<usize> {
        let (head, tail) = match rest.split_once('/') {
            Some((head, tail)) => (head, Some(tail)),
            None => (rest, None),
        };
        let next = |node: &Node| match tail {
            Some(tail) => node.find(method, tail),
            None => Node::rule_for(&node.ends, method),
        };
        if let Some(found) = self.literals.get(head).and_then(next) {
            return Some(found);
        }
        if !head.is_empty()
            && let Some(found) = self.param.as_deref().and_then(next)
        {
            return Some(found);
        }
        if head.is_empty() {
            return None;
        }
        Node::rule_for(&self.rest, method)
    }
}

/// A compiled route policy.
#[derive(Debug)]
pub struct Policy {
    rules: Vec<Rule>,
    root: Node,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    rules: BTreeMap<String, Vec<String>>,
}

impl Policy {
    /// Make's own table: what Gatehouse enforces when no policy file is given.
    pub fn make_default() -> Result<Self, PolicyError> {
        Self::from_toml(MAKE_DEFAULT_TOML)
    }

    /// No rules: every request is denied.
    pub fn deny_all() -> Self {
        Policy { rules: Vec::new(), root: Node::default() }
    }

    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        let file: PolicyFile = toml::from_str(text)
            .map_err(|error| PolicyError { rule: None, reason: format!("not a route policy: {}", error.message()) })?;
        Self::from_rules(file.rules.iter().map(|(key, scopes)| (key.as_str(), scopes.iter().map(String::as_str))))
    }

    pub fn from_rules<'a, S>(entries: impl IntoIterator<Item = (&'a str, S)>) -> Result<Self, PolicyError>
    where
        S: IntoIterator<Item = &'a str>,
    {
        let mut policy = Policy { rules: Vec::new(), root: Node::default() };
        for (key, scopes) in entries {
            let rule = parse_rule(key, scopes)?;
            policy.insert(rule, key)?;
        }
        if policy.rules.is_empty() {
            return Err(PolicyError { rule: None, reason: "the policy has no rules: every request would be denied".into() });
        }
        Ok(policy)
    }

    fn insert(&mut self, rule: Rule, key: &str) -> Result<(), PolicyError> {
        let index = self.rules.len();
        let mut node = &mut self.root;
        let mut is_rest = false;
        for segment in &rule.segments {
            match segment {
                Segment::Literal(text) => node = node.literals.entry(text.as_str().into()).or_default(),
                Segment::Param(_) => node = node.param.get_or_insert_with(Box::default),
                Segment::Rest(_) => is_rest = true,
            }
        }
        let slots = if is_rest { &mut node.rest } else { &mut node.ends };
        if let Some((_, other)) = slots.iter().find(|(method, _)| *method == rule.method) {
            return Err(rule_error(key, format!("it matches the same requests as {:?}", self.rules[*other].key())));
        }
        slots.push((rule.method, index));
        self.rules.push(rule);
        Ok(())
    }

    /// The rule that decides `method` on `path` (a path in normal form, see [`original_path`]), or `None`:
    /// denied.
    pub fn find(&self, method: &str, path: &str) -> Option<&Rule> {
        let rest = path.strip_prefix('/')?;
        self.root.find(method, rest).and_then(|index| self.rules.get(index))
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

fn parse_rule<'a>(key: &str, scopes: impl IntoIterator<Item = &'a str>) -> Result<Rule, PolicyError> {
    let Some((method, pattern)) = key.trim().split_once(' ') else {
        return Err(rule_error(key, "write a rule as \"METHOD /path\", e.g. \"GET /api/v2/scenarios\""));
    };
    let pattern = pattern.trim();
    let method = match method {
        "*" => None,
        name => match METHODS.iter().find(|known| **known == name) {
            Some(known) => Some(*known),
            None => {
                return Err(rule_error(
                    key,
                    format!("unknown method {name:?}: use one of {} or * (uppercase)", METHODS.join(", ")),
                ));
            }
        },
    };
    let segments = parse_pattern(pattern).map_err(|reason| rule_error(key, reason))?;
    let mut set = ScopeSet::EMPTY;
    for name in scopes {
        let scope = Scope::parse(name).ok_or_else(|| rule_error(key, format!("unknown scope {name:?}")))?;
        set.insert(scope);
    }
    Ok(Rule { method, pattern: pattern.to_string(), scopes: set, segments })
}

fn parse_pattern(pattern: &str) -> Result<Vec<Segment>, String> {
    let Some(rest) = pattern.strip_prefix('/') else {
        return Err(format!("the path {pattern:?} must start with /"));
    };
    if rest.is_empty() {
        return Err("a rule for / alone is not supported: name a path".into());
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let last = parts.len() - 1;
    let mut segments = Vec::with_capacity(parts.len());
    for (position, part) in parts.into_iter().enumerate() {
        if part.is_empty() {
            return Err(format!("the path {pattern:?} has an empty segment (// or a trailing /)"));
        }
        if matches!(part, "." | "..") || part.contains(['?', '#', '%', '\\']) {
            return Err(format!("the segment {part:?} is not allowed in a pattern"));
        }
        let segment = match part.strip_prefix('{').and_then(|inner| inner.strip_suffix('}')) {
            Some(inner) => {
                let (name, is_rest) = match inner.strip_prefix('*') {
                    Some(name) => (name, true),
                    None => (inner, false),
                };
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                    return Err(format!("the parameter {part:?} needs a name of letters, digits, _ or -"));
                }
                if is_rest && position != last {
                    return Err(format!("{part:?} takes the rest of the path, so it must come last"));
                }
                if is_rest { Segment::Rest(name.to_string()) } else { Segment::Param(name.to_string()) }
            }
            None if part.contains(['{', '}', '*']) => {
                return Err(format!("the segment {part:?} mixes text and a parameter: a parameter is a whole segment"));
            }
            None => Segment::Literal(part.to_string()),
        };
        segments.push(segment);
    }
    Ok(segments)
}

/// Why a proxy's original URI cannot be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRefusal {
    NotAbsolute,
    /// `.` or `..` segments, or percent-encoded `.`, `/` or `\`: an upstream might resolve them to a path
    /// the policy never saw, so they are refused rather than guessed at.
    NotNormal,
}

impl fmt::Display for PathRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathRefusal::NotAbsolute => "the original URI is not an absolute path",
            PathRefusal::NotNormal => "the original URI has dot segments or encoded separators",
        })
    }
}

/// The path of a request-target as a proxy forwards it (nginx's `$request_uri`, Traefik's
/// `X-Forwarded-Uri`): the query and fragment cut off, refused unless in normal form.
pub fn original_path(uri: &str) -> Result<&str, PathRefusal> {
    let end = uri.find(['?', '#']).unwrap_or(uri.len());
    let path = &uri[..end];
    if !path.starts_with('/') {
        return Err(PathRefusal::NotAbsolute);
    }
    if path.contains('\\') || path.split('/').any(|segment| segment == "." || segment == "..") {
        return Err(PathRefusal::NotNormal);
    }
    let bytes = path.as_bytes();
    for (index, byte) in bytes.iter().enumerate() {
        if *byte == b'%' {
            let encoded = bytes.get(index + 1..index + 3).map(|pair| pair.to_ascii_uppercase());
            if matches!(encoded.as_deref(), Some(b"2E" | b"2F" | b"5C")) {
                return Err(PathRefusal::NotNormal);
            }
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(rules: &[(&str, &[&str])]) -> Policy {
        Policy::from_rules(rules.iter().map(|(key, scopes)| (*key, scopes.iter().copied()))).expect("valid policy")
    }

    fn decided_by(policy: &Policy, method: &str, path: &str) -> Option<String> {
        policy.find(method, path).map(Rule::key)
    }

    #[test]
    fn a_request_no_rule_matches_is_denied() {
        let policy = policy(&[("GET /api/v2/scenarios", &["scenarios:read"])]);
        assert_eq!(decided_by(&policy, "GET", "/api/v2/connections"), None);
        assert_eq!(decided_by(&policy, "POST", "/api/v2/scenarios"), None);
        assert_eq!(decided_by(&policy, "GET", "/api/v2/scenarios/"), None, "a trailing slash is another path");
        assert_eq!(decided_by(&policy, "GET", "/api/v2/scenarios/1"), None);
        assert_eq!(decided_by(&policy, "GET", "/api/v2"), None);
    }

    #[test]
    fn parameters_match_one_non_empty_segment() {
        let policy = policy(&[("GET /api/v2/scenarios/{scenarioId}/blueprint", &["scenarios:read"])]);
        let rule = policy.find("GET", "/api/v2/scenarios/42/blueprint").expect("matches");
        assert_eq!(rule.parameters("/api/v2/scenarios/42/blueprint"), vec![("scenarioId", "42")]);
        assert!(policy.find("GET", "/api/v2/scenarios//blueprint").is_none());
        assert!(policy.find("GET", "/api/v2/scenarios/4/2/blueprint").is_none());
    }

    #[test]
    fn the_most_specific_rule_wins_literal_before_parameter_before_rest_then_method_before_star() {
        let policy = policy(&[
            ("* /api/{*rest}", &["admin:read"]),
            ("GET /api/v2/scenarios/{id}", &["scenarios:read"]),
            ("* /api/v2/scenarios/{id}", &["scenarios:write"]),
            ("GET /api/v2/scenarios/folders", &["templates:read"]),
            ("GET /api/v2/{resource}/folders", &["udts:read"]),
        ]);
        assert_eq!(decided_by(&policy, "GET", "/api/v2/scenarios/folders").as_deref(), Some("GET /api/v2/scenarios/folders"));
        assert_eq!(decided_by(&policy, "GET", "/api/v2/scenarios/7").as_deref(), Some("GET /api/v2/scenarios/{id}"));
        assert_eq!(decided_by(&policy, "DELETE", "/api/v2/scenarios/7").as_deref(), Some("* /api/v2/scenarios/{id}"));
        assert_eq!(decided_by(&policy, "GET", "/api/v2/hooks/folders").as_deref(), Some("GET /api/v2/{resource}/folders"));
        // The literal branch matched no method: the walk backs up to the parameter, then the rest.
        assert_eq!(decided_by(&policy, "POST", "/api/v2/scenarios/folders").as_deref(), Some("* /api/v2/scenarios/{id}"));
        assert_eq!(decided_by(&policy, "POST", "/api/v2/hooks/folders").as_deref(), Some("* /api/{*rest}"));
        assert_eq!(decided_by(&policy, "GET", "/api").as_deref(), None, "rest needs at least one segment");
    }

    #[test]
    fn a_get_rule_answers_head_unless_head_has_its_own() {
        let policy = policy(&[("GET /a", &["scenarios:read"]), ("HEAD /b", &[]), ("GET /b", &["scenarios:read"])]);
        assert_eq!(decided_by(&policy, "HEAD", "/a").as_deref(), Some("GET /a"));
        assert_eq!(decided_by(&policy, "HEAD", "/b").as_deref(), Some("HEAD /b"));
    }

    #[test]
    fn scopes_are_required_all_and_aliases_are_accepted() {
        let policy = policy(&[("POST /x", &["scenarios:write", "teams-variables:read"]), ("GET /me", &[])]);
        let rule = policy.find("POST", "/x").expect("matches");
        assert_eq!(rule.scopes.names(), vec!["scenarios:write", "team-variables:read"]);
        assert!(policy.find("GET", "/me").expect("matches").scopes.is_empty());
    }

    #[test]
    fn unknown_scope_names_are_refused_naming_the_rule() {
        let error = Policy::from_toml("[rules]\n\"GET /api/v2/scenarios\" = [\"scenario:read\"]\n").expect_err("refused");
        assert_eq!(error.to_string(), "rule \"GET /api/v2/scenarios\": unknown scope \"scenario:read\"");
    }

    #[test]
    fn bad_methods_are_refused() {
        for key in ["get /a", "FETCH /a", "/a", "GET", "GET,POST /a"] {
            let error = Policy::from_rules([(key, std::iter::empty())]).expect_err(key);
            assert_eq!(error.rule.as_deref(), Some(key));
        }
    }

    #[test]
    fn bad_patterns_are_refused() {
        for key in ["GET a", "GET /a//b", "GET /a/", "GET /", "GET /a/{}", "GET /a/x{id}", "GET /{*rest}/b", "GET /a/../b", "GET /a?x=1", "GET /a/*"] {
            let error = Policy::from_rules([(key, std::iter::empty())]).expect_err(key);
            assert_eq!(error.rule.as_deref(), Some(key), "{error}");
        }
    }

    #[test]
    fn two_rules_for_the_same_requests_are_refused() {
        let error = Policy::from_rules([("GET /a/{x}", std::iter::empty()), ("GET /a/{y}", std::iter::empty())])
            .expect_err("duplicate");
        assert!(error.to_string().contains("same requests"), "{error}");
    }

    #[test]
    fn a_file_that_is_not_a_policy_is_refused() {
        assert!(Policy::from_toml("rules = 1").is_err());
        assert!(Policy::from_toml("[rules]\n\"GET /a\" = \"scenarios:read\"").is_err());
        assert!(Policy::from_toml("[rules]\n").is_err(), "no rules at all");
        assert!(Policy::from_toml("[rules]\n\"GET /a\" = []\n[extra]\n").is_err());
    }

    #[test]
    fn the_make_default_parses_and_covers_what_the_sdk_calls() {
        let policy = Policy::make_default().expect("the embedded policy is valid");
        assert!(policy.rules().len() > 150, "{} rules", policy.rules().len());
        let expect = |method: &str, path: &str, scope: &str| {
            let rule = policy.find(method, path).unwrap_or_else(|| panic!("{method} {path} has a rule"));
            assert_eq!(rule.scopes.names(), vec![scope], "{method} {path}");
        };
        expect("GET", "/api/v2/scenarios", "scenarios:read");
        expect("POST", "/api/v2/scenarios", "scenarios:write");
        expect("GET", "/api/v2/scenarios/12", "scenarios:read");
        expect("POST", "/api/v2/scenarios/12/run", "scenarios:run");
        expect("GET", "/api/v2/connections", "connections:read");
        expect("GET", "/api/v2/data-stores", "datastores:read");
        expect("GET", "/api/v2/hooks", "hooks:read");
        expect("GET", "/api/v2/teams/3", "teams:read");
        expect("GET", "/api/v2/sdk/apps/my-app/1/modules", "sdk-apps:read");
        assert!(policy.find("GET", "/api/v2/users/me/current-authorization").expect("rule").scopes.is_empty());
        assert!(policy.find("GET", "/admin/anything").is_none());
    }

    #[test]
    fn original_paths_lose_their_query_and_must_be_normal() {
        assert_eq!(original_path("/api/v2/scenarios?teamId=1"), Ok("/api/v2/scenarios"));
        assert_eq!(original_path("/a#frag"), Ok("/a"));
        assert_eq!(original_path("/a/%20b"), Ok("/a/%20b"));
        assert_eq!(original_path("http://x/a"), Err(PathRefusal::NotAbsolute));
        assert_eq!(original_path(""), Err(PathRefusal::NotAbsolute));
        for path in ["/a/../b", "/a/./b", "/a/%2e%2E/b", "/a%2Fb", "/a\\b", "/a/%5c"] {
            assert_eq!(original_path(path), Err(PathRefusal::NotNormal), "{path}");
        }
    }
}
