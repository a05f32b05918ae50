//! The bottom room.
pub struct Base;
