//! [`ResourcePattern`]: `kind:name-glob[@env-glob]`, the resource side of a policy rule
//! (and of an audit query).

use crate::error::{Error, Result};
use crate::principal::{ResourceKind, ResourceRef};

/// A pattern over resources: `kind:name[@environment]`.
///
/// - `kind` is a [`ResourceKind`] name (`model`, `feature_view`, ...) or `*` for any kind.
/// - `name` is a glob: `*` matches any run of characters, `/` included
///   (`feature_view:payments/*`, `model:fraud-*`, `experiment:*`).
/// - `@environment` (optional, also a glob) restricts the pattern to actions that
///   target that environment (`model:*@production`). A pattern **without** `@`
///   matches the resource in every environment and outside any environment.
///
/// ```
/// use mlops_core::{ResourceKind, ResourceRef, policy::ResourcePattern};
/// let p: ResourcePattern = "model:fraud-*@production".parse()?;
/// let prod = ResourceRef::new(ResourceKind::Model, "fraud-v2").in_env("production");
/// assert!(p.matches(&prod));
/// assert!(!p.matches(&ResourceRef::new(ResourceKind::Model, "fraud-v2")));
/// assert!(!p.matches(&ResourceRef::new(ResourceKind::Model, "churn").in_env("production")));
/// assert_eq!(p.to_string(), "model:fraud-*@production");
/// # Ok::<(), mlops_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourcePattern {
    kind: Option<ResourceKind>,
    name: String,
    env: Option<String>,
}

impl ResourcePattern {
    /// The kind this pattern is limited to (`None` = any kind, written `*`).
    pub fn kind(&self) -> Option<ResourceKind> {
        self.kind
    }

    /// The name glob.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The environment glob, if the pattern is limited to environments.
    pub fn environment(&self) -> Option<&str> {
        self.env.as_deref()
    }

    /// The pattern without its environment part, e.g. `model:fraud-*`.
    pub fn target(&self) -> String {
        match self.kind {
            Some(k) => format!("{k}:{}", self.name),
            None => format!("*:{}", self.name),
        }
    }

    /// Whether `resource` falls under this pattern.
    pub fn matches(&self, resource: &ResourceRef) -> bool {
        if self.kind.is_some_and(|k| k != resource.kind) {
            return false;
        }
        if !glob(&self.name, &resource.name) {
            return false;
        }
        match (&self.env, &resource.environment) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(p), Some(e)) => glob(p, e),
        }
    }
}

impl std::fmt::Display for ResourcePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.target())?;
        if let Some(e) = &self.env {
            write!(f, "@{e}")?;
        }
        Ok(())
    }
}

fn bad(s: &str, reason: &str) -> Error {
    Error::invalid("resource pattern", s, reason)
}

impl std::str::FromStr for ResourcePattern {
    type Err = Error;

    /// Parses `kind:name[@env]`.
    fn from_str(s: &str) -> Result<Self> {
        let (kind, rest) = s.split_once(':').ok_or_else(|| {
            bad(
                s,
                "expected kind:name[@environment], e.g. model:fraud-* or feature_view:payments/*",
            )
        })?;
        let kind = match kind {
            "*" => None,
            k => Some(k.parse::<ResourceKind>().map_err(|_| {
                bad(
                    s,
                    &format!(
                        "unknown resource kind {k:?}; expected *, {}",
                        ResourceKind::ALL.map(|k| k.as_str()).join(", ")
                    ),
                )
            })?),
        };
        let (name, env) = match rest.split_once('@') {
            Some((n, e)) => (n, Some(e)),
            None => (rest, None),
        };
        let name_ok = |c: char| c.is_ascii_alphanumeric() || "-_./*".contains(c);
        if name.is_empty() {
            return Err(bad(s, "the name part is empty (use * for any name)"));
        }
        if !name.chars().all(name_ok) {
            return Err(bad(
                s,
                "the name may hold only letters, digits, '-', '_', '.', '/' and '*'",
            ));
        }
        if name.split('/').any(|seg| seg == "..") {
            return Err(bad(s, "the name must not contain '..'"));
        }
        if let Some(e) = env {
            let env_ok = |c: char| c.is_ascii_alphanumeric() || "-_*".contains(c);
            if e.is_empty() || !e.chars().all(env_ok) {
                return Err(bad(
                    s,
                    "the environment after '@' must be non-empty letters, digits, '-', '_' or '*'",
                ));
            }
        }
        Ok(Self {
            kind,
            name: name.to_string(),
            env: env.map(str::to_string),
        })
    }
}

/// Glob match where `*` matches any run of characters (including none) and every
/// other character matches itself. Linear-time two-pointer algorithm with
/// backtracking to the last star only, so no pattern can blow up.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> ResourceRef {
        s.parse().unwrap()
    }

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("fraud-*", "fraud-v1"));
        assert!(glob("fraud-*", "fraud-"));
        assert!(!glob("fraud-*", "fraud"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("payments/*", "payments/txn/daily"));
        assert!(!glob("payments/*", "billing/txn"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
    }

    #[test]
    fn patterns_match_values() {
        let p: ResourcePattern = "feature_view:payments/*".parse().unwrap();
        assert!(p.matches(&r("feature_view:payments/txn")));
        assert!(p.matches(&r("feature_view:payments/txn@staging")));
        assert!(!p.matches(&r("model:payments/txn")));
        let any: ResourcePattern = "*:*".parse().unwrap();
        assert!(any.matches(&r("audit:log@x")));
        assert_eq!(any.kind(), None);
        let env: ResourcePattern = "model:*@prod*".parse().unwrap();
        assert!(env.matches(&r("model:a@production")));
        assert!(!env.matches(&r("model:a@staging")));
        assert_eq!(env.target(), "model:*");
        assert_eq!(env.environment(), Some("prod*"));
    }

    #[test]
    fn bad_patterns_say_why() {
        for (s, why) in [
            ("model", "expected kind:name"),
            ("modle:x", "unknown resource kind \"modle\""),
            ("model:", "name part is empty"),
            ("model:a b", "may hold only"),
            ("model:../x", "'..'"),
            ("model:x@", "environment"),
            ("model:x@a/b", "environment"),
        ] {
            let e = s.parse::<ResourcePattern>().unwrap_err();
            assert!(e.to_string().contains(why), "{s}: {e}");
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        }
    }
}
