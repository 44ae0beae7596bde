//! The module's one tokio runtime (multi-thread, created on first use) and the GIL-free
//! `block_on` every I/O call goes through.

use pyo3::prelude::*;
use std::future::Future;
use std::sync::OnceLock;
use tokio::runtime::Runtime;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The runtime, built on first use.
pub(crate) fn runtime() -> PyResult<&'static Runtime> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("mlops-py")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| {
            crate::errors::to_py(
                mlops_core::ErrorKind::Backend,
                format!("tokio runtime: {e}"),
            )
        })
}

/// Runs `fut` to completion on the runtime with the GIL released.
pub(crate) fn block_on<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime()?;
    Ok(py.detach(|| rt.block_on(fut)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn runtime_runs_futures() {
        let rt = super::runtime().ok();
        assert_eq!(rt.map(|rt| rt.block_on(async { 1 + 1 })), Some(2));
    }
}
