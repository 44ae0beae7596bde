//! What the embedded registry's hot paths cost in object-store calls, counted by a
//! wrapping store: creating a version is its files' blobs plus one record (no
//! listing, no manifest blob, no serving tree); resolving an alias is one read.
//! And the cached state still sees every change another handle makes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on failure by design

use async_trait::async_trait;
use futures::stream::BoxStream;
use mlops_core::object_store::path::Path as Key;
use mlops_core::object_store::{
    self, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use mlops_core::path::ArtifactPath;
use mlops_core::{ErrorKind, Principal, Storage};
use mlops_registry::{EmbeddedRegistry, ModelRegistry, NewModelVersion, RegistryExt};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

#[derive(Debug, Default)]
struct Counts {
    puts: AtomicUsize,
    gets: AtomicUsize,
    heads: AtomicUsize,
    lists: AtomicUsize,
    copies: AtomicUsize,
}

/// `(puts, gets, heads, lists, copies)` since the last call.
impl Counts {
    fn take(&self) -> (usize, usize, usize, usize, usize) {
        (
            self.puts.swap(0, Relaxed),
            self.gets.swap(0, Relaxed),
            self.heads.swap(0, Relaxed),
            self.lists.swap(0, Relaxed),
            self.copies.swap(0, Relaxed),
        )
    }
}

#[derive(Debug)]
struct Counting {
    inner: Arc<dyn ObjectStore>,
    counts: Arc<Counts>,
}

impl std::fmt::Display for Counting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for Counting {
    async fn put_opts(
        &self,
        location: &Key,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.counts.puts.fetch_add(1, Relaxed);
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &Key,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.counts.puts.fetch_add(1, Relaxed);
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(
        &self,
        location: &Key,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        if options.head {
            self.counts.heads.fetch_add(1, Relaxed);
        } else {
            self.counts.gets.fetch_add(1, Relaxed);
        }
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Key>>,
    ) -> BoxStream<'static, object_store::Result<Key>> {
        self.inner.delete_stream(locations)
    }
    fn list(&self, prefix: Option<&Key>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.counts.lists.fetch_add(1, Relaxed);
        self.inner.list(prefix)
    }
    fn list_with_offset(
        &self,
        prefix: Option<&Key>,
        offset: &Key,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.counts.lists.fetch_add(1, Relaxed);
        self.inner.list_with_offset(prefix, offset)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Key>) -> object_store::Result<ListResult> {
        self.counts.lists.fetch_add(1, Relaxed);
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(
        &self,
        from: &Key,
        to: &Key,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.counts.copies.fetch_add(1, Relaxed);
        self.inner.copy_opts(from, to, options).await
    }
}

fn counted(plain: &Storage) -> (EmbeddedRegistry, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let store = Arc::new(Counting {
        inner: plain.store().clone(),
        counts: counts.clone(),
    });
    let storage = Storage::from_store(store, "", plain.url()).unwrap();
    (EmbeddedRegistry::from_storage(storage), counts)
}

fn weights() -> ArtifactPath {
    ArtifactPath::new("model/weights.bin").unwrap()
}

fn with_bytes(i: u64) -> NewModelVersion {
    NewModelVersion::new(&Principal::service("ci"))
        .with_artifact(weights(), i.to_le_bytes().to_vec())
}

async fn hot_paths(plain: Storage) {
    let (reg, counts) = counted(&plain);
    let m = "fraud".parse().unwrap();
    let champion = "champion".parse().unwrap();
    reg.create_model(&m).await.unwrap();
    reg.create_version(&m, with_bytes(0)).await.unwrap(); // learns the next number
    counts.take();

    // metadata only: the freshness probe (one read of a missing key) and the record
    let v = reg
        .create_version(&m, NewModelVersion::new(&Principal::service("ci")))
        .await
        .unwrap();
    assert_eq!(v.version, 2);
    assert_eq!(counts.take(), (1, 1, 0, 0, 0), "metadata-only create");

    // one artifact: + the blob (HEAD for dedup, then its put); no manifest blob, no tree
    let v = reg.create_version(&m, with_bytes(3)).await.unwrap();
    assert_eq!(v.version, 3);
    assert_eq!(counts.take(), (2, 1, 1, 0, 0), "create with one artifact");

    // setting an alias lays out the serving tree (one copy per file) and appends one event
    reg.set_alias(&m, &champion, 3).await.unwrap();
    let (puts, _, _, lists, copies) = counts.take();
    assert_eq!((puts, lists, copies), (1, 0, 1), "set_alias");
    let tree = plain
        .path(&format!(
            "models/fraud/artifacts/{}/model/weights.bin",
            v.manifest_digest.to_hex()
        ))
        .unwrap();
    let got = plain
        .store()
        .get(&tree)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&got[..], &3u64.to_le_bytes());

    // resolving: the event after the cached fold is missing, the record is cached
    let first = reg.resolve_alias(&m, &champion).await.unwrap();
    counts.take();
    for _ in 0..10 {
        assert_eq!(reg.resolve_alias(&m, &champion).await.unwrap().version, 3);
    }
    assert_eq!(
        counts.take(),
        (0, 10, 0, 0, 0),
        "ten resolves, one read each"
    );
    assert_eq!(first.artifact_uri, v.artifact_uri);

    // a fresh handle reads the records it has not seen, still without listing twice
    let (cold, cold_counts) = counted(&plain);
    assert_eq!(cold.resolve_alias(&m, &champion).await.unwrap().version, 3);
    let (puts, gets, _, lists, _) = cold_counts.take();
    assert_eq!(puts, 0);
    assert!(lists <= 1, "{lists} listings for a cold resolve");
    assert!(gets <= 4, "{gets} reads for a cold resolve");

    // downloads verify: the bytes come back, a corrupted blob is an Integrity error
    let got = reg.get_artifact(&m, 3, &weights()).await.unwrap();
    assert_eq!(&got[..], &3u64.to_le_bytes());
    let blob = mlops_core::blob::BlobStore::new(&plain)
        .key(&v.artifacts.get("model/weights.bin").unwrap().digest);
    plain.store().put(&blob, "tampered".into()).await.unwrap();
    let e = reg.get_artifact(&m, 3, &weights()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity);
}

#[tokio::test]
async fn hot_path_costs_memory() {
    hot_paths(Storage::memory()).await;
}

#[tokio::test]
async fn hot_path_costs_file() {
    let dir = tempfile::tempdir().unwrap();
    hot_paths(Storage::from_url(&format!("file://{}/registry", dir.path().display())).unwrap())
        .await;
}

/// The one-read freshness check still sees every change made through another handle.
#[tokio::test]
async fn cached_state_follows_other_writers() {
    let storage = Storage::memory();
    let a = EmbeddedRegistry::from_storage(storage.clone());
    let b = EmbeddedRegistry::from_storage(storage.clone());
    let m = "fraud".parse().unwrap();
    let prod = "production".parse().unwrap();
    a.create_model(&m).await.unwrap();
    for i in 1..=3 {
        let v = a.create_version(&m, with_bytes(i)).await.unwrap();
        assert_eq!(v.version, i);
    }
    a.set_alias(&m, &prod, 1).await.unwrap();
    assert_eq!(b.resolve_alias(&m, &prod).await.unwrap().version, 1);
    // several events at once through a: b folds them all in on its next call
    a.set_alias(&m, &prod, 2).await.unwrap();
    a.update_version(
        &m,
        2,
        mlops_registry::VersionUpdate::default().description("two"),
    )
    .await
    .unwrap();
    a.set_alias(&m, &prod, 3).await.unwrap();
    let v = b.resolve_alias(&m, &prod).await.unwrap();
    assert_eq!(v.version, 3);
    assert_eq!(
        b.get_version(&m, 2).await.unwrap().description.as_deref(),
        Some("two")
    );
    // b creates the next version: numbers continue without a gap
    assert_eq!(
        b.create_version(&m, with_bytes(4)).await.unwrap().version,
        4
    );
    assert_eq!(
        a.create_version(&m, with_bytes(5)).await.unwrap().version,
        5
    );
    // a deletes the model: b's cached fold does not hide it
    a.delete_model(&m).await.unwrap();
    let e = b.resolve_alias(&m, &prod).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = b
        .create_version(&m, NewModelVersion::new(&Principal::service("late")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}
