use super::{
    q::{Q, R as Renamed},
};
pub struct P(Q, Renamed);
