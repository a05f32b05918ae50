use super::p::P;
use super::super::x::X;
pub struct Q;
pub struct R;
pub fn both(_: P, _: X) {}
