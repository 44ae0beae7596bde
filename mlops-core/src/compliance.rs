//! Compliance gates: GDPR, HIPAA and ISO 27001 presets producing [`GateReport`]s.
//!
//! Each preset evaluates a [`ComplianceContext`] (facts about the model version
//! being promoted, the feature views it uses, the approvals it has and the audit
//! log) and returns one [`GateReport`] per control, named `<preset>.<control>`,
//! with pass/fail and the evidence in `details`. Attach them to a promotion
//! request (`Promotions::attach_report` in mlops-registry) and list the control
//! names in the environment's required gates.
//!
//! | control | passes when |
//! |---|---|
//! | `gdpr.lawful_basis` | every `pii` feature view has a non-empty `lawful_basis` tag |
//! | `gdpr.retention` | every `pii` feature view has a `retention_days` tag > 0 |
//! | `gdpr.dpa_approval` | if the lineage uses a `pii` view: an approver holds the data-protection role |
//! | `hipaa.encrypted_store` | no `phi` view, or the profile's store is `encrypted` |
//! | `hipaa.restricted_roles` | every policy role that may read a `phi` view is a restricted role |
//! | `iso27001.four_eyes` | two distinct approvers, neither the requester |
//! | `iso27001.audit` | an audit log is configured and verifies clean |
//! | `iso27001.lineage` | the lineage is complete ([`LineageRef::is_complete`]) |
//!
//! A view is `pii` (`phi`) when its tags have the key `pii` (`phi`) with any value
//! but `false`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
//! use mlops_core::LineageRef;
//! use mlops_core::compliance::{ComplianceContext, FeatureViewFacts, Preset};
//! let ctx = ComplianceContext::new("fraud", LineageRef::default().with_feature_view("payments"))
//!     .with_feature_view(FeatureViewFacts::new("payments").with_tag("pii", "true"));
//! let reports = Preset::Gdpr.evaluate(&ctx).await?;
//! let failed: Vec<&str> = reports.iter().filter(|r| !r.passed).map(|r| r.check.as_str()).collect();
//! assert_eq!(failed, ["gdpr.lawful_basis", "gdpr.retention", "gdpr.dpa_approval"]);
//! # Ok(()) }
//! ```

use crate::audit::AuditLog;
use crate::error::Result;
use crate::gate::GateReport;
use crate::lineage::LineageRef;
use crate::policy::Policy;
use crate::principal::{Action, ResourceKind, ResourceRef};
use std::collections::{BTreeMap, BTreeSet};

/// Who produces compliance reports.
pub const PRODUCER: &str = concat!("mlops-core compliance ", env!("CARGO_PKG_VERSION"));

/// A compliance preset: a group of controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Preset {
    /// EU General Data Protection Regulation.
    Gdpr,
    /// US Health Insurance Portability and Accountability Act.
    Hipaa,
    /// ISO/IEC 27001 information security controls.
    Iso27001,
}

impl Preset {
    /// The control names this preset reports, in order.
    pub fn controls(self) -> &'static [&'static str] {
        match self {
            Preset::Gdpr => &["gdpr.lawful_basis", "gdpr.retention", "gdpr.dpa_approval"],
            Preset::Hipaa => &["hipaa.encrypted_store", "hipaa.restricted_roles"],
            Preset::Iso27001 => &["iso27001.four_eyes", "iso27001.audit", "iso27001.lineage"],
        }
    }

    /// Evaluates every control of the preset.
    ///
    /// # Errors
    /// Storage failures while verifying the audit log (a log that verifies with a
    /// broken link is a failed control, not an error).
    pub async fn evaluate(self, ctx: &ComplianceContext) -> Result<Vec<GateReport>> {
        Ok(match self {
            Preset::Gdpr => vec![
                gdpr_lawful_basis(ctx),
                gdpr_retention(ctx),
                gdpr_dpa_approval(ctx),
            ],
            Preset::Hipaa => vec![hipaa_encrypted(ctx), hipaa_roles(ctx)],
            Preset::Iso27001 => vec![iso_four_eyes(ctx), iso_audit(ctx).await?, iso_lineage(ctx)],
        })
    }
}

/// Facts about one feature view: its name and tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeatureViewFacts {
    /// The view name.
    pub name: String,
    /// The view's tags.
    pub tags: BTreeMap<String, String>,
}

impl FeatureViewFacts {
    /// A view with no tags.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            tags: BTreeMap::new(),
        }
    }

    /// Adds a tag.
    pub fn with_tag(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.tags.insert(k.into(), v.into());
        self
    }

    fn flagged(&self, key: &str) -> bool {
        self.tags.get(key).is_some_and(|v| v != "false")
    }
}

/// Everything the presets look at.
#[derive(Debug, Clone)]
pub struct ComplianceContext {
    /// The model name.
    pub model: String,
    /// The version's lineage.
    pub lineage: LineageRef,
    /// The feature views known to the feature store (at least those in the lineage).
    pub feature_views: Vec<FeatureViewFacts>,
    /// Who requested the promotion.
    pub requester: Option<String>,
    /// Approvals: principal id → roles the authorizer granted.
    pub approvals: Vec<(String, Vec<String>)>,
    /// The role a data-protection approver holds (default `data-protection`).
    pub dpa_role: String,
    /// Whether the profile marks the feature stores `encrypted`
    /// (`Profile::store().encrypted`).
    pub store_encrypted: bool,
    /// The policy, for `hipaa.restricted_roles`.
    pub policy: Option<Policy>,
    /// Roles allowed to read `phi` data.
    pub restricted_roles: Vec<String>,
    /// The audit log, for `iso27001.audit`.
    pub audit: Option<AuditLog>,
}

impl ComplianceContext {
    /// A context for `model` with `lineage` and nothing else known.
    pub fn new(model: impl Into<String>, lineage: LineageRef) -> Self {
        Self {
            model: model.into(),
            lineage,
            feature_views: vec![],
            requester: None,
            approvals: vec![],
            dpa_role: "data-protection".into(),
            store_encrypted: false,
            policy: None,
            restricted_roles: vec![],
            audit: None,
        }
    }

    /// Adds a feature view's facts.
    pub fn with_feature_view(mut self, v: FeatureViewFacts) -> Self {
        self.feature_views.push(v);
        self
    }

    /// Sets the requester and the approvals.
    pub fn with_approvals(
        mut self,
        requester: impl Into<String>,
        approvals: Vec<(String, Vec<String>)>,
    ) -> Self {
        self.requester = Some(requester.into());
        self.approvals = approvals;
        self
    }

    /// Sets whether the stores are encrypted.
    pub fn with_store_encrypted(mut self, yes: bool) -> Self {
        self.store_encrypted = yes;
        self
    }

    /// Sets the policy and the roles restricted `phi` readers must hold.
    pub fn with_policy<I, S>(mut self, policy: Policy, restricted_roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.policy = Some(policy);
        self.restricted_roles = restricted_roles.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the audit log.
    pub fn with_audit(mut self, log: AuditLog) -> Self {
        self.audit = Some(log);
        self
    }

    fn flagged(&self, key: &str) -> Vec<&FeatureViewFacts> {
        self.feature_views
            .iter()
            .filter(|v| v.flagged(key))
            .collect()
    }
}

fn report(check: &str, passed: bool, details: String) -> GateReport {
    let mut r = GateReport::new(check, PRODUCER, passed);
    r.details = Some(details);
    r
}

fn names(vs: &[&FeatureViewFacts]) -> String {
    if vs.is_empty() {
        "none".into()
    } else {
        vs.iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn gdpr_lawful_basis(ctx: &ComplianceContext) -> GateReport {
    let pii = ctx.flagged("pii");
    let bad: Vec<_> = pii
        .iter()
        .copied()
        .filter(|v| {
            v.tags
                .get("lawful_basis")
                .is_none_or(|b| b.trim().is_empty())
        })
        .collect();
    report(
        "gdpr.lawful_basis",
        bad.is_empty(),
        format!(
            "pii views: {}; without lawful_basis: {}",
            names(&pii),
            names(&bad)
        ),
    )
}

fn gdpr_retention(ctx: &ComplianceContext) -> GateReport {
    let pii = ctx.flagged("pii");
    let bad: Vec<_> = pii
        .iter()
        .copied()
        .filter(|v| {
            v.tags
                .get("retention_days")
                .and_then(|d| d.parse::<u64>().ok())
                .is_none_or(|d| d == 0)
        })
        .collect();
    report(
        "gdpr.retention",
        bad.is_empty(),
        format!(
            "pii views: {}; without retention_days > 0: {}",
            names(&pii),
            names(&bad)
        ),
    )
}

fn gdpr_dpa_approval(ctx: &ComplianceContext) -> GateReport {
    let pii: BTreeSet<&str> = ctx.flagged("pii").iter().map(|v| v.name.as_str()).collect();
    let used: Vec<&str> = ctx
        .lineage
        .feature_views
        .iter()
        .map(String::as_str)
        .filter(|v| pii.contains(v))
        .collect();
    let dpa: Vec<&str> = ctx
        .approvals
        .iter()
        .filter(|(_, roles)| roles.contains(&ctx.dpa_role))
        .map(|(p, _)| p.as_str())
        .collect();
    let passed = used.is_empty() || !dpa.is_empty();
    report(
        "gdpr.dpa_approval",
        passed,
        format!(
            "model {} uses pii views: [{}]; approvals by role {}: [{}]",
            ctx.model,
            used.join(", "),
            ctx.dpa_role,
            dpa.join(", ")
        ),
    )
}

fn hipaa_encrypted(ctx: &ComplianceContext) -> GateReport {
    let phi = ctx.flagged("phi");
    report(
        "hipaa.encrypted_store",
        phi.is_empty() || ctx.store_encrypted,
        format!(
            "phi views: {}; store encrypted: {}",
            names(&phi),
            ctx.store_encrypted
        ),
    )
}

fn hipaa_roles(ctx: &ComplianceContext) -> GateReport {
    let phi = ctx.flagged("phi");
    if phi.is_empty() {
        return report("hipaa.restricted_roles", true, "phi views: none".into());
    }
    let Some(policy) = &ctx.policy else {
        return report(
            "hipaa.restricted_roles",
            false,
            format!(
                "phi views: {}; no policy to check readers against",
                names(&phi)
            ),
        );
    };
    let mut readers = BTreeSet::new();
    for v in &phi {
        let res = ResourceRef::new(ResourceKind::FeatureView, v.name.clone());
        for role in policy.roles() {
            let reads = role.allow.iter().any(|s| {
                s.actions
                    .iter()
                    .any(|a| matches!(a, Action::Read | Action::Admin))
                    && s.resources.iter().any(|p| p.matches(&res))
            });
            if reads {
                readers.insert(role.name.clone());
            }
        }
    }
    let bad: Vec<&String> = readers
        .iter()
        .filter(|r| !ctx.restricted_roles.contains(r))
        .collect();
    report(
        "hipaa.restricted_roles",
        bad.is_empty(),
        format!(
            "phi views: {}; roles that may read them: {:?}; not restricted: {:?}",
            names(&phi),
            readers,
            bad
        ),
    )
}

fn iso_four_eyes(ctx: &ComplianceContext) -> GateReport {
    let others: BTreeSet<&str> = ctx
        .approvals
        .iter()
        .map(|(p, _)| p.as_str())
        .filter(|p| Some(*p) != ctx.requester.as_deref())
        .collect();
    report(
        "iso27001.four_eyes",
        others.len() >= 2,
        format!(
            "requester: {}; independent approvers: {:?}",
            ctx.requester.as_deref().unwrap_or("unknown"),
            others
        ),
    )
}

async fn iso_audit(ctx: &ComplianceContext) -> Result<GateReport> {
    let Some(log) = &ctx.audit else {
        return Ok(report(
            "iso27001.audit",
            false,
            "audit log not configured".into(),
        ));
    };
    log.flush().await?;
    let v = log.verify().await?;
    let details = match &v.broken {
        None => format!("{log}: {} records verified clean", v.records),
        Some(b) => format!("{log}: broken: {b}"),
    };
    Ok(report(
        "iso27001.audit",
        v.is_clean() && v.records > 0,
        details,
    ))
}

fn iso_lineage(ctx: &ComplianceContext) -> GateReport {
    let missing = ctx.lineage.missing();
    report(
        "iso27001.lineage",
        ctx.lineage.is_complete(),
        format!("missing: {missing:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditEvent;
    use crate::principal::Principal;
    use crate::{Digest, Storage};

    fn passed(rs: &[GateReport]) -> Vec<(String, bool)> {
        rs.iter().map(|r| (r.check.clone(), r.passed)).collect()
    }

    #[tokio::test]
    async fn gdpr_needs_basis_retention_and_dpa_approval() {
        let pii = FeatureViewFacts::new("customers").with_tag("pii", "true");
        let ctx = ComplianceContext::new("m", LineageRef::default().with_feature_view("customers"))
            .with_feature_view(pii.clone())
            .with_feature_view(FeatureViewFacts::new("other").with_tag("pii", "false"));
        let r = Preset::Gdpr.evaluate(&ctx).await.unwrap();
        assert!(r.iter().all(|r| !r.passed), "{r:?}");
        assert!(
            r[0].details
                .as_deref()
                .unwrap()
                .contains("without lawful_basis: customers")
        );
        let ok = ComplianceContext::new("m", LineageRef::default().with_feature_view("customers"))
            .with_feature_view(
                pii.with_tag("lawful_basis", "contract")
                    .with_tag("retention_days", "365"),
            )
            .with_approvals(
                "alice",
                vec![("dpo".into(), vec!["data-protection".into()])],
            );
        let r = Preset::Gdpr.evaluate(&ok).await.unwrap();
        assert!(r.iter().all(|r| r.passed), "{r:?}");
        // a model that does not use the pii view needs no dpa approval
        let unused = ComplianceContext::new("m", LineageRef::default())
            .with_feature_view(FeatureViewFacts::new("c").with_tag("pii", "yes"));
        assert!(Preset::Gdpr.evaluate(&unused).await.unwrap()[2].passed);
    }

    #[tokio::test]
    async fn hipaa_needs_encryption_and_restricted_readers() {
        let policy = Policy::from_toml(
            r#"
            [[roles]]
            name = "clinician"
            allow = [{ actions = ["read"], resources = ["feature_view:patients"] }]
            [[roles]]
            name = "analyst"
            allow = [{ actions = ["read"], resources = ["feature_view:*"] }]
            "#,
        )
        .unwrap();
        let ctx = ComplianceContext::new("m", LineageRef::default())
            .with_feature_view(FeatureViewFacts::new("patients").with_tag("phi", "true"))
            .with_policy(policy.clone(), ["clinician"]);
        let r = Preset::Hipaa.evaluate(&ctx).await.unwrap();
        assert_eq!(
            passed(&r),
            [
                ("hipaa.encrypted_store".into(), false),
                ("hipaa.restricted_roles".into(), false)
            ]
        );
        assert!(
            r[1].details
                .as_deref()
                .unwrap()
                .contains("not restricted: [\"analyst\"]")
        );
        let ok = ctx
            .with_store_encrypted(true)
            .with_policy(policy, ["clinician", "analyst"]);
        assert!(
            Preset::Hipaa
                .evaluate(&ok)
                .await
                .unwrap()
                .iter()
                .all(|r| r.passed)
        );
    }

    #[tokio::test]
    async fn iso_needs_four_eyes_verified_audit_and_complete_lineage() {
        let ctx = ComplianceContext::new("m", LineageRef::default()).with_approvals(
            "alice",
            vec![("alice".into(), vec![]), ("bob".into(), vec![])],
        );
        let r = Preset::Iso27001.evaluate(&ctx).await.unwrap();
        assert_eq!(
            passed(&r),
            [
                ("iso27001.four_eyes".into(), false),
                ("iso27001.audit".into(), false),
                ("iso27001.lineage".into(), false)
            ]
        );
        let log = AuditLog::open(&Storage::memory()).await.unwrap();
        log.record(AuditEvent::new(
            &Principal::user("bob"),
            Action::Approve,
            "model:m".parse().unwrap(),
            crate::audit::Outcome::Allowed,
        ));
        let lineage = LineageRef::default()
            .with_run(crate::RunRef {
                tracking_uri: "memory://".into(),
                run_id: "r".into(),
            })
            .with_dataset(crate::DatasetRef {
                uri: "memory://d".into(),
                digest: Digest::of(b"d"),
            })
            .with_code_revision("abc");
        let ok = ComplianceContext::new("m", lineage)
            .with_approvals(
                "alice",
                vec![("carol".into(), vec![]), ("bob".into(), vec![])],
            )
            .with_audit(log);
        let r = Preset::Iso27001.evaluate(&ok).await.unwrap();
        assert!(r.iter().all(|r| r.passed), "{r:?}");
        assert_eq!(Preset::Iso27001.controls().len(), r.len());
    }
}
