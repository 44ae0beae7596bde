//! SageMaker response shapes and the version record ↔ `CustomerMetadataProperties` mapping.
//!
//! # Where a version's fields live
//! SageMaker's `CustomerMetadataProperties` holds at most 50 entries, keys ≤ 128 and
//! values ≤ 256 characters from `[\p{L}\p{Z}\p{N}_.:/=+\-@]` (no JSON, no commas).
//! So the authoritative copy of a version's fields (description, tags, status,
//! lineage, signature, metrics, creator, manifest digest) is a small JSON
//! **record** stored as a content-addressed blob next to the artifacts (verified on
//! read), and `mlops:record` points at it. The map also mirrors what fits, for the
//! SageMaker console and for IAM/Search filters: `mlops:manifest`, `mlops:status`,
//! `mlops:creator`, `lineage:run_id`, `lineage:code_revision`, and `tag:<key>` per
//! tag. Entries that do not fit (over 50, too long, or characters outside the
//! allowed set) exist only in the record, and `mlops:truncated` is `true`.
//! Updates write a new record and replace the map in one `UpdateModelPackage`.

use crate::types::VersionStatus;
use chrono::{DateTime, TimeZone, Utc};
use mlops_core::LineageRef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most `CustomerMetadataProperties` entries.
pub const MAX_METADATA_ENTRIES: usize = 50;
/// The longest metadata value.
pub const MAX_METADATA_VALUE: usize = 256;
/// The longest metadata key.
pub const MAX_METADATA_KEY: usize = 128;

/// The metadata key pointing at the version record blob.
pub const RECORD_KEY: &str = "mlops:record";

/// A version's authoritative fields (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) manifest: String,
    pub(crate) description: Option<String>,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) status: VersionStatus,
    pub(crate) lineage: LineageRef,
    pub(crate) signature: Option<serde_json::Value>,
    pub(crate) metrics: BTreeMap<String, f64>,
    pub(crate) creator: String,
}

/// Whether `s` is a legal metadata key/value of at most `max` characters.
pub fn metadata_ok(s: &str, max: usize) -> bool {
    let n = s.chars().count();
    (1..=max).contains(&n)
        && s.chars().all(|c| {
            c.is_alphanumeric()
                || c.is_whitespace()
                || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
        })
}

/// The `CustomerMetadataProperties` for `record` stored as blob `record_digest`.
pub(crate) fn to_metadata(record: &Record, record_digest: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert(RECORD_KEY.to_string(), record_digest.to_string());
    m.insert("mlops:manifest".to_string(), record.manifest.clone());
    m.insert("mlops:status".to_string(), record.status.to_string());
    let mut optional: Vec<(String, String)> =
        vec![("mlops:creator".into(), record.creator.clone())];
    if let Some(run) = &record.lineage.run {
        optional.push(("lineage:run_id".into(), run.run_id.clone()));
    }
    if let Some(code) = &record.lineage.code_revision {
        optional.push(("lineage:code_revision".into(), code.clone()));
    }
    optional.extend(
        record
            .tags
            .iter()
            .map(|(k, v)| (format!("tag:{k}"), v.clone())),
    );
    let mut truncated = false;
    for (k, v) in optional {
        // one slot stays free for `mlops:truncated`
        if m.len() < MAX_METADATA_ENTRIES - 1
            && metadata_ok(&k, MAX_METADATA_KEY)
            && metadata_ok(&v, MAX_METADATA_VALUE)
        {
            m.insert(k, v);
        } else {
            truncated = true;
        }
    }
    if truncated {
        m.insert("mlops:truncated".to_string(), "true".to_string());
    }
    m
}

/// `DescribeModelPackageGroup` output (the members we read).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Group {
    pub(crate) model_package_group_name: String,
    pub(crate) model_package_group_arn: String,
    #[serde(default)]
    pub(crate) model_package_group_description: Option<String>,
    pub(crate) creation_time: f64,
}

/// `ListModelPackageGroups` output.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GroupList {
    #[serde(default)]
    pub(crate) model_package_group_summary_list: Vec<Group>,
    #[serde(default)]
    pub(crate) next_token: Option<String>,
}

/// `DescribeModelPackage` output (the members we read).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Package {
    pub(crate) model_package_arn: String,
    #[serde(default)]
    pub(crate) model_package_version: Option<u64>,
    #[serde(default)]
    pub(crate) model_package_description: Option<String>,
    pub(crate) creation_time: f64,
    #[serde(default)]
    pub(crate) last_modified_time: Option<f64>,
    #[serde(default)]
    pub(crate) model_approval_status: Option<String>,
    #[serde(default)]
    pub(crate) approval_description: Option<String>,
    #[serde(default)]
    pub(crate) customer_metadata_properties: BTreeMap<String, String>,
}

impl Package {
    /// The version: `ModelPackageVersion`, else the ARN's last segment.
    pub(crate) fn version(&self) -> Option<u64> {
        self.model_package_version
            .or_else(|| version_of_arn(&self.model_package_arn))
    }
}

/// `ListModelPackages` output.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PackageList {
    #[serde(default)]
    pub(crate) model_package_summary_list: Vec<PackageSummary>,
    #[serde(default)]
    pub(crate) next_token: Option<String>,
}

/// One `ModelPackageSummary`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PackageSummary {
    pub(crate) model_package_arn: String,
    #[serde(default)]
    pub(crate) model_package_version: Option<u64>,
}

/// `{"Tags": [{"Key", "Value"}]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TagList {
    #[serde(default)]
    pub(crate) tags: Vec<Tag>,
}

/// One tag.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Tag {
    pub(crate) key: String,
    pub(crate) value: String,
}

/// The version number at the end of a package ARN (`…/model-package/<group>/<n>`).
pub fn version_of_arn(arn: &str) -> Option<u64> {
    arn.rsplit('/').next()?.parse().ok()
}

/// The package ARN of `group_arn`'s version `version`.
pub fn package_arn(group_arn: &str, version: u64) -> String {
    format!(
        "{}/{version}",
        group_arn.replacen(":model-package-group/", ":model-package/", 1)
    )
}

/// AWS epoch seconds (with fractions) as a UTC time.
pub fn epoch(secs: f64) -> DateTime<Utc> {
    // AWS sends milliseconds at most; rounding to them undoes float error.
    Utc.timestamp_millis_opt((secs * 1000.0).round() as i64)
        .single()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            manifest: format!("blake3:{}", "a".repeat(64)),
            description: None,
            tags: BTreeMap::new(),
            status: VersionStatus::Ready,
            lineage: LineageRef::default().with_code_revision("3f2a9c1"),
            signature: None,
            metrics: BTreeMap::new(),
            creator: "alice".into(),
        }
    }

    #[test]
    fn metadata_stays_within_limits() {
        let mut r = record();
        for i in 0..80 {
            r.tags.insert(format!("k{i:02}"), "v".into());
        }
        r.tags.insert("json".into(), "{\"a\":1}".into());
        r.tags.insert("long".into(), "x".repeat(300));
        let m = to_metadata(&r, "blake3:00");
        assert_eq!(m.len(), MAX_METADATA_ENTRIES);
        assert_eq!(m["mlops:truncated"], "true");
        assert_eq!(m["lineage:code_revision"], "3f2a9c1");
        assert!(!m.contains_key("tag:json"));
        assert!(!m.contains_key("tag:long"));
        assert!(
            m.iter()
                .all(|(k, v)| metadata_ok(k, 128) && metadata_ok(v, 256))
        );
        let small = to_metadata(&record(), "blake3:00");
        assert!(!small.contains_key("mlops:truncated"));
        assert_eq!(small[RECORD_KEY], "blake3:00");
    }

    #[test]
    fn arns_and_times() {
        let g = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/churn";
        let p = package_arn(g, 3);
        assert_eq!(
            p,
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"
        );
        assert_eq!(version_of_arn(&p), Some(3));
        assert_eq!(epoch(1795913127.254).timestamp_millis(), 1795913127254);
    }
}
