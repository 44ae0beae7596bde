//! Edge cases: documented results or typed errors, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use arrow::array::{Array, BooleanArray, Float64Array, Int64Array, StringArray};
use mlops_core::ErrorKind;
use mlops_monitor::{ColumnKind, DriftOptions, Error, Family, Method, Sample, column_drift};
use proptest::prelude::*;

fn num(a: &dyn Array) -> Sample {
    Sample::from_arrow(a, ColumnKind::Numerical).unwrap()
}

fn all_options() -> Vec<DriftOptions> {
    let mut v = vec![DriftOptions::evidently(), DriftOptions::standard()];
    for m in Method::ALL {
        for f in [Family::Evidently, Family::Standard] {
            v.push(DriftOptions {
                method: Some(m),
                threshold: None,
                family: f,
            });
        }
    }
    v
}

#[test]
fn empty_and_all_null_sides_are_typed_errors() {
    let empty = num(&Float64Array::from(Vec::<f64>::new()));
    let nulls = num(&Float64Array::from(vec![
        None,
        Some(f64::NAN),
        Some(f64::INFINITY),
    ]));
    let ok = num(&Float64Array::from(vec![1.0, 2.0]));
    for (r, c, side) in [(&empty, &ok, "reference"), (&ok, &nulls, "current")] {
        let e = column_drift("x", r, c, &DriftOptions::evidently()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(
            matches!(e, Error::EmptySample { side: s, .. } if s == side),
            "{e}"
        );
    }
}

#[test]
fn n1_constant_and_kind_errors() {
    let one = num(&Float64Array::from(vec![1.0]));
    let two = num(&Float64Array::from(vec![2.0]));
    let d = column_drift("x", &one, &two, &DriftOptions::evidently()).unwrap();
    assert_eq!(d.method, Method::Z);
    assert!((d.score - 0.15729920705028522).abs() < 1e-9);
    for m in [Method::Anderson, Method::CramerVonMises] {
        let e =
            column_drift("x", &one, &two, &DriftOptions::evidently().with_method(m)).unwrap_err();
        assert!(matches!(e, Error::NotApplicable { .. }), "{e}");
    }
    let c = num(&Float64Array::from(vec![3.0; 50]));
    let d = column_drift("x", &c, &c, &DriftOptions::evidently()).unwrap();
    assert_eq!((d.method, d.score, d.drift), (Method::Z, 1.0, false));
    let d = column_drift(
        "x",
        &c,
        &c,
        &DriftOptions::evidently().with_method(Method::Wasserstein),
    )
    .unwrap();
    assert_eq!(d.score, 0.0);
    // explicit method not allowed for the kind: Evidently raises
    let e = column_drift(
        "x",
        &c,
        &c,
        &DriftOptions::evidently().with_method(Method::ChiSquare),
    )
    .unwrap_err();
    assert!(matches!(e, Error::NotApplicable { .. }));
    let s = Sample::from_arrow(&StringArray::from(vec!["a"]), ColumnKind::Categorical).unwrap();
    let e = column_drift("x", &s, &c, &DriftOptions::evidently()).unwrap_err();
    assert!(matches!(e, Error::Invalid(_)));
    // TVD/MMD are out of scope and the API says so
    let e = Method::parse("TVD").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.to_string().contains("TVD and MMD"));
    assert_eq!(
        Method::parse("empirical_mmd").unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}

#[test]
fn integers_and_booleans() {
    let r = num(&Int64Array::from((0..40).collect::<Vec<i64>>()));
    let c = num(&Int64Array::from((10..50).collect::<Vec<i64>>()));
    let d = column_drift(
        "x",
        &r,
        &c,
        &DriftOptions::evidently().with_method(Method::Psi),
    )
    .unwrap();
    assert!(d.score > 0.1 && d.drift);
    let b = Sample::from_arrow(
        &BooleanArray::from(vec![true, false, true, true]),
        ColumnKind::Categorical,
    )
    .unwrap();
    let d = column_drift("x", &b, &b, &DriftOptions::evidently()).unwrap();
    assert_eq!((d.method, d.drift), (Method::Z, false));
}

fn value() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        4 => (-5i32..5).prop_map(|v| Some(f64::from(v))),
        4 => (-1e3f64..1e3).prop_map(Some),
        1 => Just(None),
        1 => Just(Some(f64::NAN)),
        1 => Just(Some(f64::INFINITY)),
        1 => Just(Some(f64::NEG_INFINITY)),
        1 => Just(Some(1e300)),
        1 => Just(Some(-1e300)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_arrays_never_panic(
        r in proptest::collection::vec(value(), 0..40),
        c in proptest::collection::vec(value(), 0..40),
    ) {
        let (ra, ca) = (Float64Array::from(r.clone()), Float64Array::from(c.clone()));
        let (rs, cs) = (num(&ra), num(&ca));
        let strings = |v: &[Option<f64>]| StringArray::from(v.iter().map(|x| x.map(|x| format!("{}", (x.abs().min(1e9) as i64) % 4))).collect::<Vec<_>>());
        let rc = Sample::from_arrow(&strings(&r), ColumnKind::Categorical).unwrap();
        let cc = Sample::from_arrow(&strings(&c), ColumnKind::Categorical).unwrap();
        for o in all_options() {
            for (a, b) in [(&rs, &cs), (&rc, &cc)] {
                if let Ok(d) = column_drift("x", a, b, &o) {
                    prop_assert!(d.score.is_nan() || d.score >= 0.0);
                    prop_assert_eq!(d.drift, d.operator.holds(d.score, d.threshold));
                }
            }
        }
    }
}

mod profiles {
    use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
    use mlops_monitor::profile::{Profile, ProfileOptions};
    use mlops_monitor::{ColumnOutcome, DatasetSpec, DriftOptions, Method, dataset_drift};
    use std::sync::Arc;

    fn batch(shift: f64, n: usize) -> RecordBatch {
        let x: ArrayRef = Arc::new(Float64Array::from(
            (0..n)
                .map(|i| ((i * 7919) % 1000) as f64 / 100.0 + shift)
                .collect::<Vec<_>>(),
        ));
        let c: ArrayRef = Arc::new(StringArray::from(
            (0..n)
                .map(|i| ["a", "b", "c"][(i + (shift as usize)) % 3])
                .collect::<Vec<_>>(),
        ));
        RecordBatch::try_from_iter([("x", x), ("c", c)]).unwrap()
    }

    fn score(d: &mlops_monitor::DatasetDrift, col: &str) -> f64 {
        d.columns
            .iter()
            .find_map(|c| match c {
                ColumnOutcome::Tested(t) if t.column == col => Some(t.score),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn profile_reproduces_raw_drift_and_round_trips() {
        let (r, c) = (batch(0.0, 3000), batch(1.0, 2000));
        let opts = ProfileOptions {
            keep_samples: true,
            ..ProfileOptions::default()
        };
        let p = Profile::from_batch(&r, &opts).unwrap();
        // evidently family from the profile == from the raw reference
        let raw = dataset_drift(&r, &c, &DatasetSpec::default()).unwrap();
        let mut back = Profile::from_json(&p.to_json().unwrap()).unwrap();
        back.attach_samples(p.samples_parquet().unwrap().unwrap())
            .unwrap();
        let via = back.drift(&c, &DriftOptions::evidently()).unwrap();
        for col in ["x", "c"] {
            assert_eq!(score(&raw, col), score(&via, col), "{col}");
        }
        // standard PSI without samples == with
        let lean = Profile::from_batch(&r, &ProfileOptions::default()).unwrap();
        let o = DriftOptions::standard().with_method(Method::Psi);
        let a = lean.drift(&c, &o).unwrap();
        let b = back.drift(&c, &o).unwrap();
        assert_eq!(score(&a, "x"), score(&b, "x"));
        assert!(a.drift);
        // a method that needs the raw sample says so
        let ks = lean
            .drift(&c, &DriftOptions::evidently().with_method(Method::Ks))
            .unwrap();
        assert!(
            matches!(&ks.columns[1], ColumnOutcome::Failed { error, .. } if error.contains("raw reference")),
            "{:?}",
            ks.columns
        );
    }

    #[test]
    fn partitions_merge_to_the_whole() {
        let whole = batch(0.0, 4000);
        let (a, b) = (whole.slice(0, 1500), whole.slice(1500, 2500));
        let opts = ProfileOptions {
            keep_samples: true,
            ..ProfileOptions::default()
        };
        let mut pa = Profile::from_batch(&a, &opts).unwrap();
        let pb = Profile::from_batch(&b, &opts).unwrap();
        pa.merge(&pb).unwrap();
        let pw = Profile::from_batch(&whole, &opts).unwrap();
        assert_eq!(pa.columns["x"].bins, pw.columns["x"].bins);
        assert_eq!(pa.columns["c"].counts, pw.columns["c"].counts);
        let (ma, mw) = (
            pa.columns["x"].moments.unwrap(),
            pw.columns["x"].moments.unwrap(),
        );
        assert!((ma.std_pop() - mw.std_pop()).abs() < 1e-12);
        // lean profiles: update() counts a partition into the fitted bins
        let mut lean = Profile::from_batch(&a, &ProfileOptions::default()).unwrap();
        lean.update(&b).unwrap();
        assert_eq!(lean.columns["x"].n, 4000);
        let other = Profile::from_batch(&b, &ProfileOptions::default()).unwrap();
        let mut l2 = Profile::from_batch(&a, &ProfileOptions::default()).unwrap();
        assert_eq!(
            l2.merge(&other).unwrap_err().kind(),
            mlops_core::ErrorKind::Conflict
        );
    }

    #[tokio::test]
    async fn save_and_load_on_memory_storage() {
        let storage = mlops_core::Storage::memory();
        let opts = ProfileOptions {
            keep_samples: true,
            ..ProfileOptions::default()
        };
        let p = Profile::from_batch(&batch(0.0, 500), &opts).unwrap();
        p.save(&storage, "fraud-v1").await.unwrap();
        let back = Profile::load(&storage, "fraud-v1").await.unwrap();
        assert_eq!(back, p);
        assert!(p.save(&storage, "fraud-v1").await.is_err());
    }
}
