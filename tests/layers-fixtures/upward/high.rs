pub struct High;
