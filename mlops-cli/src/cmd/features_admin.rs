//! `mlops features apply|plan|materialize|online`.

use crate::context::{Ctx, GlobalArgs, open_online_store};
use crate::exit::{CliError, CliResult, Exit};
use crate::output::{Mode, emit, table};
use arrow::array::{ArrayRef, RecordBatch, StringArray};
use mlops_features::{Definitions, FeatureRef, FeatureStore, OnlineOptions, OnlineStore};
use serde_json::{Value, json};
use std::path::PathBuf;
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
    ///
    /// The online store is a local redb file or a Redis server (`redis://`); without
    /// --online it is the profile's `feature_online`.
    #[command(
        after_help = "Examples:\n  mlops features materialize --store file:///srv/feature-store --online online.redb --views driver_stats --end 2026-01-02T00:00:00Z\n  mlops features materialize --store s3://acme/features --online redis://redis:6379/0 --views driver_stats --end 2026-01-02T00:00:00Z"
    )]
    Materialize(MaterializeArgs),
    /// Read online features for one entity.
    #[command(
        after_help = "Examples:\n  mlops --json features online --store file:///srv/feature-store --online online.redb --entity driver_id=1001 --features driver_stats:conv_rate\n  mlops --profile production features online --entity driver_id=1001 --features driver_stats:conv_rate"
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
    /// Where definitions are stored (URL; default: the profile's `feature_offline`).
    #[arg(long)]
    store: Option<String>,
    /// Online store: a redb file (path or file://) or redis://HOST:PORT[/DB]
    /// (default: the profile's `feature_online`).
    #[arg(long, value_name = "PATH|URL")]
    online: Option<String>,
    /// Key prefix in Redis, so several stores share one database (Redis only).
    #[arg(long, value_name = "PREFIX")]
    online_prefix: Option<String>,
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
    /// Where definitions are stored (URL; default: the profile's `feature_offline`).
    #[arg(long)]
    store: Option<String>,
    /// Online store: a redb file (path or file://) or redis://HOST:PORT[/DB]
    /// (default: the profile's `feature_online`).
    #[arg(long, value_name = "PATH|URL")]
    online: Option<String>,
    /// Key prefix in Redis, so several stores share one database (Redis only).
    #[arg(long, value_name = "PREFIX")]
    online_prefix: Option<String>,
    /// Entity join key values, `KEY=VALUE`, repeated.
    #[arg(long = "entity", required = true)]
    entity: Vec<String>,
    /// Features, `VIEW:FEATURE`, comma-separated or repeated.
    #[arg(long, value_delimiter = ',', required = true)]
    features: Vec<String>,
}

/// Runs one of these subcommands without a profile (`--store`/`--online` needed).
pub(crate) async fn run(cmd: AdminCmd, mode: Mode) -> CliResult {
    run_in(cmd, mode, None).await
}

/// Runs one of these subcommands; unset `--store`/`--online` come from the profile
/// the global options select.
pub(crate) async fn run_in(cmd: AdminCmd, mode: Mode, ctx: Option<&GlobalArgs>) -> CliResult {
    match cmd {
        AdminCmd::Apply(a) => repo(a, mode, true).await,
        AdminCmd::Plan(a) => repo(a, mode, false).await,
        AdminCmd::Materialize(a) => materialize(a, mode, ctx).await,
        AdminCmd::Online(a) => online(a, mode, ctx).await,
    }
}

/// The definitions store and the online store of a command.
fn stores(
    store_flag: Option<&str>,
    online_flag: Option<&str>,
    prefix: Option<&str>,
    global: Option<&GlobalArgs>,
) -> CliResult<(FeatureStore, Arc<dyn OnlineStore>)> {
    // The profile is read only when a flag is missing.
    let profile = || match global {
        Some(g) => Ctx::load(g),
        None => Err(CliError::input("--store and --online are required here")),
    };
    let url = match store_flag {
        Some(u) => u.to_string(),
        None => profile()?.feature_store_url()?,
    };
    let online_url = match online_flag {
        Some(u) => u.to_string(),
        None => profile()?.online_url()?,
    };
    let online = open_online_store(&online_url, prefix)?;
    Ok((store(&url)?, online))
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

async fn materialize(a: MaterializeArgs, mode: Mode, ctx: Option<&GlobalArgs>) -> CliResult {
    let end = time(&a.end, "--end")?;
    let start = a.start.as_deref().map(|s| time(s, "--start")).transpose()?;
    let (fs, online) = stores(
        a.store.as_deref(),
        a.online.as_deref(),
        a.online_prefix.as_deref(),
        ctx,
    )?;
    // One view at a time, so the bar moves per view (views are independent).
    let pb = crate::output::progress(a.views.len() as u64, "materializing");
    let mut views = Vec::new();
    for view in &a.views {
        pb.set_message(format!("materializing {view}"));
        let v = [view.as_str()];
        let report = match start {
            Some(s) => fs.materialize(online.as_ref(), &v, s, end).await,
            None => fs.materialize_incremental(online.as_ref(), &v, end).await,
        }
        .map_err(|e| online_error(e, online.as_ref()))?;
        tracing::info!(view = %view, online = %online, "materialized");
        views.extend(report.views);
        pb.inc(1);
    }
    pb.finish_and_clear();
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|(v, n, w)| vec![v.clone(), n.to_string(), w.to_rfc3339()])
        .collect();
    let value: Value = views
        .iter()
        .map(|(v, n, w)| json!({"view": v, "rows": n, "watermark": w.to_rfc3339()}))
        .collect();
    emit(mode, &value, || {
        table(&["view", "rows", "watermark"], &rows)
    });
    Ok(Exit::Ok)
}

/// A feature-store error; a failing online backend gets a hint naming it.
fn online_error(e: mlops_features::Error, online: &dyn OnlineStore) -> CliError {
    use mlops_core::ErrorKind as K;
    match e.kind() {
        K::Unavailable | K::Timeout => CliError::input(e.to_string()).hint(format!(
            "the online store {online} did not answer: check --online / the profile's `feature_online` and that the server is up"
        )),
        _ => input(e),
    }
}

async fn online(a: OnlineArgs, mode: Mode, ctx: Option<&GlobalArgs>) -> CliResult {
    let refs: Vec<FeatureRef> = a
        .features
        .iter()
        .map(|f| {
            f.parse::<FeatureRef>().map_err(|e| {
                CliError::input(format!("bad --features {f:?}: {e}")).hint("use VIEW:FEATURE")
            })
        })
        .collect::<CliResult<_>>()?;
    let (fs, online) = stores(
        a.store.as_deref(),
        a.online.as_deref(),
        a.online_prefix.as_deref(),
        ctx,
    )?;
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
    let batch = fs
        .get_online_features(online.as_ref(), &entity, &refs, &OnlineOptions::default())
        .await
        .map_err(|e| online_error(e, online.as_ref()))?;
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
