//! The blob store on `memory://`, `file://` and `s3://` (moto): round trips, dedupe, tampering,
//! traversal, bounded memory for a 64 MiB file, empty inputs, and create races (memory and
//! file only: moto checks then writes without a lock, so it proves nothing about races).

// Test code: a failed unwrap is a failed test (clippy's allow-unwrap-in-tests does not
// reach helper functions of integration tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bytes::Bytes;
use futures::TryStreamExt;
use mlops_core::blob::{
    BlobOptions, BlobRef, BlobStore, HashFirst, MIN_PART_SIZE, Manifest, Symlinks,
};
use mlops_core::object_store::ObjectStoreExt;
use mlops_core::{Digest, Error, ErrorKind, Storage};
use std::sync::Arc;
use support::{Counting, Stats, chunks};

const MIB: usize = 1024 * 1024;

/// A storage for one test, plus whatever must outlive it.
struct Env {
    storage: Storage,
    _dir: Option<tempfile::TempDir>,
}

async fn memory() -> Option<Env> {
    Some(Env {
        storage: Storage::from_url("memory://bucket/pre").unwrap(),
        _dir: None,
    })
}

async fn file() -> Option<Env> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}/store", dir.path().display());
    Some(Env {
        storage: Storage::from_url(&url).unwrap().child("pre").unwrap(),
        _dir: Some(dir),
    })
}

#[cfg(all(feature = "s3", feature = "conformance"))]
async fn s3() -> Option<Env> {
    use mlops_core::testkit;
    let url = testkit::server("MLOPS_TEST_MOTO_URL")?;
    let bucket = testkit::moto_bucket(&url, "mlops-blob-tests")
        .await
        .unwrap();
    Some(Env {
        storage: bucket.child(&testkit::namespace()).unwrap(),
        _dir: None,
    })
}

/// The same storage seen through a fresh counting wrapper.
fn counted(s: &Storage) -> (Storage, Arc<Stats>) {
    let c = Counting::new(s.store().clone());
    let stats = c.stats.clone();
    let wrapped = Storage::from_store(Arc::new(c), s.prefix().as_ref(), s.url()).unwrap();
    (wrapped, stats)
}

fn small_parts(s: &Storage) -> BlobStore {
    small_parts_with(s, HashFirst::Auto)
}

fn small_parts_with(s: &Storage, rule: HashFirst) -> BlobStore {
    let o = BlobOptions::default()
        .with_part_size(MIN_PART_SIZE)
        .with_max_inflight_parts(2)
        .with_hash_first(rule);
    BlobStore::with_options(s, o).unwrap()
}

async fn listed(b: &BlobStore) -> Vec<BlobRef> {
    let mut v: Vec<BlobRef> = b.list().try_collect().await.unwrap();
    v.sort();
    v
}

async fn staged(s: &Storage) -> usize {
    let p = s.path("staging").unwrap();
    let v: Vec<_> = s.store().list(Some(&p)).try_collect().await.unwrap();
    v.len()
}

fn stream_of(seed: u64, len: usize) -> impl futures::Stream<Item = mlops_core::Result<Bytes>> {
    futures::stream::iter(chunks(seed, len, MIB).map(Ok))
}

fn write_file(path: &std::path::Path, seed: u64, len: usize) -> Digest {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let mut h = blake3::Hasher::new();
    for c in chunks(seed, len, MIB) {
        h.update(&c);
        f.write_all(&c).unwrap();
    }
    Digest::from_hash(h.finalize())
}

fn assert_integrity(e: &Error, expected: &Digest, actual: &Digest) {
    assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
    match e {
        Error::Integrity {
            what,
            expected: exp,
            actual: act,
        } => {
            assert!(what.contains(&expected.to_hex()), "{what}");
            assert_eq!(exp, &expected.to_string());
            assert_eq!(act, &actual.to_string());
        }
        other => panic!("not an integrity error: {other:?}"),
    }
}

async fn round_trip(s: &Storage) {
    let b = BlobStore::new(s);
    let tmp = tempfile::tempdir().unwrap();

    let put = b.put_bytes("hello blob").await.unwrap();
    assert_eq!(put.digest, Digest::of(b"hello blob"));
    assert_eq!(put.size, 10);
    assert!(b.exists(&put.digest).await.unwrap());
    assert_eq!(b.size(&put.digest).await.unwrap(), 10);
    assert_eq!(&b.get_bytes(&put.digest).await.unwrap()[..], b"hello blob");
    let streamed: Vec<Bytes> = b
        .get(&put.digest)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.concat(), b"hello blob");
    assert_eq!(b.verify(&put.digest).await.unwrap(), put);

    // A stream and a reader of the same content give the same blob.
    let parts = vec![Ok(Bytes::from("hello ")), Ok(Bytes::from("blob"))];
    assert_eq!(
        b.put_stream(futures::stream::iter(parts)).await.unwrap(),
        put
    );
    assert_eq!(b.put_reader(&b"hello blob"[..]).await.unwrap(), put);

    // A file, small and multipart.
    let f = tmp.path().join("small.txt");
    std::fs::write(&f, b"hello blob").unwrap();
    assert_eq!(b.put_file(&f).await.unwrap(), put);
    let big = small_parts(s);
    let fb = tmp.path().join("big.bin");
    let want = write_file(&fb, 7, 11 * MIB + 3);
    let got = big.put_file(&fb).await.unwrap();
    assert_eq!(got.digest, want);
    assert_eq!(got.size, (11 * MIB + 3) as u64);
    let out = tmp.path().join("out/big.bin");
    assert_eq!(big.get_file(&got.digest, &out).await.unwrap(), got);
    assert_eq!(mlops_core::blob::hash_file(&out).unwrap(), got);
    // Both large-file strategies, on fresh content each.
    let mut more = Vec::new();
    for (seed, rule) in [(21, HashFirst::Always), (22, HashFirst::Never)] {
        let f = tmp.path().join(format!("big-{seed}.bin"));
        let want = write_file(&f, seed, 7 * MIB + 1);
        let put = small_parts_with(s, rule).put_file(&f).await.unwrap();
        assert_eq!(
            (put.digest, put.size),
            (want, (7 * MIB + 1) as u64),
            "{rule:?}"
        );
        assert_eq!(big.verify(&want).await.unwrap(), put);
        more.push(put);
    }
    // A stream longer than a part goes through staging and leaves nothing there.
    let st = big.put_stream(stream_of(9, 6 * MIB)).await.unwrap();
    assert_eq!(st.size, (6 * MIB) as u64);
    assert_eq!(big.verify(&st.digest).await.unwrap(), st);
    assert_eq!(staged(s).await, 0);

    // Empty content.
    let e = b.put_bytes(Bytes::new()).await.unwrap();
    assert_eq!((e.digest, e.size), (Digest::of(b""), 0));
    assert!(b.get_bytes(&e.digest).await.unwrap().is_empty());
    let ef = tmp.path().join("empty");
    std::fs::write(&ef, b"").unwrap();
    assert_eq!(b.put_file(&ef).await.unwrap(), e);
    assert_eq!(b.put_stream(futures::stream::empty()).await.unwrap(), e);
    let eo = tmp.path().join("empty.out");
    b.get_file(&e.digest, &eo).await.unwrap();
    assert_eq!(std::fs::metadata(&eo).unwrap().len(), 0);

    let mut all = vec![put, got, st, e, more[0], more[1]];
    all.sort();
    assert_eq!(listed(&b).await, all);
}

async fn dedupe(s: &Storage) {
    let (cs, stats) = counted(s);
    let b = small_parts(&cs);
    let tmp = tempfile::tempdir().unwrap();

    let first = b.put_bytes("same").await.unwrap();
    assert_eq!(stats.writes(), 1);
    assert_eq!(b.put_bytes("same").await.unwrap(), first);
    let f = tmp.path().join("same");
    std::fs::write(&f, b"same").unwrap();
    assert_eq!(b.put_file(&f).await.unwrap(), first);
    assert_eq!(stats.writes(), 1, "a stored blob is not written again");

    // A large file hashed first: the second upload does not happen at all.
    let big = tmp.path().join("big");
    write_file(&big, 3, 6 * MIB);
    let first_hash = small_parts_with(&cs, HashFirst::Always);
    let one = first_hash.put_file(&big).await.unwrap();
    let after_first = stats.writes();
    let parts = stats.get(&stats.parts);
    assert_eq!(first_hash.put_file(&big).await.unwrap(), one);
    assert_eq!(stats.writes(), after_first);
    assert_eq!(stats.get(&stats.parts), parts);
    // In one pass it is staged, then dropped.
    let one_pass = small_parts_with(&cs, HashFirst::Never);
    assert_eq!(one_pass.put_file(&big).await.unwrap(), one);
    assert_eq!(staged(s).await, 0);

    // A large stream of the same content is staged (its digest comes last), then dropped.
    assert_eq!(b.put_stream(stream_of(3, 6 * MIB)).await.unwrap(), one);
    assert_eq!(staged(s).await, 0);
    let mut want = vec![first, one];
    want.sort();
    assert_eq!(listed(&b).await, want, "one object per content");
}

async fn tampered(s: &Storage) {
    let b = BlobStore::new(s);
    let put = b.put_bytes("original").await.unwrap();
    let key = b.key(&put.digest);
    s.store().put(&key, "tampered".into()).await.unwrap();
    let actual = Digest::of(b"tampered");

    assert_integrity(
        &b.get_bytes(&put.digest).await.unwrap_err(),
        &put.digest,
        &actual,
    );
    assert_integrity(
        &b.verify(&put.digest).await.unwrap_err(),
        &put.digest,
        &actual,
    );
    let mut reader = b.get(&put.digest).await.unwrap();
    let mut last = None;
    while let Some(item) = futures::StreamExt::next(&mut reader).await {
        last = Some(item);
    }
    assert_integrity(&last.unwrap().unwrap_err(), &put.digest, &actual);

    // Download: no file at the destination, no temporary file left beside it.
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out.bin");
    let e = b.get_file(&put.digest, &dest).await.unwrap_err();
    assert_integrity(&e, &put.digest, &actual);
    assert!(!dest.exists());
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);

    // An existing file at the destination is left as it was.
    std::fs::write(&dest, b"keep").unwrap();
    assert!(b.get_file(&put.digest, &dest).await.is_err());
    assert_eq!(std::fs::read(&dest).unwrap(), b"keep");

    // A tampered file inside a directory download.
    let mut m = Manifest::new();
    m.insert("a/file".parse().unwrap(), put).unwrap();
    let root = b.put_manifest(&m).await.unwrap();
    let out = tmp.path().join("tree");
    let e = b.get_dir(&root.digest, &out).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity);
    assert!(!out.join("a/file").exists());
}

async fn traversal(s: &Storage) {
    let b = BlobStore::new(s);
    let content = b.put_bytes("x").await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for bad in ["../x", "a/../../x", "/etc/passwd", "a/./b"] {
        let json = format!(
            r#"{{"version":1,"files":{{"ok.txt":{{"digest":"{d}","size":1}},{p}:{{"digest":"{d}","size":1}}}}}}"#,
            d = content.digest,
            p = serde_json::to_string(bad).unwrap()
        );
        let evil = b.put_bytes(json).await.unwrap();
        let e = b.get_manifest(&evil.digest).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}: {e}");
        let dest = tmp.path().join("dest");
        let e = b.get_dir(&evil.digest, &dest).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}: {e}");
        assert!(!dest.exists(), "nothing written for {bad}");
    }
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

async fn directory(s: &Storage) {
    let (cs, stats) = counted(s);
    // Hashing first makes a repeated upload write nothing at all (checked below).
    let b = small_parts_with(&cs, HashFirst::Always);
    let src = tempfile::tempdir().unwrap();
    let p = src.path();
    std::fs::create_dir_all(p.join("sub/deeper")).unwrap();
    std::fs::create_dir_all(p.join("empty-dir")).unwrap();
    std::fs::write(p.join("a.txt"), b"alpha").unwrap();
    std::fs::write(p.join("sub/deeper/empty.txt"), b"").unwrap();
    let mid = write_file(&p.join("sub/b.bin"), 11, MIB);
    let big = write_file(&p.join("sub/large.bin"), 12, 6 * MIB);

    let (root, m) = b.put_dir(p).await.unwrap();
    assert_eq!(root.digest, m.digest());
    let names: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "a.txt",
            "sub/b.bin",
            "sub/deeper/empty.txt",
            "sub/large.bin"
        ]
    );
    assert_eq!(m.get("a.txt").unwrap().digest, Digest::of(b"alpha"));
    assert_eq!(m.get("sub/b.bin").unwrap().digest, mid);
    assert_eq!(m.get("sub/large.bin").unwrap().digest, big);
    assert_eq!(m.total_size(), (5 + MIB + 6 * MIB) as u64);
    assert_eq!(b.get_manifest(&root.digest).await.unwrap(), m);

    // Again: same root, nothing written.
    let writes = stats.writes();
    assert_eq!(b.put_dir(p).await.unwrap().0, root);
    assert_eq!(stats.writes(), writes);

    let dst = tempfile::tempdir().unwrap();
    let out = dst.path().join("checkout");
    assert_eq!(b.get_dir(&root.digest, &out).await.unwrap(), m);
    for (rel, blob) in m.iter() {
        let local = out.join(rel.as_str());
        assert_eq!(mlops_core::blob::hash_file(&local).unwrap(), *blob, "{rel}");
    }
    assert_eq!(std::fs::read(out.join("a.txt")).unwrap(), b"alpha");

    // An empty directory is an empty manifest, and checks out as an empty directory.
    let empty = tempfile::tempdir().unwrap();
    let (eroot, em) = b.put_dir(empty.path()).await.unwrap();
    assert!(em.is_empty());
    assert_eq!(eroot.digest, Manifest::new().digest());
    let eout = dst.path().join("empty-out");
    b.get_dir(&eroot.digest, &eout).await.unwrap();
    assert!(eout.is_dir());
    assert_eq!(std::fs::read_dir(&eout).unwrap().count(), 0);
}

/// A 64 MiB file and a 64 MiB stream, moved with 5 MiB parts and at most 2 in flight: the
/// wrapper sees no payload above one part and never more than two parts' bytes at once.
async fn large_bounded(s: &Storage) {
    const LEN: usize = 64 * MIB;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("big.bin");
    let want = write_file(&path, 42, LEN);
    let parts = LEN.div_ceil(MIN_PART_SIZE) as u64;

    let (cs, stats) = counted(s);
    let b = small_parts_with(&cs, HashFirst::Never);
    let put = b.put_file(&path).await.unwrap();
    assert_eq!((put.digest, put.size), (want, LEN as u64));
    assert_eq!(stats.get(&stats.parts), parts);
    assert!(stats.get(&stats.max_payload) <= MIN_PART_SIZE as u64);
    assert!(stats.get(&stats.peak_inflight) <= 2 * MIN_PART_SIZE as u64);
    assert_eq!(stats.get(&stats.puts), 0, "no single-request upload");

    // Hashed first, then uploaded straight to the blob key (other content).
    let other = tmp.path().join("other.bin");
    let other_want = write_file(&other, 43, LEN);
    let (cs, stats) = counted(s);
    let b = small_parts_with(&cs, HashFirst::Always);
    let put2 = b.put_file(&other).await.unwrap();
    assert_eq!(put2.digest, other_want);
    assert_eq!(stats.get(&stats.parts), parts);
    assert_eq!(stats.get(&stats.copies), 0, "no staging for a known digest");
    assert!(stats.get(&stats.max_payload) <= MIN_PART_SIZE as u64);
    assert!(stats.get(&stats.peak_inflight) <= 2 * MIN_PART_SIZE as u64);

    let (cs, stats) = counted(s);
    let b = small_parts(&cs);
    let st = b.put_stream(stream_of(42, LEN)).await.unwrap();
    assert_eq!(st, put);
    assert_eq!(stats.get(&stats.parts), parts);
    assert!(stats.get(&stats.max_payload) <= MIN_PART_SIZE as u64);
    assert!(stats.get(&stats.peak_inflight) <= 2 * MIN_PART_SIZE as u64);
    assert_eq!(staged(s).await, 0);
    let mut want = vec![put, put2];
    want.sort();
    assert_eq!(listed(&b).await, want);

    let out = tmp.path().join("back.bin");
    assert_eq!(b.get_file(&put.digest, &out).await.unwrap(), put);
    assert_eq!(mlops_core::blob::hash_file(&out).unwrap(), put);
}

/// 16 concurrent puts of the same content (bytes, stream, file each way): all succeed, one
/// object stored, nothing staged.
async fn race(s: &Storage) {
    let (cs, stats) = counted(s);
    let s = &cs;
    let b = small_parts(s);
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("big");
    write_file(&f, 77, 6 * MIB);

    let small = futures::future::join_all((0..16).map(|_| {
        let b = b.clone();
        tokio::spawn(async move { b.put_bytes("raced").await })
    }))
    .await;
    // Exactly one create-if-absent won; the others found the blob or lost the race.
    assert_eq!(stats.get(&stats.created), 1);
    let streams = futures::future::join_all((0..16).map(|_| {
        let b = b.clone();
        tokio::spawn(async move { b.put_stream(stream_of(77, 6 * MIB)).await })
    }))
    .await;
    // Each staged stream is published with copy-if-not-exists: again exactly one winner.
    assert_eq!(stats.get(&stats.created), 2);
    let files = futures::future::join_all((0..32).map(|i| {
        let rule = [HashFirst::Always, HashFirst::Never][i % 2];
        let b = small_parts_with(s, rule);
        let f = f.clone();
        tokio::spawn(async move { b.put_file(&f).await })
    }))
    .await;
    assert_eq!(
        stats.get(&stats.created),
        2,
        "the file content was stored already"
    );
    let small: Vec<BlobRef> = small.into_iter().map(|r| r.unwrap().unwrap()).collect();
    let big: Vec<BlobRef> = streams
        .into_iter()
        .chain(files)
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert!(small.iter().all(|r| *r == small[0]));
    assert!(big.iter().all(|r| *r == big[0]));
    let mut want = vec![small[0], big[0]];
    want.sort();
    assert_eq!(listed(&b).await, want);
    assert_eq!(staged(s).await, 0);
    assert_eq!(b.verify(&big[0].digest).await.unwrap(), big[0]);
}

macro_rules! backend {
    ($name:ident, $make:expr, [$($check:ident),*]) => {
        mod $name {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let Some(env) = $make.await else { return };
                    super::$check(&env.storage).await;
                }
            )*
        }
    };
}

backend!(
    on_memory,
    memory(),
    [
        round_trip,
        dedupe,
        tampered,
        traversal,
        directory,
        large_bounded,
        race
    ]
);
backend!(
    on_file,
    file(),
    [
        round_trip,
        dedupe,
        tampered,
        traversal,
        directory,
        large_bounded,
        race
    ]
);
#[cfg(all(feature = "s3", feature = "conformance"))]
backend!(
    on_s3,
    s3(),
    [
        round_trip,
        dedupe,
        tampered,
        traversal,
        directory,
        large_bounded
    ]
);

#[tokio::test]
async fn file_store_holds_only_blobs_after_races() {
    let env = file().await.unwrap();
    race(&env.storage).await;
    // No stray staging or temporary files anywhere in the store's directory.
    let root = env._dir.as_ref().unwrap().path().join("store");
    let mut files = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                files.push(e.path());
            }
        }
    }
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| f.to_string_lossy().contains("/pre/blobs/"))
    );
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_are_refused_or_skipped_never_followed() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), b"secret").unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("f"), b"f").unwrap();
    std::os::unix::fs::symlink(outside.path(), src.path().join("dir-link")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret"), src.path().join("file-link"))
        .unwrap();

    let s = Storage::memory();
    let e = BlobStore::new(&s).put_dir(src.path()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert!(
        listed(&BlobStore::new(&s)).await.is_empty(),
        "nothing stored"
    );

    let skip = BlobOptions::default().with_symlinks(Symlinks::Skip);
    let b = BlobStore::with_options(&s, skip).unwrap();
    let (_, m) = b.put_dir(src.path()).await.unwrap();
    assert_eq!(m.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["f"]);
    assert!(b.exists(&Digest::of(b"f")).await.unwrap());
    assert!(!b.exists(&Digest::of(b"secret")).await.unwrap());
}

#[cfg(unix)]
#[tokio::test]
async fn checkout_refuses_links_in_the_destination() {
    let b = BlobStore::new(&Storage::memory());
    let blob = b.put_bytes("payload").await.unwrap();
    let mut m = Manifest::new();
    m.insert("model/w.bin".parse().unwrap(), blob).unwrap();
    let outside = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dest.path().join("model")).unwrap();
    let e = b.checkout(&m, dest.path()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn put_file_refuses_directories_and_reports_missing_files() {
    let b = BlobStore::new(&Storage::memory());
    let d = tempfile::tempdir().unwrap();
    assert_eq!(
        b.put_file(d.path()).await.unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        b.put_file(d.path().join("missing"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let e = b.put_dir(d.path().join("missing")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn a_failing_stream_stores_nothing() {
    let s = Storage::memory();
    let b = small_parts(&s);
    let good = chunks(5, 7 * MIB, MIB).map(Ok);
    let bad = std::iter::once(Err(Error::backend("source", "broken pipe")));
    let e = b
        .put_stream(futures::stream::iter(good.chain(bad)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Backend);
    assert!(listed(&b).await.is_empty());
    assert_eq!(staged(&s).await, 0);
}
