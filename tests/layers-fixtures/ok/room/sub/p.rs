use super::q::Q;

// super::super::b::Bee would close a circle (b uses p); in a comment it is no use.
pub struct P(Q);
