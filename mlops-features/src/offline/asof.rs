//! The as-of join core: sort both sides by (join keys, event time), then one merge pass.
//!
//! Cost is O((N + M) log(N + M)) whatever the key distribution: a key with 100k feature rows
//! costs what 100k keys with one row each cost. There is never a per-key cross product.

use crate::error::{Error, Result};
use arrow::array::{Array, ArrayRef, AsArray, UInt32Array};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::row::{RowConverter, Rows, SortField};
use rayon::prelude::*;
use std::cmp::Ordering;

/// No match for an entity row.
pub(crate) const NO_MATCH: u32 = u32::MAX;

/// Event times as UTC microseconds, with validity.
pub(crate) struct Micros {
    /// Borrowed from the column when it already is in microseconds (no copy).
    pub(crate) values: ScalarBuffer<i64>,
    pub(crate) nulls: Option<NullBuffer>,
}

impl Micros {
    fn valid(&self, i: usize) -> bool {
        self.nulls.as_ref().is_none_or(|n| n.is_valid(i))
    }
}

/// Converts a timestamp (any unit, any zone: Arrow stores UTC instants) or date column to UTC
/// microseconds. Naive timestamps are read as UTC. Nanoseconds are floored to the microsecond.
pub(crate) fn to_micros(column: &str, a: &ArrayRef) -> Result<Micros> {
    fn scale<T: arrow::datatypes::ArrowPrimitiveType>(
        a: &ArrayRef,
        f: impl Fn(T::Native) -> i64,
    ) -> ScalarBuffer<i64> {
        a.as_primitive::<T>()
            .values()
            .iter()
            .map(|v| f(*v))
            .collect::<Vec<i64>>()
            .into()
    }
    use arrow::datatypes as t;
    let values: ScalarBuffer<i64> = match a.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, _) => a
            .as_primitive::<t::TimestampMicrosecondType>()
            .values()
            .clone(),
        DataType::Timestamp(TimeUnit::Second, _) => {
            scale::<t::TimestampSecondType>(a, |v| v.saturating_mul(1_000_000))
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            scale::<t::TimestampMillisecondType>(a, |v| v.saturating_mul(1_000))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            scale::<t::TimestampNanosecondType>(a, |v| v.div_euclid(1_000))
        }
        DataType::Date32 => scale::<t::Date32Type>(a, |v| i64::from(v) * 86_400_000_000),
        DataType::Date64 => scale::<t::Date64Type>(a, |v| v.saturating_mul(1_000)),
        other => {
            return Err(Error::UnsupportedType {
                column: column.to_string(),
                data_type: other.to_string(),
                role: "a timestamp",
            });
        }
    };
    Ok(Micros {
        values,
        nulls: a.logical_nulls(),
    })
}

/// Join keys of one side, in a form that compares equal exactly when the keys are equal.
pub(crate) enum Keys {
    /// One integer key column (or none: every row has key 0), as 64-bit patterns
    /// (borrowed, not copied, for Int64).
    Int(ScalarBuffer<i64>),
    /// Any other key shape, in Arrow's row format.
    Rows(Rows),
}

/// Encodes the join keys of both sides with one encoding. The columns of `entity` must already
/// have the types of the matching `feature` columns. Returns the keys and per-side validity
/// (a row with a null in any key column never matches).
pub(crate) fn encode_keys(
    entity: &[ArrayRef],
    feature: &[ArrayRef],
    n_entity: usize,
    n_feature: usize,
) -> Result<(Keys, Keys, Option<NullBuffer>, Option<NullBuffer>)> {
    let nulls = |cols: &[ArrayRef]| {
        cols.iter().fold(None, |acc: Option<NullBuffer>, c| {
            NullBuffer::union(acc.as_ref(), c.logical_nulls().as_ref())
        })
    };
    let (en, fnl) = (nulls(entity), nulls(feature));
    if entity.is_empty() {
        return Ok((
            Keys::Int(vec![0; n_entity].into()),
            Keys::Int(vec![0; n_feature].into()),
            en,
            fnl,
        ));
    }
    if let ([e], [f]) = (entity, feature)
        && let (Some(e), Some(f)) = (int_bits(e), int_bits(f))
    {
        return Ok((Keys::Int(e), Keys::Int(f), en, fnl));
    }
    let fields = feature
        .iter()
        .map(|c| SortField::new(c.data_type().clone()))
        .collect();
    let conv = RowConverter::new(fields)?;
    let er = conv.convert_columns(entity)?;
    let fr = conv.convert_columns(feature)?;
    Ok((Keys::Rows(er), Keys::Rows(fr), en, fnl))
}

/// The bit pattern of an integer column as i64 (equality-preserving; order is irrelevant).
fn int_bits(a: &ArrayRef) -> Option<ScalarBuffer<i64>> {
    use arrow::datatypes as t;
    macro_rules! bits {
        ($t:ty) => {
            a.as_primitive::<$t>()
                .values()
                .iter()
                .map(|v| *v as i64)
                .collect::<Vec<i64>>()
                .into()
        };
    }
    Some(match a.data_type() {
        DataType::Int8 => bits!(t::Int8Type),
        DataType::Int16 => bits!(t::Int16Type),
        DataType::Int32 => bits!(t::Int32Type),
        DataType::Int64 => a.as_primitive::<t::Int64Type>().values().clone(),
        DataType::UInt8 => bits!(t::UInt8Type),
        DataType::UInt16 => bits!(t::UInt16Type),
        DataType::UInt32 => bits!(t::UInt32Type),
        // Reinterpreting u64 as i64 keeps equality, which is all the join needs.
        DataType::UInt64 => bits!(t::UInt64Type),
        _ => return None,
    })
}

/// One side of the join, ready for sorting.
pub(crate) struct Side<'a> {
    pub(crate) keys: &'a Keys,
    pub(crate) key_nulls: Option<&'a NullBuffer>,
    pub(crate) ts: &'a Micros,
}

impl Side<'_> {
    fn len(&self) -> usize {
        self.ts.values.len()
    }
    fn usable(&self, i: usize) -> bool {
        self.ts.valid(i) && self.key_nulls.is_none_or(|n| n.is_valid(i))
    }
}

/// For every entity row, the index of the chosen feature row or [`NO_MATCH`].
///
/// Chosen = the greatest event time `<=` the entity time (and `>=` entity time − ttl when
/// `ttl_us > 0`), ties to the greatest `created` (null lowest), then to the last row in source
/// order.
pub(crate) fn asof_indices(
    entity: &Side<'_>,
    feature: &Side<'_>,
    created: Option<&Micros>,
    ttl_us: i64,
) -> Vec<u32> {
    let cr = |i: usize| -> i64 {
        match created {
            Some(c) if c.valid(i) => c.values[i],
            Some(_) => i64::MIN,
            None => 0,
        }
    };
    let mut out = vec![NO_MATCH; entity.len()];
    let ets = &entity.ts.values;
    let fts = &feature.ts.values;
    match (entity.keys, feature.keys) {
        (Keys::Int(ek), Keys::Int(fk)) => {
            let mut f: Vec<(i64, i64, i64, u32)> = (0..feature.len())
                .filter(|&i| feature.usable(i))
                .map(|i| (fk[i], fts[i], cr(i), i as u32))
                .collect();
            f.par_sort_unstable();
            let mut e: Vec<(i64, i64, u32)> = (0..entity.len())
                .filter(|&i| entity.usable(i))
                .map(|i| (ek[i], ets[i], i as u32))
                .collect();
            e.par_sort_unstable();
            merge(
                e.len(),
                f.len(),
                |fp, ep| f[fp].0.cmp(&e[ep].0),
                |ep| (e[ep].1, e[ep].2),
                |fp| (f[fp].1, f[fp].3),
                ttl_us,
                &mut out,
            );
        }
        (Keys::Rows(er), Keys::Rows(fr)) => {
            let mut f: Vec<u32> = (0..feature.len())
                .filter(|&i| feature.usable(i))
                .map(|i| i as u32)
                .collect();
            f.par_sort_unstable_by(|&a, &b| {
                let (a, b) = (a as usize, b as usize);
                fr.row(a)
                    .cmp(&fr.row(b))
                    .then(fts[a].cmp(&fts[b]))
                    .then(cr(a).cmp(&cr(b)))
                    .then(a.cmp(&b))
            });
            let mut e: Vec<u32> = (0..entity.len())
                .filter(|&i| entity.usable(i))
                .map(|i| i as u32)
                .collect();
            e.par_sort_unstable_by(|&a, &b| {
                let (a, b) = (a as usize, b as usize);
                er.row(a).cmp(&er.row(b)).then(ets[a].cmp(&ets[b]))
            });
            merge(
                e.len(),
                f.len(),
                |fp, ep| fr.row(f[fp] as usize).cmp(&er.row(e[ep] as usize)),
                |ep| (ets[e[ep] as usize], e[ep]),
                |fp| (fts[f[fp] as usize], f[fp]),
                ttl_us,
                &mut out,
            );
        }
        // encode_keys always encodes both sides alike.
        _ => {}
    }
    out
}

/// The merge pass over both sorted sides. `key_cmp(f, e)` compares the keys at sorted
/// positions; `e_at`/`f_at` give (event time, original row index) at a sorted position.
fn merge(
    ne: usize,
    nf: usize,
    key_cmp: impl Fn(usize, usize) -> Ordering,
    e_at: impl Fn(usize) -> (i64, u32),
    f_at: impl Fn(usize) -> (i64, u32),
    ttl_us: i64,
    out: &mut [u32],
) {
    let mut j = 0usize;
    for ep in 0..ne {
        let (t, erow) = e_at(ep);
        while j < nf && key_cmp(j, ep) == Ordering::Less {
            j += 1;
        }
        while j < nf && key_cmp(j, ep) == Ordering::Equal && f_at(j).0 <= t {
            j += 1;
        }
        if j == 0 || key_cmp(j - 1, ep) != Ordering::Equal {
            continue;
        }
        let (fts, frow) = f_at(j - 1);
        // Entity rows of one key come in ascending time, so f(j-1) has time <= t.
        if ttl_us > 0 && fts < t.saturating_sub(ttl_us) {
            continue;
        }
        out[erow as usize] = frow;
    }
}

/// The latest row per key among rows with event time in `[lo, hi]` (greatest event time, then
/// created, then source order). Rows with a null key or time are skipped.
pub(crate) fn latest_per_key(
    keys: &[ArrayRef],
    ts: &Micros,
    created: Option<&Micros>,
    lo: i64,
    hi: i64,
) -> Result<Vec<u32>> {
    let n = ts.values.len();
    let nulls = keys.iter().fold(None, |acc: Option<NullBuffer>, c| {
        NullBuffer::union(acc.as_ref(), c.logical_nulls().as_ref())
    });
    let k = match (keys, keys.first().and_then(int_bits)) {
        ([], _) => Keys::Int(vec![0; n].into()),
        ([_], Some(bits)) => Keys::Int(bits),
        _ => {
            let fields = keys
                .iter()
                .map(|c| SortField::new(c.data_type().clone()))
                .collect();
            Keys::Rows(RowConverter::new(fields)?.convert_columns(keys)?)
        }
    };
    let cr = |i: usize| -> i64 {
        match created {
            Some(c) if c.valid(i) => c.values[i],
            Some(_) => i64::MIN,
            None => 0,
        }
    };
    let mut idx: Vec<u32> = (0..n)
        .filter(|&i| {
            ts.valid(i)
                && nulls.as_ref().is_none_or(|b| b.is_valid(i))
                && (lo..=hi).contains(&ts.values[i])
        })
        .map(|i| i as u32)
        .collect();
    let v = &ts.values;
    let last_of_group: Vec<bool> = match &k {
        Keys::Int(k) => {
            idx.par_sort_unstable_by(|&a, &b| {
                let (a, b) = (a as usize, b as usize);
                (k[a], v[a], cr(a), a).cmp(&(k[b], v[b], cr(b), b))
            });
            (0..idx.len())
                .map(|p| {
                    idx.get(p + 1)
                        .is_none_or(|&nx| k[nx as usize] != k[idx[p] as usize])
                })
                .collect()
        }
        Keys::Rows(r) => {
            idx.par_sort_unstable_by(|&a, &b| {
                let (a, b) = (a as usize, b as usize);
                r.row(a)
                    .cmp(&r.row(b))
                    .then((v[a], cr(a), a).cmp(&(v[b], cr(b), b)))
            });
            (0..idx.len())
                .map(|p| {
                    idx.get(p + 1)
                        .is_none_or(|&nx| r.row(nx as usize) != r.row(idx[p] as usize))
                })
                .collect()
        }
    };
    Ok(idx
        .into_iter()
        .zip(last_of_group)
        .filter_map(|(i, last)| last.then_some(i))
        .collect())
}

/// The `take` indices for an index vector: [`NO_MATCH`] becomes null.
pub(crate) fn take_indices(idx: Vec<u32>) -> UInt32Array {
    let valid: NullBuffer = idx.iter().map(|&i| i != NO_MATCH).collect();
    let nulls = (valid.null_count() > 0).then_some(valid);
    UInt32Array::new(idx.into(), nulls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray, TimestampMicrosecondArray};
    use std::sync::Arc;

    fn ts(v: Vec<Option<i64>>) -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
    }

    fn run(
        ek: ArrayRef,
        et: ArrayRef,
        fk: ArrayRef,
        ft: ArrayRef,
        fc: ArrayRef,
        ttl: i64,
    ) -> Vec<u32> {
        let (ne, nf) = (ek.len(), fk.len());
        let (ke, kf, en, fnl) = encode_keys(&[ek], &[fk], ne, nf).unwrap();
        let (et, ft, fc) = (
            to_micros("e", &et).unwrap(),
            to_micros("f", &ft).unwrap(),
            to_micros("c", &fc).unwrap(),
        );
        asof_indices(
            &Side {
                keys: &ke,
                key_nulls: en.as_ref(),
                ts: &et,
            },
            &Side {
                keys: &kf,
                key_nulls: fnl.as_ref(),
                ts: &ft,
            },
            Some(&fc),
            ttl,
        )
    }

    #[test]
    fn inclusive_bounds_ties_and_nulls() {
        let fk: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(1),
            Some(1),
            Some(1),
            Some(2),
            None,
        ]));
        let ft = ts(vec![Some(10), Some(20), Some(20), Some(5), Some(1)]);
        let fc = ts(vec![Some(0), Some(7), None, Some(0), Some(0)]);
        let ek: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(1),
            Some(1),
            Some(1),
            Some(2),
            Some(2),
            Some(3),
            None,
            Some(1),
        ]));
        let et = ts(vec![
            Some(9),
            Some(10),
            Some(25),
            Some(15),
            Some(16),
            Some(99),
            Some(99),
            None,
        ]);
        let got = run(ek, et, fk, ft, fc, 10);
        // 9: nothing yet; 10: row 0 (inclusive); 25: tie at 20 → created 7 (row 1) beats null;
        // key 2 at 15: 5 is exactly ttl old → kept; at 16: expired; key 3 unknown; null key/ts.
        assert_eq!(
            got,
            vec![NO_MATCH, 0, 1, 3, NO_MATCH, NO_MATCH, NO_MATCH, NO_MATCH]
        );
    }

    #[test]
    fn string_keys_use_rows() {
        let fk: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "a"]));
        let ft = ts(vec![Some(1), Some(1), Some(3)]);
        let fc = ts(vec![Some(0), Some(0), Some(0)]);
        let ek: ArrayRef = Arc::new(StringArray::from(vec!["a", "a", "b", "c"]));
        let et = ts(vec![Some(2), Some(3), Some(0), Some(5)]);
        assert_eq!(run(ek, et, fk, ft, fc, 0), vec![0, 2, NO_MATCH, NO_MATCH]);
    }
}
