pub mod p;
pub mod q;
