//! `with_insecure_tls` against a real TLS server with a self-signed certificate.

use super::{HttpClient, Method, RequestSpec, RetryConfig};
use crate::ErrorKind;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

/// A self-signed P-256 certificate for 127.0.0.1 / localhost and its key, made for
/// this test only (`openssl req -x509 -newkey ec ...`); it protects nothing.
const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBojCCAUmgAwIBAgIUfgPxBaUS6bfnxFU2258AT8UGcB4wCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNbWxvcHMtcnMgdGVzdDAgFw0yNjExMjkwNjA5NDdaGA8yMTI2
MTEwNTA2MDk0N1owGDEWMBQGA1UEAwwNbWxvcHMtcnMgdGVzdDBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABBKSak4tKv6/iNItzvuuwKjULqUSrFFgfkDwks8JWiWN
3osCFmikJcdbWNN4zcS1rwzWvEyAgnLzvuyb2asQxsajbzBtMB0GA1UdDgQWBBQc
A5rREjkhgvysRlrBAa5NFlW9RjAfBgNVHSMEGDAWgBQcA5rREjkhgvysRlrBAa5N
FlW9RjAPBgNVHRMBAf8EBTADAQH/MBoGA1UdEQQTMBGHBH8AAAGCCWxvY2FsaG9z
dDAKBggqhkjOPQQDAgNHADBEAiAPnimGpxXUQZQpen3go4/S7mmHa2R5LFKa3in6
WnJgpAIgL+5VST+/z89P3N4LPjbkHQ5fSEUFtQu2jCMl6gni7Fw=
-----END CERTIFICATE-----
";
const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg73RReitXYWoMx85t
2zYCJhzv2S8x7AzTXnr2evvXMHChRANCAAQSkmpOLSr+v4jSLc77rsCo1C6lEqxR
YH5A8JLPCVoljd6LAhZopCXHW1jTeM3Eta8M1rxMgIJy877sm9mrEMbG
-----END PRIVATE KEY-----
";

/// Serves `HTTP/1.1 200 {}` over TLS to every connection, on a thread.
fn tls_server() -> u16 {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(CERT.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(KEY.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                continue;
            };
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            // A client that refuses the certificate ends the handshake: read fails.
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match tls.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            if req.windows(4).any(|w| w == b"\r\n\r\n") {
                let _ = tls.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                );
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        }
    });
    port
}

#[tokio::test]
async fn insecure_tls_accepts_a_self_signed_server_the_default_refuses_it() {
    let port = tls_server();
    let url = format!("https://127.0.0.1:{port}/x");
    let strict = HttpClient::builder()
        .with_retry(RetryConfig::none())
        .with_proxy_from_env(false)
        .build()
        .unwrap();
    let e = strict
        .send_raw(RequestSpec::new(Method::GET, &url).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.to_string().contains("certificate"), "{e}");

    let insecure = HttpClient::builder()
        .with_insecure_tls(true)
        .with_retry(RetryConfig::none())
        .with_proxy_from_env(false)
        .build()
        .unwrap();
    assert!(format!("{insecure:?}").contains("HttpClient"));
    let (status, _, body) = insecure
        .send_raw(RequestSpec::new(Method::GET, &url).unwrap())
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 200);
    assert_eq!(&body[..], b"{}");
}
