//! The streaming as-of join core.
//!
//! The entity rows of a view (the small side, N rows) are sorted once by (join keys, time) and
//! indexed by key. Feature rows (the big side, M rows) then stream past in any order, one
//! decoded batch at a time, and are never sorted or held: a feature row with time `t` is a
//! candidate for exactly the entity rows of its key with time `>= t`, which in the sorted
//! index form a suffix of the key's segment starting at `lower_bound(t)`. So each feature row
//! updates one "best candidate landing here" slot; after the stream, a running maximum along
//! each segment gives every entity row its latest feature row with time `<=` its own.
//!
//! Cost: O(N log N + M log(N/K)) time, O(N) memory whatever M is and whatever the key skew (a
//! key with 100k rows costs what 100k keys with one row each cost). The winner is the greatest
//! (event time, created time with null lowest, source position); the ttl is checked on the
//! winner only, so an expired winner gives null and never falls back to an older row.

use crate::error::Result;
use crate::offline::asof::{Micros, int_bits};
use arrow::array::ArrayRef;
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, Rows, SortField};
use rayon::prelude::*;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// "No feature row" in a global-row-id slot.
pub(crate) const NONE: u64 = u64::MAX;

/// A fast, deterministic hasher for integer keys and key bytes (splitmix64 finalizer).
#[derive(Default, Clone, Copy)]
pub(crate) struct MixHasher(u64);

impl Hasher for MixHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = mix(self.0 ^ u64::from_le_bytes(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = mix(self.0 ^ v);
    }
    fn write_i64(&mut self, v: i64) {
        self.write_u64(v as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// splitmix64's finalizer: every input bit affects every output bit.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

type Mix = BuildHasherDefault<MixHasher>;

/// Encodes join keys so that equal keys encode equally: one integer column as its 64-bit
/// pattern (borrowed for Int64), anything else in Arrow's row format, no key as one segment.
pub(crate) enum KeyCodec {
    /// No join keys: every row has the same key.
    Unit,
    /// One integer key column.
    Int,
    /// Any other key shape.
    Rows(RowConverter),
}

/// Encoded keys of one batch of rows (see [`KeyCodec`]).
pub(crate) enum Encoded {
    Unit,
    Int(ScalarBuffer<i64>),
    Rows(Rows),
}

impl Encoded {
    /// A hash of row `i`'s key, equal for equal keys on both sides (for partitioning).
    pub(crate) fn hash(&self, i: usize) -> u64 {
        match self {
            Encoded::Unit => 0,
            Encoded::Int(v) => mix(v[i] as u64),
            Encoded::Rows(r) => {
                let mut h = MixHasher(0x5bd1_e995);
                h.write(r.row(i).as_ref());
                h.finish()
            }
        }
    }
}

impl KeyCodec {
    /// A codec for key columns of these types (the source's types; entity keys are cast to
    /// them first).
    pub(crate) fn new(types: &[DataType]) -> Result<Self> {
        Ok(match types {
            [] => KeyCodec::Unit,
            [t] if t.is_integer() => KeyCodec::Int,
            _ => KeyCodec::Rows(RowConverter::new(
                types.iter().map(|t| SortField::new(t.clone())).collect(),
            )?),
        })
    }

    /// Encodes key columns (of the codec's types) and returns their combined validity: a row
    /// with a null in any key column never matches.
    pub(crate) fn encode(&self, cols: &[ArrayRef]) -> Result<(Encoded, Option<NullBuffer>)> {
        let nulls = cols.iter().fold(None, |acc: Option<NullBuffer>, c| {
            NullBuffer::union(acc.as_ref(), c.logical_nulls().as_ref())
        });
        let enc = match (self, cols) {
            (KeyCodec::Unit, _) => Encoded::Unit,
            (KeyCodec::Int, [c]) => match int_bits(c) {
                Some(b) => Encoded::Int(b),
                None => {
                    return Err(crate::Error::invalid(
                        "join key",
                        c.data_type().to_string(),
                        "not an integer column",
                    ));
                }
            },
            (KeyCodec::Rows(conv), _) => Encoded::Rows(conv.convert_columns(cols)?),
            (KeyCodec::Int, _) => {
                return Err(crate::Error::invalid(
                    "join key",
                    "",
                    "expected one key column",
                ));
            }
        };
        Ok((enc, nulls))
    }
}

/// The best candidate seen for one slot: ordered by (event time, created, source position).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Best {
    t: i64,
    c: i64,
    gid: u64,
}

impl Best {
    /// No candidate yet.
    pub(crate) const EMPTY: Best = Best {
        t: i64::MIN,
        c: i64::MIN,
        gid: NONE,
    };

    #[inline]
    fn beats(&self, other: &Best) -> bool {
        other.gid == NONE || (self.t, self.c, self.gid) > (other.t, other.c, other.gid)
    }
}

/// Slots of one worker, one per indexed entity position.
pub(crate) type Slots = Vec<Best>;

/// Merges worker slots into `into` (slot-wise best).
pub(crate) fn merge_slots(into: &mut Slots, from: &Slots) {
    for (a, b) in into.iter_mut().zip(from) {
        if b.beats(a) {
            *a = *b;
        }
    }
}

enum Segments {
    Unit(u32, u32),
    Int(HashMap<i64, (u32, u32), Mix>),
    Rows(HashMap<Box<[u8]>, (u32, u32), Mix>),
}

/// The entity rows of one view (or one key partition of it), sorted by (key, time).
pub(crate) struct EntityIndex {
    segs: Segments,
    /// Entity time at each sorted position.
    ts: Vec<i64>,
    /// The caller's entity row at each sorted position.
    row: Vec<u32>,
}

impl EntityIndex {
    /// Indexes entity rows `rows` (caller's numbering into `keys`/`ts`); rows with a null key
    /// or time must already be left out.
    pub(crate) fn build(keys: &Encoded, ts: &Micros, rows: Vec<u32>) -> Self {
        let t = &ts.values;
        let n = rows.len();
        match keys {
            Encoded::Unit => {
                let mut v: Vec<(i64, u32)> = rows.iter().map(|&r| (t[r as usize], r)).collect();
                drop(rows);
                v.par_sort_unstable();
                let (ts, row) = v.into_iter().unzip();
                Self {
                    segs: Segments::Unit(0, n as u32),
                    ts,
                    row,
                }
            }
            Encoded::Int(k) => {
                let mut v: Vec<(i64, i64, u32)> = rows
                    .iter()
                    .map(|&r| (k[r as usize], t[r as usize], r))
                    .collect();
                drop(rows);
                v.par_sort_unstable();
                let mut map: HashMap<i64, (u32, u32), Mix> = HashMap::default();
                let mut start = 0usize;
                for p in 0..v.len() {
                    if v.get(p + 1).is_none_or(|nx| nx.0 != v[p].0) {
                        map.insert(v[p].0, (start as u32, (p + 1) as u32));
                        start = p + 1;
                    }
                }
                let ts = v.iter().map(|e| e.1).collect();
                let row = v.iter().map(|e| e.2).collect();
                Self {
                    segs: Segments::Int(map),
                    ts,
                    row,
                }
            }
            Encoded::Rows(r) => {
                let mut row = rows;
                row.par_sort_unstable_by(|&a, &b| {
                    let (a, b) = (a as usize, b as usize);
                    r.row(a).cmp(&r.row(b)).then(t[a].cmp(&t[b]))
                });
                let mut map: HashMap<Box<[u8]>, (u32, u32), Mix> = HashMap::default();
                let mut start = 0usize;
                for p in 0..row.len() {
                    let here = r.row(row[p] as usize);
                    if row.get(p + 1).is_none_or(|&nx| r.row(nx as usize) != here) {
                        map.insert(here.as_ref().into(), (start as u32, (p + 1) as u32));
                        start = p + 1;
                    }
                }
                let ts = row.iter().map(|&i| t[i as usize]).collect();
                Self {
                    segs: Segments::Rows(map),
                    ts,
                    row,
                }
            }
        }
    }

    /// Indexed entity rows.
    pub(crate) fn len(&self) -> usize {
        self.ts.len()
    }

    /// Fresh, empty slots for one worker.
    pub(crate) fn slots(&self) -> Slots {
        vec![Best::EMPTY; self.len()]
    }

    fn segment(&self, keys: &Encoded, i: usize) -> Option<(u32, u32)> {
        match (&self.segs, keys) {
            (Segments::Unit(a, b), _) => Some((*a, *b)),
            (Segments::Int(m), Encoded::Int(k)) => m.get(&k[i]).copied(),
            (Segments::Rows(m), Encoded::Rows(r)) => m.get(r.row(i).as_ref()).copied(),
            _ => None,
        }
    }

    /// Offers a batch of feature rows: `keys`/`key_nulls` encoded with the entity codec,
    /// event and created times, and each row's global source position `gid(i)`.
    ///
    /// A row already older than `ttl_us` for the first entity row it lands on is expired for
    /// every later one too, and so is anything older it could displace: it is dropped without
    /// touching its slot (the result is the same, and most rows go this way under a short ttl).
    #[allow(clippy::too_many_arguments)] // the decoded columns of one batch, kept apart
    pub(crate) fn offer(
        &self,
        slots: &mut Slots,
        keys: &Encoded,
        key_nulls: Option<&NullBuffer>,
        ts: &Micros,
        created: Option<&Micros>,
        ttl_us: i64,
        gid: impl Fn(usize) -> u64,
    ) {
        if self.ts.is_empty() {
            return;
        }
        for i in 0..ts.values.len() {
            if key_nulls.is_some_and(|n| n.is_null(i))
                || ts.nulls.as_ref().is_some_and(|n| n.is_null(i))
            {
                continue;
            }
            let Some((lo, hi)) = self.segment(keys, i) else {
                continue;
            };
            let t = ts.values[i];
            let seg = &self.ts[lo as usize..hi as usize];
            let p = lo as usize + seg.partition_point(|&e| e < t);
            if p == hi as usize {
                continue; // newer than every entity row of the key
            }
            if ttl_us > 0 && t < self.ts[p].saturating_sub(ttl_us) {
                continue; // expired wherever it could be chosen
            }
            let c = match created {
                Some(c) if c.nulls.as_ref().is_none_or(|n| n.is_valid(i)) => c.values[i],
                Some(_) => i64::MIN,
                None => 0,
            };
            let cand = Best { t, c, gid: gid(i) };
            if cand.beats(&slots[p]) {
                slots[p] = cand;
            }
        }
    }

    /// Resolves merged slots: each entity row's winner (a global source position) goes to
    /// `out[row]`; an expired winner (older than the row's time − `ttl_us`, if `ttl_us > 0`)
    /// or none leaves [`NONE`].
    pub(crate) fn resolve(&self, slots: &Slots, ttl_us: i64, out: &mut [u64]) {
        let mut run = |lo: u32, hi: u32| {
            let mut best = Best::EMPTY;
            for p in lo as usize..hi as usize {
                if slots[p].beats(&best) {
                    best = slots[p];
                }
                if best.gid == NONE {
                    continue;
                }
                if ttl_us > 0 && best.t < self.ts[p].saturating_sub(ttl_us) {
                    continue;
                }
                out[self.row[p] as usize] = best.gid;
            }
        };
        match &self.segs {
            Segments::Unit(a, b) => run(*a, *b),
            Segments::Int(m) => m.values().for_each(|&(a, b)| run(a, b)),
            Segments::Rows(m) => m.values().for_each(|&(a, b)| run(a, b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offline::asof::to_micros;
    use arrow::array::{Int64Array, StringArray, TimestampMicrosecondArray};
    use std::sync::Arc;

    fn ts(v: Vec<Option<i64>>) -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
    }

    /// Joins in two batches (to exercise streaming) and returns the winner per entity row.
    fn run(
        ek: ArrayRef,
        et: ArrayRef,
        fk: ArrayRef,
        ft: ArrayRef,
        fc: ArrayRef,
        ttl: i64,
    ) -> Vec<u64> {
        let codec = KeyCodec::new(&[fk.data_type().clone()]).unwrap();
        let (ee, en) = codec.encode(&[ek]).unwrap();
        let et = to_micros("e", &et).unwrap();
        let rows: Vec<u32> = (0..et.values.len() as u32)
            .filter(|&i| {
                en.as_ref().is_none_or(|n| n.is_valid(i as usize))
                    && et.nulls.as_ref().is_none_or(|n| n.is_valid(i as usize))
            })
            .collect();
        let idx = EntityIndex::build(&ee, &et, rows);
        let mut slots = idx.slots();
        let split = fk.len() / 2;
        for (off, len) in [(0, split), (split, fk.len() - split)] {
            let (fe, fnl) = codec.encode(&[fk.slice(off, len)]).unwrap();
            let ft = to_micros("f", &ft.slice(off, len)).unwrap();
            let fc = to_micros("c", &fc.slice(off, len)).unwrap();
            idx.offer(&mut slots, &fe, fnl.as_ref(), &ft, Some(&fc), ttl, |i| {
                (off + i) as u64
            });
        }
        let mut out = vec![NONE; et.values.len()];
        idx.resolve(&slots, ttl, &mut out);
        out
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
        // 9: nothing yet; 10: row 0 (inclusive); 25: tie at 20 → created 7 (row 1) beats null;
        // key 2 at 15: 5 is exactly ttl old → kept; at 16: expired; key 3 unknown; null key/ts.
        assert_eq!(
            run(ek, et, fk, ft, fc, 10),
            vec![NONE, 0, 1, 3, NONE, NONE, NONE, NONE]
        );
    }

    #[test]
    fn string_keys_full_ties_and_no_fallback() {
        // Rows 0 and 3 tie fully (key, time, created): the later source row wins.
        let fk: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "a", "a"]));
        let ft = ts(vec![Some(1), Some(1), Some(3), Some(1)]);
        let fc = ts(vec![Some(0), Some(0), Some(0), Some(0)]);
        let ek: ArrayRef = Arc::new(StringArray::from(vec!["a", "a", "b", "c", "a"]));
        let et = ts(vec![Some(2), Some(3), Some(0), Some(5), Some(30)]);
        assert_eq!(
            run(
                ek.clone(),
                et.clone(),
                fk.clone(),
                ft.clone(),
                fc.clone(),
                0
            ),
            vec![3, 2, NONE, NONE, 2]
        );
        // ttl 5 at time 30: the winner (time 3) is expired, and no older row is used instead.
        assert_eq!(run(ek, et, fk, ft, fc, 5), vec![3, 2, NONE, NONE, NONE]);
    }

    #[test]
    fn hashes_agree_across_sides() {
        let codec = KeyCodec::new(&[DataType::Utf8, DataType::Int64]).unwrap();
        let a: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["x", "y"])),
            Arc::new(Int64Array::from(vec![1, 2])),
        ];
        let b: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["y", "x"])),
            Arc::new(Int64Array::from(vec![2, 1])),
        ];
        let (ea, _) = codec.encode(&a).unwrap();
        let (eb, _) = codec.encode(&b).unwrap();
        assert_eq!(ea.hash(0), eb.hash(1));
        assert_eq!(ea.hash(1), eb.hash(0));
        assert_ne!(ea.hash(0), ea.hash(1));
    }
}
