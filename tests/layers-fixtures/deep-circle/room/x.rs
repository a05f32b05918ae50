use crate::room::sub::p::P;
pub struct X(P);
