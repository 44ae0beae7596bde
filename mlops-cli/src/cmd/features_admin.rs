//! `mlops features apply|plan|materialize|online`.

use crate::exit::{CliError, CliResult, Exit};
use crate::output::{Mode, emit, table};
use arrow::array::{ArrayRef, RecordBatch, StringArray};
use mlops_features::{Definitions, EmbeddedOnlineStore, FeatureRef, FeatureStore, OnlineOptions};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// More `mlops features` subcommands (flattened into `FeaturesCmd`).
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AdminCmd {
    /// Validate YAML definitions and store them as the next version; prints the version and diff.
    #[command(
        after_help = "Example:\n  mlops features apply --repo features.yaml --store file:///srv/feature-store"
    )]
    Apply(RepoArgs),
    /// Show what `apply` would change, without applying.
    #[command(
        after_help = "Example:\n  mlops --json features plan --repo features.yaml --store file:///srv/feature-store"
    )]
    Plan(RepoArgs),
    /// Copy the latest row per entity key of views into the online store.
    #[command(
        after_help = "Example:\n  mlops features materialize --store file:///srv/feature-store --online online.redb --views driver_stats --end 2026-01-02T00:00:00Z"
    )]
    Materialize(MaterializeArgs),
    /// Read online features for one entity.
    #[command(
        after_help = "Example:\n  mlops --json features online --store file:///srv/feature-store --online online.redb --entity driver_id=1001 --features driver_stats:conv_rate"
    )]
    Online(OnlineArgs),
}

/// Arguments of `features apply` and `features plan`.
#[derive(Debug, clap::Args)]
pub(crate) struct RepoArgs {
    /// YAML definitions (`entities`, `feature_views`, `feature_services`).
    #[arg(long)]
    repo: PathBuf,
    /// Where definitions are stored: an object store URL (`file:///...`, `s3://...`, `memory://`).
    #[arg(long)]
    store: String,
}

/// Arguments of `features materialize`.
#[derive(Debug, clap::Args)]
pub(crate) struct MaterializeArgs {
    /// Where definitions are stored (URL).
    #[arg(long)]
    store: String,
    /// Embedded online store file (redb).
    #[arg(long)]
    online: PathBuf,
    /// Views, comma-separated or repeated.
    #[arg(long, value_delimiter = ',', required = true)]
    views: Vec<String>,
    /// End of the window (RFC 3339).
    #[arg(long)]
    end: String,
    /// Start of the window (RFC 3339; default: each view's watermark, incremental).
    #[arg(long)]
    start: Option<String>,
}

/// Arguments of `features online`.
#[derive(Debug, clap::Args)]
pub(crate) struct OnlineArgs {
    /// Where definitions are stored (URL).
    #[arg(long)]
    store: String,
    /// Embedded online store file (redb).
    #[arg(long)]
    online: PathBuf,
    /// Entity join key values, `KEY=VALUE`, repeated.
    #[arg(long = "entity", required = true)]
    entity: Vec<String>,
    /// Features, `VIEW:FEATURE`, comma-separated or repeated.
    #[arg(long, value_delimiter = ',', required = true)]
    features: Vec<String>,
}

/// Runs one of these subcommands.
pub(crate) async fn run(cmd: AdminCmd, mode: Mode) -> CliResult {
    match cmd {
        AdminCmd::Apply(a) => repo(a, mode, true).await,
        AdminCmd::Plan(a) => repo(a, mode, false).await,
        AdminCmd::Materialize(a) => materialize(a, mode).await,
        AdminCmd::Online(a) => online(a, mode).await,
    }
}

fn input<E: std::fmt::Display>(e: E) -> CliError {
    CliError::input(e.to_string())
}

fn store(url: &str) -> CliResult<FeatureStore> {
    let s = mlops_core::Storage::from_url(url).map_err(|e| {
        CliError::input(format!("bad --store {url:?}: {e}"))
            .hint("use an object store URL such as file:///abs/path or s3://bucket/prefix")
    })?;
    FeatureStore::new(s).map_err(input)
}

fn online_store(path: &Path) -> CliResult<EmbeddedOnlineStore> {
    EmbeddedOnlineStore::builder()
        .with_path(path)
        .build()
        .map_err(|e| CliError::input(format!("cannot open --online {}: {e}", path.display())))
}

fn time(s: &str, what: &str) -> CliResult<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| {
            CliError::input(format!("bad {what} {s:?}: {e}"))
                .hint("use RFC 3339, e.g. 2026-01-02T00:00:00Z")
        })
}

async fn repo(a: RepoArgs, mode: Mode, apply: bool) -> CliResult {
    let text = std::fs::read_to_string(&a.repo)
        .map_err(|e| CliError::input(format!("cannot read {}: {e}", a.repo.display())))?;
    let defs = Definitions::from_yaml(&text)
        .map_err(|e| CliError::input(format!("{}: {e}", a.repo.display())))?;
    let fs = store(&a.store)?;
    let previous = fs.version().await.map_err(input)?;
    let old = match previous {
        Some(v) => fs.definitions_at(v).await.map_err(input)?,
        None => Definitions::new(),
    };
    let diff = old.diff(&defs);
    let version = if apply {
        Some(fs.apply(&defs).await.map_err(input)?)
    } else {
        defs.check().map_err(input)?;
        defs.check_sources().await.map_err(input)?;
        None
    };
    let value = json!({
        "applied": apply,
        "previous_version": previous,
        "version": version,
        "diff": serde_json::to_value(&diff).map_err(input)?,
    });
    emit(mode, &value, || {
        let mut out = String::new();
        for (sign, items) in [
            ("+", &diff.added),
            ("-", &diff.removed),
            ("~", &diff.changed),
        ] {
            for i in items {
                out.push_str(&format!("{sign} {i}\n"));
            }
        }
        if diff.is_empty() {
            out.push_str("no changes\n");
        }
        match version {
            Some(v) => out.push_str(&format!("applied: version {v}\n")),
            None => out.push_str("plan only: nothing applied\n"),
        }
        out
    });
    Ok(Exit::Ok)
}

async fn materialize(a: MaterializeArgs, mode: Mode) -> CliResult {
    let end = time(&a.end, "--end")?;
    let start = a.start.as_deref().map(|s| time(s, "--start")).transpose()?;
    let fs = store(&a.store)?;
    let online = online_store(&a.online)?;
    let views: Vec<&str> = a.views.iter().map(String::as_str).collect();
    let pb = crate::output::spinner("materializing");
    let report = match start {
        Some(s) => fs.materialize(&online, &views, s, end).await,
        None => fs.materialize_incremental(&online, &views, end).await,
    }
    .map_err(input)?;
    pb.finish_and_clear();
    let rows: Vec<Vec<String>> = report
        .views
        .iter()
        .map(|(v, n, w)| vec![v.clone(), n.to_string(), w.to_rfc3339()])
        .collect();
    let value: Value = report
        .views
        .iter()
        .map(|(v, n, w)| json!({"view": v, "rows": n, "watermark": w.to_rfc3339()}))
        .collect();
    emit(mode, &value, || {
        table(&["view", "rows", "watermark"], &rows)
    });
    Ok(Exit::Ok)
}

async fn online(a: OnlineArgs, mode: Mode) -> CliResult {
    let refs: Vec<FeatureRef> = a
        .features
        .iter()
        .map(|f| {
            f.parse::<FeatureRef>().map_err(|e| {
                CliError::input(format!("bad --features {f:?}: {e}")).hint("use VIEW:FEATURE")
            })
        })
        .collect::<CliResult<_>>()?;
    let fs = store(&a.store)?;
    let defs = fs.definitions().await.map_err(input)?;
    let mut cols: Vec<(String, ArrayRef)> = Vec::new();
    for kv in &a.entity {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(CliError::input(format!(
                "bad --entity {kv:?}: expected KEY=VALUE"
            )));
        };
        let Some(key) = defs
            .entities
            .iter()
            .flat_map(|e| &e.join_keys)
            .find(|j| j.name == k)
        else {
            return Err(CliError::input(format!(
                "bad --entity {kv:?}: {k:?} is no entity's join key"
            )));
        };
        let s: ArrayRef = Arc::new(StringArray::from(vec![v]));
        let opts = arrow::compute::CastOptions {
            safe: false,
            ..Default::default()
        };
        let c = arrow::compute::cast_with_options(&s, &key.value_type.arrow_type(), &opts)
            .map_err(|e| CliError::input(format!("bad --entity {kv:?}: {e}")))?;
        cols.push((k.to_string(), c));
    }
    let entity = RecordBatch::try_from_iter(cols).map_err(input)?;
    let online = online_store(&a.online)?;
    let batch = fs
        .get_online_features(&online, &entity, &refs, &OnlineOptions::default())
        .await
        .map_err(input)?;
    let value = row_json(&batch)?;
    emit(mode, &value, || {
        let rows: Vec<Vec<String>> = value
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| vec![k.clone(), v.to_string()])
                    .collect()
            })
            .unwrap_or_default();
        table(&["name", "value"], &rows)
    });
    Ok(Exit::Ok)
}

/// The first row of `batch` as a JSON object.
fn row_json(batch: &RecordBatch) -> CliResult<Value> {
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::ArrayWriter::new(&mut buf);
        w.write(batch).map_err(input)?;
        w.finish().map_err(input)?;
    }
    let v: Value = serde_json::from_slice(&buf).map_err(input)?;
    Ok(v.get(0).cloned().unwrap_or_else(|| json!({})))
}
