//! The layering of ARCHITECTURE.md, as a test: each top-level module of `src/` may import
//! only the modules below it, and nothing under the loop may touch the terminal. Reads the
//! source text; a `use`, a path in code, or a `super::` that climbs out of a module counts.
#![allow(clippy::too_many_lines)] // a test tells one incident from start to end

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Terminal crates: only `ui`, `tui`, `commands` and `main` may name them.
const TERMINAL: [&str; 3] = ["ratatui", "crossterm", "tui_logger"];

/// What each top-level module may import of the crate (itself always).
fn allowed() -> BTreeMap<&'static str, (Vec<&'static str>, bool)> {
    // (modules, may use terminal crates)
    BTreeMap::from([
        ("shared", (vec![], false)),
        ("core", (vec!["shared"], false)),
        ("sim", (vec!["core", "shared"], false)),
        ("backends", (vec!["core", "shared", "sim"], false)),
        ("signals", (vec!["core", "shared", "sim"], false)),
        (
            "app",
            (vec!["core", "shared", "sim", "backends", "signals"], false),
        ),
        ("ui", (vec!["app", "core", "shared"], true)),
        ("tui", (vec!["app", "ui", "core", "shared"], true)),
        (
            "config",
            (
                vec!["core", "shared", "app", "backends", "signals", "ui", "sim"],
                false,
            ),
        ),
        ("cli", (vec!["core", "shared"], false)),
    ])
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ is readable") {
        let p = e.expect("a directory entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file under `src/`: `src/app/update/keys.rs` → [app, update, keys].
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs").to_string();
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem);
    }
    parts
}

/// The code of a file without its comments (line comments and doc comments; strings are
/// kept, which is fine: no string here spells `crate::`).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with("//") {
                ""
            } else {
                match l.find(" // ") {
                    Some(i) => &l[..i],
                    None => l,
                }
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crate's top-level modules and the external crates a file refers to.
fn references(module: &[String], code: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut tops = BTreeSet::new();
    let mut externs = BTreeSet::new();
    let bytes = code.as_bytes();
    let ident = |i: usize| -> String {
        code[i..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let boundary = |i: usize| {
        i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b':')
    };
    let mut i = 0;
    while i < code.len() {
        if code[i..].starts_with("crate::") && boundary(i) {
            let j = i + "crate::".len();
            if code[j..].starts_with('{') {
                // `crate::{a::X, b}`: every top-level name in the braces.
                let end = code[j..].find('}').map_or(code.len(), |e| j + e);
                let mut depth = 0;
                let mut start = j + 1;
                for (k, c) in code[j + 1..end].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            let name = ident_of(code[start..j + 1 + k].trim());
                            tops.insert(name);
                            start = j + 2 + k;
                        }
                        _ => {}
                    }
                }
                tops.insert(ident_of(code[start..end].trim()));
            } else {
                tops.insert(ident(j));
            }
            i = j;
            continue;
        }
        if code[i..].starts_with("super::") && boundary(i) {
            let mut ups = 0;
            let mut j = i;
            while code[j..].starts_with("super::") {
                ups += 1;
                j += "super::".len();
            }
            // Climbing out of the top-level module reaches another one.
            if ups >= module.len() {
                let name = ident(j);
                if !name.is_empty() {
                    tops.insert(name);
                }
            }
            i = j;
            continue;
        }
        for t in TERMINAL {
            if code[i..].starts_with(t) && code[i + t.len()..].starts_with("::") && boundary(i) {
                externs.insert(t.to_string());
            }
        }
        i += code[i..].chars().next().map_or(1, char::len_utf8);
    }
    tops.remove("");
    (tops, externs)
}

fn ident_of(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Every import against the rules, as "file: imports X".
fn violations(files: &[(PathBuf, String)]) -> Vec<String> {
    let rules = allowed();
    let mut out = Vec::new();
    for (rel, text) in files {
        let module = module_path(rel);
        let Some(top) = module.first() else { continue };
        let Some((may, terminal)) = rules.get(top.as_str()) else {
            continue; // commands, lib, main: the wiring may import anything
        };
        let (tops, externs) = references(&module, &code_of(text));
        for t in tops {
            if t != *top && !may.contains(&t.as_str()) && t != "self" {
                out.push(format!("{}: {top} imports {t}", rel.display()));
            }
        }
        if !terminal {
            for e in externs {
                out.push(format!("{}: {top} uses {e}", rel.display()));
            }
        }
    }
    out
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    assert!(paths.len() > 40, "found only {} files", paths.len());
    let files: Vec<(PathBuf, String)> = paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("readable");
            (p.strip_prefix(&src).expect("under src").to_path_buf(), text)
        })
        .collect();
    // Every top-level module is in the table or is wiring: a new folder must be placed.
    let wiring = ["commands", "lib.rs", "main.rs"];
    for (rel, _) in &files {
        let top = rel.iter().next().expect("a path").to_string_lossy();
        let name = top.trim_end_matches(".rs");
        assert!(
            allowed().contains_key(name)
                || wiring.contains(&top.as_ref())
                || wiring.contains(&name),
            "{}: module `{name}` has no place in the layering (tests/layering.rs, ARCHITECTURE.md)",
            rel.display()
        );
    }
    let bad = violations(&files);
    assert!(bad.is_empty(), "layering broken:\n{}", bad.join("\n"));
}

#[test]
fn the_check_sees_each_kind_of_import() {
    let f = |path: &str, text: &str| (PathBuf::from(path), text.to_string());
    let files = vec![
        f("core/x.rs", "use crate::app::State;\n"),
        f(
            "backends/y.rs",
            "use crate::{core::Env, signals::EnvPoll};\n",
        ),
        f("app/update/z.rs", "fn f() { let _ = crate::ui::render; }\n"),
        f("app/mod.rs", "use super::ui::Theme;\n"),
        f("signals/w.rs", "use ratatui::Frame;\n"),
        f(
            "app/ok.rs",
            "// crate::ui in a comment is fine\nuse crate::core::Env;\nuse super::state::State;\n",
        ),
        f("ui/ok.rs", "use ratatui::Frame;\nuse crate::app::State;\n"),
    ];
    let bad = violations(&files);
    assert_eq!(
        bad,
        vec![
            "core/x.rs: core imports app",
            "backends/y.rs: backends imports signals",
            "app/update/z.rs: app imports ui",
            "app/mod.rs: app imports ui",
            "signals/w.rs: signals uses ratatui",
        ]
    );
}
