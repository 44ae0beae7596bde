//! mlops-monitor (work in progress).
