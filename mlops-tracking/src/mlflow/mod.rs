//! The MLflow backend (in progress).
