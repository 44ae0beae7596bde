//! Examples live in `examples/`.

pub mod governance;
