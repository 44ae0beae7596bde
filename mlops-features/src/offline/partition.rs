//! The memory-budget path: a view's source processed in key-hash partitions, one at a time.
//! Each pass streams the (pruned, projected) source and keeps only its partition's rows, so
//! the feature working set is about 1/parts of the source.

use super::asof::{Micros, NO_MATCH, take_indices};
use super::parquet::read_filtered;
use super::{Resolved, join_batch};
use crate::error::Result;
use arrow::array::{Array, ArrayRef, BooleanArray, UInt32Array};
use arrow::buffer::NullBuffer;
use arrow::compute::{concat, take};
use arrow::row::{RowConverter, SortField};

/// The partition (0..parts) of every row, from a hash of its join keys. Both sides must pass
/// columns of the same types, so equal keys land in the same partition.
pub(crate) fn partition_ids(keys: &[ArrayRef], rows: usize, parts: usize) -> Result<Vec<u32>> {
    if keys.is_empty() || parts <= 1 {
        return Ok(vec![0; rows]);
    }
    let conv = RowConverter::new(
        keys.iter()
            .map(|k| SortField::new(k.data_type().clone()))
            .collect(),
    )?;
    let encoded = conv.convert_columns(keys)?;
    Ok(encoded
        .iter()
        .map(|r| {
            // FNV-1a: deterministic across calls and processes.
            let h = r.as_ref().iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
            });
            (h % parts as u64) as u32
        })
        .collect())
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn join_partitioned(
    res: &Resolved,
    ekeys: &[ArrayRef],
    ets: &Micros,
    ts_col: &str,
    ttl_us: i64,
    feats: &[String],
    prune: Option<(&str, i64, i64)>,
    parts: usize,
) -> Result<Vec<ArrayRef>> {
    let n = ets.values.len();
    let epart = partition_ids(ekeys, n, parts)?;
    let mut done: Vec<(Vec<u32>, Vec<ArrayRef>)> = Vec::new();
    for p in 0..parts as u32 {
        let erows: Vec<u32> = (0..n as u32).filter(|&i| epart[i as usize] == p).collect();
        if erows.is_empty() {
            continue;
        }
        let nkeys = res.keys.len();
        let keep = move |b: &arrow::array::RecordBatch| -> Result<BooleanArray> {
            let ids = partition_ids(&b.columns()[..nkeys], b.num_rows(), parts)?;
            Ok(ids.iter().map(|&i| Some(i == p)).collect())
        };
        let data = read_filtered(&res.files, &res.columns, prune, &keep).await?;
        let idx = UInt32Array::from(erows.clone());
        let sub_keys = ekeys
            .iter()
            .map(|k| Ok(take(k.as_ref(), &idx, None)?))
            .collect::<Result<Vec<_>>>()?;
        let sub_ts = Micros {
            values: erows
                .iter()
                .map(|&i| ets.values[i as usize])
                .collect::<Vec<i64>>()
                .into(),
            nulls: ets.nulls.as_ref().map(|nb| {
                NullBuffer::from(
                    erows
                        .iter()
                        .map(|&i| nb.is_valid(i as usize))
                        .collect::<Vec<bool>>(),
                )
            }),
        };
        let cols = join_batch(
            &sub_keys,
            &sub_ts,
            &data,
            &res.keys,
            ts_col,
            res.created.as_deref(),
            ttl_us,
            feats,
        )?;
        done.push((erows, cols));
    }
    let mut pos = vec![NO_MATCH; n];
    let mut offset = 0u32;
    for (erows, _) in &done {
        for (j, &r) in erows.iter().enumerate() {
            pos[r as usize] = offset + j as u32;
        }
        offset += erows.len() as u32;
    }
    let pos = take_indices(pos);
    (0..feats.len())
        .map(|fi| {
            let parts: Vec<&dyn Array> = done.iter().map(|(_, c)| c[fi].as_ref()).collect();
            let all = concat(&parts)?;
            Ok(take(all.as_ref(), &pos, None)?)
        })
        .collect()
}
