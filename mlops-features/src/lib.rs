//! mlops-features (work in progress).
