//! Serves mlops-monitor's Prometheus metrics on `http://127.0.0.1:<port>/metrics`.
//!
//! `cargo run -p examples --example metrics_server -- [--port 0] [--seconds 5]`
//!
//! Port 0 (default) picks a free port. The server exits after `--seconds` (default 5) so it
//! never hangs CI; before serving it scrapes itself once and prints the exposition.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use arrow::array::{ArrayRef, Float64Array, RecordBatch};
use mlops_monitor::metrics::ServingMetrics;
use mlops_monitor::{DatasetSpec, dataset_drift};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn serve(stream: &mut TcpStream, metrics: &ServingMetrics) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await?;
    let req = String::from_utf8_lossy(&buf[..n]);
    let (status, ctype, body) = if req.starts_with("GET /metrics ") {
        (
            "200 OK",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.encode(),
        )
    } else {
        ("404 Not Found", "text/plain", "try /metrics\n".to_string())
    };
    let resp = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(resp.as_bytes()).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let metrics = Arc::new(ServingMetrics::new());
    // some traffic and a drift report
    for i in 0..50u32 {
        metrics.observe_prediction(
            "fraud-detector",
            "3",
            0.001 * f64::from(i % 7 + 1),
            i % 17 != 0,
        );
    }
    let r: ArrayRef = Arc::new(Float64Array::from(
        (0..500).map(|i| f64::from(i % 97)).collect::<Vec<_>>(),
    ));
    let c: ArrayRef = Arc::new(Float64Array::from(
        (0..500)
            .map(|i| f64::from(i % 89) + 5.0)
            .collect::<Vec<_>>(),
    ));
    let report = dataset_drift(
        &RecordBatch::try_from_iter([("amount", r)])?,
        &RecordBatch::try_from_iter([("amount", c)])?,
        &DatasetSpec::default(),
    )?;
    metrics.record_drift("fraud-detector", "3", &report);

    let listener = TcpListener::bind(("127.0.0.1", arg("--port", 0) as u16)).await?;
    let addr = listener.local_addr()?;
    println!(
        "serving http://{addr}/metrics for {} s",
        arg("--seconds", 5)
    );

    let server = {
        let metrics = metrics.clone();
        async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    break;
                };
                let m = metrics.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(&mut s, &m).await {
                        eprintln!("connection: {e}");
                    }
                });
            }
        }
    };
    let self_scrape = async move {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nhost: localhost\r\n\r\n")
            .await?;
        let mut out = String::new();
        s.read_to_string(&mut out).await?;
        println!("{out}");
        Ok::<_, std::io::Error>(())
    };
    tokio::select! {
        _ = server => {}
        _ = async {
            if let Err(e) = self_scrape.await {
                eprintln!("self-scrape failed: {e}");
            }
            tokio::time::sleep(Duration::from_secs(arg("--seconds", 5))).await;
        } => {}
    }
    Ok(())
}
