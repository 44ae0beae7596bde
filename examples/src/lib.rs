//! Examples live in `examples/`.

pub mod tracking;
