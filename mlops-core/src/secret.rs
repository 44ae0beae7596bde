//! [`Secret<T>`]: a credential that never shows itself in `Debug` or logs.
//!
//! ```
//! use mlops_core::Secret;
//! let token = Secret::new("s3cr3t".to_string());
//! assert_eq!(format!("{token:?}"), "Secret([REDACTED])");
//! assert_eq!(token.expose(), "s3cr3t");
//! ```

/// A value (password, token, key) whose `Debug` is redacted and which has no
/// `Display`. [`Secret::expose`] marks each place where it crosses a boundary.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret value. Call this only where the value leaves the process
    /// (an HTTP header, a signature).
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the secret.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Secret<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_inside_structs() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Creds {
            user: String,
            password: Secret<String>,
        }
        let c = Creds {
            user: "bob".into(),
            password: Secret::new("hunter2".into()),
        };
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("bob"));
        assert_eq!(c.password.expose(), "hunter2");
    }
}
