//! The memory-budget path: spill, then join one key partition at a time.
//!
//! One streaming pass over the (pruned, projected) Parquet source splits the feature rows by a
//! hash of their join keys into `parts` temporary Arrow IPC files, each row tagged with its
//! global source position (so full ties still go to the last row in source order). The entity
//! rows are split by the same hash. Then each partition is joined alone: its entity rows are
//! indexed, its spill file streamed past the index, and its winners read back from the same
//! file. The working set is one partition's entity index plus the batches in flight; the
//! source is read once. The temporary directory is removed when the join ends, also on error.

use super::asof::Micros;
use super::index::{EntityIndex, NONE};
use super::join::{EntitySide, Gathered, ViewPlan, batch_keys, selection};
use super::parquet::{Job, ParquetFile, plan_units, run_jobs};
use crate::error::{Error, Result};
use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, UInt32Array, UInt64Array};
use arrow::compute::{concat_batches, filter_record_batch, take_record_batch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::FileWriter;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The column holding each spilled row's global source position.
const GID: &str = "__mlops_source_row";

type Writer = FileWriter<BufWriter<File>>;

fn io(path: &Path, e: std::io::Error) -> Error {
    mlops_core::Error::io(path, e).into()
}

/// The spill files of one view, removed on drop.
struct Spill {
    _dir: tempfile::TempDir,
    paths: Vec<PathBuf>,
    schema: SchemaRef,
}

/// Joins the view in `parts` key partitions through spill files under `dir` (default: the
/// system temp dir).
pub(crate) async fn join_spilled(
    plan: &ViewPlan<'_>,
    entity: &EntitySide,
    parts: usize,
    dir: Option<&Path>,
    out: &mut Gathered,
) -> Result<()> {
    let spill = spill(plan, entity, parts, dir).await?;
    // Entity rows by partition (the same hash as the feature rows).
    let mut by_part: Vec<Vec<u32>> = vec![Vec::new(); parts];
    for &e in &entity.usable {
        by_part[(entity.keys.hash(e as usize) % parts as u64) as usize].push(e);
    }
    let mut winners = vec![NONE; entity.ts.values.len()];
    let nkeys = plan.res.keys.len();
    let created = plan.res.created.as_deref();
    // File columns: keys, ts, [created], features, GID.
    let ngid = spill.schema.fields().len() - 1;
    let key_cols: Vec<usize> = (0..nkeys + 1 + usize::from(created.is_some()))
        .chain([ngid])
        .collect();
    let feat_cols: Vec<usize> = (ngid - plan.feats.len()..=ngid).collect();
    for (p, rows) in by_part.into_iter().enumerate() {
        if rows.is_empty() {
            continue;
        }
        let path = &spill.paths[p];
        let index = EntityIndex::build(&entity.keys, &entity.ts, rows.clone());
        let mut slots = index.slots();
        for batch in read(path, &key_cols)? {
            let batch = batch?;
            let (enc, nulls, ts, cr) =
                batch_keys(&entity.codec, nkeys, plan.ts_col, created, &batch)?;
            let gid = gids(&batch, key_cols.len() - 1)?;
            index.offer(
                &mut slots,
                &enc,
                nulls.as_ref(),
                &ts,
                cr.as_ref(),
                plan.ttl_us,
                |i| gid.value(i),
            );
        }
        index.resolve(&slots, plan.ttl_us, &mut winners);
        drop((slots, index));
        let sel = selection(&rows, &winners);
        let mut batches = Vec::new();
        let mut found: Vec<(u64, u32, u32)> = Vec::with_capacity(sel.len());
        for batch in read(path, &feat_cols)? {
            let batch = batch?;
            let g = gids(&batch, plan.feats.len())?;
            let keep: BooleanArray = g
                .values()
                .iter()
                .map(|v| Some(sel.binary_search(v).is_ok()))
                .collect();
            if keep.true_count() == 0 {
                continue;
            }
            let kept = filter_record_batch(&batch, &keep)?;
            let g = gids(&kept, plan.feats.len())?;
            let b = batches.len() as u32;
            found.extend(
                g.values()
                    .iter()
                    .enumerate()
                    .map(|(r, &v)| (v, b, r as u32)),
            );
            let only_feats: Vec<usize> = (0..plan.feats.len()).collect();
            batches.push(kept.project(&only_feats)?);
        }
        // One batch per partition: spill pieces can be small, and every array carries overhead.
        let mut offsets = Vec::with_capacity(batches.len());
        let mut total = 0u32;
        for b in &batches {
            offsets.push(total);
            total += b.num_rows() as u32;
        }
        let Some(first) = batches.first() else {
            continue;
        };
        let merged = concat_batches(&first.schema(), &batches)?;
        drop(batches);
        for f in &mut found {
            *f = (f.0, 0, offsets[f.1 as usize] + f.2);
        }
        found.sort_unstable_by_key(|f| f.0);
        out.place(vec![merged], &found, &rows, &winners)?;
    }
    Ok(())
}

fn gids(batch: &RecordBatch, col: usize) -> Result<&UInt64Array> {
    batch
        .column(col)
        .as_any()
        .downcast_ref::<UInt64Array>()
        .ok_or_else(|| Error::invalid("spill file", GID, "not a u64 column"))
}

fn read(path: &Path, projection: &[usize]) -> Result<FileReader<std::io::BufReader<File>>> {
    let f = File::open(path).map_err(|e| io(path, e))?;
    Ok(FileReader::try_new_buffered(f, Some(projection.to_vec()))?)
}

/// Streams the source once, writing each usable feature row (non-null key and time, time in
/// the prune range) to the spill file of its key partition.
async fn spill(
    plan: &ViewPlan<'_>,
    entity: &EntitySide,
    parts: usize,
    dir: Option<&Path>,
) -> Result<Spill> {
    let res = plan.res;
    let base = dir.map_or_else(std::env::temp_dir, Path::to_path_buf);
    let tmp = tempfile::Builder::new()
        .prefix("mlops-pit-spill-")
        .tempdir_in(&base)
        .map_err(|e| io(&base, e))?;
    let source = res.files[0].schema();
    let mut fields: Vec<Field> = res
        .columns
        .iter()
        .map(|c| Ok(source.field_with_name(c)?.clone().with_nullable(true)))
        .collect::<Result<_>>()?;
    fields.push(Field::new(GID, DataType::UInt64, false));
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let mut paths = Vec::with_capacity(parts);
    let mut writers = Vec::with_capacity(parts);
    for p in 0..parts {
        let path = tmp.path().join(format!("part-{p:04}.arrow"));
        let f = File::create(&path).map_err(|e| io(&path, e))?;
        writers.push(Mutex::new(Some(FileWriter::try_new(
            BufWriter::new(f),
            &schema,
        )?)));
        paths.push(path);
    }
    let writers: Arc<Vec<Mutex<Option<Writer>>>> = Arc::new(writers);
    let files: Arc<[ParquetFile]> = res.files.clone().into();
    let jobs: Arc<Vec<Job>> = Arc::new(
        plan_units(&files, plan.prune, plan.workers)
            .into_iter()
            .map(|unit| Job { unit, select: None })
            .collect(),
    );
    let (lo, hi) = plan
        .prune
        .map_or((i64::MIN, i64::MAX), |(_, lo, hi)| (lo, hi));
    let each = {
        let (codec, jobs, writers, schema) = (
            entity.codec.clone(),
            jobs.clone(),
            writers.clone(),
            schema.clone(),
        );
        let (nkeys, ts_col, created) =
            (res.keys.len(), plan.ts_col.to_string(), res.created.clone());
        Arc::new(
            move |_: &mut (), j: usize, k: usize, batch: RecordBatch| -> Result<()> {
                let (enc, nulls, ts, _) =
                    batch_keys(&codec, nkeys, &ts_col, created.as_deref(), &batch)?;
                let usable = |i: usize| {
                    nulls.as_ref().is_none_or(|n| n.is_valid(i)) && valid_in(&ts, i, lo, hi)
                };
                // Counting sort of the usable rows by partition.
                let part: Vec<u32> = (0..batch.num_rows())
                    .map(|i| {
                        if usable(i) {
                            (enc.hash(i) % parts as u64) as u32
                        } else {
                            u32::MAX
                        }
                    })
                    .collect();
                let mut counts = vec![0usize; parts + 1];
                for &p in &part {
                    if p != u32::MAX {
                        counts[p as usize + 1] += 1;
                    }
                }
                for p in 0..parts {
                    counts[p + 1] += counts[p];
                }
                let mut order = vec![0u32; counts[parts]];
                let mut next = counts.clone();
                for (i, &p) in part.iter().enumerate() {
                    if p != u32::MAX {
                        order[next[p as usize]] = i as u32;
                        next[p as usize] += 1;
                    }
                }
                let job = &jobs[j];
                let gid: ArrayRef = Arc::new(UInt64Array::from_iter_values(
                    (0..batch.num_rows()).map(|i| job.gid(k + i)),
                ));
                let mut cols = batch.columns().to_vec();
                cols.push(gid);
                let full = RecordBatch::try_new(schema.clone(), cols)?;
                for p in 0..parts {
                    let (a, b) = (counts[p], counts[p + 1]);
                    if a == b {
                        continue;
                    }
                    let idx = UInt32Array::from(order[a..b].to_vec());
                    let piece = take_record_batch(&full, &idx)?;
                    let mut w = writers[p]
                        .lock()
                        .map_err(|_| Error::invalid("spill", "", "a writer panicked"))?;
                    if let Some(w) = w.as_mut() {
                        w.write(&piece)?;
                    }
                }
                Ok(())
            },
        )
    };
    run_jobs(
        files,
        jobs,
        Arc::new(res.columns.clone()),
        plan.batch_rows,
        plan.workers,
        || (),
        each,
    )
    .await?;
    for w in writers.iter() {
        let mut g = w
            .lock()
            .map_err(|_| Error::invalid("spill", "", "a writer panicked"))?;
        if let Some(mut w) = g.take() {
            w.finish()?;
        }
    }
    Ok(Spill {
        _dir: tmp,
        paths,
        schema,
    })
}

fn valid_in(ts: &Micros, i: usize, lo: i64, hi: i64) -> bool {
    ts.nulls.as_ref().is_none_or(|n| n.is_valid(i)) && (lo..=hi).contains(&ts.values[i])
}
