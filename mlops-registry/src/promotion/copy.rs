//! Cross-registry promotion: copy a version and its artifacts, verify on arrival.

use crate::error::Result;
use crate::registry::{ModelRegistry, RegistryExt};
use crate::types::{ModelVersion, NewModelVersion};
use mlops_core::name::ModelName;
use mlops_core::{Digest, ModelVersionRef, Principal};

/// Copies `model` version `version` from `src` to `dst` (creating the model in
/// `dst` if needed): every artifact is downloaded verified, uploaded, then read
/// back from `dst` and checked against the **source** manifest's digests. The
/// copy's lineage keeps the source's and points `parent` at the source version.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_registry::Result<()> {
/// use mlops_registry::{EmbeddedRegistry, ModelRegistry, RegistryExt, NewModelVersion};
/// use mlops_registry::promotion::copy_version;
/// use mlops_core::{Principal, path::ArtifactPath};
/// let dev = EmbeddedRegistry::builder().with_url("memory://dev").build()?;
/// let prod = EmbeddedRegistry::builder().with_url("memory://prod").build()?;
/// let m = "fraud".parse()?;
/// dev.create_model(&m).await?;
/// let ci = Principal::service("ci");
/// dev.create_version(&m, NewModelVersion::new(&ci).with_artifact(ArtifactPath::new("m.bin")?, "w")).await?;
/// let copied = copy_version(&dev, &prod, &m, 1, &ci).await?;
/// assert_eq!(copied.lineage.parent.unwrap().registry, "memory://dev");
/// # Ok(()) }
/// ```
///
/// # Errors
/// `NotFound` for an unknown source version; `Integrity` when a byte differs
/// (at the source or on arrival); store failures on either side.
pub async fn copy_version(
    src: &dyn ModelRegistry,
    dst: &dyn ModelRegistry,
    model: &ModelName,
    version: u64,
    by: &Principal,
) -> Result<ModelVersion> {
    let v = src.get_version(model, version).await?;
    let files = src.get_all_artifacts(model, version).await?;
    dst.ensure_model(model).await?;
    let mut lineage = v.lineage.clone();
    lineage.parent = Some(ModelVersionRef {
        registry: src.uri(),
        model: model.to_string(),
        version,
    });
    let new = NewModelVersion {
        artifacts: files,
        lineage,
        signature: v.signature.clone(),
        metrics: v.metrics.clone(),
        description: v.description.clone(),
        tags: v.tags.clone(),
        creator: by.id.clone(),
    };
    let copied = dst.create_version(model, new).await?;
    // Verify on arrival against the source manifest, not the destination's own.
    for (path, entry) in v.artifacts.iter() {
        let bytes = dst.get_artifact(model, copied.version, path).await?;
        let actual = Digest::of(&bytes);
        if actual != entry.digest {
            return Err(mlops_core::Error::Integrity {
                what: format!("copied artifact {path} of {model} in {dst}"),
                expected: entry.digest.to_string(),
                actual: actual.to_string(),
            }
            .into());
        }
    }
    if copied.artifacts != v.artifacts {
        return Err(mlops_core::Error::Integrity {
            what: format!("artifact manifest of {model} copied to {dst}"),
            expected: v.manifest_digest.to_string(),
            actual: copied.manifest_digest.to_string(),
        }
        .into());
    }
    Ok(copied)
}
