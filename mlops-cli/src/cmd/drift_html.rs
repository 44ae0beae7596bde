//! `monitor drift --format html`: one self-contained HTML document (inline CSS and
//! SVG; no script, no external resource) with a summary table and, per column, its
//! test (method, score, threshold, decision) and the reference vs current distribution.
//!
//! Every user string (column names, categories, file names, errors) goes through
//! [`esc`]; scores carry their exact value in `data-score` (Rust's round-trip
//! formatting, the same number the JSON output holds).

use arrow::array::RecordBatch;
use mlops_monitor::{ColumnDrift, ColumnKind, ColumnOutcome, DatasetDrift, Key, Sample};
use std::fmt::Write as _;

/// Bins of a numerical histogram (fewer when the column has fewer distinct values).
const NUM_BINS: usize = 20;
/// Categories drawn one by one; the rest are summed into one "other" bar.
const MAX_CATEGORIES: usize = 20;

const SVG_W: f64 = 680.0;
const SVG_H: f64 = 240.0;
const PAD_L: f64 = 48.0;
const PAD_R: f64 = 12.0;
const PAD_T: f64 = 28.0;
const PAD_B: f64 = 56.0;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#222;max-width:60rem}\
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}\
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.drift{color:#fff;background:#c0392b;padding:0 .4rem;border-radius:3px}\
.ok{color:#fff;background:#27ae60;padding:0 .4rem;border-radius:3px}\
.err{color:#c0392b}section{border-top:1px solid #ddd;margin-top:1.5rem}\
svg.hist{max-width:100%;height:auto}svg text{font-size:11px;fill:#444}.ref{fill:#4c78a8}.cur{fill:#f58518}.axis{stroke:#888}";

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One histogram: bar labels and the share of each side per bar.
#[derive(Debug, PartialEq)]
struct Histogram {
    labels: Vec<String>,
    reference: Vec<f64>,
    current: Vec<f64>,
    /// Axis ends for numerical columns (`None`: categorical, labels under each bar).
    range: Option<(f64, f64)>,
}

fn shares(counts: &[u64]) -> Vec<f64> {
    let n: u64 = counts.iter().sum();
    counts
        .iter()
        .map(|&c| if n == 0 { 0.0 } else { c as f64 / n as f64 })
        .collect()
}

/// Equal-width bins over the range of both sides.
fn numeric_histogram(reference: &[f64], current: &[f64]) -> Histogram {
    let (lo, hi) = reference
        .iter()
        .chain(current)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return Histogram {
            labels: vec![],
            reference: vec![],
            current: vec![],
            range: None,
        };
    }
    let bins = if hi > lo { NUM_BINS } else { 1 };
    let width = (hi - lo) / bins as f64;
    let count = |vals: &[f64]| {
        let mut c = vec![0u64; bins];
        for &v in vals {
            // The last bin is closed on the right; `as usize` saturates, `min` keeps it in range.
            let i = if width > 0.0 {
                (((v - lo) / width) as usize).min(bins - 1)
            } else {
                0
            };
            c[i] += 1;
        }
        c
    };
    let labels = (0..bins)
        .map(|i| {
            let a = lo + width * i as f64;
            format!("[{}, {}]", short(a), short(a + width))
        })
        .collect();
    Histogram {
        labels,
        reference: shares(&count(reference)),
        current: shares(&count(current)),
        range: Some((lo, hi)),
    }
}

/// Categories by total count (ties by value), the tail summed into "other".
fn categorical_histogram(
    reference: &mlops_monitor::Counts,
    current: &mlops_monitor::Counts,
) -> Histogram {
    let mut keys: Vec<(&Key, u64, u64)> = reference
        .counts
        .keys()
        .chain(current.counts.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|k| {
            (
                k,
                reference.counts.get(k).copied().unwrap_or(0),
                current.counts.get(k).copied().unwrap_or(0),
            )
        })
        .collect();
    keys.sort_by(|a, b| (b.1 + b.2).cmp(&(a.1 + a.2)).then(a.0.cmp(b.0)));
    let mut labels = vec![];
    let (mut r, mut c) = (vec![], vec![]);
    for (k, rc, cc) in keys.iter().take(MAX_CATEGORIES) {
        labels.push(k.to_string());
        r.push(*rc);
        c.push(*cc);
    }
    if keys.len() > MAX_CATEGORIES {
        let rest = &keys[MAX_CATEGORIES..];
        labels.push(format!("(other {})", rest.len()));
        r.push(rest.iter().map(|x| x.1).sum());
        c.push(rest.iter().map(|x| x.2).sum());
    }
    Histogram {
        labels,
        reference: shares(&r),
        current: shares(&c),
        range: None,
    }
}

/// A compact number for axis labels.
fn short(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{v:.3e}")
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" { "0".into() } else { s.into() }
    }
}

/// The histogram of one tested column, from the two input batches.
fn histogram(
    d: &ColumnDrift,
    reference: &RecordBatch,
    current: &RecordBatch,
) -> Result<Histogram, String> {
    let side = |b: &RecordBatch, which: &str| -> Result<Sample, String> {
        let a = b
            .column_by_name(&d.column)
            .ok_or_else(|| format!("column missing from the {which} data"))?;
        Sample::from_arrow(a.as_ref(), d.kind).map_err(|e| e.to_string())
    };
    Ok(
        match (side(reference, "reference")?, side(current, "current")?) {
            (Sample::Numerical(r), Sample::Numerical(c)) => numeric_histogram(&r.values, &c.values),
            (Sample::Categorical(r), Sample::Categorical(c)) => categorical_histogram(&r, &c),
            _ => return Err("the two sides were read as different kinds".into()),
        },
    )
}

/// The SVG of a histogram: reference and current bars side by side per bin,
/// heights as shares of each side (so samples of different sizes compare).
fn svg(h: &Histogram, column: &str) -> String {
    let n = h.labels.len().max(1);
    let plot_w = SVG_W - PAD_L - PAD_R;
    let plot_h = SVG_H - PAD_T - PAD_B;
    let max = h
        .reference
        .iter()
        .chain(&h.current)
        .fold(0.0f64, |m, &v| m.max(v));
    let top = if max > 0.0 { max } else { 1.0 };
    let slot = plot_w / n as f64;
    let bar = (slot * 0.4).max(0.5);
    let y0 = PAD_T + plot_h;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="hist" role="img" width="{SVG_W}" height="{SVG_H}" viewBox="0 0 {SVG_W} {SVG_H}"><title>{} reference vs current</title>"#,
        esc(column)
    );
    // legend
    let _ = write!(
        s,
        r#"<rect class="ref" x="{PAD_L}" y="8" width="10" height="10"/><text x="{}" y="17">reference</text><rect class="cur" x="{}" y="8" width="10" height="10"/><text x="{}" y="17">current</text>"#,
        PAD_L + 14.0,
        PAD_L + 90.0,
        PAD_L + 104.0
    );
    // axes and the top share
    let _ = write!(
        s,
        r#"<line class="axis" x1="{PAD_L}" y1="{y0}" x2="{}" y2="{y0}"/><line class="axis" x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{y0}"/><text x="{}" y="{}" text-anchor="end">{:.0}%</text><text x="{}" y="{y0}" text-anchor="end">0</text>"#,
        SVG_W - PAD_R,
        PAD_L - 4.0,
        PAD_T + 4.0,
        top * 100.0,
        PAD_L - 4.0
    );
    for (i, label) in h.labels.iter().enumerate() {
        let x = PAD_L + slot * i as f64 + slot * 0.1;
        for (j, (class, v)) in [("ref", h.reference[i]), ("cur", h.current[i])]
            .into_iter()
            .enumerate()
        {
            let bh = v / top * plot_h;
            let side = if j == 0 { "reference" } else { "current" };
            let _ = write!(
                s,
                r#"<rect class="{class}" x="{:.2}" y="{:.2}" width="{bar:.2}" height="{bh:.2}"><title>{}: {side} {:.2}%</title></rect>"#,
                x + bar * j as f64,
                y0 - bh,
                esc(label),
                v * 100.0
            );
        }
        if h.range.is_none() {
            let lx = x + bar;
            let mut text: String = label.chars().take(14).collect();
            if label.chars().count() > 14 {
                text.push('…');
            }
            let _ = write!(
                s,
                r#"<text x="{lx:.2}" y="{}" text-anchor="end" transform="rotate(-35 {lx:.2} {})">{}</text>"#,
                y0 + 14.0,
                y0 + 14.0,
                esc(&text)
            );
        }
    }
    if let Some((lo, hi)) = h.range {
        let _ = write!(
            s,
            r#"<text x="{PAD_L}" y="{}">{}</text><text x="{}" y="{}" text-anchor="end">{}</text>"#,
            y0 + 16.0,
            esc(&short(lo)),
            SVG_W - PAD_R,
            y0 + 16.0,
            esc(&short(hi))
        );
    }
    s.push_str("</svg>");
    s
}

fn decision(drift: bool) -> &'static str {
    if drift {
        r#"<span class="drift">drift</span>"#
    } else {
        r#"<span class="ok">no drift</span>"#
    }
}

/// The exact score (round-trip formatting) and a short form for reading.
fn score_cell(v: f64) -> String {
    format!(
        r#"<td class="num score" data-score="{v}" title="{v}">{}</td>"#,
        esc(&sig(v))
    )
}

/// Six significant digits.
fn sig(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e6).contains(&a) {
        format!("{v:.5e}")
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Renders the whole report.
pub(crate) fn render(
    report: &DatasetDrift,
    reference: &RecordBatch,
    current: &RecordBatch,
    reference_name: &str,
    current_name: &str,
) -> String {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>Data drift report</title><style>",
    );
    s.push_str(STYLE);
    s.push_str("</style></head><body>\n<h1>Data drift report</h1>\n");
    let _ = writeln!(
        s,
        "<p>reference: <code>{}</code> · current: <code>{}</code></p>",
        esc(reference_name),
        esc(current_name)
    );
    let _ = writeln!(
        s,
        r#"<p id="dataset" data-drifted="{}" data-total="{}" data-share="{}">{}/{} columns drifted (share {:.4}, threshold {}) → {}</p>"#,
        report.drifted,
        report.total,
        report.share,
        report.drifted,
        report.total,
        report.share,
        report.drift_share,
        decision(report.drift)
    );
    s.push_str(
        "<h2>Summary</h2>\n<table id=\"summary\"><thead><tr><th>column</th><th>kind</th><th>method</th>\
         <th>score</th><th>threshold</th><th>decision</th></tr></thead><tbody>\n",
    );
    for (i, c) in report.columns.iter().enumerate() {
        match c {
            ColumnOutcome::Tested(d) => {
                let _ = writeln!(
                    s,
                    r##"<tr><td><a href="#col-{i}">{}</a></td><td>{}</td><td>{}</td>{}<td class="num">{} {}</td><td>{}</td></tr>"##,
                    esc(&d.column),
                    d.kind.as_str(),
                    d.method.id(),
                    score_cell(d.score),
                    esc(d.operator.as_str()),
                    d.threshold,
                    decision(d.drift)
                );
            }
            ColumnOutcome::Failed { column, error } => {
                let _ = writeln!(
                    s,
                    r##"<tr><td><a href="#col-{i}">{}</a></td><td colspan="5" class="err">not tested: {}</td></tr>"##,
                    esc(column),
                    esc(error)
                );
            }
        }
    }
    s.push_str("</tbody></table>\n");
    for (i, c) in report.columns.iter().enumerate() {
        let _ = write!(s, r#"<section id="col-{i}" class="column">"#);
        match c {
            ColumnOutcome::Tested(d) => {
                let _ = write!(
                    s,
                    "<h2>{}</h2>\n<table><tr><th>kind</th><th>method</th><th>score</th><th>threshold</th>\
                     <th>decision</th><th>binning</th><th>n reference</th><th>n current</th></tr>\
                     <tr><td>{}</td><td>{} ({})</td>{}<td class=\"num\">{} {}</td><td>{}</td><td>{}</td>\
                     <td class=\"num\">{}</td><td class=\"num\">{}</td></tr></table>\n",
                    esc(&d.column),
                    d.kind.as_str(),
                    d.method.id(),
                    d.family.as_str(),
                    score_cell(d.score),
                    esc(d.operator.as_str()),
                    d.threshold,
                    decision(d.drift),
                    esc(&d.binning.label()),
                    d.n_reference,
                    d.n_current
                );
                match histogram(d, reference, current) {
                    Ok(h) if !h.labels.is_empty() => {
                        let what = match d.kind {
                            ColumnKind::Numerical => "share of values per equal-width bin",
                            ColumnKind::Categorical => "share of values per category",
                        };
                        let _ = writeln!(s, "<p>{what}</p>\n{}", svg(&h, &d.column));
                    }
                    Ok(_) => s.push_str("<p class=\"err\">no values to plot</p>\n"),
                    Err(e) => {
                        let _ = writeln!(s, "<p class=\"err\">cannot plot: {}</p>", esc(&e));
                    }
                }
            }
            ColumnOutcome::Failed { column, error } => {
                let _ = writeln!(
                    s,
                    "<h2>{}</h2>\n<p class=\"err\">not tested: {}</p>",
                    esc(column),
                    esc(error)
                );
            }
        }
        s.push_str("</section>\n");
    }
    s.push_str("</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn failed_columns_get_a_section_without_plot() {
        let report = mlops_monitor::drift::summarise(
            vec![ColumnOutcome::Failed {
                column: "<b>v</b>".into(),
                error: "all values are <null>".into(),
            }],
            0.5,
        );
        let empty = RecordBatch::new_empty(std::sync::Arc::new(arrow::datatypes::Schema::empty()));
        let html = render(&report, &empty, &empty, "r<1>.parquet", "c.parquet");
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
        assert_eq!(html.matches("<svg").count(), 0);
        assert_eq!(html.matches("<section id=\"col-0\"").count(), 1);
        assert!(html.contains("<h2>&lt;b&gt;v&lt;/b&gt;</h2>"));
        assert!(html.contains("not tested: all values are &lt;null&gt;"));
        assert!(html.contains("<code>r&lt;1&gt;.parquet</code>"));
        assert!(html.contains("0/0 columns drifted"));
        assert!(!html.contains("<b>") && !html.contains("<null>"));
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<script>alert("x'&")</script>"#),
            "&lt;script&gt;alert(&quot;x&#39;&amp;&quot;)&lt;/script&gt;"
        );
        assert_eq!(esc("plain_col"), "plain_col");
    }

    #[test]
    fn numeric_bins_cover_both_sides() {
        let r: Vec<f64> = (0..100).map(f64::from).collect();
        let c: Vec<f64> = (50..150).map(f64::from).collect();
        let h = numeric_histogram(&r, &c);
        assert_eq!(h.labels.len(), NUM_BINS);
        assert_eq!(h.range, Some((0.0, 149.0)));
        assert!((h.reference.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((h.current.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // reference lives in the lower part, current in the upper
        assert!(h.reference[0] > 0.0 && h.current[0] == 0.0);
        assert!(h.reference[NUM_BINS - 1] == 0.0 && h.current[NUM_BINS - 1] > 0.0);
        // a constant column is one bin
        let h = numeric_histogram(&[2.0, 2.0], &[2.0]);
        assert_eq!(
            (h.reference.clone(), h.current.clone()),
            (vec![1.0], vec![1.0])
        );
        assert!(numeric_histogram(&[], &[]).labels.is_empty());
    }

    #[test]
    fn categories_ranked_and_tail_summed() {
        let keys = |n: usize| (0..n).map(|i| Key::Str(format!("k{i:02}")));
        let r = mlops_monitor::Counts::from_keys(keys(30).chain(keys(1)));
        let c = mlops_monitor::Counts::from_keys(keys(2));
        let h = categorical_histogram(&r, &c);
        assert_eq!(h.labels.len(), MAX_CATEGORIES + 1);
        assert_eq!(h.labels[0], "k00"); // 2 + 2
        assert_eq!(h.labels[1], "k01"); // 1 + 1
        assert_eq!(h.labels[MAX_CATEGORIES], "(other 10)");
        assert!((h.reference[0] - 2.0 / 31.0).abs() < 1e-12);
        assert!((h.current[0] - 0.5).abs() < 1e-12);
        assert!((h.reference[MAX_CATEGORIES] - 10.0 / 31.0).abs() < 1e-12);
    }

    #[test]
    fn svg_bars_and_labels_escaped() {
        let h = Histogram {
            labels: vec!["<b>".into(), "y".into()],
            reference: vec![0.25, 0.75],
            current: vec![0.5, 0.5],
            range: None,
        };
        let s = svg(&h, "<script>");
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert_eq!(s.matches("<rect class=\"ref\"").count(), 3); // 2 bars + legend
        assert_eq!(s.matches("<rect class=\"cur\"").count(), 3);
        assert!(s.contains("&lt;b&gt;") && !s.contains("<b>"));
        assert!(s.contains("&lt;script&gt;") && !s.contains("<script>"));
        assert_eq!(sig(0.123456789), "0.123457");
        assert_eq!(sig(1.5e-9), "1.50000e-9");
        assert_eq!(sig(f64::NAN), "NaN");
        assert_eq!(short(-0.0), "0");
        assert_eq!(short(2.5), "2.5");
    }
}
