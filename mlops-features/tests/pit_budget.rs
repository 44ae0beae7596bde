//! The memory budget of the offline join: on a source ≥ 4× the budget the join spills by key
//! hash and runs partition by partition; results equal the unbudgeted ones and the peak of
//! allocated bytes stays bounded. Its own test binary: the counting allocator sees only this.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]
// The counting global allocator must implement `GlobalAlloc`, an unsafe trait; it only forwards
// to `System` and updates counters.
#![allow(unsafe_code)]

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::Float64Type;
use mlops_features::{
    FeatureRef, HistoricalOptions, HistoricalView, SourceLocation, get_historical_features,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Counts live heap bytes and their peak.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only counters are updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = LIVE.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

const HOUR: i64 = 3_600_000_000;

fn ts(v: Vec<i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
}

/// Writes `n` feature rows over `keys` keys and 30 days (with ties on event time) as Parquet
/// with small row groups.
fn write_source(path: &std::path::Path, n: usize, keys: u64, rng: &mut Lcg) {
    let span = 30 * 24 * HOUR as u64;
    let mut k = Vec::with_capacity(n);
    let mut t = Vec::with_capacity(n);
    let mut c = Vec::with_capacity(n);
    let mut v = Vec::with_capacity(n);
    let mut s = Vec::with_capacity(n);
    for i in 0..n {
        k.push(rng.below(keys) as i64);
        // Times on a 1-minute grid, so event-time ties are common.
        t.push((rng.below(span) / 60_000_000 * 60_000_000) as i64);
        c.push(rng.below(1000) as i64);
        v.push((rng.below(40) != 0).then_some(i as f64 * 0.25));
        s.push(format!("tier-{}", rng.below(7)));
    }
    let batch = RecordBatch::try_from_iter(vec![
        ("driver_id", Arc::new(Int64Array::from(k)) as ArrayRef),
        ("event_timestamp", ts(t)),
        ("created", ts(c)),
        ("conv_rate", Arc::new(Float64Array::from(v)) as ArrayRef),
        ("tier", Arc::new(StringArray::from(s)) as ArrayRef),
    ])
    .unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(8192))
        .build();
    let f = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// Runs the request and returns the output with the peak of live bytes above the start.
async fn measured(
    entity: &RecordBatch,
    view: &HistoricalView,
    refs: &[FeatureRef],
    opts: &HistoricalOptions,
) -> (RecordBatch, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = get_historical_features(
        std::slice::from_ref(entity),
        std::slice::from_ref(view),
        refs,
        opts,
    )
    .await
    .unwrap();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

fn array_bytes(b: &RecordBatch, from: usize) -> usize {
    b.columns()[from..]
        .iter()
        .map(|c| c.get_array_memory_size())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgeted_join_spills_and_equals_unbudgeted() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("fv.parquet");
    let mut rng = Lcg(7);
    let (n_feat, n_ent, keys) = (400_000usize, 150_000usize, 20_000u64);
    write_source(&src, n_feat, keys, &mut rng);
    let span = 31 * 24 * HOUR as u64;
    let (mut ek, mut et) = (Vec::with_capacity(n_ent), Vec::with_capacity(n_ent));
    for _ in 0..n_ent {
        // A few keys the source never has.
        ek.push(rng.below(keys + 200) as i64);
        et.push((rng.below(span) / 60_000_000 * 60_000_000) as i64);
    }
    let entity = RecordBatch::try_from_iter(vec![
        (
            "driver_id",
            Arc::new(Int64Array::from(ek.clone())) as ArrayRef,
        ),
        ("event_timestamp", ts(et.clone())),
    ])
    .unwrap();
    let view = HistoricalView::new("fv", SourceLocation::from_path(&src).unwrap())
        .with_ttl(Duration::from_secs(6 * 3600));
    let refs = [
        FeatureRef::new("fv", "conv_rate").unwrap(),
        FeatureRef::new("fv", "tier").unwrap(),
    ];
    let spill_dir = dir.path().join("spill");
    std::fs::create_dir(&spill_dir).unwrap();
    let budget: u64 = 1 << 20;
    let base = HistoricalOptions::default().with_full_feature_names(true);
    let tight = base
        .clone()
        .with_memory_budget(budget)
        .with_spill_dir(&spill_dir);

    let (free, free_peak) = measured(&entity, &view, &refs, &base).await;
    let (capped, capped_peak) = measured(&entity, &view, &refs, &tight).await;
    assert_eq!(
        capped, free,
        "the budgeted join must equal the unbudgeted one"
    );
    // The spill directory was used and cleaned up.
    assert_eq!(std::fs::read_dir(&spill_dir).unwrap().count(), 0);

    // The source is well over 4× the budget (decoded: about 40 bytes per row).
    assert!((n_feat as u64) * 40 >= 4 * budget);
    // Bounded: the budget, plus the output (built from gathered rows: twice its size at the
    // end), 32 bytes per entity row to place it, and a fixed allowance for a row group's
    // compressed chunks per core, spill-file buffers and the runtime.
    let out = array_bytes(&capped, 2);
    let bound = budget as usize + 2 * out + 32 * n_ent + (4 << 20);
    eprintln!(
        "peak bytes: unbudgeted {free_peak}, budgeted {capped_peak}, bound {bound}, output {out}"
    );
    assert!(capped_peak <= bound, "{capped_peak} > {bound}");
    assert!(
        capped_peak * 4 < free_peak * 3,
        "the budget must lower the peak by a quarter at least ({capped_peak} vs {free_peak})"
    );

    // And the values are right: a brute-force check of some entity rows.
    let got_rate = free.column(2).as_primitive::<Float64Type>();
    let got_tier = free.column(3).as_string::<i32>();
    let fb = mlops_features::read_parquet(&SourceLocation::from_path(&src).unwrap())
        .await
        .unwrap();
    let fk = fb.column(0).as_primitive::<arrow::datatypes::Int64Type>();
    let ft = fb
        .column(1)
        .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
    let fc = fb
        .column(2)
        .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
    let fv = fb.column(3).as_primitive::<Float64Type>();
    let fs = fb.column(4).as_string::<i32>();
    let mut matched = 0;
    for e in (0..n_ent).step_by(n_ent / 150) {
        let mut best: Option<usize> = None;
        for f in 0..n_feat {
            let t = ft.value(f);
            if fk.value(f) != ek[e] || t > et[e] || t < et[e] - 6 * HOUR {
                continue;
            }
            let key = |i: usize| (ft.value(i), fc.value(i), i);
            if best.is_none_or(|b| key(f) > key(b)) {
                best = Some(f);
            }
        }
        match best {
            Some(b) => {
                matched += 1;
                assert_eq!(got_rate.is_valid(e), fv.is_valid(b), "row {e}");
                if fv.is_valid(b) {
                    assert_eq!(got_rate.value(e).to_bits(), fv.value(b).to_bits());
                }
                assert_eq!(got_tier.value(e), fs.value(b), "row {e}");
            }
            None => assert!(got_rate.is_null(e) && got_tier.is_null(e), "row {e}"),
        }
    }
    assert!(matched > 30, "the check must see matches ({matched})");
}
