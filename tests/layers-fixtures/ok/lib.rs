pub mod base;
pub mod room;
