//! [`PolicyApprovals`]: the core [`Authorizer`] as the promotion workflow's hook.

use crate::error::Result;
use crate::promotion::Authorizer as PromotionAuthorizer;
use async_trait::async_trait;
use mlops_core::policy::{Authorizer, AuthorizerExt};
use mlops_core::{Action, Principal, ResourceRef};
use std::sync::Arc;

/// Makes [`Promotions`](crate::promotion::Promotions) take approver roles from a
/// policy ([`Authorizer::roles_of`]) instead of the roles the caller's
/// [`Principal`] claims, and refuse actions the policy refuses.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_registry::Result<()> {
/// use std::sync::Arc;
/// use mlops_core::{Principal, ResourceRef, ResourceKind, policy::Policy};
/// use mlops_registry::layers::PolicyApprovals;
/// use mlops_registry::promotion::Authorizer;
/// let policy = Policy::from_toml(r#"
///     [[roles]]
///     name = "release-manager"
///     allow = [{ actions = ["approve"], resources = ["model:*"] }]
///     [[bindings]]
///     role = "release-manager"
///     principals = ["bob"]
/// "#)?;
/// let hook = PolicyApprovals::new(Arc::new(policy));
/// let r = ResourceRef::new(ResourceKind::Model, "fraud");
/// // alice claims the role; the policy does not grant it
/// let alice = Principal::user("alice").with_roles(["release-manager"]);
/// assert!(hook.roles(&alice, &r).await?.is_empty());
/// assert_eq!(hook.roles(&Principal::user("bob"), &r).await?, vec!["release-manager"]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PolicyApprovals {
    authorizer: Arc<dyn Authorizer>,
}

impl PolicyApprovals {
    /// Consults `authorizer`.
    pub fn new(authorizer: Arc<dyn Authorizer>) -> Self {
        Self { authorizer }
    }
}

#[async_trait]
impl PromotionAuthorizer for PolicyApprovals {
    async fn roles(&self, principal: &Principal, _: &ResourceRef) -> Result<Vec<String>> {
        Ok(self.authorizer.roles_of(principal).await?)
    }

    async fn authorize(
        &self,
        principal: &Principal,
        action: Action,
        resource: &ResourceRef,
    ) -> Result<()> {
        self.authorizer.check(principal, action, resource).await?;
        Ok(())
    }
}
