//! `mlops audit ...` and `mlops policy ...`: governance.

use crate::context::{Ctx, GlobalArgs, parse_principal};
use crate::exit::{CliError, CliResult, Exit};
use crate::output::{Mode, emit, table};
use mlops_core::audit::{AuditEvent, AuditLog, AuditQuery, Outcome};
use mlops_core::policy::{Policy, ResourcePattern};
use mlops_core::{Action, Principal, ResourceRef};
use serde_json::json;
use std::path::PathBuf;

/// `mlops audit` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AuditCmd {
    /// Check the audit log's hash chain and checkpoints (exit 1 when broken).
    #[command(after_help = "Example:\n  mlops --profile production audit verify")]
    Verify,
    /// List audit events matching filters.
    #[command(
        after_help = "Example:\n  mlops --json audit query --principal dana --action approve --resource 'model:fraud*'"
    )]
    Query(QueryArgs),
    /// Write matching audit records as JSON lines.
    #[command(after_help = "Example:\n  mlops audit export --out audit-2026-11.jsonl")]
    Export {
        /// Filters.
        #[command(flatten)]
        query: QueryArgs,
        /// Output file (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Audit filters.
#[derive(Debug, clap::Args)]
pub(crate) struct QueryArgs {
    /// Principal id.
    #[arg(long)]
    principal: Option<String>,
    /// Action: read, write, delete, approve, promote, materialize, admin.
    #[arg(long)]
    action: Option<String>,
    /// Resource pattern `kind:name-glob[@env-glob]`, e.g. `model:fraud*@production`.
    #[arg(long)]
    resource: Option<String>,
}

impl QueryArgs {
    fn query(&self) -> CliResult<AuditQuery> {
        let mut q = AuditQuery::new();
        if let Some(p) = &self.principal {
            q = q.with_principal(p.clone());
        }
        if let Some(a) = &self.action {
            q = q.with_action(action(a)?);
        }
        if let Some(r) = &self.resource {
            let pat: ResourcePattern = r.parse().map_err(|e: mlops_core::Error| {
                CliError::from(e)
                    .hint("write kind:name-glob[@env-glob], e.g. model:fraud*@production")
            })?;
            q = q.with_resource(pat);
        }
        Ok(q)
    }
}

fn action(s: &str) -> CliResult<Action> {
    s.parse::<Action>().map_err(|e| {
        CliError::from(e)
            .hint("actions are read, write, delete, approve, promote, materialize, admin")
    })
}

/// `mlops policy` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum PolicyCmd {
    /// Exit 0 when the principal (`--as`) may do ACTION on RESOURCE, 1 when denied.
    #[command(
        after_help = "Example:\n  mlops policy check --policy policy.toml --as user:dana promote model:fraud@production"
    )]
    Check(PolicyArgs),
    /// Print the rule that decides (always exit 0 for a valid question).
    #[command(
        after_help = "Example:\n  mlops policy explain --policy policy.toml --as user:alice delete model:fraud"
    )]
    Explain(PolicyArgs),
}

/// A policy question.
#[derive(Debug, clap::Args)]
pub(crate) struct PolicyArgs {
    /// The policy file (TOML or YAML).
    #[arg(long, env = "MLOPS_POLICY")]
    policy: PathBuf,
    /// The action.
    action: String,
    /// The resource, `kind:name[@env]`, e.g. `model:fraud@production`.
    resource: String,
}

/// Records one event in the audit log next to the promotion ledger.
pub(crate) async fn record(
    ctx: &Ctx,
    by: &Principal,
    action: Action,
    resource: ResourceRef,
    detail: (&str, String),
) -> CliResult<()> {
    let log = open_log(ctx).await?;
    log.record(
        AuditEvent::new(by, action, resource, Outcome::Allowed).with_detail(detail.0, detail.1),
    );
    log.close().await?;
    Ok(())
}

async fn open_log(ctx: &Ctx) -> CliResult<AuditLog> {
    let storage = ctx.audit_storage()?.child("log")?;
    Ok(AuditLog::open(&storage).await?)
}

/// Runs an `audit` subcommand.
pub(crate) async fn run_audit(cmd: AuditCmd, ctx: &Ctx) -> CliResult {
    let mode = Mode::of(&ctx.global);
    let log = open_log(ctx).await?;
    match cmd {
        AuditCmd::Verify => {
            let r = log.verify().await?;
            let broken = r.broken.as_ref().map(|b| b.to_string());
            let v = json!({
                "clean": r.is_clean(), "segments": r.segments, "records": r.records,
                "checkpoints": r.checkpoints, "head": r.head.as_ref().map(|(s, _)| s),
                "broken": broken,
            });
            emit(mode, &v, || match &broken {
                None => format!(
                    "audit log ok: {} record(s) in {} segment(s), {} checkpoint(s)\n",
                    r.records, r.segments, r.checkpoints
                ),
                Some(b) => format!(
                    "audit log BROKEN at {b} ({} good record(s) before)\n",
                    r.records
                ),
            });
            Ok(if r.is_clean() {
                Exit::Ok
            } else {
                Exit::CheckFailed
            })
        }
        AuditCmd::Query(q) => {
            let events = log.query(&q.query()?).await?;
            let v = serde_json::to_value(&events).map_err(|e| CliError::input(e.to_string()))?;
            emit(mode, &v, || {
                let rows: Vec<Vec<String>> = events
                    .iter()
                    .map(|e| {
                        vec![
                            e.seq.to_string(),
                            e.at.to_rfc3339(),
                            e.principal.clone(),
                            e.action.as_str().to_string(),
                            e.resource.to_string(),
                            e.outcome.to_string(),
                        ]
                    })
                    .collect();
                table(
                    &["seq", "at", "principal", "action", "resource", "outcome"],
                    &rows,
                )
            });
            Ok(Exit::Ok)
        }
        AuditCmd::Export { query, out } => {
            let q = query.query()?;
            let n = match &out {
                Some(p) => {
                    let mut f = std::fs::File::create(p).map_err(|e| {
                        CliError::input(format!("cannot write --out {}: {e}", p.display()))
                    })?;
                    log.export_jsonl(&q, &mut f).await?
                }
                None => {
                    let mut buf = Vec::new();
                    let n = log.export_jsonl(&q, &mut buf).await?;
                    print!("{}", String::from_utf8_lossy(&buf));
                    n
                }
            };
            if let Some(p) = &out {
                let v = json!({"path": p.display().to_string(), "records": n});
                emit(mode, &v, || {
                    format!("exported {n} record(s) to {}\n", p.display())
                });
            }
            Ok(Exit::Ok)
        }
    }
}

/// Runs a `policy` subcommand.
pub(crate) fn run_policy(cmd: PolicyCmd, g: &GlobalArgs) -> CliResult {
    let (check, a) = match cmd {
        PolicyCmd::Check(a) => (true, a),
        PolicyCmd::Explain(a) => (false, a),
    };
    let policy = Policy::load(&a.policy)
        .map_err(|e| CliError::from(e).hint("check --policy / MLOPS_POLICY"))?;
    let who = match &g.principal {
        Some(s) => parse_principal(s)?,
        None => {
            return Err(CliError::input("no principal to check")
                .hint("pass --as user:NAME or set MLOPS_PRINCIPAL"));
        }
    };
    let act = action(&a.action)?;
    let res: ResourceRef = a.resource.parse().map_err(|e: mlops_core::Error| {
        CliError::from(e).hint("write kind:name[@env], e.g. model:fraud@production")
    })?;
    let d = policy.explain(&who, act, &res);
    let v = json!({
        "allowed": d.allowed, "principal": d.principal, "action": act.as_str(),
        "resource": res.to_string(), "reason": d.to_string(),
    });
    emit(Mode::of(g), &v, || format!("{d}\n"));
    Ok(if check && !d.allowed {
        Exit::CheckFailed
    } else {
        Exit::Ok
    })
}
