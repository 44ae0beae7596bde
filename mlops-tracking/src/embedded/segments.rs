//! Metric segments: one Arrow IPC stream per logged batch, columns
//! `key: Utf8, value: Float64, timestamp: Int64, step: Int64`.
//!
//! Writing a batch is one object; reading a history is one listing plus one read
//! per segment, decoded column-wise. NaN and `±inf` are plain IEEE values here.
//!
//! Every segment ends in the IPC end-of-stream marker. One that does not is the
//! remains of a write cut short by a crash (on `file://` a segment is published
//! before its one `fsync`, see `mlops_core::seq::local`): its `log_batch` never returned, so the
//! whole segment is skipped, never half of it.

use crate::error::Result;
use crate::types::Metric;
use arrow::array::{Array, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

fn schema() -> Arc<Schema> {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("key", DataType::Utf8, false),
                Field::new("value", DataType::Float64, false),
                Field::new("timestamp", DataType::Int64, false),
                Field::new("step", DataType::Int64, false),
            ]))
        })
        .clone()
}

fn arrow_err(e: arrow::error::ArrowError) -> crate::Error {
    mlops_core::Error::backend("embedded tracker", format!("metric segment: {e}")).into()
}

/// Encodes `metrics` as one IPC stream.
pub(crate) fn encode(metrics: &[Metric]) -> Result<Bytes> {
    let keys = StringArray::from_iter_values(metrics.iter().map(|m| m.key.as_str()));
    let values = Float64Array::from_iter_values(metrics.iter().map(|m| m.value));
    let ts = Int64Array::from_iter_values(metrics.iter().map(|m| m.timestamp));
    let steps = Int64Array::from_iter_values(metrics.iter().map(|m| m.step));
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(keys),
            Arc::new(values),
            Arc::new(ts),
            Arc::new(steps),
        ],
    )
    .map_err(arrow_err)?;
    let mut buf = Vec::with_capacity(metrics.len() * 40 + 512);
    {
        let mut w = StreamWriter::try_new(&mut buf, &schema()).map_err(arrow_err)?;
        w.write(&batch).map_err(arrow_err)?;
        w.finish().map_err(arrow_err)?;
    }
    Ok(Bytes::from(buf))
}

fn columns(batch: &RecordBatch) -> Result<(&StringArray, &Float64Array, &Int64Array, &Int64Array)> {
    let bad = || -> crate::Error {
        mlops_core::Error::backend(
            "embedded tracker",
            "metric segment has an unexpected schema",
        )
        .into()
    };
    if batch.num_columns() != 4 {
        return Err(bad());
    }
    let k = batch.column(0).as_any().downcast_ref::<StringArray>();
    let v = batch.column(1).as_any().downcast_ref::<Float64Array>();
    let t = batch.column(2).as_any().downcast_ref::<Int64Array>();
    let s = batch.column(3).as_any().downcast_ref::<Int64Array>();
    match (k, v, t, s) {
        (Some(k), Some(v), Some(t), Some(s)) => Ok((k, v, t, s)),
        _ => Err(bad()),
    }
}

/// The IPC stream end-of-stream marker: continuation token, then a zero length.
const END_OF_STREAM: [u8; 8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0];

fn batches(bytes: &Bytes) -> Result<Vec<RecordBatch>> {
    if !bytes.ends_with(&END_OF_STREAM) {
        tracing::warn!(
            len = bytes.len(),
            "skipping an incomplete metric segment (a write cut short before it returned)"
        );
        return Ok(Vec::new());
    }
    let reader =
        StreamReader::try_new(std::io::Cursor::new(bytes.as_ref()), None).map_err(arrow_err)?;
    reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(arrow_err)
}

/// Appends the points of `keys` in segment `bytes` to `out` (one vector per key).
pub(crate) fn decode_into(
    bytes: &Bytes,
    keys: &HashMap<&str, usize>,
    out: &mut [Vec<Metric>],
) -> Result<()> {
    for batch in batches(bytes)? {
        let (k, v, t, s) = columns(&batch)?;
        // Segments usually hold one key: compare each row against a one-entry memo.
        let mut last: Option<(&str, Option<usize>)> = None;
        for i in 0..batch.num_rows() {
            let key = k.value(i);
            let slot = match last {
                Some((lk, slot)) if lk == key => slot,
                _ => {
                    let slot = keys.get(key).copied();
                    last = Some((key, slot));
                    slot
                }
            };
            if let Some(slot) = slot
                && let Some(dst) = out.get_mut(slot)
            {
                dst.push(Metric {
                    key: key.to_string(),
                    value: v.value(i),
                    timestamp: t.value(i),
                    step: s.value(i),
                });
            }
        }
    }
    Ok(())
}

/// Folds segment `bytes` into the latest point per key (highest step, then
/// latest timestamp, then the later write).
pub(crate) fn fold_latest(bytes: &Bytes, latest: &mut BTreeMap<String, Metric>) -> Result<()> {
    for batch in batches(bytes)? {
        let (k, v, t, s) = columns(&batch)?;
        for i in 0..batch.num_rows() {
            let key = k.value(i);
            let (step, ts) = (s.value(i), t.value(i));
            let newer = latest
                .get(key)
                .is_none_or(|m| (step, ts) >= (m.step, m.timestamp));
            if newer {
                latest.insert(
                    key.to_string(),
                    Metric {
                        key: key.to_string(),
                        value: v.value(i),
                        timestamp: ts,
                        step,
                    },
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_non_finite_values() {
        let pts = vec![
            Metric::new("a", f64::NAN, 0).at(1),
            Metric::new("a", f64::INFINITY, 1).at(2),
            Metric::new("b", f64::NEG_INFINITY, 0).at(3),
            Metric::new("a", 0.5, 2).at(4),
        ];
        let bytes = encode(&pts).unwrap();
        let keys: HashMap<&str, usize> = [("a", 0), ("b", 1)].into();
        let mut out = vec![vec![], vec![]];
        decode_into(&bytes, &keys, &mut out).unwrap();
        assert_eq!(out[0], vec![pts[0].clone(), pts[1].clone(), pts[3].clone()]);
        assert_eq!(out[1], vec![pts[2].clone()]);
        let mut latest = BTreeMap::new();
        fold_latest(&bytes, &mut latest).unwrap();
        assert_eq!(latest["a"].value, 0.5);
        assert_eq!(latest["b"].value, f64::NEG_INFINITY);
        assert!(bytes.ends_with(&END_OF_STREAM));
        let mut junk = b"junk".to_vec();
        junk.extend_from_slice(&END_OF_STREAM);
        assert!(decode_into(&Bytes::from(junk), &keys, &mut out).is_err());
    }

    #[test]
    fn a_torn_segment_is_skipped_whole() {
        let pts: Vec<Metric> = (0..100).map(|i| Metric::new("a", 1.0, i).at(i)).collect();
        let bytes = encode(&pts).unwrap();
        let keys: HashMap<&str, usize> = [("a", 0)].into();
        // every prefix (incl. empty, and cut right after the last batch) reads as nothing
        for cut in [0, 1, 8, bytes.len() / 2, bytes.len() - 8, bytes.len() - 1] {
            let torn = bytes.slice(..cut);
            let mut out = vec![vec![]];
            decode_into(&torn, &keys, &mut out).unwrap();
            assert!(out[0].is_empty(), "cut at {cut}");
            let mut latest = BTreeMap::new();
            fold_latest(&torn, &mut latest).unwrap();
            assert!(latest.is_empty(), "cut at {cut}");
        }
        // a zero-filled file of the right size (no data blocks made it) too
        let mut out = vec![vec![]];
        decode_into(&Bytes::from(vec![0u8; bytes.len()]), &keys, &mut out).unwrap();
        assert!(out[0].is_empty());
    }
}
