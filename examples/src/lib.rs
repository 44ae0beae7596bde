//! Examples live in `examples/`.

pub mod features;
