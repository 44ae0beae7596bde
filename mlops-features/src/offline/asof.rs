//! Time and key helpers shared by the offline join ([`super::index`]) and materialization:
//! UTC microseconds from any timestamp column, integer key bit patterns, latest row per key.

use crate::error::{Error, Result};
use crate::offline::index::{Encoded, KeyCodec};
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, TimeUnit};
use rayon::prelude::*;

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

/// The bit pattern of an integer column as i64 (equality-preserving; order is irrelevant).
pub(crate) fn int_bits(a: &ArrayRef) -> Option<ScalarBuffer<i64>> {
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
    let types: Vec<DataType> = keys.iter().map(|k| k.data_type().clone()).collect();
    let (k, nulls) = KeyCodec::new(&types)?.encode(keys)?;
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
        Encoded::Unit => {
            idx.par_sort_unstable_by(|&a, &b| {
                let (a, b) = (a as usize, b as usize);
                (v[a], cr(a), a).cmp(&(v[b], cr(b), b))
            });
            (0..idx.len()).map(|p| p + 1 == idx.len()).collect()
        }
        Encoded::Int(k) => {
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
        Encoded::Rows(r) => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, TimestampMicrosecondArray};
    use std::sync::Arc;

    #[test]
    fn latest_per_key_takes_greatest_time_then_created() {
        let k: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(1),
            Some(1),
            Some(2),
            None,
            Some(1),
        ]));
        let t: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![5, 9, 3, 9, 9]));
        let c: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
            Some(0),
            Some(1),
            Some(0),
            Some(0),
            None,
        ]));
        let (t, c) = (to_micros("t", &t).unwrap(), to_micros("c", &c).unwrap());
        let mut got = latest_per_key(std::slice::from_ref(&k), &t, Some(&c), 0, 10).unwrap();
        got.sort_unstable();
        assert_eq!(got, vec![1, 2]);
        // Time window [0, 8]: key 1's latest is row 0.
        let mut got = latest_per_key(&[k], &t, Some(&c), 0, 8).unwrap();
        got.sort_unstable();
        assert_eq!(got, vec![0, 2]);
        // No keys: one winner overall.
        assert_eq!(latest_per_key(&[], &t, Some(&c), 0, 10).unwrap().len(), 1);
    }
}
