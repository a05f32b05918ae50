//! A room whose door uses its children, and is used by them.
mod a;
mod b;
mod sub;
#[cfg(test)]
mod tests;

pub use self::a::A;
pub struct Door;
