//! Loading and validating policy files (TOML, YAML), with line numbers in errors.
//!
//! TOML values carry exact byte spans (`toml::Spanned`). YAML has no span API in
//! serde, so for YAML a validation error points at the line where the offending value
//! first appears as a whole word (syntax errors from the YAML parser are exact).

use super::engine::{Binding, DeclaredPrincipal, Policy, Role, Statement};
use super::pattern::ResourcePattern;
use crate::error::{Error, Result};
use crate::principal::{Action, PrincipalKind};
use serde::{Deserialize, Deserializer};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::ops::Range;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Toml,
    Yaml,
}

thread_local! {
    /// The format being deserialized on this thread. `Loc` asks the TOML deserializer
    /// for spans only while a TOML document is parsed; deserialization is synchronous,
    /// so a scoped thread-local is exact.
    static FORMAT: Cell<Format> = const { Cell::new(Format::Yaml) };
}

struct FormatGuard(Format);

impl FormatGuard {
    fn set(f: Format) -> Self {
        Self(FORMAT.with(|c| c.replace(f)))
    }
}

impl Drop for FormatGuard {
    fn drop(&mut self) {
        FORMAT.with(|c| c.set(self.0));
    }
}

/// A value with its byte span in the source, when the format provides one.
#[derive(Debug, Clone)]
struct Loc<T> {
    value: T,
    span: Option<Range<usize>>,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Loc<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        if FORMAT.with(Cell::get) == Format::Toml {
            let s = toml::Spanned::<T>::deserialize(d)?;
            let span = s.span();
            Ok(Loc {
                value: s.into_inner(),
                span: Some(span),
            })
        } else {
            Ok(Loc {
                value: T::deserialize(d)?,
                span: None,
            })
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    version: Option<Loc<u32>>,
    #[serde(default)]
    principals: Vec<RawPrincipal>,
    #[serde(default)]
    roles: Vec<RawRole>,
    #[serde(default)]
    bindings: Vec<RawBinding>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrincipal {
    id: Loc<String>,
    #[serde(default)]
    kind: Option<Loc<String>>,
    #[serde(default)]
    groups: Vec<Loc<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    name: Loc<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    allow: Vec<RawStatement>,
    #[serde(default)]
    deny: Vec<RawStatement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatement {
    actions: Vec<Loc<String>>,
    resources: Vec<Loc<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    role: Loc<String>,
    #[serde(default)]
    principals: Vec<Loc<String>>,
    #[serde(default)]
    groups: Vec<Loc<String>>,
}

/// Turns spans (or, for YAML, searched values) into `source:line` errors.
struct Ctx<'a> {
    name: &'a str,
    src: &'a str,
}

impl Ctx<'_> {
    fn line_of_offset(&self, offset: usize) -> usize {
        let end = offset.min(self.src.len());
        self.src.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// The line of `loc`: its span, or the `nth` whole-word occurrence of `text`.
    fn line<T>(&self, loc: &Loc<T>, text: &str, nth: usize) -> Option<usize> {
        if let Some(span) = &loc.span {
            return Some(self.line_of_offset(span.start));
        }
        let word = |c: u8| c.is_ascii_alphanumeric() || b"-_./*@:".contains(&c);
        let bytes = self.src.as_bytes();
        self.src
            .match_indices(text)
            .filter(|(i, _)| {
                let before = i.checked_sub(1).map(|j| bytes[j]);
                let after = bytes.get(i + text.len()).copied();
                !before.is_some_and(word) && !after.is_some_and(word)
            })
            .nth(nth)
            .map(|(i, _)| self.line_of_offset(i))
    }

    fn err_at(&self, line: Option<usize>, reason: impl Into<String>) -> Error {
        let at = match line {
            Some(l) => format!("{}:{l}", self.name),
            None => self.name.to_string(),
        };
        Error::invalid("policy", at, reason)
    }

    fn err<T>(&self, loc: &Loc<T>, text: &str, reason: impl Into<String>) -> Error {
        self.err_at(self.line(loc, text, 0), reason)
    }
}

impl Policy {
    /// Parses and validates a TOML policy. See the [module docs](super) for the format.
    ///
    /// # Errors
    /// `InvalidArgument` with value `<toml>:<line>` and a reason naming the problem:
    /// syntax, unknown field, unknown action or resource kind, bad pattern, duplicate
    /// role or principal, a binding to an unknown role or to nobody.
    pub fn from_toml(src: &str) -> Result<Self> {
        Self::from_toml_named(src, "<toml>")
    }

    /// Parses and validates a YAML policy (same shape as TOML).
    ///
    /// # Errors
    /// As [`Policy::from_toml`]; the value is `<yaml>:<line>`.
    pub fn from_yaml(src: &str) -> Result<Self> {
        Self::from_yaml_named(src, "<yaml>")
    }

    /// Reads a policy file; `.yaml`/`.yml` files are YAML, anything else TOML.
    ///
    /// # Errors
    /// `Io` if the file cannot be read; otherwise as [`Policy::from_toml`], with the
    /// file path in place of `<toml>`.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let src = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let name = path.display().to_string();
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Self::from_yaml_named(&src, &name),
            _ => Self::from_toml_named(&src, &name),
        }
    }

    fn from_toml_named(src: &str, name: &str) -> Result<Self> {
        let ctx = Ctx { name, src };
        let raw: RawPolicy = {
            let _g = FormatGuard::set(Format::Toml);
            toml::from_str(src).map_err(|e| {
                let line = e.span().map(|s| ctx.line_of_offset(s.start));
                ctx.err_at(line, e.message().trim().to_string())
            })?
        };
        build(raw, &ctx)
    }

    fn from_yaml_named(src: &str, name: &str) -> Result<Self> {
        let ctx = Ctx { name, src };
        let raw: RawPolicy = {
            let _g = FormatGuard::set(Format::Yaml);
            serde_yaml_ng::from_str(src).map_err(|e| {
                let line = e.location().map(|l| l.line());
                // The message repeats the location ("at line 3 column 5"); keep it short.
                let msg = e.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                ctx.err_at(line, msg)
            })?
        };
        build(raw, &ctx)
    }
}

fn build(raw: RawPolicy, ctx: &Ctx<'_>) -> Result<Policy> {
    if let Some(v) = &raw.version
        && v.value != 1
    {
        return Err(ctx.err(
            v,
            &v.value.to_string(),
            format!("unsupported policy version {}; expected 1", v.value),
        ));
    }
    let mut principals = BTreeMap::new();
    for p in &raw.principals {
        let id = &p.id.value;
        if id.is_empty() {
            return Err(ctx.err(&p.id, id, "a principal id is empty"));
        }
        let kind = match &p.kind {
            None => PrincipalKind::User,
            Some(k) => parse_kind(&k.value).ok_or_else(|| {
                ctx.err(
                    k,
                    &k.value,
                    format!(
                        "unknown principal kind {:?} for {id:?}; expected user, service_account or group",
                        k.value
                    ),
                )
            })?,
        };
        let groups = p.groups.iter().map(|g| g.value.clone()).collect();
        if principals
            .insert(id.clone(), DeclaredPrincipal { kind, groups })
            .is_some()
        {
            return Err(ctx.err_at(
                ctx.line(&p.id, id, 1),
                format!("duplicate principal {id:?}"),
            ));
        }
    }
    let mut roles = BTreeMap::new();
    for r in raw.roles {
        let name = r.name.value.clone();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(ctx.err(
                &r.name,
                &name,
                format!("bad role name {name:?}: it must be non-empty, without spaces"),
            ));
        }
        if roles.contains_key(&name) {
            return Err(ctx.err_at(
                ctx.line(&r.name, &name, 1),
                format!("duplicate role {name:?}"),
            ));
        }
        let allow = statements(&r.allow, &r.name, ctx)?;
        let deny = statements(&r.deny, &r.name, ctx)?;
        if allow.is_empty() && deny.is_empty() {
            return Err(ctx.err(
                &r.name,
                &name,
                format!("role {name:?} has no allow or deny statements"),
            ));
        }
        roles.insert(
            name.clone(),
            Role {
                name,
                description: r.description,
                allow,
                deny,
            },
        );
    }
    let mut bindings = Vec::with_capacity(raw.bindings.len());
    for (i, b) in raw.bindings.iter().enumerate() {
        let n = i + 1;
        let role = &b.role.value;
        if !roles.contains_key(role) {
            return Err(ctx.err(
                &b.role,
                role,
                format!("binding #{n} references unknown role {role:?}"),
            ));
        }
        if b.principals.is_empty() && b.groups.is_empty() {
            return Err(ctx.err(
                &b.role,
                role,
                format!("binding #{n} (role {role:?}) binds no principals or groups"),
            ));
        }
        bindings.push(Binding {
            role: role.clone(),
            principals: b.principals.iter().map(|p| p.value.clone()).collect(),
            groups: b.groups.iter().map(|g| g.value.clone()).collect(),
        });
    }
    Ok(Policy {
        source: ctx.name.to_string(),
        roles,
        bindings,
        principals,
    })
}

fn parse_kind(s: &str) -> Option<PrincipalKind> {
    match s {
        "user" => Some(PrincipalKind::User),
        "service_account" => Some(PrincipalKind::ServiceAccount),
        "group" => Some(PrincipalKind::Group),
        _ => None,
    }
}

fn statements(
    raw: &[RawStatement],
    role_loc: &Loc<String>,
    ctx: &Ctx<'_>,
) -> Result<Vec<Statement>> {
    let role = role_loc.value.as_str();
    let mut out = Vec::with_capacity(raw.len());
    for st in raw {
        let mut actions = Vec::with_capacity(st.actions.len());
        for a in &st.actions {
            let action = a.value.parse::<Action>().map_err(|_| {
                ctx.err(
                    a,
                    &a.value,
                    format!(
                        "unknown action {:?} in role {role:?}; expected one of {}",
                        a.value,
                        Action::ALL.map(Action::as_str).join(", ")
                    ),
                )
            })?;
            actions.push(action);
        }
        let mut resources = Vec::with_capacity(st.resources.len());
        for r in &st.resources {
            let pat = r.value.parse::<ResourcePattern>().map_err(|e| {
                let reason = match e {
                    Error::InvalidArgument { reason, .. } => reason,
                    other => other.to_string(),
                };
                ctx.err(
                    r,
                    &r.value,
                    format!("bad pattern {:?} in role {role:?}: {reason}", r.value),
                )
            })?;
            resources.push(pat);
        }
        if actions.is_empty() || resources.is_empty() {
            return Err(ctx.err(
                role_loc,
                role,
                format!("a statement of role {role:?} lists no actions or no resources"),
            ));
        }
        out.push(Statement { actions, resources });
    }
    Ok(out)
}
