//! [`Digest`]: a blake3 content digest, written `blake3:<64 hex>`.
//!
//! ```
//! use mlops_core::Digest;
//! let d = Digest::of(b"hello");
//! let s = d.to_string();
//! assert!(s.starts_with("blake3:"));
//! assert_eq!(s.parse::<Digest>().unwrap(), d);
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A blake3 digest of some bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest([u8; 32]);

const PREFIX: &str = "blake3:";

impl Digest {
    /// Hashes `bytes` (single-threaded).
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    /// Wraps a finished blake3 hash.
    pub fn from_hash(h: blake3::Hash) -> Self {
        Self(*h.as_bytes())
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lower-case hex characters, without the `blake3:` prefix.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters, with or without the `blake3:` prefix.
    ///
    /// # Errors
    /// `InvalidArgument` naming the bad value.
    pub fn parse(s: &str) -> Result<Self> {
        let hexpart = s.strip_prefix(PREFIX).unwrap_or(s);
        let mut out = [0u8; 32];
        if hexpart.len() != 64 || hex::decode_to_slice(hexpart, &mut out).is_err() {
            return Err(Error::invalid(
                "digest",
                s,
                "expected 'blake3:' followed by 64 hex characters",
            ));
        }
        Ok(Self(out))
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{PREFIX}{}", self.to_hex())
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl std::str::FromStr for Digest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Digest {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // blake3("") from the reference implementation's test vectors.
        assert_eq!(
            Digest::of(b"").to_hex(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(Digest::parse("blake3:zz").is_err());
        assert!(Digest::parse(&"a".repeat(63)).is_err());
        assert!(Digest::parse(&"a".repeat(64)).is_ok());
    }
}
