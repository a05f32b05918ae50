//! Uses the room above it.

pub fn low() -> crate::high::High {
    crate::high::High
}
