//! Timing: how long an alert takes to go pending, to fire and to resolve
//! after a step change in what it watches, from the rule alone — best and
//! worst case over the phases of scrapes and evaluations, which nobody
//! controls.
//!
//! Inside, from the bottom: `model` (the types every file shares: the
//! step, the one bounds type, a leaf's answer); `window` (what a window's
//! samples do to a leaf); `counters` and `gauges` (the arithmetic per
//! signal); `crossing` (one leaf's answer to a step); `compose` (a tree's
//! answer, leaf by leaf); `steps` (which steps to show); `fire` (pending,
//! firing, resolved). Reads conditions (`condition`); knows nothing of rule
//! files, scenarios or Prometheus.

mod compose;
mod counters;
mod crossing;
mod fire;
mod gauges;
mod model;
mod steps;
mod window;

pub use fire::{time_to_fire, timings};
pub use model::{rounded_up, Bounds, Intervals, Knowledge, Step, Timing};
