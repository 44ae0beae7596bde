//! One view's join, start to end: index the entity rows, stream the feature source past the
//! index (keys, event time and created time only), then read back just the winning rows'
//! feature columns and place them in entity order.
//!
//! Memory: O(entity rows) for the index, the per-worker slots and the result mapping, plus the
//! decoded batches in flight; the source is never held whole and never sorted.

use super::Resolved;
use super::asof::{Micros, to_micros};
use super::index::{Encoded, EntityIndex, KeyCodec, NONE, Slots, merge_slots};
use super::parquet::{Job, ParquetFile, Unit, plan_units, run_jobs};
use crate::error::{Error, Result};
use arrow::array::{Array, ArrayRef, RecordBatch, new_null_array};
use arrow::compute::interleave;
use arrow::datatypes::{Field, Schema};
use std::sync::Arc;

/// What one view's join needs besides the entity rows.
pub(crate) struct ViewPlan<'a> {
    pub(crate) res: &'a Resolved,
    pub(crate) ts_col: &'a str,
    pub(crate) feats: &'a [String],
    pub(crate) ttl_us: i64,
    /// Event-time range any entity row can use: `[lo, hi]`.
    pub(crate) prune: Option<(&'a str, i64, i64)>,
    pub(crate) batch_rows: usize,
    pub(crate) workers: usize,
}

/// The entity side of a view, encoded with the view's key codec.
pub(crate) struct EntitySide {
    pub(crate) codec: Arc<KeyCodec>,
    pub(crate) keys: Encoded,
    pub(crate) ts: Micros,
    /// Entity rows with a non-null key and time (the only ones that can match).
    pub(crate) usable: Vec<u32>,
}

/// The output being assembled: gathered feature rows in chunks (chunk 0 is one row of nulls)
/// and, per entity row, where its value is.
pub(crate) struct Gathered {
    pub(crate) chunks: Vec<RecordBatch>,
    pub(crate) at: Vec<(usize, usize)>,
}

impl Gathered {
    /// Every entity row pointing at the null row.
    pub(crate) fn new(fields: &[Field], rows: usize) -> Result<Self> {
        let schema = Arc::new(Schema::new(fields.to_vec()));
        let nulls = fields
            .iter()
            .map(|f| new_null_array(f.data_type(), 1))
            .collect();
        Ok(Self {
            chunks: vec![RecordBatch::try_new(schema, nulls)?],
            at: vec![(0, 0); rows],
        })
    }

    /// Adds gathered rows: `rows` holds (global source position, batch, row in batch) sorted
    /// by position; each entity row of `entity_rows` whose winner in `winners` is among them
    /// gets it.
    pub(crate) fn place(
        &mut self,
        batches: Vec<RecordBatch>,
        rows: &[(u64, u32, u32)],
        entity_rows: &[u32],
        winners: &[u64],
    ) -> Result<()> {
        let base = self.chunks.len();
        self.chunks.extend(batches);
        for &e in entity_rows {
            let g = winners[e as usize];
            if g == NONE {
                continue;
            }
            let Ok(k) = rows.binary_search_by(|r| r.0.cmp(&g)) else {
                return Err(Error::invalid(
                    "source",
                    "",
                    "a winning feature row was not read back (did the source change?)",
                ));
            };
            self.at[e as usize] = (base + rows[k].1 as usize, rows[k].2 as usize);
        }
        Ok(())
    }

    /// The output columns, in entity order.
    pub(crate) fn finish(self) -> Result<Vec<ArrayRef>> {
        let ncols = self.chunks[0].num_columns();
        (0..ncols)
            .map(|c| {
                let arrays: Vec<&dyn Array> =
                    self.chunks.iter().map(|b| b.column(c).as_ref()).collect();
                Ok(interleave(&arrays, &self.at)?)
            })
            .collect()
    }
}

/// Decodes a batch laid out as keys, event time, [created]: encoded keys and key validity,
/// times.
pub(crate) fn batch_keys(
    codec: &KeyCodec,
    nkeys: usize,
    ts_col: &str,
    created: Option<&str>,
    batch: &RecordBatch,
) -> Result<(
    Encoded,
    Option<arrow::buffer::NullBuffer>,
    Micros,
    Option<Micros>,
)> {
    let (enc, nulls) = codec.encode(&batch.columns()[..nkeys])?;
    let ts = to_micros(ts_col, batch.column(nkeys))?;
    let cr = created
        .map(|c| to_micros(c, batch.column(nkeys + 1)))
        .transpose()?;
    Ok((enc, nulls, ts, cr))
}

/// Sorted distinct winners among `entity_rows`.
pub(crate) fn selection(entity_rows: &[u32], winners: &[u64]) -> Vec<u64> {
    let mut sel: Vec<u64> = entity_rows
        .iter()
        .map(|&e| winners[e as usize])
        .filter(|&g| g != NONE)
        .collect();
    sel.sort_unstable();
    sel.dedup();
    sel
}

/// Joins the view straight from its Parquet source (no spill): one streaming pass over keys
/// and times, one pass reading the winning rows' features.
pub(crate) async fn join_direct(
    plan: &ViewPlan<'_>,
    entity: &EntitySide,
    out: &mut Gathered,
) -> Result<()> {
    let res = plan.res;
    let files: Arc<[ParquetFile]> = res.files.clone().into();
    let units = plan_units(&files, plan.prune, plan.workers);
    let index = Arc::new(EntityIndex::build(
        &entity.keys,
        &entity.ts,
        entity.usable.clone(),
    ));
    let mut winners = vec![NONE; entity.ts.values.len()];
    let scan_jobs: Arc<Vec<Job>> = Arc::new(
        units
            .iter()
            .map(|u| Job {
                unit: u.clone(),
                select: None,
            })
            .collect(),
    );
    let mut cols = res.keys.clone();
    cols.push(plan.ts_col.to_string());
    cols.extend(res.created.iter().cloned());
    let each = {
        let (index, codec, jobs) = (index.clone(), entity.codec.clone(), scan_jobs.clone());
        let (nkeys, ts_col, created, ttl_us) = (
            res.keys.len(),
            plan.ts_col.to_string(),
            res.created.clone(),
            plan.ttl_us,
        );
        Arc::new(
            move |slots: &mut Slots, j: usize, k: usize, batch: RecordBatch| -> Result<()> {
                let (enc, nulls, ts, cr) =
                    batch_keys(&codec, nkeys, &ts_col, created.as_deref(), &batch)?;
                let job = &jobs[j];
                index.offer(slots, &enc, nulls.as_ref(), &ts, cr.as_ref(), ttl_us, |i| {
                    job.gid(k + i)
                });
                Ok(())
            },
        )
    };
    let idx2 = index.clone();
    let mut all = run_jobs(
        files.clone(),
        scan_jobs,
        Arc::new(cols),
        plan.batch_rows,
        plan.workers,
        move || idx2.slots(),
        each,
    )
    .await?;
    let Some(mut slots) = all.pop() else {
        return Ok(());
    };
    for s in &all {
        merge_slots(&mut slots, s);
    }
    drop(all);
    index.resolve(&slots, plan.ttl_us, &mut winners);
    drop(slots);
    drop(index);

    let sel = selection(&entity.usable, &winners);
    let (batches, rows) = gather_parquet(plan, &files, &units, &sel).await?;
    drop(sel);
    out.place(batches, &rows, &entity.usable, &winners)
}

/// Reads the feature columns of the rows at global positions `sel` (sorted, distinct).
/// Returns the batches and (position, batch, row) per row, sorted by position.
async fn gather_parquet(
    plan: &ViewPlan<'_>,
    files: &Arc<[ParquetFile]>,
    units: &[Unit],
    sel: &[u64],
) -> Result<(Vec<RecordBatch>, Vec<(u64, u32, u32)>)> {
    let mut jobs = Vec::new();
    for u in units {
        let lo = sel.partition_point(|&g| g < u.gid);
        let hi = sel.partition_point(|&g| g < u.gid + u.len() as u64);
        if lo < hi {
            jobs.push(Job {
                unit: u.clone(),
                select: Some(sel[lo..hi].to_vec()),
            });
        }
    }
    let jobs = Arc::new(jobs);
    type Got = Vec<(usize, usize, RecordBatch)>;
    let each = Arc::new(
        |got: &mut Got, j: usize, k: usize, batch: RecordBatch| -> Result<()> {
            got.push((j, k, batch));
            Ok(())
        },
    );
    let got = run_jobs(
        files.clone(),
        jobs.clone(),
        Arc::new(plan.feats.to_vec()),
        plan.batch_rows,
        plan.workers,
        Vec::new,
        each,
    )
    .await?;
    let mut got: Got = got.into_iter().flatten().collect();
    got.sort_unstable_by_key(|(j, k, _)| (*j, *k));
    let mut rows = Vec::with_capacity(sel.len());
    let mut batches = Vec::with_capacity(got.len());
    for (b, (j, k, batch)) in got.into_iter().enumerate() {
        for r in 0..batch.num_rows() {
            rows.push((jobs[j].gid(k + r), b as u32, r as u32));
        }
        batches.push(batch);
    }
    Ok((batches, rows))
}
