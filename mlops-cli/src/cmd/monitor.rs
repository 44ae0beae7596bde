//! `mlops monitor ...`.

use crate::exit::{CliError, CliResult, Exit};
use crate::output::{Mode, emit};
use mlops_monitor::{
    ColumnKind, ColumnOutcome, DatasetDrift, DatasetSpec, DriftOptions, Family, Method,
};
use serde_json::{Value, json};
use std::path::PathBuf;

/// `mlops monitor` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum MonitorCmd {
    /// Data drift between a reference and a current Parquet file (Evidently's rules).
    ///
    /// Column kinds come from Arrow types (numbers → numerical; strings, booleans and
    /// dictionaries → categorical), unlike Evidently's own inference, unless --numerical or
    /// --categorical names the column.
    ///
    /// `--format html` writes one self-contained HTML page (inline CSS and SVG, no
    /// script, nothing fetched): a summary table, then per column its method, score,
    /// threshold, decision and the reference vs current distribution.
    ///
    /// Example: `mlops monitor drift --reference ref.parquet --current cur.parquet --format json`
    #[command(
        after_help = "Examples:\n  mlops monitor drift --reference ref.parquet --current cur.parquet --format json\n  mlops monitor drift --reference ref.parquet --current cur.parquet --format html --out drift.html --fail-on-drift"
    )]
    Drift(DriftArgs),
    /// Fairness, performance, validation gates and reference profiles.
    #[command(flatten)]
    More(crate::cmd::monitor_more::MoreCmd),
}

/// Output format.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Format {
    /// One JSON object.
    Json,
    /// A text table.
    Table,
    /// A self-contained HTML report with per-column distribution plots.
    Html,
}

/// Arguments of `monitor drift`.
#[derive(Debug, clap::Args)]
pub(crate) struct DriftArgs {
    /// Reference Parquet file.
    #[arg(long)]
    reference: PathBuf,
    /// Current Parquet file.
    #[arg(long)]
    current: PathBuf,
    /// Columns to test (default: every reference column, plus those named by --numerical/--categorical).
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// Columns tested as numerical.
    #[arg(long, value_delimiter = ',')]
    numerical: Vec<String>,
    /// Columns tested as categorical.
    #[arg(long, value_delimiter = ',')]
    categorical: Vec<String>,
    /// `auto` (Evidently's default rule) or a method id: psi, kl_div, jensenshannon,
    /// wasserstein, ks, chisquare, z, hellinger, anderson, cramer_von_mises, ed, fisher_exact.
    #[arg(long, default_value = "auto")]
    method: String,
    /// Threshold (default: the method's).
    #[arg(long)]
    threshold: Option<f64>,
    /// evidently | standard.
    #[arg(long, default_value = "evidently")]
    family: String,
    /// Share of drifted columns that means dataset drift.
    #[arg(long, default_value_t = mlops_monitor::drift::DEFAULT_DRIFT_SHARE)]
    drift_share: f64,
    /// json | table | html (default: json with the global --json, else table).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write the report to this file (default: stdout); stdout then gets a one-line
    /// summary (JSON with the global --json).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Exit 1 when the dataset drifts.
    #[arg(long)]
    fail_on_drift: bool,
}

/// Runs a `monitor` subcommand.
pub(crate) async fn run(cmd: MonitorCmd, mode: crate::output::Mode) -> CliResult {
    match cmd {
        MonitorCmd::Drift(a) => drift(a, mode),
        MonitorCmd::More(c) => crate::cmd::monitor_more::run(c, mode),
    }
}

fn input<E: std::fmt::Display>(e: E) -> CliError {
    CliError::input(e.to_string())
}

fn drift(a: DriftArgs, mode: Mode) -> CliResult {
    let pb = crate::output::spinner(&format!("reading {}", a.reference.display()));
    let reference = mlops_monitor::io::read_parquet_file(&a.reference).map_err(input)?;
    pb.set_message(format!("reading {}", a.current.display()));
    let current = mlops_monitor::io::read_parquet_file(&a.current).map_err(input)?;
    pb.set_message("testing columns");
    let mut spec = DatasetSpec {
        drift_share: a.drift_share,
        ..DatasetSpec::default()
    };
    spec.options = DriftOptions {
        method: match a.method.as_str() {
            "auto" => None,
            m => Some(Method::parse(m).map_err(input)?),
        },
        threshold: a.threshold,
        family: a.family.parse::<Family>().map_err(input)?,
    };
    for n in &a.numerical {
        spec.kinds.insert(n.clone(), ColumnKind::Numerical);
    }
    for n in &a.categorical {
        if spec
            .kinds
            .insert(n.clone(), ColumnKind::Categorical)
            .is_some()
        {
            return Err(CliError::input(format!(
                "column {n:?} is named by both --numerical and --categorical"
            )));
        }
    }
    if !a.columns.is_empty() {
        spec.columns = Some(a.columns.clone());
    }
    for n in spec.kinds.keys() {
        if reference.column_by_name(n).is_none() {
            return Err(CliError::input(format!(
                "column {n:?} is not in {}",
                a.reference.display()
            )));
        }
    }
    let report = mlops_monitor::dataset_drift(&reference, &current, &spec).map_err(input)?;
    pb.finish_and_clear();
    tracing::info!(
        drifted = report.drifted,
        total = report.total,
        drift = report.drift,
        "drift computed"
    );
    let format = a.format.unwrap_or(if mode == Mode::Json {
        Format::Json
    } else {
        Format::Table
    });
    let doc = match format {
        Format::Json => format!("{}\n", to_json(&report)),
        Format::Table => to_table(&report),
        Format::Html => crate::cmd::drift_html::render(
            &report,
            &reference,
            &current,
            &a.reference.display().to_string(),
            &a.current.display().to_string(),
        ),
    };
    match &a.out {
        None => print!("{doc}"),
        Some(path) => {
            crate::output::write_file(path, doc.as_bytes())?;
            let v = json!({
                "path": path.display().to_string(),
                "drifted": report.drifted,
                "total": report.total,
                "drift": report.drift,
            });
            emit(mode, &v, || {
                format!(
                    "wrote {}: {}/{} columns drifted -> {}\n",
                    path.display(),
                    report.drifted,
                    report.total,
                    if report.drift { "DRIFT" } else { "no drift" }
                )
            });
        }
    }
    Ok(if a.fail_on_drift && report.drift {
        Exit::CheckFailed
    } else {
        Exit::Ok
    })
}

fn float(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v == f64::INFINITY {
        json!("Infinity")
    } else if v == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(v)
    }
}

fn to_json(r: &DatasetDrift) -> Value {
    let columns: Vec<Value> = r
        .columns
        .iter()
        .map(|c| match c {
            ColumnOutcome::Tested(d) => json!({
                "column": d.column,
                "kind": d.kind.as_str(),
                "method": d.method.id(),
                "score": float(d.score),
                "threshold": float(d.threshold),
                "operator": d.operator.as_str(),
                "drift": d.drift,
                "family": d.family.as_str(),
                "binning": d.binning.label(),
                "n_reference": d.n_reference,
                "n_current": d.n_current,
            }),
            ColumnOutcome::Failed { column, error } => json!({
                "column": column,
                "error": error,
            }),
        })
        .collect();
    json!({
        "columns": columns,
        "dataset": {
            "drifted": r.drifted,
            "total": r.total,
            "share": float(r.share),
            "drift_share": float(r.drift_share),
            "drift": r.drift,
        }
    })
}

fn to_table(r: &DatasetDrift) -> String {
    let mut out = format!(
        "{:<20} {:<12} {:<17} {:>14} {:>3} {:>9} {:<6} {}\n",
        "column", "kind", "method", "score", "op", "threshold", "drift", "binning"
    );
    for c in &r.columns {
        match c {
            ColumnOutcome::Tested(d) => out.push_str(&format!(
                "{:<20} {:<12} {:<17} {:>14.6e} {:>3} {:>9} {:<6} {}\n",
                d.column,
                d.kind.as_str(),
                d.method.id(),
                d.score,
                d.operator.as_str(),
                d.threshold,
                if d.drift { "yes" } else { "no" },
                d.binning.label()
            )),
            ColumnOutcome::Failed { column, error } => {
                out.push_str(&format!("{column:<20} error: {error}\n"))
            }
        }
    }
    out.push_str(&format!(
        "dataset: {}/{} columns drifted (share {:.4}, threshold {}) -> {}\n",
        r.drifted,
        r.total,
        r.share,
        r.drift_share,
        if r.drift { "DRIFT" } else { "no drift" }
    ));
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
    use std::sync::Arc;

    fn write(dir: &std::path::Path, name: &str, shift: f64) -> PathBuf {
        let x: ArrayRef = Arc::new(Float64Array::from(
            (0..300)
                .map(|i| f64::from(i % 50) + shift)
                .collect::<Vec<_>>(),
        ));
        let c: ArrayRef = Arc::new(StringArray::from(vec![Some("a"); 300]));
        let b = RecordBatch::try_from_iter([("x", x), ("c", c)]).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, mlops_monitor::io::write_parquet_bytes(&b).unwrap()).unwrap();
        p
    }

    fn args(r: PathBuf, c: PathBuf) -> DriftArgs {
        DriftArgs {
            reference: r,
            current: c,
            columns: vec![],
            numerical: vec![],
            categorical: vec![],
            method: "auto".into(),
            threshold: None,
            family: "evidently".into(),
            drift_share: 0.5,
            format: Some(Format::Json),
            out: None,
            fail_on_drift: true,
        }
    }

    fn drift_t(a: DriftArgs) -> CliResult {
        drift(a, Mode::Quiet)
    }

    #[test]
    fn exit_codes_and_json() {
        let dir = std::env::temp_dir().join(format!("mlops-cli-monitor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (r, c) = (
            write(&dir, "r.parquet", 0.0),
            write(&dir, "c.parquet", 20.0),
        );
        // x drifts, c (one value both sides) does not: share 0.5 -> dataset drift -> exit 1
        assert_eq!(
            drift_t(args(r.clone(), c.clone())).unwrap(),
            Exit::CheckFailed
        );
        assert_eq!(drift_t(args(r.clone(), r.clone())).unwrap(), Exit::Ok);
        let e = drift_t(args(dir.join("missing.parquet"), c.clone())).unwrap_err();
        assert_eq!(e.exit(), Exit::Input);
        let mut bad = args(r.clone(), c.clone());
        bad.method = "TVD".into();
        assert_eq!(drift_t(bad).unwrap_err().exit(), Exit::Input);
        let mut bad = args(r, c);
        bad.numerical = vec!["nope".into()];
        assert_eq!(drift_t(bad).unwrap_err().exit(), Exit::Input);
        std::fs::remove_dir_all(&dir).ok();

        assert_eq!(float(f64::NAN), json!("NaN"));
        assert_eq!(float(f64::INFINITY), json!("Infinity"));
        assert_eq!(float(f64::NEG_INFINITY), json!("-Infinity"));
        let report = mlops_monitor::drift::summarise(
            vec![ColumnOutcome::Failed {
                column: "v".into(),
                error: "boom".into(),
            }],
            0.5,
        );
        let v = to_json(&report);
        assert_eq!(v["columns"][0], json!({"column": "v", "error": "boom"}));
        assert_eq!(v["dataset"]["share"], json!("NaN"));
        assert_eq!(v["dataset"]["drift"], json!(false));
    }
}
