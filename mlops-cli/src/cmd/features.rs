//! `mlops features ...`.

use crate::exit::{CliError, CliResult, Exit};
use mlops_features::{
    FeatureRef, HistoricalOptions, HistoricalView, SourceLocation, get_historical_features,
    read_parquet, write_parquet_file,
};
use std::path::PathBuf;
use std::time::Duration;

/// `mlops features` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum FeaturesCmd {
    /// Build a point-in-time correct training set from Parquet files.
    ///
    /// Example: `mlops features historical --entity-df e.parquet --view
    /// driver=stats.parquet,ttl=21600 --features driver:conv_rate --full-feature-names
    /// --out train.parquet`
    Historical(HistoricalArgs),
    /// Definitions and online serving: apply, plan, materialize, online.
    #[command(flatten)]
    Admin(crate::cmd::features_admin::AdminCmd),
}

/// Arguments of `mlops features historical`.
#[derive(Debug, clap::Args)]
pub(crate) struct HistoricalArgs {
    /// Entity rows: join keys and an event timestamp per row (Parquet).
    #[arg(long)]
    entity_df: PathBuf,
    /// A feature view: `NAME=PATH[,ttl=SECONDS][,join_keys=K1+K2][,timestamp=COL][,created=COL]`.
    /// PATH is a Parquet file, a directory of them, or an object store URL.
    #[arg(long = "view", required = true)]
    views: Vec<String>,
    /// Features to fetch, `VIEW:FEATURE`, comma-separated or repeated.
    #[arg(long, value_delimiter = ',', required = true)]
    features: Vec<String>,
    /// Name output columns `<view>__<feature>`.
    #[arg(long)]
    full_feature_names: bool,
    /// The entity timestamp column (default `event_timestamp`).
    #[arg(long)]
    entity_timestamp: Option<String>,
    /// Memory budget for the join in bytes (suffixes K, M, G); a source of at least 4× the
    /// budget is spilled to temporary files by key hash and joined one partition at a time.
    #[arg(long)]
    memory_budget: Option<String>,
    /// Directory for spill files under --memory-budget (default: the system temp dir).
    #[arg(long)]
    spill_dir: Option<PathBuf>,
    /// Output Parquet file.
    #[arg(long)]
    out: PathBuf,
}

fn location(path: &str) -> Result<SourceLocation, CliError> {
    let loc = if path.contains("://") {
        SourceLocation::from_url(path)
    } else {
        SourceLocation::from_path(std::path::Path::new(path))
    };
    loc.map_err(|e| CliError::input(format!("bad path {path:?}: {e}")))
}

/// Parses `NAME=PATH[,key=value]...`.
fn parse_view(spec: &str) -> Result<HistoricalView, CliError> {
    let mut parts = spec.split(',');
    let head = parts.next().unwrap_or_default();
    let Some((name, path)) = head.split_once('=') else {
        return Err(CliError::input(format!(
            "bad --view {spec:?}: expected NAME=PATH[,ttl=SECONDS][,join_keys=K1+K2][,timestamp=COL][,created=COL]"
        )));
    };
    if name.is_empty() || path.is_empty() {
        return Err(CliError::input(format!(
            "bad --view {spec:?}: empty name or path"
        )));
    }
    let mut view = HistoricalView::new(name, location(path)?);
    for opt in parts {
        let Some((k, v)) = opt.split_once('=') else {
            return Err(CliError::input(format!(
                "bad --view option {opt:?} in {spec:?}: expected key=value"
            )));
        };
        view = match k {
            "ttl" => {
                let secs: u64 = v.parse().map_err(|_| {
                    CliError::input(format!(
                        "bad ttl {v:?} in --view {spec:?}: expected whole seconds >= 0"
                    ))
                })?;
                view.with_ttl(Duration::from_secs(secs))
            }
            "join_keys" => {
                let keys: Vec<&str> = v.split('+').filter(|s| !s.is_empty()).collect();
                view.with_join_keys(keys)
            }
            "timestamp" if !v.is_empty() => view.with_timestamp_field(v),
            // `created=` (or None/null, as a manifest with no created column renders) disables
            // the tie-breaker.
            "created" => {
                let none = v.is_empty() || v.eq_ignore_ascii_case("none") || v == "null";
                view.with_created_field((!none).then(|| v.to_string()))
            }
            _ => {
                return Err(CliError::input(format!(
                    "bad --view option {k:?} in {spec:?}: expected ttl, join_keys, timestamp or created"
                )));
            }
        };
    }
    Ok(view)
}

fn parse_bytes(s: &str) -> Result<u64, CliError> {
    let t = s.trim();
    let (num, mult) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    num.parse::<u64>()
        .map(|n| n.saturating_mul(mult))
        .map_err(|_| {
            CliError::input(format!(
                "bad --memory-budget {s:?}: expected bytes, e.g. 512M"
            ))
        })
}

fn feature_error(e: mlops_features::Error) -> CliError {
    CliError::input(e.to_string())
}

/// Runs a `features` subcommand.
pub(crate) async fn run(cmd: FeaturesCmd, mode: crate::output::Mode) -> CliResult {
    match cmd {
        FeaturesCmd::Admin(c) => crate::cmd::features_admin::run(c, mode).await,
        FeaturesCmd::Historical(a) => {
            let views = a
                .views
                .iter()
                .map(|s| parse_view(s))
                .collect::<Result<Vec<_>, _>>()?;
            let refs = FeatureRef::parse_all(&a.features).map_err(feature_error)?;
            let mut opts =
                HistoricalOptions::default().with_full_feature_names(a.full_feature_names);
            if let Some(ts) = a.entity_timestamp {
                opts = opts.with_entity_timestamp(ts);
            }
            if let Some(b) = &a.memory_budget {
                opts = opts.with_memory_budget(parse_bytes(b)?);
            }
            if let Some(d) = a.spill_dir {
                opts = opts.with_spill_dir(d);
            }
            let entity_path = a.entity_df.display().to_string();
            // phases on a spinner (hidden when stdout/stderr are not terminals)
            let pb = crate::output::spinner(&format!("reading {entity_path}"));
            let entity = read_parquet(&location(&entity_path)?).await.map_err(|e| {
                CliError::input(format!("cannot read --entity-df {entity_path:?}: {e}"))
            })?;
            pb.set_message(format!(
                "joining {} entity rows with {} view(s)",
                entity.num_rows(),
                views.len()
            ));
            let out = get_historical_features(&[entity], &views, &refs, &opts)
                .await
                .map_err(feature_error)?;
            pb.set_message(format!("writing {}", a.out.display()));
            write_parquet_file(&a.out, std::slice::from_ref(&out)).map_err(feature_error)?;
            pb.finish_and_clear();
            eprintln!(
                "wrote {} rows x {} columns to {}",
                out.num_rows(),
                out.num_columns(),
                a.out.display()
            );
            Ok(Exit::Ok)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_specs_parse_and_reject() {
        let v =
            parse_view("fv0=/tmp/x.parquet,ttl=60,join_keys=a+b,timestamp=ts,created=c").unwrap();
        assert_eq!(v.name(), "fv0");
        assert_eq!(v.ttl(), Duration::from_secs(60));
        assert_eq!(v.timestamp_field(), "ts");
        for bad in ["fv0", "=x", "fv0=/x,ttl=-1", "fv0=/x,bogus=1", "fv0=/x,ttl"] {
            let e = parse_view(bad).unwrap_err();
            assert_eq!(e.exit(), Exit::Input, "{bad}");
        }
        assert_eq!(parse_bytes("2K").unwrap(), 2048);
        assert!(parse_bytes("x").is_err());
    }
}
