//! The HTTP client carries its own rustls configuration (ring): building it and
//! running a TLS handshake must neither need nor install a process-wide provider.
//! This is its own test binary, so no other test can have installed one first.
#![cfg(feature = "http")]

use mlops_core::ErrorKind;
use mlops_core::http::{HttpClient, Idempotency, Method, RetryConfig};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn tls_without_a_process_wide_provider() {
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
    // A server that answers a TLS ClientHello with plain text: the handshake fails.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut hello = [0u8; 5];
        sock.read_exact(&mut hello).await.unwrap();
        sock.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            .await
            .unwrap();
        hello
    });
    let client = HttpClient::builder()
        .with_native_roots(true)
        .with_retry(RetryConfig::none())
        .with_timeout(Duration::from_secs(10))
        .with_proxy_from_env(false)
        .build()
        .unwrap();
    let e = client
        .send_json::<serde_json::Value, ()>(
            Method::GET,
            &format!("https://{addr}/x"),
            None,
            Idempotency::Idempotent,
        )
        .await
        .unwrap_err();
    // The client spoke TLS: a handshake record (0x16) of TLS 1.x (0x03 0x01).
    let hello = server.await.unwrap();
    assert_eq!(&hello[..3], &[0x16, 0x03, 0x01]);
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
}
