//! Uses b and the door; b never uses a.
use super::b::Bee;
use crate::base::Base;
use crate::room::Door;

pub struct A(Bee, Base, Door);
