//! firedrill: load generation and SLO/alert drills for services monitored by
//! Prometheus.
//!
//! The rooms, from the bottom up; each uses only rooms above it in this list
//! (`scripts/check-layers` holds the order and CI checks it):
//!
//! - `time`: the clock, timestamps, how durations are written;
//! - `stats`: chance — binomial tails, and what random errors do to an
//!   alert on an error ratio (how sure a verdict is);
//! - `spec`: how a scenario is written: units, field paths, the problems
//!   validation finds;
//! - `fault_kinds`: one module per fault kind (its keys, validation, plan,
//!   the line that shows it, and its inject and undo, written against the
//!   `Capabilities` that `faults` implements); below the plan and the
//!   records, which hold the kinds' plans;
//! - `setup`: the parts of a validated scenario, plain data with every unit
//!   resolved (targets, phases, faults, `AlertRef`, anchors);
//! - `record`: what a run observed, plain data (phases, traffic, alerts,
//!   the environment), and the `Progress` interface that hears it live;
//! - `secret`: credentials, never printed;
//! - `rules`: reading rule files, Prometheus configs, dashboards, PromQL;
//!   time-scaling rules;
//! - `checks`: one module per check kind (its keys, validation, plan,
//!   judgement of the records, window rule, evidence) and the verdicts;
//!   below the plan, which holds the kinds' plans;
//! - `plan`: a validated scenario, whole: its setup and its checks;
//! - `scenario`: the file format and its validation into a `plan`;
//! - `demo`: the embedded system under test;
//! - `prom`: the Prometheus API client; `cluster`: the Kubernetes API;
//! - `load`: the load engine; `faults`: what a fault can do (the
//!   capabilities: the demo, the Kubernetes API, HTTP calls, commands);
//! - `env`: where traffic goes and which Prometheus is watched;
//! - `drill`: the phases on one clock, producing records;
//! - `exit`: the exit-code contract;
//! - `analyze`: the monitoring stack without traffic, in its own rooms
//!   (bottom up): `condition` (the PromQL condition model), `finding` (the
//!   lint registry), `timing` (when an alert fires after a step),
//!   `rules_check` (`rules check`), `sweep` (`rules sweep`);
//! - `coverage`: every alert proven from its own rule — provocations,
//!   the promtool proof and emitted tests, the ledger;
//! - `report`: rendering (json, html, markdown, junit, csv, terminal, the
//!   tables of `rules check` and `rules sweep`);
//!   `publish`: the Pushgateway and the run's own /metrics;
//! - `commands`: one function per subcommand, with its arguments.

pub mod time;
pub mod stats;
pub mod spec;
pub mod fault_kinds;
pub mod setup;
pub mod record;
pub mod secret;
pub mod rules;
pub mod checks;
pub mod plan;
pub mod scenario;
pub mod demo;
pub mod prom;
pub mod cluster;
pub mod load;
pub mod faults;
pub mod env;
pub mod drill;
pub mod exit;
pub mod analyze;
pub mod coverage;
pub mod report;
pub mod publish;
pub mod commands;
