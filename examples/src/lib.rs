//! Examples live in `examples/`.

pub mod features;
pub mod governance;
pub mod monitor;
pub mod registry;
pub mod tracking;
