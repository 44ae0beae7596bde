//! Histograms and the binned divergences (PSI, KL, JS, Hellinger) of both families.

use super::method::{Binning, STANDARD_EPSILON};
use crate::column::{Counts, Key, Numbers};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whether `values` hold more than `limit` distinct values (early exit; -0.0 == 0.0).
pub(crate) fn distinct_exceeds<'a>(
    values: impl IntoIterator<Item = &'a f64>,
    limit: usize,
) -> bool {
    let mut seen: Vec<u64> = Vec::with_capacity(limit + 1);
    for v in values {
        let b = (v + 0.0).to_bits();
        if !seen.contains(&b) {
            seen.push(b);
            if seen.len() > limit {
                return true;
            }
        }
    }
    false
}

/// numpy `histogram_bin_edges(data, "sturges")` for data with the given min, max and size.
pub(crate) fn sturges_edges(lo: f64, hi: f64, n: usize, integer: bool) -> Vec<f64> {
    let (mut first, mut last) = (lo, hi);
    if first == last {
        first -= 0.5;
        last += 0.5;
    }
    let width = (hi - lo) / ((n as f64).log2() + 1.0);
    let bins = if width > 0.0 {
        let w = if integer && width < 1.0 { 1.0 } else { width };
        (((last - first) / w).ceil() as usize).max(1)
    } else {
        1
    };
    let step = (last - first) / bins as f64;
    let mut edges: Vec<f64> = (0..bins).map(|i| i as f64 * step + first).collect();
    edges.push(last);
    edges
}

/// Table width of [`histogram`]: Sturges gives at most log2(N) + 2 ≤ 66 bins.
const HIST_W: usize = 128;

/// `1.5·2^52`: adding it to `t ∈ [−0.5, 2^51)` leaves `round(t) + 2^51` in the low mantissa bits.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;

/// numpy `histogram(values, bins=edges)` counts: bin i holds `e_i ≤ x < e_{i+1}`, the last bin
/// also `x == e_last`; values outside are not counted. One pass, exact against the edges: the
/// bin is guessed from `(x − lo)·nb/(hi − lo)` (floored through [`ROUND_MAGIC`], no saturating
/// cast) and corrected against the edges themselves; fixed-size tables, so no bounds checks.
pub(crate) fn histogram(values: &[f64], edges: &[f64]) -> Vec<u64> {
    let nb = edges.len().saturating_sub(1);
    if nb == 0 {
        return Vec::new();
    }
    if nb + 2 > HIST_W {
        // not a Sturges bin count: the rule itself, per value
        let mut counts = vec![0u64; nb];
        for &x in values {
            let k = edges.partition_point(|&e| e <= x);
            if k >= 1 && k <= nb {
                counts[k - 1] += 1;
            } else if x == edges[nb] {
                counts[nb - 1] += 1;
            }
        }
        return counts;
    }
    let mut e = [f64::INFINITY; HIST_W];
    e[..edges.len()].copy_from_slice(edges);
    let (lo, hi) = (edges[0], edges[nb]);
    let norm = nb as f64 / (hi - lo);
    let last = nb - 1;
    const MASK: usize = HIST_W - 1;
    // out-of-range (and NaN) values go to the extra slot `nb`, dropped below
    let bin = |x: f64| -> usize {
        if !(x >= lo && x <= hi) {
            return nb;
        }
        let g = ((x - lo) * norm - 0.5) + ROUND_MAGIC;
        let guess = (g.to_bits() & ((1 << 52) - 1)).wrapping_sub(1 << 51) as usize;
        let mut i = guess.min(last);
        while i > 0 && x < e[i & MASK] {
            i -= 1;
        }
        while i < last && x >= e[(i + 1) & MASK] {
            i += 1;
        }
        i & MASK
    };
    // four count rows break the store-to-load dependency of runs in the same bin
    let mut rows = [[0u64; HIST_W]; 4];
    let chunks = values.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for (row, &x) in rows.iter_mut().zip(c) {
            row[bin(x)] += 1;
        }
    }
    for &x in rest {
        rows[0][bin(x)] += 1;
    }
    (0..nb).map(|k| rows.iter().map(|r| r[k]).sum()).collect()
}

fn props(counts: &[u64], n: u64) -> Vec<f64> {
    counts.iter().map(|&c| c as f64 / n as f64).collect()
}

/// Evidently `get_binned_data` (without the zero fill): proportions of both sides.
/// `range` is the joint (min, max) of both sides when the caller has it.
pub(crate) fn evidently_numeric(
    r: &Numbers,
    c: &Numbers,
    range: Option<(f64, f64)>,
) -> (Vec<f64>, Vec<f64>, Binning) {
    if distinct_exceeds(&r.values, 20) {
        let (lo, hi) = range.unwrap_or_else(|| {
            let ((l1, h1), (l2, h2)) = (min_max(&r.values), min_max(&c.values));
            (l1.min(l2), h1.max(h2))
        });
        let edges = sturges_edges(
            lo,
            hi,
            r.values.len() + c.values.len(),
            r.integer && c.integer,
        );
        let p = props(&histogram(&r.values, &edges), r.values.len() as u64);
        let q = props(&histogram(&c.values, &edges), c.values.len() as u64);
        (p, q, Binning::SturgesCombined { edges })
    } else {
        evidently_categorical(
            &Counts::from_values(&r.values),
            &Counts::from_values(&c.values),
        )
    }
}

/// One bin per value of reference ∪ current.
pub(crate) fn evidently_categorical(r: &Counts, c: &Counts) -> (Vec<f64>, Vec<f64>, Binning) {
    let keys = union(r, c);
    let p = keys
        .iter()
        .map(|k| r.counts.get(*k).copied().unwrap_or(0) as f64 / r.n as f64)
        .collect::<Vec<_>>();
    let q = keys
        .iter()
        .map(|k| c.counts.get(*k).copied().unwrap_or(0) as f64 / c.n as f64)
        .collect::<Vec<_>>();
    let bins = keys.len();
    (p, q, Binning::PerValue { bins })
}

pub(crate) fn union<'a>(r: &'a Counts, c: &'a Counts) -> Vec<&'a Key> {
    let mut keys: Vec<&Key> = r.counts.keys().chain(c.counts.keys()).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Smallest and largest value (NaN ignored; ±∞ for an empty slice). Lane-wise so LLVM
/// vectorises the fold.
pub(crate) fn min_max(values: &[f64]) -> (f64, f64) {
    let mut lo = [f64::INFINITY; 8];
    let mut hi = [f64::NEG_INFINITY; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            lo[k] = lo[k].min(c[k]);
            hi[k] = hi[k].max(c[k]);
        }
    }
    lo.iter()
        .zip(&hi)
        .map(|(&l, &h)| (l, h))
        .chain(rest.iter().map(|&v| (v, v)))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), (a, b)| {
            (l.min(a), h.max(b))
        })
}

/// Evidently's zero fill: zeros become `m/1e6` if the smallest non-zero share `m ≤ 1e-4`,
/// else `1e-4`; no renormalisation.
pub(crate) fn evidently_fill(p: &mut [f64]) {
    let m = p
        .iter()
        .copied()
        .filter(|&x| x != 0.0)
        .fold(f64::INFINITY, f64::min);
    if !m.is_finite() {
        return;
    }
    let fill = if m <= 1e-4 { m / 1e6 } else { 1e-4 };
    for x in p.iter_mut() {
        if *x == 0.0 {
            *x = fill;
        }
    }
}

/// `standard` family fill: proportions clipped below at [`STANDARD_EPSILON`].
pub(crate) fn standard_clip(p: &mut [f64]) {
    for x in p.iter_mut() {
        *x = x.max(STANDARD_EPSILON);
    }
}

/// `Σ (p − q)·ln(p/q)`.
pub(crate) fn psi(p: &[f64], q: &[f64]) -> f64 {
    crate::stats::sum(p.iter().zip(q).map(|(a, b)| (a - b) * (a / b).ln()))
}

fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

fn normalised(p: &[f64]) -> Vec<f64> {
    let s: f64 = crate::stats::sum(p.iter().copied());
    p.iter().map(|x| x / s).collect()
}

/// scipy `entropy(p, q)`: KL divergence after normalising both to sum 1, natural log.
pub(crate) fn kl(p: &[f64], q: &[f64]) -> f64 {
    let (p, q) = (normalised(p), normalised(q));
    crate::stats::sum(p.iter().zip(&q).map(|(a, b)| rel_entr(*a, *b)))
}

/// scipy `jensenshannon(p, q, base)`; `base = None` is the natural log.
pub(crate) fn jensenshannon(p: &[f64], q: &[f64], base: Option<f64>) -> f64 {
    let (p, q) = (normalised(p), normalised(q));
    let m: Vec<f64> = p.iter().zip(&q).map(|(a, b)| (a + b) / 2.0).collect();
    let left = crate::stats::sum(p.iter().zip(&m).map(|(a, b)| rel_entr(*a, *b)));
    let right = crate::stats::sum(q.iter().zip(&m).map(|(a, b)| rel_entr(*a, *b)));
    let mut js = left + right;
    if let Some(b) = base {
        js /= b.ln();
    }
    (js / 2.0).sqrt()
}

/// Hellinger distance from a Bhattacharyya coefficient: `sqrt(1 − clip(BC, 0, 1))`.
pub(crate) fn hellinger_from_bc(bc: f64) -> f64 {
    (1.0 - bc.clamp(0.0, 1.0)).sqrt()
}

/// Evidently's numerical Hellinger: Sturges edges over the distinct values of ref ∪ cur,
/// density histograms, `BC = Σ sqrt(d1·d2)·(hi − lo)/bins`.
pub(crate) fn evidently_hellinger_numeric(sr: &[f64], sc: &[f64], integer: bool) -> (f64, Binning) {
    let mut distinct: Vec<f64> = Vec::with_capacity(sr.len() + sc.len());
    let (mut i, mut j) = (0, 0);
    while i < sr.len() || j < sc.len() {
        let v = if j >= sc.len() || (i < sr.len() && sr[i] <= sc[j]) {
            i += 1;
            sr[i - 1]
        } else {
            j += 1;
            sc[j - 1]
        };
        if distinct.last() != Some(&v) {
            distinct.push(v);
        }
    }
    let (lo, hi) = (distinct[0], distinct[distinct.len() - 1]);
    let edges = sturges_edges(lo, hi, distinct.len(), integer);
    let density = |vals: &[f64]| -> Vec<f64> {
        let counts = histogram(vals, &edges);
        let total: u64 = counts.iter().sum();
        counts
            .iter()
            .enumerate()
            .map(|(k, &c)| c as f64 / (edges[k + 1] - edges[k]) / total as f64)
            .collect()
    };
    let (d1, d2) = (density(sr), density(sc));
    let nb = edges.len() - 1;
    let width = (edges[nb] - edges[0]) / nb as f64;
    let bc = crate::stats::sum(d1.iter().zip(&d2).map(|(a, b)| (a * b).sqrt() * width));
    (hellinger_from_bc(bc), Binning::SturgesDistinct { edges })
}

/// `standard` bins fitted on the reference, reusable without the raw reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StandardBins {
    /// Interior edges at reference deciles; bin = number of edges ≤ x.
    Quantiles {
        /// Interior edges (9 for deciles).
        edges: Vec<f64>,
        /// Reference count per bin (edges.len() + 1 bins).
        counts: Vec<u64>,
    },
    /// Reference categories; current values outside them go to one extra bin.
    Categories {
        /// Reference count per category.
        counts: BTreeMap<Key, u64>,
    },
}

/// numpy `quantile(sorted, q)` with the default linear method.
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let vi = q * (n as f64 - 1.0);
    let prev = vi.floor().clamp(0.0, (n - 1) as f64);
    let next = (prev + 1.0).min((n - 1) as f64);
    let gamma = vi - prev;
    let (a, b) = (sorted[prev as usize], sorted[next as usize]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// Values per block of the vectorised counts (16 KiB: stays in L1 across the edges).
const BLOCK: usize = 2048;

/// `#{x ∈ block : e_k ≤ x}` for up to four edges in one sweep: each pair of values is loaded
/// once and compared with every edge; the counts live in u64 lanes (SSE2: `cmppd` + `psubq`),
/// 4 edges × 2 lanes × 2 pairs of accumulators — within the 16 vector registers.
fn count_ge<const N: usize>(block: &[f64], e: [f64; N]) -> [u64; N] {
    let chunks = block.chunks_exact(4);
    let rest = chunks.remainder();
    let mut lanes = [[0u64; 4]; N];
    for c in chunks {
        for (lane, &edge) in lanes.iter_mut().zip(&e) {
            for (l, &x) in lane.iter_mut().zip(c) {
                *l += u64::from(edge <= x);
            }
        }
    }
    let mut out = [0u64; N];
    for ((o, lane), &edge) in out.iter_mut().zip(&lanes).zip(&e) {
        *o = lane.iter().sum::<u64>() + rest.iter().map(|&x| u64::from(edge <= x)).sum::<u64>();
    }
    out
}

/// [`count_ge`] for a group of 1–4 edges.
fn count_ge_group(block: &[f64], e: &[f64], out: &mut [u64]) {
    fn add<const N: usize>(block: &[f64], e: &[f64], out: &mut [u64]) {
        let mut edges = [0.0; N];
        edges.copy_from_slice(e);
        for (o, c) in out.iter_mut().zip(count_ge(block, edges)) {
            *o += c;
        }
    }
    match e.len() {
        1 => add::<1>(block, e, out),
        2 => add::<2>(block, e, out),
        3 => add::<3>(block, e, out),
        _ => add::<4>(block, e, out),
    }
}

/// `G_i = #{x : e_i ≤ x}` for every edge, in groups of ≤ 4 edges (10 edges: 4, 4, 2) over
/// L1-sized blocks.
fn ge_counts(e: &[f64], values: &[f64]) -> Vec<u64> {
    let mut ge = vec![0u64; e.len()];
    let groups = e.len().div_ceil(4);
    let size = e.len().div_ceil(groups.max(1)).max(1);
    for block in values.chunks(BLOCK) {
        for (g, edges) in ge.chunks_mut(size).zip(e.chunks(size)) {
            count_ge_group(block, edges, g);
        }
    }
    ge
}

impl StandardBins {
    /// Decile bins of a sorted, non-empty reference.
    pub(crate) fn deciles(sorted: &[f64]) -> Self {
        let edges: Vec<f64> = (1..10)
            .map(|i| quantile_sorted(sorted, i as f64 * 0.1))
            .collect();
        let counts = Self::count(&edges, sorted);
        StandardBins::Quantiles { edges, counts }
    }

    /// Counts values into the bins of interior `edges` (bin = number of edges ≤ x).
    ///
    /// With at most 15 edges, `+inf` values are not counted (the historical behaviour of the
    /// padded edge table, kept so results never change); NaN goes to bin 0. Samples from
    /// Arrow never hold either.
    pub(crate) fn count(edges: &[f64], values: &[f64]) -> Vec<u64> {
        // `+inf` as a sentinel edge: its bin (x ≥ +inf) is dropped below
        let sentinel = edges.len() < 16;
        let mut e = edges.to_vec();
        if sentinel {
            e.push(f64::INFINITY);
        }
        let mut counts = if e.windows(2).all(|w| w[0] <= w[1]) {
            // sorted edges (no NaN): `e_i ≤ x` holds for a prefix of the edges, so bin k
            // holds G_{k−1} − G_k values, G_i = #{x : e_i ≤ x} (G_{−1} = n, G_len = 0).
            // Each G_i is a branchless, vectorised count over L1-sized blocks; NaN is ≥ no
            // edge and lands in bin 0, as the per-value rule puts it.
            let ge = ge_counts(&e, values);
            let mut counts = Vec::with_capacity(e.len() + 1);
            let mut above = values.len() as u64;
            for &g in &ge {
                counts.push(above - g);
                above = g;
            }
            counts.push(above);
            counts
        } else {
            // unsorted (or NaN) edges, e.g. from a hand-edited profile: the per-value rule
            let mut counts = vec![0u64; e.len() + 1];
            for &x in values {
                let bin = if edges.len() <= 16 {
                    e.iter().filter(|&&ed| ed <= x).count()
                } else {
                    edges.partition_point(|&ed| ed <= x)
                };
                counts[bin] += 1;
            }
            counts
        };
        if sentinel {
            counts.pop();
        }
        counts
    }

    /// [`StandardBins::count`] into the decile bins of values that must all be finite: `None`
    /// when one is not (the caller cleans them), or for category bins. The finiteness test
    /// rides on the count as one more edge (`−f64::MAX ≤ x` fails for NaN and −∞; the `+∞`
    /// sentinel counts +∞) instead of a pass of its own.
    pub(crate) fn count_if_finite(&self, values: &[f64]) -> Option<Vec<u64>> {
        let StandardBins::Quantiles { edges, .. } = self else {
            return None;
        };
        if !(edges.len() < 15 && edges.windows(2).all(|w| w[0] <= w[1])) {
            return crate::column::all_finite(values).then(|| Self::count(edges, values));
        }
        let mut e = Vec::with_capacity(edges.len() + 2);
        e.push(-f64::MAX);
        e.extend_from_slice(edges);
        e.push(f64::INFINITY);
        let ge = ge_counts(&e, values);
        let n = values.len() as u64;
        if ge[0] != n || ge[e.len() - 1] != 0 {
            return None;
        }
        // bin k holds G_k − G_{k+1} (G_0 = n: every value is ≥ −f64::MAX)
        Some(ge.windows(2).map(|w| w[0] - w[1]).collect())
    }

    /// Category bins of reference counts.
    pub(crate) fn categories(reference: &Counts) -> Self {
        StandardBins::Categories {
            counts: reference.counts.clone(),
        }
    }

    /// Reference and current proportions (unclipped) and the binning label.
    pub(crate) fn proportions(&self, current: &CurrentSide<'_>) -> (Vec<f64>, Vec<f64>, Binning) {
        match self {
            StandardBins::Quantiles { edges, counts } => {
                let n: u64 = counts.iter().sum();
                let p = props(counts, n);
                let cur_counts = match current {
                    CurrentSide::Numbers(v) => Self::count(edges, v),
                    CurrentSide::Binned(b) => b.to_vec(),
                    CurrentSide::Counts(c) => {
                        let mut out = vec![0u64; edges.len() + 1];
                        for (k, cnt) in &c.counts {
                            if let Key::Num(x) = k {
                                out[edges.partition_point(|&e| e <= *x)] += cnt;
                            }
                        }
                        out
                    }
                };
                let m: u64 = cur_counts.iter().sum();
                let q = props(&cur_counts, m.max(1));
                (
                    p,
                    q,
                    Binning::ReferenceQuantiles {
                        edges: edges.clone(),
                    },
                )
            }
            StandardBins::Categories { counts } => {
                let n: u64 = counts.values().sum();
                let mut p: Vec<f64> = counts.values().map(|&c| c as f64 / n as f64).collect();
                p.push(0.0);
                let cur = match current {
                    CurrentSide::Counts(c) => (*c).clone(),
                    CurrentSide::Numbers(v) => Counts::from_values(v),
                    // not built for category bins (count_if_finite gives None there)
                    CurrentSide::Binned(_) => Counts::default(),
                };
                let m = cur.n.max(1) as f64;
                let mut q: Vec<f64> = counts
                    .keys()
                    .map(|k| cur.counts.get(k).copied().unwrap_or(0) as f64 / m)
                    .collect();
                let unseen: u64 = cur
                    .counts
                    .iter()
                    .filter(|(k, _)| !counts.contains_key(*k))
                    .map(|(_, c)| *c)
                    .sum();
                q.push(unseen as f64 / m);
                (p, q, Binning::ReferenceCategories { bins: counts.len() })
            }
        }
    }
}

/// The current side as the standard bins need it.
#[derive(Debug)]
pub(crate) enum CurrentSide<'a> {
    Numbers(&'a [f64]),
    Counts(&'a Counts),
    /// Counts already in the decile bins ([`StandardBins::count_if_finite`]; never built for
    /// category bins).
    Binned(&'a [u64]),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sturges_matches_numpy() {
        // np.histogram_bin_edges([0., 1., 2., 10.], 'sturges') -> 3 bins of width 10/3
        let e = sturges_edges(0.0, 10.0, 4, false);
        assert_eq!(e.len(), 4);
        assert_eq!(e[3], 10.0);
        assert_eq!(histogram(&[0.0, 1.0, 2.0, 10.0, 20.0], &e), vec![3, 0, 1]);
        // integer data: width raised to 1
        let e = sturges_edges(0.0, 3.0, 100, true);
        assert_eq!(e, vec![0.0, 1.0, 2.0, 3.0]);
        let e = sturges_edges(5.0, 5.0, 10, false);
        assert_eq!(e, vec![4.5, 5.5]);
        // lanes, tails and out-of-range values against the per-bin rule
        let v: Vec<f64> = (0..1003)
            .map(|i| f64::from((i * 37) % 101) - 50.0)
            .collect();
        let e = sturges_edges(-40.0, 40.0, v.len(), false);
        let last = e.len() - 2;
        let naive: Vec<u64> = (0..=last)
            .map(|k| {
                v.iter()
                    .filter(|&&x| x >= e[k] && (x < e[k + 1] || (k == last && x == e[k + 1])))
                    .count() as u64
            })
            .collect();
        assert_eq!(histogram(&v, &e), naive);
        assert!(naive.iter().sum::<u64>() < v.len() as u64);
        // uniform data over many bins (every guess path), NaN and ±inf dropped
        let mut u: Vec<f64> = (0..20_011).map(|i| f64::from(i) * 0.37 - 3.0).collect();
        u.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
        let e = sturges_edges(-3.0, 7000.0, 1 << 60, false);
        assert!(e.len() > 60);
        let naive: Vec<u64> = (0..e.len() - 1)
            .map(|k| {
                let last = k == e.len() - 2;
                u.iter()
                    .filter(|&&x| x >= e[k] && (x < e[k + 1] || (last && x == e[k + 1])))
                    .count() as u64
            })
            .collect();
        assert_eq!(histogram(&u, &e), naive);
        // more bins than a Sturges rule gives: the per-value rule
        let e: Vec<f64> = (0..=200).map(|i| f64::from(i) * 40.0).collect();
        let got = histogram(&u, &e);
        assert_eq!(
            got.iter().sum::<u64>(),
            u.iter().filter(|x| (0.0..=8000.0).contains(*x)).count() as u64
        );
        assert_eq!(
            got[0],
            u.iter().filter(|x| (0.0..40.0).contains(*x)).count() as u64
        );
    }

    #[test]
    fn standard_count_follows_the_per_value_rule() {
        let edges = [-1.0, 0.0, 0.0, 2.5];
        let values = [
            -3.0,
            -1.0,
            -0.5,
            0.0,
            -0.0,
            1.0,
            2.5,
            7.0,
            f64::NAN,
            f64::NEG_INFINITY,
            f64::INFINITY,
        ];
        // NaN and -inf in bin 0, the empty bin between the equal edges, +inf not counted
        assert_eq!(StandardBins::count(&edges, &values), vec![3, 2, 0, 3, 2]);
        // unsorted edges: the same per-value rule
        assert_eq!(
            StandardBins::count(&[2.5, -1.0], &[0.0, 3.0, -2.0]),
            vec![1, 1, 1]
        );
        // 16 edges: +inf lands in the last bin
        let e16: Vec<f64> = (0..16).map(f64::from).collect();
        let c = StandardBins::count(&e16, &[f64::INFINITY, 0.5]);
        assert_eq!((c[1], c[16], c.iter().sum::<u64>()), (1, 1, 2));
        // many values (blocks, lanes and tails) against the per-value rule
        let v: Vec<f64> = (0..10_007)
            .map(|i| f64::from((i * 7919) % 1000) / 100.0)
            .collect();
        let e: Vec<f64> = (1..10).map(f64::from).collect();
        let mut want = vec![0u64; 10];
        for &x in &v {
            want[e.iter().filter(|&&ed| ed <= x).count()] += 1;
        }
        assert_eq!(StandardBins::count(&e, &v), want);
    }

    #[test]
    fn count_if_finite_is_count_or_none() {
        let v: Vec<f64> = (0..5003)
            .map(|i| f64::from((i * 7919) % 1000) / 100.0)
            .collect();
        let edges: Vec<f64> = (1..10).map(f64::from).collect();
        let bins = StandardBins::Quantiles {
            edges: edges.clone(),
            counts: vec![1; 10],
        };
        assert_eq!(
            bins.count_if_finite(&v),
            Some(StandardBins::count(&edges, &v))
        );
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut w = v.clone();
            w[4321] = bad;
            assert_eq!(bins.count_if_finite(&w), None, "{bad}");
        }
        let cats = StandardBins::categories(&Counts::from_values(&[1.0]));
        assert_eq!(cats.count_if_finite(&v), None);
    }

    #[test]
    fn min_max_and_finiteness() {
        let v = [3.0, -1.0, f64::NAN, 2.0, 9.5, 0.0, 1.0, 4.0, -7.25, 6.0];
        assert_eq!(min_max(&v), (-7.25, 9.5));
        assert_eq!(min_max(&v[..3]), (-1.0, 3.0));
        assert_eq!(min_max(&[]), (f64::INFINITY, f64::NEG_INFINITY));
        assert!(!crate::column::all_finite(&v));
        assert!(crate::column::all_finite(&[1.0; 17]));
        let mut w = [1.0; 17];
        w[3] = f64::INFINITY;
        assert!(!crate::column::all_finite(&w));
        w[3] = 1.0;
        w[16] = f64::NEG_INFINITY;
        assert!(!crate::column::all_finite(&w));
    }

    #[test]
    fn divergences() {
        let p = [0.5, 0.5];
        assert_eq!(psi(&p, &p), 0.0);
        assert!((jensenshannon(&[1.0, 0.0], &[0.0, 1.0], None) - 2f64.ln().sqrt()).abs() < 1e-15);
        assert!((jensenshannon(&[1.0, 0.0], &[0.0, 1.0], Some(2.0)) - 1.0).abs() < 1e-15);
        let mut z = vec![0.0, 0.5, 0.5];
        evidently_fill(&mut z);
        assert_eq!(z[0], 1e-4);
        assert!((quantile_sorted(&[1.0, 2.0, 3.0, 4.0], 0.5) - 2.5).abs() < 1e-15);
        assert!(distinct_exceeds(&[1.0, 2.0, 3.0], 2));
        assert!(!distinct_exceeds(&[1.0, 1.0, -0.0, 0.0], 2));
    }
}
