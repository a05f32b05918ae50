//! The integration tests, in one binary (ripgrep's layout): each file beside
//! this one is a module, and `support`, the fixture module they share, is
//! compiled once rather than once per file. Cargo's automatic test targets
//! are off (`autotests = false` in Cargo.toml), so a test file is compiled
//! only when it is declared here; `every_test_file_is_declared_here` fails
//! on one that is not.
//!
//! Run one file's tests with `cargo nextest run -E 'test(/^cli::/)'` (or
//! `cargo test --test integration cli::`).

mod support;

mod bounds;
mod cli;
mod cluster;
mod coverage;
mod coverage_live;
mod compare;
mod demo;
mod docs;
mod drills;
mod html;
mod https;
mod image;
mod layers;
mod lean_http1;
mod lifecycle;
mod merge;
mod noise;
mod outage;
mod paging;
mod push;
mod readme;
mod reports;
mod resources;
mod rules;
mod rules_check;
mod rules_corpus;
mod rules_sweep;
mod rules_timing;
mod secrets;
mod slo_burn;
mod stall;
mod target_down;
mod terminal;
mod time_scaling;
mod windows;

/// A file in tests/ that is not declared above would never be compiled:
/// its tests would silently not run.
#[test]
fn every_test_file_is_declared_here() {
    let dir = support::repo().join("tests");
    let this = std::fs::read_to_string(dir.join("tests.rs")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(module) = name.strip_suffix(".rs") else {
            continue;
        };
        if module != "tests" && !this.contains(&format!("\nmod {module};\n")) {
            missing.push(name.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "tests/{{{}}} must be declared as modules in tests/tests.rs",
        missing.join(",")
    );
}
