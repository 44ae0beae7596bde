//! Several OS processes append to one audit log on `file://`: the chain never forks
//! and every event is present exactly once.
//!
//! The parent re-executes this test binary with `MLOPS_AUDIT_TEST_CHILD` set; in that
//! mode the same test function acts as one writer and exits.

use mlops_core::audit::{AuditEvent, AuditLog, AuditOptions, AuditQuery, Outcome};
use mlops_core::{Action, Principal, Storage};

const CHILD: &str = "MLOPS_AUDIT_TEST_CHILD";
const TEST_NAME: &str = "processes_share_one_chain_on_file";
const WRITERS: usize = 4;
const PER_WRITER: usize = 60;

// A test helper (the child process's body); a panic fails the parent's assertion.
#[allow(clippy::unwrap_used)]
async fn child(spec: &str) {
    let mut parts = spec.splitn(3, ' ');
    let w: usize = parts.next().unwrap().parse().unwrap();
    let n: usize = parts.next().unwrap().parse().unwrap();
    let url = parts.next().unwrap();
    let storage = Storage::from_url(url).unwrap();
    let opts = AuditOptions::default()
        .with_linger(None)
        .with_checkpoint_every(10);
    let log = AuditLog::open_opts(&storage, opts).await.unwrap();
    let who = Principal::service(format!("writer-{w}"));
    for i in 0..n {
        log.record(
            AuditEvent::new(
                &who,
                Action::Write,
                "model:fraud".parse().unwrap(),
                Outcome::Allowed,
            )
            .with_detail("i", i.to_string()),
        );
        // small, frequent batches so the writers race for every segment number
        if i % 2 == 1 {
            log.flush().await.unwrap();
        }
    }
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_share_one_chain_on_file() {
    // The parent selects child mode through the environment of the re-executed binary.
    #[allow(clippy::disallowed_methods)]
    if let Ok(spec) = std::env::var(CHILD) {
        child(&spec).await;
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}/audit", dir.path().display());
    // Create the directory once so the children race only for segments.
    Storage::from_url(&url).unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..WRITERS)
        .map(|w| {
            std::process::Command::new(&exe)
                .args([TEST_NAME, "--exact", "--test-threads=1", "--nocapture"])
                .env(CHILD, format!("{w} {PER_WRITER} {url}"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = tokio::task::spawn_blocking(move || c.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(
            out.status.success(),
            "child failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let log = AuditLog::open_opts(
        &Storage::from_url(&url).unwrap(),
        AuditOptions::default().with_linger(None),
    )
    .await
    .unwrap();
    let report = log.verify().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.broken);
    let total = (WRITERS * PER_WRITER) as u64;
    assert_eq!(report.records, total);
    assert!(report.checkpoints >= 1, "{report:?}");
    let events = log.query(&AuditQuery::new()).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>()
    );
    let mut keys: Vec<(String, usize)> = events
        .iter()
        .map(|e| (e.principal.clone(), e.details["i"].parse().unwrap()))
        .collect();
    keys.sort();
    let expected: Vec<(String, usize)> = (0..WRITERS)
        .flat_map(|w| (0..PER_WRITER).map(move |i| (format!("writer-{w}"), i)))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(keys, expected, "every event exactly once");
    // each writer's own events stay in its recording order
    for w in 0..WRITERS {
        let mine: Vec<usize> = events
            .iter()
            .filter(|e| e.principal == format!("writer-{w}"))
            .map(|e| e.details["i"].parse().unwrap())
            .collect();
        assert_eq!(mine, (0..PER_WRITER).collect::<Vec<_>>());
    }
}
