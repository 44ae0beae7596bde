//! Two-sample Cramér-von Mises test: a port of scipy's `cramervonmises_2samp(method='auto')`
//! (`scipy/stats/_hypotests.py`: `_pval_cvm_2samp_exact`, `_pval_cvm_2samp_asymptotic`,
//! `_cdf_cvm_inf`), which Evidently vendors.

use super::ln_gamma;
use std::collections::BTreeMap;

/// p-value for two sorted samples; `None` when a side has fewer than 2 values (scipy raises).
pub(crate) fn cvm_2samp(x: &[f64], y: &[f64]) -> Option<f64> {
    let (nx, ny) = (x.len(), y.len());
    if nx <= 1 || ny <= 1 {
        return None;
    }
    let (rx, ry) = midranks(x, y);
    let u = nx as f64
        * super::sum(
            rx.iter()
                .enumerate()
                .map(|(i, r)| (r - (i + 1) as f64).powi(2)),
        )
        + ny as f64
            * super::sum(
                ry.iter()
                    .enumerate()
                    .map(|(i, r)| (r - (i + 1) as f64).powi(2)),
            );
    let (k, n) = ((nx * ny) as f64, (nx + ny) as f64);
    let t = u / (k * n) - (4.0 * k - 1.0) / (6.0 * n);
    if nx.max(ny) <= 20 {
        return Some(exact(u, nx as u64, ny as u64));
    }
    let et = (1.0 + 1.0 / n) / 6.0;
    let vt = (n + 1.0) * (4.0 * k * n - 3.0 * ((nx * nx + ny * ny) as f64) - 2.0 * k)
        / (45.0 * n * n * 4.0 * k);
    let tn = 1.0 / 6.0 + (t - et) / (45.0 * vt).sqrt();
    if tn < 0.003 {
        return Some(1.0);
    }
    Some((1.0 - cdf_cvm_inf(tn)).max(0.0))
}

/// Average ranks (scipy `rankdata(method='average')`) of sorted `x` and sorted `y` in the pool.
fn midranks(x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let rank_of = |v: f64| -> f64 {
        let less = x.partition_point(|&a| a < v) + y.partition_point(|&a| a < v);
        let le = x.partition_point(|&a| a <= v) + y.partition_point(|&a| a <= v);
        let eq = le - less;
        less as f64 + (eq as f64 + 1.0) / 2.0
    };
    (
        x.iter().map(|&v| rank_of(v)).collect(),
        y.iter().map(|&v| rank_of(v)).collect(),
    )
}

/// scipy `_pval_cvm_2samp_exact(s, m, n)` (Xiao, Gordon, Yakovlev 2006).
fn exact(s: f64, m: u64, n: u64) -> f64 {
    let lcm = m / super::gcd(m, n) * n;
    let a = lcm / m;
    let b = lcm / n;
    let mn = (m * n) as f64;
    // Python: lcm**2 * (m+n) * (6*s - mn*(4*mn-1)) // (6*mn**2) (float floor division)
    let zeta = ((lcm * lcm * (m + n)) as f64 * (6.0 * s - mn * (4.0 * mn - 1.0)) / (6.0 * mn * mn))
        .floor();
    let combinations: f64 = {
        let mut c = 1u128;
        for i in 0..m as u128 {
            c = c * (n as u128 + m as u128 - i) / (i + 1);
        }
        c as f64
    };
    let mut gs: Vec<BTreeMap<u64, u128>> = vec![BTreeMap::new(); m as usize + 1];
    gs[0].insert(0, 1);
    for u in 0..=n {
        let mut next: Vec<BTreeMap<u64, u128>> = Vec::with_capacity(gs.len());
        let mut tmp: BTreeMap<u64, u128> = BTreeMap::new();
        for (v, g) in gs.iter().enumerate() {
            for (&val, &f) in g {
                *tmp.entry(val).or_insert(0) += f;
            }
            let res = (a as i64 * v as i64 - b as i64 * u as i64).pow(2) as u64;
            tmp = tmp.into_iter().map(|(k, f)| (k + res, f)).collect();
            next.push(tmp.clone());
        }
        gs = next;
    }
    let total: u128 = gs[m as usize]
        .iter()
        .filter(|(v, _)| **v as f64 >= zeta)
        .map(|(_, f)| *f)
        .sum();
    total as f64 / combinations
}

/// scipy `_cdf_cvm_inf`: CDF of the limiting one-sample CvM distribution (series until a term
/// drops below 1e-7, as scipy).
fn cdf_cvm_inf(x: f64) -> f64 {
    let mut tot = 0.0;
    let mut k = 0u32;
    loop {
        let kf = k as f64;
        let u = (ln_gamma(kf + 0.5) - ln_gamma(kf + 1.0)).exp()
            / (std::f64::consts::PI.powf(1.5) * x.sqrt());
        let y = 4.0 * kf + 1.0;
        let q = y * y / (16.0 * x);
        let z = u * y.sqrt() * (-q).exp() * bessel_k(0.25, q);
        tot += z;
        if z.abs() < 1e-7 || k > 1000 {
            break;
        }
        k += 1;
    }
    tot
}

/// Modified Bessel function of the second kind K_ν(x), x > 0 (scipy `kv`), from
/// K_ν(x) = ∫₀^∞ exp(−x·cosh t)·cosh(νt) dt by the trapezoidal rule, which converges
/// geometrically for this entire, doubly-exponentially decaying integrand (step 0.05 leaves an
/// error far below 1e-16 relative).
fn bessel_k(nu: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return f64::INFINITY;
    }
    let h = 0.05;
    let f = |t: f64| (-x * (t.cosh() - 1.0)).exp() * (nu * t).cosh();
    let mut total = 0.5 * f(0.0);
    let mut i = 1u32;
    loop {
        let v = f(i as f64 * h);
        total += v;
        if v < total * 1e-18 || i > 100_000 {
            break;
        }
        i += 1;
    }
    // exp(−x) was factored out of the integrand for range; put it back.
    total * h * (-x).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scipy() {
        // scipy 1.17.1: cramervonmises_2samp([1,2,3,4.5,7],[2.5,6,8,9]).pvalue
        let p = cvm_2samp(&[1., 2., 3., 4.5, 7.], &[2.5, 6., 8., 9.]).unwrap_or(f64::NAN);
        assert!((p - 0.2222222222222222).abs() < 1e-12, "{p}");
        // cramervonmises_2samp(range(30), [1.3*x+2 for x in range(25)]).pvalue
        let x: Vec<f64> = (0..30).map(f64::from).collect();
        let y: Vec<f64> = (0..25).map(|v| f64::from(v) * 1.3 + 2.0).collect();
        let p = cvm_2samp(&x, &y).unwrap_or(f64::NAN);
        assert!((p - 0.4505203461180193).abs() < 1e-9 * 0.45, "{p}");
        assert!(cvm_2samp(&[1.0], &[1.0, 2.0]).is_none());
    }

    #[test]
    fn bessel_k_quarter() {
        // scipy.special.kv(0.25, 1.0) = 0.4307397...; kv(0.5, x) = sqrt(pi/(2x)) e^{-x}
        let want = (std::f64::consts::PI / 4.0).sqrt() * (-2.0f64).exp();
        assert!((bessel_k(0.5, 2.0) - want).abs() < 1e-15 * want.max(1.0) * 10.0);
    }
}
