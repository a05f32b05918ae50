pub mod low;
pub mod high;
