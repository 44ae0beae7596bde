//! Long-running operations: poll `operations.get` with growing pauses until
//! `done`, within a deadline.

use super::BACKEND;
use super::client::{Operation, VertexClient, status_kind};
use mlops_core::{Error, Result};
use serde_json::Value;
use std::time::Duration;

/// How to wait for an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LroOptions {
    /// The first pause (doubled after each poll).
    pub initial: Duration,
    /// The longest pause.
    pub max: Duration,
    /// Give up after this long (the operation may still finish).
    pub timeout: Duration,
}

impl Default for LroOptions {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(10),
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// Polls `op` until done; returns its `response` (or `{}`).
///
/// # Errors
/// The operation's error (kind from its code); `Timeout` past the deadline.
pub async fn wait(client: &VertexClient, mut op: Operation, opts: LroOptions) -> Result<Value> {
    let started = tokio::time::Instant::now();
    let mut pause = opts.initial;
    loop {
        if op.done {
            if let Some(e) = op.error {
                let kind = status_kind(e.status.as_deref().unwrap_or(""), e.code);
                return Err(Error::Http {
                    backend: BACKEND.to_string(),
                    kind,
                    method: "LRO".to_string(),
                    url: op.name,
                    status: 0,
                    body: format!("operation failed (code {}): {}", e.code, e.message),
                    retry_after: None,
                });
            }
            return Ok(op
                .response
                .unwrap_or_else(|| Value::Object(Default::default())));
        }
        if started.elapsed() + pause > opts.timeout {
            return Err(Error::Timeout {
                operation: format!("{BACKEND} operation {}", op.name),
                elapsed: started.elapsed(),
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(opts.max);
        op = client.get_operation(&op.name).await?;
    }
}
