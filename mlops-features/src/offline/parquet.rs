//! Parquet input over any object store: our own `AsyncFileReader`, column projection,
//! row-group pruning on event-time statistics, and column groups decoded in parallel.

use crate::error::{Error, Result};
use crate::offline::asof::to_micros;
use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::concat;
use arrow::datatypes::{Field, Schema, SchemaRef};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use mlops_core::object_store::path::Path;
use mlops_core::object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::arrow::arrow_reader::{RowSelection, RowSelector};
use parquet::arrow::async_reader::ParquetRecordBatchStream;
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

/// Rows per decoded batch.
pub(crate) const BATCH_ROWS: usize = 64 * 1024;

/// An `AsyncFileReader` over one object of an object store.
#[derive(Clone)]
struct ObjectReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
}

fn external(e: mlops_core::object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for ObjectReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(external)
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(external)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let meta = ParquetMetaDataReader::new()
                .with_prefetch_hint(Some(64 * 1024))
                .load_and_finish(&mut *self, size)
                .await?;
            Ok(Arc::new(meta))
        }
        .boxed()
    }
}

/// One opened Parquet file: its footer is read once.
#[derive(Clone)]
pub(crate) struct ParquetFile {
    reader: ObjectReader,
    meta: ArrowReaderMetadata,
    /// Where it is, for messages.
    pub(crate) location: String,
}

impl std::fmt::Debug for ParquetFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetFile")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl ParquetFile {
    /// Opens `path` and reads its footer.
    pub(crate) async fn open(
        store: Arc<dyn ObjectStore>,
        path: Path,
        location: String,
    ) -> Result<Self> {
        let head = store
            .head(&path)
            .await
            .map_err(|e| mlops_core::Error::store(&location, e))?;
        let mut reader = ObjectReader {
            store,
            path,
            size: head.size,
        };
        let meta = ArrowReaderMetadata::load_async(&mut reader, ArrowReaderOptions::new())
            .await
            .map_err(|e| Error::parquet(&location, e))?;
        Ok(Self {
            reader,
            meta,
            location,
        })
    }

    /// The Arrow schema of the file.
    pub(crate) fn schema(&self) -> &SchemaRef {
        self.meta.schema()
    }

    /// Estimated in-memory (Arrow) bytes of the named columns: per row group and column, the
    /// larger of the uncompressed Parquet size and rows × the Arrow value width (dictionary
    /// encoding makes the former far smaller than the decoded arrays).
    pub(crate) fn estimated_bytes(&self, columns: &[String]) -> u64 {
        let descr = self.meta.parquet_schema();
        let wanted: Vec<(usize, u64)> = (0..descr.num_columns())
            .filter_map(|i| {
                let root = descr.get_column_root(i).name();
                columns.iter().any(|c| c == root).then(|| {
                    let width = self
                        .schema()
                        .field_with_name(root)
                        .ok()
                        .and_then(|f| f.data_type().primitive_width())
                        .unwrap_or(4) as u64;
                    (i, width)
                })
            })
            .collect();
        self.meta
            .metadata()
            .row_groups()
            .iter()
            .map(|rg| {
                let rows = rg.num_rows().max(0) as u64;
                wanted
                    .iter()
                    .map(|&(i, w)| (rg.column(i).uncompressed_size().max(0) as u64).max(rows * w))
                    .sum::<u64>()
            })
            .sum()
    }

    /// Row groups whose `ts_column` statistics may hold times in `[lo, hi]` (µs UTC);
    /// groups without statistics are kept.
    fn row_groups(&self, prune: Option<(&str, i64, i64)>) -> Vec<usize> {
        let meta = self.meta.metadata();
        let all: Vec<usize> = (0..meta.num_row_groups()).collect();
        let Some((col, lo, hi)) = prune else {
            return all;
        };
        let Ok(conv) = StatisticsConverter::try_new(col, self.schema(), self.meta.parquet_schema())
        else {
            return all;
        };
        let (Ok(mins), Ok(maxs)) = (
            conv.row_group_mins(meta.row_groups()),
            conv.row_group_maxes(meta.row_groups()),
        ) else {
            return all;
        };
        let (Ok(mins), Ok(maxs)) = (to_micros(col, &mins), to_micros(col, &maxs)) else {
            return all;
        };
        all.into_iter()
            .filter(|&i| {
                let below =
                    maxs.nulls.as_ref().is_none_or(|n| n.is_valid(i)) && maxs.values[i] < lo;
                let above =
                    mins.nulls.as_ref().is_none_or(|n| n.is_valid(i)) && mins.values[i] > hi;
                !(below || above)
            })
            .collect()
    }

    /// A stream over one job's rows, projected to `columns`.
    fn stream(
        &self,
        job: &Job,
        columns: &[String],
        batch_rows: usize,
    ) -> Result<ParquetRecordBatchStream<ObjectReader>> {
        let mask = ProjectionMask::columns(
            self.meta.parquet_schema(),
            columns.iter().map(|s| s.as_str()),
        );
        let mut b = ParquetRecordBatchStreamBuilder::new_with_metadata(
            self.reader.clone(),
            self.meta.clone(),
        )
        .with_projection(mask)
        .with_row_groups(vec![job.unit.rg])
        .with_batch_size(batch_rows.max(1));
        if let Some(sel) = job.selection() {
            b = b.with_row_selection(sel);
        }
        b.build().map_err(|e| Error::parquet(&self.location, e))
    }

    /// Decodes `columns` (top-level names, all present) of the selected row groups.
    async fn decode(&self, columns: Vec<String>, groups: Vec<usize>) -> Result<Vec<ArrayRef>> {
        let mask = ProjectionMask::columns(
            self.meta.parquet_schema(),
            columns.iter().map(|s| s.as_str()),
        );
        let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(
            self.reader.clone(),
            self.meta.clone(),
        )
        .with_projection(mask)
        .with_row_groups(groups)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| Error::parquet(&self.location, e))?;
        // Split batches into per-column parts as they arrive, then concatenate one column at a
        // time, dropping its parts: the peak is the data plus one column, not twice the data.
        let mut parts: Vec<Vec<ArrayRef>> = vec![Vec::new(); columns.len()];
        let mut stream = stream;
        while let Some(batch) = stream
            .try_next()
            .await
            .map_err(|e| Error::parquet(&self.location, e))?
        {
            for (c, p) in columns.iter().zip(parts.iter_mut()) {
                if let Some(a) = batch.column_by_name(c) {
                    p.push(a.clone());
                }
            }
        }
        columns
            .iter()
            .zip(parts)
            .map(|(c, mut p)| match p.len() {
                0 => {
                    let f = self.schema().field_with_name(c)?;
                    Ok(arrow::array::new_empty_array(f.data_type()))
                }
                1 => Ok(p.remove(0)),
                _ => {
                    let refs: Vec<&dyn arrow::array::Array> =
                        p.iter().map(|a| a.as_ref()).collect();
                    Ok(concat(&refs)?)
                }
            })
            .collect()
    }
}

/// Reads `columns` (in that order) from `files`, pruning row groups whose event time lies
/// outside `[lo, hi]`. Column groups are decoded as parallel tasks on the tokio runtime.
/// Every column must exist in every file with the type of the first file (checked by callers).
pub(crate) async fn read_columns(
    files: &[ParquetFile],
    columns: &[String],
    prune: Option<(&str, i64, i64)>,
) -> Result<RecordBatch> {
    let Some(first) = files.first() else {
        return Err(Error::invalid("source", "", "no parquet files"));
    };
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| {
            Ok(first
                .schema()
                .field_with_name(c)?
                .clone()
                .with_nullable(true))
        })
        .collect::<Result<_>>()?;
    let schema = Arc::new(Schema::new(fields));
    let n_groups = columns.len().clamp(1, workers());
    let mut tasks = Vec::new();
    for file in files {
        let groups = file.row_groups(prune);
        if groups.is_empty() {
            continue;
        }
        for g in 0..n_groups {
            let cols: Vec<String> = columns
                .iter()
                .enumerate()
                .filter(|(i, _)| i % n_groups == g)
                .map(|(_, c)| c.clone())
                .collect();
            let file = file.clone();
            let groups = groups.clone();
            let fut = async move { file.decode(cols, groups).await };
            tasks.push(spawn(fut));
        }
    }
    let results = futures::future::try_join_all(tasks).await?;
    // results[file_i * n_groups + g] holds the columns g, g + n_groups, ...
    let mut per_col: Vec<Vec<ArrayRef>> = vec![Vec::new(); columns.len()];
    for (k, arrays) in results.into_iter().enumerate() {
        let g = k % n_groups;
        for (j, a) in arrays.into_iter().enumerate() {
            per_col[g + j * n_groups].push(a);
        }
    }
    let cols = per_col
        .into_iter()
        .zip(schema.fields())
        .map(|(parts, f)| match parts.len() {
            0 => Ok(arrow::array::new_empty_array(f.data_type())),
            1 => Ok(parts
                .into_iter()
                .next()
                .unwrap_or_else(|| arrow::array::new_empty_array(f.data_type()))),
            _ => {
                let refs: Vec<&dyn arrow::array::Array> =
                    parts.iter().map(|a| a.as_ref()).collect();
                Ok(concat(&refs)?)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema, cols)?)
}

/// Reads every column of `files` (used for entity rows given as Parquet).
pub(crate) async fn read_all(files: &[ParquetFile]) -> Result<RecordBatch> {
    let Some(first) = files.first() else {
        return Err(Error::invalid("parquet input", "", "no files"));
    };
    let cols: Vec<String> = first
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let batch = read_columns(files, &cols, None).await?;
    // Keep the file's own field nullability and metadata for pass-through columns.
    Ok(RecordBatch::try_new(
        first.schema().clone(),
        batch.columns().to_vec(),
    )?)
}

/// A slice of one row group: the unit of parallel work. Row groups are split when there are
/// fewer than workers, so both cores work on single-row-group files too.
#[derive(Clone, Debug)]
pub(crate) struct Unit {
    file: usize,
    rg: usize,
    rg_rows: usize,
    /// First row of the slice within the row group.
    start: usize,
    len: usize,
    /// Global source position of the slice's first row.
    pub(crate) gid: u64,
}

impl Unit {
    /// Rows in the slice.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// The work units of `files` after row-group pruning; global positions number the rows of all
/// files in order (pruned row groups included), so they are stable source positions.
pub(crate) fn plan_units(
    files: &[ParquetFile],
    prune: Option<(&str, i64, i64)>,
    workers: usize,
) -> Vec<Unit> {
    let mut whole = Vec::new();
    let mut base = 0u64;
    for (fi, f) in files.iter().enumerate() {
        let rgs = f.meta.metadata().row_groups();
        let mut starts = Vec::with_capacity(rgs.len());
        for rg in rgs {
            starts.push(base);
            base += rg.num_rows().max(0) as u64;
        }
        for g in f.row_groups(prune) {
            let rows = rgs[g].num_rows().max(0) as usize;
            if rows > 0 {
                whole.push((fi, g, rows, starts[g]));
            }
        }
    }
    // Each slice of a row group fetches the group's column chunks whole (no page index to
    // fetch less), so split only as far as the cores need.
    let split = if whole.len() >= workers {
        1
    } else {
        workers.div_ceil(whole.len().max(1))
    };
    let mut units = Vec::new();
    for (file, rg, rows, gid) in whole {
        let pieces = split.min(rows.div_ceil(4096)).max(1);
        let step = rows.div_ceil(pieces);
        let mut start = 0;
        while start < rows {
            let len = step.min(rows - start);
            units.push(Unit {
                file,
                rg,
                rg_rows: rows,
                start,
                len,
                gid: gid + start as u64,
            });
            start += len;
        }
    }
    units
}

/// One piece of work: a unit, read whole or only at the given sorted global positions.
pub(crate) struct Job {
    pub(crate) unit: Unit,
    pub(crate) select: Option<Vec<u64>>,
}

impl Job {
    /// The global position of output row `k` of this job.
    pub(crate) fn gid(&self, k: usize) -> u64 {
        match &self.select {
            Some(s) => s[k],
            None => self.unit.gid + k as u64,
        }
    }

    fn selection(&self) -> Option<RowSelection> {
        let u = &self.unit;
        let rg_gid = u.gid - u.start as u64;
        let mut sel = Vec::new();
        let mut at = 0usize;
        let mut push = |skip: bool, n: usize| {
            if n > 0 {
                sel.push(if skip {
                    RowSelector::skip(n)
                } else {
                    RowSelector::select(n)
                });
            }
        };
        match &self.select {
            None if u.start == 0 && u.len == u.rg_rows => return None,
            None => {
                push(true, u.start);
                push(false, u.len);
                at = u.start + u.len;
            }
            Some(gids) => {
                let mut i = 0;
                while i < gids.len() {
                    let r = (gids[i] - rg_gid) as usize;
                    let mut j = i + 1;
                    while j < gids.len() && gids[j] == gids[j - 1] + 1 {
                        j += 1;
                    }
                    push(true, r - at);
                    push(false, j - i);
                    at = r + (j - i);
                    i = j;
                }
            }
        }
        push(true, u.rg_rows - at);
        Some(RowSelection::from(sel))
    }
}

/// Cores to use.
pub(crate) fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// A worker's batch handler: `(state, job index, first output row of the batch, batch)`.
pub(crate) type Each<S> =
    Arc<dyn Fn(&mut S, usize, usize, RecordBatch) -> Result<()> + Send + Sync>;

/// Runs `jobs` on `workers` concurrent tasks (tokio tasks when a runtime is present), each
/// pulling the next job from a shared queue, streaming its rows (`columns`, in that order,
/// `batch_rows` at a time) into `each(state, job, first output row of the batch, batch)`.
/// Returns every worker's final state.
pub(crate) async fn run_jobs<S: Send + 'static>(
    files: Arc<[ParquetFile]>,
    jobs: Arc<Vec<Job>>,
    columns: Arc<Vec<String>>,
    batch_rows: usize,
    workers: usize,
    init: impl Fn() -> S,
    each: Each<S>,
) -> Result<Vec<S>> {
    let queue = Arc::new(AtomicUsize::new(0));
    let tasks = (0..workers.clamp(1, jobs.len().max(1))).map(|_| {
        let (files, jobs, columns, queue, each) = (
            files.clone(),
            jobs.clone(),
            columns.clone(),
            queue.clone(),
            each.clone(),
        );
        let mut state = init();
        let fut = async move {
            loop {
                let j = queue.fetch_add(1, AtomicOrdering::Relaxed);
                let Some(job) = jobs.get(j) else {
                    return Ok(state);
                };
                let file = &files[job.unit.file];
                let mut stream = file.stream(job, &columns, batch_rows)?;
                let mut k = 0usize;
                while let Some(batch) = stream
                    .try_next()
                    .await
                    .map_err(|e| Error::parquet(&file.location, e))?
                {
                    let idx = columns
                        .iter()
                        .map(|c| batch.schema().index_of(c))
                        .collect::<std::result::Result<Vec<_>, _>>()?;
                    let batch = batch.project(&idx)?;
                    let n = batch.num_rows();
                    each(&mut state, j, k, batch)?;
                    k += n;
                }
            }
        };
        spawn(fut)
    });
    futures::future::try_join_all(tasks).await
}

/// Runs `fut` as a tokio task when a runtime is present (so workers use every core), else
/// in place.
pub(crate) fn spawn<T: Send + 'static>(
    fut: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> BoxFuture<'static, Result<T>> {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => {
            let jh = h.spawn(fut);
            async move {
                jh.await
                    .map_err(|e| Error::invalid("worker task", "", e.to_string()))?
            }
            .boxed()
        }
        Err(_) => fut.boxed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, TimestampMicrosecondArray};
    use mlops_core::Storage;

    #[tokio::test]
    async fn row_groups_are_pruned_by_event_time_and_columns_projected() {
        let ts: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from((0..300).collect::<Vec<i64>>()).with_timezone("UTC"),
        );
        let k: ArrayRef = Arc::new(Int64Array::from((0..300).collect::<Vec<i64>>()));
        let batch = RecordBatch::try_from_iter(vec![("k", k), ("ts", ts)]).unwrap();
        let mut buf = Vec::new();
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(100))
            .build();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let s = Storage::memory();
        let path = s.path("f.parquet").unwrap();
        s.store().put(&path, buf.into()).await.unwrap();
        let f = ParquetFile::open(s.store().clone(), path, "mem".into())
            .await
            .unwrap();
        assert_eq!(f.row_groups(None), vec![0, 1, 2]);
        assert_eq!(f.row_groups(Some(("ts", 150, 160))), vec![1]);
        assert_eq!(f.row_groups(Some(("ts", 99, 200))), vec![0, 1, 2]);
        assert_eq!(f.row_groups(Some(("ts", 400, 500))), Vec::<usize>::new());
        let got = read_columns(&[f], &["ts".to_string()], Some(("ts", 120, 130)))
            .await
            .unwrap();
        assert_eq!((got.num_rows(), got.num_columns()), (100, 1));
        assert_eq!(
            got.column(0)
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .unwrap()
                .value(0),
            100
        );
    }
}
