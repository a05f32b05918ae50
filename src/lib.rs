//! firedrill: load generation and SLO/alert drills for services monitored by
//! Prometheus.
//!
//! The modules, in the order data flows through a run: a `scenario` file is
//! parsed and validated into a `plan`; an environment (`env`) provides the
//! target and a Prometheus (`demo` is the embedded system under test, `rules`
//! the alert rules it loads, `cluster` the Kubernetes API); the `drill` runs the phases on one clock,
//! driving the `load` engine and injecting faults while watching Prometheus
//! through `prom`; `checks` turn the observations into verdicts; `report`
//! renders them. `commands` are the command-line entry points, `exit` the
//! exit-code contract, `secret` holds credentials without ever printing them.

pub mod scenario;
pub mod plan;
pub mod env;
pub mod cluster;
pub mod demo;
pub mod rules;
pub mod drill;
pub mod load;
pub mod prom;
pub mod checks;
pub mod report;
pub mod commands;
pub mod exit;
pub mod secret;
