//! Statistical building blocks: sorting, ECDF passes, distributions and the ports of scipy's
//! tests that no crate provides. Each port names the scipy function it follows.

pub(crate) mod anderson;
pub(crate) mod bucketed;
pub(crate) mod cvm;
pub(crate) mod fisher;
pub(crate) mod ks;

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Sorted copy (the order of radsort's key: -NaN < -inf < … < -0.0 < 0.0 < … < +inf < NaN).
pub(crate) fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    sort(&mut v);
    v
}

/// Sorted copy of values known to be finite (skips [`sort`]'s finiteness pass).
pub(crate) fn sorted_finite(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    sort_finite(&mut v);
    v
}

/// Below this length radsort is as fast as any radix sort.
const VORACIOUS_MIN: usize = 1 << 15;

/// Sorts in place, in radsort's key order. Large all-finite slices go through voracious's
/// MSD/LSD radix sort (about 1.6× radsort at 10M values), whose `±0` order is then normalised
/// (`-0.0` first, as radsort's key puts it); anything else (NaN, ±inf, short) through radsort.
pub(crate) fn sort(v: &mut [f64]) {
    if crate::column::all_finite(v) {
        sort_finite(v);
    } else {
        radsort::sort(v);
    }
}

/// [`sort`] of finite values: voracious's sort, then `-0.0` before `0.0` as radsort orders them.
fn sort_finite(v: &mut [f64]) {
    use voracious_radix_sort::RadixSort;
    if v.len() < VORACIOUS_MIN {
        radsort::sort(v);
    } else {
        v.voracious_sort();
        let lo = v.partition_point(|&x| x < 0.0);
        let zeros = v[lo..].partition_point(|&x| x <= 0.0);
        let z = &mut v[lo..lo + zeros];
        let negative = z.iter().filter(|x| x.is_sign_negative()).count();
        for (k, x) in z.iter_mut().enumerate() {
            *x = if k < negative { -0.0 } else { 0.0 };
        }
    }
}

/// Neumaier-compensated sum (close to numpy's pairwise sum; both are within a few ulps of exact).
pub(crate) fn sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut s = 0.0f64;
    let mut c = 0.0f64;
    for x in values {
        let t = s + x;
        if s.abs() >= x.abs() {
            c += (s - t) + x;
        } else {
            c += (x - t) + s;
        }
        s = t;
    }
    s + c
}

/// numpy's pairwise summation (`pairwise_sum` in `loops_utils.h`) of `f(x)` over a slice:
/// blocks of ≤ 128 summed in 8 lanes, halves split at a multiple of 8. The same rounding as
/// `np.sum` on a contiguous array, and vectorised.
fn pairwise(a: &[f64], f: &impl Fn(f64) -> f64) -> f64 {
    let n = a.len();
    if n < 8 {
        // numpy starts from -0.0 here; for any non-empty slice that equals starting from a[0]
        a.iter().fold(-0.0, |acc, &x| acc + f(x))
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        for (k, x) in r.iter_mut().enumerate() {
            *x = f(a[k]);
        }
        let whole = n - n % 8;
        for c in a[8..whole].chunks_exact(8) {
            for (acc, &x) in r.iter_mut().zip(c) {
                *acc += f(x);
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[whole..] {
            res += f(x);
        }
        res
    } else {
        let n2 = (n / 2) - (n / 2) % 8;
        pairwise(&a[..n2], f) + pairwise(&a[n2..], f)
    }
}

/// Population standard deviation (`np.std`, ddof 0): numpy's two passes with its pairwise sums.
pub(crate) fn std_pop(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let n = values.len() as f64;
    let mean = pairwise(values, &|x| x) / n;
    (pairwise(values, &|x| (x - mean) * (x - mean)) / n).sqrt()
}

/// What one merged pass over two sorted samples yields (scipy `_cdf_distance`, `ks_2samp`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EcdfPass {
    /// max(F_a − F_b), ≥ 0.
    pub(crate) d_plus: f64,
    /// max(F_b − F_a), ≥ 0.
    pub(crate) d_minus: f64,
    /// Largest |i·m/g − j·n/g| (the exact KS statistic times lcm(n, m)).
    pub(crate) h: u64,
    /// ∫|F_a − F_b| dx (scipy `wasserstein_distance`).
    pub(crate) w1: f64,
    /// ∫(F_a − F_b)² dx (scipy `energy_distance` = √2·√this).
    pub(crate) l2sq: f64,
}

/// Steps between folds of the plain partial sums into the compensated totals.
const FOLD: usize = 1024;

/// The KS part of an ECDF pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct KsStat {
    /// max(F_a − F_b), ≥ 0.
    pub(crate) d_plus: f64,
    /// max(F_b − F_a), ≥ 0.
    pub(crate) d_minus: f64,
    /// Largest |i·m/g − j·n/g| (the exact KS statistic times lcm(n, m)).
    pub(crate) h: u64,
}

impl EcdfPass {
    /// The KS statistics.
    pub(crate) fn ks(&self) -> KsStat {
        KsStat {
            d_plus: self.d_plus,
            d_minus: self.d_minus,
            h: self.h,
        }
    }
}

/// The state of the merged walk over two sorted samples.
pub(crate) struct Walk {
    /// Values consumed from each side.
    pub(crate) i: usize,
    pub(crate) j: usize,
    /// `i·m/g − j·n/g`: the ECDF difference F_a − F_b times lcm(n, m).
    pub(crate) k: i64,
    /// Last value seen; the state is recorded when a larger one arrives.
    prev: f64,
    kmax: i64,
    kmin: i64,
    at_max: (usize, usize),
    at_min: (usize, usize),
    /// Σ |k|·Δ and Σ k²·Δ since the last fold.
    w1: f64,
    l2: f64,
    w1_total: (f64, f64),
    l2_total: (f64, f64),
}

impl Walk {
    /// A walk that has consumed `i` values of a and `j` of b (`k` = i·m/g − j·n/g), the last
    /// of them `prev`.
    pub(crate) fn at(i: usize, j: usize, k: i64, prev: f64) -> Self {
        Walk {
            i,
            j,
            k,
            prev,
            kmax: 0,
            kmin: 0,
            at_max: (0, 0),
            at_min: (0, 0),
            w1: 0.0,
            l2: 0.0,
            w1_total: (0.0, 0.0),
            l2_total: (0.0, 0.0),
        }
    }

    /// Records the current state in the extremes (the first state reaching each is kept).
    #[inline(always)]
    pub(crate) fn record(&mut self) {
        if self.k > self.kmax {
            self.kmax = self.k;
            self.at_max = (self.i, self.j);
        }
        if self.k < self.kmin {
            self.kmin = self.k;
            self.at_min = (self.i, self.j);
        }
    }

    /// The KS statistics of the states recorded so far.
    pub(crate) fn ks(&self, n: usize, m: usize) -> KsStat {
        let (nf, mf) = (n as f64, m as f64);
        KsStat {
            d_plus: self.at_max.0 as f64 / nf - self.at_max.1 as f64 / mf,
            d_minus: self.at_min.1 as f64 / mf - self.at_min.0 as f64 / nf,
            h: self.kmax.max(-self.kmin).unsigned_abs(),
        }
    }

    /// Merges two sorted runs that follow every value consumed so far.
    pub(crate) fn merge(&mut self, a: &[f64], b: &[f64], mg: i64, ng: i64) {
        let (mut p, mut q) = (0usize, 0usize);
        while p < a.len() && q < b.len() {
            // `round` steps cannot exhaust either side before the last one
            let round = (a.len() - p).min(b.len() - q).min(FOLD);
            for _ in 0..round {
                let (x, y) = (a[p], b[q]);
                let from_a = x <= y;
                p += usize::from(from_a);
                q += usize::from(!from_a);
                self.step(if from_a { x } else { y }, from_a, mg, ng);
            }
            self.fold();
        }
        for (rest, from_a) in [(&a[p..], true), (&b[q..], false)] {
            for block in rest.chunks(FOLD) {
                for &v in block {
                    self.step(v, from_a, mg, ng);
                }
                self.fold();
            }
        }
    }

    /// Consumes `v` (from side a when `from_a`): records the state of the previous distinct
    /// value when `v` is larger, then moves the step `da`/`db`.
    #[inline(always)]
    pub(crate) fn step(&mut self, v: f64, from_a: bool, mg: i64, ng: i64) {
        if v != self.prev {
            let kf = self.k as f64;
            let delta = v - self.prev;
            self.w1 += kf.abs() * delta;
            self.l2 += kf * kf * delta;
            self.record();
            self.prev = v;
        }
        self.i += usize::from(from_a);
        self.j += usize::from(!from_a);
        self.k += if from_a { mg } else { -ng };
    }

    pub(crate) fn fold(&mut self) {
        kahan_add(&mut self.w1_total.0, &mut self.w1_total.1, self.w1);
        kahan_add(&mut self.l2_total.0, &mut self.l2_total.1, self.l2);
        self.w1 = 0.0;
        self.l2 = 0.0;
    }
}

/// One merge over two sorted, non-empty samples: a branch-light walk (the side is a select,
/// not a branch) with integer ECDF differences, and the integrals summed in blocks.
pub(crate) fn ecdf_pass(a: &[f64], b: &[f64]) -> EcdfPass {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return EcdfPass {
            d_plus: 0.0,
            d_minus: 0.0,
            h: 0,
            w1: 0.0,
            l2sq: 0.0,
        };
    }
    // |k| ≤ n·m/g, which fits i64 for samples below 2^31 values each (16 GiB per side)
    let g = gcd(n as u64, m as u64);
    let (ng, mg) = ((n as u64 / g) as i64, (m as u64 / g) as i64);
    let mut w = Walk::at(0, 0, 0, a[0].min(b[0]));
    w.merge(a, b, mg, ng);
    // the final state (n, m) has k = 0: it changes no maximum and ends the integrals
    let ks = w.ks(n, m);
    let lcm = (n as u64 / g) as f64 * m as f64;
    EcdfPass {
        d_plus: ks.d_plus,
        d_minus: ks.d_minus,
        h: ks.h,
        w1: (w.w1_total.0 + w.w1_total.1) / lcm,
        l2sq: (w.l2_total.0 + w.l2_total.1) / lcm / lcm,
    }
}

fn kahan_add(s: &mut f64, c: &mut f64, x: f64) {
    let t = *s + x;
    if s.abs() >= x.abs() {
        *c += (*s - t) + x;
    } else {
        *c += (x - t) + *s;
    }
    *s = t;
}

/// Greatest common divisor.
pub(crate) fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Standard normal CDF the way cephes `ndtr` evaluates it (scipy `norm.cdf`).
pub(crate) fn norm_cdf(a: f64) -> f64 {
    use statrs::function::erf::{erf, erfc};
    let x = a * std::f64::consts::FRAC_1_SQRT_2;
    let z = x.abs();
    if z < std::f64::consts::FRAC_1_SQRT_2 {
        0.5 + 0.5 * erf(x)
    } else {
        let y = 0.5 * erfc(z);
        if x > 0.0 { 1.0 - y } else { y }
    }
}

/// Chi-square survival function (scipy `chi2.sf`); NaN for df = 0 as scipy.
pub(crate) fn chi2_sf(stat: f64, df: f64) -> f64 {
    if stat.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if stat == f64::INFINITY {
        return 0.0;
    }
    match ChiSquared::new(df) {
        Ok(d) => d.sf(stat),
        Err(_) => f64::NAN,
    }
}

/// `ln Γ(x)`.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    statrs::function::gamma::ln_gamma(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdf_pass_matches_hand_values() {
        let p = ecdf_pass(&[1.0], &[2.0]);
        assert_eq!(p.d_plus, 1.0);
        assert_eq!(p.h, 1);
        assert_eq!(p.w1, 1.0);
        assert_eq!(p.l2sq, 1.0);
        let p = ecdf_pass(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]);
        // scipy.stats.wasserstein_distance([0,1,3],[5,6,8]) == 5.0
        assert!((p.w1 - 5.0).abs() < 1e-12);
    }

    /// The walk before the branch-light rewrite: per distinct value, float differences.
    fn ecdf_naive(a: &[f64], b: &[f64]) -> (f64, f64, u64, f64, f64) {
        let (n, m) = (a.len(), b.len());
        let g = gcd(n as u64, m as u64);
        let (ng, mg) = (n as u64 / g, m as u64 / g);
        let (mut i, mut j) = (0, 0);
        let (mut dp, mut dm, mut h, mut w1, mut l2) = (0.0f64, 0.0f64, 0u64, 0.0, 0.0);
        let mut prev: Option<(f64, f64)> = None;
        while i < n || j < m {
            let v = match (a.get(i), b.get(j)) {
                (Some(&x), Some(&y)) => x.min(y),
                (Some(&x), None) => x,
                (None, Some(&y)) => y,
                (None, None) => break,
            };
            if let Some((p, d)) = prev {
                w1 += d.abs() * (v - p);
                l2 += d * d * (v - p);
            }
            while i < n && a[i] <= v {
                i += 1;
            }
            while j < m && b[j] <= v {
                j += 1;
            }
            let d = i as f64 / n as f64 - j as f64 / m as f64;
            dp = dp.max(d);
            dm = dm.max(-d);
            h = h.max((i as u64 * mg).abs_diff(j as u64 * ng));
            prev = Some((v, d));
        }
        (dp, dm, h, w1, l2)
    }

    fn lcg(seed: u64, n: usize, levels: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) % levels) as f64 / 7.0 - 3.0
            })
            .collect()
    }

    #[test]
    fn ecdf_pass_equals_the_per_value_walk() {
        for (n, m, levels) in [
            (1, 1, 3),
            (5, 3, 2),
            (100, 37, 10),
            (1000, 1000, 1 << 30),
            (4097, 2048, 50),
            (3000, 5000, 1 << 30),
        ] {
            let a = sorted(&lcg(n as u64, n, levels));
            let b = sorted(&lcg(7 + m as u64, m, levels));
            let p = ecdf_pass(&a, &b);
            let (dp, dm, h, w1, l2) = ecdf_naive(&a, &b);
            assert_eq!((p.d_plus, p.d_minus, p.h), (dp, dm, h), "{n} {m} {levels}");
            assert!((p.w1 - w1).abs() <= 1e-12 * w1.max(1e-300), "{} {w1}", p.w1);
            assert!(
                (p.l2sq - l2).abs() <= 1e-12 * l2.max(1e-300),
                "{} {l2}",
                p.l2sq
            );
        }
    }

    #[test]
    fn large_sorts_keep_radsort_order() {
        // the voracious path (≥ 2^15 finite values), ties and both signed zeros
        let mut v = lcg(3, 100_000, 1000);
        for (k, x) in v.iter_mut().enumerate().step_by(97) {
            *x = if k % 2 == 0 { -0.0 } else { 0.0 };
        }
        let mut want = v.clone();
        radsort::sort(&mut want);
        let got = sorted(&v);
        assert!(
            got.iter()
                .map(|x| x.to_bits())
                .eq(want.iter().map(|x| x.to_bits()))
        );
        // with a NaN: radsort's key order (the fallback)
        v[5] = f64::NAN;
        let got = sorted(&v);
        assert!(got[got.len() - 1].is_nan() && got[..got.len() - 1].is_sorted());
    }

    #[test]
    fn pairwise_std_matches_numpy() {
        // np.std(np.arange(1000) / 7.0) == 41.2392843224585
        let v: Vec<f64> = (0..1000).map(|i| f64::from(i) / 7.0).collect();
        assert!((std_pop(&v) - 41.2392843224585).abs() < 1e-12);
        assert_eq!(std_pop(&[2.0]), 0.0);
        assert!(std_pop(&[]).is_nan());
    }

    #[test]
    fn normal_and_chi2() {
        // statrs' erfc is accurate to ~1e-10 relative; p-values are compared at 1e-6
        assert!((norm_cdf(1.959963984540054) - 0.975).abs() < 1e-9);
        assert!((chi2_sf(3.841458820694124, 1.0) - 0.05).abs() < 1e-9);
        assert!(chi2_sf(1.0, 0.0).is_nan());
        assert_eq!(chi2_sf(f64::INFINITY, 2.0), 0.0);
        assert!((std_pop(&[1.0, 2.0, 3.0, 4.0]) - 1.118033988749895).abs() < 1e-15);
    }
}
