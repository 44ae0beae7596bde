//! A fault-injecting HTTP/1.1 server on `127.0.0.1:0` for tests of remote backends.
//!
//! Responses are scripted in order ([`MockServer::push`]); when the script is empty
//! a fallback handler answers ([`MockServer::set_fallback`]), or a 404. Faults:
//! error statuses with `Retry-After`, [`MockResponse::drop_connection`] (close the
//! socket after reading the request, without answering) and
//! [`MockResponse::with_delay`] (a slow answer). Every request is recorded with the
//! instant it arrived ([`MockServer::requests`]), so tests assert what the server
//! saw — how many attempts, how far apart — instead of timing the client.
//!
//! Each answer carries `Connection: close`, so every attempt is a new connection.
//! Request bodies must come with `Content-Length` (no chunked uploads).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use mlops_core::http::mock_server::{MockResponse, MockServer};
//! let server = MockServer::start().await;
//! server.push(MockResponse::status(429).with_header("retry-after", "1"));
//! server.set_fallback(|req| MockResponse::json(200, format!(r#"{{"path":"{}"}}"#, req.path)));
//! assert!(server.url("/api").starts_with("http://127.0.0.1:"));
//! assert!(server.requests().is_empty());
//! # }
//! ```

use bytes::Bytes;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct MockResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    delay: Duration,
    drop_connection: bool,
}

impl MockResponse {
    /// A status with an empty body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            delay: Duration::ZERO,
            drop_connection: false,
        }
    }

    /// A status with a JSON body.
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self::status(status)
            .with_header("content-type", "application/json")
            .with_body(body.into())
    }

    /// A status with a plain-text body.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::status(status)
            .with_header("content-type", "text/plain")
            .with_body(body.into())
    }

    /// Reads the request, then closes the connection without answering.
    pub fn drop_connection() -> Self {
        Self {
            drop_connection: true,
            ..Self::status(0)
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Waits `delay` after reading the request before answering (or dropping).
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The method, e.g. `"POST"`.
    pub method: String,
    /// The path with its query string, e.g. `"/api/x?y=1"`.
    pub path: String,
    /// The headers, names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
    /// When the request had been read completely.
    pub at: Instant,
}

impl RecordedRequest {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

type Fallback = Arc<dyn Fn(&RecordedRequest) -> MockResponse + Send + Sync>;

#[derive(Default)]
struct State {
    script: VecDeque<MockResponse>,
    requests: Vec<RecordedRequest>,
    fallback: Option<Fallback>,
}

/// The server; it stops when dropped.
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panicking test thread may poison the lock; the recorded data stays usable.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl MockServer {
    /// Starts a server on `127.0.0.1` with a free port.
    ///
    /// # Panics
    /// When no loopback port can be bound (a broken test machine).
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Starts a server on `127.0.0.1:port` (0 picks a free port), e.g. to bring a
    /// server up late on a port a client is already trying.
    ///
    /// # Panics
    /// When the port cannot be bound.
    #[allow(clippy::expect_used)] // test support: failing loudly is the right outcome
    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind a loopback port for the mock server");
        let addr = listener
            .local_addr()
            .expect("a bound socket has an address");
        let state = Arc::new(Mutex::new(State::default()));
        let task = tokio::spawn(accept_loop(listener, state.clone()));
        Self { addr, state, task }
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Appends an answer to the script.
    pub fn push(&self, response: MockResponse) {
        lock(&self.state).script.push_back(response);
    }

    /// Answers with `handler` once the script is empty.
    pub fn set_fallback(
        &self,
        handler: impl Fn(&RecordedRequest) -> MockResponse + Send + Sync + 'static,
    ) {
        lock(&self.state).fallback = Some(Arc::new(handler));
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// Forgets the script and the recorded requests (the fallback stays).
    pub fn reset(&self) {
        let mut s = lock(&self.state);
        s.script.clear();
        s.requests.clear();
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>) {
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            // Out of file descriptors or similar: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        tokio::spawn(serve(socket, state.clone()));
    }
}

async fn serve(mut socket: TcpStream, state: Arc<Mutex<State>>) {
    let Some(request) = read_request(&mut socket).await else {
        return;
    };
    let response = {
        let mut s = lock(&state);
        s.requests.push(request.clone());
        match s.script.pop_front() {
            Some(r) => r,
            None => match &s.fallback {
                Some(f) => f(&request),
                None => MockResponse::json(404, r#"{"error":"no scripted response"}"#),
            },
        }
    };
    if !response.delay.is_zero() {
        tokio::time::sleep(response.delay).await;
    }
    if response.drop_connection {
        return; // dropping the socket closes it without an answer
    }
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-length: {}\r\nconnection: close\r\n",
        response.status,
        reason(response.status),
        response.body.len()
    );
    for (k, v) in &response.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    // The client may have gone (timed out): write errors are expected then.
    let _ = socket.write_all(out.as_bytes()).await;
    let _ = socket.write_all(&response.body).await;
    let _ = socket.shutdown().await;
}

async fn read_request(socket: &mut TcpStream) -> Option<RecordedRequest> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(len);
    Some(RecordedRequest {
        method,
        path,
        headers,
        body: body.into(),
        at: Instant::now(),
    })
}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown")
}
