//! Helpers for tests that need a real server (moto, MLflow, Redis).
//!
//! The test command (`scripts/test`) starts the servers and exports their
//! addresses in `MLOPS_TEST_*` variables. Outside CI a test whose server is
//! missing prints why and skips; in CI (`CI=true`) it fails, so a missing server
//! can never pass silently.
//!
//! | variable | server |
//! |---|---|
//! | `MLOPS_TEST_MOTO_URL` | moto (S3, SageMaker, STS), e.g. `http://127.0.0.1:5006` |
//! | `MLOPS_TEST_MLFLOW_URI` | MLflow tracking + registry server |
//! | `MLOPS_TEST_REDIS_URL` | redis-server, e.g. `redis://127.0.0.1:6379` |

/// The address in `var`, or `None` (with a printed reason) when the test should skip.
///
/// # Panics
/// In CI (`CI=true`) when `var` is unset: a server test must not pass silently.
#[allow(clippy::disallowed_methods, clippy::print_stderr)] // test configuration comes from the environment by design
pub fn server(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !in_ci,
                "{var} is not set in CI: the test command must start this server"
            );
            eprintln!("skipping: {var} is not set (run scripts/test to start the server)");
            None
        }
    }
}

/// A fresh random namespace for one test (`t-<uuid v4 simple>`), so tests sharing a
/// server never see each other's objects.
pub fn namespace() -> String {
    format!("t-{}", uuid::Uuid::new_v4().simple())
}

/// Opens an `s3://` bucket on the moto server at `moto_url` (creating the bucket),
/// with moto's fixed test credentials.
///
/// # Errors
/// Store failures.
#[cfg(feature = "s3")]
pub async fn moto_bucket(moto_url: &str, bucket: &str) -> crate::Result<crate::Storage> {
    // moto accepts any credentials; create the bucket with a plain HTTP PUT.
    let client = reqwest_bucket_put(moto_url, bucket).await;
    client?;
    crate::Storage::from_url_opts(
        &format!("s3://{bucket}"),
        [
            ("endpoint", moto_url.to_string()),
            ("allow_http", "true".to_string()),
            ("region", "us-east-1".to_string()),
            ("access_key_id", "testing".to_string()),
            ("secret_access_key", "testing".to_string()),
            ("virtual_hosted_style_request", "false".to_string()),
        ],
    )
}

#[cfg(feature = "s3")]
async fn reqwest_bucket_put(moto_url: &str, bucket: &str) -> crate::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A bare HTTP/1.1 PUT keeps this helper free of an HTTP client dependency.
    let addr = moto_url.trim_start_matches("http://").trim_end_matches('/');
    let mut sock = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| crate::Error::io(addr, e))?;
    let req = format!(
        "PUT /{bucket} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    sock.write_all(req.as_bytes())
        .await
        .map_err(|e| crate::Error::io(addr, e))?;
    let mut resp = Vec::new();
    sock.read_to_end(&mut resp)
        .await
        .map_err(|e| crate::Error::io(addr, e))?;
    let head = String::from_utf8_lossy(&resp);
    if head.starts_with("HTTP/1.1 200") || head.contains("BucketAlreadyOwnedByYou") {
        Ok(())
    } else {
        Err(crate::Error::backend(
            "moto",
            format!(
                "create bucket {bucket}: {}",
                head.lines().next().unwrap_or("")
            ),
        ))
    }
}
