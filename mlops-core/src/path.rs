//! Relative, normalised artifact paths. Paths from users are never trusted.
//!
//! ```
//! use mlops_core::path::ArtifactPath;
//! let p = ArtifactPath::new("model//./weights.bin").unwrap();
//! assert_eq!(p.as_str(), "model/weights.bin");
//! assert!(ArtifactPath::new("../etc/passwd").is_err());
//! assert!(ArtifactPath::new("/etc/passwd").is_err());
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A relative path inside an artifact tree: `/`-separated, no `.`/empty segments,
/// never `..`, never absolute, no NUL, no backslash, no Windows drive prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ArtifactPath(String);

const WHAT: &str = "artifact path";

impl ArtifactPath {
    /// Validates and normalises `raw`.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty path, an absolute path, a `..` segment,
    /// NUL, a backslash or a drive prefix.
    pub fn new(raw: impl AsRef<str>) -> Result<Self> {
        let raw = raw.as_ref();
        let bad = |reason: &str| Err(Error::invalid(WHAT, raw, reason));
        if raw.contains('\0') {
            return bad("contains NUL");
        }
        if raw.contains('\\') {
            return bad("contains a backslash; use '/' as the separator");
        }
        if raw.starts_with('/') {
            return bad("must be relative, not absolute");
        }
        let bytes = raw.as_bytes();
        if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
            return bad("must be relative, not a drive path");
        }
        let mut segs = Vec::new();
        for seg in raw.split('/') {
            match seg {
                "" | "." => {}
                ".." => return bad("must not contain '..'"),
                s if s.chars().any(char::is_control) => {
                    return bad("contains a control character");
                }
                s => segs.push(s),
            }
        }
        if segs.is_empty() {
            return bad("is empty");
        }
        Ok(Self(segs.join("/")))
    }

    /// The normalised path.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Joins `other` below this path.
    ///
    /// # Errors
    /// As [`ArtifactPath::new`] for `other`.
    pub fn join(&self, other: impl AsRef<str>) -> Result<Self> {
        let o = Self::new(other)?;
        Ok(Self(format!("{}/{}", self.0, o.0)))
    }

    /// The segments of the path.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The last segment (file name).
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

impl std::fmt::Display for ArtifactPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ArtifactPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for ArtifactPath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl TryFrom<String> for ArtifactPath {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Self::new(s)
    }
}

impl From<ArtifactPath> for String {
    fn from(p: ArtifactPath) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises() {
        assert_eq!(ArtifactPath::new("a/./b//c/").unwrap().as_str(), "a/b/c");
        assert_eq!(ArtifactPath::new("./x").unwrap().as_str(), "x");
        assert_eq!(ArtifactPath::new("a/b").unwrap().file_name(), "b");
    }

    #[test]
    fn refuses_traversal() {
        for bad in [
            "",
            ".",
            "/",
            "../x",
            "a/../../b",
            "a/..",
            "/abs",
            "a\0b",
            "a\\b",
            "C:x",
            "a/\n",
        ] {
            let e = ArtifactPath::new(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{bad:?}");
        }
        assert!(ArtifactPath::new("a").unwrap().join("../b").is_err());
    }

    proptest! {
        #[test]
        fn normalised_paths_never_escape(s in "[a-z./\\\\]{0,24}") {
            if let Ok(p) = ArtifactPath::new(&s) {
                prop_assert!(!p.as_str().starts_with('/'));
                prop_assert!(p.segments().all(|seg| !seg.is_empty() && seg != "." && seg != ".."));
                // normalising is idempotent
                prop_assert_eq!(ArtifactPath::new(p.as_str()).unwrap(), p);
            }
        }
    }
}
