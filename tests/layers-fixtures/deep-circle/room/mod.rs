mod sub;
mod x;
