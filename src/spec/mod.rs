//! How a scenario is written: human units (`30s`, `10/s`, `1%`, `p99`),
//! values read once their key's neighbours are known, field paths
//! (`phases[1].rate`) and the problems validation finds at them.
//!
//! The vocabulary both `checks` (each kind reads its keys) and `scenario`
//! (the file as a whole) validate with. Knows nothing of files, lines or
//! YAML: `scenario` locates the problems.

mod path;
mod problems;
pub mod units;
mod written;

use std::time::Duration;

pub use path::{FieldPath, Segment};
pub use problems::{FieldProblem, Validator};
pub use written::{body_text, OneOrMany, ScalarText};

/// Header names that carry credentials: they belong in `auth`, read from the
/// environment or a file, because the scenario text is copied into reports.
pub const CREDENTIAL_HEADERS: &[&str] = &["authorization", "proxy-authorization", "x-api-key"];

/// A Prometheus metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
pub fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// A duration as it runs under `time_scale` (divided by it).
pub fn scaled(d: Duration, scale: f64) -> Duration {
    Duration::from_secs_f64(d.as_secs_f64() / scale)
}
