//! The online read path: entity keys in, one Arrow column per wanted feature out, decoded
//! straight from the backend's buffers through [`RowSink`] (no copy per row).

use super::codec::{Scalar, encode_key_into, next_value};
use super::{OnlineStore, RowSink, StoredRow};
use crate::error::{Error, Result};
use crate::types::ValueType;
use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Float32Builder, Float64Builder, Int32Builder,
    Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use mlops_core::ErrorKind;
use std::sync::Arc;

/// One output column being built.
enum Column {
    I64(Int64Builder),
    I32(Int32Builder),
    F64(Float64Builder),
    F32(Float32Builder),
    Bool(BooleanBuilder),
    Ts(TimestampMicrosecondBuilder),
    Str(StringBuilder),
    Bin(BinaryBuilder),
}

impl Column {
    fn new(vt: ValueType, rows: usize) -> Self {
        match vt {
            ValueType::Int64 => Self::I64(Int64Builder::with_capacity(rows)),
            ValueType::Int32 => Self::I32(Int32Builder::with_capacity(rows)),
            ValueType::Float64 => Self::F64(Float64Builder::with_capacity(rows)),
            ValueType::Float32 => Self::F32(Float32Builder::with_capacity(rows)),
            ValueType::Bool => Self::Bool(BooleanBuilder::with_capacity(rows)),
            ValueType::Timestamp => {
                Self::Ts(TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"))
            }
            ValueType::String => Self::Str(StringBuilder::with_capacity(rows, rows * 8)),
            ValueType::Bytes => Self::Bin(BinaryBuilder::with_capacity(rows, rows * 8)),
        }
    }

    fn null(&mut self) {
        match self {
            Self::I64(b) => b.append_null(),
            Self::I32(b) => b.append_null(),
            Self::F64(b) => b.append_null(),
            Self::F32(b) => b.append_null(),
            Self::Bool(b) => b.append_null(),
            Self::Ts(b) => b.append_null(),
            Self::Str(b) => b.append_null(),
            Self::Bin(b) => b.append_null(),
        }
    }

    /// Appends `s` when it has this column's type, else a null.
    #[inline]
    fn value(&mut self, s: Scalar<'_>) {
        match (self, s) {
            (Self::I64(b), Scalar::I64(v)) => b.append_value(v),
            (Self::I32(b), Scalar::I32(v)) => b.append_value(v),
            (Self::F64(b), Scalar::F64(v)) => b.append_value(v),
            (Self::F32(b), Scalar::F32(v)) => b.append_value(v),
            (Self::Bool(b), Scalar::Bool(v)) => b.append_value(v),
            (Self::Ts(b), Scalar::Ts(v)) => b.append_value(v),
            (Self::Str(b), Scalar::Str(v)) => match std::str::from_utf8(v) {
                Ok(v) => b.append_value(v),
                Err(_) => b.append_null(),
            },
            (Self::Bin(b), Scalar::Bin(v)) => b.append_value(v),
            (c, _) => c.null(),
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Self::I64(mut b) => Arc::new(b.finish()),
            Self::I32(mut b) => Arc::new(b.finish()),
            Self::F64(mut b) => Arc::new(b.finish()),
            Self::F32(mut b) => Arc::new(b.finish()),
            Self::Bool(mut b) => Arc::new(b.finish()),
            Self::Ts(mut b) => Arc::new(b.finish()),
            Self::Str(mut b) => Arc::new(b.finish()),
            Self::Bin(mut b) => Arc::new(b.finish()),
        }
    }
}

/// Byte equality for short names, without a call to `memcmp` per value.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// A [`RowSink`] that decodes the wanted features of each row into Arrow builders.
///
/// Output rows follow `requested`: a row without a key (a null join key) was not asked for
/// and gets nulls; each other row takes the next pushed row. Rows with an event time before
/// `min_event_ts` (outside the ttl) give nulls, as do missing keys.
pub(crate) struct Columns<'w> {
    wanted: &'w [(String, ValueType)],
    cols: Vec<Column>,
    filled: Vec<bool>,
    requested: &'w [bool],
    min_event_ts: i64,
    /// The next output row.
    next: usize,
    /// Rows pushed (to catch a backend pushing the wrong number).
    pushed: usize,
}

impl<'w> Columns<'w> {
    pub(crate) fn new(
        wanted: &'w [(String, ValueType)],
        requested: &'w [bool],
        min_event_ts: i64,
    ) -> Self {
        let rows = requested.len();
        Self {
            wanted,
            cols: wanted
                .iter()
                .map(|(_, vt)| Column::new(*vt, rows))
                .collect(),
            filled: vec![false; wanted.len()],
            requested,
            min_event_ts,
            next: 0,
            pushed: 0,
        }
    }

    fn null_row(&mut self) {
        self.cols.iter_mut().for_each(Column::null);
    }

    /// Appends the wanted features of one encoded value list (absent ones → null).
    fn decode(&mut self, mut b: &[u8]) {
        self.filled.fill(false);
        let mut missing = self.wanted.len();
        // Stored values usually come in the requested order: try the next wanted name first.
        let mut hint = 0;
        while missing > 0
            && let Some((name, s)) = next_value(&mut b)
        {
            let w = match self.wanted.get(hint) {
                Some((wn, _)) if same(wn.as_bytes(), name) => Some(hint),
                _ => self
                    .wanted
                    .iter()
                    .position(|(wn, _)| same(wn.as_bytes(), name)),
            };
            if let Some(w) = w
                && !self.filled[w]
            {
                self.cols[w].value(s);
                self.filled[w] = true;
                missing -= 1;
                hint = w + 1;
            }
        }
        if missing > 0 {
            for (c, f) in self.cols.iter_mut().zip(&self.filled) {
                if !f {
                    c.null();
                }
            }
        }
    }

    /// Emits null rows for rows that were not requested, up to the next requested one.
    fn skip_unrequested(&mut self) {
        while self.requested.get(self.next) == Some(&false) {
            self.null_row();
            self.next += 1;
        }
    }

    /// The finished columns, in `wanted` order.
    ///
    /// # Errors
    /// `Online` when the backend pushed another number of rows than keys requested.
    pub(crate) fn finish(mut self, backend: &'static str) -> Result<Vec<ArrayRef>> {
        self.skip_unrequested();
        let keys = self.requested.iter().filter(|r| **r).count();
        if self.pushed != keys || self.next != self.requested.len() {
            return Err(Error::Online {
                backend,
                message: format!("read returned {} rows for {keys} keys", self.pushed),
                kind: ErrorKind::Backend,
            });
        }
        Ok(self.cols.into_iter().map(Column::finish).collect())
    }
}

impl RowSink for Columns<'_> {
    fn push(&mut self, row: Option<StoredRow<'_>>) {
        self.pushed += 1;
        self.skip_unrequested();
        if self.next >= self.requested.len() {
            return; // more rows than keys: reported by `finish`
        }
        self.next += 1;
        match row.filter(|r| r.event_ts >= self.min_event_ts) {
            Some(r) => self.decode(r.value),
            None => self.null_row(),
        }
    }
}

/// Reads the `wanted` features of `view` for each of `rows` entity rows keyed by `key_cols`
/// (already in their declared types): one column per wanted feature. Rows with a null key,
/// missing keys and rows with event time before `min_event_ts` give nulls.
///
/// # Errors
/// `Online` from the backend.
pub(crate) async fn read_features(
    online: &dyn OnlineStore,
    view: &str,
    key_cols: &[(ArrayRef, ValueType)],
    rows: usize,
    wanted: &[(String, ValueType)],
    min_event_ts: i64,
) -> Result<Vec<ArrayRef>> {
    // All keys in one buffer: one allocation instead of one per key.
    let mut buf = Vec::with_capacity(rows * 16);
    let mut ends = Vec::with_capacity(rows);
    let mut requested = Vec::with_capacity(rows);
    for i in 0..rows {
        let ok = encode_key_into(&mut buf, key_cols, i);
        requested.push(ok);
        if ok {
            ends.push(buf.len());
        }
    }
    let mut start = 0;
    let keys: Vec<&[u8]> = ends
        .iter()
        .map(|&end| {
            let k = &buf[start..end];
            start = end;
            k
        })
        .collect();
    let mut sink = Columns::new(wanted, &requested, min_event_ts);
    online.read_into(view, &keys, &mut sink).await?;
    sink.finish("online store")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::online::codec::encode_values;
    use arrow::array::{Array, AsArray, Float64Array, Int64Array, StringArray};
    use arrow::datatypes as t;

    fn row(value: &[u8], event_ts: i64) -> Option<StoredRow<'_>> {
        Some(StoredRow {
            event_ts,
            created_ts: 0,
            value,
        })
    }

    #[test]
    fn columns_follow_requested_rows_ttl_and_wanted_order() {
        let f: ArrayRef = Arc::new(Float64Array::from(vec![Some(f64::NAN), None, Some(-0.0)]));
        let s: ArrayRef = Arc::new(StringArray::from(vec![Some("ünï"), Some(""), None]));
        let i: ArrayRef = Arc::new(Int64Array::from(vec![7, 8, 9]));
        let enc: Vec<_> = (0..3)
            .map(|r| {
                encode_values(
                    &[
                        ("f", f.clone(), ValueType::Float64),
                        ("s", s.clone(), ValueType::String),
                        ("i", i.clone(), ValueType::Int64),
                    ],
                    r,
                )
            })
            .collect();
        // Wanted in another order than stored; "i" read as Float64 is a type mismatch → null;
        // "zz" is not stored → null.
        let wanted = vec![
            ("s".to_string(), ValueType::String),
            ("f".to_string(), ValueType::Float64),
            ("i".to_string(), ValueType::Float64),
            ("zz".to_string(), ValueType::Int64),
        ];
        // Output rows: 0 key null, 1 row0, 2 row1, 3 missing, 4 expired, 5 key null, 6 row2.
        let requested = [false, true, true, true, true, false, true];
        let mut sink = Columns::new(&wanted, &requested, 10);
        sink.push(row(&enc[0], 10));
        sink.push(row(&enc[1], 11));
        sink.push(None);
        sink.push(row(&enc[0], 9));
        sink.push(row(&enc[2], 12));
        let cols = sink.finish("test").unwrap();
        assert!(cols.iter().all(|c| c.len() == 7));
        let got_s = cols[0].as_string::<i32>();
        let strs: Vec<Option<&str>> = (0..7)
            .map(|r| got_s.is_valid(r).then(|| got_s.value(r)))
            .collect();
        assert_eq!(strs, [None, Some("ünï"), Some(""), None, None, None, None]);
        let got_f = cols[1].as_primitive::<t::Float64Type>();
        assert_eq!(got_f.value(1).to_bits(), f64::NAN.to_bits());
        assert_eq!(got_f.value(6).to_bits(), (-0.0f64).to_bits());
        let valid: Vec<bool> = (0..7).map(|r| got_f.is_valid(r)).collect();
        assert_eq!(valid, [false, true, false, false, false, false, true]);
        assert_eq!(cols[2].null_count(), 7);
        assert_eq!(cols[3].null_count(), 7);
    }

    #[test]
    fn a_wrong_number_of_rows_is_an_error() {
        let wanted = vec![("a".to_string(), ValueType::Int64)];
        let requested = [true, false, true];
        let mut few = Columns::new(&wanted, &requested, i64::MIN);
        few.push(None);
        assert!(few.finish("test").is_err());
        let mut many = Columns::new(&wanted, &requested, i64::MIN);
        (0..3).for_each(|_| many.push(None));
        assert!(many.finish("test").is_err());
        let mut ok = Columns::new(&wanted, &requested, i64::MIN);
        (0..2).for_each(|_| ok.push(None));
        assert_eq!(ok.finish("test").unwrap()[0].null_count(), 3);
    }
}
