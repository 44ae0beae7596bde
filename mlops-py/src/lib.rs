//! mlops-py: the Python bindings of mlops-rs (`import mlops`).
//!
//! The native module is `mlops._mlops`; the pure-Python package `mlops` (in `python/mlops/`)
//! wraps it with a Pythonic API (dataclasses, context managers, numpy/pandas conversion).
//! Arrow data crosses the boundary through the Arrow C data interface (`arrow-pyarrow`), so
//! no buffer is copied. The GIL is released around all I/O and heavy compute.
//!
//! Build with `maturin develop` inside `mlops-py/`; test with `pytest mlops-py/tests`.

mod errors;
mod features;
mod governance;
mod introspect;
mod monitor;
mod registry;
mod runtime;
mod tracking;

use pyo3::prelude::*;

/// The native module `mlops._mlops`.
#[pymodule]
fn _mlops(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    monitor::register(m)?;
    tracking::register(m)?;
    features::register(m)?;
    features::register_store(m)?;
    registry::register(m)?;
    governance::register(m)?;
    introspect::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
