//! The registry conformance suite: every backend and every layer runs
//! [`run_all`]. Each check uses a fresh random model-name namespace, asserts
//! values (panicking with a message on a mismatch), skips what
//! [`Capabilities`](crate::Capabilities) rules out, and deletes what it created
//! when the backend can.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_registry::Result<()> {
//! let reg = mlops_registry::EmbeddedRegistry::builder().with_url("memory://").build()?;
//! let ran = mlops_registry::conformance::run_all(&reg).await?;
//! assert!(ran >= 10);
//! # Ok(()) }
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed step is a failed check

use crate::error::Result;
use crate::registry::{ModelRegistry, RegistryExt};
use crate::types::{
    CreateModelOptions, ModelQuery, ModelUpdate, NewModelVersion, VersionQuery, VersionStatus,
    VersionUpdate,
};
use mlops_core::name::{Alias, ModelName};
use mlops_core::path::ArtifactPath;
use mlops_core::{DatasetRef, Digest, ErrorKind, LineageRef, Principal, RunRef};

fn ns() -> String {
    // `t-<32 hex>`; model names built on it stay under 63 characters.
    mlops_core::testkit::namespace()
}

fn model(ns: &str, suffix: &str) -> ModelName {
    format!("{ns}-{suffix}").parse().unwrap()
}

fn alice() -> Principal {
    Principal::user("alice")
}

async fn cleanup(reg: &dyn ModelRegistry, names: &[&ModelName]) {
    if reg.capabilities().delete_models {
        for n in names {
            let _ = reg.delete_model(n).await;
        }
    }
}

/// Runs every check that the backend's capabilities allow; returns how many ran.
///
/// # Errors
/// A store failure a check did not expect (assertion failures panic).
pub async fn run_all(reg: &dyn ModelRegistry) -> Result<usize> {
    let caps = reg.capabilities();
    let mut ran = 0;
    model_lifecycle(reg).await?;
    ran += 1;
    names_are_validated(reg).await?;
    ran += 1;
    version_numbers(reg).await?;
    ran += 1;
    version_fields_round_trip(reg).await?;
    ran += 1;
    version_updates(reg).await?;
    ran += 1;
    search_versions_pages(reg).await?;
    ran += 1;
    search_models_pages(reg).await?;
    ran += 1;
    concurrent_versions(reg, 16).await?;
    ran += 1;
    unsupported_is_reported(reg).await?;
    ran += 1;
    if caps.native_aliases {
        aliases(reg).await?;
        ran += 1;
    }
    if caps.delete_versions {
        delete_versions(reg).await?;
        ran += 1;
    }
    if caps.delete_models {
        delete_and_recreate_model(reg).await?;
        ran += 1;
    }
    Ok(ran)
}

/// Create, read, duplicate create, update description and tags.
///
/// # Errors
/// Unexpected store failures.
pub async fn model_lifecycle(reg: &dyn ModelRegistry) -> Result<()> {
    let ns = ns();
    let m = model(&ns, "life");
    let created = reg
        .create_model_opts(
            &m,
            CreateModelOptions::default()
                .with_description("first")
                .with_tag("team", "risk"),
        )
        .await?;
    assert_eq!(created.name, m);
    assert_eq!(created.description.as_deref(), Some("first"));
    assert_eq!(created.latest_version, None);
    let dup = reg.create_model(&m).await.unwrap_err();
    assert_eq!(dup.kind(), ErrorKind::AlreadyExists, "{dup}");
    assert_eq!(
        dup.to_string(),
        format!("registered model already exists: {m}")
    );
    if reg.capabilities().model_tags {
        let u = reg
            .update_model(
                &m,
                ModelUpdate::default()
                    .description("second")
                    .set_tag("tier", "1")
                    .remove_tag("team"),
            )
            .await?;
        assert_eq!(u.description.as_deref(), Some("second"));
        assert_eq!(u.tags.get("tier").map(String::as_str), Some("1"));
        assert!(!u.tags.contains_key("team"));
        let got = reg.get_model(&m).await?;
        assert_eq!(got.tags, u.tags);
    }
    let missing = model(&ns, "missing");
    let e = reg.get_model(&missing).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        e.to_string(),
        format!("registered model not found: {missing}")
    );
    cleanup(reg, &[&m]).await;
    Ok(())
}

/// Bad names never reach the backend; messages name the value and the rule.
///
/// # Errors
/// Never.
pub async fn names_are_validated(_reg: &dyn ModelRegistry) -> Result<()> {
    let e = "fraud_detector".parse::<ModelName>().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(
        e.to_string()
            .starts_with("invalid model name \"fraud_detector\""),
        "{e}"
    );
    let e = "latest".parse::<Alias>().unwrap_err();
    assert!(e.to_string().contains("not 'latest'"), "{e}");
    let e = ArtifactPath::new("../x").unwrap_err();
    assert!(e.to_string().contains(".."), "{e}");
    let e = NewModelVersion::new(&alice())
        .with_tag("a:b", "x")
        .validate()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    Ok(())
}

/// Versions are numbered 1, 2, 3; unknown versions are `NotFound`.
///
/// # Errors
/// Unexpected store failures.
pub async fn version_numbers(reg: &dyn ModelRegistry) -> Result<()> {
    let m = model(&ns(), "nums");
    reg.create_model(&m).await?;
    for want in 1..=3 {
        let v = reg
            .create_version(&m, NewModelVersion::new(&alice()))
            .await?;
        assert_eq!(v.version, want);
        assert_eq!(v.status, VersionStatus::Ready);
    }
    assert_eq!(reg.latest_version(&m).await?, Some(3));
    let e = reg.get_version(&m, 99).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.to_string(), format!("model {m} has no version 99"));
    let unknown = model(&ns(), "none");
    let e = reg
        .create_version(&unknown, NewModelVersion::new(&alice()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    cleanup(reg, &[&m]).await;
    Ok(())
}

/// Artifacts, lineage, signature, metrics, creator and tags survive a round trip.
///
/// # Errors
/// Unexpected store failures.
pub async fn version_fields_round_trip(reg: &dyn ModelRegistry) -> Result<()> {
    let m = model(&ns(), "fields");
    reg.create_model(&m).await?;
    let lineage = LineageRef::default()
        .with_run(RunRef {
            tracking_uri: "file:///mlruns".into(),
            run_id: "r1".into(),
        })
        .with_dataset(DatasetRef {
            uri: "file:///data/train.parquet".into(),
            digest: Digest::of(b"train"),
        })
        .with_code_revision("3f2a9c1");
    let weights = ArtifactPath::new("model/weights.bin")?;
    let conf = ArtifactPath::new("model/config.json")?;
    let new = NewModelVersion::new(&alice())
        .with_artifact(weights.clone(), vec![7u8; 4096])
        .with_artifact(conf.clone(), "{\"depth\":3}")
        .with_lineage(lineage.clone())
        .with_signature(serde_json::json!({"inputs": [{"name": "amount", "type": "double"}]}))
        .with_metric("auc", 0.91)
        .with_description("gbm")
        .with_tag("framework", "xgboost");
    let v = reg.create_version(&m, new).await?;
    let got = reg.get_version(&m, v.version).await?;
    assert_eq!(got, v);
    assert_eq!(got.lineage, lineage);
    assert_eq!(got.creator, "alice");
    assert_eq!(got.metrics["auc"], 0.91);
    assert_eq!(got.tags["framework"], "xgboost");
    assert_eq!(
        got.signature.as_ref().unwrap()["inputs"][0]["name"],
        "amount"
    );
    assert_eq!(got.artifacts.len(), 2);
    assert_eq!(
        got.artifacts.get(weights.as_str()).unwrap().digest,
        Digest::of(&[7u8; 4096])
    );
    assert_eq!(got.manifest_digest, got.artifacts.digest());
    assert_eq!(
        &reg.get_artifact(&m, v.version, &conf).await?[..],
        b"{\"depth\":3}"
    );
    let all = reg.get_all_artifacts(&m, v.version).await?;
    assert_eq!(all.len(), 2);
    let e = reg
        .get_artifact(&m, v.version, &ArtifactPath::new("nope")?)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("has no artifact nope"), "{e}");
    cleanup(reg, &[&m]).await;
    Ok(())
}

/// Description, tags and status of a version change; search filters on them.
///
/// # Errors
/// Unexpected store failures.
pub async fn version_updates(reg: &dyn ModelRegistry) -> Result<()> {
    let caps = reg.capabilities();
    let m = model(&ns(), "upd");
    reg.create_model(&m).await?;
    reg.create_version(&m, NewModelVersion::new(&alice()).with_tag("a", "1"))
        .await?;
    reg.create_version(&m, NewModelVersion::new(&alice()))
        .await?;
    if caps.version_tags {
        let v = reg
            .update_version(
                &m,
                1,
                VersionUpdate::default()
                    .description("tuned")
                    .set_tag("b", "2")
                    .remove_tag("a"),
            )
            .await?;
        assert_eq!(v.description.as_deref(), Some("tuned"));
        assert_eq!(v.tags.get("b").map(String::as_str), Some("2"));
        assert!(!v.tags.contains_key("a"));
        let q = VersionQuery {
            tag: Some(("b".into(), "2".into())),
            ..VersionQuery::default()
        };
        let found = reg.search_versions(&m, &q).await?;
        assert_eq!(
            found.items.iter().map(|v| v.version).collect::<Vec<_>>(),
            vec![1]
        );
    }
    if caps.archive_versions {
        let v = reg.archive_version(&m, 2).await?;
        assert_eq!(v.status, VersionStatus::Archived);
        let q = VersionQuery {
            status: Some(VersionStatus::Ready),
            ..VersionQuery::default()
        };
        let ready = reg.search_versions(&m, &q).await?;
        assert_eq!(
            ready.items.iter().map(|v| v.version).collect::<Vec<_>>(),
            vec![1]
        );
        let v = reg
            .update_version(&m, 2, VersionUpdate::default().status(VersionStatus::Ready))
            .await?;
        assert_eq!(v.status, VersionStatus::Ready);
    }
    let e = reg
        .update_version(&m, 42, VersionUpdate::default().description("x"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    cleanup(reg, &[&m]).await;
    Ok(())
}

/// Version search pages follow each other without loss or repetition.
///
/// # Errors
/// Unexpected store failures.
pub async fn search_versions_pages(reg: &dyn ModelRegistry) -> Result<()> {
    let m = model(&ns(), "pages");
    reg.create_model(&m).await?;
    for _ in 0..5 {
        reg.create_version(&m, NewModelVersion::new(&alice()))
            .await?;
    }
    let mut q = VersionQuery {
        page_size: 2,
        ..VersionQuery::default()
    };
    let mut seen = vec![];
    let mut pages = 0;
    loop {
        let p = reg.search_versions(&m, &q).await?;
        pages += 1;
        assert!(p.items.len() <= 2);
        seen.extend(p.items.iter().map(|v| v.version));
        match p.next_page_token {
            Some(t) => q.page_token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen, vec![1, 2, 3, 4, 5]);
    assert_eq!(pages, 3);
    assert_eq!(reg.all_versions(&m).await?.len(), 5);
    let bad = VersionQuery {
        page_size: 0,
        ..VersionQuery::default()
    };
    let e = reg.search_versions(&m, &bad).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    cleanup(reg, &[&m]).await;
    Ok(())
}

/// Model search by prefix and tag, paged, sorted by name.
///
/// # Errors
/// Unexpected store failures.
pub async fn search_models_pages(reg: &dyn ModelRegistry) -> Result<()> {
    let ns = ns();
    let names: Vec<ModelName> = ["a", "b", "c"].iter().map(|s| model(&ns, s)).collect();
    for (i, n) in names.iter().enumerate() {
        let opts = CreateModelOptions::default().with_tag("odd", (i % 2).to_string());
        reg.create_model_opts(n, opts).await?;
    }
    let mut q = ModelQuery {
        name_prefix: Some(ns.clone()),
        page_size: 2,
        ..ModelQuery::default()
    };
    let p1 = reg.search_models(&q).await?;
    assert_eq!(p1.items.len(), 2);
    q.page_token = p1.next_page_token.clone();
    assert!(q.page_token.is_some());
    let p2 = reg.search_models(&q).await?;
    let got: Vec<_> = p1
        .items
        .iter()
        .chain(&p2.items)
        .map(|m| m.name.clone())
        .collect();
    assert_eq!(got, names);
    if reg.capabilities().model_tags {
        let q = ModelQuery {
            name_prefix: Some(ns.clone()),
            tag: Some(("odd".into(), "1".into())),
            ..ModelQuery::default()
        };
        let odd = reg.search_models(&q).await?;
        assert_eq!(odd.items.len(), 1);
        assert_eq!(odd.items[0].name, names[1]);
    }
    cleanup(reg, &names.iter().collect::<Vec<_>>()).await;
    Ok(())
}

/// `n` tasks create versions of one model at once: 1..=n, no gap, no duplicate.
///
/// # Errors
/// Unexpected store failures.
pub async fn concurrent_versions(reg: &dyn ModelRegistry, n: u64) -> Result<()> {
    let m = model(&ns(), "race");
    reg.create_model(&m).await?;
    let tasks = (0..n).map(|i| {
        let m = &m;
        async move {
            reg.create_version(
                m,
                NewModelVersion::new(&alice()).with_tag("writer", i.to_string()),
            )
            .await
        }
    });
    let mut got: Vec<u64> = futures::future::try_join_all(tasks)
        .await?
        .into_iter()
        .map(|v| v.version)
        .collect();
    got.sort_unstable();
    assert_eq!(got, (1..=n).collect::<Vec<_>>());
    let all = reg.all_versions(&m).await?;
    let mut writers: Vec<_> = all.iter().map(|v| v.tags["writer"].clone()).collect();
    writers.sort();
    writers.dedup();
    assert_eq!(
        writers.len() as u64,
        n,
        "every writer's version exists once"
    );
    cleanup(reg, &[&m]).await;
    Ok(())
}

/// `n` tasks register the same model name at once: exactly one wins, the rest
/// get `AlreadyExists`. Not part of [`run_all`]: emulators (moto) do not all
/// refuse duplicate creates, so backends opt in where the service guarantees it.
///
/// # Errors
/// Unexpected store failures.
pub async fn concurrent_model_create(reg: &dyn ModelRegistry, n: usize) -> Result<()> {
    let m = model(&ns(), "dup");
    let results = futures::future::join_all((0..n).map(|_| reg.create_model(&m))).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "exactly one creator wins");
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(r.kind(), ErrorKind::AlreadyExists, "{r}");
    }
    assert_eq!(reg.get_model(&m).await?.name, m);
    cleanup(reg, &[&m]).await;
    Ok(())
}

/// Aliases: set, move, resolve, list on the version, delete.
///
/// # Errors
/// Unexpected store failures.
pub async fn aliases(reg: &dyn ModelRegistry) -> Result<()> {
    let m = model(&ns(), "alias");
    reg.create_model(&m).await?;
    reg.create_version(&m, NewModelVersion::new(&alice()))
        .await?;
    reg.create_version(&m, NewModelVersion::new(&alice()))
        .await?;
    let champ: Alias = "champion".parse()?;
    reg.set_alias(&m, &champ, 1).await?;
    assert_eq!(reg.resolve_alias(&m, &champ).await?.version, 1);
    reg.set_alias(&m, &champ, 2).await?;
    reg.set_alias(&m, &champ, 2).await?; // idempotent
    let v2 = reg.resolve_alias(&m, &champ).await?;
    assert_eq!(v2.version, 2);
    assert_eq!(v2.aliases, vec![champ.clone()]);
    assert!(reg.get_version(&m, 1).await?.aliases.is_empty());
    assert_eq!(reg.get_model(&m).await?.aliases.get(&champ), Some(&2));
    let e = reg.set_alias(&m, &champ, 9).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    reg.delete_alias(&m, &champ).await?;
    let e = reg.resolve_alias(&m, &champ).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.to_string(), format!("model {m} has no alias champion"));
    let e = reg.delete_alias(&m, &champ).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    cleanup(reg, &[&m]).await;
    Ok(())
}

/// Deleting a version hides it and drops aliases pointing at it.
///
/// # Errors
/// Unexpected store failures.
pub async fn delete_versions(reg: &dyn ModelRegistry) -> Result<()> {
    let m = model(&ns(), "delv");
    reg.create_model(&m).await?;
    for _ in 0..3 {
        reg.create_version(&m, NewModelVersion::new(&alice()))
            .await?;
    }
    let a: Alias = "doomed".parse()?;
    if reg.capabilities().native_aliases {
        reg.set_alias(&m, &a, 2).await?;
    }
    reg.delete_version(&m, 2).await?;
    let e = reg.get_version(&m, 2).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let left: Vec<_> = reg
        .all_versions(&m)
        .await?
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(left, vec![1, 3]);
    if reg.capabilities().native_aliases {
        assert_eq!(
            reg.resolve_alias(&m, &a).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
    // the next version never reuses a number
    let v = reg
        .create_version(&m, NewModelVersion::new(&alice()))
        .await?;
    assert_eq!(v.version, 4);
    cleanup(reg, &[&m]).await;
    Ok(())
}

/// A deleted model is gone with its versions; the name can be registered again.
///
/// # Errors
/// Unexpected store failures.
pub async fn delete_and_recreate_model(reg: &dyn ModelRegistry) -> Result<()> {
    let m = model(&ns(), "delm");
    reg.create_model(&m).await?;
    reg.create_version(&m, NewModelVersion::new(&alice()))
        .await?;
    reg.delete_model(&m).await?;
    assert_eq!(
        reg.get_model(&m).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        reg.get_version(&m, 1).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let e = reg.delete_model(&m).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    reg.create_model(&m).await?;
    assert!(reg.all_versions(&m).await?.is_empty());
    assert_eq!(reg.latest_version(&m).await?, None);
    cleanup(reg, &[&m]).await;
    Ok(())
}

/// Every capability the backend lacks answers `Unsupported`, never silence.
///
/// # Errors
/// Unexpected store failures.
pub async fn unsupported_is_reported(reg: &dyn ModelRegistry) -> Result<()> {
    let caps = reg.capabilities();
    let m = model(&ns(), "unsup");
    reg.create_model(&m).await?;
    reg.create_version(&m, NewModelVersion::new(&alice()))
        .await?;
    let a: Alias = "x".parse()?;
    let expect = |r: Result<()>| {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    };
    if !caps.native_aliases {
        expect(reg.set_alias(&m, &a, 1).await);
    }
    if !caps.delete_versions {
        expect(reg.delete_version(&m, 1).await);
    }
    if !caps.archive_versions {
        expect(reg.archive_version(&m, 1).await.map(drop));
    }
    if !caps.version_tags {
        expect(reg.set_version_tag(&m, 1, "k", "v").await);
    }
    if !caps.model_tags {
        expect(reg.set_model_tag(&m, "k", "v").await);
    }
    let delete_ok = caps.delete_models;
    cleanup(reg, &[&m]).await;
    if !delete_ok {
        expect(reg.delete_model(&m).await);
    }
    Ok(())
}
