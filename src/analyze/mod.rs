//! The analysis of a monitoring stack without traffic: `rules check` and
//! `rules sweep`, and the prediction a drill shows beside its measurement.
//! Knows nothing of drills; returns data (the tables are `report`'s).
//!
//! Rooms, from the bottom up; each uses only rooms above it in this list,
//! and only through its door (`mod.rs`):
//!
//! - `condition`: the PromQL condition model — what an alert's condition
//!   watches, as a tree of comparisons, with the window and bucket
//!   semantics beside it;
//! - `finding`: what the analysis reports (`LintFinding`) and the registry
//!   of lint ids (`LintId`: each with its severity and doc);
//! - `timing`: when an alert goes pending, fires and resolves after a step,
//!   from the rule alone (crossing and composition over one model);
//! - `rules_check`: `rules check` — inputs, alerts, lints, live checks,
//!   routing and silences, deadlines, dashboards;
//! - `sweep`: `rules sweep` — every size of fault through Prometheus's rule
//!   engine (promtool), budget, precision and recall; the drill's
//!   prediction.
//!
//! They are rooms inside `analyze` rather than rooms of `lib.rs` because
//! they are one subsystem with one use from outside (commands, report and
//! the run use `rules_check` and `sweep` only); the files of all of them
//! form one graph that `module-circles` keeps free of circles.

pub mod condition;
pub mod finding;
pub mod timing;
pub mod rules_check;
pub mod sweep;

pub use rules_check::{check, CheckError, CheckOptions, RulesReport};
