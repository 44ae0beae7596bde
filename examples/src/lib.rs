//! Examples live in `examples/`.

pub mod governance;
pub mod tracking;
pub mod registry;
pub mod features;
pub mod monitor;
