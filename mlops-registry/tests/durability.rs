//! `file://` durability modes and the torn-record rule (ADR 0004).
//!
//! A crash while a change is being flushed can leave its record cut short. These
//! tests cut records the ways a crash can (empty, part-way, just before the end,
//! zero-filled) and check that readers treat them as absent, never reuse their
//! number, and still refuse a record that is corrupt rather than cut short.
//! The conformance suite also runs with group-committed (`deferred`) durability.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns panic on failure by design

use mlops_core::seq::local::Durability;
use mlops_core::{ErrorKind, Principal};
use mlops_registry::{
    EmbeddedRegistry, ModelRegistry, NewModelVersion, RegistryExt, VersionQuery, conformance,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn registry(dir: &Path, durability: Durability) -> EmbeddedRegistry {
    EmbeddedRegistry::builder()
        .with_url(format!("file://{}", dir.display()))
        .with_durability(durability)
        .build()
        .unwrap()
}

fn record_file(dir: &Path, kind: &str, n: u64) -> PathBuf {
    dir.join(format!("models/fraud/{kind}/{n:020}"))
}

fn model() -> mlops_core::name::ModelName {
    "fraud".parse().unwrap()
}

async fn three_versions(reg: &EmbeddedRegistry) {
    reg.create_model(&model()).await.unwrap();
    for i in 1..=3 {
        let nv = NewModelVersion::new(&Principal::service("ci"))
            .with_description(format!("version number {i} with some text"));
        assert_eq!(reg.create_version(&model(), nv).await.unwrap().version, i);
    }
}

/// The ways a crash can cut a record short on ext4/XFS (whole pages or nothing).
fn cuts(whole: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut zero_tail = whole[..whole.len() / 2].to_vec();
    zero_tail.resize(whole.len(), 0);
    vec![
        ("empty", vec![]),
        ("one byte", whole[..1].to_vec()),
        ("half", whole[..whole.len() / 2].to_vec()),
        ("all but the last byte", whole[..whole.len() - 1].to_vec()),
        ("zero-filled", vec![0; whole.len()]),
        ("half then zeros", zero_tail),
    ]
}

#[tokio::test]
async fn a_torn_newest_version_is_absent_and_its_number_never_reused() {
    let whole = {
        let tmp = tempfile::tempdir().unwrap();
        three_versions(&registry(tmp.path(), Durability::Flush)).await;
        std::fs::read(record_file(tmp.path(), "versions", 3)).unwrap()
    };
    for (how, cut) in cuts(&whole) {
        let tmp = tempfile::tempdir().unwrap();
        three_versions(&registry(tmp.path(), Durability::Flush)).await;
        std::fs::write(record_file(tmp.path(), "versions", 3), &cut).unwrap();
        // a fresh process reads the store as a crash left it
        let reg = registry(tmp.path(), Durability::Flush);
        let e = reg.get_version(&model(), 3).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{how}");
        assert_eq!(e.to_string(), "model fraud has no version 3", "{how}");
        let listed: Vec<u64> = reg
            .search_versions(&model(), &VersionQuery::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(|v| v.version)
            .collect();
        assert_eq!(listed, vec![1, 2], "{how}");
        assert_eq!(
            reg.latest_version(&model()).await.unwrap(),
            Some(2),
            "{how}"
        );
        assert_eq!(
            reg.get_model(&model()).await.unwrap().latest_version,
            Some(2),
            "{how}"
        );
        let v = reg
            .create_version(&model(), NewModelVersion::new(&Principal::service("ci")))
            .await
            .unwrap();
        assert_eq!(v.version, 4, "{how}: the torn number is not reused");
        assert_eq!(reg.get_version(&model(), 4).await.unwrap().version, 4);
    }
}

#[tokio::test]
async fn a_torn_newest_event_is_skipped_and_later_events_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registry(tmp.path(), Durability::Flush);
    three_versions(&reg).await;
    let champion = "champion".parse().unwrap();
    reg.set_alias(&model(), &champion, 2).await.unwrap();
    let events = std::fs::read_dir(tmp.path().join("models/fraud/events"))
        .unwrap()
        .count() as u64;
    let last = record_file(tmp.path(), "events", events);
    let whole = std::fs::read(&last).unwrap();
    assert!(String::from_utf8_lossy(&whole).contains("champion"));
    std::fs::write(&last, &whole[..whole.len() / 3]).unwrap();
    let reg = registry(tmp.path(), Durability::Flush);
    let e = reg.resolve_alias(&model(), &champion).await.unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::NotFound,
        "the torn alias event never happened"
    );
    reg.set_alias(&model(), &champion, 3).await.unwrap();
    assert_eq!(
        reg.resolve_alias(&model(), &champion)
            .await
            .unwrap()
            .version,
        3
    );
    assert!(record_file(tmp.path(), "events", events + 1).exists());
}

#[tokio::test]
async fn a_corrupt_record_is_an_error_not_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    three_versions(&registry(tmp.path(), Durability::Flush)).await;
    let path = record_file(tmp.path(), "versions", 2);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] = b'X'; // whole length, wrong content: not a crash's doing
    std::fs::write(&path, &bytes).unwrap();
    let reg = registry(tmp.path(), Durability::Flush);
    let e = reg.get_version(&model(), 2).await.unwrap_err();
    assert_ne!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("unreadable record fraud v2"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_file_deferred() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = registry(
        tmp.path(),
        Durability::Deferred {
            within: Duration::from_millis(20),
        },
    );
    assert_eq!(conformance::run_all(&reg).await.unwrap(), 12);
    conformance::concurrent_model_create(&reg, 8).await.unwrap();
    conformance::concurrent_versions(&reg, 16).await.unwrap();
    reg.flush().await.unwrap();
}

#[tokio::test]
async fn deferred_changes_are_visible_to_another_handle_before_any_flush() {
    let tmp = tempfile::tempdir().unwrap();
    let slow = Durability::Deferred {
        within: Duration::from_secs(60),
    };
    let writer = registry(tmp.path(), slow);
    three_versions(&writer).await;
    // another handle (as another process would) sees everything at once
    let reader = registry(tmp.path(), Durability::Flush);
    assert_eq!(reader.latest_version(&model()).await.unwrap(), Some(3));
    assert_eq!(reader.all_versions(&model()).await.unwrap().len(), 3);
    writer.flush().await.unwrap();
}

#[test]
fn durability_options_parse_and_bad_values_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("file://{}", tmp.path().display());
    let build = |k: &str, v: &str| {
        EmbeddedRegistry::builder()
            .with_url(&url)
            .with_option(k, v)
            .build()
    };
    assert_eq!(
        build("fsync", "false").unwrap().durability(),
        Some(Durability::Off)
    );
    assert_eq!(
        build("durability", "flush").unwrap().durability(),
        Some(Durability::Flush)
    );
    let e = build("durability", "eventually").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("eventually"), "{e}");
}

/// Events on disk, oldest first.
fn event_count(dir: &Path) -> u64 {
    std::fs::read_dir(dir.join("models/fraud/events"))
        .unwrap()
        .count() as u64
}

#[tokio::test]
async fn an_event_a_crash_lost_below_a_later_one_is_stepped_over() {
    // btrfs, or ext4 with fast commits, can persist a later event's file and lose an
    // earlier one whose call never returned: a hole. Simulated by deleting it.
    let tmp = tempfile::tempdir().unwrap();
    let reg = registry(tmp.path(), Durability::Flush);
    three_versions(&reg).await;
    let (a, b) = ("a".parse().unwrap(), "b".parse().unwrap());
    reg.set_alias(&model(), &a, 1).await.unwrap();
    reg.set_alias(&model(), &b, 2).await.unwrap();
    let n = event_count(tmp.path());
    std::fs::remove_file(record_file(tmp.path(), "events", n - 1)).unwrap(); // alias a lost
    // a fresh process folds past the hole
    let cold = registry(tmp.path(), Durability::Flush);
    assert_eq!(cold.resolve_alias(&model(), &b).await.unwrap().version, 2);
    assert_eq!(
        cold.resolve_alias(&model(), &a).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // a process that had folded up to the hole steps over it once it writes past it
    let warm = registry(tmp.path(), Durability::Flush);
    warm.set_alias(&model(), &a, 3).await.unwrap();
    assert_eq!(warm.resolve_alias(&model(), &a).await.unwrap().version, 3);
    assert_eq!(warm.resolve_alias(&model(), &b).await.unwrap().version, 2);
    assert_eq!(cold.resolve_alias(&model(), &a).await.unwrap().version, 3);
    assert_eq!(
        event_count(tmp.path()),
        n,
        "the new event took the next number, not the hole"
    );
    assert!(!record_file(tmp.path(), "events", n - 1).exists());
}

/// A process that was already running when another one's event was lost (only a
/// crash loses one, and it stops every process on the machine; the test deletes the
/// file instead) may write its next event into the lost number: the fold still
/// reads every event in number order.
#[tokio::test]
async fn a_warm_process_may_fill_a_lost_number_and_still_reads_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let warm = registry(tmp.path(), Durability::Flush);
    three_versions(&warm).await;
    let champion = "champion".parse().unwrap();
    // `warm` has folded every event so far; another process then adds two
    let other = registry(tmp.path(), Durability::Flush);
    other
        .set_alias(&model(), &"x".parse().unwrap(), 1)
        .await
        .unwrap();
    other
        .set_alias(&model(), &"y".parse().unwrap(), 2)
        .await
        .unwrap();
    let n = event_count(tmp.path());
    std::fs::remove_file(record_file(tmp.path(), "events", n - 1)).unwrap(); // x lost in a crash
    // warm's write takes the lowest number it has not seen taken: the lost one
    warm.set_alias(&model(), &champion, 3).await.unwrap();
    assert!(record_file(tmp.path(), "events", n - 1).exists());
    assert_eq!(event_count(tmp.path()), n);
    assert_eq!(
        warm.resolve_alias(&model(), &champion)
            .await
            .unwrap()
            .version,
        3
    );
    assert_eq!(
        warm.resolve_alias(&model(), &"y".parse().unwrap())
            .await
            .unwrap()
            .version,
        2
    );
}
