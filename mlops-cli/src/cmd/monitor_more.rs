//! `mlops monitor fairness|performance|validate|profile`.

use crate::exit::{CliError, CliResult, Exit};
use crate::output::{Mode, emit, table};
use arrow::array::{Array, RecordBatch};
use mlops_monitor::suite::{Evidence, MetricThreshold, NoFeatureDrift, ValidationSuite};
use mlops_monitor::{DatasetSpec, Profile, profile::ProfileOptions};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// More `mlops monitor` subcommands (flattened into `MonitorCmd`).
#[derive(Debug, clap::Subcommand)]
pub(crate) enum MoreCmd {
    /// Group fairness of binary predictions (fairlearn's metrics) from a Parquet file.
    #[command(
        after_help = "Example:\n  mlops --json monitor fairness --data scored.parquet --y-true label --y-pred pred --sensitive gender"
    )]
    Fairness(FairnessArgs),
    /// Model performance (scikit-learn's metrics) from a Parquet file.
    #[command(
        after_help = "Examples:\n  mlops --json monitor performance --data scored.parquet --y-true label --y-pred pred --scores proba\n  mlops monitor performance --data preds.parquet --y-true price --y-pred predicted --task regression"
    )]
    Performance(PerformanceArgs),
    /// Promotion gates (drift, AUC, disparate impact) as GateReports (JSON); exit 1 when one fails.
    #[command(
        after_help = "Example:\n  mlops monitor validate --reference train.parquet --current scored.parquet --y-true label --y-pred pred --scores proba --min-auc 0.8"
    )]
    Validate(ValidateArgs),
    /// Profile a reference Parquet file into JSON, for drift checks without the raw data.
    #[command(
        after_help = "Example:\n  mlops monitor profile --reference train.parquet --out profile.json"
    )]
    Profile(ProfileArgs),
}

/// Arguments of `monitor fairness`.
#[derive(Debug, clap::Args)]
pub(crate) struct FairnessArgs {
    /// Parquet file with labels, predictions and the sensitive feature.
    #[arg(long)]
    data: PathBuf,
    /// True label column (1 positive).
    #[arg(long)]
    y_true: String,
    /// Predicted label column (1 positive).
    #[arg(long)]
    y_pred: String,
    /// Sensitive feature column (the groups).
    #[arg(long)]
    sensitive: String,
}

/// Task of `monitor performance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Task {
    /// Binary classification (label 1 positive).
    Classification,
    /// Regression.
    Regression,
}

/// Arguments of `monitor performance`.
#[derive(Debug, clap::Args)]
pub(crate) struct PerformanceArgs {
    /// Parquet file.
    #[arg(long)]
    data: PathBuf,
    /// True value column.
    #[arg(long)]
    y_true: String,
    /// Predicted label (classification) or value (regression) column.
    #[arg(long, required_unless_present = "scores")]
    y_pred: Option<String>,
    /// Score column P(y = 1) (classification); without --y-pred, labels are scores ≥ 0.5.
    #[arg(long)]
    scores: Option<String>,
    /// classification | regression.
    #[arg(long, value_enum, default_value = "classification")]
    task: Task,
}

/// Arguments of `monitor validate`.
#[derive(Debug, clap::Args)]
pub(crate) struct ValidateArgs {
    /// Reference Parquet file (training data).
    #[arg(long)]
    reference: PathBuf,
    /// Current Parquet file (features, and labels/predictions for the metric gates).
    #[arg(long)]
    current: PathBuf,
    /// True label column of the current file (needed by --min-auc and --min-disparate-impact).
    #[arg(long)]
    y_true: Option<String>,
    /// Predicted label column of the current file.
    #[arg(long)]
    y_pred: Option<String>,
    /// Score column of the current file (needed by --min-auc).
    #[arg(long)]
    scores: Option<String>,
    /// Sensitive feature column of the current file (needed by --min-disparate-impact).
    #[arg(long)]
    sensitive: Option<String>,
    /// Gate: at most this many drifted feature columns.
    #[arg(long, default_value_t = 0)]
    max_drifted: usize,
    /// Gate: ROC AUC ≥ this.
    #[arg(long)]
    min_auc: Option<f64>,
    /// Gate: demographic parity ratio ≥ this (0.8 is the four-fifths rule).
    #[arg(long)]
    min_disparate_impact: Option<f64>,
}

/// Arguments of `monitor profile`.
#[derive(Debug, clap::Args)]
pub(crate) struct ProfileArgs {
    /// Reference Parquet file.
    #[arg(long)]
    reference: PathBuf,
    /// Columns to profile (default: every column with a kind).
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// Output JSON file.
    #[arg(long)]
    out: PathBuf,
}

/// Runs one of these subcommands.
pub(crate) fn run(cmd: MoreCmd, mode: Mode) -> CliResult {
    match cmd {
        MoreCmd::Fairness(a) => fairness(a, mode),
        MoreCmd::Performance(a) => performance(a, mode),
        MoreCmd::Validate(a) => validate(a),
        MoreCmd::Profile(a) => profile(a, mode),
    }
}

fn input<E: std::fmt::Display>(e: E) -> CliError {
    CliError::input(e.to_string())
}

fn read(path: &Path) -> CliResult<RecordBatch> {
    mlops_monitor::io::read_parquet_file(path)
        .map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))
}

fn column<'a>(batch: &'a RecordBatch, name: &str, path: &Path) -> CliResult<&'a dyn Array> {
    batch
        .column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| {
            let names: Vec<&str> = batch
                .schema_ref()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            CliError::input(format!("column {name:?} is not in {}", path.display()))
                .hint(format!("its columns are: {}", names.join(", ")))
        })
}

/// Every value of a column as a finite number (no nulls).
fn floats(batch: &RecordBatch, name: &str, path: &Path) -> CliResult<Vec<f64>> {
    let a = column(batch, name, path)?;
    let bad = || {
        CliError::input(format!(
            "column {name:?} must hold finite numbers without nulls"
        ))
    };
    if a.null_count() > 0 {
        return Err(bad());
    }
    let n = mlops_monitor::column::numbers(a)
        .map_err(|e| CliError::input(format!("column {name:?}: {e}")))?;
    if n.values.len() != a.len() {
        return Err(bad());
    }
    Ok(n.values)
}

fn labels(batch: &RecordBatch, name: &str, path: &Path) -> CliResult<Vec<i64>> {
    Ok(floats(batch, name, path)?
        .into_iter()
        .map(|v| i64::from(v == 1.0))
        .collect())
}

fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v:.6}")
    }
}

fn fairness(a: FairnessArgs, mode: Mode) -> CliResult {
    let batch = read(&a.data)?;
    let r = mlops_monitor::fairness::fairness_arrow(
        column(&batch, &a.y_true, &a.data)?,
        column(&batch, &a.y_pred, &a.data)?,
        column(&batch, &a.sensitive, &a.data)?,
    )
    .map_err(input)?;
    let value = serde_json::to_value(&r).map_err(input)?;
    emit(mode, &value, || {
        let mut rows: Vec<Vec<String>> = r
            .by_group
            .iter()
            .map(|(g, x)| {
                vec![
                    g.clone(),
                    x.count.to_string(),
                    num(x.selection_rate),
                    num(x.tpr),
                    num(x.fpr),
                ]
            })
            .collect();
        let o = r.overall;
        rows.push(vec![
            "(overall)".into(),
            o.count.to_string(),
            num(o.selection_rate),
            num(o.tpr),
            num(o.fpr),
        ]);
        let mut out = table(&["group", "count", "selection_rate", "tpr", "fpr"], &rows);
        let d = |x: &mlops_monitor::fairness::Disparities| {
            vec![
                num(x.demographic_parity_difference),
                num(x.demographic_parity_ratio),
                num(x.equal_opportunity_difference),
                num(x.equalized_odds_difference_worst_case),
            ]
        };
        let mut b = vec!["between_groups".to_string()];
        b.extend(d(&r.between_groups));
        let mut t = vec!["to_overall".to_string()];
        t.extend(d(&r.to_overall));
        out.push('\n');
        out.push_str(&table(
            &[
                "method",
                "dp_difference",
                "dp_ratio",
                "eo_difference",
                "eodds_difference",
            ],
            &[b, t],
        ));
        for n in &r.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out
    });
    Ok(Exit::Ok)
}

fn performance(a: PerformanceArgs, mode: Mode) -> CliResult {
    let batch = read(&a.data)?;
    let value = match a.task {
        Task::Classification => {
            let y_true = labels(&batch, &a.y_true, &a.data)?;
            let scores = match &a.scores {
                Some(s) => Some(floats(&batch, s, &a.data)?),
                None => None,
            };
            let y_pred = match (&a.y_pred, &scores) {
                (Some(p), _) => labels(&batch, p, &a.data)?,
                (None, Some(s)) => s.iter().map(|v| i64::from(*v >= 0.5)).collect(),
                (None, None) => {
                    return Err(CliError::input("pass --y-pred or --scores"));
                }
            };
            let m = mlops_monitor::performance::classification(&y_true, &y_pred, scores.as_deref())
                .map_err(input)?;
            serde_json::to_value(m).map_err(input)?
        }
        Task::Regression => {
            let Some(p) = &a.y_pred else {
                return Err(CliError::input("--task regression needs --y-pred"));
            };
            let m = mlops_monitor::performance::regression(
                &floats(&batch, &a.y_true, &a.data)?,
                &floats(&batch, p, &a.data)?,
            )
            .map_err(input)?;
            serde_json::to_value(m).map_err(input)?
        }
    };
    emit(mode, &value, || {
        let rows: Vec<Vec<String>> = value
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| {
                        vec![
                            k.clone(),
                            match v.as_f64() {
                                Some(f) => num(f),
                                None => v.to_string(),
                            },
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        table(&["metric", "value"], &rows)
    });
    Ok(Exit::Ok)
}

fn validate(a: ValidateArgs) -> CliResult {
    let reference = read(&a.reference)?;
    let current = read(&a.current)?;
    let targets: Vec<&String> = [&a.y_true, &a.y_pred, &a.scores, &a.sensitive]
        .into_iter()
        .flatten()
        .collect();
    let features: Vec<String> = reference
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| !targets.contains(&n))
        .collect();
    let spec = DatasetSpec {
        columns: Some(features),
        ..DatasetSpec::default()
    };
    let mut evidence = Evidence {
        drift: Some(mlops_monitor::dataset_drift(&reference, &current, &spec).map_err(input)?),
        ..Evidence::default()
    };
    let mut suite = ValidationSuite::new().with(NoFeatureDrift {
        max_drifted: a.max_drifted,
    });
    if let Some(min) = a.min_auc {
        suite = suite.with(MetricThreshold::auc_at_least(min));
        let (Some(t), Some(s)) = (&a.y_true, &a.scores) else {
            return Err(CliError::input("--min-auc needs --y-true and --scores"));
        };
        let y_true = labels(&current, t, &a.current)?;
        let scores = floats(&current, s, &a.current)?;
        let y_pred = match &a.y_pred {
            Some(p) => labels(&current, p, &a.current)?,
            None => scores.iter().map(|v| i64::from(*v >= 0.5)).collect(),
        };
        evidence.classification = Some(
            mlops_monitor::performance::classification(&y_true, &y_pred, Some(&scores))
                .map_err(input)?,
        );
    }
    if let Some(min) = a.min_disparate_impact {
        suite = suite.with(MetricThreshold::disparate_impact_at_least(min));
        let (Some(t), Some(p), Some(g)) = (&a.y_true, &a.y_pred, &a.sensitive) else {
            return Err(CliError::input(
                "--min-disparate-impact needs --y-true, --y-pred and --sensitive",
            ));
        };
        evidence.fairness = Some(
            mlops_monitor::fairness::fairness_arrow(
                column(&current, t, &a.current)?,
                column(&current, p, &a.current)?,
                column(&current, g, &a.current)?,
            )
            .map_err(input)?,
        );
    }
    let reports = suite.run(&evidence);
    let passed = reports.iter().all(|r| r.passed);
    println!("{}", serde_json::to_value(&reports).map_err(input)?);
    for r in reports.iter().filter(|r| !r.passed) {
        eprintln!(
            "gate {:?} failed: {}",
            r.check,
            r.details.as_deref().unwrap_or("")
        );
    }
    Ok(if passed { Exit::Ok } else { Exit::CheckFailed })
}

fn profile(a: ProfileArgs, mode: Mode) -> CliResult {
    let batch = read(&a.reference)?;
    for c in &a.columns {
        column(&batch, c, &a.reference)?;
    }
    let options = ProfileOptions {
        columns: (!a.columns.is_empty()).then(|| a.columns.clone()),
        ..ProfileOptions::default()
    };
    let p = Profile::from_batch(&batch, &options).map_err(input)?;
    let text = p.to_json().map_err(input)?;
    std::fs::write(&a.out, &text)
        .map_err(|e| CliError::input(format!("cannot write {}: {e}", a.out.display())))?;
    let value: Value = json!({
        "out": a.out.display().to_string(),
        "columns": p.columns.keys().collect::<Vec<_>>(),
    });
    emit(mode, &value, || {
        format!(
            "profiled {} columns of {} into {}\n",
            p.columns.len(),
            a.reference.display(),
            a.out.display()
        )
    });
    Ok(Exit::Ok)
}
