//! Plain types: feature references, value types, and where source data lives.

use crate::error::{Error, Result};
use arrow::datatypes::{DataType, TimeUnit};
use mlops_core::Storage;
use serde::{Deserialize, Serialize};

/// A reference to one feature of one view, written `view:feature`.
///
/// ```
/// use mlops_features::FeatureRef;
/// let r: FeatureRef = "driver_stats:conv_rate".parse()?;
/// assert_eq!((r.view(), r.feature()), ("driver_stats", "conv_rate"));
/// assert_eq!(r.to_string(), "driver_stats:conv_rate");
/// # Ok::<(), mlops_features::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FeatureRef {
    view: String,
    feature: String,
}

impl FeatureRef {
    /// A reference to `feature` of `view`.
    ///
    /// # Errors
    /// `Invalid` if either part is empty or contains `:`.
    pub fn new(view: impl Into<String>, feature: impl Into<String>) -> Result<Self> {
        let (view, feature) = (view.into(), feature.into());
        if view.is_empty() || feature.is_empty() || view.contains(':') || feature.contains(':') {
            return Err(Error::invalid(
                "feature reference",
                format!("{view}:{feature}"),
                "expected view:feature with both parts non-empty",
            ));
        }
        Ok(Self { view, feature })
    }

    /// The view name.
    pub fn view(&self) -> &str {
        &self.view
    }

    /// The feature name.
    pub fn feature(&self) -> &str {
        &self.feature
    }

    /// Parses a list of references (`&["v:a", "v:b"]`).
    ///
    /// # Errors
    /// `Invalid` naming the first malformed reference.
    pub fn parse_all<S: AsRef<str>>(refs: &[S]) -> Result<Vec<Self>> {
        refs.iter().map(|s| s.as_ref().parse()).collect()
    }
}

impl std::str::FromStr for FeatureRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.split_once(':') {
            Some((v, f)) => Self::new(v, f),
            None => Err(Error::invalid(
                "feature reference",
                s,
                "expected view:feature",
            )),
        }
    }
}

impl std::fmt::Display for FeatureRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.view, self.feature)
    }
}

/// The declared type of a feature or join key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ValueType {
    /// 64-bit signed integer.
    Int64,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit float.
    Float64,
    /// 32-bit float.
    Float32,
    /// UTF-8 string.
    String,
    /// Boolean.
    Bool,
    /// Binary.
    Bytes,
    /// Timestamp, microseconds, UTC.
    Timestamp,
}

impl ValueType {
    /// The Arrow type features of this type have in results.
    pub fn arrow_type(self) -> DataType {
        match self {
            ValueType::Int64 => DataType::Int64,
            ValueType::Int32 => DataType::Int32,
            ValueType::Float64 => DataType::Float64,
            ValueType::Float32 => DataType::Float32,
            ValueType::String => DataType::Utf8,
            ValueType::Bool => DataType::Boolean,
            ValueType::Bytes => DataType::Binary,
            ValueType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        }
    }

    /// Whether a source column of Arrow type `t` holds this type (strings and binaries
    /// of any offset width; timestamps of any unit and zone).
    pub fn accepts(self, t: &DataType) -> bool {
        match self {
            ValueType::String => {
                matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
            }
            ValueType::Bytes => {
                matches!(
                    t,
                    DataType::Binary | DataType::LargeBinary | DataType::BinaryView
                )
            }
            ValueType::Timestamp => matches!(t, DataType::Timestamp(_, _)),
            other => &other.arrow_type() == t,
        }
    }
}

impl std::fmt::Display for ValueType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        f.write_str(&s)
    }
}

/// Where a feature view's rows live: one Parquet object, or every `*.parquet` object
/// below a prefix, on any store `mlops_core::Storage` opens.
#[derive(Debug, Clone)]
pub struct SourceLocation {
    storage: Storage,
    /// Object key relative to the storage prefix; empty for "the whole prefix".
    object: Option<String>,
}

impl SourceLocation {
    /// From a URL: `file:///data/driver.parquet`, `s3://bucket/stats/` (a prefix), ...
    /// A URL whose last segment ends in `.parquet` is one object; anything else a prefix.
    ///
    /// # Errors
    /// `Core(InvalidArgument)` for a URL `Storage` cannot open.
    pub fn from_url(url: &str) -> Result<Self> {
        let trimmed = url.trim_end_matches('/');
        if trimmed.ends_with(".parquet")
            && let Some((dir, file)) = trimmed.rsplit_once('/')
        {
            let dir = if dir.ends_with(':') || dir.ends_with("//") {
                format!("{dir}/")
            } else {
                dir.to_string()
            };
            return Ok(Self {
                storage: Storage::from_url(&dir)?,
                object: Some(file.to_string()),
            });
        }
        Ok(Self {
            storage: Storage::from_url(url)?,
            object: None,
        })
    }

    /// A local file or directory path (made absolute; `..` is resolved against the real
    /// file system).
    ///
    /// # Errors
    /// As [`SourceLocation::from_url`]; `Core(Io)` if the current directory is unknown.
    pub fn from_path(path: &std::path::Path) -> Result<Self> {
        let abs = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| mlops_core::Error::io(path, e))?
                .join(path)
        };
        let abs = std::fs::canonicalize(&abs).unwrap_or(abs);
        Self::from_url(&format!("file://{}", abs.display()))
    }

    /// One object (`Some(rel)`) or the whole prefix (`None`) of `storage`.
    pub fn new(storage: Storage, object: Option<String>) -> Self {
        Self { storage, object }
    }

    /// The storage.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The object below the storage prefix, if one.
    pub fn object(&self) -> Option<&str> {
        self.object.as_deref()
    }
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.object {
            Some(o) => write!(f, "{}/{o}", self.storage.url().trim_end_matches('/')),
            None => f.write_str(self.storage.url()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_parse_and_reject() {
        let r: FeatureRef = "a:b".parse().unwrap();
        assert_eq!(r.view(), "a");
        for bad in ["ab", ":b", "a:", "a:b:c"] {
            assert!(bad.parse::<FeatureRef>().is_err(), "{bad}");
        }
    }

    #[test]
    fn value_types_accept() {
        assert!(ValueType::String.accepts(&DataType::LargeUtf8));
        assert!(!ValueType::Int64.accepts(&DataType::Float64));
        assert!(ValueType::Timestamp.accepts(&DataType::Timestamp(TimeUnit::Nanosecond, None)));
        assert_eq!(ValueType::Float64.to_string(), "float64");
    }
}
