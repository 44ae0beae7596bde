//! Runs, logging and metric histories on the embedded store.

use super::experiments::{from_json, to_json as encode_record};
use super::state::{RunEvent, RunState};
use super::{EmbeddedTracker, check_run_id, paginate, segments};
use crate::error::{Error, Result};
use crate::parse::{OrderBy, compare, parse_filter, parse_order_by};
use crate::types::{
    Batch, CreateRun, LifecycleStage, Metric, Page, Run, RunInfo, RunStatus, SearchRuns, check_tag,
    now_ms,
};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use mlops_core::object_store::{ObjectStore, PutMode, PutOptions, PutPayload};
use std::collections::{BTreeMap, HashMap};

impl EmbeddedTracker {
    fn artifact_root(&self, run_id: &str) -> String {
        format!(
            "{}/runs/{run_id}/artifacts",
            self.storage.url().trim_end_matches('/')
        )
    }

    pub(super) async fn create_run_impl(&self, req: &CreateRun) -> Result<Run> {
        for t in &req.tags {
            check_tag(&t.key, &t.value)?;
        }
        let exp = self.experiment_state(&req.experiment_id).await?;
        if exp.exp.lifecycle_stage != LifecycleStage::Active {
            return Err(mlops_core::Error::conflict(
                "experiment",
                &req.experiment_id,
                "is deleted; restore it before creating runs",
            )
            .into());
        }
        let run_id = uuid::Uuid::now_v7().simple().to_string();
        let run_name = req
            .run_name
            .clone()
            .unwrap_or_else(|| format!("run-{}", &run_id[24..]));
        let ev = RunEvent::Created {
            experiment_id: req.experiment_id.clone(),
            run_name,
            user_id: req.user_id.clone().unwrap_or_default(),
            start_time: req.start_time.unwrap_or_else(now_ms),
            tags: req.tags.clone(),
        };
        let logs = self.run_logs(&run_id)?;
        if !logs.events.try_put(1, encode_record(&ev)?).await? {
            return Err(mlops_core::Error::already_exists("run", &run_id).into());
        }
        let marker = self
            .storage
            .path(&format!("experiments/{}/runs/{run_id}", req.experiment_id))?;
        self.storage
            .store()
            .put_opts(
                &marker,
                PutPayload::from(Bytes::new()),
                PutOptions::from(PutMode::Create),
            )
            .await
            .map_err(|e| mlops_core::Error::store(&marker, e))?;
        self.run_full(&run_id).await
    }

    /// Brings the cached events fold of `run_id` up to date (metrics untouched).
    pub(super) async fn run_events(&self, run_id: &str) -> Result<RunState> {
        let logs = self.run_logs(run_id)?;
        let cached = self.caches().runs.get(run_id).cloned();
        let mut st = match cached {
            Some(s) => s,
            None => {
                let raw = logs.events.get(1).await.map_err(|e| -> Error {
                    if e.kind() == mlops_core::ErrorKind::NotFound {
                        mlops_core::Error::not_found("run", run_id).into()
                    } else {
                        e.into()
                    }
                })?;
                let ev: RunEvent = from_json("run", &raw)?;
                RunState::from_created(run_id, ev, self.artifact_root(run_id)).ok_or_else(|| {
                    mlops_core::Error::backend(super::BACKEND, "run record 1 is not a creation")
                })?
            }
        };
        for (seq, raw) in logs.events.read_from(st.seen_events + 1).await? {
            st.apply(seq, from_json("run event", &raw)?);
        }
        self.store_run_state(run_id, &st);
        Ok(st)
    }

    fn store_run_state(&self, run_id: &str, st: &RunState) {
        let mut c = self.caches();
        let slot = c
            .runs
            .entry(run_id.to_string())
            .or_insert_with(|| st.clone());
        if (slot.seen_events, slot.seen_segments) <= (st.seen_events, st.seen_segments) {
            *slot = st.clone();
        }
    }

    /// The run with latest metrics and its effective lifecycle stage.
    pub(super) async fn run_full(&self, run_id: &str) -> Result<Run> {
        let mut st = self.run_events(run_id).await?;
        let logs = self.run_logs(run_id)?;
        for (seq, raw) in logs.metrics.read_from(st.seen_segments + 1).await? {
            segments::fold_latest(&raw, &mut st.run.data.metrics)?;
            st.seen_segments = st.seen_segments.max(seq);
        }
        self.store_run_state(run_id, &st);
        let mut run = st.run;
        let exp = self.experiment_state(&run.info.experiment_id).await?;
        if exp.exp.lifecycle_stage == LifecycleStage::Deleted {
            run.info.lifecycle_stage = LifecycleStage::Deleted;
        }
        Ok(run)
    }

    async fn active_run(&self, run_id: &str) -> Result<RunState> {
        let st = self.run_events(run_id).await?;
        let exp = self.experiment_state(&st.run.info.experiment_id).await?;
        if st.own_stage != LifecycleStage::Active
            || exp.exp.lifecycle_stage != LifecycleStage::Active
        {
            return Err(Error::RunNotActive {
                run_id: run_id.to_string(),
            });
        }
        Ok(st)
    }

    pub(super) async fn update_run_impl(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> Result<RunInfo> {
        self.run_events(run_id).await?;
        let end_time = end_time.or_else(|| status.is_terminal().then(now_ms));
        let logs = self.run_logs(run_id)?;
        logs.events
            .append(encode_record(&RunEvent::Status { status, end_time })?)
            .await?;
        Ok(self.run_full(run_id).await?.info)
    }

    pub(super) async fn set_run_lifecycle(&self, run_id: &str, deleted: bool) -> Result<()> {
        self.run_events(run_id).await?;
        let logs = self.run_logs(run_id)?;
        logs.events
            .append(encode_record(&RunEvent::Lifecycle {
                deleted,
                time: now_ms(),
            })?)
            .await?;
        Ok(())
    }

    pub(super) async fn log_batch_impl(&self, run_id: &str, batch: &Batch) -> Result<()> {
        batch.validate()?;
        check_run_id(run_id)?;
        let st = self.active_run(run_id).await?;
        // Refuse a changed param before writing anything (the whole batch fails).
        for p in &batch.params {
            if let Some(old) = st.run.data.params.get(&p.key)
                && *old != p.value
            {
                return Err(Error::ParamChanged {
                    run_id: run_id.to_string(),
                    key: p.key.clone(),
                    old: old.clone(),
                    new: p.value.clone(),
                });
            }
        }
        let logs = self.run_logs(run_id)?;
        if !batch.params.is_empty() || !batch.tags.is_empty() {
            let mut params = batch.params.clone();
            params.dedup_by(|a, b| a.key == b.key);
            let seq = logs
                .events
                .append(encode_record(&RunEvent::Data {
                    params: params.clone(),
                    tags: batch.tags.clone(),
                })?)
                .await?;
            if !params.is_empty() {
                // A concurrent writer may have set one of these params first: the fold
                // keeps the first value, so ours lost. Say so instead of pretending.
                let after = self.run_events(run_id).await?;
                debug_assert!(after.seen_events >= seq);
                for p in &params {
                    if let Some(stored) = after.run.data.params.get(&p.key)
                        && *stored != p.value
                    {
                        return Err(Error::ParamChanged {
                            run_id: run_id.to_string(),
                            key: p.key.clone(),
                            old: stored.clone(),
                            new: p.value.clone(),
                        });
                    }
                }
            }
        }
        if !batch.metrics.is_empty() {
            self.append_segment(&logs, segments::encode(&batch.metrics)?)
                .await?;
        }
        Ok(())
    }

    pub(super) async fn histories_impl(
        &self,
        run_id: &str,
        keys: &[String],
    ) -> Result<BTreeMap<String, Vec<Metric>>> {
        self.run_events(run_id).await?;
        let logs = self.run_logs(run_id)?;
        let index: HashMap<&str, usize> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        let mut out: Vec<Vec<Metric>> = vec![Vec::new(); keys.len()];
        let segs = logs.metrics.read_from(1).await?;
        for (_, raw) in &segs {
            segments::decode_into(raw, &index, &mut out)?;
        }
        let mut map = BTreeMap::new();
        for (k, mut pts) in keys.iter().zip(out) {
            // stable: points with equal (step, timestamp) keep their logging order
            pts.sort_by_key(|m| (m.step, m.timestamp));
            map.insert(k.clone(), pts);
        }
        Ok(map)
    }

    async fn experiment_run_ids(&self, experiment_id: &str) -> Result<Vec<String>> {
        let dir = self
            .storage
            .path(&format!("experiments/{experiment_id}/runs"))?;
        let metas: Vec<_> = self
            .storage
            .store()
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(|e| mlops_core::Error::store(&dir, e))?;
        Ok(metas
            .iter()
            .filter_map(|m| m.location.filename().map(str::to_string))
            .collect())
    }

    pub(super) async fn search_runs_impl(&self, q: &SearchRuns) -> Result<Page<Run>> {
        let filter = parse_filter(&q.filter)?;
        let mut order: Vec<OrderBy> = q
            .order_by
            .iter()
            .map(|o| parse_order_by(o))
            .collect::<Result<_>>()?;
        order.push(parse_order_by("attributes.start_time DESC")?);
        order.push(parse_order_by("attributes.run_id ASC")?);
        let mut ids = Vec::new();
        for exp in &q.experiment_ids {
            match self.experiment_state(exp).await {
                Ok(_) => ids.extend(self.experiment_run_ids(exp).await?),
                // MLflow answers an unknown experiment id with no runs, not an error.
                Err(e) if e.kind() == mlops_core::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let runs: Vec<Run> = futures::stream::iter(
            ids.into_iter()
                .map(|id| async move { self.run_full(&id).await }),
        )
        .buffered(16)
        .try_collect()
        .await?;
        let mut runs: Vec<Run> = runs
            .into_iter()
            .filter(|r| q.view.shows(r.info.lifecycle_stage) && filter.matches(r))
            .collect();
        runs.sort_by(|a, b| compare(&order, a, b));
        let query = format!(
            "runs|{:?}|{}|{:?}|{}",
            q.experiment_ids,
            q.filter,
            q.order_by,
            q.view.as_str()
        );
        paginate(runs, q.max_results, q.page_token.as_deref(), &query)
    }
}
