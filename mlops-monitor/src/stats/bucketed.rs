//! Exact KS statistics of large samples without sorting them.
//!
//! Both samples are counted into the same value buckets (`⌊(x − lo)·scale⌋`, monotone in x, so
//! every value of a bucket follows every value of the buckets before it in the merged order).
//! The ECDF difference at each bucket boundary is then exact from the running counts, and inside
//! bucket b it can rise at most `count_a(b)·m/g` above (or fall `count_b(b)·n/g` below) the
//! boundary value. Only the buckets whose bound reaches the best boundary extreme can hold the
//! extreme: their values are gathered (one more pass), sorted and walked exactly. The states
//! visited are those of the full merged walk (boundaries and candidate interiors, in the same
//! order, the first state reaching an extreme kept), so D⁺, D⁻ and h equal
//! [`super::ecdf_pass`]'s on the sorted samples — at two counting passes per side instead of
//! two sorts.

use super::{KsStat, Walk, gcd};

/// Below this size per side the sort-and-merge path is as fast.
pub(crate) const MIN_SIDE: usize = 1 << 16;

/// Exact KS statistics of two finite samples whose joint range is `[lo, hi]`; `None` when the
/// bucketing does not pay (degenerate range, or the candidate buckets hold a quarter of the
/// data): then sort and merge.
pub(crate) fn ks_stat(a: &[f64], b: &[f64], lo: f64, hi: f64) -> Option<KsStat> {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return None;
    }
    let nb = ((n + m) / 512).next_power_of_two().clamp(1 << 10, 1 << 15);
    let scale = nb as f64 / (hi - lo);
    if !(scale.is_finite() && scale > 0.0) {
        return None;
    }
    let last = nb - 1;
    // saturating casts: lo maps to 0; rounding past nb is clamped
    let bucket = |x: f64| (((x - lo) * scale) as usize).min(last);
    let count = |v: &[f64]| {
        let mut c = vec![0u64; nb];
        for &x in v {
            c[bucket(x)] += 1;
        }
        c
    };
    let (ca, cb) = (count(a), count(b));
    // |k| ≤ n·m/g, which fits i64 for samples below 2^31 values each (16 GiB per side)
    let g = gcd(n as u64, m as u64);
    let (ng, mg) = ((n as u64 / g) as i64, (m as u64 / g) as i64);
    // boundary states: k at the start of each bucket, and their extremes
    let mut starts = Vec::with_capacity(nb);
    let (mut k, mut kmax, mut kmin) = (0i64, 0i64, 0i64);
    for (&x, &y) in ca.iter().zip(&cb) {
        starts.push(k);
        kmax = kmax.max(k);
        kmin = kmin.min(k);
        k += x as i64 * mg - y as i64 * ng;
    }
    let reaches = |bound: i64, best: i64, above: bool| {
        if above {
            bound > best || (bound == best && best > 0)
        } else {
            bound < best || (bound == best && best < 0)
        }
    };
    let candidate: Vec<bool> = (0..nb)
        .map(|bk| {
            let k0 = starts[bk];
            reaches(k0 + ca[bk] as i64 * mg, kmax, true)
                || reaches(k0 - cb[bk] as i64 * ng, kmin, false)
        })
        .collect();
    let gathered = |v: &[f64], counts: &[u64]| {
        let total: u64 = (0..nb)
            .filter(|&bk| candidate[bk])
            .map(|bk| counts[bk])
            .sum();
        let mut out = Vec::with_capacity(total as usize);
        if total > 0 {
            out.extend(v.iter().copied().filter(|&x| candidate[bucket(x)]));
        }
        out
    };
    let limit = (n + m) / 4;
    let mut va = gathered(a, &ca);
    if va.len() > limit {
        return None;
    }
    let mut vb = gathered(b, &cb);
    if va.len() + vb.len() > limit {
        return None;
    }
    radsort::sort(&mut va);
    radsort::sort(&mut vb);
    // the walk over boundaries and candidate interiors, in merged order
    let (mut i, mut j) = (0usize, 0usize);
    let (mut pa, mut pb) = (0usize, 0usize);
    let mut w = Walk::at(0, 0, 0, 0.0);
    for bk in 0..nb {
        (w.i, w.j, w.k) = (i, j, starts[bk]);
        w.record();
        let (na, nbk) = (ca[bk] as usize, cb[bk] as usize);
        if candidate[bk] {
            let (ra, rb) = (&va[pa..pa + na], &vb[pb..pb + nbk]);
            if let Some(first) = match (ra.first(), rb.first()) {
                (Some(&x), Some(&y)) => Some(x.min(y)),
                (Some(&x), None) | (None, Some(&x)) => Some(x),
                (None, None) => None,
            } {
                w.prev = first;
                w.merge(ra, rb, mg, ng);
            }
            pa += na;
            pb += nbk;
        }
        i += na;
        j += nbk;
    }
    Some(w.ks(n, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(seed: u64, n: usize, levels: u64, shift: f64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                // a bump: the sum of two uniforms
                let u = ((s >> 33) % levels) as f64 + ((s >> 13) % levels) as f64;
                u / levels as f64 + shift
            })
            .collect()
    }

    #[test]
    fn equals_the_sorted_walk() {
        for (n, m, levels, shift) in [
            (70_000, 90_000, 1 << 30, 0.0),
            (70_000, 90_000, 1 << 30, 0.01),
            (100_000, 100_000, 1 << 30, 0.2),
            (80_000, 65_536, 37, 0.0),
            (80_000, 65_536, 37, 0.5),
            (66_000, 99_000, 1 << 20, -0.003),
        ] {
            let a = draws(n as u64, n, levels, 0.0);
            let b = draws(3 + m as u64, m, levels, shift);
            let all: Vec<f64> = a.iter().chain(&b).copied().collect();
            let (lo, hi) = crate::drift::binned::min_max(&all);
            let want =
                super::super::ecdf_pass(&super::super::sorted(&a), &super::super::sorted(&b));
            match ks_stat(&a, &b, lo, hi) {
                Some(got) => assert_eq!(got, want.ks(), "{n} {m} {levels} {shift}"),
                // heavy ties: a few buckets hold everything, the caller sorts
                None => assert!(
                    levels < 100,
                    "no bucketed answer for {n} {m} {levels} {shift}"
                ),
            }
        }
        // a constant range: the caller sorts
        assert_eq!(ks_stat(&[1.0; 3], &[1.0; 2], 1.0, 1.0), None);
    }
}
