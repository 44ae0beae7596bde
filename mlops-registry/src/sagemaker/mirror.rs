//! [`ApprovalMirror`]: SageMaker's `ModelApprovalStatus` follows the promotion ledger.

use super::{ApprovalStatus, SageMakerRegistry};
use crate::error::Result;
use crate::promotion::{Deployment, DeploymentMirror};
use std::sync::Arc;

/// The most characters of a reason sent as `ApprovalDescription` (botocore: max 1024).
const MAX_DESCRIPTION: usize = 1000;

/// Mirrors deployments to one environment (`production` by default) onto SageMaker's
/// `ModelApprovalStatus`: the deployed version becomes `Approved`; on a rollback the
/// version rolled back from becomes `Rejected`. Other environments are left alone.
///
/// ```no_run
/// # async fn f(sm: std::sync::Arc<mlops_registry::sagemaker::SageMakerRegistry>,
/// #            ledger: mlops_core::Storage) {
/// use mlops_registry::promotion::Promotions;
/// use mlops_registry::sagemaker::ApprovalMirror;
/// let promos = Promotions::new(sm.clone(), ledger)
///     .with_mirror(std::sync::Arc::new(ApprovalMirror::new(sm)));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ApprovalMirror {
    registry: Arc<SageMakerRegistry>,
    environment: String,
}

impl ApprovalMirror {
    /// Mirrors deployments to `production` of `registry`.
    pub fn new(registry: Arc<SageMakerRegistry>) -> Self {
        Self {
            registry,
            environment: "production".to_string(),
        }
    }

    /// Mirrors deployments to `environment` instead.
    pub fn with_environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = environment.into();
        self
    }
}

fn description(text: String) -> String {
    text.chars().take(MAX_DESCRIPTION).collect()
}

#[async_trait::async_trait]
impl DeploymentMirror for ApprovalMirror {
    async fn mirror(&self, d: &Deployment) -> Result<()> {
        if d.environment != self.environment {
            return Ok(());
        }
        if let Some(from) = d.rollback_from {
            let why = format!("rolled back to v{} by {}: {}", d.version, d.by, d.reason);
            self.registry
                .set_approval(&d.model, from, ApprovalStatus::Rejected, &description(why))
                .await?;
        }
        let why = format!("deployed to {} by {}: {}", d.environment, d.by, d.reason);
        self.registry
            .set_approval(
                &d.model,
                d.version,
                ApprovalStatus::Approved,
                &description(why),
            )
            .await
    }
}
