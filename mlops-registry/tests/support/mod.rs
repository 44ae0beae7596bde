//! Test support: the Vertex AI discovery-document checker and the strict fake.
#![allow(unreachable_pub)]
pub mod discovery;
pub mod vertex_fake;
