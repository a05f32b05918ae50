//! A test-only file: its uses do not count.
use crate::room::a::A;
use super::b::Bee;
