//! Arrow arrays → cleaned samples, the way Evidently cleans a column: ±inf become NaN, then
//! nulls and NaN are dropped on each side.

use crate::error::{Error, Result};
use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

/// How a column is tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    /// Numbers: distances and ECDF tests.
    Numerical,
    /// Categories: counts per distinct value.
    Categorical,
}

impl ColumnKind {
    /// The kind this crate infers from an Arrow type: numbers → numerical; strings, booleans
    /// and dictionaries → categorical. (Evidently infers differently: integers with ≤ 10
    /// distinct values are categorical there, and strings may be text.) `None` for other types.
    pub fn infer(data_type: &DataType) -> Option<Self> {
        match data_type {
            t if t.is_numeric() => Some(ColumnKind::Numerical),
            DataType::Boolean
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Dictionary(_, _) => Some(ColumnKind::Categorical),
            _ => None,
        }
    }

    /// `numerical` or `categorical`.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnKind::Numerical => "numerical",
            ColumnKind::Categorical => "categorical",
        }
    }
}

/// One category value. Values of one column share a variant, so the derived order is the
/// natural order within a column (false < true, numeric, lexicographic).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Key {
    /// A boolean.
    Bool(bool),
    /// A finite number.
    Num(f64),
    /// A string.
    Str(String),
}

impl Key {
    fn rank(&self) -> u8 {
        match self {
            Key::Bool(_) => 0,
            Key::Num(_) => 1,
            Key::Str(_) => 2,
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Key::Bool(a), Key::Bool(b)) => a.cmp(b),
            // -0.0 == 0.0 as pandas counts them
            (Key::Num(a), Key::Num(b)) => (a + 0.0).total_cmp(&(b + 0.0)),
            (Key::Str(a), Key::Str(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Bool(b) => write!(f, "{b}"),
            Key::Num(v) => write!(f, "{v}"),
            Key::Str(s) => f.write_str(s),
        }
    }
}

/// Counts per category of one side (nulls already dropped).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Count per value, in value order.
    pub counts: BTreeMap<Key, u64>,
    /// Total count.
    pub n: u64,
}

impl Counts {
    /// Counts of an iterator of keys.
    pub fn from_keys(keys: impl IntoIterator<Item = Key>) -> Self {
        let mut c = Counts::default();
        for k in keys {
            *c.counts.entry(k).or_insert(0) += 1;
            c.n += 1;
        }
        c
    }

    /// Counts of finite numbers.
    pub fn from_values(values: &[f64]) -> Self {
        let mut h: HashMap<u64, u64> = HashMap::new();
        for v in values {
            *h.entry((v + 0.0).to_bits()).or_insert(0) += 1;
        }
        let mut c = Counts {
            counts: BTreeMap::new(),
            n: values.len() as u64,
        };
        for (bits, n) in h {
            c.counts.insert(Key::Num(f64::from_bits(bits)), n);
        }
        c
    }

    /// Adds another side's counts (merging partitions).
    pub fn merge(&mut self, other: &Counts) {
        for (k, v) in &other.counts {
            *self.counts.entry(k.clone()).or_insert(0) += v;
        }
        self.n += other.n;
    }
}

/// A cleaned numerical sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Numbers {
    /// Finite values in input order.
    pub values: Vec<f64>,
    /// The Arrow type was an integer type without nulls (pandas keeps an integer dtype then,
    /// which changes numpy's Sturges bin width rule).
    pub integer: bool,
}

/// A cleaned sample of one side of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    /// Numbers.
    Numerical(Numbers),
    /// Category counts.
    Categorical(Counts),
}

impl Sample {
    /// Cleans an Arrow array as `kind`.
    ///
    /// # Errors
    /// [`Error::Invalid`] when the Arrow type cannot be read as `kind` (e.g. strings as numbers).
    pub fn from_arrow(array: &dyn Array, kind: ColumnKind) -> Result<Self> {
        match kind {
            ColumnKind::Numerical => Ok(Sample::Numerical(numbers(array)?)),
            ColumnKind::Categorical => Ok(Sample::Categorical(counts(array)?)),
        }
    }

    /// Number of values after cleaning.
    pub fn len(&self) -> usize {
        match self {
            Sample::Numerical(n) => n.values.len(),
            Sample::Categorical(c) => c.n as usize,
        }
    }

    /// Whether no value is left after cleaning.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Finite numbers of a numeric (or boolean) Arrow array.
pub fn numbers(array: &dyn Array) -> Result<Numbers> {
    let dt = array.data_type();
    let integer = dt.is_integer() && array.null_count() == 0;
    let values: Vec<f64> = match dt {
        DataType::Float64 => {
            let a = array.as_primitive::<arrow::datatypes::Float64Type>();
            if a.null_count() == 0 {
                let v = a.values();
                if all_finite(v) {
                    v.to_vec()
                } else {
                    v.iter().copied().filter(|v| v.is_finite()).collect()
                }
            } else {
                a.iter().flatten().filter(|v| v.is_finite()).collect()
            }
        }
        t if t.is_numeric() || *t == DataType::Boolean => {
            let c = arrow::compute::cast(array, &DataType::Float64)?;
            let a = c.as_primitive::<arrow::datatypes::Float64Type>();
            a.iter().flatten().filter(|v| v.is_finite()).collect()
        }
        DataType::Dictionary(_, v) if v.is_numeric() => {
            let c = arrow::compute::cast(array, &DataType::Float64)?;
            let a = c.as_primitive::<arrow::datatypes::Float64Type>();
            a.iter().flatten().filter(|v| v.is_finite()).collect()
        }
        other => {
            return Err(Error::Invalid(format!(
                "a {other} column cannot be tested as numerical"
            )));
        }
    };
    Ok(Numbers { values, integer })
}

/// Whether every value is finite: `v·0` is ±0 for finite values and NaN for ±∞/NaN, summed
/// lane-wise (branchless, vectorises).
pub(crate) fn all_finite(values: &[f64]) -> bool {
    let mut acc = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let rest_ok = chunks.remainder().iter().all(|v| v.is_finite());
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v * 0.0;
        }
    }
    rest_ok && acc.iter().all(|&a| a == 0.0)
}

/// One pass over the values: their smallest and largest value when every value is finite
/// (`None` as soon as one is NaN or ±∞; `(+∞, −∞)` for an empty slice). Lane-wise and
/// branchless so LLVM vectorises it: the finiteness test is [`all_finite`]'s.
pub(crate) fn finite_range(values: &[f64]) -> Option<(f64, f64)> {
    let mut lo = [f64::INFINITY; 8];
    let mut hi = [f64::NEG_INFINITY; 8];
    let mut acc = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            let x = c[k];
            lo[k] = if x < lo[k] { x } else { lo[k] };
            hi[k] = if x > hi[k] { x } else { hi[k] };
            acc[k] += x * 0.0;
        }
    }
    if !(acc.iter().all(|&a| a == 0.0) && rest.iter().all(|v| v.is_finite())) {
        return None;
    }
    let lanes = lo.into_iter().zip(hi);
    Some(
        lanes
            .chain(rest.iter().map(|&v| (v, v)))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), (a, b)| {
                (l.min(a), h.max(b))
            }),
    )
}

/// Category counts of an Arrow array (strings, booleans, dictionaries, numbers).
pub fn counts(array: &dyn Array) -> Result<Counts> {
    let dt = array.data_type();
    match dt {
        DataType::Boolean => Ok(Counts::from_keys(
            array.as_boolean().iter().flatten().map(Key::Bool),
        )),
        DataType::Utf8 => Ok(Counts::from_keys(
            array
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(|s| Key::Str(s.to_string())),
        )),
        DataType::LargeUtf8 => Ok(Counts::from_keys(
            array
                .as_string::<i64>()
                .iter()
                .flatten()
                .map(|s| Key::Str(s.to_string())),
        )),
        DataType::Utf8View | DataType::Dictionary(_, _) => {
            let inner = match dt {
                DataType::Dictionary(_, v) => v.as_ref().clone(),
                _ => DataType::Utf8,
            };
            if inner.is_numeric() {
                return Ok(Counts::from_values(&numbers(array)?.values));
            }
            let c = arrow::compute::cast(array, &DataType::Utf8)?;
            counts(c.as_ref())
        }
        t if t.is_numeric() => Ok(Counts::from_values(&numbers(array)?.values)),
        other => Err(Error::Invalid(format!(
            "a {other} column cannot be tested as categorical"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{BooleanArray, DictionaryArray, Float64Array, Int64Array, StringArray};
    use arrow::datatypes::Int32Type;

    #[test]
    fn cleaning_drops_null_nan_and_inf() {
        let a = Float64Array::from(vec![
            Some(1.0),
            None,
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(f64::NEG_INFINITY),
            Some(2.0),
        ]);
        let n = numbers(&a).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n.values, vec![1.0, 2.0]);
        assert!(!n.integer);
        let i = Int64Array::from(vec![1, 2, 3]);
        assert!(numbers(&i).map(|n| n.integer).unwrap_or(false));
        let i = Int64Array::from(vec![Some(1), None]);
        assert!(!numbers(&i).map(|n| n.integer).unwrap_or(true));
    }

    #[test]
    fn finite_range_is_min_max_or_none() {
        let mut v: Vec<f64> = (0..37).map(|i| f64::from((i * 17) % 23) - 9.5).collect();
        assert_eq!(finite_range(&v), Some((-9.5, 12.5)));
        assert_eq!(finite_range(&v[..3]), Some((-9.5, 7.5)));
        assert_eq!(finite_range(&[]), Some((f64::INFINITY, f64::NEG_INFINITY)));
        for (at, bad) in [(4, f64::NAN), (36, f64::INFINITY), (0, f64::NEG_INFINITY)] {
            let keep = v[at];
            v[at] = bad;
            assert_eq!(finite_range(&v), None, "{bad} at {at}");
            v[at] = keep;
        }
    }

    #[test]
    fn categories_from_strings_bools_and_dictionaries() {
        let s = StringArray::from(vec![Some("b"), None, Some("a"), Some("b")]);
        let c = counts(&s).unwrap_or_default();
        assert_eq!(c.n, 3);
        assert_eq!(c.counts[&Key::Str("b".into())], 2);
        let b = BooleanArray::from(vec![true, false, true]);
        let c = counts(&b).unwrap_or_default();
        assert_eq!(c.counts.keys().next(), Some(&Key::Bool(false)));
        let d: DictionaryArray<Int32Type> = vec!["x", "y", "x"].into_iter().collect();
        let c = counts(&d).unwrap_or_default();
        assert_eq!(c.counts[&Key::Str("x".into())], 2);
        assert!(numbers(&StringArray::from(vec!["a"])).is_err());
        assert_eq!(
            ColumnKind::infer(&DataType::Int8),
            Some(ColumnKind::Numerical)
        );
        assert_eq!(
            ColumnKind::infer(&DataType::Utf8),
            Some(ColumnKind::Categorical)
        );
    }
}
