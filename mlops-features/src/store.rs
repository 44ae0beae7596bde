//! [`FeatureStore`]: applied definitions (versioned in an object store), training sets,
//! materialization into an online store, online reads.

use crate::definitions::{Definitions, DefinitionsDiff, FeatureView};
use crate::error::{Error, Result};
use crate::offline::asof::{latest_per_key, to_micros};
use crate::offline::{HistoricalOptions, get_historical_features, parquet::read_columns};
use crate::online::codec::{encode_key, encode_values, to_declared};
use crate::online::read::read_features;
use crate::online::{OnlineRow, OnlineStore};
use crate::types::{FeatureRef, ValueType};
use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{Field, Schema};
use chrono::{DateTime, Utc};
use mlops_core::Storage;
use mlops_core::seq::SeqLog;
use std::sync::Arc;

/// Rows per online write call.
const WRITE_CHUNK: usize = 10_000;

/// Options of an online read.
#[derive(Debug, Clone, Default)]
pub struct OnlineOptions {
    full_feature_names: bool,
    now: Option<DateTime<Utc>>,
}

impl OnlineOptions {
    /// Name output columns `<view>__<feature>`.
    pub fn with_full_feature_names(mut self, yes: bool) -> Self {
        self.full_feature_names = yes;
        self
    }
    /// The time ttl is measured from (default: the current time).
    pub fn with_now(mut self, now: DateTime<Utc>) -> Self {
        self.now = Some(now);
        self
    }
}

/// What one materialization did, per view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaterializeReport {
    /// `(view, rows written, watermark after)`.
    pub views: Vec<(String, usize, DateTime<Utc>)>,
}

/// The feature store: definitions applied as a whole and stored versioned under a
/// [`Storage`], the offline engine over their sources, and materialization.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_features::Result<()> {
/// use mlops_features::{Definitions, FeatureStore};
/// let fs = FeatureStore::new(mlops_core::Storage::memory())?;
/// assert_eq!(fs.version().await?, None);
/// assert_eq!(fs.apply(&Definitions::new()).await?, 1);
/// assert_eq!(fs.apply(&Definitions::new()).await?, 1); // unchanged: no new version
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct FeatureStore {
    log: SeqLog,
    /// Definitions for online reads: the last version applied or loaded by this handle.
    cache: std::sync::RwLock<Option<(u64, Arc<Definitions>)>>,
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

impl FeatureStore {
    /// A store keeping its definitions under `storage` (`feature_store/definitions/`).
    ///
    /// # Errors
    /// `Core` for an unusable storage prefix.
    pub fn new(storage: Storage) -> Result<Self> {
        Ok(Self {
            log: SeqLog::new(&storage, "feature_store/definitions")?,
            cache: std::sync::RwLock::new(None),
        })
    }

    /// Validates `defs` as a whole (names, references, every source's schema) and stores
    /// them as the next version. Identical definitions return the current version.
    ///
    /// # Errors
    /// Whatever [`Definitions::check`] and [`Definitions::check_sources`] report; nothing is
    /// stored then.
    pub async fn apply(&self, defs: &Definitions) -> Result<u64> {
        defs.check()?;
        defs.check_sources().await?;
        if let Some(v) = self.version().await?
            && &self.definitions_at(v).await? == defs
        {
            self.set_cache(v, defs.clone());
            return Ok(v);
        }
        let json = serde_json::to_vec(defs)
            .map_err(|e| Error::invalid("definitions", "", e.to_string()))?;
        let v = self.log.append(json.into()).await?;
        self.set_cache(v, defs.clone());
        Ok(v)
    }

    fn set_cache(&self, v: u64, defs: Definitions) -> Arc<Definitions> {
        // A poisoned lock only means another reader panicked; the data is still whole.
        let mut c = self.cache.write().unwrap_or_else(|e| e.into_inner());
        match c.as_ref() {
            Some((old, d)) if *old > v => d.clone(),
            _ => {
                let d = Arc::new(defs);
                *c = Some((v, d.clone()));
                d
            }
        }
    }

    /// Re-reads the latest definitions for online reads (another process may have applied).
    ///
    /// # Errors
    /// `Core(NotFound)` if nothing was applied yet.
    pub async fn refresh(&self) -> Result<Arc<Definitions>> {
        let v = self
            .version()
            .await?
            .ok_or_else(|| mlops_core::Error::not_found("feature store definitions", "latest"))?;
        let d = self.definitions_at(v).await?;
        Ok(self.set_cache(v, d))
    }

    /// The definitions online reads use: cached after the first load, an apply or a refresh.
    async fn cached(&self) -> Result<Arc<Definitions>> {
        if let Some((_, d)) = self
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            return Ok(d.clone());
        }
        self.refresh().await
    }

    /// The latest applied version, if any.
    ///
    /// # Errors
    /// `Core` on storage failures.
    pub async fn version(&self) -> Result<Option<u64>> {
        Ok(self.log.head().await?)
    }

    /// The definitions of `version`.
    ///
    /// # Errors
    /// `Core(NotFound)` for a version never applied.
    pub async fn definitions_at(&self, version: u64) -> Result<Definitions> {
        let bytes = self.log.get(version).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::invalid("stored definitions", version.to_string(), e.to_string()))
    }

    /// The latest definitions.
    ///
    /// # Errors
    /// `Core(NotFound)` if nothing was applied yet.
    pub async fn definitions(&self) -> Result<Definitions> {
        match self.version().await? {
            Some(v) => self.definitions_at(v).await,
            None => Err(mlops_core::Error::not_found("feature store definitions", "latest").into()),
        }
    }

    /// What changed from version `from` to version `to`.
    ///
    /// # Errors
    /// `Core(NotFound)` for an unknown version.
    pub async fn diff(&self, from: u64, to: u64) -> Result<DefinitionsDiff> {
        Ok(self
            .definitions_at(from)
            .await?
            .diff(&self.definitions_at(to).await?))
    }

    /// A point-in-time correct training set over the applied views (see
    /// [`get_historical_features`] for the semantics).
    ///
    /// # Errors
    /// As [`get_historical_features`]; `SchemaMismatch` if a source no longer matches its
    /// definition.
    pub async fn get_historical_features(
        &self,
        entity: &[RecordBatch],
        refs: &[FeatureRef],
        opts: &HistoricalOptions,
    ) -> Result<RecordBatch> {
        let defs = self.definitions().await?;
        let mut views = Vec::new();
        for r in refs {
            if !views
                .iter()
                .any(|v: &crate::HistoricalView| v.name() == r.view())
            {
                views.push(defs.historical_view(r.view())?);
            }
        }
        get_historical_features(entity, &views, refs, opts).await
    }

    /// Writes the latest row per entity key with event time in `[start, end]` of each view
    /// into `online`, then records `end` as the view's watermark. Re-running is idempotent.
    ///
    /// # Errors
    /// `UnknownView`; `SchemaMismatch` if a source no longer matches; `Online`.
    pub async fn materialize(
        &self,
        online: &dyn OnlineStore,
        views: &[&str],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<MaterializeReport> {
        let defs = self.definitions().await?;
        let mut report = Vec::new();
        for name in views {
            let v = defs.view(name).ok_or_else(|| Error::UnknownView {
                view: name.to_string(),
            })?;
            let n = materialize_view(&defs, v, online, micros(start), micros(end)).await?;
            report.push((name.to_string(), n, end));
        }
        Ok(MaterializeReport { views: report })
    }

    /// Materializes each view from its watermark (or, first time, from `end - ttl`, or from
    /// the beginning when the view has no ttl) up to `end`.
    ///
    /// # Errors
    /// As [`FeatureStore::materialize`].
    pub async fn materialize_incremental(
        &self,
        online: &dyn OnlineStore,
        views: &[&str],
        end: DateTime<Utc>,
    ) -> Result<MaterializeReport> {
        let defs = self.definitions().await?;
        let mut report = Vec::new();
        for name in views {
            let v = defs.view(name).ok_or_else(|| Error::UnknownView {
                view: name.to_string(),
            })?;
            let start = match online.watermark(name).await? {
                Some(w) => w,
                None if v.ttl_seconds > 0 => {
                    micros(end).saturating_sub(v.ttl_seconds as i64 * 1_000_000)
                }
                None => i64::MIN,
            };
            let n = materialize_view(&defs, v, online, start, micros(end)).await?;
            report.push((name.to_string(), n, end));
        }
        Ok(MaterializeReport { views: report })
    }

    /// Reads the latest materialized features for `entity` rows (which carry the views'
    /// join keys). Missing keys, and rows older than the view's ttl at `now`, give nulls.
    /// Output: the entity columns, then the features (grouped by view, request order).
    ///
    /// Uses the definitions this handle last applied or loaded (no object-store round trip
    /// per read); call [`FeatureStore::refresh`] to pick up another process's apply.
    ///
    /// # Errors
    /// `UnknownView`/`UnknownFeature`; `MissingEntityColumn`; `NameCollision`; `Online`.
    pub async fn get_online_features(
        &self,
        online: &dyn OnlineStore,
        entity: &RecordBatch,
        refs: &[FeatureRef],
        opts: &OnlineOptions,
    ) -> Result<RecordBatch> {
        let defs = self.cached().await?;
        let now = micros(opts.now.unwrap_or_else(Utc::now));
        // Group by view, in order of first reference.
        let mut groups: Vec<(&FeatureView, Vec<(String, ValueType)>)> = Vec::new();
        for r in refs {
            let v = defs.view(r.view()).ok_or_else(|| Error::UnknownView {
                view: r.view().to_string(),
            })?;
            let f = v
                .features
                .iter()
                .find(|f| f.name == r.feature())
                .ok_or_else(|| Error::UnknownFeature {
                    view: r.view().to_string(),
                    feature: r.feature().to_string(),
                })?;
            match groups.iter_mut().find(|(g, _)| g.name == v.name) {
                Some((_, fs)) => {
                    if !fs.iter().any(|(n, _)| n == &f.name) {
                        fs.push((f.name.clone(), f.value_type));
                    }
                }
                None => groups.push((v, vec![(f.name.clone(), f.value_type)])),
            }
        }
        let mut fields: Vec<Field> = entity
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let mut columns: Vec<ArrayRef> = entity.columns().to_vec();
        for (v, wanted) in groups {
            let keys = defs.join_keys(v)?;
            let cols = keys
                .iter()
                .map(|k| {
                    let a = entity.column_by_name(&k.name).ok_or_else(|| {
                        Error::MissingEntityColumn {
                            column: k.name.clone(),
                            role: "join key",
                        }
                    })?;
                    Ok((to_declared(&k.name, a, k.value_type)?, k.value_type))
                })
                .collect::<Result<Vec<_>>>()?;
            let ttl_us = v.ttl_seconds.saturating_mul(1_000_000) as i64;
            let min_event_ts = if ttl_us > 0 {
                now.saturating_sub(ttl_us)
            } else {
                i64::MIN
            };
            let read = read_features(
                online,
                &v.name,
                &cols,
                entity.num_rows(),
                &wanted,
                min_event_ts,
            )
            .await?;
            for ((name, vt), col) in wanted.iter().zip(read) {
                let out = if opts.full_feature_names {
                    format!("{}__{name}", v.name)
                } else {
                    name.clone()
                };
                if fields.iter().any(|f| f.name() == &out) {
                    return Err(Error::NameCollision { name: out });
                }
                fields.push(Field::new(out, vt.arrow_type(), true));
                columns.push(col);
            }
        }
        Ok(RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns,
        )?)
    }
}

async fn materialize_view(
    defs: &Definitions,
    v: &FeatureView,
    online: &dyn OnlineStore,
    start: i64,
    end: i64,
) -> Result<usize> {
    let files = defs.check_view_source(v).await?;
    let keys = defs.join_keys(v)?;
    let ts_col = v.source.timestamp_field.as_str();
    let mut columns: Vec<String> = keys.iter().map(|k| k.name.clone()).collect();
    columns.push(ts_col.to_string());
    columns.extend(v.source.created_timestamp_column.iter().cloned());
    columns.extend(v.features.iter().map(|f| f.name.clone()));
    let data = read_columns(&files, &columns, Some((ts_col, start, end))).await?;
    let col = |n: &str| {
        data.column_by_name(n)
            .cloned()
            .ok_or_else(|| Error::invalid("column", n.to_string(), "missing"))
    };
    let key_cols: Vec<(ArrayRef, ValueType)> = keys
        .iter()
        .map(|k| {
            Ok((
                to_declared(&k.name, &col(&k.name)?, k.value_type)?,
                k.value_type,
            ))
        })
        .collect::<Result<_>>()?;
    let ts = to_micros(ts_col, &col(ts_col)?)?;
    let created = match &v.source.created_timestamp_column {
        Some(c) => Some(to_micros(c, &col(c)?)?),
        None => None,
    };
    let raw_keys: Vec<ArrayRef> = key_cols.iter().map(|(a, _)| a.clone()).collect();
    let latest = latest_per_key(&raw_keys, &ts, created.as_ref(), start, end)?;
    let feats: Vec<(String, ArrayRef, ValueType)> = v
        .features
        .iter()
        .map(|f| {
            Ok((
                f.name.clone(),
                to_declared(&f.name, &col(&f.name)?, f.value_type)?,
                f.value_type,
            ))
        })
        .collect::<Result<_>>()?;
    let feat_refs: Vec<(&str, ArrayRef, ValueType)> = feats
        .iter()
        .map(|(n, a, t)| (n.as_str(), a.clone(), *t))
        .collect();
    let mut written = 0;
    for chunk in latest.chunks(WRITE_CHUNK) {
        let rows: Vec<OnlineRow> = chunk
            .iter()
            .filter_map(|&i| {
                let i = i as usize;
                Some(OnlineRow {
                    key: encode_key(&key_cols, i)?,
                    event_ts: ts.values[i],
                    created_ts: created.as_ref().map_or(0, |c| {
                        if c.nulls.as_ref().is_none_or(|n| n.is_valid(i)) {
                            c.values[i]
                        } else {
                            i64::MIN
                        }
                    }),
                    value: encode_values(&feat_refs, i),
                })
            })
            .collect();
        written += rows.len();
        online.write(&v.name, rows).await?;
    }
    online.set_watermark(&v.name, end).await?;
    tracing::debug!(view = %v.name, rows = written, watermark = %from_micros(end), "materialized");
    Ok(written)
}
