//! The layout holds by construction: each top-level module of `src/` imports
//! only the layers below it, no source file grows past 400 lines, and no
//! function of the run machine (`src/run/`) past 60. Test modules (from
//! `#[cfg(test)]` to the end of a file) are not counted.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex_lite::Regex;

/// Bottom first. A module may import the modules of earlier layers only;
/// modules of one layer do not import each other.
const LAYERS: &[&[&str]] = &[
    // The shared words: usage, budgets, errors, events, reasons, payloads, paths, config reading.
    &["model"],
    // The host's doors: clock, sleep, randomness, store, HTTP, tools, streams.
    &["platform"],
    // Pure policies, trace ids, and the virtual host for tests.
    &["planning", "reliability", "trace", "testing"],
    // The run machine.
    &["run"],
    // The Rust driver and the built-in tools.
    &["orchestrator", "tools"],
    // The bindings.
    &["wasm"],
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file without its test module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// The top-level module a file belongs to (`None` for `lib.rs`).
fn module_of(path: &Path) -> Option<String> {
    let relative = path.strip_prefix(src()).unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?.to_owned();
    (first != "lib.rs").then(|| first.trim_end_matches(".rs").to_owned())
}

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` is in no layer of tests/structure.rs"))
}

#[test]
fn imports_go_only_downward() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let path_use = Regex::new(r"crate::([a-z_]+)").unwrap();
    let mut upward = BTreeSet::new();
    let mut checked = 0;
    for file in &files {
        let Some(module) = module_of(file) else { continue };
        let own = layer_of(&module);
        for used in path_use.captures_iter(&code(file)) {
            let target = &used[1];
            if target == module {
                continue;
            }
            checked += 1;
            if layer_of(target) >= own {
                let name = file.strip_prefix(src()).unwrap().display().to_string();
                upward.insert(format!("{name}: {module} imports {target}"));
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} imports found: is the pattern still right?"
    );
    assert!(
        upward.is_empty(),
        "imports that are not downward:\n{}",
        Vec::from_iter(upward).join("\n")
    );
}

#[test]
fn no_file_is_over_400_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    assert!(files.len() > 50);
    let long: Vec<String> = files
        .iter()
        .map(|f| (f, code(f).lines().count()))
        .filter(|(_, lines)| *lines > 400)
        .map(|(f, lines)| format!("{} ({lines} lines)", f.display()))
        .collect();
    assert!(long.is_empty(), "files over 400 lines:\n{}", long.join("\n"));
}

#[test]
fn no_function_of_the_run_machine_is_over_60_lines() {
    let mut files = Vec::new();
    rust_files(&src().join("run"), &mut files);
    // A function starts at a `fn` line and ends at the first `}` line indented as it is.
    let start = Regex::new(r"^(\s*)(pub(\([a-z]+\))? )?fn ([a-z_0-9]+)").unwrap();
    let mut long = Vec::new();
    let mut counted = 0;
    for file in &files {
        let text = code(file);
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(found) = start.captures(line) else { continue };
            let indent = found[1].to_owned();
            let close = format!("{indent}}}");
            let Some(len) = lines[i..].iter().position(|l| *l == close) else {
                continue;
            };
            counted += 1;
            if len + 1 > 60 {
                long.push(format!("{}: fn {} ({} lines)", file.display(), &found[4], len + 1));
            }
        }
    }
    assert!(counted > 20, "only {counted} functions found");
    assert!(long.is_empty(), "functions over 60 lines:\n{}", long.join("\n"));
}
