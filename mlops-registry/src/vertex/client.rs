//! The Vertex AI ModelService REST client (aiplatform v1, proto3 JSON).

use super::BACKEND;
use mlops_core::http::{HttpClient, Method, RequestSpec, error_from_response};
use mlops_core::{Error, ErrorKind, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The discovery-document methods this client calls: (method id, HTTP verb, path
/// template after the host). Contract tests compare it with `aiplatform.v1.json`.
pub const ROUTES: &[(&str, &str, &str)] = &[
    (
        "aiplatform.projects.locations.models.upload",
        "POST",
        "v1/{+parent}/models:upload",
    ),
    (
        "aiplatform.projects.locations.models.get",
        "GET",
        "v1/{+name}",
    ),
    (
        "aiplatform.projects.locations.models.list",
        "GET",
        "v1/{+parent}/models",
    ),
    (
        "aiplatform.projects.locations.models.listVersions",
        "GET",
        "v1/{+name}:listVersions",
    ),
    (
        "aiplatform.projects.locations.models.mergeVersionAliases",
        "POST",
        "v1/{+name}:mergeVersionAliases",
    ),
    (
        "aiplatform.projects.locations.models.patch",
        "PATCH",
        "v1/{+name}",
    ),
    (
        "aiplatform.projects.locations.models.deleteVersion",
        "DELETE",
        "v1/{+name}:deleteVersion",
    ),
    (
        "aiplatform.projects.locations.models.delete",
        "DELETE",
        "v1/{+name}",
    ),
    (
        "aiplatform.projects.locations.models.operations.get",
        "GET",
        "v1/{+name}",
    ),
];

/// A Vertex `Model` (one version of it), the fields this backend reads and writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    /// `projects/*/locations/*/models/*` (output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Required on upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The model's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Output: the decimal version id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// Aliases of this version (`default` marks the default version).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub version_aliases: Vec<String>,
    /// The version's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_description: Option<String>,
    /// Output: RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_create_time: Option<String>,
    /// Output: RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_update_time: Option<String>,
    /// Labels (the version's tags and `mlops-status`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Immutable free-form metadata (the version record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Immutable artifact directory (`gs://…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_uri: Option<String>,
    /// The serving container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_spec: Option<Value>,
}

/// A long-running operation.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Operation {
    /// `…/operations/<id>`.
    #[serde(default)]
    pub name: String,
    /// Finished?
    #[serde(default)]
    pub done: bool,
    /// The failure, when done with an error.
    #[serde(default)]
    pub error: Option<Status>,
    /// The result, when done.
    #[serde(default)]
    pub response: Option<Value>,
}

/// `google.rpc.Status`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Status {
    /// The gRPC code number.
    #[serde(default)]
    pub code: i32,
    /// The message.
    #[serde(default)]
    pub message: String,
    /// The canonical status name (in HTTP error bodies).
    #[serde(default)]
    pub status: Option<String>,
}

/// A page of models or versions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPage {
    /// The models.
    #[serde(default)]
    pub models: Vec<Model>,
    /// The next page's token (absent or empty on the last page).
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// The [`ErrorKind`] of a canonical status name (`NOT_FOUND`) or gRPC code.
pub fn status_kind(status: &str, code: i32) -> ErrorKind {
    match (status, code) {
        ("NOT_FOUND", _) | (_, 5) => ErrorKind::NotFound,
        ("ALREADY_EXISTS", _) | (_, 6) => ErrorKind::AlreadyExists,
        ("INVALID_ARGUMENT", _) | ("OUT_OF_RANGE", _) | (_, 3) | (_, 11) => {
            ErrorKind::InvalidArgument
        }
        ("FAILED_PRECONDITION", _) | ("ABORTED", _) | (_, 9) | (_, 10) => ErrorKind::Conflict,
        ("PERMISSION_DENIED", _) | (_, 7) => ErrorKind::PermissionDenied,
        ("UNAUTHENTICATED", _) | (_, 16) => ErrorKind::Unauthenticated,
        ("RESOURCE_EXHAUSTED", _) | (_, 8) => ErrorKind::RateLimited,
        ("UNAVAILABLE", _) | (_, 14) => ErrorKind::Unavailable,
        ("DEADLINE_EXCEEDED", _) | (_, 4) => ErrorKind::Timeout,
        ("UNIMPLEMENTED", _) | (_, 12) => ErrorKind::Unsupported,
        _ => ErrorKind::Backend,
    }
}

/// Calls the regional ModelService endpoint for one project and location.
#[derive(Debug, Clone)]
pub struct VertexClient {
    http: HttpClient,
    root: String,
    parent: String,
}

impl VertexClient {
    /// A client for `projects/{project}/locations/{location}` at `root`
    /// (`https://{location}-aiplatform.googleapis.com/`).
    pub fn new(http: HttpClient, root: &str, project: &str, location: &str) -> Self {
        let root = if root.ends_with('/') {
            root.to_string()
        } else {
            format!("{root}/")
        };
        Self {
            http,
            root,
            parent: format!("projects/{project}/locations/{location}"),
        }
    }

    /// `projects/{project}/locations/{location}`.
    pub fn parent(&self) -> &str {
        &self.parent
    }

    /// The resource name of model `id` (with `@version` or `@alias` appended by callers).
    pub fn model_name(&self, id: &str) -> String {
        format!("{}/models/{id}", self.parent)
    }

    fn url(&self, path: &str) -> String {
        format!("{}v1/{path}", self.root)
    }

    async fn send<T: DeserializeOwned>(&self, spec: RequestSpec) -> Result<T> {
        let (method, url) = (spec.method().clone(), spec.url().clone());
        let (status, headers, body) = self.http.send_raw(spec).await?;
        if !status.is_success() {
            let mut err = error_from_response(BACKEND, &method, &url, status, &headers, &body);
            #[derive(Deserialize)]
            struct Wrap {
                error: Status,
            }
            if let (Error::Http { kind, .. }, Ok(w)) =
                (&mut err, serde_json::from_slice::<Wrap>(&body))
            {
                *kind = status_kind(w.error.status.as_deref().unwrap_or(""), w.error.code);
            }
            return Err(err);
        }
        serde_json::from_slice(&body).map_err(|e| {
            Error::backend(
                BACKEND,
                format!(
                    "{method} {}: unexpected answer ({e})",
                    mlops_core::http::redact_url(&url)
                ),
            )
        })
    }

    /// `models.upload`: a new model (`model_id`) or a new version (`parent_model`).
    ///
    /// # Errors
    /// As the service answers.
    pub async fn upload(
        &self,
        model_id: Option<&str>,
        parent_model: Option<&str>,
        model: &Model,
    ) -> Result<Operation> {
        let mut body = serde_json::json!({ "model": model });
        if let Some(id) = model_id {
            body["modelId"] = id.into();
        }
        if let Some(p) = parent_model {
            body["parentModel"] = p.into();
        }
        let spec = RequestSpec::new(
            Method::POST,
            &self.url(&format!("{}/models:upload", self.parent)),
        )?
        .with_json(&body)?;
        self.send(spec).await
    }

    /// `operations.get`.
    ///
    /// # Errors
    /// As the service answers.
    pub async fn get_operation(&self, name: &str) -> Result<Operation> {
        self.send(RequestSpec::new(Method::GET, &self.url(name))?)
            .await
    }

    /// `models.get` of `name` (`…/models/{id}`, `…@{version}`, `…@{alias}`).
    ///
    /// # Errors
    /// `NotFound` and others as the service answers.
    pub async fn get_model(&self, name: &str) -> Result<Model> {
        self.send(RequestSpec::new(Method::GET, &self.url(name))?)
            .await
    }

    /// `models.listVersions` of model `name`.
    ///
    /// # Errors
    /// As the service answers.
    pub async fn list_versions(
        &self,
        name: &str,
        filter: Option<&str>,
        page_size: usize,
        page_token: Option<&str>,
    ) -> Result<ModelPage> {
        let mut spec = RequestSpec::new(Method::GET, &self.url(&format!("{name}:listVersions")))?
            .with_query("pageSize", &page_size.to_string())
            .with_query("orderBy", "create_time");
        if let Some(f) = filter {
            spec = spec.with_query("filter", f);
        }
        if let Some(t) = page_token {
            spec = spec.with_query("pageToken", t);
        }
        self.send(spec).await
    }

    /// `models.list` in the location.
    ///
    /// # Errors
    /// As the service answers.
    pub async fn list_models(
        &self,
        filter: Option<&str>,
        page_size: usize,
        page_token: Option<&str>,
    ) -> Result<ModelPage> {
        let mut spec =
            RequestSpec::new(Method::GET, &self.url(&format!("{}/models", self.parent)))?
                .with_query("pageSize", &page_size.to_string());
        if let Some(f) = filter {
            spec = spec.with_query("filter", f);
        }
        if let Some(t) = page_token {
            spec = spec.with_query("pageToken", t);
        }
        self.send(spec).await
    }

    /// `models.mergeVersionAliases` on `name@version` (`-alias` removes).
    ///
    /// # Errors
    /// As the service answers.
    pub async fn merge_version_aliases(&self, name: &str, aliases: &[String]) -> Result<Model> {
        let spec = RequestSpec::new(
            Method::POST,
            &self.url(&format!("{name}:mergeVersionAliases")),
        )?
        .with_json(&serde_json::json!({ "versionAliases": aliases }))?
        // setting the same aliases twice has the effect of once
        .with_idempotency(mlops_core::http::Idempotency::Idempotent);
        self.send(spec).await
    }

    /// `models.patch` of `name` with `updateMask`.
    ///
    /// # Errors
    /// As the service answers.
    pub async fn patch(&self, name: &str, model: &Model, mask: &str) -> Result<Model> {
        let spec = RequestSpec::new(Method::PATCH, &self.url(name))?
            .with_query("updateMask", mask)
            .with_json(model)?
            // a full-state patch of the masked fields
            .with_idempotency(mlops_core::http::Idempotency::Idempotent);
        self.send(spec).await
    }

    /// `models.deleteVersion` of `name@version`.
    ///
    /// # Errors
    /// As the service answers.
    pub async fn delete_version(&self, name: &str) -> Result<Operation> {
        self.send(RequestSpec::new(
            Method::DELETE,
            &self.url(&format!("{name}:deleteVersion")),
        )?)
        .await
    }

    /// `models.delete` of the whole model.
    ///
    /// # Errors
    /// As the service answers.
    pub async fn delete_model(&self, name: &str) -> Result<Operation> {
        self.send(RequestSpec::new(Method::DELETE, &self.url(name))?)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(status_kind("NOT_FOUND", 404), ErrorKind::NotFound);
        assert_eq!(status_kind("", 6), ErrorKind::AlreadyExists);
        assert_eq!(status_kind("FAILED_PRECONDITION", 400), ErrorKind::Conflict);
        assert_eq!(
            status_kind("RESOURCE_EXHAUSTED", 429),
            ErrorKind::RateLimited
        );
        let m: Model =
            serde_json::from_str(r#"{"name":"x","versionId":"2","labels":{"a":"b"}}"#).unwrap();
        assert_eq!(m.version_id.as_deref(), Some("2"));
        let out = serde_json::to_value(Model {
            display_name: Some("d".into()),
            ..Model::default()
        })
        .unwrap();
        assert_eq!(out, serde_json::json!({"displayName": "d"}));
    }
}
