//! The layering, checked: crates depend only downwards (domain → store → app → http → the binary), and
//! inside each crate no two modules import each other, directly or around a cycle. A module declaring a
//! child is not an import; `use crate::…` and `super::…` paths are. Test modules (`#[cfg(test)]`, at the
//! end of a file by convention) are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What each crate may not depend on: the layers above it, and the I/O a layer must not know.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("crates/domain", &["gatehouse-store", "gatehouse-app", "gatehouse-http", "sqlx", "axum", "tokio", "hyper"]),
    ("crates/store", &["gatehouse-app", "gatehouse-http", "axum", "hyper"]),
    ("crates/app", &["gatehouse-http", "axum", "hyper", "sqlx", "tower-http"]),
    ("crates/http", &["sqlx"]),
];

#[test]
fn crates_depend_only_on_the_layers_below_them() {
    for (dir, forbidden) in FORBIDDEN {
        let manifest = std::fs::read_to_string(workspace().join(dir).join("Cargo.toml")).expect("manifest");
        let dependencies = manifest.split("[dev-dependencies]").next().unwrap_or("");
        for name in *forbidden {
            let declared = dependencies.lines().any(|line| line.trim_start().starts_with(&format!("{name} ")) || line.trim_start().starts_with(&format!("{name}.")));
            assert!(!declared, "{dir} depends on {name}, a layer above it or I/O it must not know");
        }
    }
}

/// The module a file defines, as a path under the crate root ("" is the root).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src").with_extension("");
    let mut parts: Vec<String> = relative.iter().map(|part| part.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::a::b` and `super::a` path in the text, expanded from `use` groups, as absolute paths.
/// `super` is the parent of the file's module, whether the file is `x.rs` or `x/mod.rs`.
fn referenced_paths(text: &str, module: &str) -> Vec<String> {
    let super_base = module.rsplit_once("::").map_or(String::new(), |(parent, _)| parent.to_string());
    let mut paths = Vec::new();
    for (prefix, base) in [("crate::", String::new()), ("super::", super_base)] {
        let mut rest = text;
        while let Some(at) = rest.find(prefix) {
            let preceded_by_ident = rest[..at].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            rest = &rest[at + prefix.len()..];
            if preceded_by_ident {
                continue;
            }
            let path: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            let path = path.trim_end_matches(':');
            let join = |tail: &str| if base.is_empty() { tail.to_string() } else { format!("{base}::{tail}") };
            if path.is_empty() && rest.starts_with('{') {
                let group: String = rest[1..].chars().take_while(|c| *c != '}').collect();
                paths.extend(group.split(',').map(str::trim).filter(|item| !item.is_empty()).map(join));
            } else {
                paths.push(join(path));
            }
        }
    }
    paths
}

#[test]
fn no_module_imports_another_that_imports_it_back() {
    let mut cycles = Vec::new();
    for krate in ["crates/domain", "crates/store", "crates/app", "crates/http", "crates/cli"] {
        let src = workspace().join(krate).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let modules: BTreeSet<String> = files.iter().map(|file| module_of(&src, file)).collect();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in &files {
            let module = module_of(&src, file);
            let text = std::fs::read_to_string(file).expect("source");
            let code: String = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or("")
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            let text = code.as_str();
            let mut paths = referenced_paths(text, &module);
            // `use child::Item` and `pub use child::Item` in a module that declares the child.
            for line in text.lines() {
                let line = line.trim_start().trim_start_matches("pub ").trim_start_matches("pub(crate) ");
                if let Some(rest) = line.strip_prefix("use ") {
                    let head: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    let child = if module.is_empty() { head.clone() } else { format!("{module}::{head}") };
                    if !head.is_empty() && modules.contains(&child) {
                        paths.push(child);
                    }
                }
            }
            for path in paths {
                // The longest module the path starts with; an item of the root resolves to the root.
                let mut target = String::new();
                let segments: Vec<&str> = path.split("::").collect();
                for end in (1..=segments.len()).rev() {
                    let candidate = segments[..end].join("::");
                    if modules.contains(&candidate) {
                        target = candidate;
                        break;
                    }
                }
                if target != module && !module.starts_with(&format!("{target}::")) || target.is_empty() && !module.is_empty() {
                    edges.entry(module.clone()).or_default().insert(target);
                }
            }
        }
        // Depth-first search for a cycle.
        fn visit(node: &str, edges: &BTreeMap<String, BTreeSet<String>>, stack: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
            if let Some(at) = stack.iter().position(|n| n == node) {
                let mut cycle = stack[at..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            if done.contains(node) {
                return None;
            }
            stack.push(node.to_string());
            for next in edges.get(node).into_iter().flatten() {
                if let Some(cycle) = visit(next, edges, stack, done) {
                    return Some(cycle);
                }
            }
            stack.pop();
            done.insert(node.to_string());
            None
        }
        let mut done = BTreeSet::new();
        for module in &modules {
            if let Some(cycle) = visit(module, &edges, &mut Vec::new(), &mut done) {
                let shown: Vec<&str> = cycle.iter().map(|m| if m.is_empty() { "(root)" } else { m.as_str() }).collect();
                cycles.push(format!("{krate}: {}", shown.join(" → ")));
                break;
            }
        }
    }
    assert!(cycles.is_empty(), "modules that import each other:\n{}", cycles.join("\n"));
}
