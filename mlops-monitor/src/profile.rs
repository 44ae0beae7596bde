//! Reference profiles: computed once from the reference, serialised (JSON; raw numerical
//! samples in Parquet), mergeable across partitions, reused for every later batch without the
//! raw reference.
//!
//! What a profile can answer without raw samples: every method on categorical columns (counts
//! are the whole story), every method on numerical columns with ≤ 20 distinct reference values
//! (the value counts are the sample), and the `standard` family's binned methods (PSI, KL, JS,
//! Hellinger on reference deciles) on any numerical column. Exact ECDF tests (KS, Wasserstein,
//! energy, CvM, Anderson-Darling) and Evidently's combined-range binning on wider columns need
//! the raw sample: build with [`ProfileOptions::keep_samples`].

use crate::column::{ColumnKind, Counts, Key, Numbers, Sample};
use crate::drift::binned::{CurrentSide, StandardBins, distinct_exceeds};
use crate::drift::{
    Binning, ColumnDrift, ColumnOutcome, DatasetDrift, DriftOptions, Family, Method, column_drift,
    default_method, summarise,
};
use crate::error::{Error, Result};
use arrow::array::{ArrayRef, Float64Array, RecordBatch};
use bytes::Bytes;
use mlops_core::Storage;
use mlops_core::object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How to build a profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProfileOptions {
    /// Columns (default: every column whose Arrow type has a kind).
    pub columns: Option<Vec<String>>,
    /// Kinds named explicitly.
    pub kinds: BTreeMap<String, ColumnKind>,
    /// Keep the cleaned numerical samples (for exact KS/Wasserstein/... and Evidently binning).
    pub keep_samples: bool,
}

/// Running moments (Chan et al. parallel merge).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Count.
    pub n: u64,
    /// Mean.
    pub mean: f64,
    /// Sum of squared deviations.
    pub m2: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
}

impl Moments {
    fn of(values: &[f64]) -> Self {
        let n = values.len() as u64;
        let mean = crate::stats::sum(values.iter().copied()) / n.max(1) as f64;
        let m2 = crate::stats::sum(values.iter().map(|x| (x - mean) * (x - mean)));
        let (min, max) = crate::drift::binned::min_max(values);
        Moments {
            n,
            mean,
            m2,
            min,
            max,
        }
    }

    fn merge(&self, o: &Moments) -> Moments {
        if self.n == 0 {
            return *o;
        }
        if o.n == 0 {
            return *self;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        Moments {
            n,
            mean: self.mean + d * o.n as f64 / n as f64,
            m2: self.m2 + o.m2 + d * d * (self.n as f64 * o.n as f64) / n as f64,
            min: self.min.min(o.min),
            max: self.max.max(o.max),
        }
    }

    /// Population standard deviation.
    pub fn std_pop(&self) -> f64 {
        (self.m2 / self.n as f64).sqrt()
    }
}

/// The profile of one reference column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    /// Kind.
    pub kind: ColumnKind,
    /// Values after cleaning.
    pub n: u64,
    /// Integer dtype without nulls (numpy's Sturges rule differs).
    pub integer: bool,
    /// Moments (numerical).
    pub moments: Option<Moments>,
    /// Value counts: always for categorical; for numerical when ≤ 20 distinct values.
    pub counts: Option<Counts>,
    /// The `standard` family's reference bins.
    pub bins: StandardBins,
    /// Cleaned, sorted numerical sample (kept out of the JSON; stored in Parquet).
    #[serde(skip)]
    pub sample: Option<Vec<f64>>,
}

/// A reference profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Format version.
    pub version: u32,
    /// Column profiles by name.
    pub columns: BTreeMap<String, ColumnProfile>,
}

const SAMPLES_FILE: &str = "samples.parquet";
const PROFILE_FILE: &str = "profile.json";

impl Profile {
    /// Profiles a reference batch.
    ///
    /// ```
    /// use arrow::array::{ArrayRef, Float64Array, RecordBatch};
    /// use mlops_monitor::profile::{Profile, ProfileOptions};
    /// use mlops_monitor::{DriftOptions, Method};
    /// use std::sync::Arc;
    /// let r: ArrayRef = Arc::new(Float64Array::from((0..1000).map(|i| f64::from(i) / 10.0).collect::<Vec<_>>()));
    /// let c: ArrayRef = Arc::new(Float64Array::from((0..1000).map(|i| f64::from(i) / 5.0).collect::<Vec<_>>()));
    /// let profile = Profile::from_batch(&RecordBatch::try_from_iter([("x", r)])?, &ProfileOptions::default())?;
    /// let json = profile.to_json()?; // store it; the raw reference is no longer needed
    /// let profile = Profile::from_json(&json)?;
    /// let report = profile.drift(&RecordBatch::try_from_iter([("x", c)])?,
    ///     &DriftOptions::standard().with_method(Method::Psi))?;
    /// assert!(report.drift);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unknown column or a type that has no kind.
    pub fn from_batch(batch: &RecordBatch, options: &ProfileOptions) -> Result<Self> {
        let names: Vec<String> = match &options.columns {
            Some(c) => c.clone(),
            None => batch
                .schema()
                .fields()
                .iter()
                .filter(|f| {
                    options.kinds.contains_key(f.name())
                        || ColumnKind::infer(f.data_type()).is_some()
                })
                .map(|f| f.name().clone())
                .collect(),
        };
        let mut columns = BTreeMap::new();
        for name in names {
            let sample = column_sample(batch, &name, options.kinds.get(&name).copied())?;
            columns.insert(
                name,
                ColumnProfile::of(&sample, None, options.keep_samples)?,
            );
        }
        Ok(Profile {
            version: 1,
            columns,
        })
    }

    /// Counts another reference partition into this profile, keeping the fitted bins.
    ///
    /// # Errors
    /// [`Error::Invalid`] when a profiled column is missing or of another kind.
    pub fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        for (name, col) in self.columns.iter_mut() {
            let sample = column_sample(batch, name, Some(col.kind))?;
            let part = ColumnProfile::of(&sample, Some(&col.bins), col.sample.is_some())?;
            col.merge(&part)?;
        }
        Ok(())
    }

    /// Merges a profile of another partition (same columns).
    ///
    /// # Errors
    /// [`Error::Invalid`] for different columns or kinds; [`Error::Core`] (conflict) when the
    /// standard bins differ and no raw samples are kept to refit them.
    pub fn merge(&mut self, other: &Profile) -> Result<()> {
        if self.columns.keys().ne(other.columns.keys()) {
            return Err(Error::Invalid("profiles cover different columns".into()));
        }
        for (name, col) in self.columns.iter_mut() {
            if let Some(o) = other.columns.get(name) {
                col.merge(o)?;
            }
        }
        Ok(())
    }

    /// JSON (without raw samples).
    ///
    /// # Errors
    /// [`Error::Data`] on serialisation failure.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::Data(e.to_string()))
    }

    /// Reads JSON written by [`Profile::to_json`].
    ///
    /// # Errors
    /// [`Error::Invalid`] when it is not a profile.
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::Invalid(format!("not a profile: {e}")))
    }

    /// The raw numerical samples as Parquet (one nullable float64 column per kept column, padded
    /// with nulls), or `None` when no sample is kept.
    ///
    /// # Errors
    /// [`Error::Data`] on encoder failure.
    pub fn samples_parquet(&self) -> Result<Option<Bytes>> {
        let kept: Vec<(&String, &Vec<f64>)> = self
            .columns
            .iter()
            .filter_map(|(n, c)| c.sample.as_ref().map(|s| (n, s)))
            .collect();
        let Some(len) = kept.iter().map(|(_, s)| s.len()).max() else {
            return Ok(None);
        };
        let arrays: Vec<(&String, ArrayRef)> = kept
            .iter()
            .map(|(n, s)| {
                let a: Float64Array = (0..len).map(|i| s.get(i).copied()).collect();
                (*n, Arc::new(a) as ArrayRef)
            })
            .collect();
        let batch = RecordBatch::try_from_iter(arrays)?;
        crate::io::write_parquet_bytes(&batch).map(Some)
    }

    /// Attaches samples written by [`Profile::samples_parquet`].
    ///
    /// # Errors
    /// [`Error::Data`] when the bytes are not such a file.
    pub fn attach_samples(&mut self, parquet: Bytes) -> Result<()> {
        let batch = crate::io::read_parquet_bytes(parquet)?;
        for (name, col) in self.columns.iter_mut() {
            if let Some(a) = batch.column_by_name(name) {
                let mut v = crate::column::numbers(a.as_ref())?.values;
                crate::stats::sort(&mut v);
                col.sample = Some(v);
            }
        }
        Ok(())
    }

    /// Writes `profile.json` (and `samples.parquet`) under `name/` with create-only puts
    /// (profiles are immutable: a second save of the same name fails with `AlreadyExists`).
    ///
    /// # Errors
    /// Store errors; [`mlops_core::ErrorKind::InvalidArgument`] for a bad name.
    pub async fn save(&self, storage: &Storage, name: &str) -> Result<()> {
        let dir = storage.child(name)?;
        let create = || PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        if let Some(samples) = self.samples_parquet()? {
            let path = dir.path(SAMPLES_FILE)?;
            dir.store()
                .put_opts(&path, PutPayload::from(samples), create())
                .await
                .map_err(|e| mlops_core::Error::store(&path, e))?;
        }
        let path = dir.path(PROFILE_FILE)?;
        dir.store()
            .put_opts(
                &path,
                PutPayload::from(self.to_json()?.into_bytes()),
                create(),
            )
            .await
            .map_err(|e| mlops_core::Error::store(&path, e))?;
        Ok(())
    }

    /// Reads a profile written by [`Profile::save`].
    ///
    /// # Errors
    /// `NotFound` when absent; [`Error::Invalid`] when it is not a profile.
    pub async fn load(storage: &Storage, name: &str) -> Result<Self> {
        let dir = storage.child(name)?;
        let path = dir.path(PROFILE_FILE)?;
        let bytes = dir
            .store()
            .get(&path)
            .await
            .map_err(|e| mlops_core::Error::store(&path, e))?
            .bytes()
            .await
            .map_err(|e| mlops_core::Error::store(&path, e))?;
        let mut p = Profile::from_json(&String::from_utf8_lossy(&bytes))?;
        let spath = dir.path(SAMPLES_FILE)?;
        match dir.store().get(&spath).await {
            Ok(r) => {
                let b = r
                    .bytes()
                    .await
                    .map_err(|e| mlops_core::Error::store(&spath, e))?;
                p.attach_samples(b)?;
            }
            Err(mlops_core::object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(mlops_core::Error::store(&spath, e).into()),
        }
        Ok(p)
    }

    /// Drift of a current batch against this profile (every profiled column).
    ///
    /// # Errors
    /// Only for batch-level problems; per-column problems become [`ColumnOutcome::Failed`].
    pub fn drift(&self, current: &RecordBatch, options: &DriftOptions) -> Result<DatasetDrift> {
        let columns = self
            .columns
            .iter()
            .map(|(name, col)| {
                // no copy: a null-free, all-finite Arrow buffer is already the cleaned sample
                // (finiteness is tested by the count itself)
                let binned = borrowed_values(current, name, col).and_then(|values| {
                    let counts = col.bins.count_if_finite(values)?;
                    Some(col.drift_binned(
                        name,
                        &CurrentSide::Binned(&counts),
                        values.len(),
                        options,
                    ))
                });
                let outcome = binned.unwrap_or_else(|| {
                    column_sample(current, name, Some(col.kind))
                        .and_then(|c| col.drift(name, &c, options))
                });
                match outcome {
                    Ok(d) => ColumnOutcome::Tested(d),
                    Err(e) => ColumnOutcome::Failed {
                        column: name.clone(),
                        error: e.to_string(),
                    },
                }
            })
            .collect();
        Ok(summarise(columns, crate::drift::DEFAULT_DRIFT_SHARE))
    }
}

/// The values of a null-free Float64 column, when `col` is a numerical profile without the
/// raw reference (the binned path reads them in place).
fn borrowed_values<'a>(
    batch: &'a RecordBatch,
    name: &str,
    col: &ColumnProfile,
) -> Option<&'a [f64]> {
    if col.kind != ColumnKind::Numerical || col.sample.is_some() || col.counts.is_some() {
        return None;
    }
    let a = batch.column_by_name(name)?;
    if *a.data_type() != arrow::datatypes::DataType::Float64 || a.null_count() != 0 {
        return None;
    }
    Some(a.as_any().downcast_ref::<Float64Array>()?.values())
}

fn column_sample(batch: &RecordBatch, name: &str, kind: Option<ColumnKind>) -> Result<Sample> {
    let a = batch
        .column_by_name(name)
        .ok_or_else(|| Error::Invalid(format!("column {name:?} is not in the batch")))?;
    let kind = kind
        .or_else(|| ColumnKind::infer(a.data_type()))
        .ok_or_else(|| Error::Invalid(format!("column {name:?}: no kind for {}", a.data_type())))?;
    Sample::from_arrow(a.as_ref(), kind)
}

impl ColumnProfile {
    fn of(sample: &Sample, bins: Option<&StandardBins>, keep: bool) -> Result<Self> {
        match sample {
            Sample::Categorical(c) => Ok(ColumnProfile {
                kind: ColumnKind::Categorical,
                n: c.n,
                integer: false,
                moments: None,
                counts: Some(c.clone()),
                bins: match bins {
                    Some(StandardBins::Categories { .. }) | None => StandardBins::categories(c),
                    Some(other) => other.clone(),
                },
                sample: None,
            }),
            Sample::Numerical(n) => {
                let sorted = crate::stats::sorted(&n.values);
                let bins = match bins {
                    Some(StandardBins::Quantiles { edges, .. }) => StandardBins::Quantiles {
                        edges: edges.clone(),
                        counts: StandardBins::count(edges, &sorted),
                    },
                    _ if sorted.is_empty() => {
                        return Err(Error::EmptySample {
                            column: String::new(),
                            side: "reference",
                        });
                    }
                    _ => StandardBins::deciles(&sorted),
                };
                Ok(ColumnProfile {
                    kind: ColumnKind::Numerical,
                    n: sorted.len() as u64,
                    integer: n.integer,
                    moments: Some(Moments::of(&n.values)),
                    counts: (!distinct_exceeds(&sorted, 20)).then(|| Counts::from_values(&sorted)),
                    bins,
                    sample: keep.then_some(sorted),
                })
            }
        }
    }

    fn merge(&mut self, o: &ColumnProfile) -> Result<()> {
        if self.kind != o.kind {
            return Err(Error::Invalid(
                "profiles hold different column kinds".into(),
            ));
        }
        self.n += o.n;
        self.integer &= o.integer;
        self.moments = match (self.moments, o.moments) {
            (Some(a), Some(b)) => Some(a.merge(&b)),
            _ => None,
        };
        self.counts = match (self.counts.take(), &o.counts) {
            (Some(mut a), Some(b)) => {
                a.merge(b);
                (self.kind == ColumnKind::Categorical || a.counts.len() <= 20).then_some(a)
            }
            _ => None,
        };
        self.sample = match (self.sample.take(), &o.sample) {
            (Some(mut a), Some(b)) => {
                a.extend_from_slice(b);
                crate::stats::sort(&mut a);
                Some(a)
            }
            _ => None,
        };
        self.bins = match (&self.bins, &o.bins) {
            (StandardBins::Categories { .. }, StandardBins::Categories { .. }) => {
                StandardBins::categories(self.counts.as_ref().unwrap_or(&Counts::default()))
            }
            (
                StandardBins::Quantiles { edges, counts },
                StandardBins::Quantiles {
                    edges: e2,
                    counts: c2,
                },
            ) if edges == e2 => StandardBins::Quantiles {
                edges: edges.clone(),
                counts: counts.iter().zip(c2).map(|(a, b)| a + b).collect(),
            },
            _ => match &self.sample {
                Some(s) => StandardBins::deciles(s),
                None => {
                    return Err(mlops_core::Error::conflict(
                        "profile",
                        "standard bins",
                        "partitions were binned on different reference deciles and no raw \
                         samples are kept to refit them; build partitions with Profile::update \
                         on one fitted profile, or keep samples",
                    )
                    .into());
                }
            },
        };
        Ok(())
    }

    /// The reference as a sample, when the profile holds all of it.
    fn reference_sample(&self) -> Option<Sample> {
        match self.kind {
            ColumnKind::Categorical => self.counts.clone().map(Sample::Categorical),
            ColumnKind::Numerical => {
                let values = match (&self.sample, &self.counts) {
                    (Some(s), _) => s.clone(),
                    (None, Some(c)) => c
                        .counts
                        .iter()
                        .flat_map(|(k, n)| {
                            let v = if let Key::Num(v) = k { *v } else { f64::NAN };
                            std::iter::repeat_n(v, *n as usize)
                        })
                        .collect(),
                    (None, None) => return None,
                };
                Some(Sample::Numerical(Numbers {
                    values,
                    integer: self.integer,
                }))
            }
        }
    }

    /// Drift of one current column against this profile.
    ///
    /// # Errors
    /// As [`column_drift`]; [`Error::NotApplicable`] when the method needs the raw reference
    /// sample and the profile does not keep it.
    pub fn drift(
        &self,
        name: &str,
        current: &Sample,
        options: &DriftOptions,
    ) -> Result<ColumnDrift> {
        if let Some(reference) = self.reference_sample() {
            return column_drift(name, &reference, current, options);
        }
        // numerical, > 20 distinct reference values, no raw sample
        let Sample::Numerical(cur) = current else {
            return Err(Error::Invalid(format!(
                "column {name:?}: the profile is numerical, the current column is not"
            )));
        };
        self.drift_binned(
            name,
            &CurrentSide::Numbers(&cur.values),
            cur.values.len(),
            options,
        )
    }

    /// [`ColumnProfile::drift`] of cleaned current values against a numerical profile without
    /// the raw reference (binned `standard` methods only).
    fn drift_binned(
        &self,
        name: &str,
        current: &CurrentSide<'_>,
        n_current: usize,
        options: &DriftOptions,
    ) -> Result<ColumnDrift> {
        if n_current == 0 {
            return Err(Error::EmptySample {
                column: name.to_string(),
                side: "current",
            });
        }
        let method = options
            .method
            .unwrap_or_else(|| default_method(ColumnKind::Numerical, self.n as usize, 6));
        let binned = matches!(
            method,
            Method::Psi | Method::KlDiv | Method::JensenShannon | Method::Hellinger
        );
        if !(binned && options.family == Family::Standard) {
            return Err(Error::na(
                method.id(),
                format!(
                    "needs the raw reference sample (family {}); build the profile with keep_samples",
                    options.family.as_str()
                ),
            ));
        }
        let (p, q, binning): (Vec<f64>, Vec<f64>, Binning) = self.bins.proportions(current);
        let score = crate::drift::binned_score(method, options.family, p, q);
        let threshold = options.threshold.unwrap_or(method.default_threshold());
        let operator = method.drift_when();
        Ok(ColumnDrift {
            column: name.to_string(),
            kind: ColumnKind::Numerical,
            method,
            family: options.family,
            score,
            statistic: None,
            threshold,
            operator,
            drift: operator.holds(score, threshold),
            binning,
            n_reference: self.n as usize,
            n_current,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{ColumnOutcome, Method};
    use std::sync::Arc;

    fn batch(values: Vec<Option<f64>>) -> RecordBatch {
        RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(values)) as ArrayRef)])
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn score(d: &DatasetDrift) -> f64 {
        match &d.columns[0] {
            ColumnOutcome::Tested(t) => t.score,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn in_place_arrow_path_equals_the_cleaning_path() {
        let r: Vec<Option<f64>> = (0..3000)
            .map(|i| Some(f64::from((i * 7919) % 1000) / 100.0))
            .collect();
        let c: Vec<Option<f64>> = (0..2000)
            .map(|i| Some(f64::from((i * 104_729) % 1000) / 80.0))
            .collect();
        let lean = Profile::from_batch(&batch(r), &ProfileOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let o = DriftOptions::standard().with_method(Method::Psi);
        // finite, null-free Float64: read in place
        let direct = lean
            .drift(&batch(c.clone()), &o)
            .unwrap_or_else(|e| panic!("{e}"));
        // the same values with NaN, ±inf and a null: cleaned into a copy
        let mut dirty = c.clone();
        dirty.extend([
            Some(f64::NAN),
            None,
            Some(f64::INFINITY),
            Some(f64::NEG_INFINITY),
        ]);
        let copied = lean
            .drift(&batch(dirty), &o)
            .unwrap_or_else(|e| panic!("{e}"));
        // and the Sample entry point
        let sample = Sample::Numerical(Numbers {
            values: c.iter().flatten().copied().collect(),
            integer: false,
        });
        let via = lean.columns["x"]
            .drift("x", &sample, &o)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(via.score > 0.0);
        assert_eq!(score(&direct), via.score);
        assert_eq!(score(&copied), via.score);
        // methods that need the raw reference fail the same way on the in-place path
        let ks = lean
            .drift(
                &batch(c),
                &DriftOptions::evidently().with_method(Method::Ks),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches!(&ks.columns[0], ColumnOutcome::Failed { error, .. } if error.contains("raw reference")),
            "{:?}",
            ks.columns
        );
    }
}
