//! Chance, in one place: how sure a verdict is when requests fail at
//! random. The binomial distribution's tails (`binomial`), and what random
//! errors do to an alerting rule on an error ratio — a window sliding over
//! the run's traffic, evaluated at intervals, held for `for` (`windows`).
//!
//! The checks say with it how likely a verdict was by chance; `rules
//! sweep` says with it how likely a fault's errors, drawn at random, are
//! to fire an alert. Pure numbers: knows nothing of PromQL, phases,
//! reports or how the traffic was made.

pub mod binomial;
pub mod windows;

pub use windows::{noise, percent, Chance, Noise, RatioRule, Second, Span, Traffic};
