//! Publishing a run outside its report files: the results pushed to a
//! Pushgateway at the end (`push`), and firedrill's own `/metrics` while the
//! run lasts (`telemetry`). Rendering is the report's job; this room sends.

pub mod deltas;
pub mod push;
pub mod telemetry;
