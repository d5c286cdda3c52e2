//! The import direction of ARCHITECTURE.md, checked: every `crate::` path
//! (and every `super::` path that climbs to the crate root) in the code
//! under `src/` must name a module its own module may use, by the table
//! below. Test code (`tests.rs`, `tests/` folders, and an inline
//! `#[cfg(test)] mod tests`) is not a layer and is skipped. A new top-level
//! module must be added to the table.
//!
//! Also checked here: the one convention for unit tests inside `src`
//! (ARCHITECTURE.md, "Tests").

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Used by every module; they use only each other.
const FOUNDATIONS: &[&str] = &["error", "secret", "files", "memory", "process"];

/// The flow: each module may use the ones before it.
const FLOW: &[&str] = &[
    "transport",
    "protocol",
    "client",
    "collector",
    "telemetry",
    "settings",
    "http",
    "exporter",
    "config",
];

/// Beside the flow: what each may use besides the foundations.
const BESIDE: &[(&str, &[&str])] = &[
    ("sim", &["transport", "protocol", "client"]),
    (
        "bench",
        &[
            "transport",
            "protocol",
            "client",
            "collector",
            "telemetry",
            "settings",
            "http",
            "exporter",
            "config",
            "sim",
        ],
    ),
    (
        "cli",
        &[
            "transport",
            "protocol",
            "client",
            "collector",
            "telemetry",
            "settings",
            "http",
            "exporter",
            "config",
            "sim",
            "bench",
        ],
    ),
];

/// Imports against the flow that exist today, each with its file and a
/// reason. A new entry needs a reason; an entry no longer needed fails the
/// test, so the list only shrinks. Empty: the web-config types moved to
/// `settings::web` (http re-reads the file through the loader config puts
/// in).
const KNOWN_EXCEPTIONS: &[(&str, &str)] = &[];

/// The modules `module` may use, or `None` if the table does not know it.
fn allowed(module: &str) -> Option<BTreeSet<&'static str>> {
    if let Some(i) = FOUNDATIONS.iter().position(|m| *m == module) {
        return Some(
            FOUNDATIONS
                .iter()
                .copied()
                .filter(|m| *m != FOUNDATIONS[i])
                .collect(),
        );
    }
    let mut set: BTreeSet<&'static str> = FOUNDATIONS.iter().copied().collect();
    if let Some(rank) = FLOW.iter().position(|m| *m == module) {
        set.extend(&FLOW[..rank]);
        return Some(set);
    }
    let (_, uses) = BESIDE.iter().find(|(m, _)| *m == module)?;
    set.extend(uses.iter().copied());
    Some(set)
}

/// `src/http/admin/mod.rs` → (`http`, depth 2): the top-level module a file
/// belongs to and how deep its own module sits below the crate root.
fn module_of(rel: &Path) -> Option<(String, usize)> {
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let file = parts.last()?;
    let top = parts.first()?.trim_end_matches(".rs").to_string();
    if parts.len() == 1 && (top == "lib" || top == "main") {
        return None;
    }
    let depth = if file == "mod.rs" {
        parts.len() - 1
    } else {
        parts.len()
    };
    Some((top, depth))
}

fn is_test_file(rel: &Path) -> bool {
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name == "tests.rs" || rel.iter().any(|p| p == "tests")
}

/// The code of a file without comments and without its inline test module.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed == "#[cfg(test)]" {
            let next = lines.peek().map(|l| l.trim()).unwrap_or_default();
            if next.starts_with("mod tests {") || next.starts_with("pub mod tests {") {
                // By convention the test module closes the file.
                break;
            }
        }
        let without_comment = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        code.push_str(without_comment);
        code.push('\n');
    }
    code
}

/// The top-level modules a piece of code names: `crate::x`, each item of
/// `crate::{x, y::z}`, and `super::…::x` paths that climb to the root.
fn used_modules(code: &str, depth: usize) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let bytes = code.as_bytes();
    let ident = |from: usize| -> String {
        code[from..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut at = 0;
    while let Some(found) = code[at..].find("crate::") {
        let start = at + found;
        at = start + "crate::".len();
        let preceded_by_ident =
            start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if preceded_by_ident {
            continue; // `$crate::` in a macro, or `my_crate::`.
        }
        if code[at..].starts_with('{') {
            let mut level = 0usize;
            let mut item_start = true;
            for (offset, c) in code[at..].char_indices() {
                match c {
                    '{' => {
                        level += 1;
                        item_start = level == 1;
                    }
                    '}' => {
                        level -= 1;
                        if level == 0 {
                            break;
                        }
                    }
                    ',' if level == 1 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        used.insert(ident(at + offset));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            used.insert(ident(at));
        }
    }
    // `super` climbs one module per step; reaching depth 0 is the root.
    for (start, _) in code.match_indices("super::") {
        let preceded_by_path = start >= 2 && &code[start - 2..start] == "::";
        let preceded_by_ident =
            start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if preceded_by_path || preceded_by_ident {
            continue;
        }
        let mut rest = &code[start..];
        let mut climbs = 0;
        while let Some(after) = rest.strip_prefix("super::") {
            climbs += 1;
            rest = after;
        }
        if climbs >= depth {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                used.insert(name);
            }
        }
    }
    used.retain(|m| m != "self" && m != "super");
    used
}

/// Every import of `text` (at `rel` below `src/`) against the table: the
/// module used and a message.
fn violations(rel: &Path, text: &str) -> Vec<(String, String)> {
    let Some((module, depth)) = module_of(rel) else {
        return Vec::new();
    };
    if is_test_file(rel) {
        return Vec::new();
    }
    let Some(allowed) = allowed(&module) else {
        return vec![(
            module.clone(),
            format!(
                "{}: module `{module}` is not in the layer table of tests/architecture.rs",
                rel.display()
            ),
        )];
    };
    used_modules(&code_of(text), depth)
        .into_iter()
        .filter(|used| *used != module && !allowed.contains(used.as_str()))
        .map(|used| {
            let message = format!(
                "{}: `{module}` uses `{used}`, against the flow (ARCHITECTURE.md)",
                rel.display()
            );
            (used, message)
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `.rs` file under `src/`, sorted.
fn src_files() -> (PathBuf, Vec<PathBuf>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 50, "found only {} files", files.len());
    (src, files)
}

/// Module names a `#[cfg(test)]` module may have: a module's own unit
/// tests, and the helpers several test modules of one layer share.
const TEST_MODULE_NAMES: &[&str] = &["tests", "testkit"];

/// How `text` (at `rel` below `src/`) breaks the test convention: a
/// module's unit tests are its child module `tests` (inline, or
/// `mod tests;` in `foo/tests.rs` or `foo/tests/mod.rs` with topic files
/// beside it); no `tests_*.rs`-style file, no `#[path]`, no other name for
/// a test module, no `mod tests` compiled outside tests.
fn convention_problems(rel: &Path, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let at = rel.display();
    let stem = rel
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let in_tests_folder = rel.parent().is_some_and(|p| p.iter().any(|c| c == "tests"));
    if stem.contains("test") && !in_tests_folder && !TEST_MODULE_NAMES.contains(&stem.as_str()) {
        problems.push(format!(
            "{at}: a test file outside the convention (use `tests.rs` or a `tests/` folder)"
        ));
    }
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for (i, line) in lines.iter().enumerate() {
        let code = line.split("//").next().unwrap_or_default().trim();
        if code.starts_with("#[path") || code.starts_with("#![path") {
            problems.push(format!("{at}:{}: a `#[path]` attribute", i + 1));
        }
        let Some(name) = module_name(code) else {
            continue;
        };
        // The attributes right above the `mod` line.
        let cfg_test = lines[..i]
            .iter()
            .rev()
            .take_while(|l| l.starts_with("#["))
            .any(|l| l.starts_with("#[cfg(") && l.contains("test"));
        if cfg_test && !TEST_MODULE_NAMES.contains(&name.as_str()) {
            problems.push(format!(
                "{at}:{}: test module `{name}` (name it `tests`)",
                i + 1
            ));
        }
        if !cfg_test && TEST_MODULE_NAMES.contains(&name.as_str()) && !in_tests_folder {
            problems.push(format!(
                "{at}:{}: `mod {name}` without `#[cfg(test)]`",
                i + 1
            ));
        }
    }
    problems
}

/// `pub(crate) mod foo {` or `mod foo;` → `foo`.
fn module_name(code: &str) -> Option<String> {
    let mut rest = code;
    if let Some(after) = rest.strip_prefix("pub") {
        rest = after.trim_start();
        if rest.starts_with('(') {
            rest = &rest[rest.find(')')? + 1..];
        }
        rest = rest.trim_start();
    }
    let name: String = rest
        .strip_prefix("mod ")?
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

#[test]
fn unit_tests_inside_src_follow_one_convention() {
    let (src, files) = src_files();
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        let rel = file.strip_prefix(&src).expect("under src");
        problems.extend(convention_problems(rel, &text));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_convention_check_catches_each_odd_form() {
    let odd = [
        ("config/tests_errors.rs", "use super::*;"),
        ("protocol/v3/fixture_tests.rs", "use super::*;"),
        (
            "config/mod.rs",
            "#[cfg(test)]\n#[path = \"t.rs\"]\nmod tests;",
        ),
        (
            "sim/miner.rs",
            "#[cfg(test)]\npub(crate) mod test_support {\n}",
        ),
        ("client/types/mod.rs", "#[cfg(test)]\nmod tests_fixtures;"),
        (
            "collector/gate.rs",
            "#[cfg(all(test, unix))]\nmod unix_tests {}",
        ),
        ("collector/gate.rs", "mod tests {\n}"),
    ];
    for (rel, code) in odd {
        assert_eq!(
            convention_problems(Path::new(rel), code).len(),
            1,
            "{rel}: `{code}` not caught"
        );
    }
    let fine = [
        (
            "config/tests/mod.rs",
            "mod errors;\nmod web;\nuse super::*;",
        ),
        ("config/tests/errors.rs", "use super::Fixture;"),
        ("files/tests.rs", "use super::*;"),
        ("sim/mod.rs", "pub mod fleet;\n#[cfg(test)]\nmod testkit;"),
        (
            "collector/gate.rs",
            "#[cfg(test)]\n#[allow(clippy::x)]\nmod tests {\n    // #[path] in a comment\n}",
        ),
        ("http/mod.rs", "#[cfg(test)]\nmod tests;\npub mod tls;"),
    ];
    for (rel, code) in fine {
        assert_eq!(
            convention_problems(Path::new(rel), code),
            Vec::<String>::new(),
            "{rel}"
        );
    }
}

#[test]
fn no_import_goes_against_the_flow() {
    let (src, files) = src_files();
    let mut problems = Vec::new();
    let mut excepted = BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        let rel = file.strip_prefix(&src).expect("under src");
        for (used, problem) in violations(rel, &text) {
            let known = KNOWN_EXCEPTIONS
                .iter()
                .find(|(f, m)| Path::new(f) == rel && *m == used);
            match known {
                Some(entry) => {
                    excepted.insert(*entry);
                }
                None => problems.push(problem),
            }
        }
    }
    for entry in KNOWN_EXCEPTIONS {
        if !excepted.contains(entry) {
            problems.push(format!(
                "{entry:?} is no longer needed: remove it from KNOWN_EXCEPTIONS"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_catches_upward_imports_in_every_form() {
    let upward = [
        ("transport/address.rs", "use crate::protocol::codes::X;"),
        ("transport/mod.rs", "use crate::{error::E, http::AppState};"),
        (
            "protocol/reply.rs",
            "fn f() { crate::client::Client::new(); }",
        ),
        ("http/mod.rs", "use super::config::Config;"),
        (
            "http/admin/miners.rs",
            "use super::super::super::config::Config;",
        ),
        ("settings.rs", "pub use crate::http::AppState;"),
        ("sim/server.rs", "use crate::collector::Collector;"),
        ("bench/mod.rs", "use crate::cli::exit;"),
        ("newthing.rs", "use crate::error::E;"),
    ];
    for (rel, code) in upward {
        assert_eq!(
            violations(Path::new(rel), code).len(),
            1,
            "{rel}: `{code}` not caught"
        );
    }
    let fine = [
        (
            "protocol/crypto.rs",
            "use crate::transport::clean_reply; // crate::http",
        ),
        ("http/admin/miners.rs", "use super::super::state::AppState;"),
        (
            "config/resolve.rs",
            "use crate::settings::{AdminMiner, Settings};",
        ),
        ("cli/serve.rs", "use crate::{config, exporter::Exporter};"),
        ("transport/tests.rs", "use crate::http::AppState;"),
        (
            "collector/mod.rs",
            "fn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::sim::Fleet;\n}",
        ),
    ];
    for (rel, code) in fine {
        assert_eq!(violations(Path::new(rel), code), Vec::new(), "{rel}");
    }
}
