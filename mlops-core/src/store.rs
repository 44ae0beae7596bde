//! Storage from a URL: one `Arc<dyn ObjectStore>` plus a prefix, everywhere.
//!
//! | URL | store | feature |
//! |---|---|---|
//! | `file:///abs/dir`, or a plain local path | local disk (fsync on, the durable default) | always |
//! | `memory://` | in-process (the test double) | always |
//! | `s3://bucket/prefix` | Amazon S3 and S3-compatible servers (`endpoint` option) | `s3` |
//! | `gs://bucket/prefix` | Google Cloud Storage | `gcs` |
//! | `az://container/prefix` | Azure Blob Storage | `azure` |
//!
//! Options are `(key, value)` pairs in object_store's own key names (`endpoint`,
//! `region`, `allow_http`, `access_key_id`, ...); unset keys come from the usual
//! environment variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`). For `file://` the one
//! option is `fsync` (`true`/`false`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
//! use mlops_core::Storage;
//! use object_store::ObjectStoreExt;
//! let s = Storage::from_url("memory://")?.child("registry")?;
//! s.store().put(&s.path("a.json")?, "{}".into()).await.unwrap();
//! assert_eq!(s.path("a.json")?.as_ref(), "registry/a.json");
//! # Ok(()) }
//! ```

use crate::error::{Error, Result};
use object_store::ObjectStore;
use object_store::path::Path;
use std::sync::Arc;

/// The URL schemes we understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheme {
    /// `file://` or a plain path.
    File,
    /// `memory://`.
    Memory,
    /// `s3://`.
    S3,
    /// `gs://`.
    Gcs,
    /// `az://`, `azure://`, `abfs://`.
    Azure,
}

impl Scheme {
    /// Classifies `url`; a string without `://` is a local path.
    ///
    /// # Errors
    /// `InvalidArgument` naming an unknown scheme.
    pub fn of(url: &str) -> Result<Self> {
        let Some((scheme, _)) = url.split_once("://") else {
            return Ok(Scheme::File);
        };
        match scheme {
            "file" => Ok(Scheme::File),
            "memory" => Ok(Scheme::Memory),
            "s3" | "s3a" => Ok(Scheme::S3),
            "gs" => Ok(Scheme::Gcs),
            "az" | "azure" | "abfs" | "abfss" => Ok(Scheme::Azure),
            _ => Err(Error::invalid(
                "storage url",
                url,
                "unknown scheme; expected file://, memory://, s3://, gs:// or az://",
            )),
        }
    }
}

/// An object store and the prefix under which this component keeps its keys.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    url: String,
    scheme: Scheme,
    /// The directory keys map to, for a `file://` storage opened from its URL
    /// (not for a wrapped store, whose writes must go through the wrapper).
    local_dir: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("url", &self.url)
            .field("prefix", &self.prefix.as_ref())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

impl Storage {
    /// Opens `url` with options taken from the environment only.
    ///
    /// # Errors
    /// `InvalidArgument` for a malformed URL or a scheme whose feature is compiled out.
    pub fn from_url(url: &str) -> Result<Self> {
        Self::from_url_opts(url, std::iter::empty::<(String, String)>())
    }

    /// Opens `url` with explicit options (see the module docs).
    ///
    /// # Errors
    /// `InvalidArgument` for a malformed URL, an unknown option key, or a scheme
    /// whose feature is compiled out (the message names the feature).
    pub fn from_url_opts<I, K, V>(url: &str, opts: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let opts = lower_keys(opts);
        let scheme = Scheme::of(url)?;
        match scheme {
            Scheme::File => open_file(url, &opts),
            Scheme::Memory => {
                let rest = url.trim_start_matches("memory://");
                let prefix = parse_prefix(url, rest.split_once('/').map_or("", |(_, p)| p))?;
                Ok(Self {
                    store: Arc::new(object_store::memory::InMemory::new()),
                    prefix,
                    url: url.to_string(),
                    scheme,
                    local_dir: None,
                })
            }
            Scheme::S3 => open_s3(url, &opts),
            Scheme::Gcs => open_gcs(url, &opts),
            Scheme::Azure => open_azure(url, &opts),
        }
    }

    /// Opens an `s3://` URL whose requests are signed with `credentials` (e.g. the
    /// same provider a SageMaker client signs with) instead of the environment's.
    /// Options as in [`from_url_opts`](Self::from_url_opts).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mlops_core::Storage;
    /// use mlops_core::object_store::{StaticCredentialProvider, aws::AwsCredential};
    /// let creds = Arc::new(StaticCredentialProvider::new(AwsCredential {
    ///     key_id: "AKIDEXAMPLE".into(),
    ///     secret_key: "secret".into(),
    ///     token: None,
    /// }));
    /// let s = Storage::from_s3_with_credentials(
    ///     "s3://bucket/models",
    ///     [("region", "eu-west-1")],
    ///     creds,
    /// )?;
    /// assert_eq!(s.url(), "s3://bucket/models");
    /// # Ok::<(), mlops_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// `InvalidArgument` for a URL that is not `s3://`, a malformed URL or an unknown
    /// option key.
    #[cfg(feature = "s3")]
    pub fn from_s3_with_credentials<I, K, V>(
        url: &str,
        opts: I,
        credentials: object_store::aws::AwsCredentialProvider,
    ) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        if Scheme::of(url)? != Scheme::S3 {
            return Err(Error::invalid(
                "storage url",
                url,
                "expected s3://BUCKET[/PREFIX]",
            ));
        }
        let opts = lower_keys(opts);
        open_s3_with(url, &opts, Some(credentials))
    }

    /// Wraps an existing store (any `ObjectStore` implementation) under `prefix`.
    ///
    /// # Errors
    /// `InvalidArgument` for a prefix with `..` or other unsafe parts.
    pub fn from_store(store: Arc<dyn ObjectStore>, prefix: &str, url: &str) -> Result<Self> {
        Ok(Self {
            store,
            prefix: parse_prefix(url, prefix)?,
            url: url.to_string(),
            scheme: Scheme::of(url).unwrap_or(Scheme::Memory),
            local_dir: None,
        })
    }

    /// A fresh in-memory store (the test double).
    pub fn memory() -> Self {
        Self {
            store: Arc::new(object_store::memory::InMemory::new()),
            prefix: Path::default(),
            url: "memory://".to_string(),
            scheme: Scheme::Memory,
            local_dir: None,
        }
    }

    /// The object store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The key prefix.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// The directory every key maps to below, for a `file://` storage opened from
    /// its URL (`None` for other stores, a sub-prefix or a wrapped store).
    ///
    /// ```
    /// use mlops_core::Storage;
    /// let dir = tempfile::tempdir().unwrap();
    /// let s = Storage::from_url(dir.path().to_str().unwrap()).unwrap();
    /// assert!(s.local_dir().is_some());
    /// assert!(s.child("sub").unwrap().local_dir().is_none());
    /// assert!(Storage::memory().local_dir().is_none());
    /// ```
    pub fn local_dir(&self) -> Option<&std::path::Path> {
        self.local_dir.as_deref()
    }

    /// The URL this storage was opened from (with its sub-prefix appended by [`Storage::child`]).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The full key of `rel` (a `/`-separated relative path) under the prefix.
    ///
    /// # Errors
    /// `InvalidArgument` if `rel` is absolute, climbs with `..` or holds NUL.
    pub fn path(&self, rel: &str) -> Result<Path> {
        let rel = crate::path::ArtifactPath::new(rel)?;
        Ok(rel
            .segments()
            .fold(self.prefix.clone(), |p, seg| p.clone().join(seg)))
    }

    /// The same store, narrowed to `sub` below the current prefix.
    ///
    /// # Errors
    /// As [`Storage::path`].
    pub fn child(&self, sub: &str) -> Result<Self> {
        let prefix = self.path(sub)?;
        let url = format!("{}/{}", self.url.trim_end_matches('/'), sub);
        Ok(Self {
            store: self.store.clone(),
            prefix,
            url,
            scheme: self.scheme,
            local_dir: None,
        })
    }
}

fn parse_prefix(url: &str, raw: &str) -> Result<Path> {
    let trimmed = raw.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(Path::default());
    }
    let p = crate::path::ArtifactPath::new(trimmed)
        .map_err(|_| Error::invalid("storage url", url, "the prefix must not contain '..'"))?;
    Ok(p.segments().fold(Path::default(), |acc, s| acc.join(s)))
}

fn bool_opt(opts: &[(String, String)], key: &str, default: bool) -> Result<bool> {
    match opts.iter().find(|(k, _)| k == key) {
        None => Ok(default),
        Some((_, v)) => parse_bool(key, v),
    }
}

/// `true`/`1`/`yes` or `false`/`0`/`no` for option `key`.
pub(crate) fn parse_bool(key: &str, v: &str) -> Result<bool> {
    match v {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(Error::invalid(key, other, "expected true or false")),
    }
}

fn open_file(url: &str, opts: &[(String, String)]) -> Result<Storage> {
    let raw = url.strip_prefix("file://").unwrap_or(url);
    if raw.is_empty() {
        return Err(Error::invalid("storage url", url, "no directory given"));
    }
    if raw.split('/').any(|s| s == "..") {
        return Err(Error::invalid(
            "storage url",
            url,
            "the directory must not contain '..'",
        ));
    }
    for (k, _) in opts {
        if k != "fsync" {
            return Err(Error::invalid(
                "storage option",
                k.as_str(),
                "file:// accepts only 'fsync'",
            ));
        }
    }
    let dir = std::path::PathBuf::from(raw);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let dir = std::fs::canonicalize(&dir).map_err(|e| Error::io(&dir, e))?;
    let fs = object_store::local::LocalFileSystem::new_with_prefix(&dir)
        .map_err(|e| Error::store(dir.display(), e))?
        .with_fsync(bool_opt(opts, "fsync", true)?)
        .with_automatic_cleanup(true);
    Ok(Storage {
        store: Arc::new(fs),
        prefix: Path::default(),
        url: format!("file://{}", dir.display()),
        scheme: Scheme::File,
        local_dir: Some(dir),
    })
}

/// Options with their keys lower-cased (object_store's config keys are).
fn lower_keys<I, K, V>(opts: I) -> Vec<(String, String)>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: Into<String>,
{
    opts.into_iter()
        .map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v.into()))
        .collect()
}

#[cfg(any(feature = "s3", feature = "gcs", feature = "azure"))]
fn cloud<B, K>(
    url: &str,
    opts: &[(String, String)],
    mut builder: B,
    with_config: impl Fn(B, K, String) -> B,
    build: impl FnOnce(B) -> object_store::Result<Arc<dyn ObjectStore>>,
    scheme: Scheme,
) -> Result<Storage>
where
    K: std::str::FromStr<Err = object_store::Error>,
{
    crate::tls::install_ring_provider();
    let parsed =
        url::Url::parse(url).map_err(|e| Error::invalid("storage url", url, e.to_string()))?;
    for (k, v) in opts {
        let key: K = k
            .parse()
            .map_err(|_| Error::invalid("storage option", k.as_str(), "unknown key"))?;
        builder = with_config(builder, key, v.clone());
    }
    let store = build(builder).map_err(|e| Error::store(url, e))?;
    let prefix = parse_prefix(url, parsed.path())?;
    Ok(Storage {
        store,
        prefix,
        url: url.to_string(),
        scheme,
        local_dir: None,
    })
}

#[cfg(feature = "s3")]
fn open_s3(url: &str, opts: &[(String, String)]) -> Result<Storage> {
    open_s3_with(url, opts, None)
}

#[cfg(feature = "s3")]
fn open_s3_with(
    url: &str,
    opts: &[(String, String)],
    credentials: Option<object_store::aws::AwsCredentialProvider>,
) -> Result<Storage> {
    use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
    // Configuration comes from the environment here, as object_store's builder documents.
    let mut builder = AmazonS3Builder::from_env().with_url(url);
    if let Some(c) = credentials {
        builder = builder.with_credentials(c);
    }
    cloud::<_, AmazonS3ConfigKey>(
        url,
        opts,
        builder,
        |b, k, v| b.with_config(k, v),
        |b| Ok(Arc::new(b.build()?) as Arc<dyn ObjectStore>),
        Scheme::S3,
    )
}

#[cfg(feature = "gcs")]
fn open_gcs(url: &str, opts: &[(String, String)]) -> Result<Storage> {
    use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
    let builder = GoogleCloudStorageBuilder::from_env().with_url(url);
    cloud::<_, GoogleConfigKey>(
        url,
        opts,
        builder,
        |b, k, v| b.with_config(k, v),
        |b| Ok(Arc::new(b.build()?) as Arc<dyn ObjectStore>),
        Scheme::Gcs,
    )
}

#[cfg(feature = "azure")]
fn open_azure(url: &str, opts: &[(String, String)]) -> Result<Storage> {
    use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
    let builder = MicrosoftAzureBuilder::from_env().with_url(url);
    cloud::<_, AzureConfigKey>(
        url,
        opts,
        builder,
        |b, k, v| b.with_config(k, v),
        |b| Ok(Arc::new(b.build()?) as Arc<dyn ObjectStore>),
        Scheme::Azure,
    )
}

#[cfg(not(feature = "s3"))]
fn open_s3(url: &str, _: &[(String, String)]) -> Result<Storage> {
    Err(feature_off(url, "s3"))
}

#[cfg(not(feature = "gcs"))]
fn open_gcs(url: &str, _: &[(String, String)]) -> Result<Storage> {
    Err(feature_off(url, "gcs"))
}

#[cfg(not(feature = "azure"))]
fn open_azure(url: &str, _: &[(String, String)]) -> Result<Storage> {
    Err(feature_off(url, "azure"))
}

#[allow(dead_code)]
fn feature_off(url: &str, feature: &str) -> Error {
    Error::invalid(
        "storage url",
        url,
        format!("this build has no '{feature}' feature; enable mlops-core/{feature}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;

    #[tokio::test]
    async fn file_and_memory_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}/store", dir.path().display());
        let s = Storage::from_url(&url).unwrap().child("reg").unwrap();
        let key = s.path("models/a.json").unwrap();
        s.store().put(&key, "x".into()).await.unwrap();
        assert!(dir.path().join("store/reg/models/a.json").exists());
        let m = Storage::from_url("memory://bucket/pre/fix").unwrap();
        assert_eq!(m.path("k").unwrap().as_ref(), "pre/fix/k");
    }

    #[test]
    fn refuses_bad_urls() {
        assert!(Storage::from_url("ftp://x").is_err());
        assert!(Storage::from_url("memory://b/../x").is_err());
        assert!(Storage::from_url("file:///tmp/../etc").is_err());
        let s = Storage::memory();
        assert!(s.path("../x").is_err());
        assert!(s.child("/abs").is_err());
        let e = Storage::from_url_opts("file:///tmp/x", [("bogus", "1")]).unwrap_err();
        assert!(e.to_string().contains("bogus"));
    }

    #[cfg(not(feature = "gcs"))]
    #[test]
    fn compiled_out_scheme_names_feature() {
        let e = Storage::from_url("gs://bucket/x").unwrap_err();
        assert!(e.to_string().contains("gcs"), "{e}");
    }
}
