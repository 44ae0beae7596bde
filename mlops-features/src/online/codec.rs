//! Byte encodings of the online store: entity keys, stored rows and feature values.
//! Stable and independent of Arrow's internal formats, so stored data outlives upgrades.

use crate::error::{Error, Result};
use crate::online::{OnlineRow, StoredRow};
use crate::types::ValueType;
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes as t;
use bytes::Bytes;

/// Casts `a` to the declared type's Arrow type (no-op when equal).
pub(crate) fn to_declared(name: &str, a: &ArrayRef, vt: ValueType) -> Result<ArrayRef> {
    let want = vt.arrow_type();
    if a.data_type() == &want {
        return Ok(a.clone());
    }
    if vt == ValueType::Timestamp {
        // Re-scale by hand: casting between zones would need zone names parsed (chrono-tz).
        let m = crate::offline::asof::to_micros(name, a)?;
        let arr =
            arrow::array::TimestampMicrosecondArray::new(m.values, m.nulls).with_timezone("UTC");
        return Ok(std::sync::Arc::new(arr));
    }
    cast(a, &want).map_err(|e| {
        Error::invalid(
            "column",
            name,
            format!("type {} does not convert to {vt}: {e}", a.data_type()),
        )
    })
}

fn put_scalar(out: &mut Vec<u8>, a: &ArrayRef, vt: ValueType, i: usize) {
    if a.is_null(i) {
        out.push(0);
        return;
    }
    match vt {
        ValueType::Int64 => {
            out.push(1);
            out.extend(a.as_primitive::<t::Int64Type>().value(i).to_be_bytes());
        }
        ValueType::Int32 => {
            out.push(2);
            out.extend(a.as_primitive::<t::Int32Type>().value(i).to_be_bytes());
        }
        ValueType::Float64 => {
            out.push(3);
            out.extend(
                a.as_primitive::<t::Float64Type>()
                    .value(i)
                    .to_bits()
                    .to_be_bytes(),
            );
        }
        ValueType::Float32 => {
            out.push(4);
            out.extend(
                a.as_primitive::<t::Float32Type>()
                    .value(i)
                    .to_bits()
                    .to_be_bytes(),
            );
        }
        ValueType::String => {
            let s = a.as_string::<i32>().value(i).as_bytes();
            out.push(5);
            out.extend((s.len() as u32).to_be_bytes());
            out.extend(s);
        }
        ValueType::Bool => {
            out.push(6);
            out.push(u8::from(a.as_boolean().value(i)));
        }
        ValueType::Bytes => {
            let s = a.as_binary::<i32>().value(i);
            out.push(7);
            out.extend((s.len() as u32).to_be_bytes());
            out.extend(s);
        }
        ValueType::Timestamp => {
            out.push(8);
            out.extend(
                a.as_primitive::<t::TimestampMicrosecondType>()
                    .value(i)
                    .to_be_bytes(),
            );
        }
    }
}

/// Canonical key bytes of row `i` over `cols` (already in declared types); `None` if any
/// key is null.
pub(crate) fn encode_key(cols: &[(ArrayRef, ValueType)], i: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(16);
    encode_key_into(&mut out, cols, i).then_some(out)
}

/// Appends the canonical key bytes of row `i` to `out`; `false` (and `out` unchanged) if
/// any key is null.
pub(crate) fn encode_key_into(out: &mut Vec<u8>, cols: &[(ArrayRef, ValueType)], i: usize) -> bool {
    if cols.iter().any(|(a, _)| a.is_null(i)) {
        return false;
    }
    for (a, vt) in cols {
        put_scalar(out, a, *vt, i);
    }
    true
}

/// Feature values of row `i`, each with its name, so views can gain features later.
pub(crate) fn encode_values(cols: &[(&str, ArrayRef, ValueType)], i: usize) -> Bytes {
    let mut out = Vec::with_capacity(64);
    for (name, a, vt) in cols {
        out.extend((name.len() as u16).to_be_bytes());
        out.extend(name.as_bytes());
        put_scalar(&mut out, a, *vt, i);
    }
    out.into()
}

/// The stored form of a row: event time, created time, values.
pub(crate) fn pack(row: &OnlineRow) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + row.value.len());
    v.extend(row.event_ts.to_be_bytes());
    v.extend(row.created_ts.to_be_bytes());
    v.extend(&row.value[..]);
    v
}

/// Inverse of [`pack`], borrowing the values (`None` for a value too short to be a row).
pub(crate) fn unpack_ref(stored: &[u8]) -> Option<StoredRow<'_>> {
    let ev = i64::from_be_bytes(stored.get(0..8)?.try_into().ok()?);
    let cr = i64::from_be_bytes(stored.get(8..16)?.try_into().ok()?);
    Some(StoredRow {
        event_ts: ev,
        created_ts: cr,
        value: stored.get(16..)?,
    })
}

/// A decoded value (slices borrow from the stored bytes).
pub(crate) enum Scalar<'a> {
    Null,
    I64(i64),
    I32(i32),
    F64(f64),
    F32(f32),
    Str(&'a [u8]),
    Bool(bool),
    Bin(&'a [u8]),
    Ts(i64),
}

#[inline]
fn take_n<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if b.len() < n {
        return None;
    }
    let (h, r) = b.split_at(n);
    *b = r;
    Some(h)
}

#[inline]
fn arr<const N: usize>(b: &mut &[u8]) -> Option<[u8; N]> {
    take_n(b, N)?.try_into().ok()
}

/// The next `(name, value)` of an encoded value list, advancing `b`; `None` at the end or
/// on malformed bytes.
#[inline]
pub(crate) fn next_value<'a>(b: &mut &'a [u8]) -> Option<(&'a [u8], Scalar<'a>)> {
    let n = u16::from_be_bytes(arr::<2>(b)?) as usize;
    let name = take_n(b, n)?;
    let tag = take_n(b, 1)?[0];
    let s = match tag {
        0 => Scalar::Null,
        1 => Scalar::I64(i64::from_be_bytes(arr(b)?)),
        2 => Scalar::I32(i32::from_be_bytes(arr(b)?)),
        3 => Scalar::F64(f64::from_bits(u64::from_be_bytes(arr(b)?))),
        4 => Scalar::F32(f32::from_bits(u32::from_be_bytes(arr(b)?))),
        5 | 7 => {
            let n = u32::from_be_bytes(arr(b)?) as usize;
            let v = take_n(b, n)?;
            if tag == 5 {
                Scalar::Str(v)
            } else {
                Scalar::Bin(v)
            }
        }
        6 => Scalar::Bool(take_n(b, 1)?[0] != 0),
        8 => Scalar::Ts(i64::from_be_bytes(arr(b)?)),
        _ => return None,
    };
    Some((name, s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn values_round_trip_bit_for_bit() {
        let f: ArrayRef = Arc::new(Float64Array::from(vec![Some(f64::NAN), None, Some(-0.0)]));
        let s: ArrayRef = Arc::new(StringArray::from(vec![Some("ünï"), Some(""), None]));
        let k: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
        let enc: Vec<Bytes> = (0..3)
            .map(|i| {
                encode_values(
                    &[
                        ("f", f.clone(), ValueType::Float64),
                        ("s", s.clone(), ValueType::String),
                    ],
                    i,
                )
            })
            .collect();
        let mut b = &enc[0][..];
        let mut got = Vec::new();
        while let Some((name, v)) = next_value(&mut b) {
            got.push((name.to_vec(), v));
        }
        assert!(b.is_empty());
        assert!(matches!(
            got.as_slice(),
            [(f, Scalar::F64(x)), (s, Scalar::Str(y))]
                if f == b"f" && x.to_bits() == f64::NAN.to_bits() && s == b"s" && *y == "ünï".as_bytes()
        ));
        let mut b = &enc[1][..];
        assert!(matches!(next_value(&mut b), Some((_, Scalar::Null))));
        let kc = [(k, ValueType::Int64)];
        assert_ne!(encode_key(&kc, 0), encode_key(&kc, 1));
        let mut buf = vec![9];
        assert!(encode_key_into(&mut buf, &kc, 1));
        assert_eq!(Some(&buf[1..]), encode_key(&kc, 1).as_deref());
        let nk: ArrayRef = Arc::new(Int64Array::from(vec![None, Some(1)]));
        assert!(!encode_key_into(&mut buf, &[(nk, ValueType::Int64)], 0));
        assert_eq!(buf.len(), 10);
        let row = OnlineRow {
            key: vec![1],
            event_ts: -5,
            created_ts: i64::MIN,
            value: enc[0].clone(),
        };
        let packed = pack(&row);
        let got = unpack_ref(&packed).unwrap();
        assert_eq!(
            (got.event_ts, got.created_ts, got.value),
            (row.event_ts, row.created_ts, &row.value[..])
        );
        assert!(unpack_ref(&packed[..15]).is_none());
    }
}

#[cfg(test)]
mod ts_tests {
    use super::*;
    use arrow::array::TimestampNanosecondArray;
    use std::sync::Arc;

    #[test]
    fn timestamps_of_any_unit_become_utc_micros() {
        let a: ArrayRef = Arc::new(TimestampNanosecondArray::from(vec![Some(1_500), None]));
        let b = to_declared("t", &a, ValueType::Timestamp).unwrap();
        assert_eq!(b.data_type(), &ValueType::Timestamp.arrow_type());
        let b = b.as_primitive::<t::TimestampMicrosecondType>();
        assert_eq!((b.value(0), b.is_null(1)), (1, true));
    }
}
