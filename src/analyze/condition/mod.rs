//! The condition model: what an alert's condition watches, read from its
//! syntax tree — comparisons (leaves) joined by `and`, `or` and `unless`,
//! each leaf a signal (a ratio of rates, a histogram quantile, a rate, a
//! gauge, `up`, `absent()`, an age, a windowed function of a gauge)
//! compared with a threshold in its own unit — and the PromQL semantics
//! the rest of the analysis reads beside it: how many samples a window
//! holds for its function (`windows`), and what a histogram's buckets let
//! `histogram_quantile` say (`buckets`).
//!
//! Inside, from the bottom: `function` and `model` (the types), `reader`
//! (recording rules to follow), `value` (what a sub-expression's value
//! is), `read` (the tree); `windows` and `buckets` stand apart. Knows
//! nothing of intervals, steps or findings.

mod buckets;
mod function;
mod model;
mod read;
mod reader;
mod value;
mod windows;

pub use buckets::{
    is_bucket_bound, known_layout, never_exceeds, quantile_call, unit, KnownBuckets,
    DEFAULT_BUCKETS,
};
pub use function::Function;
pub use model::{
    AbsentOf, Compound, Direction, Leaf, Recording, Recordings, Shape, Signal, SignalKind,
    Unmodelled,
};
pub use read::{count_never_matches, read};
pub use reader::{recording_for, Reader};
pub use value::{constant, self_division, unit_valued};
pub use windows::{holding, interval_above_which, sample_count, Holding};
