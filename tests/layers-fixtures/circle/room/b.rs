pub struct B;

pub fn call() {
    crate::room::a::helper();
}
