//! Compliance presets ([`mlops_core::compliance`]) as promotion gates.
//!
//! [`attach_compliance`] fills a [`ComplianceContext`] with what the promotion
//! workflow knows (the version's lineage, the requester, the approvals with the
//! roles the authorizer granted), evaluates the presets and attaches every report
//! to the request. List the control names (e.g. `iso27001.four_eyes`) in the
//! environment's `required_gates` to make them block promotion.

use crate::error::Result;
use crate::promotion::{PromotionRequest, Promotions};
use mlops_core::GateReport;
use mlops_core::compliance::{ComplianceContext, Preset};

/// Evaluates `presets` for `req` on top of `base` (feature views, store encryption,
/// policy, audit log; its model, lineage, requester and approvals are replaced; without
/// an audit log it takes the workflow's [`Promotions::audit_log`]) and attaches each
/// report to the request. Returns the reports.
///
/// # Errors
/// `RequestClosed`; registry, ledger or audit-log failures.
pub async fn attach_compliance(
    promotions: &Promotions,
    req: &PromotionRequest,
    presets: &[Preset],
    base: ComplianceContext,
) -> Result<Vec<GateReport>> {
    let v = promotions
        .registry()
        .get_version(&req.model, req.version)
        .await?;
    let st = promotions.status(req).await?;
    let mut ctx = base.with_approvals(req.requester.clone(), st.approvals);
    if ctx.audit.is_none() {
        ctx.audit = promotions.audit_log().cloned();
    }
    ctx.model = req.model.to_string();
    ctx.lineage = v.lineage;
    let mut out = Vec::new();
    for p in presets {
        for r in p.evaluate(&ctx).await? {
            promotions.attach_report(req, r.clone()).await?;
            out.push(r);
        }
    }
    Ok(out)
}
