//! Two-sample Cramér-von Mises test: a port of scipy's `cramervonmises_2samp(method='auto')`
//! (`scipy/stats/_hypotests.py`: `_pval_cvm_2samp_exact`, `_pval_cvm_2samp_asymptotic`,
//! `_cdf_cvm_inf`), which Evidently vendors.

use super::ln_gamma;

/// p-value for two sorted samples; `None` when a side has fewer than 2 values (scipy raises).
pub(crate) fn cvm_2samp(x: &[f64], y: &[f64]) -> Result<f64, String> {
    let (nx, ny) = (x.len(), y.len());
    if nx <= 1 || ny <= 1 {
        return Err("x and y must contain at least two observations.".into());
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
        return exact(u, nx as u64, ny as u64);
    }
    let et = (1.0 + 1.0 / n) / 6.0;
    let vt = (n + 1.0) * (4.0 * k * n - 3.0 * ((nx * nx + ny * ny) as f64) - 2.0 * k)
        / (45.0 * n * n * 4.0 * k);
    let tn = 1.0 / 6.0 + (t - et) / (45.0 * vt).sqrt();
    if tn < 0.003 {
        return Ok(1.0);
    }
    Ok((1.0 - cdf_cvm_inf(tn)).max(0.0))
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

/// The array dtype Evidently's copy picks: `np.min_scalar_type(max(lcm²(m+n), C(m+n, m)))`
/// where the binomial is a Python float, so small tables run in float16 or float32.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Dtype {
    /// float16.
    F16,
    /// float32.
    F32,
    /// float64.
    F64,
}

impl Dtype {
    fn round(self, x: f64) -> f64 {
        match self {
            Dtype::F64 => x,
            Dtype::F32 => x as f32 as f64,
            Dtype::F16 => round_f16(x),
        }
    }
}

/// Rounds to the nearest IEEE binary16 value (ties to even), as numpy's float16 stores.
fn round_f16(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let a = x.abs();
    let mut e = a.log2().floor() as i32;
    while 2f64.powi(e) > a {
        e -= 1;
    }
    while 2f64.powi(e + 1) <= a {
        e += 1;
    }
    let ulp = 2f64.powi(e.max(-14) - 10);
    let r = (x / ulp).round_ties_even() * ulp;
    if r.abs() > 65504.0 {
        f64::INFINITY.copysign(x)
    } else {
        r
    }
}

/// numpy's pairwise summation (`@TYPE@_pairwise_sum`) with float32 accumulators (numpy sums
/// float16 and float32 arrays this way).
fn pairwise_f32(a: &[f32]) -> f32 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0f32;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f32; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for (j, rj) in r.iter_mut().enumerate() {
                *rj += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_f32(&a[..n2]) + pairwise_f32(&a[n2..])
    }
}

/// Evidently's copy of scipy's `_pval_cvm_2samp_exact(s, m, n)` (Xiao, Gordon, Yakovlev 2006),
/// including its dtype: the frequency table is held in the array type numpy picks, and
/// `np.intersect1d` merges only the first occurrence of equal values, so the float16/float32
/// roundings are reproduced step by step.
fn exact(s: f64, m: u64, n: u64) -> Result<f64, String> {
    let lcm = m / super::gcd(m, n) * n;
    let a = lcm / m;
    let b = lcm / n;
    let mn = (m * n) as f64;
    // Python: lcm**2 * (m+n) * (6*s - mn*(4*mn-1)) // (6*mn**2) (float floor division)
    let zeta = ((lcm * lcm * (m + n)) as f64 * (6.0 * s - mn * (4.0 * mn - 1.0)) / (6.0 * mn * mn))
        .floor();
    let zeta_bound = (lcm * lcm * (m + n)) as f64;
    let combinations: f64 = {
        let mut c = 1u128;
        for i in 0..m as u128 {
            c = c * (n as u128 + m as u128 - i) / (i + 1);
        }
        c as f64
    };
    let dtype = if zeta_bound >= combinations {
        // The table is an unsigned integer array and `tmp[0] += <int64>` fails numpy's
        // same_kind casting: Evidently raises for these sizes.
        let uint = match zeta_bound {
            b if b <= 255.0 => "uint8",
            b if b <= 65535.0 => "uint16",
            b if b <= 4294967295.0 => "uint32",
            _ => "uint64",
        };
        return Err(format!(
            "Cannot cast ufunc 'add' output from dtype('int64') to dtype('{uint}') with casting rule 'same_kind'"
        ));
    } else if combinations <= 65504.0 {
        Dtype::F16
    } else if combinations <= f32::MAX as f64 {
        Dtype::F32
    } else {
        Dtype::F64
    };
    // gs[v]: columns (value, frequency) in array order
    let mut scratch = Scratch::new(1024);
    let mut gs: Vec<Vec<(f64, f64)>> = vec![Vec::new(); m as usize + 1];
    gs[0].push((0.0, 1.0));
    for u in 0..=n {
        let mut next: Vec<Vec<(f64, f64)>> = Vec::with_capacity(gs.len());
        let mut tmp: Vec<(f64, f64)> = Vec::new();
        for (v, g) in gs.iter().enumerate() {
            tmp = intersect_merge(&tmp, g, dtype, &mut scratch);
            let res = (a as i64 * v as i64 - b as i64 * u as i64).pow(2) as f64;
            for col in tmp.iter_mut() {
                col.0 = dtype.round(col.0 + res);
            }
            next.push(tmp.clone());
        }
        gs = next;
    }
    let selected: Vec<f64> = gs[m as usize]
        .iter()
        .filter(|(v, _)| *v >= zeta)
        .map(|(_, f)| *f)
        .collect();
    Ok(match dtype {
        Dtype::F64 => selected.iter().sum::<f64>() / combinations,
        Dtype::F32 => {
            let s: Vec<f32> = selected.iter().map(|&f| f as f32).collect();
            (pairwise_f32(&s) / combinations as f32) as f64
        }
        Dtype::F16 => {
            let s: Vec<f32> = selected.iter().map(|&f| f as f32).collect();
            let total = round_f16(pairwise_f32(&s) as f64);
            round_f16((total as f32 / round_f16(combinations) as f32) as f64)
        }
    })
}

/// `np.intersect1d(tmp[0], g[0], return_indices=True)` then
/// `concatenate([stack([vi, tmp[1, i0] + g[1, i1]]), delete(tmp, i0, 1), delete(g, i1, 1)], 1)`.
fn intersect_merge(
    tmp: &[(f64, f64)],
    g: &[(f64, f64)],
    dtype: Dtype,
    scratch: &mut Scratch,
) -> Vec<(f64, f64)> {
    // values are non-negative integers (sums of squares, rounded to f16/f32 integers)
    scratch.generation += 2;
    let (gen_tmp, gen_g) = (scratch.generation, scratch.generation + 1);
    for (i, (v, _)) in tmp.iter().enumerate() {
        let k = scratch.slot(*v);
        if scratch.stamp[k] != gen_tmp {
            scratch.stamp[k] = gen_tmp;
            scratch.index[k] = i;
        }
    }
    let mut used0 = vec![false; tmp.len()];
    let mut used1 = vec![false; g.len()];
    let mut both: Vec<(f64, usize, usize)> = Vec::new();
    for (i1, (v, _)) in g.iter().enumerate() {
        let k = scratch.slot(*v);
        if scratch.seen[k] == gen_g {
            continue;
        }
        scratch.seen[k] = gen_g;
        if scratch.stamp[k] == gen_tmp {
            let i0 = scratch.index[k];
            both.push((*v, i0, i1));
            used0[i0] = true;
            used1[i1] = true;
        }
    }
    both.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(tmp.len() + g.len());
    out.extend(
        both.iter()
            .map(|&(v, i0, i1)| (v, dtype.round(tmp[i0].1 + g[i1].1))),
    );
    out.extend(
        tmp.iter()
            .zip(&used0)
            .filter(|(_, u)| !**u)
            .map(|(c, _)| *c),
    );
    out.extend(g.iter().zip(&used1).filter(|(_, u)| !**u).map(|(c, _)| *c));
    out
}

/// Reusable value-indexed tables for `intersect_merge` (values are small integers).
#[derive(Debug)]
struct Scratch {
    stamp: Vec<u64>,
    seen: Vec<u64>,
    index: Vec<usize>,
    generation: u64,
}

impl Scratch {
    fn new(bound: usize) -> Self {
        Self {
            stamp: vec![0; bound],
            seen: vec![0; bound],
            index: vec![0; bound],
            generation: 0,
        }
    }

    fn slot(&mut self, v: f64) -> usize {
        let k = v.max(0.0) as usize;
        if k >= self.stamp.len() {
            let n = k + 1;
            self.stamp.resize(n, 0);
            self.seen.resize(n, 0);
            self.index.resize(n, 0);
        }
        k
    }
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
    fn matches_evidently_vendored_exact_path() {
        let cases: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/oracle/evidently_cvm_exact.json"))
                .unwrap_or_default();
        let cases = cases.as_array().cloned().unwrap_or_default();
        assert_eq!(cases.len(), 39);
        for c in cases {
            let side = |k: &str| {
                let mut v: Vec<f64> = c[k]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_f64())
                    .collect();
                v.sort_by(f64::total_cmp);
                v
            };
            let got = cvm_2samp(&side("x"), &side("y"));
            match c["p"].as_f64() {
                None => assert!(got.is_err(), "{c}: {got:?}"),
                Some(want) => assert_eq!(got.ok(), Some(want), "{c}"),
            }
        }
    }

    #[test]
    fn matches_scipy() {
        // lcm²·(m+n) = 3600 ≥ C(9,4) = 126: Evidently's table is an unsigned integer array
        // and numpy refuses the int64 addition (scipy itself returns 0.2222222222222222).
        let e = cvm_2samp(&[1., 2., 3., 4.5, 7.], &[2.5, 6., 8., 9.]);
        assert!(e.is_err_and(|m| m.contains("uint16")));
        // m = n = 5: C(10,5) = 252 > 250 → float16: 66/252 is stored as 0.261962890625
        // (the num_tiny_n5 oracle case; scipy itself returns 0.2619047619047619)
        let mut x = vec![-0.54430246, 0.86580936, -0.94285152, 0.74714318, 0.44698772];
        let mut y = vec![1.09683538, 2.3093026, -0.49268722, 0.18212305, 1.24575393];
        x.sort_by(f64::total_cmp);
        y.sort_by(f64::total_cmp);
        let p = cvm_2samp(&x, &y).unwrap_or(f64::NAN);
        assert_eq!(p.to_bits(), 0.261962890625f64.to_bits(), "{p}");
        assert_eq!(round_f16(66.0 / 252.0), 0.261962890625);
        assert_eq!(round_f16(2049.0), 2048.0);
        // cramervonmises_2samp(range(30), [1.3*x+2 for x in range(25)]).pvalue
        let x: Vec<f64> = (0..30).map(f64::from).collect();
        let y: Vec<f64> = (0..25).map(|v| f64::from(v) * 1.3 + 2.0).collect();
        let p = cvm_2samp(&x, &y).unwrap_or(f64::NAN);
        assert!((p - 0.4505203461180193).abs() < 1e-9 * 0.45, "{p}");
        assert!(cvm_2samp(&[1.0], &[1.0, 2.0]).is_err());
    }

    #[test]
    fn bessel_k_quarter() {
        // scipy.special.kv(0.25, 1.0) = 0.4307397...; kv(0.5, x) = sqrt(pi/(2x)) e^{-x}
        let want = (std::f64::consts::PI / 4.0).sqrt() * (-2.0f64).exp();
        assert!((bessel_k(0.5, 2.0) - want).abs() < 1e-15 * want.max(1.0) * 10.0);
    }
}
