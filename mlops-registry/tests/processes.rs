//! Many processes, one registry on `file://`: version numbers stay 1..n without
//! gaps or duplicates, and a process SIGKILLed mid-create leaves nothing visible.
//!
//! Children are this test binary re-executed with `MLOPS_REGISTRY_CHILD` set;
//! the same test function then runs the child's part and returns.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns panic on failure by design

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use mlops_core::object_store::path::Path as Key;
use mlops_core::object_store::{
    self, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use mlops_core::path::ArtifactPath;
use mlops_core::{ErrorKind, Principal, Storage};
use mlops_registry::{EmbeddedRegistry, ModelRegistry, NewModelVersion, RegistryExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHILD: &str = "MLOPS_REGISTRY_CHILD";
const URL: &str = "MLOPS_REGISTRY_TEST_URL";
const DIR: &str = "MLOPS_REGISTRY_TEST_DIR";
/// The children's `durability` option (ADR 0004); the parent picks it per test.
const DURABILITY: &str = "MLOPS_REGISTRY_TEST_DURABILITY";

#[allow(clippy::disallowed_methods)] // the child's instructions come from its environment
fn env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

fn spawn_child(test: &str, mode: &str, url: &str, dir: &Path) -> std::process::Child {
    spawn_child_with(test, mode, url, dir, "flush")
}

fn spawn_child_with(
    test: &str,
    mode: &str,
    url: &str,
    dir: &Path,
    durability: &str,
) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, mode)
        .env(DURABILITY, durability)
        .env(URL, url)
        .env(DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

fn model() -> mlops_core::name::ModelName {
    "fraud".parse().unwrap()
}

fn weights() -> ArtifactPath {
    ArtifactPath::new("model/weights.bin").unwrap()
}

/// The registry a child opens: the parent's URL and durability.
fn child_registry() -> EmbeddedRegistry {
    EmbeddedRegistry::builder()
        .with_url(env(URL).unwrap())
        .with_option("durability", env(DURABILITY).unwrap())
        .build()
        .unwrap()
}

/// The number a child printed as `VERSION=<n>`.
fn printed_version(stdout: Vec<u8>) -> u64 {
    let text = String::from_utf8(stdout).unwrap();
    // libtest prints "test name ... " on the same line before our output.
    let after = text
        .split("VERSION=")
        .nth(1)
        .unwrap_or_else(|| panic!("no VERSION= in {text:?}"));
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse::<u64>().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_processes_file() {
    sixteen_processes("sixteen_processes_file", "flush").await;
}

/// The same race with group-committed durability: allocation does not depend on flushes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_processes_file_deferred() {
    sixteen_processes("sixteen_processes_file_deferred", "deferred:20ms").await;
}

#[allow(clippy::print_stdout)] // the child reports its version to the parent on stdout
async fn sixteen_processes(test: &str, durability: &str) {
    if env(CHILD).as_deref() == Some("create") {
        // Child: wait for the start signal so all 16 race, then create one version.
        let dir = PathBuf::from(env(DIR).unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        while !dir.join("go").exists() {
            assert!(Instant::now() < deadline, "no start signal");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let reg = child_registry();
        let pid = std::process::id().to_string();
        let v = reg
            .create_version(
                &model(),
                NewModelVersion::new(&Principal::service("worker"))
                    .with_artifact(weights(), pid.clone().into_bytes())
                    .with_tag("writer", &pid),
            )
            .await
            .unwrap();
        println!("VERSION={}", v.version);
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("file://{}/registry", tmp.path().display());
    let reg = EmbeddedRegistry::builder().with_url(&url).build().unwrap();
    reg.create_model(&model()).await.unwrap();
    let children: Vec<_> = (0..16)
        .map(|_| spawn_child_with(test, "create", &url, tmp.path(), durability))
        .collect();
    std::fs::write(tmp.path().join("go"), b"").unwrap();
    let mut got = vec![];
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "child failed: {:?}", out.status);
        got.push(printed_version(out.stdout));
    }
    got.sort_unstable();
    assert_eq!(got, (1..=16).collect::<Vec<_>>(), "no gap, no duplicate");
    // each version holds the artifact its own writer uploaded
    let all = reg.all_versions(&model()).await.unwrap();
    assert_eq!(all.len(), 16);
    for v in &all {
        let bytes = reg
            .get_artifact(&model(), v.version, &weights())
            .await
            .unwrap();
        assert_eq!(String::from_utf8(bytes.to_vec()).unwrap(), v.tags["writer"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_tasks_memory_separate_handles() {
    // 16 registry handles (separate caches and sequence hints) over one store.
    let storage = Storage::memory();
    let first = EmbeddedRegistry::from_storage(storage.clone());
    first.create_model(&model()).await.unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let reg = EmbeddedRegistry::from_storage(storage.clone());
            tokio::spawn(async move {
                reg.create_version(
                    &model(),
                    NewModelVersion::new(&Principal::service("w")).with_tag("i", i.to_string()),
                )
                .await
                .unwrap()
                .version
            })
        })
        .collect();
    let mut got = vec![];
    for t in tasks {
        got.push(t.await.unwrap());
    }
    got.sort_unstable();
    assert_eq!(got, (1..=16).collect::<Vec<_>>());
    assert_eq!(first.latest_version(&model()).await.unwrap(), Some(16));
}

/// A store that hangs forever on the version record's put, after announcing it.
#[derive(Debug)]
struct HangOnVersionRecord {
    inner: Arc<dyn ObjectStore>,
    marker: PathBuf,
}

impl std::fmt::Display for HangOnVersionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HangOnVersionRecord({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for HangOnVersionRecord {
    async fn put_opts(
        &self,
        location: &Key,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if location.as_ref().contains("/versions/") {
            std::fs::write(&self.marker, b"").unwrap();
            loop {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        }
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &Key,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(
        &self,
        location: &Key,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Key>>,
    ) -> BoxStream<'static, object_store::Result<Key>> {
        self.inner.delete_stream(locations)
    }
    fn list(&self, prefix: Option<&Key>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Key>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(
        &self,
        from: &Key,
        to: &Key,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_create_leaves_nothing_and_retry_succeeds() {
    if env(CHILD).as_deref() == Some("hang") {
        let dir = PathBuf::from(env(DIR).unwrap());
        let plain = Storage::from_url(&env(URL).unwrap()).unwrap();
        let hanging = Arc::new(HangOnVersionRecord {
            inner: plain.store().clone(),
            marker: dir.join("paused"),
        });
        let storage = Storage::from_store(hanging, "", plain.url()).unwrap();
        let reg = EmbeddedRegistry::builder()
            .with_storage(storage)
            .build()
            .unwrap();
        let _ = reg
            .create_version(
                &model(),
                NewModelVersion::new(&Principal::service("doomed"))
                    .with_artifact(weights(), Bytes::from_static(b"half-made")),
            )
            .await;
        unreachable!("the parent kills this process while the record put hangs");
    }
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("file://{}/registry", tmp.path().display());
    let reg = EmbeddedRegistry::builder().with_url(&url).build().unwrap();
    reg.create_model(&model()).await.unwrap();
    let mut child = spawn_child(
        "sigkill_mid_create_leaves_nothing_and_retry_succeeds",
        "hang",
        &url,
        tmp.path(),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while !tmp.path().join("paused").exists() {
        assert!(
            Instant::now() < deadline,
            "child never reached the record put"
        );
        assert!(child.try_wait().unwrap().is_none(), "child exited early");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(!status.success());
    // The artifact blob was written, but no version is visible.
    let blob = tmp.path().join(format!(
        "registry/{}",
        mlops_core::blob::BlobStore::new(&Storage::memory())
            .key(&mlops_core::Digest::of(b"half-made"))
    ));
    assert!(blob.exists(), "the child got as far as its artifact blob");
    let e = reg.get_version(&model(), 1).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.to_string(), "model fraud has no version 1");
    assert!(reg.all_versions(&model()).await.unwrap().is_empty());
    assert_eq!(reg.latest_version(&model()).await.unwrap(), None);
    // A retry gets version 1 and reads back its bytes.
    let v = reg
        .create_version(
            &model(),
            NewModelVersion::new(&Principal::service("retry"))
                .with_artifact(weights(), Bytes::from_static(b"half-made")),
        )
        .await
        .unwrap();
    assert_eq!(v.version, 1);
    let got = reg.get_artifact(&model(), 1, &weights()).await.unwrap();
    assert_eq!(&got[..], b"half-made");
}

/// Deferred durability: a version is safe from a killed process the moment its
/// create returns, before any flush (the child's window is a minute; it is
/// SIGKILLed right after printing its version).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_after_a_deferred_create_loses_nothing() {
    if env(CHILD).as_deref() == Some("create-then-wait") {
        let reg = child_registry();
        let v = reg
            .create_version(
                &model(),
                NewModelVersion::new(&Principal::service("deferred"))
                    .with_artifact(weights(), Bytes::from_static(b"kept")),
            )
            .await
            .unwrap();
        println!("VERSION={}", v.version);
        use std::io::Write;
        std::io::stdout().flush().unwrap();
        std::fs::write(PathBuf::from(env(DIR).unwrap()).join("created"), b"").unwrap();
        tokio::time::sleep(Duration::from_secs(120)).await;
        unreachable!("the parent kills this process before its flush window ends");
    }
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("file://{}/registry", tmp.path().display());
    let reg = EmbeddedRegistry::builder().with_url(&url).build().unwrap();
    reg.create_model(&model()).await.unwrap();
    let mut child = spawn_child_with(
        "sigkill_after_a_deferred_create_loses_nothing",
        "create-then-wait",
        &url,
        tmp.path(),
        "deferred:60000ms",
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while !tmp.path().join("created").exists() {
        assert!(Instant::now() < deadline, "child never created its version");
        assert!(child.try_wait().unwrap().is_none(), "child exited early");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL on Unix, inside the child's flush window
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert_eq!(printed_version(out.stdout), 1);
    let v = reg.get_version(&model(), 1).await.unwrap();
    assert_eq!(v.creator, "deferred");
    let got = reg.get_artifact(&model(), 1, &weights()).await.unwrap();
    assert_eq!(&got[..], b"kept");
    let next = reg
        .create_version(&model(), NewModelVersion::new(&Principal::service("next")))
        .await
        .unwrap();
    assert_eq!(next.version, 2);
}
