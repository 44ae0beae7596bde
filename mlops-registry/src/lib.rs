//! mlops-registry (work in progress).
