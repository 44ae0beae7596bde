//! Experiments on the embedded store.

use super::state::{ExpCreated, ExpEvent, ExpState};
use super::{EmbeddedTracker, paginate};
use crate::error::Result;
use crate::parse::{OrderBy, compare, parse_filter, parse_order_by};
use crate::types::{
    Experiment, Page, SearchExperiments, Tag, check_experiment_name, check_tag, now_ms,
};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use mlops_core::object_store;
use mlops_core::object_store::path::Path;
use mlops_core::object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use mlops_core::seq::SeqLog;

pub(super) fn to_json<T: serde::Serialize>(v: &T) -> Result<Bytes> {
    serde_json::to_vec(v).map(Bytes::from).map_err(|e| {
        mlops_core::Error::backend(super::BACKEND, format!("encode record: {e}")).into()
    })
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(what: &str, b: &[u8]) -> Result<T> {
    serde_json::from_slice(b).map_err(|e| {
        mlops_core::Error::backend(super::BACKEND, format!("corrupt {what} record: {e}")).into()
    })
}

/// Outcome of claiming a name key.
enum Claim {
    Won,
    Taken,
}

impl EmbeddedTracker {
    fn name_key(&self, name: &str) -> Result<Path> {
        let h = mlops_core::Digest::of(name.as_bytes()).to_hex();
        Ok(self.storage.path(&format!("experiments/names/{h}"))?)
    }

    fn exp_events(&self, id: &str) -> Result<SeqLog> {
        Ok(SeqLog::new(
            &self.storage,
            &format!("experiments/{id}/events"),
        )?)
    }

    /// Claims `name` for experiment `id` with a create-only key; a stale claim (left
    /// by an interrupted rename) is removed and claimed again.
    async fn claim_name(&self, name: &str, id: &str) -> Result<Claim> {
        let key = self.name_key(name)?;
        for _ in 0..2 {
            let put = self
                .storage
                .store()
                .put_opts(
                    &key,
                    PutPayload::from(Bytes::from(id.to_string())),
                    PutOptions::from(PutMode::Create),
                )
                .await;
            match put {
                Ok(_) => return Ok(Claim::Won),
                Err(object_store::Error::AlreadyExists { .. }) => {
                    if self.name_holder(name).await?.is_some() {
                        return Ok(Claim::Taken);
                    }
                    // stale: the holder no longer carries this name
                    match self.storage.store().delete(&key).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => return Err(mlops_core::Error::store(&key, e).into()),
                    }
                }
                Err(e) => return Err(mlops_core::Error::store(&key, e).into()),
            }
        }
        Ok(Claim::Taken)
    }

    /// The experiment currently holding `name`, if the claim is not stale.
    async fn name_holder(&self, name: &str) -> Result<Option<ExpState>> {
        let key = self.name_key(name)?;
        let id = match self.storage.store().get(&key).await {
            Ok(g) => g
                .bytes()
                .await
                .map_err(|e| mlops_core::Error::store(&key, e))?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(mlops_core::Error::store(&key, e).into()),
        };
        let id = String::from_utf8_lossy(&id).into_owned();
        match self.experiment_state_raw(&id).await {
            Ok(s) if !s.abandoned && s.exp.name == name => Ok(Some(s)),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == mlops_core::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn create_experiment_impl(&self, name: &str, tags: &[Tag]) -> Result<String> {
        check_experiment_name(name)?;
        for t in tags {
            check_tag(&t.key, &t.value)?;
        }
        if self.name_holder(name).await?.is_some() {
            return Err(mlops_core::Error::already_exists("experiment", name).into());
        }
        let created = ExpCreated {
            name: name.to_string(),
            tags: tags.to_vec(),
            creation_time: now_ms(),
        };
        let seq = self.exp_ids.append(to_json(&created)?).await?;
        let id = seq.to_string();
        match self.claim_name(name, &id).await? {
            Claim::Won => Ok(id),
            Claim::Taken => {
                // Lost the race for the name: void this id so no one sees it.
                self.exp_events(&id)?
                    .append(to_json(&ExpEvent::Abandoned)?)
                    .await?;
                Err(mlops_core::Error::already_exists("experiment", name).into())
            }
        }
    }

    /// The folded state, abandoned ids included.
    pub(super) async fn experiment_state_raw(&self, id: &str) -> Result<ExpState> {
        let not_found =
            || -> crate::Error { mlops_core::Error::not_found("experiment", id).into() };
        let seq: u64 = id.parse().map_err(|_| not_found())?;
        if seq == 0 || seq.to_string() != id {
            return Err(not_found());
        }
        let cached = self.caches().experiments.get(id).cloned();
        let mut st = match cached {
            Some(s) => s,
            None => {
                let raw = self.exp_ids.get(seq).await.map_err(|e| {
                    if e.kind() == mlops_core::ErrorKind::NotFound {
                        not_found()
                    } else {
                        e.into()
                    }
                })?;
                let created: ExpCreated = from_json("experiment", &raw)?;
                let loc = format!(
                    "{}/experiments/{id}",
                    self.storage.url().trim_end_matches('/')
                );
                ExpState::new(id, created, loc)
            }
        };
        let events = self.exp_events(id)?;
        for (s, raw) in events.read_from(st.seen + 1).await? {
            st.apply(s, from_json("experiment event", &raw)?);
        }
        let mut c = self.caches();
        let slot = c
            .experiments
            .entry(id.to_string())
            .or_insert_with(|| st.clone());
        if slot.seen <= st.seen {
            *slot = st.clone();
        }
        Ok(st)
    }

    /// The folded state of a visible (not abandoned) experiment.
    pub(super) async fn experiment_state(&self, id: &str) -> Result<ExpState> {
        let st = self.experiment_state_raw(id).await?;
        if st.abandoned {
            return Err(mlops_core::Error::not_found("experiment", id).into());
        }
        Ok(st)
    }

    pub(super) async fn experiment_by_name(&self, name: &str) -> Result<Experiment> {
        match self.name_holder(name).await? {
            Some(s) => Ok(s.exp),
            None => Err(mlops_core::Error::not_found("experiment", name).into()),
        }
    }

    pub(super) async fn append_exp_event(&self, id: &str, ev: ExpEvent) -> Result<()> {
        self.experiment_state(id).await?;
        self.exp_events(id)?.append(to_json(&ev)?).await?;
        Ok(())
    }

    pub(super) async fn rename_experiment_impl(&self, id: &str, new_name: &str) -> Result<()> {
        check_experiment_name(new_name)?;
        let st = self.experiment_state(id).await?;
        let old = st.exp.name.clone();
        if old == new_name {
            return Ok(());
        }
        match self.claim_name(new_name, id).await? {
            Claim::Won => {}
            Claim::Taken => {
                return Err(mlops_core::Error::already_exists("experiment", new_name).into());
            }
        }
        self.append_exp_event(
            id,
            ExpEvent::Renamed {
                name: new_name.to_string(),
                time: now_ms(),
            },
        )
        .await?;
        let old_key = self.name_key(&old)?;
        match self.storage.store().delete(&old_key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(mlops_core::Error::store(&old_key, e).into()),
        }
    }

    pub(super) async fn search_experiments_impl(
        &self,
        q: &SearchExperiments,
    ) -> Result<Page<Experiment>> {
        let filter = parse_filter(&q.filter)?;
        let mut order: Vec<OrderBy> = q
            .order_by
            .iter()
            .map(|o| parse_order_by(o))
            .collect::<Result<_>>()?;
        order.push(parse_order_by("creation_time DESC")?);
        order.push(parse_order_by("experiment_id DESC")?);
        let ids = self.exp_ids.list_from(1).await?;
        let states: Vec<ExpState> = futures::stream::iter(ids.into_iter().map(|seq| {
            let id = seq.to_string();
            async move { self.experiment_state_raw(&id).await }
        }))
        .buffered(16)
        .try_collect()
        .await?;
        let mut exps: Vec<Experiment> = states
            .into_iter()
            .filter(|s| !s.abandoned && q.view.shows(s.exp.lifecycle_stage))
            .map(|s| s.exp)
            .filter(|e| filter.matches(e))
            .collect();
        exps.sort_by(|a, b| compare(&order, a, b));
        let query = format!("exp|{}|{:?}|{}", q.filter, q.order_by, q.view.as_str());
        paginate(exps, q.max_results, q.page_token.as_deref(), &query)
    }
}
