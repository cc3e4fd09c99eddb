//! The bindings in headless browsers (`wasm-pack test --headless --chrome|--firefox -- --test web`).
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod engine;
