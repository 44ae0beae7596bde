use super::segment::{self, GENESIS};
use super::*;
use crate::{Action, ErrorKind, Principal, ResourceRef, Storage};
use bytes::Bytes;
use chrono::{TimeZone, Utc};
use object_store::ObjectStoreExt;
use std::time::Duration;

fn ev(who: &str, action: Action, res: &str, n: usize) -> AuditEvent {
    AuditEvent::new(
        &Principal::user(who),
        action,
        res.parse().unwrap(),
        Outcome::Allowed,
    )
    .with_detail("n", n.to_string())
}

fn manual() -> AuditOptions {
    AuditOptions::default()
        .with_linger(None)
        .with_checkpoint_every(0)
}

/// 3 segments of 4 records (seq 1..=12) and a checkpoint at 12.
async fn three_segments() -> (Storage, AuditLog) {
    let s = Storage::memory();
    let log = AuditLog::open_opts(&s, manual()).await.unwrap();
    for seg in 0..3 {
        for i in 0..4 {
            log.record(ev("alice", Action::Write, "model:fraud", seg * 4 + i));
        }
        log.flush().await.unwrap();
    }
    log.checkpoint().await.unwrap();
    let r = log.verify().await.unwrap();
    assert!(r.is_clean(), "{:?}", r.broken);
    assert_eq!((r.segments, r.records, r.checkpoints), (3, 12, 1));
    assert_eq!(r.head.as_ref().unwrap().0, 12);
    (s, log)
}

async fn read_lines(log: &AuditLog, seg: u64) -> Vec<Vec<u8>> {
    let b = log.inner.segments.get(seg).await.unwrap();
    segment::lines(&b).map(|l| l.unwrap().to_vec()).collect()
}

async fn write_lines(s: &Storage, log: &AuditLog, seg: u64, lines: Vec<Vec<u8>>) {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(&l);
        out.push(b'\n');
    }
    let key = log.inner.segments.key(seg);
    s.store().put(&key, Bytes::from(out).into()).await.unwrap();
}

async fn broken(log: &AuditLog) -> BrokenLink {
    let r = log.verify().await.unwrap();
    let b = r.broken.clone().expect("tampering must be detected");
    let e = r.into_result().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity);
    assert!(
        e.to_string()
            .contains(&format!("segment {} record {}", b.segment, b.index))
    );
    b
}

fn at(segment: u64, index: usize, reason: BreakReason) -> BrokenLink {
    BrokenLink {
        segment,
        index,
        reason,
    }
}

#[tokio::test]
async fn edit_is_detected_at_the_record() {
    let (s, log) = three_segments().await;
    let mut lines = read_lines(&log, 2).await;
    let text = String::from_utf8(lines[1].clone()).unwrap();
    lines[1] = text.replace("\"alice\"", "\"mallory\"").into_bytes();
    write_lines(&s, &log, 2, lines).await;
    assert_eq!(broken(&log).await, at(2, 1, BreakReason::HashMismatch));
}

#[tokio::test]
async fn edit_with_rehash_breaks_the_next_link() {
    let (s, log) = three_segments().await;
    let mut lines = read_lines(&log, 2).await;
    let l = segment::parse_line(&lines[1]).unwrap();
    let json = String::from_utf8(l.json.to_vec())
        .unwrap()
        .replace("write", "admin");
    let hash = segment::link_hash(&l.prev, json.as_bytes());
    lines[1] = format!("{} {} {json}", hex::encode(l.prev), hex::encode(hash)).into_bytes();
    write_lines(&s, &log, 2, lines).await;
    assert_eq!(broken(&log).await, at(2, 2, BreakReason::PrevMismatch));
}

#[tokio::test]
async fn delete_is_detected() {
    let (s, log) = three_segments().await;
    let mut lines = read_lines(&log, 2).await;
    lines.remove(1);
    write_lines(&s, &log, 2, lines).await;
    let seq = BreakReason::SeqMismatch {
        expected: 6,
        found: 7,
    };
    assert_eq!(broken(&log).await, at(2, 1, seq));
}

#[tokio::test]
async fn reorder_is_detected() {
    let (s, log) = three_segments().await;
    let mut lines = read_lines(&log, 3).await;
    lines.swap(0, 2);
    write_lines(&s, &log, 3, lines).await;
    let seq = BreakReason::SeqMismatch {
        expected: 9,
        found: 11,
    };
    assert_eq!(broken(&log).await, at(3, 0, seq));
}

#[tokio::test]
async fn insert_is_detected() {
    // A forged record that chains correctly onto seq 5 and claims seq 6.
    let (s, log) = three_segments().await;
    let mut lines = read_lines(&log, 2).await;
    let prev = segment::parse_line(&lines[0]).unwrap().hash;
    let mut forged = vec![ev("mallory", Action::Admin, "policy:main", 0)];
    let (bytes, _, _) = segment::encode(&mut forged, 6, prev).unwrap();
    lines.insert(1, bytes.strip_suffix(b"\n").unwrap().to_vec());
    write_lines(&s, &log, 2, lines).await;
    let seq = BreakReason::SeqMismatch {
        expected: 7,
        found: 6,
    };
    assert_eq!(broken(&log).await, at(2, 2, seq));

    // A copied record inserted verbatim.
    let (s, log) = three_segments().await;
    let mut lines = read_lines(&log, 1).await;
    let copy = lines[3].clone();
    lines.insert(1, copy);
    write_lines(&s, &log, 1, lines).await;
    let seq = BreakReason::SeqMismatch {
        expected: 2,
        found: 4,
    };
    assert_eq!(broken(&log).await, at(1, 1, seq));
}

#[tokio::test]
async fn truncation_is_detected_through_checkpoints() {
    // the last segment deleted
    let (s, log) = three_segments().await;
    s.store().delete(&log.inner.segments.key(3)).await.unwrap();
    let trunc = BreakReason::Truncated {
        checkpoint: 1,
        checkpoint_seq: 12,
        last_seq: 8,
    };
    assert_eq!(broken(&log).await, at(2, 4, trunc));
    // records cut off the last segment
    let (s, log) = three_segments().await;
    let lines = read_lines(&log, 3).await;
    write_lines(&s, &log, 3, lines[..2].to_vec()).await;
    let trunc = BreakReason::Truncated {
        checkpoint: 1,
        checkpoint_seq: 12,
        last_seq: 10,
    };
    assert_eq!(broken(&log).await, at(3, 2, trunc));
    // a middle segment deleted
    let (s, log) = three_segments().await;
    s.store().delete(&log.inner.segments.key(2)).await.unwrap();
    assert_eq!(broken(&log).await, at(2, 0, BreakReason::MissingSegment));
    // a torn last line
    let (s, log) = three_segments().await;
    let b = log.inner.segments.get(3).await.unwrap();
    let key = log.inner.segments.key(3);
    s.store()
        .put(&key, b.slice(..b.len() - 10).into())
        .await
        .unwrap();
    let b = broken(&log).await;
    assert_eq!((b.segment, b.index), (3, 3));
    assert!(matches!(b.reason, BreakReason::Malformed(_)), "{b}");
}

#[tokio::test]
async fn full_rewrite_is_caught_by_a_checkpoint_on_another_store() {
    let s = Storage::memory();
    let cps = Storage::memory();
    let opts = manual().with_checkpoint_storage(cps.clone());
    let log = AuditLog::open_opts(&s, opts.clone()).await.unwrap();
    for i in 0..6 {
        log.record(ev("alice", Action::Delete, "dataset:pii", i));
    }
    log.close().await.unwrap();
    assert!(cps.store().list(None).next().await.is_some());
    // The attacker re-encodes the whole log with one event changed: every link is
    // consistent, but the checkpoint (on a store they cannot write) disagrees.
    let mut events = log.query(&AuditQuery::new()).await.unwrap();
    events[2].principal = "nobody".into();
    let (bytes, _, _) = segment::encode(&mut events, 1, GENESIS).unwrap();
    let key = log.inner.segments.key(1);
    s.store()
        .put(&key, Bytes::from(bytes).into())
        .await
        .unwrap();
    let reopened = AuditLog::open_opts(&s, opts).await.unwrap();
    assert_eq!(
        broken(&reopened).await,
        at(1, 5, BreakReason::CheckpointMismatch { checkpoint: 1 })
    );
}

use futures::StreamExt;

#[tokio::test]
async fn automatic_checkpoints_and_reopen_continue_the_chain() {
    let s = Storage::memory();
    let log = AuditLog::open_opts(&s, manual().with_checkpoint_every(5))
        .await
        .unwrap();
    for round in 0..3 {
        for i in 0..4 {
            log.record(ev(
                "ci",
                Action::Materialize,
                "feature_view:payments/txn",
                round * 4 + i,
            ));
        }
        log.flush().await.unwrap();
    }
    let r = log.verify().await.unwrap();
    assert!(r.is_clean());
    assert_eq!((r.records, r.checkpoints), (12, 2)); // crossed 5 and 10
    drop(log);
    let again = AuditLog::open_opts(&s, manual()).await.unwrap();
    again.record(ev("ci", Action::Read, "model:m", 99));
    again.flush().await.unwrap();
    let r = again.verify().await.unwrap();
    assert!(r.is_clean(), "{:?}", r.broken);
    assert_eq!((r.segments, r.records), (4, 13));
    let last = again
        .query(&AuditQuery::new().with_action(Action::Read))
        .await
        .unwrap();
    assert_eq!(last[0].seq, 13);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_memory_never_fork() {
    let s = Storage::memory();
    let writers = 6;
    let per = 40;
    let mut tasks = vec![];
    for w in 0..writers {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            // each writer is its own log handle, as separate processes would be
            let log = AuditLog::open_opts(&s, manual()).await.unwrap();
            for i in 0..per {
                log.record(ev(&format!("w{w}"), Action::Write, "model:m", i));
                if i % 3 == 2 {
                    log.flush().await.unwrap();
                }
            }
            log.flush().await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let log = AuditLog::open_opts(&s, manual()).await.unwrap();
    let r = log.verify().await.unwrap();
    assert!(r.is_clean(), "{:?}", r.broken);
    assert_eq!(r.records, (writers * per) as u64);
    let events = log.query(&AuditQuery::new()).await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=(writers * per) as u64).collect::<Vec<_>>());
    let mut seen: Vec<(String, String)> = events
        .iter()
        .map(|e| (e.principal.clone(), e.details["n"].clone()))
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), writers * per, "every event exactly once");
}

#[tokio::test]
async fn a_writer_that_loses_the_race_rechains_onto_the_winner() {
    use std::sync::atomic::Ordering::Relaxed;
    let s = Storage::memory();
    let a = AuditLog::open_opts(&s, manual()).await.unwrap();
    let b = AuditLog::open_opts(&s, manual()).await.unwrap();
    b.record(ev("b", Action::Write, "model:m", 0));
    b.flush().await.unwrap(); // b: segment 1, b now aims at 2
    a.record(ev("a", Action::Write, "model:m", 0));
    a.record(ev("a", Action::Write, "model:m", 1));
    a.flush().await.unwrap(); // a: loads the head, segment 2
    a.record(ev("a", Action::Write, "model:m", 2));
    a.flush().await.unwrap(); // a: segment 3
    b.record(ev("b", Action::Write, "model:m", 1));
    b.flush().await.unwrap(); // b: loses 2, re-chains onto 3, writes 4
    assert_eq!(a.inner.lost_races.load(Relaxed), 0);
    assert_eq!(b.inner.lost_races.load(Relaxed), 1);
    let r = b.verify().await.unwrap();
    assert!(r.is_clean(), "{:?}", r.broken);
    assert_eq!((r.segments, r.records), (4, 5));
    let evs = a.query(&AuditQuery::new()).await.unwrap();
    let order: Vec<(u64, &str, &str)> = evs
        .iter()
        .map(|e| (e.seq, e.principal.as_str(), e.details["n"].as_str()))
        .collect();
    assert_eq!(
        order,
        [
            (1, "b", "0"),
            (2, "a", "0"),
            (3, "a", "1"),
            (4, "a", "2"),
            (5, "b", "1")
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_flushers_on_one_handle() {
    let log = AuditLog::open_opts(&Storage::memory(), manual())
        .await
        .unwrap();
    let mut tasks = vec![];
    for w in 0..8 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                log.record(ev(&format!("t{w}"), Action::Write, "model:m", i));
                log.flush().await.unwrap();
                // flush returned: my event is durable
                let mine = log
                    .query(&AuditQuery::new().with_principal(format!("t{w}")))
                    .await
                    .unwrap();
                assert_eq!(mine.len(), i + 1);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let r = log.verify().await.unwrap();
    assert!(r.is_clean());
    assert_eq!(r.records, 80);
}

#[tokio::test]
async fn background_committer_writes_without_flush() {
    let opts = AuditOptions::default()
        .with_linger(Some(Duration::from_millis(10)))
        .with_batch_size(2);
    let log = AuditLog::open_opts(&Storage::memory(), opts).await.unwrap();
    for i in 0..5 {
        log.record(ev("bg", Action::Read, "model:m", i));
    }
    for _ in 0..200 {
        if log.pending() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(log.pending(), 0);
    assert_eq!(log.query(&AuditQuery::new()).await.unwrap().len(), 5);
}

#[tokio::test]
async fn query_and_export() {
    let log = AuditLog::open_opts(&Storage::memory(), manual())
        .await
        .unwrap();
    let t = |h| Utc.with_ymd_and_hms(2026, 11, 29, h, 0, 0).unwrap();
    log.record(ev("alice", Action::Write, "model:fraud-a", 1).with_time(t(1)));
    log.record(
        AuditEvent::new(
            &Principal::user("alice"),
            Action::Promote,
            "model:fraud-a@production".parse().unwrap(),
            Outcome::Denied,
        )
        .with_time(t(2)),
    );
    log.record(ev("bob", Action::Promote, "model:fraud-a@production", 3).with_time(t(3)));
    log.record(ev("ci", Action::Materialize, "feature_view:payments/txn", 4).with_time(t(4)));
    log.record(
        AuditEvent::new(
            &Principal::service("ci"),
            Action::Write,
            ResourceRef::new(crate::ResourceKind::Model, "churn"),
            Outcome::Failed(ErrorKind::Conflict),
        )
        .with_request(b"req")
        .with_time(t(5)),
    );
    log.flush().await.unwrap();
    let seqs = |v: Vec<AuditEvent>| v.iter().map(|e| e.seq).collect::<Vec<_>>();
    let q = AuditQuery::new();
    assert_eq!(
        seqs(log.query(&q.clone().with_principal("alice")).await.unwrap()),
        [1, 2]
    );
    assert_eq!(
        seqs(
            log.query(&q.clone().with_resource("model:fraud-*".parse().unwrap()))
                .await
                .unwrap()
        ),
        [1, 2, 3]
    );
    assert_eq!(
        seqs(
            log.query(&q.clone().with_resource("*:*@production".parse().unwrap()))
                .await
                .unwrap()
        ),
        [2, 3]
    );
    assert_eq!(
        seqs(
            log.query(&q.clone().with_action(Action::Promote))
                .await
                .unwrap()
        ),
        [2, 3]
    );
    assert_eq!(
        seqs(
            log.query(&q.clone().with_outcome(Outcome::Denied))
                .await
                .unwrap()
        ),
        [2]
    );
    assert_eq!(
        seqs(
            log.query(&q.clone().with_time_range(t(2), t(4)))
                .await
                .unwrap()
        ),
        [2, 3]
    );
    let failed = log
        .query(&q.clone().with_outcome(Outcome::Failed(ErrorKind::Conflict)))
        .await
        .unwrap();
    assert_eq!(failed[0].request_digest, crate::Digest::of(b"req"));

    let mut out = Vec::new();
    let n = log.export_jsonl(&q, &mut out).await.unwrap();
    assert_eq!(n, 5);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[1]["principal"], "alice");
    assert_eq!(lines[1]["outcome"], "denied");
    assert_eq!(lines[4]["outcome"], "failed:conflict");
    assert_eq!(lines[1]["prev_hash"], lines[0]["hash"]);
    assert_eq!(lines[0]["prev_hash"], format!("blake3:{}", "0".repeat(64)));
    assert_eq!(lines[0]["resource"]["kind"], "model");
    let rec: AuditRecord = serde_json::from_str(text.lines().nth(2).unwrap()).unwrap();
    assert_eq!(rec.event.seq, 3);
}

#[tokio::test]
async fn failed_commit_keeps_events_queued() {
    // A storage whose segment directory cannot be created: a file sits where it goes.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("segments"), b"not a dir").unwrap();
    let s = Storage::from_url(dir.path().to_str().unwrap()).unwrap();
    let log = AuditLog::open_opts(&s, manual()).await.unwrap();
    log.record(ev("a", Action::Write, "model:m", 0));
    log.record(ev("a", Action::Write, "model:m", 1));
    assert!(log.flush().await.is_err());
    assert_eq!(log.pending(), 2);
    std::fs::remove_file(dir.path().join("segments")).unwrap();
    log.flush().await.unwrap();
    assert_eq!(log.pending(), 0);
    let evs = log.query(&AuditQuery::new()).await.unwrap();
    assert_eq!(
        evs.iter()
            .map(|e| e.details["n"].as_str())
            .collect::<Vec<_>>(),
        ["0", "1"]
    );
    assert!(log.verify().await.unwrap().is_clean());
}

#[tokio::test]
async fn large_segments_verify_on_the_blocking_pool() {
    let s = Storage::memory();
    let log = AuditLog::open_opts(&s, manual()).await.unwrap();
    for seg in 0..3 {
        for i in 0..400 {
            log.record(ev("alice", Action::Write, "model:fraud", seg * 400 + i));
        }
        log.flush().await.unwrap();
    }
    let r = log.verify().await.unwrap();
    assert!(r.is_clean());
    assert!(
        r.bytes > 3 * 64 * 1024,
        "segments must take the parallel path"
    );
    assert_eq!((r.records, r.head.as_ref().unwrap().0), (1200, 1200));
    let mut lines = read_lines(&log, 2).await;
    let text = String::from_utf8(lines[150].clone()).unwrap();
    lines[150] = text.replace("\"write\"", "\"admin\"").into_bytes();
    write_lines(&s, &log, 2, lines).await;
    assert_eq!(broken(&log).await, at(2, 150, BreakReason::HashMismatch));
}

#[tokio::test]
async fn first_record_and_segment_boundary_deletions_are_detected() {
    // the very first record of the log
    let (s, log) = three_segments().await;
    let mut lines = read_lines(&log, 1).await;
    lines.remove(0);
    write_lines(&s, &log, 1, lines).await;
    let seq = BreakReason::SeqMismatch {
        expected: 1,
        found: 2,
    };
    assert_eq!(broken(&log).await, at(1, 0, seq));
    // the last record of a middle segment: the break shows at the next segment
    let (s, log) = three_segments().await;
    let mut lines = read_lines(&log, 1).await;
    lines.pop();
    write_lines(&s, &log, 1, lines).await;
    let seq = BreakReason::SeqMismatch {
        expected: 4,
        found: 5,
    };
    assert_eq!(broken(&log).await, at(2, 0, seq));
    // a whole segment emptied
    let (s, log) = three_segments().await;
    write_lines(&s, &log, 2, vec![]).await;
    let b = broken(&log).await;
    assert_eq!((b.segment, b.index), (2, 0));
    assert!(matches!(b.reason, BreakReason::Malformed(_)), "{b}");
}

#[tokio::test]
async fn swapped_segments_are_detected() {
    let (s, log) = three_segments().await;
    let (two, three) = (read_lines(&log, 2).await, read_lines(&log, 3).await);
    write_lines(&s, &log, 2, three).await;
    write_lines(&s, &log, 3, two).await;
    let seq = BreakReason::SeqMismatch {
        expected: 5,
        found: 9,
    };
    assert_eq!(broken(&log).await, at(2, 0, seq));
}

#[tokio::test]
async fn reorder_with_renumbered_seqs_breaks_the_hash() {
    // The attacker swaps two records and fixes their seq fields so the order reads
    // right: the edited JSON no longer matches its hash.
    let (s, log) = three_segments().await;
    let mut lines = read_lines(&log, 2).await;
    lines.swap(1, 2);
    for (i, l) in lines.iter_mut().enumerate().take(3).skip(1) {
        let text = String::from_utf8(l.clone()).unwrap();
        let wrong = if i == 1 { "\"seq\":7," } else { "\"seq\":6," };
        let right = format!("\"seq\":{},", 5 + i);
        *l = text.replace(wrong, &right).into_bytes();
    }
    write_lines(&s, &log, 2, lines).await;
    let b = broken(&log).await;
    assert_eq!((b.segment, b.index), (2, 1));
    assert!(
        matches!(
            b.reason,
            BreakReason::PrevMismatch | BreakReason::HashMismatch
        ),
        "{b}"
    );
}

#[tokio::test]
async fn tampered_checkpoints_are_detected() {
    // a checkpoint vouching for another hash at its seq
    let (s, log) = three_segments().await;
    let key = log.inner.checkpoints.key(1);
    let cp = s.store().get(&key).await.unwrap().bytes().await.unwrap();
    let mut cp: serde_json::Value = serde_json::from_slice(&cp).unwrap();
    assert_eq!(cp["seq"], 12);
    cp["hash"] = serde_json::json!(crate::Digest::of(b"forged").to_string());
    let bytes = serde_json::to_vec(&cp).unwrap();
    s.store()
        .put(&key, Bytes::from(bytes).into())
        .await
        .unwrap();
    assert_eq!(
        broken(&log).await,
        at(3, 3, BreakReason::CheckpointMismatch { checkpoint: 1 })
    );
    // an unreadable checkpoint
    let (s, log) = three_segments().await;
    let key = log.inner.checkpoints.key(1);
    s.store()
        .put(&key, Bytes::from_static(b"{not json").into())
        .await
        .unwrap();
    let b = broken(&log).await;
    assert!(
        matches!(b.reason, BreakReason::BadCheckpoint { checkpoint: 1, .. }),
        "{b}"
    );
}
