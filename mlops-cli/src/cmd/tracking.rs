//! `mlops experiments ...` and `mlops runs ...`: experiment tracking.

use crate::context::Ctx;
use crate::exit::{CliError, CliResult, Exit};
use crate::output::{Mode, emit, table};
use mlops_tracking::{Run, SearchExperiments, SearchRuns, Tracker};
use serde_json::json;
use std::collections::BTreeSet;

/// `mlops experiments` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ExperimentsCmd {
    /// List experiments.
    #[command(
        after_help = "Example:\n  mlops --json experiments list --filter \"name LIKE 'fraud%'\""
    )]
    List {
        /// MLflow filter, e.g. `name LIKE 'team-%'`.
        #[arg(long, default_value = "")]
        filter: String,
    },
}

/// `mlops runs` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum RunsCmd {
    /// List an experiment's runs.
    #[command(
        after_help = "Example:\n  mlops runs list --experiment fraud --filter 'metrics.auc > 0.8' --order-by 'metrics.auc DESC'"
    )]
    List {
        /// Experiment name.
        #[arg(long)]
        experiment: String,
        /// MLflow filter, e.g. `metrics.loss < 0.5 and params.lr = '0.01'`.
        #[arg(long, default_value = "")]
        filter: String,
        /// Order, e.g. `metrics.loss ASC`.
        #[arg(long)]
        order_by: Option<String>,
        /// At most this many runs.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Show one run: params, latest metrics, tags.
    #[command(after_help = "Example:\n  mlops runs show 0f3c9a7e5b2d4c1f8e6a9b0c1d2e3f40")]
    Show {
        /// The run id.
        run_id: String,
    },
    /// Compare runs side by side (params and latest metrics).
    #[command(after_help = "Example:\n  mlops runs compare RUN_A RUN_B")]
    Compare {
        /// Two or more run ids.
        #[arg(required = true, num_args = 2..)]
        run_ids: Vec<String>,
    },
}

/// A tracking error with a hint: about the server or credentials when the backend
/// failed, else `hint` (about the user's input).
fn err(e: mlops_tracking::Error, t: &dyn Tracker, hint: &str) -> CliError {
    use mlops_core::ErrorKind as K;
    let kind = e.kind();
    let c = CliError::input(e.to_string());
    match kind {
        K::Unavailable | K::Timeout | K::RateLimited | K::Backend => c.hint(format!(
            "the tracking backend {} failed: check --tracking-uri / MLFLOW_TRACKING_URI and that the server is up",
            crate::context::redact_url(&t.uri())
        )),
        K::Unauthenticated | K::PermissionDenied => c.hint(
            "check MLFLOW_TRACKING_TOKEN (or _USERNAME/_PASSWORD) or the profile's `credentials`",
        ),
        _ => c.hint(hint),
    }
}

/// Runs an `experiments` subcommand.
pub(crate) async fn experiments(cmd: ExperimentsCmd, ctx: &Ctx) -> CliResult {
    let t = ctx.tracker().await?;
    let ExperimentsCmd::List { filter } = cmd;
    let q = SearchExperiments::default().with_filter(filter.clone());
    let page = t.search_experiments(&q).await.map_err(|e| {
        err(
            e,
            t.as_ref(),
            &format!("check the filter {filter:?} (MLflow syntax, e.g. name LIKE 'a%')"),
        )
    })?;
    let v = serde_json::to_value(&page.items).map_err(|e| CliError::input(e.to_string()))?;
    emit(Mode::of(&ctx.global), &v, || {
        let rows: Vec<Vec<String>> = page
            .items
            .iter()
            .map(|e| vec![e.id.clone(), e.name.clone(), e.artifact_location.clone()])
            .collect();
        table(&["id", "name", "artifacts"], &rows)
    });
    Ok(Exit::Ok)
}

fn run_row(r: &Run) -> Vec<String> {
    vec![
        r.info.run_id.clone(),
        r.info.run_name.clone(),
        format!("{:?}", r.info.status).to_lowercase(),
        r.data
            .metrics
            .iter()
            .map(|(k, m)| format!("{k}={}", m.value))
            .collect::<Vec<_>>()
            .join(","),
    ]
}

/// Runs a `runs` subcommand.
pub(crate) async fn runs(cmd: RunsCmd, ctx: &Ctx) -> CliResult {
    let t = ctx.tracker().await?;
    let mode = Mode::of(&ctx.global);
    match cmd {
        RunsCmd::List {
            experiment,
            filter,
            order_by,
            limit,
        } => {
            let exp = t.get_experiment_by_name(&experiment).await.map_err(|e| {
                err(
                    e,
                    t.as_ref(),
                    "`mlops experiments list` shows the experiments",
                )
            })?;
            let mut q = SearchRuns::new([exp.id.as_str()])
                .with_filter(filter.clone())
                .with_max_results(limit.clamp(1, 1000));
            if let Some(o) = order_by {
                q = q.with_order_by(o);
            }
            let page = t.search_runs(&q).await.map_err(|e| {
                err(
                    e,
                    t.as_ref(),
                    &format!("check the filter {filter:?} (MLflow syntax, e.g. metrics.auc > 0.8)"),
                )
            })?;
            let v =
                serde_json::to_value(&page.items).map_err(|e| CliError::input(e.to_string()))?;
            emit(mode, &v, || {
                let rows: Vec<Vec<String>> = page.items.iter().map(run_row).collect();
                table(&["run_id", "name", "status", "metrics"], &rows)
            });
        }
        RunsCmd::Show { run_id } => {
            let r = t.get_run(&run_id).await.map_err(|e| {
                err(
                    e,
                    t.as_ref(),
                    "`mlops runs list --experiment NAME` shows run ids",
                )
            })?;
            let v = serde_json::to_value(&r).map_err(|e| CliError::input(e.to_string()))?;
            emit(mode, &v, || {
                let mut rows = vec![];
                for (k, p) in &r.data.params {
                    rows.push(vec!["param".into(), k.clone(), p.clone()]);
                }
                for (k, m) in &r.data.metrics {
                    rows.push(vec!["metric".into(), k.clone(), m.value.to_string()]);
                }
                for (k, x) in &r.data.tags {
                    rows.push(vec!["tag".into(), k.clone(), x.clone()]);
                }
                format!(
                    "run {} ({}) in experiment {}\n",
                    r.info.run_id, r.info.run_name, r.info.experiment_id
                ) + &table(&["kind", "key", "value"], &rows)
            });
        }
        RunsCmd::Compare { run_ids } => {
            let mut runs = vec![];
            for id in &run_ids {
                runs.push(t.get_run(id).await.map_err(|e| {
                    err(
                        e,
                        t.as_ref(),
                        "`mlops runs list --experiment NAME` shows run ids",
                    )
                })?);
            }
            let params: BTreeSet<&String> =
                runs.iter().flat_map(|r| r.data.params.keys()).collect();
            let metrics: BTreeSet<&String> =
                runs.iter().flat_map(|r| r.data.metrics.keys()).collect();
            let mut rows = vec![];
            let mut out = serde_json::Map::new();
            for k in &params {
                let vals: Vec<Option<&String>> =
                    runs.iter().map(|r| r.data.params.get(*k)).collect();
                out.insert(format!("params.{k}"), json!(vals));
                let mut row = vec![format!("params.{k}")];
                row.extend(vals.iter().map(|v| v.cloned().unwrap_or("-".into())));
                rows.push(row);
            }
            for k in &metrics {
                let vals: Vec<Option<f64>> = runs
                    .iter()
                    .map(|r| r.data.metrics.get(*k).map(|m| m.value))
                    .collect();
                out.insert(format!("metrics.{k}"), json!(vals));
                let mut row = vec![format!("metrics.{k}")];
                row.extend(
                    vals.iter()
                        .map(|v| v.map(|x| x.to_string()).unwrap_or("-".into())),
                );
                rows.push(row);
            }
            let v = json!({ "runs": run_ids, "values": out });
            emit(mode, &v, || {
                let mut header = vec!["key"];
                header.extend(run_ids.iter().map(String::as_str));
                table(&header, &rows)
            });
        }
    }
    Ok(Exit::Ok)
}
