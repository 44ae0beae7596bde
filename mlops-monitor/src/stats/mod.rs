//! Statistical building blocks: sorting, ECDF passes, distributions and the ports of scipy's
//! tests that no crate provides. Each port names the scipy function it follows.

pub(crate) mod anderson;
pub(crate) mod cvm;
pub(crate) mod fisher;
pub(crate) mod ks;

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Sorted copy of finite values (LSD radix sort: O(n), the floor for KS/Wasserstein).
pub(crate) fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    radsort::sort(&mut v);
    v
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

/// Population standard deviation (`np.std`, ddof 0), two passes.
pub(crate) fn std_pop(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let n = values.len() as f64;
    let mean = sum(values.iter().copied()) / n;
    (sum(values.iter().map(|x| (x - mean) * (x - mean))) / n).sqrt()
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

/// One merge over two sorted, non-empty samples.
pub(crate) fn ecdf_pass(a: &[f64], b: &[f64]) -> EcdfPass {
    let (n, m) = (a.len(), b.len());
    // i·m/g ≤ n·m/g fits u64 for any in-memory sample sizes (≤ 2^32 each)
    let g = gcd(n as u64, m as u64);
    let (ng, mg) = (n as u64 / g, m as u64 / g);
    let (nf, mf) = (n as f64, m as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let (mut d_plus, mut d_minus, mut h) = (0.0f64, 0.0f64, 0u64);
    let (mut w1, mut w1c, mut l2, mut l2c) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let mut prev: Option<f64> = None;
    let mut prev_diff = 0.0f64;
    while i < n || j < m {
        let v = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        if let Some(p) = prev {
            let delta = v - p;
            kahan_add(&mut w1, &mut w1c, prev_diff.abs() * delta);
            kahan_add(&mut l2, &mut l2c, prev_diff * prev_diff * delta);
        }
        while i < n && a[i] <= v {
            i += 1;
        }
        while j < m && b[j] <= v {
            j += 1;
        }
        let diff = i as f64 / nf - j as f64 / mf;
        if diff > d_plus {
            d_plus = diff;
        }
        if -diff > d_minus {
            d_minus = -diff;
        }
        let hi = (i as u64)
            .wrapping_mul(mg)
            .abs_diff((j as u64).wrapping_mul(ng));
        if hi > h {
            h = hi;
        }
        prev = Some(v);
        prev_diff = diff;
    }
    EcdfPass {
        d_plus,
        d_minus,
        h,
        w1: w1 + w1c,
        l2sq: l2 + l2c,
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
