//! Fisher's exact test on a 2×2 table, two-sided: scipy `fisher_exact` (`_stats_py.py`), which
//! sums the hypergeometric probabilities not above the observed one (relative slack 1e-14).

use super::ln_gamma;

/// Two-sided p-value of `[[a, b], [c, d]]`.
pub(crate) fn fisher_exact(table: [[u64; 2]; 2]) -> f64 {
    let [[a, b], [c, d]] = table;
    if a + b == 0 || c + d == 0 || a + c == 0 || b + d == 0 {
        return 1.0;
    }
    let n1 = a + b;
    let n2 = c + d;
    let n = a + c;
    let total = n1 + n2;
    let ln_choose = |nn: u64, k: u64| {
        ln_gamma(nn as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((nn - k) as f64 + 1.0)
    };
    let ln_denom = ln_choose(total, n);
    let pmf = |x: u64| -> f64 {
        if x > n1 || x > n || n - x > n2 {
            return 0.0;
        }
        (ln_choose(n1, x) + ln_choose(n2, n - x) - ln_denom).exp()
    };
    let mode = ((n + 1) as f64 * (n1 + 1) as f64 / (total + 2) as f64) as u64;
    let pexact = pmf(a);
    let pmode = pmf(mode);
    let epsilon = 1e-14;
    if (pexact - pmode).abs() / pexact.max(pmode) <= epsilon {
        return 1.0;
    }
    let lo = n.saturating_sub(n2);
    let hi = n1.min(n);
    let cut = pexact * (1.0 + epsilon);
    let p: f64 = (lo..=hi).map(pmf).filter(|&p| p <= cut).sum();
    p.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scipy() {
        // scipy 1.17.1: fisher_exact([[3,7],[8,2]]).pvalue
        let p = fisher_exact([[3, 7], [8, 2]]);
        assert!((p - 0.06977851869492736).abs() < 1e-12, "{p}");
        assert_eq!(fisher_exact([[0, 1], [1, 0]]), 1.0);
        assert_eq!(fisher_exact([[0, 0], [1, 3]]), 1.0);
    }
}
