//! The table-driven check list for governance and audit layers.
//!
//! A layer over a trait declares one [`MethodRule`] per trait method. The layer looks
//! a method's rule up when it forwards the call, and a test checks the table against
//! the trait's method list with [`MethodTable::check_complete`], so a method added
//! to the trait later without a rule fails that test.

use crate::error::{Error, Result};
use crate::principal::Action;

/// How one trait method is governed: the action it needs and whether it changes state
/// (mutating calls are always audited; reads only when the audit layer is so configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodRule {
    /// The trait method's name, e.g. `"transition_stage"`.
    pub method: &'static str,
    /// The action the principal needs on the method's resource.
    pub action: Action,
    /// Whether the method changes state.
    pub mutating: bool,
}

impl MethodRule {
    /// A read-only method that needs [`Action::Read`].
    pub const fn read(method: &'static str) -> Self {
        Self {
            method,
            action: Action::Read,
            mutating: false,
        }
    }

    /// A mutating method that needs `action`.
    pub const fn mutating(method: &'static str, action: Action) -> Self {
        Self {
            method,
            action,
            mutating: true,
        }
    }
}

/// A layer's list of [`MethodRule`]s for one trait.
///
/// ```
/// use mlops_core::{Action, policy::{MethodRule, MethodTable}};
/// const REGISTRY: MethodTable = MethodTable::new("ModelRegistry", &[
///     MethodRule::read("get_model"),
///     MethodRule::mutating("create_model", Action::Write),
///     MethodRule::mutating("transition_stage", Action::Promote),
/// ]);
/// assert_eq!(REGISTRY.get("transition_stage")?.action, Action::Promote);
/// REGISTRY.check_complete(&["get_model", "create_model", "transition_stage"])?;
/// let e = REGISTRY.check_complete(&["get_model", "create_model", "transition_stage", "delete_model"]);
/// assert!(e.unwrap_err().to_string().contains("delete_model"));
/// # Ok::<(), mlops_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MethodTable {
    /// The trait the table governs, for error messages.
    pub trait_name: &'static str,
    /// The rules.
    pub rules: &'static [MethodRule],
}

impl MethodTable {
    /// A table for `trait_name`.
    pub const fn new(trait_name: &'static str, rules: &'static [MethodRule]) -> Self {
        Self { trait_name, rules }
    }

    /// The rule of `method`.
    ///
    /// # Errors
    /// `NotFound` naming the trait and the method when the table has no rule for it
    /// (a layer treats that as a refusal, never as "allowed").
    pub fn get(&self, method: &str) -> Result<&'static MethodRule> {
        self.rules
            .iter()
            .find(|r| r.method == method)
            .ok_or_else(|| {
                Error::not_found("governance rule", format!("{}::{method}", self.trait_name))
            })
    }

    /// The mutating methods.
    pub fn mutating(&self) -> impl Iterator<Item = &'static MethodRule> + use<> {
        self.rules.iter().filter(|r| r.mutating)
    }

    /// Checks the table against the methods `item` declares in `source` (see
    /// [`declared_methods`](super::declared_methods)): with `include_str!` of the file
    /// that declares the trait, a method added to the trait without a rule fails.
    ///
    /// ```
    /// use mlops_core::{Action, policy::{MethodRule, MethodTable}};
    /// const T: MethodTable = MethodTable::new("Store", &[MethodRule::mutating("put", Action::Write)]);
    /// T.check_declared("pub trait Store { async fn put(&self); }", "trait Store")?;
    /// let e = T.check_declared("pub trait Store { async fn put(&self); fn purge(&self); }", "trait Store");
    /// assert!(e.unwrap_err().to_string().contains("methods without a rule: purge"));
    /// # Ok::<(), mlops_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`declared_methods`](super::declared_methods) and [`check_complete`](Self::check_complete).
    pub fn check_declared(&self, source: &str, item: &str) -> Result<()> {
        let methods = super::declared_methods(source, item)?;
        let names: Vec<&str> = methods.iter().map(String::as_str).collect();
        self.check_complete(&names)
    }

    /// Checks that the table has exactly one rule per method in `methods` and no rule
    /// for anything else.
    ///
    /// # Errors
    /// `InvalidArgument` listing the missing, unknown and duplicated methods.
    pub fn check_complete(&self, methods: &[&str]) -> Result<()> {
        let missing: Vec<&str> = methods
            .iter()
            .copied()
            .filter(|m| !self.rules.iter().any(|r| r.method == *m))
            .collect();
        let unknown: Vec<&str> = self
            .rules
            .iter()
            .map(|r| r.method)
            .filter(|m| !methods.contains(m))
            .collect();
        let mut seen: Vec<&str> = Vec::new();
        let mut dups: Vec<&str> = Vec::new();
        for r in self.rules {
            if seen.contains(&r.method) {
                dups.push(r.method);
            }
            seen.push(r.method);
        }
        if missing.is_empty() && unknown.is_empty() && dups.is_empty() {
            return Ok(());
        }
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!("methods without a rule: {}", missing.join(", ")));
        }
        if !unknown.is_empty() {
            parts.push(format!("rules for unknown methods: {}", unknown.join(", ")));
        }
        if !dups.is_empty() {
            parts.push(format!("duplicate rules: {}", dups.join(", ")));
        }
        Err(Error::invalid(
            "governance table",
            self.trait_name,
            parts.join("; "),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: MethodTable = MethodTable::new(
        "Tracker",
        &[
            MethodRule::read("get_run"),
            MethodRule::mutating("log_metric", Action::Write),
            MethodRule::mutating("log_metric", Action::Write),
            MethodRule::mutating("purge", Action::Admin),
        ],
    );

    #[test]
    fn completeness_names_every_problem() {
        let e = T
            .check_complete(&["get_run", "log_metric", "delete_run"])
            .unwrap_err();
        let s = e.to_string();
        assert!(s.contains("methods without a rule: delete_run"), "{s}");
        assert!(s.contains("rules for unknown methods: purge"), "{s}");
        assert!(s.contains("duplicate rules: log_metric"), "{s}");
        assert_eq!(
            T.get("nope").unwrap_err().kind(),
            crate::ErrorKind::NotFound
        );
        assert_eq!(T.mutating().count(), 3);
        assert!(!T.get("get_run").unwrap().mutating);
    }
}
