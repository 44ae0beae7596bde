use super::*;

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

fn pending(p: &LocalPublisher) -> usize {
    guard(&p.shared.pending).count
}

/// A directory on tmpfs (not journaled), when the machine has one.
fn tmpfs_dir() -> Option<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    (cfg!(target_os = "linux") && shm.is_dir()).then(|| tempfile::tempdir_in(shm).unwrap())
}

#[tokio::test]
async fn creates_in_order_skips_taken_numbers_and_leaves_no_staging() {
    let disk = tempfile::tempdir().unwrap();
    let shm = tmpfs_dir();
    let mut roots = vec![disk.path().to_path_buf()];
    roots.extend(shm.as_ref().map(|d| d.path().to_path_buf()));
    for root in roots {
        for d in [
            Durability::Flush,
            Durability::Deferred {
                within: Durability::WINDOW,
            },
            Durability::Off,
        ] {
            let w = LocalPublisher::new(root.clone(), d);
            let key_dir = format!("runs/{d:?}/metrics").replace([' ', '{', '}', ':'], "_");
            assert_eq!(w.create(&key_dir, 1, "a".into()).await.unwrap(), 1);
            assert_eq!(w.create(&key_dir, 2, "b".into()).await.unwrap(), 2);
            // a stale hint: 1 and 2 are taken, so the listing jumps to 3
            assert_eq!(w.create(&key_dir, 1, "c".into()).await.unwrap(), 3);
            let dir = root.join(&key_dir);
            assert_eq!(
                names(&dir),
                vec![seq_name(1), seq_name(2), seq_name(3)],
                "no staging file left behind"
            );
            assert_eq!(std::fs::read(dir.join(seq_name(1))).unwrap(), b"a");
            assert_eq!(std::fs::read(dir.join(seq_name(3))).unwrap(), b"c");
            w.flush().await.unwrap();
            assert_eq!(pending(&w), 0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writers_each_get_their_own_number() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, d) in [
        Durability::Off,
        Durability::Deferred {
            within: Duration::from_millis(5),
        },
    ]
    .into_iter()
    .enumerate()
    {
        let w = LocalPublisher::new(tmp.path().to_path_buf(), d);
        let key_dir = format!("m{i}");
        let tasks: Vec<_> = (0..16)
            .map(|j| {
                let w = w.clone();
                let key_dir = key_dir.clone();
                tokio::spawn(async move {
                    w.create(&key_dir, 1, Bytes::from(format!("w{j}")))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut got = Vec::new();
        for t in tasks {
            got.push(t.await.unwrap());
        }
        got.sort_unstable();
        assert_eq!(got, (1..=16).collect::<Vec<_>>());
        let mut bodies: Vec<String> = (1..=16)
            .map(|s| std::fs::read_to_string(tmp.path().join(&key_dir).join(seq_name(s))).unwrap())
            .collect();
        bodies.sort();
        bodies.dedup();
        assert_eq!(bodies.len(), 16, "every payload exactly once");
    }
}

#[test]
fn a_stale_staging_file_is_stepped_over() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(format!("{}#1", seq_name(1))), b"old").unwrap();
    let (_, path) = open_staging(tmp.path(), 1, false).unwrap();
    assert!(path.to_string_lossy().ends_with("#2"));
}

#[test]
fn unjournaled_filesystems_sync_the_directory_and_never_defer() {
    let Some(shm) = tmpfs_dir() else { return };
    assert!(!journals_links(shm.path()));
    let flush = LocalPublisher::new(shm.path().into(), Durability::Flush);
    assert!(flush.syncs_directory());
    let deferred = LocalPublisher::new(
        shm.path().into(),
        Durability::Deferred {
            within: Durability::WINDOW,
        },
    );
    assert_eq!(
        deferred.durability(),
        Durability::Flush,
        "no ordered journal: flush per record"
    );
    assert!(!LocalPublisher::new(shm.path().into(), Durability::Off).syncs_directory());
    // a root that does not exist yet is probed through its nearest ancestor
    assert!(!journals_links(&shm.path().join("not/yet")));
}

#[tokio::test]
async fn deferred_records_are_visible_at_once_and_flushed_within_the_window() {
    let tmp = tempfile::tempdir().unwrap();
    if !journals_links(tmp.path()) {
        return; // deferral needs an ordered journal (ext4/XFS/btrfs)
    }
    let within = Duration::from_millis(30);
    let w = LocalPublisher::new(tmp.path().into(), Durability::Deferred { within });
    assert_eq!(w.durability(), Durability::Deferred { within });
    for i in 1..=5u64 {
        assert_eq!(
            w.create("d", 1, Bytes::from(vec![b'r'; 10])).await.unwrap(),
            i
        );
        // visible under its final name before any flush
        assert_eq!(
            std::fs::read(tmp.path().join("d").join(seq_name(i)))
                .unwrap()
                .len(),
            10
        );
    }
    // the flusher thread empties the queue within a few windows, without a barrier
    let t0 = std::time::Instant::now();
    while pending(&w) > 0 {
        assert!(t0.elapsed() < Duration::from_secs(10), "flusher never ran");
        std::thread::sleep(within);
    }
    // a barrier with nothing pending is a no-op; one with records flushes them itself
    w.flush().await.unwrap();
    let slow = LocalPublisher::new(
        tmp.path().into(),
        Durability::Deferred {
            within: Duration::from_secs(60),
        },
    );
    slow.create("d", 1, "x".into()).await.unwrap();
    assert_eq!(pending(&slow), 1);
    slow.flush().await.unwrap();
    assert_eq!(pending(&slow), 0);
}

#[tokio::test]
async fn a_full_queue_is_flushed_by_the_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let w = LocalPublisher::new(
        tmp.path().into(),
        Durability::Deferred {
            within: Duration::from_secs(60),
        },
    );
    if w.durability() == Durability::Flush {
        return;
    }
    for _ in 0..PENDING_MAX {
        w.create("q", 1, "x".into()).await.unwrap();
    }
    assert_eq!(
        pending(&w),
        0,
        "the writer that filled the queue flushed it"
    );
    w.create("q", 1, "x".into()).await.unwrap();
    assert_eq!(pending(&w), 1);
}

#[tokio::test]
async fn a_failed_background_flush_is_reported_by_the_next_call() {
    let tmp = tempfile::tempdir().unwrap();
    let w = LocalPublisher::new(tmp.path().into(), Durability::Off);
    *guard(&w.shared.failed) =
        Some("a deferred flush failed, records from /x on may not be durable".into());
    let err = w.create("f", 1, "x".into()).await.unwrap_err();
    assert!(err.to_string().contains("may not be durable"), "{err}");
    assert!(w.flush().await.is_err());
    assert!(
        !tmp.path().join("f").exists(),
        "nothing written after the failure"
    );
}

#[test]
fn durability_values_parse_or_name_the_bad_value() {
    assert_eq!(Durability::parse("off").unwrap(), Durability::Off);
    assert_eq!(
        Durability::parse("deferred").unwrap(),
        Durability::Deferred {
            within: Durability::WINDOW
        }
    );
    for bad in [
        "deferred:0ms",
        "deferred:70000ms",
        "deferred:5s",
        "sometimes",
        "",
    ] {
        let e = Durability::parse(bad).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{bad}");
        assert!(e.to_string().contains("durability"), "{e}");
    }
}
