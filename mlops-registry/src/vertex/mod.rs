//! Vertex AI (in progress).
