pub struct Q;

#[cfg(test)]
#[allow(unused_imports)]
mod tests {
    use super::super::p::P;
    use crate::room::a::A;
}
