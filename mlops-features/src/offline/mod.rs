//! The offline engine: point-in-time correct training sets from Parquet sources.
//!
//! Semantics (one output row per entity row, in entity order; inclusive `<=` event time;
//! inclusive ttl window; ties to the greatest `created`; null when no candidate; no
//! fallback to older values; UTC instants at µs precision) are those of
//! `shared/testdata/pit/README.md`, which Feast's SQL stores implement.
//!
//! Per view, the engine sorts the entity rows by (keys, time) into an index ([`index`]), streams
//! the source's keys and times past it in row-group slices on every core (never sorting or
//! holding the source), then reads back only the winning rows' features ([`join`]). Under a
//! memory budget, a large source is first spilled by key hash and joined partition by
//! partition ([`partition`]).

pub(crate) mod asof;
pub(crate) mod index;
mod join;
pub(crate) mod parquet;
mod partition;

use crate::error::{Error, Result};
use crate::types::{FeatureRef, SourceLocation, ValueType};
use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Field, Schema};
use asof::{Micros, to_micros};
use futures::TryStreamExt;
use index::KeyCodec;
use join::{EntitySide, Gathered, ViewPlan};
use mlops_core::object_store::ObjectStore;
use parquet::ParquetFile;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// One feature view as the offline engine sees it: a source and how to read it.
///
/// ```
/// use mlops_features::{HistoricalView, SourceLocation};
/// use std::time::Duration;
/// let v = HistoricalView::new("driver_stats", SourceLocation::new(mlops_core::Storage::memory(), Some("d.parquet".into())))
///     .with_join_keys(["driver_id"])
///     .with_ttl(Duration::from_secs(6 * 3600));
/// assert_eq!(v.name(), "driver_stats");
/// ```
#[derive(Debug, Clone)]
pub struct HistoricalView {
    name: String,
    source: SourceLocation,
    join_keys: Option<Vec<String>>,
    timestamp_field: String,
    created_field: Option<String>,
    created_required: bool,
    ttl: Duration,
    declared: Option<Vec<(String, ValueType)>>,
}

impl HistoricalView {
    /// A view `name` over `source`: join keys default to the entity columns the source also
    /// has, event time to `event_timestamp`, created time to `created` (if present), no ttl.
    pub fn new(name: impl Into<String>, source: SourceLocation) -> Self {
        Self {
            name: name.into(),
            source,
            join_keys: None,
            timestamp_field: "event_timestamp".into(),
            created_field: Some("created".into()),
            created_required: false,
            ttl: Duration::ZERO,
            declared: None,
        }
    }

    /// The join keys (all must be equal; empty joins on time alone).
    pub fn with_join_keys<I: IntoIterator<Item = S>, S: Into<String>>(mut self, keys: I) -> Self {
        self.join_keys = Some(keys.into_iter().map(Into::into).collect());
        self
    }

    /// The event-time column of the source.
    pub fn with_timestamp_field(mut self, col: impl Into<String>) -> Self {
        self.timestamp_field = col.into();
        self
    }

    /// The created-time column (tie-breaker); it must then exist. `None`: no tie-breaker.
    pub fn with_created_field(mut self, col: Option<String>) -> Self {
        self.created_required = col.is_some();
        self.created_field = col;
        self
    }

    /// Maximum age of a feature row relative to each entity row; zero means unlimited.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Declared features and types: requests are checked against them and the source
    /// must match them.
    pub fn with_declared_features(mut self, features: Vec<(String, ValueType)>) -> Self {
        self.declared = Some(features);
        self
    }

    /// The view name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The source.
    pub fn source(&self) -> &SourceLocation {
        &self.source
    }

    /// The ttl (zero = unlimited).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The event-time column.
    pub fn timestamp_field(&self) -> &str {
        &self.timestamp_field
    }

    fn ttl_us(&self) -> i64 {
        i64::try_from(self.ttl.as_micros()).unwrap_or(i64::MAX)
    }
}

/// Options of a historical (training set) request.
#[derive(Debug, Clone, Default)]
pub struct HistoricalOptions {
    full_feature_names: bool,
    entity_timestamp: Option<String>,
    memory_budget: Option<u64>,
    spill_dir: Option<PathBuf>,
}

impl HistoricalOptions {
    /// Name output columns `<view>__<feature>` (otherwise the bare feature name; a
    /// collision is then an error).
    pub fn with_full_feature_names(mut self, yes: bool) -> Self {
        self.full_feature_names = yes;
        self
    }

    /// The entity timestamp column (default `event_timestamp`, else the only timestamp column).
    pub fn with_entity_timestamp(mut self, col: impl Into<String>) -> Self {
        self.entity_timestamp = Some(col.into());
        self
    }

    /// A memory budget in bytes for the join's working set.
    ///
    /// Without a budget, each view's source is streamed (keys and times first, then only the
    /// winning rows' features), so memory already grows with the entity rows, not the source.
    /// With a budget, decoded batches shrink to fit it, and a view whose projected source
    /// (estimated as decoded Arrow arrays) is at least 4× the budget is joined in key-hash
    /// partitions: one pass over the source spills its rows by key hash to temporary Arrow IPC
    /// files (see [`Self::with_spill_dir`]), then each partition's entity rows are joined with
    /// its spill file alone, enough partitions (at most 512) that each partition's feature
    /// rows and entity working set fit the budget.
    ///
    /// Not counted: the caller's entity rows, the output (and 32 bytes per entity row to place
    /// it), and one row group's compressed column chunks per core, which Parquet reads whole.
    pub fn with_memory_budget(mut self, bytes: u64) -> Self {
        self.memory_budget = Some(bytes);
        self
    }

    /// Where spill files go under a memory budget (default: the system temp dir). A fresh
    /// directory is made inside it and removed when the request ends.
    pub fn with_spill_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spill_dir = Some(dir.into());
        self
    }
}

/// Lists the Parquet files of a source and opens them.
pub(crate) async fn open_source(view: &str, loc: &SourceLocation) -> Result<Vec<ParquetFile>> {
    let storage = loc.storage();
    let store: Arc<dyn ObjectStore> = storage.store().clone();
    let paths = match loc.object() {
        Some(o) => vec![storage.path(o)?],
        None => {
            let mut metas: Vec<_> = store
                .list(Some(storage.prefix()))
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| mlops_core::Error::store(loc, e))?;
            metas.retain(|m| m.location.as_ref().ends_with(".parquet"));
            metas.sort_by(|a, b| a.location.cmp(&b.location));
            metas.into_iter().map(|m| m.location).collect()
        }
    };
    if paths.is_empty() {
        return Err(Error::SchemaMismatch {
            view: view.to_string(),
            location: loc.to_string(),
            column: String::new(),
            reason: "no parquet files found".into(),
        });
    }
    let opens = paths.into_iter().map(|p| {
        let location = format!("{}/{}", storage.url().trim_end_matches('/'), p.as_ref());
        ParquetFile::open(store.clone(), p, location)
    });
    futures::future::try_join_all(opens).await
}

/// Reads Parquet files (a local path, a URL or prefix) as one record batch with every column.
///
/// # Errors
/// `Parquet`/`Core` when the input cannot be read.
pub async fn read_parquet(loc: &SourceLocation) -> Result<RecordBatch> {
    let files = open_source("input", loc).await?;
    parquet::read_all(&files).await
}

/// Rows per slice handed to the Parquet writer.
const WRITE_ROWS: usize = 64 * 1024;

/// Writes `batches` as one Parquet file at `path` on the local disk (row groups of at most
/// 256Ki rows, written in slices).
///
/// # Errors
/// `Parquet`/`Core(Io)` when the file cannot be written.
pub fn write_parquet_file(path: &std::path::Path, batches: &[RecordBatch]) -> Result<()> {
    use ::parquet::arrow::ArrowWriter;
    use ::parquet::basic::Compression;
    use ::parquet::file::properties::WriterProperties;
    let Some(first) = batches.first() else {
        return Err(Error::invalid(
            "output",
            path.display().to_string(),
            "no batches",
        ));
    };
    let file = std::fs::File::create(path).map_err(|e| mlops_core::Error::io(path, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(WRITE_ROWS * 4))
        .build();
    let loc = path.display().to_string();
    let mut w = ArrowWriter::try_new(file, first.schema(), Some(props))
        .map_err(|e| Error::parquet(&loc, e))?;
    // Slices, so the encoder's buffers stay small whatever the batch size.
    for b in batches {
        let mut at = 0;
        while at < b.num_rows() {
            let len = WRITE_ROWS.min(b.num_rows() - at);
            w.write(&b.slice(at, len))
                .map_err(|e| Error::parquet(&loc, e))?;
            at += len;
        }
    }
    w.close().map_err(|e| Error::parquet(&loc, e))?;
    Ok(())
}

/// Builds a point-in-time correct training set.
///
/// For every entity row (join keys + timestamp) and every requested view, the chosen
/// feature row is the one with the same keys, the greatest event time `<=` the entity time,
/// within the view's ttl (inclusive; zero = unlimited), ties going to the greatest created
/// time (null lowest). No candidate gives nulls. The output has one row per entity row in
/// entity order: every entity column unchanged, then per view (in order of first reference)
/// and per feature (in request order) a nullable column of the feature's type.
///
/// # Errors
/// * `MissingEntityColumn`: the entity rows lack a join key or the timestamp.
/// * `UnknownView` / `UnknownFeature`: a reference to something not given.
/// * `SchemaMismatch`: a source lacks a column or has another type than declared.
/// * `NameCollision`: bare feature names collide.
pub async fn get_historical_features(
    entity: &[RecordBatch],
    views: &[HistoricalView],
    refs: &[FeatureRef],
    opts: &HistoricalOptions,
) -> Result<RecordBatch> {
    let Some(first) = entity.first() else {
        return Err(Error::invalid("entity rows", "", "no record batch given"));
    };
    let entity = concat_batches(&first.schema(), entity)?;
    let ets_name = entity_timestamp(&entity, opts)?;
    let ets = to_micros(
        &ets_name,
        entity
            .column_by_name(&ets_name)
            .ok_or_else(|| Error::MissingEntityColumn {
                column: ets_name.clone(),
                role: "timestamp",
            })?,
    )?;
    let groups = group_refs(views, refs)?;

    // Output names, checked for collisions up front (before any I/O).
    let mut names: Vec<String> = entity
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    for (v, feats) in &groups {
        for f in feats {
            let n = if opts.full_feature_names {
                format!("{}__{f}", views[*v].name)
            } else {
                f.clone()
            };
            if names.contains(&n) {
                return Err(Error::NameCollision { name: n });
            }
            names.push(n);
        }
    }
    let range = time_range(&ets);
    let mut fields: Vec<Field> = entity
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns: Vec<ArrayRef> = entity.columns().to_vec();
    for (v, feats) in &groups {
        let (fs, cs) = join_view(&entity, &ets_name, &ets, range, &views[*v], feats, opts).await?;
        fields.extend(fs);
        columns.extend(cs);
    }
    for (f, n) in fields.iter_mut().zip(&names) {
        if f.name() != n {
            *f = f.clone().with_name(n.clone());
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

fn entity_timestamp(entity: &RecordBatch, opts: &HistoricalOptions) -> Result<String> {
    if let Some(c) = &opts.entity_timestamp {
        return match entity.schema().field_with_name(c) {
            Ok(_) => Ok(c.clone()),
            Err(_) => Err(Error::MissingEntityColumn {
                column: c.clone(),
                role: "timestamp",
            }),
        };
    }
    let schema = entity.schema();
    if schema.field_with_name("event_timestamp").is_ok() {
        return Ok("event_timestamp".into());
    }
    let ts: Vec<_> = schema
        .fields()
        .iter()
        .filter(|f| matches!(f.data_type(), DataType::Timestamp(_, _)))
        .collect();
    match ts.as_slice() {
        [only] => Ok(only.name().clone()),
        _ => Err(Error::MissingEntityColumn {
            column: "event_timestamp".into(),
            role: "timestamp",
        }),
    }
}

/// Groups references by view, views in order of first reference, features in request order.
fn group_refs(views: &[HistoricalView], refs: &[FeatureRef]) -> Result<Vec<(usize, Vec<String>)>> {
    let mut groups: Vec<(usize, Vec<String>)> = Vec::new();
    for r in refs {
        let Some(vi) = views.iter().position(|v| v.name == r.view()) else {
            return Err(Error::UnknownView {
                view: r.view().to_string(),
            });
        };
        if let Some(d) = &views[vi].declared
            && !d.iter().any(|(n, _)| n == r.feature())
        {
            return Err(Error::UnknownFeature {
                view: r.view().to_string(),
                feature: r.feature().to_string(),
            });
        }
        match groups.iter_mut().find(|(g, _)| *g == vi) {
            Some((_, fs)) => {
                if !fs.iter().any(|f| f == r.feature()) {
                    fs.push(r.feature().to_string());
                }
            }
            None => groups.push((vi, vec![r.feature().to_string()])),
        }
    }
    Ok(groups)
}

fn time_range(ts: &Micros) -> Option<(i64, i64)> {
    let mut it = ts
        .values
        .iter()
        .enumerate()
        .filter(|(i, _)| ts.nulls.as_ref().is_none_or(|n| n.is_valid(*i)))
        .map(|(_, v)| *v);
    let first = it.next()?;
    Some(it.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v))))
}

/// What one view contributes: its resolved columns and schema checks done.
pub(crate) struct Resolved {
    pub(crate) files: Vec<ParquetFile>,
    pub(crate) keys: Vec<String>,
    pub(crate) created: Option<String>,
    /// Columns to read: keys, event time, created, features.
    pub(crate) columns: Vec<String>,
}

fn mismatch(
    view: &HistoricalView,
    file: &ParquetFile,
    column: &str,
    reason: impl Into<String>,
) -> Error {
    Error::SchemaMismatch {
        view: view.name.clone(),
        location: file.location.clone(),
        column: column.to_string(),
        reason: reason.into(),
    }
}

/// Opens the view's source and checks every column the request needs.
pub(crate) async fn resolve(
    entity: &RecordBatch,
    ets_name: &str,
    view: &HistoricalView,
    feats: &[String],
) -> Result<Resolved> {
    let files = open_source(&view.name, &view.source).await?;
    let schema = files[0].schema().clone();
    let keys = match &view.join_keys {
        Some(k) => k.clone(),
        None => {
            let skip = |n: &str| {
                n == ets_name
                    || n == view.timestamp_field
                    || view.created_field.as_deref() == Some(n)
                    || feats.iter().any(|f| f == n)
            };
            let k: Vec<String> = entity
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .filter(|n| !skip(n) && schema.field_with_name(n).is_ok())
                .collect();
            if k.is_empty() {
                return Err(Error::invalid(
                    "join keys",
                    &view.name,
                    "the entity rows share no column with the view's source; give join_keys",
                ));
            }
            k
        }
    };
    for k in &keys {
        if entity.schema().field_with_name(k).is_err() {
            return Err(Error::MissingEntityColumn {
                column: k.clone(),
                role: "join key",
            });
        }
    }
    let created = match &view.created_field {
        Some(c) if schema.field_with_name(c).is_ok() || view.created_required => Some(c.clone()),
        _ => None,
    };
    let mut columns = keys.clone();
    columns.push(view.timestamp_field.clone());
    columns.extend(created.iter().cloned());
    columns.extend(feats.iter().cloned());
    for file in &files {
        let s = file.schema();
        for c in &columns {
            let Ok(field) = s.field_with_name(c) else {
                if feats.contains(c) && view.declared.is_none() {
                    return Err(Error::UnknownFeature {
                        view: view.name.clone(),
                        feature: c.clone(),
                    });
                }
                return Err(mismatch(view, file, c, "is missing"));
            };
            let want = schema.field_with_name(c)?.data_type();
            if field.data_type() != want {
                return Err(mismatch(
                    view,
                    file,
                    c,
                    format!(
                        "has type {} here but {want} in {}",
                        field.data_type(),
                        files[0].location
                    ),
                ));
            }
        }
        if let Some(d) = &view.declared {
            for f in feats {
                if let Some((_, t)) = d.iter().find(|(n, _)| n == f) {
                    let got = s.field_with_name(f)?.data_type();
                    if !t.accepts(got) {
                        return Err(mismatch(
                            view,
                            file,
                            f,
                            format!("has type {got}, declared {t}"),
                        ));
                    }
                }
            }
        }
    }
    Ok(Resolved {
        files,
        keys,
        created,
        columns,
    })
}

/// Casts the entity's key columns to the source's key types.
pub(crate) fn entity_keys(
    entity: &RecordBatch,
    keys: &[String],
    source: &Schema,
) -> Result<Vec<ArrayRef>> {
    keys.iter()
        .map(|k| {
            let col = entity
                .column_by_name(k)
                .ok_or_else(|| Error::MissingEntityColumn {
                    column: k.clone(),
                    role: "join key",
                })?;
            let want = source.field_with_name(k)?.data_type();
            if col.data_type() == want {
                return Ok(col.clone());
            }
            cast(col, want).map_err(|e| {
                Error::invalid(
                    "join key",
                    k.clone(),
                    format!(
                        "entity type {} does not convert to {want}: {e}",
                        col.data_type()
                    ),
                )
            })
        })
        .collect()
}

/// Bytes per decoded feature row of `columns` (strings and binaries guessed at 16).
fn row_width(schema: &Schema, columns: &[String]) -> u64 {
    columns
        .iter()
        .map(|c| {
            schema
                .field_with_name(c)
                .ok()
                .and_then(|f| f.data_type().primitive_width())
                .unwrap_or(16) as u64
                + 1
        })
        .sum()
}

async fn join_view(
    entity: &RecordBatch,
    ets_name: &str,
    ets: &Micros,
    range: Option<(i64, i64)>,
    view: &HistoricalView,
    feats: &[String],
    opts: &HistoricalOptions,
) -> Result<(Vec<Field>, Vec<ArrayRef>)> {
    let res = resolve(entity, ets_name, view, feats).await?;
    let schema = res.files[0].schema().clone();
    let fields: Vec<Field> = feats
        .iter()
        .map(|f| {
            Ok(Field::new(
                f.clone(),
                schema.field_with_name(f)?.data_type().clone(),
                true,
            ))
        })
        .collect::<Result<_>>()?;
    let ekeys = entity_keys(entity, &res.keys, &schema)?;
    let n = entity.num_rows();
    let mut out = Gathered::new(&fields, n)?;
    let ttl_us = view.ttl_us();
    let Some((lo, hi)) = range else {
        // No usable entity timestamp: every feature is null.
        return Ok((fields, out.finish()?));
    };
    let lo = if ttl_us > 0 {
        lo.saturating_sub(ttl_us)
    } else {
        i64::MIN
    };
    let types: Vec<_> = ekeys.iter().map(|k| k.data_type().clone()).collect();
    let codec = Arc::new(KeyCodec::new(&types)?);
    let (keys, key_nulls) = codec.encode(&ekeys)?;
    drop(ekeys);
    let usable: Vec<u32> = (0..n)
        .filter(|&i| {
            key_nulls.as_ref().is_none_or(|b| b.is_valid(i))
                && ets.nulls.as_ref().is_none_or(|b| b.is_valid(i))
        })
        .map(|i| i as u32)
        .collect();
    let side = EntitySide {
        codec,
        keys,
        ts: Micros {
            values: ets.values.clone(),
            nulls: ets.nulls.clone(),
        },
        usable,
    };
    let workers = parquet::workers();
    let width = row_width(&schema, &res.columns);
    let mut plan = ViewPlan {
        res: &res,
        ts_col: &view.timestamp_field,
        feats,
        ttl_us,
        prune: Some((view.timestamp_field.as_str(), lo, hi)),
        batch_rows: parquet::BATCH_ROWS,
        workers,
    };
    let Some(budget) = opts.memory_budget.filter(|b| *b > 0) else {
        join::join_direct(&plan, &side, &mut out).await?;
        return Ok((fields, out.finish()?));
    };
    // Decoded batches in flight (one per worker, plus its pieces) take at most a quarter.
    plan.batch_rows = (budget / (8 * workers as u64 * width).max(1))
        .clamp(256, parquet::BATCH_ROWS as u64) as usize;
    let source: u64 = res
        .files
        .iter()
        .map(|f| f.estimated_bytes(&res.columns))
        .sum();
    // Per indexed entity row: the index (12 B, 24 B while sorting), the slots (24 B per worker),
    // and its gathered feature row.
    let per_entity = 24 + 24 * workers as u64 + width;
    let working = side.usable.len() as u64 * per_entity;
    if source >= budget.saturating_mul(4) && !res.keys.is_empty() {
        let parts = source
            .div_ceil(budget)
            .max(working.div_ceil(budget / 2 + 1))
            .clamp(2, MAX_PARTS);
        partition::join_spilled(
            &plan,
            &side,
            parts as usize,
            opts.spill_dir.as_deref(),
            &mut out,
        )
        .await?;
    } else {
        join::join_direct(&plan, &side, &mut out).await?;
    }
    Ok((fields, out.finish()?))
}

/// At most this many spill files are open at once.
const MAX_PARTS: u64 = 512;
