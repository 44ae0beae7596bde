//! Model-registry calls: registered models, model versions, aliases and tags
//! (`/api/2.0/mlflow/registered-models/...`, `/api/2.0/mlflow/model-versions/...`).
//!
//! MLflow's quirks are absorbed here: searches are GET-only, updates are PATCH,
//! deletes are DELETE with a JSON body, and an unknown alias answers 400
//! `INVALID_PARAMETER_VALUE` "... not found" — mapped to `NotFound`.

use super::types::{KeyValue, de_i64};
use super::{HttpMethod, MlflowClient};
use crate::error::{Error, ErrorKind, Result};
use serde::Deserialize;
use serde_json::json;

/// `{alias, version}` on a registered model.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WireAlias {
    /// The alias.
    pub alias: String,
    /// The version it names (a numeric string).
    pub version: String,
}

/// A registered model as MLflow returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WireRegisteredModel {
    /// Its name.
    pub name: String,
    /// Creation time (ms).
    #[serde(default, deserialize_with = "de_i64")]
    pub creation_timestamp: i64,
    /// Last update (ms).
    #[serde(default, deserialize_with = "de_i64")]
    pub last_updated_timestamp: i64,
    /// Description (omitted when empty).
    #[serde(default)]
    pub description: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<KeyValue>,
    /// Aliases.
    #[serde(default)]
    pub aliases: Vec<WireAlias>,
    /// The latest version per stage.
    #[serde(default)]
    pub latest_versions: Vec<WireModelVersion>,
}

/// A model version as MLflow returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WireModelVersion {
    /// The model's name.
    pub name: String,
    /// The version number (a numeric string).
    pub version: String,
    /// Creation time (ms).
    #[serde(default, deserialize_with = "de_i64")]
    pub creation_timestamp: i64,
    /// Last update (ms).
    #[serde(default, deserialize_with = "de_i64")]
    pub last_updated_timestamp: i64,
    /// Description (omitted when empty).
    #[serde(default)]
    pub description: String,
    /// Where the artifacts are.
    #[serde(default)]
    pub source: String,
    /// The run that produced it.
    #[serde(default)]
    pub run_id: String,
    /// `READY`, `PENDING_REGISTRATION`, `FAILED_REGISTRATION`.
    #[serde(default)]
    pub status: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<KeyValue>,
    /// Aliases (not returned by `model-versions/search`).
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Deserialize)]
struct ModelResp {
    registered_model: WireRegisteredModel,
}

#[derive(Deserialize)]
struct VersionResp {
    model_version: WireModelVersion,
}

#[derive(Deserialize)]
struct ModelsPage {
    #[serde(default)]
    registered_models: Vec<WireRegisteredModel>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct VersionsPage {
    #[serde(default)]
    model_versions: Vec<WireModelVersion>,
    #[serde(default)]
    next_page_token: Option<String>,
}

/// Quotes a string for an MLflow search filter (`'...'`, `'` doubled is not
/// supported by MLflow, so it is refused).
///
/// # Errors
/// `InvalidArgument` for a value holding `'`.
pub fn filter_literal(v: &str) -> Result<String> {
    if v.contains('\'') {
        return Err(Error::invalid(
            "mlflow filter value",
            v,
            "MLflow search filters cannot hold a single quote",
        ));
    }
    Ok(format!("'{v}'"))
}

impl MlflowClient {
    /// `registered-models/create`. Not retried once it reached the server.
    ///
    /// # Errors
    /// `AlreadyExists` (MLflow answers 400 `RESOURCE_ALREADY_EXISTS`).
    pub async fn create_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
        tags: &[KeyValue],
    ) -> Result<WireRegisteredModel> {
        let mut body = json!({"name": name, "tags": tags});
        if let Some(d) = description {
            body["description"] = json!(d);
        }
        let r: ModelResp = self
            .call_json(HttpMethod::Post, "registered-models/create", &body, false)
            .await?;
        Ok(r.registered_model)
    }

    /// `registered-models/get`.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn get_registered_model(&self, name: &str) -> Result<WireRegisteredModel> {
        let r: ModelResp = self
            .get_json("registered-models/get", &[("name", name.to_string())])
            .await?;
        Ok(r.registered_model)
    }

    /// `registered-models/search` (GET only; one page).
    ///
    /// # Errors
    /// `InvalidArgument` for a filter or token MLflow refuses.
    pub async fn search_registered_models(
        &self,
        filter: Option<&str>,
        max_results: usize,
        page_token: Option<&str>,
    ) -> Result<(Vec<WireRegisteredModel>, Option<String>)> {
        let mut q = vec![
            ("max_results", max_results.to_string()),
            ("order_by", "name ASC".to_string()),
        ];
        if let Some(f) = filter {
            q.push(("filter", f.to_string()));
        }
        if let Some(t) = page_token {
            q.push(("page_token", t.to_string()));
        }
        let r: ModelsPage = self.get_json("registered-models/search", &q).await?;
        Ok((
            r.registered_models,
            r.next_page_token.filter(|t| !t.is_empty()),
        ))
    }

    /// `registered-models/update` (PATCH): sets the description.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn update_registered_model(&self, name: &str, description: &str) -> Result<()> {
        let _: serde_json::Value = self
            .call_json(
                HttpMethod::Patch,
                "registered-models/update",
                &json!({"name": name, "description": description}),
                true,
            )
            .await?;
        Ok(())
    }

    /// `registered-models/delete` (DELETE with a JSON body).
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn delete_registered_model(&self, name: &str) -> Result<()> {
        self.call_unit(
            HttpMethod::Delete,
            "registered-models/delete",
            &json!({"name": name}),
            true,
        )
        .await
    }

    /// `registered-models/set-tag`.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> Result<()> {
        self.call_unit(
            HttpMethod::Post,
            "registered-models/set-tag",
            &json!({"name": name, "key": key, "value": value}),
            true,
        )
        .await
    }

    /// `registered-models/delete-tag` (DELETE with a JSON body).
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        self.call_unit(
            HttpMethod::Delete,
            "registered-models/delete-tag",
            &json!({"name": name, "key": key}),
            true,
        )
        .await
    }

    /// `model-versions/create`. Not retried once it reached the server.
    ///
    /// # Errors
    /// `NotFound` for an unknown model; `InvalidArgument` for a source outside the run.
    pub async fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: Option<&str>,
        description: Option<&str>,
        tags: &[KeyValue],
    ) -> Result<WireModelVersion> {
        let mut body = json!({"name": name, "source": source, "tags": tags});
        if let Some(r) = run_id {
            body["run_id"] = json!(r);
        }
        if let Some(d) = description {
            body["description"] = json!(d);
        }
        let r: VersionResp = self
            .call_json(HttpMethod::Post, "model-versions/create", &body, false)
            .await?;
        Ok(r.model_version)
    }

    /// `model-versions/get`.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn get_model_version(&self, name: &str, version: u64) -> Result<WireModelVersion> {
        let r: VersionResp = self
            .get_json(
                "model-versions/get",
                &[("name", name.to_string()), ("version", version.to_string())],
            )
            .await?;
        Ok(r.model_version)
    }

    /// `model-versions/search` (GET only; one page, ascending by version).
    ///
    /// # Errors
    /// `InvalidArgument` for a filter or token MLflow refuses.
    pub async fn search_model_versions(
        &self,
        filter: &str,
        max_results: usize,
        page_token: Option<&str>,
    ) -> Result<(Vec<WireModelVersion>, Option<String>)> {
        let mut q = vec![
            ("filter", filter.to_string()),
            ("max_results", max_results.to_string()),
            ("order_by", "version_number ASC".to_string()),
        ];
        if let Some(t) = page_token {
            q.push(("page_token", t.to_string()));
        }
        let r: VersionsPage = self.get_json("model-versions/search", &q).await?;
        Ok((
            r.model_versions,
            r.next_page_token.filter(|t| !t.is_empty()),
        ))
    }

    /// `model-versions/update` (PATCH): sets the description.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn update_model_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<()> {
        let _: serde_json::Value = self
            .call_json(
                HttpMethod::Patch,
                "model-versions/update",
                &json!({"name": name, "version": version.to_string(), "description": description}),
                true,
            )
            .await?;
        Ok(())
    }

    /// `model-versions/delete` (DELETE with a JSON body).
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn delete_model_version(&self, name: &str, version: u64) -> Result<()> {
        self.call_unit(
            HttpMethod::Delete,
            "model-versions/delete",
            &json!({"name": name, "version": version.to_string()}),
            true,
        )
        .await
    }

    /// `model-versions/set-tag`.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn set_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<()> {
        self.call_unit(
            HttpMethod::Post,
            "model-versions/set-tag",
            &json!({"name": name, "version": version.to_string(), "key": key, "value": value}),
            true,
        )
        .await
    }

    /// `model-versions/delete-tag` (DELETE with a JSON body).
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn delete_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
    ) -> Result<()> {
        self.call_unit(
            HttpMethod::Delete,
            "model-versions/delete-tag",
            &json!({"name": name, "version": version.to_string(), "key": key}),
            true,
        )
        .await
    }

    /// `registered-models/alias` (POST): points `alias` at `version` (moves it).
    ///
    /// # Errors
    /// `NotFound` for an unknown model or version; `InvalidArgument` for a
    /// reserved alias (`latest`, `v<digits>`).
    pub async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: u64,
    ) -> Result<()> {
        self.call_unit(
            HttpMethod::Post,
            "registered-models/alias",
            &json!({"name": name, "alias": alias, "version": version.to_string()}),
            true,
        )
        .await
    }

    /// `registered-models/alias` (DELETE with a JSON body). MLflow treats deleting
    /// an unset alias as success.
    ///
    /// # Errors
    /// `NotFound` for an unknown model.
    pub async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        self.call_unit(
            HttpMethod::Delete,
            "registered-models/alias",
            &json!({"name": name, "alias": alias}),
            true,
        )
        .await
    }

    /// `registered-models/alias` (GET): the version an alias names.
    ///
    /// # Errors
    /// `NotFound` for an unknown model or an unset alias (MLflow answers the
    /// latter with 400 `INVALID_PARAMETER_VALUE` "... alias ... not found.").
    pub async fn get_model_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<WireModelVersion> {
        match self
            .get_json::<VersionResp>(
                "registered-models/alias",
                &[("name", name.to_string()), ("alias", alias.to_string())],
            )
            .await
        {
            Ok(r) => Ok(r.model_version),
            Err(e)
                if e.kind() == ErrorKind::InvalidArgument
                    && e.to_string().contains("not found") =>
            {
                Err(Error::not_found(
                    "registered model alias",
                    format!("{name}@{alias}"),
                ))
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shapes_decode_with_omitted_fields() {
        let v: WireModelVersion = serde_json::from_str(
            r#"{"name":"m","version":"7","creation_timestamp":1700000000000,"status":"READY"}"#,
        )
        .unwrap();
        assert_eq!(v.version, "7");
        assert!(v.tags.is_empty() && v.aliases.is_empty());
        let m: WireRegisteredModel =
            serde_json::from_str(r#"{"name":"m","aliases":[{"alias":"prod","version":"2"}]}"#)
                .unwrap();
        assert_eq!(m.aliases[0].version, "2");
        assert_eq!(filter_literal("a-b").unwrap(), "'a-b'");
        assert!(filter_literal("a'b").is_err());
    }
}
