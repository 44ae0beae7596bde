//! Subcommands, one module per domain.

use crate::context::{Ctx, GlobalArgs};
use crate::exit::CliResult;

/// Every subcommand.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Model registry and promotions: register, request, gate, approve, promote, export.
    #[command(subcommand)]
    Models(models::ModelsCmd),
    /// Experiment tracking: experiments.
    #[command(subcommand)]
    Experiments(tracking::ExperimentsCmd),
    /// Experiment tracking: runs.
    #[command(subcommand)]
    Runs(tracking::RunsCmd),
    /// Audit log: verify the hash chain, query and export events.
    #[command(subcommand)]
    Audit(governance::AuditCmd),
    /// Access policy: check or explain a decision.
    #[command(subcommand)]
    Policy(governance::PolicyCmd),
    /// Feature store: definitions, point-in-time training sets, online serving.
    #[command(subcommand)]
    Features(features::FeaturesCmd),
    /// Monitoring: drift, fairness, performance, validation gates, profiles.
    #[command(subcommand)]
    Monitor(monitor::MonitorCmd),
    /// Check a name against mlops-rs' naming rules before using it.
    ///
    /// Example: `mlops check-name --kind model fraud-detector`
    CheckName {
        /// Which rule: model, experiment, alias, feature-view, environment, ...
        #[arg(long, value_enum)]
        kind: NameKindArg,
        /// The name to check.
        name: String,
    },
}

impl Command {
    /// The command's name, for logs.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Command::Models(_) => "models",
            Command::Experiments(_) => "experiments",
            Command::Runs(_) => "runs",
            Command::Audit(_) => "audit",
            Command::Policy(_) => "policy",
            Command::Features(_) => "features",
            Command::Monitor(_) => "monitor",
            Command::CheckName { .. } => "check-name",
        }
    }
}

/// Name kinds accepted by `check-name`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum NameKindArg {
    /// A registered model.
    Model,
    /// An experiment.
    Experiment,
    /// A param, metric or tag key.
    Key,
    /// A model version alias.
    Alias,
    /// A feature view, entity, service or feature.
    FeatureView,
    /// A deployment environment.
    Environment,
}

pub(crate) mod drift_html;
pub(crate) mod features;
pub(crate) mod features_admin;
pub(crate) mod governance;
pub(crate) mod models;
pub(crate) mod monitor;
pub(crate) mod monitor_more;
pub(crate) mod tracking;

/// Runs one subcommand.
pub(crate) async fn run(cmd: Command, global: &GlobalArgs) -> CliResult {
    match cmd {
        Command::Models(c) => models::run(c, &Ctx::load(global)?).await,
        Command::Experiments(c) => tracking::experiments(c, &Ctx::load(global)?).await,
        Command::Runs(c) => tracking::runs(c, &Ctx::load(global)?).await,
        Command::Audit(c) => governance::run_audit(c, &Ctx::load(global)?).await,
        Command::Policy(c) => governance::run_policy(c, global),
        // materialize/online take unset stores from the profile
        Command::Features(features::FeaturesCmd::Admin(c)) => {
            features_admin::run_in(c, crate::output::Mode::of(global), Some(global)).await
        }
        Command::Features(c) => features::run(c, crate::output::Mode::of(global)).await,
        Command::Monitor(c) => monitor::run(c, crate::output::Mode::of(global)).await,
        Command::CheckName { kind, name } => {
            use mlops_core::name::{NameKind, validate};
            let kind = match kind {
                NameKindArg::Model => NameKind::Model,
                NameKindArg::Experiment => NameKind::Experiment,
                NameKindArg::Key => NameKind::ParamKey,
                NameKindArg::Alias => NameKind::Alias,
                NameKindArg::FeatureView => NameKind::FeatureView,
                NameKindArg::Environment => NameKind::Environment,
            };
            validate(kind, &name)?;
            println!("ok: {name:?} is a valid {}", kind.describe());
            Ok(crate::exit::Exit::Ok)
        }
    }
}
