//! mlops-tracking (work in progress).
