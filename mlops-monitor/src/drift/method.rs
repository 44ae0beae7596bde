//! Method ids, families, default thresholds and comparison operators (Evidently 0.7.23).

use crate::column::ColumnKind;
use crate::error::{Error, Result};
use mlops_core::Comparison;
use serde::{Deserialize, Serialize};

/// A drift method, by Evidently's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Method {
    /// Population stability index (`psi`).
    #[serde(rename = "psi")]
    Psi,
    /// Kullback-Leibler divergence KL(ref‖cur) (`kl_div`).
    #[serde(rename = "kl_div")]
    KlDiv,
    /// Jensen-Shannon distance (`jensenshannon`).
    #[serde(rename = "jensenshannon")]
    JensenShannon,
    /// Wasserstein distance normed by the reference std (`wasserstein`).
    #[serde(rename = "wasserstein")]
    Wasserstein,
    /// Kolmogorov-Smirnov p-value (`ks`).
    #[serde(rename = "ks")]
    Ks,
    /// Chi-square goodness-of-fit p-value (`chisquare`).
    #[serde(rename = "chisquare")]
    ChiSquare,
    /// Two-proportion Z-test p-value (`z`).
    #[serde(rename = "z")]
    Z,
    /// Hellinger distance (`hellinger`).
    #[serde(rename = "hellinger")]
    Hellinger,
    /// k-sample Anderson-Darling p-value (`anderson`).
    #[serde(rename = "anderson")]
    Anderson,
    /// Two-sample Cramér-von Mises p-value (`cramer_von_mises`).
    #[serde(rename = "cramer_von_mises")]
    CramerVonMises,
    /// Energy distance (`ed`).
    #[serde(rename = "ed")]
    Ed,
    /// Fisher's exact test p-value (`fisher_exact`).
    #[serde(rename = "fisher_exact")]
    FisherExact,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 12] = [
        Method::Psi,
        Method::KlDiv,
        Method::JensenShannon,
        Method::Wasserstein,
        Method::Ks,
        Method::ChiSquare,
        Method::Z,
        Method::Hellinger,
        Method::Anderson,
        Method::CramerVonMises,
        Method::Ed,
        Method::FisherExact,
    ];

    /// Evidently's id.
    pub fn id(self) -> &'static str {
        match self {
            Method::Psi => "psi",
            Method::KlDiv => "kl_div",
            Method::JensenShannon => "jensenshannon",
            Method::Wasserstein => "wasserstein",
            Method::Ks => "ks",
            Method::ChiSquare => "chisquare",
            Method::Z => "z",
            Method::Hellinger => "hellinger",
            Method::Anderson => "anderson",
            Method::CramerVonMises => "cramer_von_mises",
            Method::Ed => "ed",
            Method::FisherExact => "fisher_exact",
        }
    }

    /// Parses an id.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for Evidently methods this crate does not offer (`TVD` and
    /// `empirical_mmd` are permutation tests whose p-values are not reproducible;
    /// `g_test`, `t_test`, `mannw`, `es`, text drift), [`Error::Invalid`] for unknown ids.
    pub fn parse(id: &str) -> Result<Self> {
        if let Some(m) = Method::ALL.into_iter().find(|m| m.id() == id) {
            return Ok(m);
        }
        match id {
            "TVD" | "tvd" | "empirical_mmd" | "mmd" => Err(Error::Unsupported {
                what: format!("drift method {id:?}"),
                reason: "TVD and MMD are permutation tests (TVD: 1000 seeded shuffles; MMD: \
                         unseeded) whose p-values are not reproducible; out of scope"
                    .into(),
            }),
            "g_test"
            | "t_test"
            | "mannw"
            | "es"
            | "text_content_drift"
            | "abs_text_content_drift"
            | "perc_text_content_drift" => Err(Error::Unsupported {
                what: format!("drift method {id:?}"),
                reason: "not implemented in mlops-monitor".into(),
            }),
            _ => Err(Error::Invalid(format!(
                "unknown drift method {id:?}; expected one of {}",
                Method::ALL.map(Method::id).join(", ")
            ))),
        }
    }

    /// Evidently's default threshold.
    pub fn default_threshold(self) -> f64 {
        match self {
            Method::Ks | Method::ChiSquare | Method::Z => 0.05,
            _ => 0.1,
        }
    }

    /// Whether the score is a p-value (drift when small) rather than a distance.
    pub fn is_p_value(self) -> bool {
        matches!(
            self,
            Method::Ks
                | Method::ChiSquare
                | Method::Z
                | Method::Anderson
                | Method::CramerVonMises
                | Method::FisherExact
        )
    }

    /// The comparison `score <op> threshold` that means drift, exactly as Evidently decides:
    /// `ks` and `cramer_von_mises` p ≤ t; the other p-value tests p < t; `ed` score > t; the
    /// other distances score ≥ t.
    pub fn drift_when(self) -> Comparison {
        match self {
            Method::Ks | Method::CramerVonMises => Comparison::Le,
            Method::ChiSquare | Method::Z | Method::Anderson | Method::FisherExact => {
                Comparison::Lt
            }
            Method::Ed => Comparison::Gt,
            _ => Comparison::Ge,
        }
    }

    /// Column kinds Evidently allows for an explicitly requested method.
    pub fn allows(self, kind: ColumnKind) -> bool {
        match self {
            Method::Psi | Method::KlDiv | Method::JensenShannon | Method::Hellinger => true,
            Method::ChiSquare | Method::Z | Method::FisherExact => kind == ColumnKind::Categorical,
            _ => kind == ColumnKind::Numerical,
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

impl std::str::FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Method::parse(s)
    }
}

/// Which definition of the binned methods (PSI, KL, JS, Hellinger) is used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Identical to Evidently 0.7.23: Sturges equal-width bins over reference + current (or one
    /// bin per value when the reference has ≤ 20 distinct values), its per-side zero fill,
    /// natural-log JS.
    #[default]
    Evidently,
    /// Bins fitted on the reference only, so a stored [`crate::Profile`] can be reused: reference
    /// deciles for numbers (numpy `quantile`, linear; outer bins open), reference categories plus
    /// one bin for unseen values; proportions clipped below at [`STANDARD_EPSILON`] for PSI and
    /// KL; JS in base 2 (range [0, 1]). Non-binned methods are computed as in `evidently`.
    Standard,
}

/// The fixed epsilon of the `standard` family.
pub const STANDARD_EPSILON: f64 = 1e-4;

impl Family {
    /// `evidently` or `standard`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Evidently => "evidently",
            Family::Standard => "standard",
        }
    }
}

impl std::str::FromStr for Family {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "evidently" => Ok(Family::Evidently),
            "standard" => Ok(Family::Standard),
            _ => Err(Error::Invalid(format!(
                "unknown family {s:?}; expected evidently or standard"
            ))),
        }
    }
}

/// How the data were binned for a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Binning {
    /// Not a binned method.
    None,
    /// Evidently: Sturges equal-width bins over reference + current.
    SturgesCombined {
        /// Bin edges.
        edges: Vec<f64>,
    },
    /// Evidently Hellinger: Sturges bins over the distinct values of reference ∪ current.
    SturgesDistinct {
        /// Bin edges.
        edges: Vec<f64>,
    },
    /// One bin per distinct value of reference ∪ current.
    PerValue {
        /// Number of bins.
        bins: usize,
    },
    /// Standard: reference deciles (interior edges), outer bins open.
    ReferenceQuantiles {
        /// Interior edges.
        edges: Vec<f64>,
    },
    /// Standard: reference categories plus one bin for values unseen in the reference.
    ReferenceCategories {
        /// Number of reference categories.
        bins: usize,
    },
}

impl Binning {
    /// Short label for tables.
    pub fn label(&self) -> String {
        match self {
            Binning::None => "-".into(),
            Binning::SturgesCombined { edges } => {
                format!("sturges({} bins, ref+cur)", edges.len().saturating_sub(1))
            }
            Binning::SturgesDistinct { edges } => {
                format!("sturges({} bins, distinct)", edges.len().saturating_sub(1))
            }
            Binning::PerValue { bins } => format!("per-value({bins})"),
            Binning::ReferenceQuantiles { edges } => {
                format!("ref-quantiles({} bins)", edges.len() + 1)
            }
            Binning::ReferenceCategories { bins } => format!("ref-categories({bins}+unseen)"),
        }
    }
}
