//! Uses the sub-room; names a in a string only.
use super::sub::{p::P, q};

pub struct Bee(P, q::Q);

pub fn name() -> &'static str {
    "crate::room::a::A"
}

#[cfg(test)]
mod tests {
    // Test-only: a test may use what the code may not.
    use crate::room::a::A;
}
