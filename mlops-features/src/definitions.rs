//! Definitions: entities, feature views, feature services; builders, YAML, validation, diff.

use crate::error::{Error, Result};
use crate::offline::{HistoricalView, open_source};
use crate::types::{FeatureRef, SourceLocation, ValueType};
use mlops_core::name::{NameKind, validate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// One join key of an entity: its column name and type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinKey {
    /// Column name, in entity rows and in sources.
    pub name: String,
    /// Declared type.
    #[serde(rename = "type")]
    pub value_type: ValueType,
}

/// An entity: what features describe (a driver, a customer), identified by its join keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Entity {
    /// The entity name.
    pub name: String,
    /// Its join keys (one or more).
    pub join_keys: Vec<JoinKey>,
    /// Free text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Tags, e.g. `owner`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl Entity {
    /// An entity `name` without keys yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            join_keys: Vec::new(),
            description: String::new(),
            tags: BTreeMap::new(),
        }
    }
    /// Adds a join key.
    pub fn with_join_key(mut self, name: impl Into<String>, value_type: ValueType) -> Self {
        self.join_keys.push(JoinKey {
            name: name.into(),
            value_type,
        });
        self
    }
    /// Sets the description.
    pub fn with_description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }
}

/// A feature (column) of a view and its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feature {
    /// Column name in the source.
    pub name: String,
    /// Declared type.
    #[serde(rename = "type")]
    pub value_type: ValueType,
}

/// Where a view's rows come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Source {
    /// One Parquet object (`file:///d/x.parquet`) or a prefix (`s3://bucket/stats/`).
    pub url: String,
    /// The event-time column.
    #[serde(default = "default_ts")]
    pub timestamp_field: String,
    /// The created-time column (tie-breaker), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_timestamp_column: Option<String>,
}

fn default_ts() -> String {
    "event_timestamp".into()
}

impl Source {
    /// A Parquet source at `url` with event time `event_timestamp` and no created column.
    pub fn parquet(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            timestamp_field: default_ts(),
            created_timestamp_column: None,
        }
    }
    /// Sets the event-time column.
    pub fn with_timestamp_field(mut self, col: impl Into<String>) -> Self {
        self.timestamp_field = col.into();
        self
    }
    /// Sets the created-time column.
    pub fn with_created_column(mut self, col: impl Into<String>) -> Self {
        self.created_timestamp_column = Some(col.into());
        self
    }
}

/// A feature view: features of some entities, read from a source, valid for `ttl_seconds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FeatureView {
    /// The view name.
    pub name: String,
    /// Entities by name; the view joins on all their keys.
    #[serde(default)]
    pub entities: Vec<String>,
    /// The features.
    pub features: Vec<Feature>,
    /// Maximum age of a row relative to the entity time (offline) or now (online); 0 = none.
    #[serde(default)]
    pub ttl_seconds: u64,
    /// Where the rows are.
    pub source: Source,
    /// Tags, e.g. `owner`, `pii`, `phi`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl FeatureView {
    /// A view `name` over `source`.
    pub fn new(name: impl Into<String>, source: Source) -> Self {
        Self {
            name: name.into(),
            entities: Vec::new(),
            features: Vec::new(),
            ttl_seconds: 0,
            source,
            tags: BTreeMap::new(),
        }
    }
    /// Adds an entity (by name).
    pub fn with_entity(mut self, entity: impl Into<String>) -> Self {
        self.entities.push(entity.into());
        self
    }
    /// Adds a feature.
    pub fn with_feature(mut self, name: impl Into<String>, value_type: ValueType) -> Self {
        self.features.push(Feature {
            name: name.into(),
            value_type,
        });
        self
    }
    /// Sets the ttl (whole seconds; zero = none).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl_seconds = ttl.as_secs();
        self
    }
    /// Adds a tag (`owner`, `pii`, `phi`, ...).
    pub fn with_tag(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.tags.insert(k.into(), v.into());
        self
    }
    /// The ttl.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_seconds)
    }
}

/// A named set of feature references, e.g. everything one model needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FeatureService {
    /// The service name.
    pub name: String,
    /// `view:feature` references.
    pub features: Vec<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl FeatureService {
    /// A service `name` without features yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            features: Vec::new(),
            tags: BTreeMap::new(),
        }
    }
    /// Adds a `view:feature` reference.
    pub fn with_feature(mut self, r: impl Into<String>) -> Self {
        self.features.push(r.into());
        self
    }
}

/// Everything applied at once: entities, feature views, feature services.
///
/// ```
/// use mlops_features::{Definitions, Entity, FeatureView, Source, ValueType};
/// let yaml = r#"
/// entities:
///   - name: driver
///     join_keys: [{name: driver_id, type: int64}]
/// feature_views:
///   - name: driver_stats
///     entities: [driver]
///     ttl_seconds: 21600
///     features: [{name: conv_rate, type: float64}]
///     source: {url: "file:///data/driver.parquet", created_timestamp_column: created}
///     tags: {owner: ml-team, pii: "false"}
/// "#;
/// let defs = Definitions::from_yaml(yaml)?;
/// assert_eq!(defs.feature_views[0].ttl_seconds, 21600);
/// defs.check()?;
/// let built = Definitions::new()
///     .with_entity(Entity::new("driver").with_join_key("driver_id", ValueType::Int64));
/// assert_eq!(built.entities, defs.entities);
/// # Ok::<(), mlops_features::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Definitions {
    /// Entities.
    #[serde(default)]
    pub entities: Vec<Entity>,
    /// Feature views.
    #[serde(default)]
    pub feature_views: Vec<FeatureView>,
    /// Feature services.
    #[serde(default)]
    pub feature_services: Vec<FeatureService>,
}

/// What changed between two versions of the definitions, as `kind:name` items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefinitionsDiff {
    /// Present only in the newer version.
    pub added: Vec<String>,
    /// Present only in the older version.
    pub removed: Vec<String>,
    /// Present in both, but different.
    pub changed: Vec<String>,
}

impl DefinitionsDiff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

fn diff_named<T: PartialEq>(
    kind: &str,
    old: &[T],
    new: &[T],
    name: impl Fn(&T) -> &str,
    out: &mut DefinitionsDiff,
) {
    for n in new {
        match old.iter().find(|o| name(o) == name(n)) {
            None => out.added.push(format!("{kind}:{}", name(n))),
            Some(o) if o != n => out.changed.push(format!("{kind}:{}", name(n))),
            Some(_) => {}
        }
    }
    for o in old {
        if !new.iter().any(|n| name(n) == name(o)) {
            out.removed.push(format!("{kind}:{}", name(o)));
        }
    }
}

impl Definitions {
    /// Empty definitions.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds an entity.
    pub fn with_entity(mut self, e: Entity) -> Self {
        self.entities.push(e);
        self
    }
    /// Adds a feature view.
    pub fn with_feature_view(mut self, v: FeatureView) -> Self {
        self.feature_views.push(v);
        self
    }
    /// Adds a feature service.
    pub fn with_feature_service(mut self, s: FeatureService) -> Self {
        self.feature_services.push(s);
        self
    }

    /// Parses YAML (`entities`, `feature_views`, `feature_services`).
    ///
    /// # Errors
    /// `Invalid` naming the YAML problem (line and column).
    pub fn from_yaml(yaml: &str) -> Result<Self> {
        serde_yaml_ng::from_str(yaml)
            .map_err(|e| Error::invalid("definitions yaml", "", e.to_string()))
    }

    /// Renders as YAML.
    ///
    /// # Errors
    /// `Invalid` if serialization fails (it does not for these types).
    pub fn to_yaml(&self) -> Result<String> {
        serde_yaml_ng::to_string(self).map_err(|e| Error::invalid("definitions", "", e.to_string()))
    }

    /// The view called `name`.
    pub fn view(&self, name: &str) -> Option<&FeatureView> {
        self.feature_views.iter().find(|v| v.name == name)
    }

    /// The entity called `name`.
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }

    /// The references of service `name`.
    ///
    /// # Errors
    /// `InvalidService` if there is no such service.
    pub fn service_refs(&self, name: &str) -> Result<Vec<FeatureRef>> {
        let s = self
            .feature_services
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| Error::InvalidService {
                service: name.to_string(),
                reason: "not defined".into(),
            })?;
        FeatureRef::parse_all(&s.features)
    }

    /// The join keys of a view (its entities' keys, in order).
    pub fn join_keys(&self, view: &FeatureView) -> Result<Vec<JoinKey>> {
        let mut keys = Vec::new();
        for e in &view.entities {
            let ent = self.entity(e).ok_or_else(|| Error::UnknownEntity {
                view: view.name.clone(),
                entity: e.clone(),
            })?;
            keys.extend(ent.join_keys.iter().cloned());
        }
        Ok(keys)
    }

    /// Checks names, uniqueness and references (no I/O).
    ///
    /// # Errors
    /// `Core(InvalidArgument)` for a bad name; `Invalid` for a duplicate; `UnknownEntity`;
    /// `InvalidService` for a reference to an unknown view or feature.
    pub fn check(&self) -> Result<()> {
        fn unique<'a>(kind: &'static str, names: impl Iterator<Item = &'a str>) -> Result<()> {
            let mut seen = std::collections::HashSet::new();
            for n in names {
                if !seen.insert(n) {
                    return Err(Error::invalid(kind, n, "defined twice"));
                }
            }
            Ok(())
        }
        for e in &self.entities {
            validate(NameKind::Entity, &e.name)?;
            if e.join_keys.is_empty() {
                return Err(Error::invalid("entity", &e.name, "has no join key"));
            }
        }
        unique("entity", self.entities.iter().map(|e| e.name.as_str()))?;
        for v in &self.feature_views {
            validate(NameKind::FeatureView, &v.name)?;
            for f in &v.features {
                validate(NameKind::Feature, &f.name)?;
            }
            unique("feature", v.features.iter().map(|f| f.name.as_str()))?;
            self.join_keys(v)?;
            SourceLocation::from_url(&v.source.url)?;
        }
        unique(
            "feature view",
            self.feature_views.iter().map(|v| v.name.as_str()),
        )?;
        for s in &self.feature_services {
            validate(NameKind::FeatureService, &s.name)?;
            for r in &s.features {
                let r: FeatureRef = r.parse()?;
                let ok = self
                    .view(r.view())
                    .is_some_and(|v| v.features.iter().any(|f| f.name == r.feature()));
                if !ok {
                    return Err(Error::InvalidService {
                        service: s.name.clone(),
                        reason: format!("unknown feature {r}"),
                    });
                }
            }
        }
        unique(
            "feature service",
            self.feature_services.iter().map(|s| s.name.as_str()),
        )?;
        Ok(())
    }

    /// Checks every view against its source's schema: join keys, event and created time,
    /// features present with the declared types.
    ///
    /// # Errors
    /// `SchemaMismatch` naming the view and column.
    pub async fn check_sources(&self) -> Result<()> {
        for v in &self.feature_views {
            self.check_view_source(v).await?;
        }
        Ok(())
    }

    /// Checks one view against its source (see [`Definitions::check_sources`]).
    pub(crate) async fn check_view_source(
        &self,
        v: &FeatureView,
    ) -> Result<Vec<crate::offline::parquet::ParquetFile>> {
        let files = open_source(&v.name, &SourceLocation::from_url(&v.source.url)?).await?;
        for file in &files {
            let s = file.schema();
            let bad = |column: &str, reason: String| Error::SchemaMismatch {
                view: v.name.clone(),
                location: file.location.clone(),
                column: column.to_string(),
                reason,
            };
            let mut want: Vec<(String, ValueType)> = self
                .join_keys(v)?
                .into_iter()
                .map(|k| (k.name, k.value_type))
                .collect();
            want.push((v.source.timestamp_field.clone(), ValueType::Timestamp));
            if let Some(c) = &v.source.created_timestamp_column {
                want.push((c.clone(), ValueType::Timestamp));
            }
            want.extend(v.features.iter().map(|f| (f.name.clone(), f.value_type)));
            for (col, t) in want {
                match s.field_with_name(&col) {
                    Err(_) => return Err(bad(&col, "is missing".into())),
                    Ok(f) if !t.accepts(f.data_type()) => {
                        return Err(bad(
                            &col,
                            format!("has type {}, declared {t}", f.data_type()),
                        ));
                    }
                    Ok(_) => {}
                }
            }
        }
        Ok(files)
    }

    /// The offline engine's view of `name`.
    ///
    /// # Errors
    /// `UnknownView`; `UnknownEntity`.
    pub fn historical_view(&self, name: &str) -> Result<HistoricalView> {
        let v = self.view(name).ok_or_else(|| Error::UnknownView {
            view: name.to_string(),
        })?;
        let keys: Vec<String> = self.join_keys(v)?.into_iter().map(|k| k.name).collect();
        Ok(
            HistoricalView::new(&v.name, SourceLocation::from_url(&v.source.url)?)
                .with_join_keys(keys)
                .with_timestamp_field(&v.source.timestamp_field)
                .with_created_field(v.source.created_timestamp_column.clone())
                .with_ttl(v.ttl())
                .with_declared_features(
                    v.features
                        .iter()
                        .map(|f| (f.name.clone(), f.value_type))
                        .collect(),
                ),
        )
    }

    /// What changed from `self` (older) to `newer`.
    pub fn diff(&self, newer: &Definitions) -> DefinitionsDiff {
        let mut d = DefinitionsDiff::default();
        diff_named(
            "entity",
            &self.entities,
            &newer.entities,
            |e| &e.name,
            &mut d,
        );
        diff_named(
            "feature_view",
            &self.feature_views,
            &newer.feature_views,
            |v| &v.name,
            &mut d,
        );
        diff_named(
            "feature_service",
            &self.feature_services,
            &newer.feature_services,
            |s| &s.name,
            &mut d,
        );
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> Definitions {
        Definitions::new()
            .with_entity(Entity::new("driver").with_join_key("driver_id", ValueType::Int64))
            .with_feature_view(
                FeatureView::new("stats", Source::parquet("memory:///x.parquet"))
                    .with_entity("driver")
                    .with_feature("conv_rate", ValueType::Float64)
                    .with_tag("pii", "false"),
            )
            .with_feature_service(FeatureService::new("model_a").with_feature("stats:conv_rate"))
    }

    #[test]
    fn check_names_the_bad_thing() {
        defs().check().unwrap();
        let mut d = defs();
        d.feature_views[0].entities.push("rider".into());
        assert!(matches!(d.check(), Err(Error::UnknownEntity { entity, .. }) if entity == "rider"));
        let d = defs().with_feature_service(FeatureService::new("b").with_feature("stats:nope"));
        assert!(matches!(d.check(), Err(Error::InvalidService { service, .. }) if service == "b"));
        let d = defs().with_entity(Entity::new("driver").with_join_key("x", ValueType::Int64));
        assert!(d.check().unwrap_err().to_string().contains("driver"));
    }

    #[test]
    fn yaml_round_trip_and_diff() {
        let d = defs();
        let back = Definitions::from_yaml(&d.to_yaml().unwrap()).unwrap();
        assert_eq!(back, d);
        let mut n = d.clone();
        n.feature_views[0].ttl_seconds = 60;
        n.entities
            .push(Entity::new("rider").with_join_key("rider_id", ValueType::String));
        n.feature_services.clear();
        let diff = d.diff(&n);
        assert_eq!(diff.added, vec!["entity:rider"]);
        assert_eq!(diff.changed, vec!["feature_view:stats"]);
        assert_eq!(diff.removed, vec!["feature_service:model_a"]);
        assert!(d.diff(&d).is_empty());
        assert!(Definitions::from_yaml("entities: 3").is_err());
    }
}
