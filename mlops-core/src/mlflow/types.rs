//! MLflow's JSON shapes (tracking subset), as observed on MLflow 3.17.
//!
//! Every list is `#[serde(default)]` (MLflow omits empty lists), ids are strings,
//! int64 fields are accepted as numbers or numeric strings, and metric values use
//! [`MetricValue`] so that NaN and `±inf` travel as MLflow expects.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A metric value on the wire: finite numbers as JSON numbers, NaN / `±inf` as the
/// strings `"NaN"`, `"Infinity"`, `"-Infinity"` (bare literals are stored as 0 by
/// MLflow, so they must never be sent). On the way back `±inf` arrive clamped to
/// `±f64::MAX` by MLflow's store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricValue(pub f64);

impl Serialize for MetricValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_nan() {
            s.serialize_str("NaN")
        } else if v == f64::INFINITY {
            s.serialize_str("Infinity")
        } else if v == f64::NEG_INFINITY {
            s.serialize_str("-Infinity")
        } else {
            s.serialize_f64(v)
        }
    }
}

impl<'de> Deserialize<'de> for MetricValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(f64),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(MetricValue(n)),
            Raw::Str(s) => match s.as_str() {
                "NaN" | "nan" => Ok(MetricValue(f64::NAN)),
                "Infinity" | "inf" => Ok(MetricValue(f64::INFINITY)),
                "-Infinity" | "-inf" => Ok(MetricValue(f64::NEG_INFINITY)),
                other => other
                    .parse()
                    .map(MetricValue)
                    .map_err(|_| serde::de::Error::custom(format!("bad metric value {other:?}"))),
            },
        }
    }
}

/// An int64 that MLflow may send as a number or a numeric string.
pub fn de_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Num(i64),
        Str(String),
    }
    match Raw::deserialize(d)? {
        Raw::Num(n) => Ok(n),
        Raw::Str(s) => s.parse().map_err(serde::de::Error::custom),
    }
}

/// An optional int64 (number, numeric string or absent/null).
pub fn de_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Num(i64),
        Str(String),
        Null,
    }
    match Option::<Raw>::deserialize(d)? {
        None | Some(Raw::Null) => Ok(None),
        Some(Raw::Num(n)) => Ok(Some(n)),
        Some(Raw::Str(s)) => s.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// `{key, value}` (params, tags).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    /// Key.
    pub key: String,
    /// Value (MLflow omits empty strings).
    #[serde(default)]
    pub value: String,
}

/// A metric point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireMetric {
    /// Key.
    pub key: String,
    /// Value.
    pub value: MetricValue,
    /// ms since the epoch.
    #[serde(default, deserialize_with = "de_i64")]
    pub timestamp: i64,
    /// Step (MLflow defaults it to 0 and may omit it).
    #[serde(default, deserialize_with = "de_i64")]
    pub step: i64,
}

/// An experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireExperiment {
    /// Id.
    pub experiment_id: String,
    /// Name.
    pub name: String,
    /// Artifact root.
    #[serde(default)]
    pub artifact_location: String,
    /// `active` or `deleted`.
    #[serde(default)]
    pub lifecycle_stage: String,
    /// ms.
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub last_update_time: Option<i64>,
    /// ms.
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub creation_time: Option<i64>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

/// Run info.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireRunInfo {
    /// Run id.
    pub run_id: String,
    /// Experiment id.
    pub experiment_id: String,
    /// Name.
    #[serde(default)]
    pub run_name: String,
    /// User.
    #[serde(default)]
    pub user_id: String,
    /// Status (`RUNNING`...).
    #[serde(default)]
    pub status: String,
    /// ms.
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub start_time: Option<i64>,
    /// ms.
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub end_time: Option<i64>,
    /// Artifact root, e.g. `mlflow-artifacts:/1/<run>/artifacts`.
    #[serde(default)]
    pub artifact_uri: String,
    /// `active` or `deleted`.
    #[serde(default)]
    pub lifecycle_stage: String,
}

/// Run data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WireRunData {
    /// Latest value per key.
    #[serde(default)]
    pub metrics: Vec<WireMetric>,
    /// Params.
    #[serde(default)]
    pub params: Vec<KeyValue>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

/// A run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireRun {
    /// Info.
    pub info: WireRunInfo,
    /// Data.
    #[serde(default)]
    pub data: WireRunData,
}

/// An artifact listing entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireFileInfo {
    /// Path (relative to the listed root).
    pub path: String,
    /// Directory?
    #[serde(default)]
    pub is_dir: bool,
    /// Size for files.
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub file_size: Option<i64>,
}

/// `runs/log-batch` body.
#[derive(Debug, Clone, Serialize)]
pub struct LogBatch<'a> {
    /// Run id.
    pub run_id: &'a str,
    /// Metrics.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub metrics: &'a [WireMetric],
    /// Params.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub params: &'a [KeyValue],
    /// Tags.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub tags: &'a [KeyValue],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_travel_as_strings() {
        let m = |v| serde_json::to_string(&MetricValue(v)).unwrap();
        assert_eq!(m(f64::NAN), "\"NaN\"");
        assert_eq!(m(f64::INFINITY), "\"Infinity\"");
        assert_eq!(m(f64::NEG_INFINITY), "\"-Infinity\"");
        assert_eq!(m(0.25), "0.25");
        let back: WireMetric =
            serde_json::from_str(r#"{"key":"x","value":"NaN","timestamp":"5"}"#).unwrap();
        assert!(back.value.0.is_nan());
        assert_eq!((back.timestamp, back.step), (5, 0));
        let clamp: MetricValue = serde_json::from_str("1.7976931348623157e308").unwrap();
        assert_eq!(clamp.0, f64::MAX);
    }

    #[test]
    fn omitted_lists_decode_empty() {
        let r: WireRun = serde_json::from_str(
            r#"{"info":{"run_id":"a","experiment_id":"1","start_time":1},"data":{}}"#,
        )
        .unwrap();
        assert!(r.data.metrics.is_empty() && r.data.params.is_empty());
        assert_eq!(r.info.start_time, Some(1));
    }
}
