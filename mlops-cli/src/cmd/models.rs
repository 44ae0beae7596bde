//! `mlops models ...`: the registry and the promotion workflow.

use crate::cmd::governance::record;
use crate::context::Ctx;
use crate::exit::{CliError, CliResult, Exit};
use crate::output::{Mode, emit, spinner, table};
use mlops_core::gate::Comparison;
use mlops_core::name::ModelName;
use mlops_core::path::ArtifactPath;
use mlops_core::{Action, GateReport, ResourceKind, ResourceRef};
use mlops_registry::manifest::{KServeOptions, ModelDeployments};
use mlops_registry::promotion::{LedgerEvent, PromotionRequest, Promotions};
use mlops_registry::{NewModelVersion, RegistryExt};
use serde_json::{Value, json};
use std::path::PathBuf;

/// `mlops models` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ModelsCmd {
    /// List registered models.
    #[command(after_help = "Example:\n  mlops --json models list")]
    List,
    /// Show a model and its versions, or one version with its promotion history.
    #[command(
        after_help = "Examples:\n  mlops models show fraud\n  mlops --json models show fraud --version 3"
    )]
    Show {
        /// The model.
        model: String,
        /// One version.
        #[arg(long)]
        version: Option<u64>,
    },
    /// Register a new version (creates the model on first use).
    #[command(
        after_help = "Example:\n  mlops --as service:ci models register fraud --artifact out/model.pkl --metric auc=0.91 --tag git_sha=abc123"
    )]
    Register(RegisterArgs),
    /// Request promotion of a version to an environment.
    #[command(
        after_help = "Example:\n  mlops --as service:ci models request fraud --version 3 --env staging --reason \"nightly\""
    )]
    Request {
        /// The model.
        model: String,
        /// The version.
        #[arg(long)]
        version: u64,
        /// Target environment.
        #[arg(long)]
        env: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Check a version's metrics against thresholds and attach the result to a request.
    ///
    /// Exits 1 when a threshold is not met (the failing report is attached too).
    #[command(
        after_help = "Example:\n  mlops models gate fraud --version 3 --request 1 --check quality --metric 'auc>=0.85' --metric 'loss<0.3'"
    )]
    Gate {
        /// The model.
        model: String,
        /// The version.
        #[arg(long)]
        version: u64,
        /// The request id (printed by `models request`).
        #[arg(long)]
        request: u64,
        /// The gate's name (environments may require it by name).
        #[arg(long, default_value = "metrics")]
        check: String,
        /// `NAME<OP>VALUE` with OP one of >=, <=, >, <, ==; repeatable.
        #[arg(long = "metric", required = true)]
        metrics: Vec<String>,
    },
    /// Approve a promotion request.
    #[command(
        after_help = "Example:\n  mlops --as user:dana models approve fraud --version 3 --request 1 --comment lgtm"
    )]
    Approve {
        /// The model.
        model: String,
        /// The version.
        #[arg(long)]
        version: u64,
        /// The request id.
        #[arg(long)]
        request: u64,
        /// Comment.
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Reject a promotion request (closes it).
    #[command(
        after_help = "Example:\n  mlops --as user:dana models reject fraud --version 3 --request 1 --reason \"recall too low\""
    )]
    Reject {
        /// The model.
        model: String,
        /// The version.
        #[arg(long)]
        version: u64,
        /// The request id.
        #[arg(long)]
        request: u64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Deploy an approved request (exit 1 when approvals or gates are missing).
    #[command(
        after_help = "Example:\n  mlops --as service:deployer models promote fraud --version 3 --request 1"
    )]
    Promote {
        /// The model.
        model: String,
        /// The version.
        #[arg(long)]
        version: u64,
        /// The request id.
        #[arg(long)]
        request: u64,
    },
    /// Redeploy the version that was live in an environment before the current one.
    #[command(
        after_help = "Example:\n  mlops models rollback fraud --env production --reason \"latency regression\""
    )]
    Rollback {
        /// The model.
        model: String,
        /// The environment.
        #[arg(long)]
        env: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Write the GitOps manifest of what is deployed to an environment.
    #[command(
        after_help = "Example:\n  mlops models export-manifest --env production --format kserve --out deploy/production.yaml"
    )]
    ExportManifest {
        /// The environment.
        #[arg(long)]
        env: String,
        /// `deployments` (our ModelDeployments) or `kserve` (InferenceServices).
        #[arg(long, value_enum, default_value = "deployments")]
        format: ManifestFormat,
        /// Output file (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Manifest formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ManifestFormat {
    /// `kind: ModelDeployments`.
    Deployments,
    /// KServe `InferenceService`s.
    Kserve,
}

/// Arguments of `models register`.
#[derive(Debug, clap::Args)]
pub(crate) struct RegisterArgs {
    /// The model.
    model: String,
    /// A file to store: `PATH` (kept under its file name) or `PATH=NAME`; repeatable.
    #[arg(long = "artifact")]
    artifacts: Vec<String>,
    /// A metric `NAME=VALUE`; repeatable.
    #[arg(long = "metric")]
    metrics: Vec<String>,
    /// A tag `KEY=VALUE`; repeatable.
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// The serving format for KServe (sklearn, xgboost, onnx, ...).
    #[arg(long)]
    model_format: Option<String>,
    /// Description.
    #[arg(long)]
    description: Option<String>,
}

fn model_name(s: &str) -> CliResult<ModelName> {
    s.parse::<ModelName>().map_err(|e| {
        CliError::from(e).hint("model names are lowercase letters, digits, '-', '_' and '.'")
    })
}

fn key_value<'a>(flag: &str, s: &'a str) -> CliResult<(&'a str, &'a str)> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k, v)),
        _ => Err(CliError::input(format!(
            "bad {flag} {s:?}: expected NAME=VALUE"
        ))),
    }
}

/// Parses `NAME<OP>VALUE`.
pub(crate) fn parse_threshold(s: &str) -> CliResult<(String, Comparison, f64)> {
    let bad = || {
        CliError::input(format!("bad --metric {s:?}"))
            .hint("write NAME OP VALUE with OP one of >=, <=, >, <, ==, e.g. 'auc>=0.85'")
    };
    for (op, cmp) in [
        (">=", Comparison::Ge),
        ("<=", Comparison::Le),
        ("==", Comparison::Eq),
        (">", Comparison::Gt),
        ("<", Comparison::Lt),
    ] {
        if let Some((name, value)) = s.split_once(op) {
            let name = name.trim();
            let value: f64 = value.trim().parse().map_err(|_| bad())?;
            if name.is_empty() || name.contains(['=', '<', '>', '!']) {
                return Err(bad());
            }
            return Ok((name.to_string(), cmp, value));
        }
    }
    Err(bad())
}

/// Rebuilds a request handle from the version's ledger.
async fn find_request(
    promos: &Promotions,
    model: &ModelName,
    version: u64,
    id: u64,
) -> CliResult<PromotionRequest> {
    let v = promos.registry().get_version(model, version).await?;
    for rec in promos.history(model, version).await? {
        if rec.seq != id {
            continue;
        }
        if let LedgerEvent::Requested {
            environment,
            requester,
            ..
        } = rec.event
        {
            return Ok(PromotionRequest {
                model: model.clone(),
                version,
                manifest_digest: v.manifest_digest,
                environment,
                id,
                requester: requester.id,
            });
        }
    }
    Err(mlops_registry::Error::RequestNotFound {
        model: model.to_string(),
        version,
        request: id,
    }
    .into())
}

/// Runs a `models` subcommand.
pub(crate) async fn run(cmd: ModelsCmd, ctx: &Ctx) -> CliResult {
    let json = Mode::of(&ctx.global);
    match cmd {
        ModelsCmd::List => {
            let reg = ctx.registry()?;
            let models = reg.all_models().await?;
            let v = serde_json::to_value(&models).map_err(|e| CliError::input(e.to_string()))?;
            emit(json, &v, || {
                let rows: Vec<Vec<String>> = models
                    .iter()
                    .map(|m| {
                        vec![
                            m.name.to_string(),
                            m.latest_version
                                .map(|v| v.to_string())
                                .unwrap_or("-".into()),
                            m.aliases
                                .iter()
                                .map(|(a, v)| format!("{a}={v}"))
                                .collect::<Vec<_>>()
                                .join(","),
                        ]
                    })
                    .collect();
                table(&["model", "latest", "aliases"], &rows)
            });
        }
        ModelsCmd::Show { model, version } => {
            let m = model_name(&model)?;
            let promos = ctx.promotions()?;
            let reg = promos.registry();
            match version {
                None => {
                    let info = reg.get_model(&m).await?;
                    let versions = reg.all_versions(&m).await?;
                    let v = json!({ "model": info, "versions": versions });
                    emit(json, &v, || {
                        let rows: Vec<Vec<String>> = versions
                            .iter()
                            .map(|v| {
                                vec![
                                    v.version.to_string(),
                                    v.status.to_string(),
                                    v.aliases
                                        .iter()
                                        .map(|a| a.to_string())
                                        .collect::<Vec<_>>()
                                        .join(","),
                                    v.metrics
                                        .iter()
                                        .map(|(k, x)| format!("{k}={x}"))
                                        .collect::<Vec<_>>()
                                        .join(","),
                                    v.creator.clone(),
                                ]
                            })
                            .collect();
                        format!("model {}\n", info.name)
                            + &table(
                                &["version", "status", "aliases", "metrics", "creator"],
                                &rows,
                            )
                    });
                }
                Some(n) => {
                    let ver = reg.get_version(&m, n).await?;
                    let history = promos.history(&m, n).await?;
                    let v = json!({ "version": ver, "history": history });
                    emit(json, &v, || {
                        let mut s = format!(
                            "{} version {} ({})\ndigest {}\nuri {}\n",
                            ver.model,
                            ver.version,
                            ver.status,
                            ver.manifest_digest,
                            ver.artifact_uri
                        );
                        for (k, x) in &ver.metrics {
                            s.push_str(&format!("metric {k} = {x}\n"));
                        }
                        let rows: Vec<Vec<String>> = history
                            .iter()
                            .map(|r| {
                                let e = serde_json::to_value(&r.event).unwrap_or(Value::Null);
                                vec![
                                    r.seq.to_string(),
                                    e["event"].as_str().unwrap_or("?").to_string(),
                                    e.to_string(),
                                ]
                            })
                            .collect();
                        s + &table(&["seq", "event", "detail"], &rows)
                    });
                }
            }
        }
        ModelsCmd::Register(a) => {
            let m = model_name(&a.model)?;
            let by = ctx.principal()?;
            let mut new = NewModelVersion::new(&by);
            let specs: Vec<(PathBuf, String)> = a
                .artifacts
                .iter()
                .map(|spec| match spec.split_once('=') {
                    Some((p, n)) => (PathBuf::from(p), n.to_string()),
                    None => {
                        let p = PathBuf::from(spec);
                        let n = p
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        (p, n)
                    }
                })
                .collect();
            let total: u64 = specs
                .iter()
                .filter_map(|(p, _)| std::fs::metadata(p).ok())
                .map(|m| m.len())
                .sum();
            let pb = crate::output::bytes_progress(total, "reading artifacts");
            for (path, name) in specs {
                let bytes = std::fs::read(&path).map_err(|e| {
                    CliError::input(format!("cannot read --artifact {:?}: {e}", path.display()))
                        .hint("pass an existing file, optionally PATH=NAME to rename it")
                })?;
                let ap = ArtifactPath::new(&name).map_err(|e| {
                    CliError::from(e).hint("artifact names are relative paths without '..'")
                })?;
                pb.inc(bytes.len() as u64);
                new = new.with_artifact(ap, bytes);
            }
            pb.finish_and_clear();
            for s in &a.metrics {
                let (k, v) = key_value("--metric", s)?;
                let x: f64 = v.parse().map_err(|_| {
                    CliError::input(format!("bad --metric {s:?}: {v:?} is not a number"))
                })?;
                new = new.with_metric(k, x);
            }
            for s in &a.tags {
                let (k, v) = key_value("--tag", s)?;
                new = new.with_tag(k, v);
            }
            if let Some(f) = &a.model_format {
                new = new.with_tag(mlops_registry::manifest::MODEL_FORMAT_TAG, f.clone());
            }
            if let Some(d) = &a.description {
                new = new.with_description(d.clone());
            }
            let reg = ctx.registry()?;
            let pb = spinner(&format!(
                "uploading {total} bytes to {}",
                crate::context::redact_url(&reg.uri())
            ));
            reg.ensure_model(&m).await?;
            let v = reg.create_version(&m, new).await?;
            record(
                ctx,
                &by,
                Action::Write,
                resource(&m, None),
                ("register", v.version.to_string()),
            )
            .await?;
            pb.finish_and_clear();
            tracing::info!(model = %m, version = v.version, "registered");
            let out = json!({
                "model": m.as_str(),
                "version": v.version,
                "manifest_digest": v.manifest_digest.to_string(),
                "artifact_uri": v.artifact_uri,
            });
            if json == Mode::Quiet {
                println!("{}", v.version);
            }
            emit(json, &out, || {
                format!("registered {m} version {}\n", v.version)
            });
        }
        ModelsCmd::Request {
            model,
            version,
            env,
            reason,
        } => {
            let m = model_name(&model)?;
            let by = ctx.principal()?;
            let promos = ctx.promotions()?;
            let req = promos.request(&m, version, &env, &by, &reason).await?;
            record(
                ctx,
                &by,
                Action::Write,
                resource(&m, Some(&env)),
                ("request", format!("v{version} #{}", req.id)),
            )
            .await?;
            let out = json!({
                "model": m.as_str(), "version": version, "environment": env,
                "request": req.id, "requester": req.requester,
            });
            if json == Mode::Quiet {
                println!("{}", req.id);
            }
            emit(json, &out, || {
                format!(
                    "requested {m} version {version} -> {env}: request {}\n",
                    req.id
                )
            });
        }
        ModelsCmd::Gate {
            model,
            version,
            request,
            check,
            metrics,
        } => {
            let m = model_name(&model)?;
            let thresholds = metrics
                .iter()
                .map(|s| parse_threshold(s))
                .collect::<CliResult<Vec<_>>>()?;
            let promos = ctx.promotions()?;
            let req = find_request(&promos, &m, version, request).await?;
            let ver = promos.registry().get_version(&m, version).await?;
            let mut report = GateReport::new(&check, "mlops-cli", true);
            let mut failures = vec![];
            for (name, op, value) in &thresholds {
                let Some(&figure) = ver.metrics.get(name) else {
                    return Err(CliError::input(format!(
                        "model {m} version {version} has no metric {name:?}"
                    ))
                    .hint(format!(
                        "its metrics are: {}",
                        ver.metrics.keys().cloned().collect::<Vec<_>>().join(", ")
                    )));
                };
                report.figures.insert(name.clone(), figure);
                report.thresholds.insert(
                    name.clone(),
                    mlops_core::gate::Threshold {
                        op: *op,
                        value: *value,
                    },
                );
                if !op.holds(figure, *value) {
                    failures.push(format!("{name} = {figure} is not {op} {value}"));
                }
            }
            report.passed = failures.is_empty();
            if !failures.is_empty() {
                report = report.with_details(failures.join("; "));
            }
            promos.attach_report(&req, report.clone()).await?;
            let v = serde_json::to_value(&report).map_err(|e| CliError::input(e.to_string()))?;
            emit(json, &v, || {
                if report.passed {
                    format!("gate {check}: passed\n")
                } else {
                    format!("gate {check}: FAILED: {}\n", failures.join("; "))
                }
            });
            return Ok(if report.passed {
                Exit::Ok
            } else {
                Exit::CheckFailed
            });
        }
        ModelsCmd::Approve {
            model,
            version,
            request,
            comment,
        } => {
            let m = model_name(&model)?;
            let by = ctx.principal()?;
            let promos = ctx.promotions()?;
            let req = find_request(&promos, &m, version, request).await?;
            promos.approve(&req, &by, &comment).await?;
            record(
                ctx,
                &by,
                Action::Approve,
                resource(&m, Some(&req.environment)),
                ("approve", format!("v{version} #{request}")),
            )
            .await?;
            let st = promos.status(&req).await?;
            let unmet: Vec<String> = st.unmet.iter().map(|u| u.to_string()).collect();
            let out = json!({
                "model": m.as_str(), "version": version, "request": request,
                "environment": req.environment, "approved_by": by.id,
                "approvals": st.approvals.len(), "unmet": unmet,
            });
            emit(json, &out, || {
                format!(
                    "approved request {request} ({} approval(s)); still needed: {}\n",
                    st.approvals.len(),
                    if unmet.is_empty() {
                        "nothing".into()
                    } else {
                        unmet.join("; ")
                    }
                )
            });
        }
        ModelsCmd::Reject {
            model,
            version,
            request,
            reason,
        } => {
            let m = model_name(&model)?;
            let by = ctx.principal()?;
            let promos = ctx.promotions()?;
            let req = find_request(&promos, &m, version, request).await?;
            promos.reject(&req, &by, &reason).await?;
            record(
                ctx,
                &by,
                Action::Approve,
                resource(&m, Some(&req.environment)),
                ("reject", format!("v{version} #{request}")),
            )
            .await?;
            let out = json!({"model": m.as_str(), "version": version, "request": request, "rejected_by": by.id});
            emit(json, &out, || format!("rejected request {request}\n"));
        }
        ModelsCmd::Promote {
            model,
            version,
            request,
        } => {
            let m = model_name(&model)?;
            let by = ctx.principal()?;
            let promos = ctx.promotions()?;
            let req = find_request(&promos, &m, version, request).await?;
            let d = promos.promote(&req, &by).await?;
            record(
                ctx,
                &by,
                Action::Promote,
                resource(&m, Some(&d.environment)),
                ("promote", format!("v{}", d.version)),
            )
            .await?;
            let v = serde_json::to_value(&d).map_err(|e| CliError::input(e.to_string()))?;
            emit(json, &v, || {
                format!("promoted {m} version {} to {}\n", d.version, d.environment)
            });
        }
        ModelsCmd::Rollback { model, env, reason } => {
            let m = model_name(&model)?;
            let by = ctx.principal()?;
            let promos = ctx.promotions()?;
            let d = promos.rollback(&m, &env, &by, &reason).await?;
            record(
                ctx,
                &by,
                Action::Promote,
                resource(&m, Some(&env)),
                ("rollback", format!("v{}", d.version)),
            )
            .await?;
            let v = serde_json::to_value(&d).map_err(|e| CliError::input(e.to_string()))?;
            emit(json, &v, || {
                format!(
                    "rolled back {m} in {env} to version {} (from {})\n",
                    d.version,
                    d.rollback_from.map(|v| v.to_string()).unwrap_or("-".into())
                )
            });
        }
        ModelsCmd::ExportManifest { env, format, out } => {
            let promos = ctx.promotions()?;
            let deployments = ModelDeployments::collect(&promos, &env).await?;
            let yaml = match format {
                ManifestFormat::Deployments => deployments.to_yaml()?,
                ManifestFormat::Kserve => {
                    let envdef = promos.environments().get(&env)?;
                    deployments.to_kserve_yaml(envdef, &KServeOptions::default())?
                }
            };
            match &out {
                Some(path) => {
                    crate::output::write_file(path, yaml.as_bytes())?;
                    let v = json!({
                        "environment": env, "path": path.display().to_string(),
                        "models": deployments.spec.models.len(),
                    });
                    emit(json, &v, || {
                        format!(
                            "wrote {} ({} model(s) in {env})\n",
                            path.display(),
                            deployments.spec.models.len()
                        )
                    });
                }
                None if json == Mode::Quiet => {}
                None => print!("{yaml}"),
            }
        }
    }
    Ok(Exit::Ok)
}

fn resource(m: &ModelName, env: Option<&str>) -> ResourceRef {
    let r = ResourceRef::new(ResourceKind::Model, m.as_str());
    match env {
        Some(e) => r.in_env(e),
        None => r,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(
            parse_threshold("auc>=0.85").unwrap(),
            ("auc".into(), Comparison::Ge, 0.85)
        );
        assert_eq!(
            parse_threshold(" loss < 0.3").unwrap(),
            ("loss".into(), Comparison::Lt, 0.3)
        );
        assert_eq!(parse_threshold("n==3").unwrap().1, Comparison::Eq);
        for bad in ["auc", "auc>=x", ">=1", "", "auc=>1", "auc=0.5"] {
            let e = parse_threshold(bad).unwrap_err();
            assert!(e.to_string().contains("hint:"), "{e}");
        }
    }
}
