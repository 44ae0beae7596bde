//! A strict local fake of Vertex AI's ModelService, **modelled from the
//! discovery document and the public API docs, not from the real service**.
//!
//! Every request is matched against the discovery method's verb and path
//! template and its body checked against the request schema (unknown fields,
//! wrong JSON types, output-only fields → 400 INVALID_ARGUMENT, as the API
//! answers); required fields (`displayName`, `containerSpec.imageUri`), id and
//! alias rules are enforced. Every response is checked against the response
//! schema; a violation is recorded in [`Fake::violations`] (tests assert none).
//! Uploads answer a long-running operation that turns `done` after two polls.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use super::discovery;
use mlops_core::http::mock_server::{MockResponse, MockServer, RecordedRequest};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub const PROJECT: &str = "mlops-test";
pub const LOCATION: &str = "europe-west4";
pub const TOKEN: &str = "ya29.test-only-token";

#[derive(Default)]
struct FakeModel {
    versions: BTreeMap<u64, Value>,
    next: u64,
}

#[derive(Default)]
struct State {
    models: BTreeMap<String, FakeModel>,
    ops: BTreeMap<String, (u32, Value)>,
    op_seq: u64,
    violations: Vec<String>,
    requests: u64,
}

pub struct Fake {
    pub server: MockServer,
    state: Arc<Mutex<State>>,
}

fn err(code: u16, status: &str, msg: &str) -> MockResponse {
    MockResponse::json(
        code,
        json!({"error": {"code": code, "message": msg, "status": status}}).to_string(),
    )
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn model_id_ok(id: &str) -> bool {
    (1..=63).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn alias_ok(a: &str) -> bool {
    let n = a.chars().count();
    (2..=128).contains(&n)
        && a.starts_with(|c: char| c.is_ascii_lowercase())
        && a.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// `labels.k=v AND labels.k2=v2` (the subset of AIP-160 this fake knows).
fn matches(filter: Option<&str>, m: &Value) -> Result<bool, String> {
    let Some(f) = filter.filter(|f| !f.is_empty()) else {
        return Ok(true);
    };
    for clause in f.split(" AND ") {
        let (k, v) = clause
            .split_once('=')
            .ok_or(format!("bad filter clause {clause:?}"))?;
        let key = k
            .trim()
            .strip_prefix("labels.")
            .ok_or(format!("unsupported filter {k:?}"))?;
        let v = v.trim().trim_matches('"');
        if m["labels"][key].as_str() != Some(v) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn query(path: &str) -> (String, BTreeMap<String, String>) {
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let q = url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect();
    (p.to_string(), q)
}

impl Fake {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::default()));
        let s2 = state.clone();
        server.set_fallback(move |req| {
            let mut st = s2.lock().unwrap();
            st.requests += 1;
            let (resp, schema) = handle(&mut st, req);
            if let (Some(schema), Ok(body)) = (schema, serde_json::from_str::<Value>(&resp.1)) {
                for v in discovery::check(schema, &body, false) {
                    st.violations
                        .push(format!("response {} {}: {v}", req.method, req.path));
                }
            }
            resp.0
        });
        Self { server, state }
    }

    pub fn root(&self) -> String {
        self.server.url("/")
    }

    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }

    pub fn request_count(&self) -> u64 {
        self.state.lock().unwrap().requests
    }
}

type Answer = ((MockResponse, String), Option<&'static str>);

fn ok(body: Value, schema: &'static str) -> Answer {
    let text = body.to_string();
    ((MockResponse::json(200, text.clone()), text), Some(schema))
}

fn fail(code: u16, status: &str, msg: &str) -> Answer {
    ((err(code, status, msg), String::new()), None)
}

fn handle(st: &mut State, req: &RecordedRequest) -> Answer {
    if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return fail(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        );
    }
    let (path, q) = query(&req.path);
    let parent = format!("/v1/projects/{PROJECT}/locations/{LOCATION}/");
    let Some(rest) = path.strip_prefix(&parent) else {
        return fail(404, "NOT_FOUND", "unknown project or location");
    };
    let body: Value = if req.body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => {
                return fail(
                    400,
                    "INVALID_ARGUMENT",
                    &format!("Invalid JSON payload: {e}"),
                );
            }
        }
    };
    let check_req = |schema: &str| -> Result<(), Answer> {
        let v = discovery::check(schema, &body, true);
        if v.is_empty() {
            Ok(())
        } else {
            Err(fail(400, "INVALID_ARGUMENT", &v.join("; ")))
        }
    };
    let method = req.method.as_str();
    // operations
    if method == "GET" && (rest.starts_with("operations/") || rest.contains("/operations/")) {
        let name = format!("projects/{PROJECT}/locations/{LOCATION}/{rest}");
        let Some((polls, result)) = st.ops.get_mut(&name) else {
            return fail(404, "NOT_FOUND", "operation not found");
        };
        let done = *polls == 0;
        *polls = polls.saturating_sub(1);
        let mut o = json!({"name": name, "done": done,
            "metadata": {"@type": "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelOperationMetadata",
                         "genericMetadata": {"createTime": now(), "updateTime": now()}}});
        if done {
            if result.get("code").is_some() {
                o["error"] = result.clone();
            } else {
                o["response"] = result.clone();
            }
        }
        return ok(o, "GoogleLongrunningOperation");
    }
    if rest == "models:upload" && method == "POST" {
        if let Err(a) = check_req("GoogleCloudAiplatformV1UploadModelRequest") {
            return a;
        }
        let m = &body["model"];
        if m["displayName"].as_str().is_none_or(str::is_empty) {
            return fail(400, "INVALID_ARGUMENT", "model.displayName is required");
        }
        if m["containerSpec"]["imageUri"]
            .as_str()
            .is_none_or(str::is_empty)
        {
            return fail(
                400,
                "INVALID_ARGUMENT",
                "model.containerSpec.imageUri is required",
            );
        }
        let id = match (body["modelId"].as_str(), body["parentModel"].as_str()) {
            (Some(id), None) => {
                if !model_id_ok(id) {
                    return fail(
                        400,
                        "INVALID_ARGUMENT",
                        "modelId must match [a-z][a-z0-9_-]{0,62}",
                    );
                }
                if st.models.contains_key(id) {
                    return fail(409, "ALREADY_EXISTS", &format!("Model {id} already exists"));
                }
                st.models.insert(
                    id.to_string(),
                    FakeModel {
                        versions: BTreeMap::new(),
                        next: 1,
                    },
                );
                id.to_string()
            }
            (None, Some(p)) => {
                let id = p.rsplit('/').next().unwrap_or("");
                if !st.models.contains_key(id) || !p.starts_with(&parent[4..]) {
                    return fail(404, "NOT_FOUND", &format!("parent model {p} not found"));
                }
                id.to_string()
            }
            _ => {
                return fail(
                    400,
                    "INVALID_ARGUMENT",
                    "exactly one of modelId and parentModel",
                );
            }
        };
        let fm = st.models.get_mut(&id).unwrap();
        let v = fm.next;
        fm.next += 1;
        let mut stored = m.clone();
        let name = format!("projects/{PROJECT}/locations/{LOCATION}/models/{id}");
        stored["name"] = json!(name);
        stored["versionId"] = json!(v.to_string());
        stored["versionAliases"] = json!(if fm.versions.is_empty() {
            vec!["default"]
        } else {
            vec![]
        });
        stored["versionCreateTime"] = json!(now());
        stored["versionUpdateTime"] = json!(now());
        stored["createTime"] = json!(now());
        stored["updateTime"] = json!(now());
        fm.versions.insert(v, stored);
        st.op_seq += 1;
        let op = format!("{name}/operations/{}", st.op_seq);
        st.ops.insert(
            op.clone(),
            (
                2,
                json!({
            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse",
            "model": name, "modelVersionId": v.to_string()}),
            ),
        );
        return ok(
            json!({"name": op, "done": false}),
            "GoogleLongrunningOperation",
        );
    }
    if rest == "models" && method == "GET" {
        let size: usize = q
            .get("pageSize")
            .and_then(|s| s.parse().ok())
            .unwrap_or(100);
        let start: usize = q.get("pageToken").and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut all = vec![];
        for fm in st.models.values() {
            if let Some(d) = fm.versions.values().find(|m| {
                m["versionAliases"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("default"))
            }) {
                match matches(q.get("filter").map(String::as_str), d) {
                    Ok(true) => all.push(d.clone()),
                    Ok(false) => {}
                    Err(e) => return fail(400, "INVALID_ARGUMENT", &e),
                }
            }
        }
        let page: Vec<Value> = all.iter().skip(start).take(size).cloned().collect();
        let mut out = json!({"models": page});
        if start + size < all.len() {
            out["nextPageToken"] = json!((start + size).to_string());
        }
        return ok(out, "GoogleCloudAiplatformV1ListModelsResponse");
    }
    let Some(model_part) = rest.strip_prefix("models/") else {
        return fail(404, "NOT_FOUND", "no such route");
    };
    let (target, verb) = match model_part.split_once(':') {
        Some((t, v)) => (t, Some(v)),
        None => (model_part, None),
    };
    let (id, selector) = match target.split_once('@') {
        Some((i, s)) => (i, Some(s)),
        None => (target, None),
    };
    let Some(fm) = st.models.get_mut(id) else {
        return fail(404, "NOT_FOUND", &format!("Model {id} not found"));
    };
    let resolve = |fm: &FakeModel, sel: Option<&str>| -> Option<u64> {
        match sel {
            Some(s) if s.chars().all(|c| c.is_ascii_digit()) => {
                s.parse().ok().filter(|v| fm.versions.contains_key(v))
            }
            s => {
                let alias = s.unwrap_or("default");
                fm.versions
                    .iter()
                    .find(|(_, m)| {
                        m["versionAliases"]
                            .as_array()
                            .unwrap()
                            .contains(&json!(alias))
                    })
                    .map(|(v, _)| *v)
            }
        }
    };
    match (method, verb) {
        ("GET", None) => match resolve(fm, selector) {
            Some(v) => ok(fm.versions[&v].clone(), "GoogleCloudAiplatformV1Model"),
            None => fail(404, "NOT_FOUND", &format!("Model {target} not found")),
        },
        ("GET", Some("listVersions")) => {
            if selector.is_some() {
                return fail(
                    400,
                    "INVALID_ARGUMENT",
                    "listVersions takes a model name without @",
                );
            }
            let size: usize = q
                .get("pageSize")
                .and_then(|s| s.parse().ok())
                .unwrap_or(100);
            let start: usize = q.get("pageToken").and_then(|s| s.parse().ok()).unwrap_or(0);
            let mut all = vec![];
            for m in fm.versions.values() {
                match matches(q.get("filter").map(String::as_str), m) {
                    Ok(true) => all.push(m.clone()),
                    Ok(false) => {}
                    Err(e) => return fail(400, "INVALID_ARGUMENT", &e),
                }
            }
            let page: Vec<Value> = all.iter().skip(start).take(size).cloned().collect();
            let mut out = json!({"models": page});
            if start + size < all.len() {
                out["nextPageToken"] = json!((start + size).to_string());
            }
            ok(out, "GoogleCloudAiplatformV1ListModelVersionsResponse")
        }
        ("POST", Some("mergeVersionAliases")) => {
            if let Err(a) = check_req("GoogleCloudAiplatformV1MergeVersionAliasesRequest") {
                return a;
            }
            let Some(v) = selector.and_then(|s| resolve(fm, Some(s))) else {
                return fail(404, "NOT_FOUND", "version not found");
            };
            for a in body["versionAliases"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let a = a.as_str().unwrap_or("").to_string();
                let (remove, name) = match a.strip_prefix('-') {
                    Some(n) => (true, n.to_string()),
                    None => (false, a.clone()),
                };
                if !alias_ok(&name) {
                    return fail(
                        400,
                        "INVALID_ARGUMENT",
                        &format!("alias {name} must match [a-z][a-zA-Z0-9-]{{0,126}}[a-z0-9]"),
                    );
                }
                if name == "default" {
                    return fail(
                        400,
                        "INVALID_ARGUMENT",
                        "the default alias cannot be merged here",
                    );
                }
                if !remove
                    && fm.versions.iter().any(|(ov, m)| {
                        *ov != v
                            && m["versionAliases"]
                                .as_array()
                                .unwrap()
                                .contains(&json!(name))
                    })
                {
                    return fail(
                        400,
                        "FAILED_PRECONDITION",
                        &format!("alias {name} is used by another version"),
                    );
                }
                let list = fm.versions.get_mut(&v).unwrap()["versionAliases"]
                    .as_array_mut()
                    .unwrap();
                list.retain(|x| x != &json!(name));
                if !remove {
                    list.push(json!(name));
                }
            }
            fm.versions.get_mut(&v).unwrap()["versionUpdateTime"] = json!(now());
            ok(fm.versions[&v].clone(), "GoogleCloudAiplatformV1Model")
        }
        ("PATCH", None) => {
            if let Err(a) = check_req("GoogleCloudAiplatformV1Model") {
                return a;
            }
            let Some(v) = resolve(fm, selector) else {
                return fail(404, "NOT_FOUND", "version not found");
            };
            let Some(mask) = q.get("updateMask") else {
                return fail(400, "INVALID_ARGUMENT", "updateMask is required");
            };
            let m = fm.versions.get_mut(&v).unwrap();
            for f in mask.split(',') {
                match f {
                    "labels" | "versionDescription" | "description" | "displayName" => {
                        m[f] = body[f].clone()
                    }
                    other => {
                        return fail(
                            400,
                            "INVALID_ARGUMENT",
                            &format!("field {other} cannot be updated"),
                        );
                    }
                }
            }
            m["versionUpdateTime"] = json!(now());
            ok(m.clone(), "GoogleCloudAiplatformV1Model")
        }
        ("DELETE", Some("deleteVersion")) => {
            let Some(v) = selector.and_then(|s| resolve(fm, Some(s))) else {
                return fail(404, "NOT_FOUND", "version not found");
            };
            if fm.versions[&v]["versionAliases"]
                .as_array()
                .unwrap()
                .contains(&json!("default"))
            {
                return fail(
                    400,
                    "FAILED_PRECONDITION",
                    "cannot delete the default version",
                );
            }
            fm.versions.remove(&v);
            st.op_seq += 1;
            let op = format!(
                "projects/{PROJECT}/locations/{LOCATION}/models/{id}/operations/{}",
                st.op_seq
            );
            st.ops.insert(
                op.clone(),
                (
                    0,
                    json!({"@type": "type.googleapis.com/google.protobuf.Empty"}),
                ),
            );
            ok(
                json!({"name": op, "done": false}),
                "GoogleLongrunningOperation",
            )
        }
        ("DELETE", None) if selector.is_none() => {
            st.models.remove(id);
            st.op_seq += 1;
            let op = format!(
                "projects/{PROJECT}/locations/{LOCATION}/operations/{}",
                st.op_seq
            );
            st.ops.insert(
                op.clone(),
                (
                    0,
                    json!({"@type": "type.googleapis.com/google.protobuf.Empty"}),
                ),
            );
            ok(
                json!({"name": op, "done": false}),
                "GoogleLongrunningOperation",
            )
        }
        _ => fail(404, "NOT_FOUND", "no such route"),
    }
}
