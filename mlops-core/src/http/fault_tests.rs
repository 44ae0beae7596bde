//! Retry, idempotency, timeout and redaction tests against the fault-injecting mock.

use super::mock_server::{MockResponse, MockServer};
use super::*;
use crate::ErrorKind;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

fn client(retry: RetryConfig) -> HttpClient {
    HttpClient::builder()
        .with_backend("test")
        .with_timeout(Duration::from_secs(5))
        .with_retry(retry)
        .with_proxy_from_env(false)
        .build()
        .unwrap()
}

fn fast_retry() -> RetryConfig {
    RetryConfig::default()
        .with_max_retries(4)
        .with_initial_backoff(Duration::from_millis(10))
        .with_max_backoff(Duration::from_millis(50))
        .with_budget(Duration::from_secs(20))
}

fn gap(server: &MockServer, i: usize) -> Duration {
    let r = server.requests();
    r[i + 1].at.duration_since(r[i].at)
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let server = MockServer::start().await;
    server.push(MockResponse::status(429).with_header("retry-after", "1"));
    server.push(MockResponse::json(200, r#"{"n": 7}"#));
    let v: serde_json::Value = client(fast_retry())
        .send_json(
            Method::GET,
            &server.url("/a"),
            NO_BODY,
            Idempotency::Idempotent,
        )
        .await
        .unwrap();
    assert_eq!(v["n"], 7);
    assert_eq!(server.requests().len(), 2);
    // The backoff alone is at most 50 ms; the second attempt waited for Retry-After.
    assert!(
        gap(&server, 0) >= Duration::from_secs(1),
        "{:?}",
        gap(&server, 0)
    );
}

#[tokio::test]
async fn retry_after_http_date_is_honoured() {
    let server = MockServer::start().await;
    let (now_wall, now) = (std::time::SystemTime::now(), std::time::Instant::now());
    let at = now_wall + Duration::from_secs(3);
    server.push(MockResponse::status(503).with_header("retry-after", &httpdate::fmt_http_date(at)));
    server.push(MockResponse::json(200, "{}"));
    let _: serde_json::Value = client(fast_retry())
        .send_json(
            Method::GET,
            &server.url("/a"),
            NO_BODY,
            Idempotency::Idempotent,
        )
        .await
        .unwrap();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    // The date has whole seconds, so it is at least 2 s after `now`: no retry before it.
    let waited = reqs[1].at.duration_since(now);
    assert!(waited >= Duration::from_secs(2), "{waited:?}");
}

#[tokio::test]
async fn unavailable_then_ok() {
    let server = MockServer::start().await;
    server.push(MockResponse::text(503, "busy"));
    server.push(MockResponse::text(502, "bad gateway"));
    server.push(MockResponse::json(200, r#"{"ok":true}"#));
    let v: serde_json::Value = client(fast_retry())
        .send_json(
            Method::GET,
            &server.url("/b"),
            NO_BODY,
            Idempotency::Idempotent,
        )
        .await
        .unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn dropped_connection_then_ok() {
    let server = MockServer::start().await;
    server.push(MockResponse::drop_connection());
    server.push(MockResponse::json(200, r#"{"ok":1}"#));
    let v: serde_json::Value = client(fast_retry())
        .send_json(
            Method::PUT,
            &server.url("/c"),
            Some(&serde_json::json!({"x": 1})),
            Idempotency::Idempotent,
        )
        .await
        .unwrap();
    assert_eq!(v["ok"], 1);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    // The body was replayed on the retry.
    assert_eq!(&reqs[1].body[..], br#"{"x":1}"#);
    assert_eq!(reqs[1].header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn slow_response_times_out_then_retries() {
    let server = MockServer::start().await;
    server.push(MockResponse::json(200, r#"{"slow":true}"#).with_delay(Duration::from_secs(10)));
    server.set_fallback(|_| MockResponse::json(200, r#"{"slow":false}"#));
    let c = HttpClient::builder()
        .with_timeout(Duration::from_secs(1))
        .with_retry(fast_retry())
        .with_proxy_from_env(false)
        .build()
        .unwrap();
    let v: serde_json::Value = c
        .send_json(
            Method::GET,
            &server.url("/d"),
            NO_BODY,
            Idempotency::Idempotent,
        )
        .await
        .unwrap();
    // The slow answer was abandoned after 1 s and a retry got the fast one.
    assert_eq!(v["slow"], false);
    assert!(server.requests().len() >= 2);
}

#[tokio::test]
async fn budget_exhausted_is_timeout() {
    let server = MockServer::start().await;
    server.set_fallback(|_| MockResponse::json(200, "{}").with_delay(Duration::from_secs(10)));
    let c = HttpClient::builder()
        .with_backend("slowsvc")
        .with_timeout(Duration::from_millis(400))
        .with_retry(
            fast_retry()
                .with_max_retries(100)
                .with_budget(Duration::from_secs(1)),
        )
        .with_proxy_from_env(false)
        .build()
        .unwrap();
    let e = c
        .send_json::<serde_json::Value, ()>(
            Method::GET,
            &server.url("/e?k=v"),
            None,
            Idempotency::Idempotent,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    let msg = e.to_string();
    assert!(msg.starts_with("slowsvc GET http://127.0.0.1:"), "{msg}");
    assert!(msg.contains("/e timed out after"), "{msg}");
    let Error::Timeout { elapsed, .. } = e else {
        panic!("not a timeout")
    };
    // The budget bounds the whole call (a loose upper bound: 10x the budget).
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
    // 400 ms attempts in a 1 s budget: two full attempts and a cut one.
    assert!(
        (2..=4).contains(&server.requests().len()),
        "{}",
        server.requests().len()
    );
}

#[tokio::test]
async fn non_idempotent_post_is_not_retried() {
    let server = MockServer::start().await;
    server.push(MockResponse::text(503, "try later"));
    server.push(MockResponse::json(200, "{}"));
    let e = client(fast_retry())
        .send_json::<serde_json::Value, _>(
            Method::POST,
            &server.url("/create"),
            Some(&serde_json::json!({"name": "m"})),
            Idempotency::NotIdempotent,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(
        server.requests().len(),
        1,
        "the create must not be duplicated"
    );

    // A dropped connection after the request was sent: not retried either.
    server.reset();
    server.push(MockResponse::drop_connection());
    let spec = RequestSpec::new(Method::POST, &server.url("/create"))
        .unwrap()
        .with_json(&serde_json::json!({"name": "m"}))
        .unwrap();
    assert_eq!(spec.idempotency(), Idempotency::NotIdempotent); // POST's default
    let e = client(fast_retry()).send_raw(spec).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn connect_failures_are_retried_even_for_creates() {
    // Find a free port, leave it closed, and open it only after the client started trying.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/create");
    let later = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let server = MockServer::start_on(port).await;
        server.push(MockResponse::json(200, r#"{"id":"42"}"#));
        server
    });
    let retry = RetryConfig::default()
        .with_max_retries(50)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_millis(100))
        .with_budget(Duration::from_secs(20));
    let v: serde_json::Value = client(retry)
        .send_json(
            Method::POST,
            &url,
            Some(&serde_json::json!({})),
            Idempotency::NotIdempotent,
        )
        .await
        .unwrap();
    assert_eq!(v["id"], "42");
    let server = later.await.unwrap();
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn not_found_is_not_retried_and_message_is_bounded() {
    let server = MockServer::start().await;
    let long = format!(
        r#"{{"error_code":"RESOURCE_DOES_NOT_EXIST","pad":"{}"}}"#,
        "p".repeat(5000)
    );
    server.push(MockResponse::json(404, long));
    let e = client(fast_retry())
        .send_json::<serde_json::Value, ()>(
            Method::GET,
            &server.url("/models/get?name=m&token=s3cr3t"),
            None,
            Idempotency::Idempotent,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(server.requests().len(), 1);
    let msg = e.to_string();
    let prefix = format!(
        "test: GET {} returned 404: {{\"error_code\":\"RESOURCE_DOES_NOT_EXIST\"",
        server.url("/models/get")
    );
    assert!(msg.starts_with(&prefix), "{msg}");
    assert!(!msg.contains("s3cr3t"));
    assert!(msg.len() < 700, "{}", msg.len());
    let Error::Http { status, .. } = e else {
        panic!("not http")
    };
    assert_eq!(status, 404);
}

#[tokio::test]
async fn send_raw_returns_client_errors_as_is() {
    let server = MockServer::start().await;
    server.push(MockResponse::json(
        400,
        r#"{"error_code":"RESOURCE_ALREADY_EXISTS"}"#,
    ));
    server.push(MockResponse::status(500));
    let c = client(fast_retry());
    let (status, _, body) = c
        .send_raw(RequestSpec::new(Method::POST, &server.url("/x")).unwrap())
        .await
        .unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(&body[..], br#"{"error_code":"RESOURCE_ALREADY_EXISTS"}"#);
    // 500 is Backend, not retried, even for an idempotent request.
    let spec = RequestSpec::new(Method::GET, &server.url("/y")).unwrap();
    let (status, _, _) = c.send_raw(spec).await.unwrap();
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn retry_after_beyond_budget_gives_up_at_once() {
    let server = MockServer::start().await;
    server.push(MockResponse::status(429).with_header("retry-after", "3600"));
    let e = client(fast_retry())
        .send_json::<serde_json::Value, ()>(
            Method::GET,
            &server.url("/z"),
            None,
            Idempotency::Idempotent,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn retries_stop_at_max_retries() {
    let server = MockServer::start().await;
    server.set_fallback(|_| MockResponse::status(503));
    let e = client(fast_retry().with_max_retries(2))
        .send_json::<serde_json::Value, ()>(
            Method::GET,
            &server.url("/w"),
            None,
            Idempotency::Idempotent,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(server.requests().len(), 3);
}

#[derive(Debug, Default)]
struct CountingSigner(AtomicU32);

#[async_trait::async_trait]
impl Signer for CountingSigner {
    async fn sign(&self, request: &mut Request) -> crate::Result<()> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        request
            .headers_mut()
            .insert("x-attempt", header::HeaderValue::from(n));
        Ok(())
    }
}

#[tokio::test]
async fn signer_runs_on_every_attempt() {
    let server = MockServer::start().await;
    server.push(MockResponse::status(503));
    server.push(MockResponse::json(200, "{}"));
    let c = HttpClient::builder()
        .with_signer(std::sync::Arc::new(CountingSigner::default()))
        .with_retry(fast_retry())
        .with_proxy_from_env(false)
        .build()
        .unwrap();
    let _: serde_json::Value = c
        .send_json(
            Method::GET,
            &server.url("/s"),
            NO_BODY,
            Idempotency::Idempotent,
        )
        .await
        .unwrap();
    let seen: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("x-attempt").unwrap().to_string())
        .collect();
    assert_eq!(seen, ["1", "2"]);
}

#[tokio::test]
async fn credentials_are_sent_but_never_shown() {
    const SECRET: &str = "tok-9f8e7d6c5b4a";
    let server = MockServer::start().await;
    server.push(MockResponse::json(401, r#"{"error":"bad token"}"#));
    server.push(MockResponse::json(200, "{}"));
    let c = HttpClient::builder()
        .with_backend("mlflow")
        .with_credentials(Credentials::Bearer(Secret::new(SECRET.to_string())))
        .with_retry(fast_retry())
        .with_proxy_from_env(false)
        .build()
        .unwrap();
    let url = server.url(&format!("/p?access_token={SECRET}"));
    let e = c
        .send_json::<serde_json::Value, ()>(Method::GET, &url, None, Idempotency::Idempotent)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    let auth = server.requests()[0]
        .header("authorization")
        .unwrap()
        .to_string();
    assert_eq!(auth, format!("Bearer {SECRET}"));
    // Basic auth as a per-request override.
    let spec = RequestSpec::new(Method::GET, &server.url("/q"))
        .unwrap()
        .with_credentials(Credentials::Basic {
            user: "bob".into(),
            password: Secret::new(SECRET.to_string()),
        });
    let spec_debug = format!("{spec:?}");
    let (status, _, _) = c.send_raw(spec).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    // base64("bob:tok-9f8e7d6c5b4a")
    assert_eq!(
        server.requests()[1].header("authorization"),
        Some("Basic Ym9iOnRvay05ZjhlN2Q2YzViNGE=")
    );
    let shown = format!("{c:?} {c:#?} {e} {e:?} {spec_debug}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!shown.contains("Ym9iOnRvay05ZjhlN2Q2YzViNGE="));
    assert!(shown.contains("Bearer([REDACTED])"), "{shown}");

    // Transport errors do not leak the query string either.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = client(RetryConfig::none())
        .send_json::<serde_json::Value, ()>(
            Method::GET,
            &format!("http://127.0.0.1:{dead}/r?access_token={SECRET}"),
            None,
            Idempotency::Idempotent,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    let shown = format!("{e} {e:?} {:?}", std::error::Error::source(&e));
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(
        shown.contains(&format!("GET http://127.0.0.1:{dead}/r")),
        "{shown}"
    );
}

#[tokio::test]
async fn empty_answers_parse_as_unit_and_bad_json_is_backend() {
    let server = MockServer::start().await;
    server.push(MockResponse::status(204));
    server.push(MockResponse::text(200, "<html>not json</html>"));
    let c = client(fast_retry());
    let () = c
        .send_json(
            Method::DELETE,
            &server.url("/del"),
            NO_BODY,
            Idempotency::Idempotent,
        )
        .await
        .unwrap();
    let e = c
        .send_json::<serde_json::Value, ()>(
            Method::GET,
            &server.url("/html"),
            None,
            Idempotency::Idempotent,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Backend);
    assert!(e.to_string().contains("<html>not json</html>"), "{e}");
    assert_eq!(
        server.requests()[1].header("accept"),
        Some("application/json")
    );
}

#[test]
fn bad_urls_and_pem_are_invalid_arguments() {
    let e = RequestSpec::new(Method::GET, "ftp://h/x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = RequestSpec::new(Method::GET, "not a url?token=s3cr3t").unwrap_err();
    assert!(!e.to_string().contains("s3cr3t"), "{e}");
    let e = HttpClient::builder()
        .with_root_certificate_pem(b"garbage".to_vec())
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn public_types_are_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<HttpClient>();
    assert_send_sync::<RequestSpec>();
    assert_send_sync::<Credentials>();
    assert_send_sync::<RetryConfig>();
}

/// Collects every tracing event and span field as text.
#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        span.record(&mut Fields(&mut self.0.lock().unwrap()));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Fields(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        event.record(&mut Fields(&mut self.0.lock().unwrap()));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn logs_never_show_credentials() {
    const SECRET: &str = "tok-logs-0a1b2c3d";
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let server = MockServer::start().await;
    server.push(MockResponse::text(503, "busy"));
    server.push(MockResponse::json(200, "{}"));
    let c = HttpClient::builder()
        .with_credentials(Credentials::Basic {
            user: "bob".into(),
            password: Secret::new(SECRET.to_string()),
        })
        .with_retry(fast_retry())
        .with_proxy_from_env(false)
        .build()
        .unwrap();
    let url = server.url(&format!("/l?sig={SECRET}"));
    let _: serde_json::Value = c
        .send_json(Method::GET, &url, NO_BODY, Idempotency::Idempotent)
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 2);
    let logs = capture.0.lock().unwrap().clone();
    assert!(logs.contains("retrying http request"), "{logs}");
    assert!(
        logs.contains(&format!("url={}", server.url("/l"))),
        "{logs}"
    );
    assert!(!logs.contains(SECRET), "{logs}");
}

#[tokio::test]
async fn classifier_marks_throttling_bodies_retryable() {
    let server = MockServer::start().await;
    let throttled = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
    server.push(MockResponse::json(400, throttled));
    server.push(MockResponse::json(200, r#"{"ModelPackageArn":"arn:x"}"#));
    server.push(MockResponse::json(400, throttled));
    let c = HttpClient::builder()
        .with_classifier(std::sync::Arc::new(|status, _: &HeaderMap, body: &[u8]| {
            let t = status == StatusCode::BAD_REQUEST
                && body.windows(19).any(|w| w == b"ThrottlingException");
            t.then_some(ErrorKind::RateLimited)
        }))
        .with_retry(fast_retry())
        .with_proxy_from_env(false)
        .build()
        .unwrap();
    let v: serde_json::Value = c
        .send_json(
            Method::POST,
            &server.url("/"),
            Some(&serde_json::json!({})),
            Idempotency::Idempotent,
        )
        .await
        .unwrap();
    assert_eq!(v["ModelPackageArn"], "arn:x");
    assert_eq!(server.requests().len(), 2);
    // Not idempotent: the classified 400 is returned as a RateLimited error at once.
    let e = c
        .send_json::<serde_json::Value, _>(
            Method::POST,
            &server.url("/"),
            Some(&serde_json::json!({})),
            Idempotency::NotIdempotent,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(server.requests().len(), 3);
}
