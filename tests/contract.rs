//! The JS contract has one source of truth: every tag the TypeScript side
//! names (error codes, tool-error categories, budget types, conflict and
//! interrupt reasons, event types) and every action code the TypeScript
//! driver shares with the bindings is read from both sources here, and any
//! drift between them fails this test.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use regex_lite::Regex;

fn source(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The text from `start` to the first `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("`{start}` not found"));
    let rest = &text[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

fn quoted(text: &str, pattern: &str) -> BTreeSet<String> {
    let re = Regex::new(pattern).unwrap();
    re.captures_iter(text).map(|c| c[1].to_owned()).collect()
}

/// The strings a Rust `fn` maps variants to (`=> "name"`).
fn rust_names(file: &str, signature: &str) -> BTreeSet<String> {
    quoted(between(&source(file), signature, "\n    }\n"), r#"=> "([A-Za-z_]+)""#)
}

/// The members of a TypeScript string-literal union.
fn ts_union(file: &str, declaration: &str) -> BTreeSet<String> {
    quoted(between(&source(file), declaration, ";"), r#""([A-Za-z_]+)""#)
}

#[test]
fn error_codes_match() {
    let rust = rust_names("src/model/error/mod.rs", "pub fn code(&self) -> &'static str {");
    assert_eq!(rust, ts_union("js/errors.ts", "export type ErrorCode ="));
}

#[test]
fn tool_error_categories_match() {
    let rust = rust_names("src/model/error/tool.rs", "impl ToolErrorCategory");
    assert_eq!(rust, ts_union("js/errors.ts", "export type ToolErrorCategory ="));
}

#[test]
fn budget_types_and_conflict_reasons_match() {
    let budget = rust_names("src/model/budget.rs", "pub fn as_str(self)");
    assert_eq!(budget, ts_union("js/errors.ts", "export type BudgetType ="));
    let conflict = rust_names("src/model/error/mod.rs", "impl ConflictReason");
    assert_eq!(conflict, ts_union("js/errors.ts", "export type ConflictReason ="));
}

#[test]
fn interrupt_reasons_match_in_both_declarations() {
    let rust = rust_names("src/model/reasons.rs", "impl InterruptReason");
    assert_eq!(rust, ts_union("js/errors.ts", "export type InterruptReason ="));
    assert_eq!(rust, ts_union("js/types.ts", "export type InterruptReason ="));
}

#[test]
fn fallback_reasons_and_idempotency_outcomes_match() {
    let give_up = rust_names("src/model/reasons.rs", "impl GiveUp");
    assert_eq!(give_up, ts_union("js/types.ts", "export type FallbackReason ="));
    let outcomes = rust_names("src/model/event.rs", "impl IdempotencyOutcome");
    assert_eq!(outcomes, ts_union("js/types.ts", "export type IdempotencyOutcome ="));
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[test]
fn event_types_match() {
    let rust_enum = between(&source("src/model/event.rs"), "pub enum EventKind {", "\n}\n").to_owned();
    let variants = Regex::new(r"\n    ([A-Z][A-Za-z]+) \{").unwrap();
    let rust: BTreeSet<String> = variants.captures_iter(&rust_enum).map(|c| snake(&c[1])).collect();
    let types = source("js/types.ts");
    let ts = quoted(
        between(&types, "export type OrchestratorEvent", "\n);"),
        r#"type: "([a-z_]+)""#,
    );
    assert_eq!(rust, ts);
}

/// `const NAME = <expr>` values, for expressions of integers, `<<`, `-` and parentheses.
fn constants(text: &str, pattern: &str) -> BTreeMap<String, i64> {
    let re = Regex::new(pattern).unwrap();
    re.captures_iter(text)
        .filter_map(|c| Some((c[1].to_owned(), eval(&c[2])?)))
        .collect()
}

fn eval(expr: &str) -> Option<i64> {
    let expr = expr.trim().trim_end_matches(" as usize");
    if let Some(inner) = expr.strip_prefix('(').and_then(|e| e.split_once(')')) {
        let (group, rest) = inner;
        let value = eval(group)?;
        return match rest.trim() {
            "" => Some(value),
            r if r.starts_with('-') => Some(value - eval(&r[1..])?),
            _ => None,
        };
    }
    if let Some((a, b)) = expr.split_once("<<") {
        return Some(eval(a)? << eval(b)?);
    }
    if expr == "u32::MAX" {
        return Some(i64::from(u32::MAX));
    }
    expr.parse().ok()
}

#[test]
fn driver_action_codes_match() {
    let rust = constants(
        &source("src/wasm/driver/table.rs"),
        r"pub const ([A-Z_]+): u32 = ([^;]+);",
    );
    let ts = constants(&source("js/driver.ts"), r"\nconst ([A-Z_]+) = ([^;]+);");
    let shared: Vec<&String> = rust.keys().filter(|k| ts.contains_key(*k)).collect();
    assert!(shared.len() >= 10, "too few shared codes found: {shared:?}");
    for name in shared {
        assert_eq!(
            rust[name], ts[name],
            "{name} differs between the bindings and js/driver.ts"
        );
    }
    // The handle mask is spelt HANDLE_MASK in Rust and HANDLE in TypeScript.
    assert_eq!(rust["HANDLE_MASK"], ts["HANDLE"]);
}
