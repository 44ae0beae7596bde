//! The embedded registry: in-process, over any object store URL.
//!
//! Layout below the storage prefix (every key is written once, create-only):
//!
//! | key | content |
//! |---|---|
//! | `models/<m>/events/<seq:020>` | one change to the model (create, update, alias, delete, ...) |
//! | `models/<m>/versions/<n:020>` | version `n`'s immutable record, written last |
//! | `blobs/<2 hex>/<64 hex>` | artifact files in core's blob store (verified reads) |
//! | `models/<m>/artifacts/<manifest-hex>/<path>` | the serving tree: server-side copies of the blobs, laid out when an alias first names the version |
//!
//! Version numbers are allocated by creating `versions/<n>` if absent
//! ([`SeqLog`]): concurrent writers, on one machine or many, get 1..n without
//! gaps or duplicates. Artifacts are written before the record, so a writer
//! killed mid-create leaves only unreferenced artifact bytes, never a visible
//! half-made version. The record carries the artifact manifest, so creating a
//! version writes its files' blobs and one record, nothing else.
//!
//! On a `file://` directory the version records and model events are written
//! by core's [`LocalPublisher`]: one flush per change by default, or flushes
//! grouped in the background with [`Durability::Deferred`] (see
//! [`EmbeddedRegistryBuilder::with_durability`]). A crash while a change is being
//! flushed can leave its record cut short; its call never returned (or was in
//! the deferred loss window), so readers treat such a record as absent: a torn
//! version is not found and never listed, a torn event is skipped, and the
//! number is never reused (`is_torn` says what counts as cut short).
//!
//! Mutable state is the fold of the event log; each process caches the fold.
//! The log has no gaps, so the cache is current exactly when the event after
//! its last one is absent: one read of that key (no listing) checks it, and
//! only new events are listed and read.

mod builder;
pub(crate) mod state;

pub use builder::{ENV_URL, EmbeddedRegistryBuilder};

use crate::artifacts::ArtifactStore;
use crate::error::{Error, Result};
use crate::registry::ModelRegistry;
use crate::types::{
    Capabilities, CreateModelOptions, ModelQuery, ModelUpdate, ModelVersion, NewModelVersion, Page,
    RegisteredModel, VersionQuery, VersionUpdate, check_page_size, validate_tags,
};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use mlops_core::name::{Alias, ModelName};
use mlops_core::object_store::ObjectStore;
use mlops_core::path::ArtifactPath;
use mlops_core::seq::SeqLog;
use mlops_core::seq::local::{Durability, LocalPublisher};
use mlops_core::{ErrorKind, Storage};
use state::{ModelEvent, ModelState, VersionRecord};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The backend name in errors and audit events.
pub const BACKEND: &str = "embedded";

/// Cached version records beyond this count are dropped (records are immutable,
/// so the cache is only about speed).
const RECORD_CACHE_MAX: usize = 100_000;

/// The embedded registry over an object store (`file://` by default, `memory://`
/// for tests, `s3://` and friends with their features).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_registry::Result<()> {
/// use mlops_registry::{EmbeddedRegistry, ModelRegistry, RegistryExt, NewModelVersion};
/// use mlops_core::Principal;
/// let reg = EmbeddedRegistry::builder().with_url("memory://").build()?;
/// let m = "fraud".parse()?;
/// reg.create_model(&m).await?;
/// let v = reg.create_version(&m, NewModelVersion::new(&Principal::user("ci"))).await?;
/// reg.set_alias(&m, &"champion".parse()?, v.version).await?;
/// assert_eq!(reg.resolve_alias(&m, &"champion".parse()?).await?.version, 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EmbeddedRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Storage,
    artifacts: ArtifactStore,
    states: Mutex<HashMap<ModelName, ModelState>>,
    records: Mutex<HashMap<(ModelName, u64), Arc<VersionRecord>>>,
    logs: Mutex<HashMap<String, Arc<SeqLog>>>,
    /// The `file://` writer for version records and events, if the storage is one.
    local: Option<LocalPublisher>,
}

impl std::fmt::Debug for EmbeddedRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedRegistry")
            .field("storage", &self.inner.storage)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for EmbeddedRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EmbeddedRegistry({})", self.inner.storage.url())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned cache only means another thread panicked mid-insert; the maps
    // hold no invariants beyond "entries are valid", so keep using them.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn corrupt(what: String, e: serde_json::Error) -> Error {
    mlops_core::Error::backend(BACKEND, format!("unreadable record {what}: {e}")).into()
}

impl EmbeddedRegistry {
    /// A builder.
    pub fn builder() -> EmbeddedRegistryBuilder {
        EmbeddedRegistryBuilder::new()
    }

    /// A registry over `storage` (its prefix is the registry root). A `file://`
    /// directory gets [`Durability::Flush`]; see [`EmbeddedRegistryBuilder`] for others.
    pub fn from_storage(storage: Storage) -> Self {
        Self::with_durability(storage, Durability::Flush)
    }

    pub(crate) fn with_durability(storage: Storage, durability: Durability) -> Self {
        Self {
            inner: Arc::new(Inner {
                local: LocalPublisher::for_storage(&storage, durability),
                artifacts: ArtifactStore::new(storage.clone()),
                storage,
                states: Mutex::default(),
                records: Mutex::default(),
                logs: Mutex::default(),
            }),
        }
    }

    /// The storage it lives on.
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// How durable a change is when its call returns on a `file://` directory
    /// (`None` on other stores, where every put is durable once acknowledged).
    ///
    /// ```
    /// use mlops_registry::EmbeddedRegistry;
    /// use mlops_core::seq::local::Durability;
    /// let dir = tempfile::tempdir().unwrap();
    /// let reg = EmbeddedRegistry::builder().with_url(format!("file://{}", dir.path().display()))
    ///     .build().unwrap();
    /// assert_eq!(reg.durability(), Some(Durability::Flush));
    /// let mem = EmbeddedRegistry::builder().with_url("memory://").build().unwrap();
    /// assert_eq!(mem.durability(), None);
    /// ```
    pub fn durability(&self) -> Option<Durability> {
        self.inner.local.as_ref().map(LocalPublisher::durability)
    }

    /// Makes every change made so far through this registry durable: the barrier
    /// for [`Durability::Deferred`] (a no-op otherwise).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_registry::Result<()> {
    /// use mlops_registry::{EmbeddedRegistry, ModelRegistry, RegistryExt, NewModelVersion};
    /// use mlops_core::{Principal, seq::local::Durability};
    /// let dir = tempfile::tempdir().unwrap();
    /// let reg = EmbeddedRegistry::builder()
    ///     .with_url(format!("file://{}", dir.path().display()))
    ///     .with_durability(Durability::Deferred { within: Durability::WINDOW })
    ///     .build()?;
    /// let m = "fraud".parse()?;
    /// reg.create_model(&m).await?;
    /// reg.create_version(&m, NewModelVersion::new(&Principal::user("ci"))).await?;
    /// reg.flush().await?; // the model and version 1 survive a power loss from here on
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A failed flush, naming the file.
    pub async fn flush(&self) -> Result<()> {
        match &self.inner.local {
            Some(p) => Ok(p.flush().await?),
            None => Ok(()),
        }
    }

    /// Lays out version `n`'s serving tree (the directory its `artifact_uri`
    /// names, what KServe's `storageUri` downloads) and returns its URI.
    /// [`set_alias`](ModelRegistry::set_alias) does this already, so every
    /// promoted version has its tree; call it to serve a version without an alias.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_registry::Result<()> {
    /// use mlops_core::{Principal, path::ArtifactPath};
    /// use mlops_core::object_store::ObjectStoreExt;
    /// use mlops_registry::{EmbeddedRegistry, ModelRegistry, NewModelVersion, RegistryExt};
    /// let reg = EmbeddedRegistry::builder().with_url("memory://").build()?;
    /// let m = "fraud".parse()?;
    /// reg.create_model(&m).await?;
    /// let nv = NewModelVersion::new(&Principal::user("ci"))
    ///     .with_artifact(ArtifactPath::new("model.bin")?, "w");
    /// let v = reg.create_version(&m, nv).await?;
    /// let uri = reg.lay_out_serving_tree(&m, v.version).await?;
    /// assert_eq!(uri, v.artifact_uri);
    /// let key = reg.storage().path(&format!("models/fraud/artifacts/{}/model.bin",
    ///     v.manifest_digest.to_hex()))?;
    /// let got = reg.storage().store().get(&key).await.unwrap().bytes().await.unwrap();
    /// assert_eq!(&got[..], b"w");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `ModelNotFound`, `VersionNotFound`; store failures.
    pub async fn lay_out_serving_tree(&self, name: &ModelName, n: u64) -> Result<String> {
        let v = self.get_version(name, n).await?;
        self.inner
            .artifacts
            .lay_out_tree(name, &v.artifacts)
            .await?;
        Ok(v.artifact_uri)
    }

    /// The object store key of version `n`'s record (for benchmarks and tools).
    ///
    /// # Errors
    /// Never for a valid model name.
    pub fn version_key(
        &self,
        name: &ModelName,
        n: u64,
    ) -> Result<mlops_core::object_store::path::Path> {
        Ok(self.log(name, "versions")?.key(n))
    }

    fn log(&self, name: &ModelName, kind: &str) -> Result<Arc<SeqLog>> {
        let dir = format!("models/{name}/{kind}");
        if let Some(l) = lock(&self.inner.logs).get(&dir) {
            return Ok(l.clone());
        }
        let mut l = SeqLog::new(&self.inner.storage, &dir)?;
        if let Some(p) = &self.inner.local {
            l = l.with_local(p.clone());
        }
        let l = Arc::new(l);
        Ok(lock(&self.inner.logs).entry(dir).or_insert(l).clone())
    }

    /// The model's state with every event up to now folded in.
    ///
    /// Costs one read when the cached fold is current: writers claim the lowest
    /// number they have not seen taken and events are never deleted, so while
    /// the machine stays up "event `last + 1` is absent" means no event after
    /// `last` exists. Only when it is present are the rest listed and read.
    ///
    /// A crash can leave a hole: on a filesystem whose `fsync` persists only the
    /// file it is given (btrfs, ext4 with fast commits) a later event can reach
    /// the disk while an earlier one, whose call never returned, does not. So a
    /// process's first fold lists the whole log (stepping over any hole), and a
    /// warm probe that misses below a number this process has seen taken lists
    /// past it too.
    async fn refresh(&self, name: &ModelName) -> Result<ModelState> {
        let log = self.log(name, "events")?;
        let mut st = lock(&self.inner.states)
            .get(name)
            .cloned()
            .unwrap_or_default();
        let next = st.last_seq + 1;
        let new = if st.last_seq == 0 {
            log.read_from(1).await?
        } else {
            match log.get(next).await {
                Ok(first) => {
                    let mut new = vec![(next, first)];
                    new.extend(log.read_from(next + 1).await?);
                    new
                }
                Err(e) if e.kind() == ErrorKind::NotFound && log.next_hint() > next + 1 => {
                    tracing::warn!(model = %name, seq = next, "stepping over an event a crash lost");
                    log.read_from(next + 1).await?
                }
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(st),
                Err(e) => return Err(e.into()),
            }
        };
        if new.is_empty() {
            return Ok(st);
        }
        for (seq, bytes) in new {
            match serde_json::from_slice::<ModelEvent>(&bytes) {
                Ok(ev) => st.apply(seq, ev),
                Err(e) if is_torn(&bytes, &e) => {
                    tracing::warn!(model = %name, seq, "skipping an event cut short by a crash");
                    st.last_seq = seq;
                }
                Err(e) => return Err(corrupt(format!("{name} event {seq}"), e)),
            }
        }
        let mut states = lock(&self.inner.states);
        if states.get(name).is_none_or(|s| s.last_seq < st.last_seq) {
            states.insert(name.clone(), st.clone());
        }
        Ok(st)
    }

    async fn live(&self, name: &ModelName) -> Result<ModelState> {
        let st = self.refresh(name).await?;
        if st.is_live() {
            Ok(st)
        } else {
            Err(Error::ModelNotFound {
                model: name.to_string(),
            })
        }
    }

    async fn append(&self, name: &ModelName, ev: &ModelEvent) -> Result<u64> {
        let bytes = serde_json::to_vec(ev).map_err(|e| corrupt(format!("{name} event"), e))?;
        Ok(self.log(name, "events")?.append(bytes.into()).await?)
    }

    async fn record(&self, name: &ModelName, n: u64) -> Result<Arc<VersionRecord>> {
        let key = (name.clone(), n);
        if let Some(r) = lock(&self.inner.records).get(&key) {
            return Ok(r.clone());
        }
        let bytes = match self.log(name, "versions")?.get(n).await {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::VersionNotFound {
                    model: name.to_string(),
                    version: n,
                });
            }
            Err(e) => return Err(e.into()),
        };
        let rec: Arc<VersionRecord> = match serde_json::from_slice(&bytes) {
            Ok(r) => Arc::new(r),
            Err(e) if is_torn(&bytes, &e) => {
                tracing::warn!(model = %name, version = n, "version record cut short by a crash: not found");
                return Err(Error::VersionNotFound {
                    model: name.to_string(),
                    version: n,
                });
            }
            Err(e) => return Err(corrupt(format!("{name} v{n}"), e)),
        };
        self.cache_record(key, rec.clone());
        Ok(rec)
    }

    fn cache_record(&self, key: (ModelName, u64), rec: Arc<VersionRecord>) {
        let mut c = lock(&self.inner.records);
        if c.len() >= RECORD_CACHE_MAX {
            c.clear();
        }
        c.insert(key, rec);
    }

    async fn version_in(&self, st: &ModelState, name: &ModelName, n: u64) -> Result<ModelVersion> {
        if n == 0 || st.is_deleted(n) {
            return Err(Error::VersionNotFound {
                model: name.to_string(),
                version: n,
            });
        }
        let rec = self.record(name, n).await?;
        Ok(st.version(name, n, &rec))
    }

    async fn live_versions(
        &self,
        st: &ModelState,
        name: &ModelName,
        from: u64,
    ) -> Result<Vec<u64>> {
        let from = from.max(st.deleted_upto + 1);
        let all = self.log(name, "versions")?.list_from(from).await?;
        Ok(all.into_iter().filter(|n| !st.is_deleted(*n)).collect())
    }

    /// The highest live version whose record is whole (a torn newest one is skipped).
    async fn latest_version(&self, st: &ModelState, name: &ModelName) -> Result<Option<u64>> {
        for n in self.live_versions(st, name, 1).await?.into_iter().rev() {
            match self.record(name, n).await {
                Ok(_) => return Ok(Some(n)),
                Err(Error::VersionNotFound { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }
}

/// Whether `bytes` is a JSON record cut short by a crash before its write
/// returned: empty, all zero bytes, or a document that ends early (with any
/// zero-filled tail removed). Any other decode error is corruption.
pub(crate) fn is_torn(bytes: &[u8], err: &serde_json::Error) -> bool {
    let end = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    if end == 0 {
        return true;
    }
    if end == bytes.len() {
        return err.is_eof();
    }
    serde_json::from_slice::<serde_json::Value>(&bytes[..end]).is_err_and(|e| e.is_eof())
}

fn parse_token(t: &Option<String>) -> Result<u64> {
    match t {
        None => Ok(0),
        Some(s) => s.parse().map_err(|_| {
            mlops_core::Error::invalid("page token", s.as_str(), "not a token from this registry")
                .into()
        }),
    }
}

#[async_trait]
impl ModelRegistry for EmbeddedRegistry {
    fn capabilities(&self) -> Capabilities {
        Capabilities::all()
    }

    fn uri(&self) -> String {
        self.inner.storage.url().to_string()
    }

    async fn create_model_opts(
        &self,
        name: &ModelName,
        opts: CreateModelOptions,
    ) -> Result<RegisteredModel> {
        validate_tags(opts.tags.keys())?;
        let exists = || Error::ModelExists {
            model: name.to_string(),
        };
        if self.refresh(name).await?.is_live() {
            return Err(exists());
        }
        let seq = self
            .append(
                name,
                &ModelEvent::Created {
                    description: opts.description,
                    tags: opts.tags,
                    at: Utc::now(),
                },
            )
            .await?;
        let st = self.refresh(name).await?;
        if st.created_seq != Some(seq) {
            return Err(exists()); // another writer created it first
        }
        let latest = self.latest_version(&st, name).await?;
        Ok(st.model(name, latest))
    }

    async fn get_model(&self, name: &ModelName) -> Result<RegisteredModel> {
        let st = self.live(name).await?;
        let latest = self.latest_version(&st, name).await?;
        Ok(st.model(name, latest))
    }

    async fn search_models(&self, query: &ModelQuery) -> Result<Page<RegisteredModel>> {
        check_page_size(query.page_size)?;
        let root = self.inner.storage.path("models")?;
        let listed = self
            .inner
            .storage
            .store()
            .list_with_delimiter(Some(&root))
            .await
            .map_err(|e| mlops_core::Error::store(&root, e))?;
        let mut names: Vec<ModelName> = listed
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename())
            .filter_map(|f| f.parse().ok())
            .filter(|n: &ModelName| {
                query
                    .name_prefix
                    .as_ref()
                    .is_none_or(|p| n.as_str().starts_with(p.as_str()))
            })
            .filter(|n| {
                query
                    .page_token
                    .as_ref()
                    .is_none_or(|t| n.as_str() > t.as_str())
            })
            .collect();
        names.sort();
        let mut items = vec![];
        let mut rest = names.into_iter();
        for n in rest.by_ref() {
            let m = match self.get_model(&n).await {
                Ok(m) => m,
                Err(Error::ModelNotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            if let Some((k, v)) = &query.tag
                && m.tags.get(k) != Some(v)
            {
                continue;
            }
            items.push(m);
            if items.len() == query.page_size {
                break;
            }
        }
        let next_page_token = match (rest.next(), items.last()) {
            (Some(_), Some(last)) => Some(last.name.to_string()),
            _ => None,
        };
        Ok(Page {
            items,
            next_page_token,
        })
    }

    async fn update_model(&self, name: &ModelName, update: ModelUpdate) -> Result<RegisteredModel> {
        validate_tags(update.set_tags.keys())?;
        self.live(name).await?;
        self.append(
            name,
            &ModelEvent::Updated {
                description: update.description,
                set_tags: update.set_tags,
                remove_tags: update.remove_tags,
                at: Utc::now(),
            },
        )
        .await?;
        self.get_model(name).await
    }

    async fn delete_model(&self, name: &ModelName) -> Result<()> {
        self.live(name).await?;
        let upto = self.log(name, "versions")?.head().await?.unwrap_or(0);
        self.append(
            name,
            &ModelEvent::Deleted {
                versions_upto: upto,
                at: Utc::now(),
            },
        )
        .await?;
        Ok(())
    }

    async fn create_version(&self, name: &ModelName, new: NewModelVersion) -> Result<ModelVersion> {
        new.validate()?;
        let st = self.live(name).await?;
        // Artifacts first: until the record below exists, nothing is visible. The
        // record holds the manifest; the serving tree waits for an alias.
        let artifacts = self.inner.artifacts.put_files(&new.artifacts).await?;
        let digest = artifacts.digest();
        let rec = VersionRecord {
            artifact_uri: self.inner.artifacts.uri(name, &digest),
            artifacts,
            manifest_digest: digest,
            lineage: new.lineage,
            signature: new.signature,
            metrics: new.metrics,
            description: new.description,
            tags: new.tags,
            creator: new.creator,
            created_at: Utc::now(),
        };
        let bytes =
            serde_json::to_vec(&rec).map_err(|e| corrupt(format!("{name} new version"), e))?;
        let n = self.log(name, "versions")?.append(bytes.into()).await?;
        let rec = Arc::new(rec);
        self.cache_record((name.clone(), n), rec.clone());
        Ok(st.version(name, n, &rec))
    }

    async fn get_version(&self, name: &ModelName, version: u64) -> Result<ModelVersion> {
        let st = self.live(name).await?;
        self.version_in(&st, name, version).await
    }

    async fn search_versions(
        &self,
        name: &ModelName,
        query: &VersionQuery,
    ) -> Result<Page<ModelVersion>> {
        check_page_size(query.page_size)?;
        let after = parse_token(&query.page_token)?;
        let st = self.live(name).await?;
        let nums = self.live_versions(&st, name, after + 1).await?;
        let mut items = vec![];
        let mut next_page_token = None;
        // Fetch records 16 at a time, in order, stopping once the page is full.
        let mut stream = futures::stream::iter(nums.iter().copied())
            .map(|n| async move {
                match self.record(name, n).await {
                    Ok(r) => Ok(Some((n, r))),
                    Err(Error::VersionNotFound { .. }) => Ok(None), // torn by a crash
                    Err(e) => Err(e),
                }
            })
            .buffered(16);
        while let Some(got) = stream.try_next().await? {
            let Some((n, rec)) = got else { continue };
            if items.len() == query.page_size {
                next_page_token = items.last().map(|v: &ModelVersion| v.version.to_string());
                break;
            }
            let v = st.version(name, n, &rec);
            if query.status.is_some_and(|s| s != v.status) {
                continue;
            }
            if let Some((k, val)) = &query.tag
                && v.tags.get(k) != Some(val)
            {
                continue;
            }
            items.push(v);
        }
        Ok(Page {
            items,
            next_page_token,
        })
    }

    async fn update_version(
        &self,
        name: &ModelName,
        version: u64,
        update: VersionUpdate,
    ) -> Result<ModelVersion> {
        validate_tags(update.set_tags.keys())?;
        let st = self.live(name).await?;
        self.version_in(&st, name, version).await?;
        self.append(
            name,
            &ModelEvent::VersionUpdated {
                version,
                update,
                at: Utc::now(),
            },
        )
        .await?;
        self.get_version(name, version).await
    }

    async fn delete_version(&self, name: &ModelName, version: u64) -> Result<()> {
        let st = self.live(name).await?;
        self.version_in(&st, name, version).await?;
        self.append(
            name,
            &ModelEvent::VersionDeleted {
                version,
                at: Utc::now(),
            },
        )
        .await?;
        Ok(())
    }

    async fn set_alias(&self, name: &ModelName, alias: &Alias, version: u64) -> Result<()> {
        let st = self.live(name).await?;
        let v = self.version_in(&st, name, version).await?;
        // An aliased version is one to serve: its tree exists before the alias does
        // (create-only copies, so repeating this is cheap and safe).
        self.inner
            .artifacts
            .lay_out_tree(name, &v.artifacts)
            .await?;
        if st.aliases.get(alias) == Some(&version) {
            return Ok(());
        }
        self.append(
            name,
            &ModelEvent::AliasSet {
                alias: alias.clone(),
                version,
                at: Utc::now(),
            },
        )
        .await?;
        Ok(())
    }

    async fn delete_alias(&self, name: &ModelName, alias: &Alias) -> Result<()> {
        let st = self.live(name).await?;
        if !st.aliases.contains_key(alias) {
            return Err(Error::AliasNotFound {
                model: name.to_string(),
                alias: alias.to_string(),
            });
        }
        self.append(
            name,
            &ModelEvent::AliasDeleted {
                alias: alias.clone(),
                at: Utc::now(),
            },
        )
        .await?;
        Ok(())
    }

    async fn resolve_alias(&self, name: &ModelName, alias: &Alias) -> Result<ModelVersion> {
        let st = self.live(name).await?;
        let n = *st.aliases.get(alias).ok_or_else(|| Error::AliasNotFound {
            model: name.to_string(),
            alias: alias.to_string(),
        })?;
        self.version_in(&st, name, n).await
    }

    async fn get_artifact(
        &self,
        name: &ModelName,
        version: u64,
        path: &ArtifactPath,
    ) -> Result<Bytes> {
        let v = self.get_version(name, version).await?;
        let blob = v.artifact(path)?;
        self.inner.artifacts.get(name, path, &blob).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conformance_memory() {
        let reg = EmbeddedRegistry::builder()
            .with_url("memory://")
            .build()
            .unwrap();
        let n = crate::conformance::run_all(&reg).await.unwrap();
        assert!(n >= 10, "ran {n} checks");
    }

    #[tokio::test]
    async fn conformance_file() {
        let dir = tempfile::tempdir().unwrap();
        let reg = EmbeddedRegistry::builder()
            .with_url(format!("file://{}/registry", dir.path().display()))
            .build()
            .unwrap();
        let n = crate::conformance::run_all(&reg).await.unwrap();
        assert!(n >= 10, "ran {n} checks");
    }

    #[test]
    fn public_types_are_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<EmbeddedRegistry>();
        assert_send_sync::<EmbeddedRegistryBuilder>();
    }
}
