//! Examples live in `examples/`.

pub mod registry;
