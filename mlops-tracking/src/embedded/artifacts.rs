//! Run artifacts on the embedded store.
//!
//! Bytes go to mlops-core's content-addressed blob store (deduplicated, verified on
//! read); the run's event log records which blob each artifact path names, so a
//! listing is a fold of the run's records and a download is a verified blob read.

use super::state::RunEvent;
use super::{EmbeddedTracker, check_run_id};
use crate::error::Result;
use crate::types::{ArtifactEntry, LoggedArtifact};
use bytes::Bytes;
use mlops_core::blob::BlobRef;
use mlops_core::path::ArtifactPath;
use std::collections::BTreeMap;

/// The direct children of `dir` (root when `None`) in a path -> blob map.
fn children(map: &BTreeMap<String, BlobRef>, dir: Option<&ArtifactPath>) -> Vec<ArtifactEntry> {
    let prefix = dir.map(|d| format!("{d}/")).unwrap_or_default();
    let mut out: BTreeMap<String, ArtifactEntry> = BTreeMap::new();
    for (path, blob) in map.range(prefix.clone()..) {
        let Some(rest) = path.strip_prefix(&prefix) else {
            break;
        };
        match rest.split_once('/') {
            Some((sub, _)) => {
                let p = format!("{prefix}{sub}");
                out.entry(p.clone()).or_insert(ArtifactEntry {
                    path: p,
                    is_dir: true,
                    size: None,
                });
            }
            None => {
                out.insert(
                    path.clone(),
                    ArtifactEntry {
                        path: path.clone(),
                        is_dir: false,
                        size: Some(blob.size),
                    },
                );
            }
        }
    }
    out.into_values().collect()
}

impl EmbeddedTracker {
    pub(super) async fn log_artifact_impl(
        &self,
        run_id: &str,
        path: &str,
        bytes: Bytes,
    ) -> Result<LoggedArtifact> {
        let rel = ArtifactPath::new(path)?;
        // Refuses unknown and deleted runs before any byte is written.
        self.log_batch_impl(run_id, &crate::types::Batch::new())
            .await?;
        let blob = self.blobs.put_bytes(bytes).await?;
        let logs = self.run_logs(run_id)?;
        logs.events
            .append(super::experiments::to_json(&RunEvent::Artifact {
                path: rel.as_str().to_string(),
                blob,
            })?)
            .await?;
        Ok(LoggedArtifact {
            path: rel.as_str().to_string(),
            size: blob.size,
            digest: blob.digest,
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
        let st = self.run_events(run_id).await?;
        Ok(children(&st.artifacts, dir.as_ref()))
    }

    pub(super) async fn download_artifact_impl(&self, run_id: &str, path: &str) -> Result<Bytes> {
        check_run_id(run_id)?;
        let rel = ArtifactPath::new(path)?;
        let st = self.run_events(run_id).await?;
        let Some(blob) = st.artifacts.get(rel.as_str()) else {
            return Err(mlops_core::Error::not_found("artifact", rel.as_str()).into());
        };
        Ok(self.blobs.get_bytes(&blob.digest).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlops_core::Digest;

    #[test]
    fn listing_derives_directories() {
        let b = |n: u64| BlobRef {
            digest: Digest::of(b"x"),
            size: n,
        };
        let map: BTreeMap<String, BlobRef> = [
            ("a.txt".to_string(), b(1)),
            ("m/w.bin".to_string(), b(2)),
            ("m/sub/x".to_string(), b(3)),
            ("mm".to_string(), b(4)),
        ]
        .into();
        let root: Vec<(String, bool)> = children(&map, None)
            .into_iter()
            .map(|e| (e.path, e.is_dir))
            .collect();
        assert_eq!(
            root,
            vec![
                ("a.txt".into(), false),
                ("m".into(), true),
                ("mm".into(), false)
            ]
        );
        let m = ArtifactPath::new("m").unwrap();
        let sub: Vec<(String, bool)> = children(&map, Some(&m))
            .into_iter()
            .map(|e| (e.path, e.is_dir))
            .collect();
        assert_eq!(sub, vec![("m/sub".into(), true), ("m/w.bin".into(), false)]);
        assert!(children(&map, Some(&ArtifactPath::new("nope").unwrap())).is_empty());
    }
}
