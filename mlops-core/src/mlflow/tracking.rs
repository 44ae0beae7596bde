//! Typed tracking endpoints (`experiments/*`, `runs/*`, `metrics/*`, artifacts).

use super::types::{
    KeyValue, LogBatch, WireExperiment, WireFileInfo, WireMetric, WireRun, WireRunInfo,
};
use super::{BACKEND, HttpMethod, HttpRequest, MlflowClient};
use crate::error::{Error, Result};
use crate::path::ArtifactPath;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

/// MLflow's per-request `log-batch` limits.
pub const MAX_METRICS_PER_BATCH: usize = 1000;
/// Params per request.
pub const MAX_PARAMS_PER_BATCH: usize = 100;
/// Tags per request.
pub const MAX_TAGS_PER_BATCH: usize = 100;
/// Items (metrics + params + tags) per request.
pub const MAX_ITEMS_PER_BATCH: usize = 1000;
/// Page size used to read metric histories.
pub const HISTORY_PAGE: usize = 25_000;

#[derive(Deserialize)]
struct ExpId {
    experiment_id: String,
}

#[derive(Deserialize)]
struct ExpResp {
    experiment: WireExperiment,
}

#[derive(Deserialize)]
struct ExpSearch {
    #[serde(default)]
    experiments: Vec<WireExperiment>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct RunResp {
    run: WireRun,
}

#[derive(Deserialize)]
struct RunInfoResp {
    run_info: WireRunInfo,
}

#[derive(Deserialize)]
struct RunSearch {
    #[serde(default)]
    runs: Vec<WireRun>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct History {
    #[serde(default)]
    metrics: Vec<WireMetric>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct Listing {
    #[serde(default)]
    files: Vec<WireFileInfo>,
}

/// One search page: items and the next token.
pub type SearchPage<T> = (Vec<T>, Option<String>);

/// One `log-batch` request's share of a batch: metrics, params, tags.
pub type Chunk<'a> = (&'a [WireMetric], &'a [KeyValue], &'a [KeyValue]);

/// Splits a batch into requests within MLflow's limits: params first (a changed
/// param fails before anything else is written), then tags, then metrics, each
/// request ≤ 1000 metrics, ≤ 100 params, ≤ 100 tags and ≤ 1000 items.
pub fn chunk_batch<'a>(
    metrics: &'a [WireMetric],
    params: &'a [KeyValue],
    tags: &'a [KeyValue],
) -> Vec<Chunk<'a>> {
    let mut out = Vec::new();
    let (mut m, mut p, mut t) = (metrics, params, tags);
    while !(m.is_empty() && p.is_empty() && t.is_empty()) {
        let np = p.len().min(MAX_PARAMS_PER_BATCH);
        let nt = t.len().min(MAX_TAGS_PER_BATCH);
        let nm = m
            .len()
            .min(MAX_METRICS_PER_BATCH)
            .min(MAX_ITEMS_PER_BATCH - np - nt);
        out.push((&m[..nm], &p[..np], &t[..nt]));
        m = &m[nm..];
        p = &p[np..];
        t = &t[nt..];
    }
    out
}

fn view(v: &str) -> String {
    v.to_string()
}

impl MlflowClient {
    /// `experiments/create`; returns the id. Not retried once it reached the server.
    ///
    /// # Errors
    /// `AlreadyExists` for a taken name; see the module docs.
    pub async fn create_experiment(&self, name: &str, tags: &[KeyValue]) -> Result<String> {
        let r: ExpId = self
            .call_json(
                HttpMethod::Post,
                "experiments/create",
                &json!({"name": name, "tags": tags}),
                false,
            )
            .await?;
        Ok(r.experiment_id)
    }

    /// `experiments/get`.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn get_experiment(&self, id: &str) -> Result<WireExperiment> {
        let r: ExpResp = self
            .get_json("experiments/get", &[("experiment_id", id.to_string())])
            .await?;
        Ok(r.experiment)
    }

    /// `experiments/get-by-name`.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn get_experiment_by_name(&self, name: &str) -> Result<WireExperiment> {
        let r: ExpResp = self
            .get_json(
                "experiments/get-by-name",
                &[("experiment_name", name.to_string())],
            )
            .await?;
        Ok(r.experiment)
    }

    /// `experiments/search` (one page).
    ///
    /// # Errors
    /// `InvalidArgument` for a filter MLflow refuses.
    pub async fn search_experiments(
        &self,
        filter: &str,
        order_by: &[String],
        max_results: usize,
        page_token: Option<&str>,
        view_type: &str,
    ) -> Result<SearchPage<WireExperiment>> {
        let mut body = json!({
            "max_results": max_results,
            "order_by": order_by,
            "view_type": view(view_type),
        });
        if !filter.is_empty() {
            body["filter"] = json!(filter);
        }
        if let Some(t) = page_token {
            body["page_token"] = json!(t);
        }
        let r: ExpSearch = self
            .call_json(HttpMethod::Post, "experiments/search", &body, true)
            .await?;
        Ok((r.experiments, r.next_page_token))
    }

    /// `experiments/update` (rename).
    ///
    /// # Errors
    /// `NotFound`; `AlreadyExists`.
    pub async fn rename_experiment(&self, id: &str, new_name: &str) -> Result<()> {
        self.call_unit(
            HttpMethod::Post,
            "experiments/update",
            &json!({"experiment_id": id, "new_name": new_name}),
            true,
        )
        .await
    }

    /// `experiments/set-experiment-tag`.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn set_experiment_tag(&self, id: &str, key: &str, value: &str) -> Result<()> {
        self.call_unit(
            HttpMethod::Post,
            "experiments/set-experiment-tag",
            &json!({"experiment_id": id, "key": key, "value": value}),
            true,
        )
        .await
    }

    /// `experiments/delete` or `experiments/restore`.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn set_experiment_deleted(&self, id: &str, deleted: bool) -> Result<()> {
        let ep = if deleted {
            "experiments/delete"
        } else {
            "experiments/restore"
        };
        self.call_unit(HttpMethod::Post, ep, &json!({"experiment_id": id}), true)
            .await
    }

    /// `runs/create`. Not retried once it reached the server.
    ///
    /// # Errors
    /// `NotFound` for an unknown experiment.
    pub async fn create_run(
        &self,
        experiment_id: &str,
        run_name: Option<&str>,
        start_time: i64,
        tags: &[KeyValue],
        user_id: Option<&str>,
    ) -> Result<WireRun> {
        let mut body = json!({
            "experiment_id": experiment_id,
            "start_time": start_time,
            "tags": tags,
        });
        if let Some(n) = run_name {
            body["run_name"] = json!(n);
        }
        if let Some(u) = user_id {
            body["user_id"] = json!(u);
        }
        let r: RunResp = self
            .call_json(HttpMethod::Post, "runs/create", &body, false)
            .await?;
        Ok(r.run)
    }

    /// `runs/get`.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn get_run(&self, run_id: &str) -> Result<WireRun> {
        let r: RunResp = self
            .get_json("runs/get", &[("run_id", run_id.to_string())])
            .await?;
        Ok(r.run)
    }

    /// `runs/update` (status and end time).
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn update_run(
        &self,
        run_id: &str,
        status: &str,
        end_time: Option<i64>,
    ) -> Result<WireRunInfo> {
        let mut body = json!({"run_id": run_id, "status": status});
        if let Some(e) = end_time {
            body["end_time"] = json!(e);
        }
        let r: RunInfoResp = self
            .call_json(HttpMethod::Post, "runs/update", &body, true)
            .await?;
        Ok(r.run_info)
    }

    /// `runs/delete` or `runs/restore`.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn set_run_deleted(&self, run_id: &str, deleted: bool) -> Result<()> {
        let ep = if deleted {
            "runs/delete"
        } else {
            "runs/restore"
        };
        self.call_unit(HttpMethod::Post, ep, &json!({"run_id": run_id}), true)
            .await
    }

    /// `runs/search` (one page).
    ///
    /// # Errors
    /// `InvalidArgument` for a filter MLflow refuses.
    pub async fn search_runs(
        &self,
        experiment_ids: &[String],
        filter: &str,
        order_by: &[String],
        max_results: usize,
        page_token: Option<&str>,
        run_view_type: &str,
    ) -> Result<SearchPage<WireRun>> {
        let mut body = json!({
            "experiment_ids": experiment_ids,
            "max_results": max_results,
            "order_by": order_by,
            "run_view_type": view(run_view_type),
        });
        if !filter.is_empty() {
            body["filter"] = json!(filter);
        }
        if let Some(t) = page_token {
            body["page_token"] = json!(t);
        }
        let r: RunSearch = self
            .call_json(HttpMethod::Post, "runs/search", &body, true)
            .await?;
        Ok((r.runs, r.next_page_token))
    }

    /// `runs/log-batch`, chunked with [`chunk_batch`]. Retrying is safe: MLflow keeps
    /// one row per identical point, accepts an equal param again and overwrites tags.
    ///
    /// # Errors
    /// `InvalidArgument` (changed param, inactive run, limits); `NotFound`.
    pub async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[WireMetric],
        params: &[KeyValue],
        tags: &[KeyValue],
    ) -> Result<()> {
        for (m, p, t) in chunk_batch(metrics, params, tags) {
            let body = LogBatch {
                run_id,
                metrics: m,
                params: p,
                tags: t,
            };
            self.call_unit(HttpMethod::Post, "runs/log-batch", &body, true)
                .await?;
        }
        Ok(())
    }

    /// `metrics/get-history`, following page tokens. An unknown run or key is empty
    /// (MLflow answers `{}`).
    ///
    /// # Errors
    /// See the module docs.
    pub async fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<WireMetric>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q = vec![
                ("run_id", run_id.to_string()),
                ("metric_key", key.to_string()),
                ("max_results", HISTORY_PAGE.to_string()),
            ];
            if let Some(t) = &token {
                q.push(("page_token", t.clone()));
            }
            let page: History = self.get_json("metrics/get-history", &q).await?;
            out.extend(page.metrics);
            match page.next_page_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => return Ok(out),
            }
        }
    }

    /// `artifacts/list` for a run: the direct children of `path` (root when `None`),
    /// paths relative to the run's artifact root. A missing directory is empty.
    ///
    /// # Errors
    /// `NotFound` for an unknown run.
    pub async fn list_artifacts(
        &self,
        run_id: &str,
        path: Option<&str>,
    ) -> Result<Vec<WireFileInfo>> {
        let mut q = vec![("run_id", run_id.to_string())];
        if let Some(p) = path {
            q.push(("path", p.to_string()));
        }
        let r: Listing = self.get_json("artifacts/list", &q).await?;
        Ok(r.files)
    }

    /// The artifact-proxy path of `rel` below a run's `artifact_uri`
    /// (`mlflow-artifacts:/1/<run>/artifacts` → `/api/2.0/mlflow-artifacts/artifacts/1/<run>/artifacts/<rel>`).
    ///
    /// # Errors
    /// `Unsupported` for an artifact root the proxy does not serve; `InvalidArgument`
    /// for a bad `rel`.
    pub fn artifact_proxy_path(artifact_uri: &str, rel: &str) -> Result<String> {
        let rel = ArtifactPath::new(rel)?;
        let Some(root) = artifact_uri.strip_prefix("mlflow-artifacts:") else {
            return Err(Error::unsupported(
                format!("artifacts at {artifact_uri} (only the server's mlflow-artifacts proxy)"),
                BACKEND,
            ));
        };
        let root = root.trim_start_matches('/');
        // The root may carry a host part (mlflow-artifacts://host:port/...): keep the path.
        let root = if artifact_uri.starts_with("mlflow-artifacts://") {
            root.split_once('/').map_or("", |(_, p)| p)
        } else {
            root
        };
        let encoded: Vec<String> = root
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .chain(rel.segments().map(encode_segment))
            .collect();
        Ok(format!(
            "/api/2.0/mlflow-artifacts/artifacts/{}",
            encoded.join("/")
        ))
    }

    /// Uploads `bytes` through the artifact proxy.
    ///
    /// # Errors
    /// See [`MlflowClient::artifact_proxy_path`] and the module docs.
    pub async fn upload_artifact(&self, artifact_uri: &str, rel: &str, bytes: Bytes) -> Result<()> {
        let path = Self::artifact_proxy_path(artifact_uri, rel)?;
        self.send(HttpRequest::new(HttpMethod::Put, path).with_bytes(bytes))
            .await?;
        Ok(())
    }

    /// Downloads an artifact through the proxy.
    ///
    /// # Errors
    /// `NotFound`; see the module docs.
    pub async fn download_artifact(&self, artifact_uri: &str, rel: &str) -> Result<Bytes> {
        let path = Self::artifact_proxy_path(artifact_uri, rel)?;
        Ok(self
            .send(HttpRequest::new(HttpMethod::Get, path))
            .await?
            .body)
    }
}

fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mlflow::types::MetricValue;

    fn m(n: usize) -> Vec<WireMetric> {
        (0..n)
            .map(|i| WireMetric {
                key: "k".into(),
                value: MetricValue(i as f64),
                timestamp: 0,
                step: i as i64,
            })
            .collect()
    }

    fn kv(n: usize) -> Vec<KeyValue> {
        (0..n)
            .map(|i| KeyValue {
                key: format!("k{i}"),
                value: "v".into(),
            })
            .collect()
    }

    #[test]
    fn chunks_respect_every_limit() {
        let (metrics, params, tags) = (m(2500), kv(150), kv(250));
        let chunks = chunk_batch(&metrics, &params, &tags);
        for (a, b, c) in &chunks {
            assert!(a.len() <= 1000 && b.len() <= 100 && c.len() <= 100);
            assert!(a.len() + b.len() + c.len() <= 1000);
        }
        let sum = |f: fn(&Chunk<'_>) -> usize| chunks.iter().map(f).sum::<usize>();
        assert_eq!(sum(|c| c.0.len()), 2500);
        assert_eq!(sum(|c| c.1.len()), 150);
        assert_eq!(sum(|c| c.2.len()), 250);
        assert_eq!(chunks[0].1.len(), 100, "params go first");
        assert!(chunk_batch(&[], &[], &[]).is_empty());
    }

    #[test]
    fn artifact_paths() {
        let p =
            MlflowClient::artifact_proxy_path("mlflow-artifacts:/1/abc/artifacts", "model/w b.bin")
                .unwrap();
        assert_eq!(
            p,
            "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model/w%20b.bin"
        );
        assert!(MlflowClient::artifact_proxy_path("s3://b/x", "a").is_err());
        assert!(MlflowClient::artifact_proxy_path("mlflow-artifacts:/1", "../a").is_err());
    }
}
