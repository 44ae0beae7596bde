//! k-sample Anderson-Darling test for two samples: a port of scipy's
//! `anderson_ksamp(midrank=True)` (`scipy/stats/_morestats.py`: `anderson_ksamp`,
//! `_anderson_ksamp_midrank`), including its interpolated p-value clipped to [0.001, 0.25].

/// p-value for two sorted samples; `Err` with scipy's message where scipy raises.
pub(crate) fn anderson_2samp(a: &[f64], b: &[f64]) -> Result<f64, &'static str> {
    let samples = [a, b];
    let k = 2.0f64;
    let n_total = a.len() + b.len();
    if a.is_empty() || b.is_empty() {
        return Err("anderson_ksamp encountered sample without observations");
    }
    // pooled sorted sample Z and its distinct values Z*
    let mut z: Vec<f64> = Vec::with_capacity(n_total);
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if j >= b.len() || (i < a.len() && a[i] <= b[j]) {
            z.push(a[i]);
            i += 1;
        } else {
            z.push(b[j]);
            j += 1;
        }
    }
    let mut zstar: Vec<f64> = z.clone();
    zstar.dedup_by(|x, y| x == y);
    if zstar.len() < 2 {
        return Err("anderson_ksamp needs more than one distinct observation");
    }
    if n_total <= 2 {
        // scipy: `hs_cs[-1]` on an empty array
        return Err("index -1 is out of bounds for axis 0 with size 0");
    }
    let nf = n_total as f64;
    let all_distinct = n_total == zstar.len();
    let mut a2 = 0.0;
    for s in samples {
        let ni = s.len() as f64;
        let mut inner = Vec::with_capacity(zstar.len());
        for &v in &zstar {
            let left = z.partition_point(|&x| x < v) as f64;
            let lj = if all_distinct {
                1.0
            } else {
                z.partition_point(|&x| x <= v) as f64 - left
            };
            let bj = left + lj / 2.0;
            let right_s = s.partition_point(|&x| x <= v) as f64;
            let fij = right_s - s.partition_point(|&x| x < v) as f64;
            let mij = right_s - fij / 2.0;
            inner.push(lj / nf * (nf * mij - bj * ni).powi(2) / (bj * (nf - bj) - nf * lj / 4.0));
        }
        a2 += super::sum(inner) / ni;
    }
    a2 *= (nf - 1.0) / nf;

    let h_sum: f64 = samples.iter().map(|s| 1.0 / s.len() as f64).sum();
    // hs_cs = cumsum(1/arange(N-1, 1, -1)); h = hs_cs[-1] + 1; g = sum(hs_cs / arange(2, N))
    let mut hs_cs = Vec::with_capacity(n_total);
    let mut acc = 0.0;
    let mut d = n_total as i64 - 1;
    while d > 1 {
        acc += 1.0 / d as f64;
        hs_cs.push(acc);
        d -= 1;
    }
    let h = hs_cs.last().copied().unwrap_or(0.0) + 1.0;
    let g: f64 = hs_cs
        .iter()
        .enumerate()
        .map(|(idx, v)| v / (idx + 2) as f64)
        .sum();
    let aa = (4.0 * g - 6.0) * (k - 1.0) + (10.0 - 6.0 * g) * h_sum;
    let bb = (2.0 * g - 4.0) * k * k + 8.0 * h * k + (2.0 * g - 14.0 * h - 4.0) * h_sum - 8.0 * h
        + 4.0 * g
        - 6.0;
    let cc = (6.0 * h + 2.0 * g - 2.0) * k * k
        + (4.0 * h - 4.0 * g + 6.0) * k
        + (2.0 * h - 6.0) * h_sum
        + 4.0 * h;
    let dd = (2.0 * h + 6.0) * k * k - 4.0 * h * k;
    let sigmasq =
        (aa * nf.powi(3) + bb * nf * nf + cc * nf + dd) / ((nf - 1.0) * (nf - 2.0) * (nf - 3.0));
    let m = k - 1.0;
    let stat = (a2 - m) / sigmasq.sqrt();

    // Scholz & Stephens (1987) Table 2 interpolation coefficients, as in scipy.
    let b0 = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085];
    let b1 = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615];
    let b2 = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154];
    let sig = [0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001];
    let critical: Vec<f64> = (0..7)
        .map(|i| b0[i] + b1[i] / m.sqrt() + b2[i] / m)
        .collect();
    let cmin = critical.iter().copied().fold(f64::INFINITY, f64::min);
    let cmax = critical.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if stat < cmin {
        return Ok(0.25);
    }
    if stat > cmax {
        return Ok(0.001);
    }
    if stat.is_nan() {
        return Ok(f64::NAN);
    }
    let logsig: Vec<f64> = sig.iter().map(|s: &f64| s.ln()).collect();
    let coef = polyfit2(&critical, &logsig);
    Ok((coef[0] * stat * stat + coef[1] * stat + coef[2]).exp())
}

/// Least-squares quadratic fit (numpy `polyfit(x, y, 2)`): coefficients highest power first.
#[allow(clippy::needless_range_loop)] // a 3×4 Gauss-Jordan elimination reads better indexed
fn polyfit2(x: &[f64], y: &[f64]) -> [f64; 3] {
    // normal equations on centred x for conditioning
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let mut s = [0.0f64; 5];
    let mut t = [0.0f64; 3];
    for (&xi, &yi) in x.iter().zip(y) {
        let u = xi - mx;
        let mut p = 1.0;
        for sk in s.iter_mut() {
            *sk += p;
            p *= u;
        }
        t[0] += yi;
        t[1] += yi * u;
        t[2] += yi * u * u;
    }
    // solve [[s0,s1,s2],[s1,s2,s3],[s2,s3,s4]] · [c0,c1,c2] = t  (y ≈ c0 + c1 u + c2 u²)
    let mut m = [
        [s[0], s[1], s[2], t[0]],
        [s[1], s[2], s[3], t[1]],
        [s[2], s[3], s[4], t[2]],
    ];
    for col in 0..3 {
        let piv = (col..3)
            .max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))
            .unwrap_or(col);
        m.swap(col, piv);
        for r in 0..3 {
            if r != col && m[col][col] != 0.0 {
                let f = m[r][col] / m[col][col];
                for c in col..4 {
                    m[r][c] -= f * m[col][c];
                }
            }
        }
    }
    let c0 = m[0][3] / m[0][0];
    let c1 = m[1][3] / m[1][1];
    let c2 = m[2][3] / m[2][2];
    // expand c0 + c1 (x−mx) + c2 (x−mx)² into a x² + b x + c
    [c2, c1 - 2.0 * c2 * mx, c0 - c1 * mx + c2 * mx * mx]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scipy() {
        // scipy 1.17.1: anderson_ksamp([[1,2,3,4.5,7,8,1],[2.5,6,8,9,10,11]]).pvalue
        let mut a = vec![1., 2., 3., 4.5, 7., 8., 1.];
        a.sort_by(f64::total_cmp);
        let p = anderson_2samp(&a, &[2.5, 6., 8., 9., 10., 11.]).unwrap_or(f64::NAN);
        assert!((p - 0.029925339877785555).abs() < 1e-9, "{p}");
        assert!(anderson_2samp(&[1.0], &[1.0]).is_err());
        assert!(anderson_2samp(&[1.0], &[2.0]).is_err());
    }
}
