//! Two-sample Kolmogorov-Smirnov p-values: a port of scipy's `ks_2samp(method='auto')`
//! (`scipy/stats/_stats_py.py`: `_attempt_exact_2kssamp`, `_compute_prob_outside_square`;
//! `_stats_pythran.py`: `_compute_outer_prob_inside_method`) and of `kstwo.sf`
//! (`scipy/stats/_ksstats.py`: `_kolmogn`, `_kolmogn_DMTW`, `_kolmogn_PelzGood`).

use super::{KsStat, ln_gamma};

/// scipy's `MAX_AUTO_N`: above it `ks_2samp` switches to the asymptotic distribution.
pub(crate) const MAX_AUTO_N: usize = 10_000;

/// KS statistic and two-sided p-value from an ECDF pass (scipy `ks_2samp`, `method='auto'`).
pub(crate) fn ks_2samp(n1: usize, n2: usize, pass: &KsStat) -> (f64, f64) {
    let d_float = if pass.d_minus > pass.d_plus {
        pass.d_minus
    } else {
        pass.d_plus
    };
    if n1.max(n2) <= MAX_AUTO_N {
        let g = super::gcd(n1 as u64, n2 as u64);
        let lcm = (n1 as u64 / g) * n2 as u64;
        let h = pass.h;
        let d = h as f64 / lcm as f64;
        if h == 0 {
            return (d, 1.0);
        }
        let prob = if n1 == n2 {
            prob_outside_square(n1 as u64, h)
        } else {
            outer_prob_inside(n1 as u64, n2 as u64, g, h)
        };
        if prob.is_finite() && (0.0..=1.0).contains(&prob) {
            return (d, prob);
        }
        // scipy falls back to the asymptotic distribution with a warning.
        return (d, asymptotic(n1, n2, d));
    }
    (d_float, asymptotic(n1, n2, d_float))
}

fn asymptotic(n1: usize, n2: usize, d: f64) -> f64 {
    let (m, n) = if n1 >= n2 {
        (n1 as f64, n2 as f64)
    } else {
        (n2 as f64, n1 as f64)
    };
    let en = m * n / (m + n);
    kstwo_sf(en.round_ties_even() as u64, d).clamp(0.0, 1.0)
}

/// scipy `_compute_prob_outside_square(n, h)`.
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0f64;
    let mut k = (n / h) as i64;
    while k >= 0 {
        let mut p1 = 1.0f64;
        let kh = k as u64 * h;
        for j in 0..h {
            // n - k*h - j may go negative in scipy's integer arithmetic: keep the sign.
            let num = n as f64 - kh as f64 - j as f64;
            p1 = num * p1 / (n + kh + j + 1) as f64;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// scipy `_compute_outer_prob_inside_method(m, n, g, h)` (Hodges; Viehmann's 1 − p recursion).
fn outer_prob_inside(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let mg = m / g;
    let ng = n / g;
    let mut minj: i64 = 0;
    let mut maxj: i64 = (h.div_ceil(mg) as i64).min(n as i64 + 1);
    let mut curlen = maxj - minj;
    let len_a = ((2 * maxj + 2) as usize).min(n as usize + 1);
    let mut a = vec![1.0f64; len_a.max(1)];
    for x in a.iter_mut().take(maxj as usize) {
        *x = 0.0;
    }
    let (h, mg_i, ng_i) = (h as i64, mg as i64, ng as i64);
    for i in 1..=m as i64 {
        let (lastminj, lastlen) = (minj, curlen);
        minj = ((ng_i * i - h).div_euclid(mg_i) + 1).max(0);
        minj = minj.min(n as i64);
        let num = ng_i * i + h;
        maxj = ((num + mg_i - 1).div_euclid(mg_i)).min(n as i64 + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            let idx = (jj + minj - lastminj) as usize;
            let prev = a.get(idx).copied().unwrap_or(1.0);
            val = (prev * i as f64 + val * j as f64) / (i + j) as f64;
            if let Some(slot) = a.get_mut(jj as usize) {
                *slot = val;
            }
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = (maxj - minj) as usize;
            let end = (start + (lastlen - curlen) as usize).min(a.len());
            for x in a.iter_mut().take(end).skip(start) {
                *x = 1.0;
            }
        }
    }
    a.get((maxj - minj - 1) as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

/// Survival function of the two-sided one-sample KS statistic D_n (scipy `kstwo.sf`,
/// `_kolmogn(n, x, cdf=False)`). Pomeranz's recursion (scipy's choice for n ≤ 140 and
/// 0.754693 < n·x² ≤ 4) is replaced by the Durbin matrix, which computes the same exact CDF.
pub(crate) fn kstwo_sf(n: u64, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        let prob = if n <= 140 {
            (1..=n)
                .map(|i| i as f64 * (1.0 / nf) * (2.0 * t - 1.0))
                .product::<f64>()
        } else {
            (ln_gamma(nf + 1.0) - nf * nf.ln() + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - prob);
    }
    if t >= nf - 1.0 {
        return clip(2.0 * (1.0 - x).powf(nf));
    }
    if x >= 0.5 {
        return clip(2.0 * smirnov(n, x));
    }
    let nxsq = t * x;
    if n <= 140 {
        if nxsq <= 4.0 {
            return clip(1.0 - durbin_cdf(n, x));
        }
        return clip(2.0 * smirnov(n, x));
    }
    if nxsq >= 370.0 {
        return 0.0;
    }
    if nxsq >= 2.2 {
        return clip(2.0 * smirnov(n, x));
    }
    let cdf = if nxsq >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        durbin_cdf(n, x)
    } else {
        pelz_good_cdf(n, x)
    };
    clip(1.0 - cdf)
}

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

/// One-sided exact Smirnov survival P(D⁺_n ≥ x) (Birnbaum–Tingey sum in log space; scipy's
/// `special.smirnov`).
fn smirnov(n: u64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let jmax = (nf * (1.0 - x)).floor() as u64;
    let ln_n1 = ln_gamma(nf + 1.0);
    let mut total = 0.0f64;
    for j in 0..=jmax {
        let jf = j as f64;
        let a = 1.0 - x - jf / nf;
        let b = x + jf / nf;
        if a <= 0.0 {
            continue;
        }
        let ln_c = ln_n1 - ln_gamma(jf + 1.0) - ln_gamma(nf - jf + 1.0);
        let term = ln_c + (nf - jf) * a.ln() + (jf - 1.0) * b.ln();
        total += term.exp();
    }
    (x * total).min(1.0)
}

/// scipy `_kolmogn_DMTW`: Pr(D_n ≤ d) by the Durbin matrix (Marsaglia–Tsang–Wang).
fn durbin_cdf(n: u64, d: f64) -> f64 {
    const E128: i32 = 128;
    let ep128 = 2f64.powi(E128);
    let em128 = 2f64.powi(-E128);
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut hm = vec![0.0f64; m * m];
    let mut v: Vec<f64> = (1..=m).map(|i| 1.0 - h.powi(i as i32)).collect();
    let mut w = vec![0.0f64; m];
    let mut fac = 1.0f64;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    for i in 1..m {
        for r in (i - 1)..m {
            hm[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }
    let mut pw = vec![0.0f64; m * m];
    for i in 0..m {
        pw[i * m + i] = 1.0;
    }
    let (mut nn, mut expnt, mut hexpnt) = (n, 0i32, 0i32);
    while nn > 0 {
        if nn % 2 == 1 {
            pw = matmul(&pw, &hm, m);
            expnt += hexpnt;
        }
        hm = matmul(&hm, &hm, m);
        hexpnt *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > ep128 {
            for x in hm.iter_mut() {
                *x /= ep128;
            }
            hexpnt += E128;
        }
        nn /= 2;
    }
    let mut p = pw[(k - 1) * m + (k - 1)];
    for i in 1..=n {
        p = i as f64 * p / n as f64;
        if p.abs() < em128 {
            p *= ep128;
            expnt -= E128;
        }
    }
    if expnt != 0 {
        p *= 2f64.powi(expnt);
    }
    p.clamp(0.0, 1.0)
}

#[allow(clippy::needless_range_loop)] // dense matmul, row-major indices
fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0f64; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..m {
                c[i * m + j] += aik * b[k * m + j];
            }
        }
    }
    c
}

/// scipy `_kolmogn_PelzGood`: the Pelz-Good approximation to Pr(D_n ≤ x).
#[allow(clippy::needless_range_loop)] // four parallel series, as scipy
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    use std::f64::consts::PI;
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let pi2 = PI * PI;
    let pi4 = pi2 * pi2;
    let pi6 = pi4 * pi2;
    let sqrt2pi = (2.0 * PI).sqrt();
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z * z * z, z.powi(4), z.powi(6));
    let qlog = -pi2 / 8.0 / z2;
    if qlog < f64::MIN_POSITIVE.ln() {
        return 0.0;
    }
    let q = qlog.exp();
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut kk = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for k in (1..=maxk).rev() {
        let m = (2 * k - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qp = q.powf(8.0 * k as f64);
        let coeffs = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for i in 0..4 {
            kk[i] = kk[i] * qp + coeffs[i];
        }
    }
    let div = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for i in 0..4 {
        kk[i] = kk[i] * q * sqrt2pi / div[i];
    }
    let q2 = (-pi2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let (mut k2extra, mut k3extra) = (0.0, 0.0);
    for k in (1..=maxk).rev() {
        let kf = k as f64;
        let ks2 = kf * kf;
        let qp = q2.powf(ks2);
        k2extra += ks2 * qp;
        let kspi = PI * kf;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp;
    }
    kk[2] += k2extra * pi2 * sqrt2pi / (-36.0 * z3);
    kk[3] += k3extra * pi2 * sqrt2pi / (216.0 * z6);
    for (i, v) in kk.iter_mut().enumerate() {
        *v /= nf.powf(i as f64 / 2.0);
    }
    kk.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_small_cases_match_scipy() {
        // scipy.stats.ks_2samp([1,2,3,4,5],[6,7,8,9,10]).pvalue == 0.007936507936507936
        let p = crate::stats::ecdf_pass(&[1., 2., 3., 4., 5.], &[6., 7., 8., 9., 10.]);
        let (d, pv) = ks_2samp(5, 5, &p.ks());
        assert_eq!(d, 1.0);
        assert!((pv - 0.007936507936507936).abs() < 1e-15);
        // ks_2samp([1,2,3],[1.5,2.5,3.5,4.5]) -> D=0.5, p=0.6571428571428571
        let p = crate::stats::ecdf_pass(&[1., 2., 3.], &[1.5, 2.5, 3.5, 4.5]);
        let (d, pv) = ks_2samp(3, 4, &p.ks());
        assert_eq!(d, 0.5);
        assert!((pv - 0.6571428571428571).abs() < 1e-12, "{pv}");
    }

    #[test]
    fn kstwo_sf_regions_are_probabilities() {
        for &(n, x) in &[
            (5u64, 0.3),
            (100, 0.1),
            (1000, 0.03),
            (200_000, 0.003),
            (50, 0.6),
        ] {
            let p = kstwo_sf(n, x);
            assert!((0.0..=1.0).contains(&p), "{n} {x} {p}");
        }
        // scipy 1.17.1 kstwo.sf(x, n)
        for &(n, x, want) in &[
            (1000u64, 0.05, 0.013012074781090332),
            (200_000, 0.003, 0.0545369786611305),
            (5, 0.3, 0.664),
            (100, 0.1, 0.2526927570063874),
            (20_000, 0.02, 2.2181270070049744e-07),
        ] {
            let got = kstwo_sf(n, x);
            assert!(
                (got - want).abs() <= 1e-6 * want,
                "kstwo.sf({x}, {n}) = {got}, scipy {want}"
            );
        }
    }
}
