//! Run artifacts on the embedded store.
//!
//! Artifacts are stored at `runs/<run_id>/artifacts/<path>` through [`put_artifact`]
//! and its siblings, the one place that knows where bytes go: when mlops-core's
//! content-addressed blob store lands, only these functions change.

use super::{EmbeddedTracker, check_run_id};
use crate::error::Result;
use crate::types::{ArtifactEntry, LoggedArtifact};
use bytes::Bytes;
use mlops_core::object_store::path::Path;
use mlops_core::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use mlops_core::path::ArtifactPath;
use mlops_core::{Digest, Storage};

fn artifact_key(storage: &Storage, run_id: &str, rel: Option<&ArtifactPath>) -> Result<Path> {
    let base = format!("runs/{run_id}/artifacts");
    Ok(match rel {
        Some(r) => storage.path(&format!("{base}/{r}"))?,
        None => storage.path(&base)?,
    })
}

/// Stores `bytes` for `run_id` at `rel`.
async fn put_artifact(
    storage: &Storage,
    run_id: &str,
    rel: &ArtifactPath,
    bytes: Bytes,
) -> Result<()> {
    let key = artifact_key(storage, run_id, Some(rel))?;
    storage
        .store()
        .put(&key, PutPayload::from(bytes))
        .await
        .map_err(|e| mlops_core::Error::store(&key, e))?;
    Ok(())
}

/// Reads the artifact of `run_id` at `rel`.
async fn get_artifact(storage: &Storage, run_id: &str, rel: &ArtifactPath) -> Result<Bytes> {
    let key = artifact_key(storage, run_id, Some(rel))?;
    let got = storage.store().get(&key).await.map_err(|e| match e {
        mlops_core::object_store::Error::NotFound { .. } => {
            mlops_core::Error::not_found("artifact", rel.as_str())
        }
        e => mlops_core::Error::store(&key, e),
    })?;
    Ok(got
        .bytes()
        .await
        .map_err(|e| mlops_core::Error::store(&key, e))?)
}

/// Lists the direct children of `dir` (root when `None`).
async fn list_dir(
    storage: &Storage,
    run_id: &str,
    dir: Option<&ArtifactPath>,
) -> Result<Vec<ArtifactEntry>> {
    let root = artifact_key(storage, run_id, None)?;
    let prefix = artifact_key(storage, run_id, dir)?;
    let listing = storage
        .store()
        .list_with_delimiter(Some(&prefix))
        .await
        .map_err(|e| mlops_core::Error::store(&prefix, e))?;
    let rel = |p: &Path| -> Option<String> {
        let parts: Vec<String> = p
            .prefix_match(&root)?
            .map(|s| s.as_ref().to_string())
            .collect();
        Some(parts.join("/"))
    };
    let mut out: Vec<ArtifactEntry> = listing
        .common_prefixes
        .iter()
        .filter_map(&rel)
        .map(|path| ArtifactEntry {
            path,
            is_dir: true,
            size: None,
        })
        .chain(listing.objects.iter().filter_map(|m| {
            rel(&m.location).map(|path| ArtifactEntry {
                path,
                is_dir: false,
                size: Some(m.size),
            })
        }))
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

impl EmbeddedTracker {
    pub(super) async fn log_artifact_impl(
        &self,
        run_id: &str,
        path: &str,
        bytes: Bytes,
    ) -> Result<LoggedArtifact> {
        let rel = ArtifactPath::new(path)?;
        self.log_batch_impl(run_id, &crate::types::Batch::new())
            .await?;
        let digest = Digest::of(&bytes);
        let size = bytes.len() as u64;
        put_artifact(&self.storage, run_id, &rel, bytes).await?;
        Ok(LoggedArtifact {
            path: rel.as_str().to_string(),
            size,
            digest,
        })
    }

    pub(super) async fn list_artifacts_impl(
        &self,
        run_id: &str,
        dir: Option<&str>,
    ) -> Result<Vec<ArtifactEntry>> {
        check_run_id(run_id)?;
        let dir = dir
            .filter(|d| !d.trim_matches('/').is_empty())
            .map(ArtifactPath::new)
            .transpose()?;
        self.get_run_checked(run_id).await?;
        list_dir(&self.storage, run_id, dir.as_ref()).await
    }

    pub(super) async fn download_artifact_impl(&self, run_id: &str, path: &str) -> Result<Bytes> {
        check_run_id(run_id)?;
        let rel = ArtifactPath::new(path)?;
        get_artifact(&self.storage, run_id, &rel).await
    }

    async fn get_run_checked(&self, run_id: &str) -> Result<()> {
        crate::Tracker::get_run(self, run_id).await.map(|_| ())
    }
}
