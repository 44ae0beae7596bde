//! The one TLS provider of the tree: rustls on `ring` (no aws-lc-sys C build).

/// Installs `ring` as rustls' process-wide provider, once; later calls (and a
/// provider installed by the application first) are left alone.
///
/// object_store's cloud clients build their own reqwest client and need a
/// process default; our own HTTP client passes an explicit config instead.
pub fn install_ring_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // An Err means the application installed a provider already: keep theirs.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
