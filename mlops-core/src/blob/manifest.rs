//! [`Manifest`]: a directory tree as relative paths → blobs, in canonical JSON.

use super::BlobRef;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::path::ArtifactPath;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The manifest format version written and accepted.
const VERSION: u32 = 1;

/// The files of a directory tree: relative [`ArtifactPath`] → blob digest and size.
///
/// Paths are validated and normalised; no path is both a file and the parent directory of
/// another file. The JSON form is canonical — compact, keys sorted byte-wise, fields in a
/// fixed order — so the same tree always gives the same bytes and the same [`Manifest::digest`]:
///
/// ```text
/// {"version":1,"files":{"a/b.bin":{"digest":"blake3:…","size":3}}}
/// ```
///
/// Parsing ([`Manifest::from_json`], or serde) re-validates every path: a manifest naming
/// `../x`, an absolute path or a non-normalised path is refused with `InvalidArgument`.
///
/// ```
/// use mlops_core::{Digest, blob::{BlobRef, Manifest}};
/// let mut m = Manifest::new();
/// let blob = BlobRef { digest: Digest::of(b"w"), size: 1 };
/// m.insert("model/weights.bin".parse()?, blob)?;
/// let json = m.to_json();
/// assert_eq!(Manifest::from_json(&json)?, m);
/// assert_eq!(m.digest(), Digest::of(&json));
/// assert!(Manifest::from_json(br#"{"version":1,"files":{"../x":{"digest":"blake3:00","size":0}}}"#).is_err());
/// # Ok::<(), mlops_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Wire", into = "Wire")]
pub struct Manifest {
    files: BTreeMap<ArtifactPath, BlobRef>,
    /// Every ancestor directory of a listed file (derived from `files`), for clash checks.
    dirs: BTreeSet<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    version: u32,
    files: BTreeMap<String, WireEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEntry {
    digest: Digest,
    size: u64,
}

impl Manifest {
    /// An empty manifest (an empty directory).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the file `path`. Re-inserting a path replaces its entry.
    ///
    /// # Errors
    /// `InvalidArgument` if `path` is an ancestor directory of a listed file, or a listed file
    /// is an ancestor directory of `path`.
    pub fn insert(&mut self, path: ArtifactPath, blob: BlobRef) -> Result<()> {
        let s = path.as_str();
        if self.dirs.contains(s) {
            let below = self
                .files
                .keys()
                .find(|k| k.as_str().starts_with(&format!("{s}/")))
                .map_or(s, |k| k.as_str());
            return Err(clash(below, s));
        }
        let ancestors: Vec<&str> = s.match_indices('/').map(|(i, _)| &s[..i]).collect();
        if let Some(a) = ancestors
            .iter()
            .find(|a| ArtifactPath::new(a).is_ok_and(|a| self.files.contains_key(&a)))
        {
            return Err(clash(s, a));
        }
        self.dirs.extend(ancestors.iter().map(|a| a.to_string()));
        self.files.insert(path, blob);
        Ok(())
    }

    /// The entry for `path`, if listed.
    pub fn get(&self, path: &str) -> Option<&BlobRef> {
        let p = ArtifactPath::new(path).ok()?;
        self.files.get(&p)
    }

    /// The entries, sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = (&ArtifactPath, &BlobRef)> {
        self.files.iter()
    }

    /// The number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when no file is listed.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The sum of the file sizes.
    pub fn total_size(&self) -> u64 {
        self.files.values().map(|b| b.size).sum()
    }

    /// The canonical JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain maps, strings and integers cannot fail; fall back to an empty
        // manifest's bytes rather than panic if serde_json ever disagreed.
        serde_json::to_vec(&Wire::from(self.clone()))
            .unwrap_or_else(|_| br#"{"version":1,"files":{}}"#.to_vec())
    }

    /// The digest of [`Manifest::to_json`]: the manifest's identity as a blob.
    pub fn digest(&self) -> Digest {
        Digest::of(&self.to_json())
    }

    /// Parses and validates manifest JSON.
    ///
    /// # Errors
    /// `InvalidArgument` for malformed JSON, an unknown version or field, or any path that is
    /// not relative, normalised and free of `..` (the error names the path).
    pub fn from_json(json: &[u8]) -> Result<Self> {
        let wire: Wire = serde_json::from_slice(json).map_err(|e| {
            Error::invalid(
                "manifest",
                format!("{} bytes", json.len()),
                format!("not a manifest: {e}"),
            )
        })?;
        Self::try_from(wire)
    }
}

fn clash(file: &str, dir: &str) -> Error {
    Error::invalid(
        "manifest path",
        file,
        format!("'{dir}' is listed as a file and also as a directory"),
    )
}

impl TryFrom<Wire> for Manifest {
    type Error = Error;
    fn try_from(w: Wire) -> Result<Self> {
        if w.version != VERSION {
            return Err(Error::invalid(
                "manifest version",
                w.version.to_string(),
                format!("this build reads version {VERSION}"),
            ));
        }
        let mut m = Manifest::new();
        for (raw, e) in w.files {
            let path = ArtifactPath::new(&raw)?;
            if path.as_str() != raw {
                return Err(Error::invalid(
                    "manifest path",
                    raw,
                    "is not normalised (expected no '.', empty or trailing segments)",
                ));
            }
            m.insert(
                path,
                BlobRef {
                    digest: e.digest,
                    size: e.size,
                },
            )?;
        }
        Ok(m)
    }
}

impl From<Manifest> for Wire {
    fn from(m: Manifest) -> Wire {
        Wire {
            version: VERSION,
            files: m
                .files
                .into_iter()
                .map(|(p, b)| {
                    (
                        String::from(p),
                        WireEntry {
                            digest: b.digest,
                            size: b.size,
                        },
                    )
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn blob(s: &[u8]) -> BlobRef {
        BlobRef {
            digest: Digest::of(s),
            size: s.len() as u64,
        }
    }

    fn p(s: &str) -> ArtifactPath {
        ArtifactPath::new(s).unwrap()
    }

    #[test]
    fn canonical_json_is_sorted_and_stable() {
        let mut a = Manifest::new();
        a.insert(p("z.txt"), blob(b"z")).unwrap();
        a.insert(p("a/b.txt"), blob(b"b")).unwrap();
        let mut b = Manifest::new();
        b.insert(p("a/b.txt"), blob(b"b")).unwrap();
        b.insert(p("z.txt"), blob(b"z")).unwrap();
        assert_eq!(a.to_json(), b.to_json());
        assert_eq!(a.digest(), b.digest());
        let json = String::from_utf8(a.to_json()).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"version":1,"files":{{"a/b.txt":{{"digest":"{}","size":1}},"z.txt":{{"digest":"{}","size":1}}}}}}"#,
                Digest::of(b"b"),
                Digest::of(b"z")
            )
        );
        assert_eq!(a.total_size(), 2);
        assert_eq!(a.get("./a/b.txt"), Some(&blob(b"b")));
    }

    #[test]
    fn empty_manifest_round_trips() {
        let m = Manifest::new();
        assert_eq!(m.to_json(), br#"{"version":1,"files":{}}"#);
        assert_eq!(Manifest::from_json(&m.to_json()).unwrap(), m);
        assert!(m.is_empty());
    }

    #[test]
    fn refuses_file_dir_clashes() {
        let mut m = Manifest::new();
        m.insert(p("a/b"), blob(b"1")).unwrap();
        assert_eq!(
            m.insert(p("a"), blob(b"2")).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert!(m.insert(p("a/b/c"), blob(b"3")).is_err());
        // Siblings whose names share a prefix are fine.
        m.insert(p("a.txt"), blob(b"4")).unwrap();
        m.insert(p("a/bc"), blob(b"5")).unwrap();
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn parsing_revalidates_paths() {
        let d = Digest::of(b"x");
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a//b",
            "./a",
            "a\\b",
            "",
        ] {
            let json = format!(
                r#"{{"version":1,"files":{{{}:{{"digest":"{d}","size":1}}}}}}"#,
                serde_json::to_string(bad).unwrap()
            );
            let e = Manifest::from_json(json.as_bytes()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
        let e = Manifest::from_json(br#"{"version":2,"files":{}}"#).unwrap_err();
        assert!(e.to_string().contains("version"), "{e}");
        let e = Manifest::from_json(br#"{"version":1,"files":{},"x":1}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(Manifest::from_json(b"not json").is_err());
    }

    #[test]
    fn serde_uses_the_same_form() {
        let mut m = Manifest::new();
        m.insert(p("f"), blob(b"f")).unwrap();
        let v = serde_json::to_vec(&m).unwrap();
        assert_eq!(v, m.to_json());
        let back: Manifest = serde_json::from_slice(&v).unwrap();
        assert_eq!(back, m);
        let bad = br#"{"version":1,"files":{"../f":{"digest":"blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262","size":0}}}"#;
        assert!(serde_json::from_slice::<Manifest>(bad).is_err());
    }
}
