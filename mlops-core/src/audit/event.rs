//! [`AuditEvent`], its [`Outcome`], the stored [`AuditRecord`] and [`AuditQuery`].

use crate::digest::Digest;
use crate::error::{Error, ErrorKind, Result};
use crate::policy::ResourcePattern;
use crate::principal::{Action, Principal, ResourceRef};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a governed call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The policy allowed it and the backend did it.
    Allowed,
    /// The policy refused it.
    Denied,
    /// The policy allowed it but the backend failed with this kind.
    Failed(ErrorKind),
}

const KINDS: [ErrorKind; 12] = [
    ErrorKind::NotFound,
    ErrorKind::AlreadyExists,
    ErrorKind::InvalidArgument,
    ErrorKind::Conflict,
    ErrorKind::PermissionDenied,
    ErrorKind::Unauthenticated,
    ErrorKind::Integrity,
    ErrorKind::Unsupported,
    ErrorKind::RateLimited,
    ErrorKind::Unavailable,
    ErrorKind::Timeout,
    ErrorKind::Backend,
];

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Allowed => f.write_str("allowed"),
            Outcome::Denied => f.write_str("denied"),
            Outcome::Failed(k) => write!(f, "failed:{k}"),
        }
    }
}

impl std::str::FromStr for Outcome {
    type Err = Error;
    /// Parses `allowed`, `denied` or `failed:<error kind>`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "allowed" => Ok(Outcome::Allowed),
            "denied" => Ok(Outcome::Denied),
            _ => s
                .strip_prefix("failed:")
                .and_then(|k| KINDS.into_iter().find(|x| x.as_str() == k))
                .map(Outcome::Failed)
                .ok_or_else(|| {
                    Error::invalid("outcome", s, "expected allowed, denied or failed:<kind>")
                }),
        }
    }
}

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One audited call: who did what to which resource, when, and how it ended.
///
/// `seq` is assigned by the [`AuditLog`](super::AuditLog) when the event is
/// committed (a global, gap-free sequence over all writers); the value given to
/// [`record`](super::AuditLog::record) is ignored.
///
/// ```
/// use mlops_core::{Action, Principal, audit::{AuditEvent, Outcome}};
/// let e = AuditEvent::new(&Principal::user("alice"), Action::Promote,
///         "model:fraud@production".parse()?, Outcome::Denied)
///     .with_request(b"{\"version\":3}")
///     .with_detail("method", "transition_stage");
/// assert_eq!(e.principal, "alice");
/// assert_eq!(e.details["method"], "transition_stage");
/// # Ok::<(), mlops_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the log, from 1 (0 until committed). Serialized first, so the
    /// verifier can read it without parsing the whole record.
    pub seq: u64,
    /// When the event was created (the writer's clock).
    pub at: DateTime<Utc>,
    /// The principal id.
    pub principal: String,
    /// The action.
    pub action: Action,
    /// The resource.
    pub resource: ResourceRef,
    /// How it ended.
    pub outcome: Outcome,
    /// Digest of the request's canonical bytes (never the request itself, which may
    /// hold data that must not be kept).
    pub request_digest: Digest,
    /// Free-form details (method name, backend, version, ...). Never secrets.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
}

impl AuditEvent {
    /// An event stamped now, with the digest of an empty request.
    pub fn new(
        principal: &Principal,
        action: Action,
        resource: ResourceRef,
        outcome: Outcome,
    ) -> Self {
        Self {
            seq: 0,
            at: Utc::now(),
            principal: principal.id.clone(),
            action,
            resource,
            outcome,
            request_digest: Digest::of(b""),
            details: BTreeMap::new(),
        }
    }

    /// Sets the request digest from the request's canonical bytes.
    pub fn with_request(mut self, canonical_request: &[u8]) -> Self {
        self.request_digest = Digest::of(canonical_request);
        self
    }

    /// Sets the request digest.
    pub fn with_request_digest(mut self, digest: Digest) -> Self {
        self.request_digest = digest;
        self
    }

    /// Adds a detail.
    pub fn with_detail(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }

    /// Sets the time.
    pub fn with_time(mut self, at: DateTime<Utc>) -> Self {
        self.at = at;
        self
    }
}

/// A stored event with its chain links, as [`AuditLog::export_jsonl`](super::AuditLog::export_jsonl)
/// writes it: the event's fields plus `prev_hash` and `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The event.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// The hash of the previous record (all zeros before the first).
    pub prev_hash: Digest,
    /// `blake3(prev_hash bytes || the event's canonical JSON)`.
    pub hash: Digest,
}

/// A filter over audit events; every set field must match.
///
/// ```
/// use mlops_core::{Action, audit::AuditQuery};
/// let q = AuditQuery::new()
///     .with_principal("alice")
///     .with_resource("model:fraud-*".parse()?)
///     .with_action(Action::Promote);
/// # Ok::<(), mlops_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Principal id.
    pub principal: Option<String>,
    /// Resources matching this pattern.
    pub resource: Option<ResourcePattern>,
    /// Action.
    pub action: Option<Action>,
    /// Outcome.
    pub outcome: Option<Outcome>,
    /// At or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Strictly before this time.
    pub until: Option<DateTime<Utc>>,
}

impl AuditQuery {
    /// Matches everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only events by `principal`.
    pub fn with_principal(mut self, principal: impl Into<String>) -> Self {
        self.principal = Some(principal.into());
        self
    }

    /// Only events on resources matching `pattern`.
    pub fn with_resource(mut self, pattern: ResourcePattern) -> Self {
        self.resource = Some(pattern);
        self
    }

    /// Only events of `action`.
    pub fn with_action(mut self, action: Action) -> Self {
        self.action = Some(action);
        self
    }

    /// Only events with `outcome`.
    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = Some(outcome);
        self
    }

    /// Only events in `[from, until)`.
    pub fn with_time_range(mut self, from: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        self.from = Some(from);
        self.until = Some(until);
        self
    }

    /// Whether `e` passes the filter.
    pub fn matches(&self, e: &AuditEvent) -> bool {
        self.principal.as_ref().is_none_or(|p| *p == e.principal)
            && self
                .resource
                .as_ref()
                .is_none_or(|r| r.matches(&e.resource))
            && self.action.is_none_or(|a| a == e.action)
            && self.outcome.is_none_or(|o| o == e.outcome)
            && self.from.is_none_or(|t| e.at >= t)
            && self.until.is_none_or(|t| e.at < t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip() {
        for o in [
            Outcome::Allowed,
            Outcome::Denied,
            Outcome::Failed(ErrorKind::Conflict),
            Outcome::Failed(ErrorKind::Backend),
        ] {
            let s = serde_json::to_string(&o).unwrap();
            assert_eq!(serde_json::from_str::<Outcome>(&s).unwrap(), o);
        }
        assert_eq!(
            Outcome::Failed(ErrorKind::NotFound).to_string(),
            "failed:not_found"
        );
        assert!("failed:nope".parse::<Outcome>().is_err());
    }

    #[test]
    fn event_json_starts_with_seq() {
        let e = AuditEvent::new(
            &Principal::user("a"),
            Action::Read,
            "model:m".parse().unwrap(),
            Outcome::Allowed,
        );
        let j = serde_json::to_string(&e).unwrap();
        assert!(j.starts_with("{\"seq\":0,\"at\":\""), "{j}");
        assert_eq!(serde_json::from_str::<AuditEvent>(&j).unwrap(), e);
    }
}
