use super::b::B;
pub struct A(B);
pub fn helper() {}
