//! Examples live in `examples/`.

pub mod monitor;
