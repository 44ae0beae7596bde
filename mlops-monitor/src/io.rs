//! Parquet in and out (one `RecordBatch` per file, read fully into memory).

use crate::error::{Error, Result};
use arrow::array::RecordBatch;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Reads Parquet bytes into one batch.
///
/// # Errors
/// [`Error::Data`] when the bytes are not Parquet.
pub fn read_parquet_bytes(bytes: Bytes) -> Result<RecordBatch> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)?;
    let schema = builder.schema().clone();
    let reader = builder.build()?;
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    Ok(arrow::compute::concat_batches(&schema, &batches)?)
}

/// Reads a local Parquet file into one batch.
///
/// # Errors
/// [`Error::Invalid`] when the file cannot be read, [`Error::Data`] when it is not Parquet.
pub fn read_parquet_file(path: &std::path::Path) -> Result<RecordBatch> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Invalid(format!("cannot read {}: {e}", path.display())))?;
    read_parquet_bytes(Bytes::from(bytes))
}

/// Writes one batch as Parquet bytes.
///
/// # Errors
/// [`Error::Data`] on encoder failure.
pub fn write_parquet_bytes(batch: &RecordBatch) -> Result<Bytes> {
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), None)?;
    w.write(batch)?;
    w.close()?;
    Ok(Bytes::from(buf))
}
