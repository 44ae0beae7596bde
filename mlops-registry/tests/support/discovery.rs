//! A schema walker over Vertex AI's discovery document (`aiplatform.v1.json`):
//! proto3 JSON rules — known field names only, JSON types per schema, int64 as
//! decimal strings, RFC 3339 timestamps, output-only fields absent from requests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::sync::OnceLock;

pub const DISCOVERY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/testdata/vertex/aiplatform.v1.json"
);

pub fn doc() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::from_str(&std::fs::read_to_string(DISCOVERY).unwrap()).unwrap())
}

/// The method with discovery id `id` (e.g. `aiplatform.projects.locations.models.upload`).
pub fn method(id: &str) -> Option<&'static Value> {
    fn walk<'a>(node: &'a Value, id: &str) -> Option<&'a Value> {
        if let Some(ms) = node.get("methods").and_then(Value::as_object)
            && let Some(m) = ms.values().find(|m| m["id"] == id)
        {
            return Some(m);
        }
        node.get("resources")?
            .as_object()?
            .values()
            .find_map(|r| walk(r, id))
    }
    walk(doc(), id)
}

/// Violations of schema `name` by `v`; `request` rejects output-only fields.
pub fn check(name: &str, v: &Value, request: bool) -> Vec<String> {
    let mut out = vec![];
    check_schema(name, v, request, name, &mut out);
    out
}

fn check_schema(name: &str, v: &Value, request: bool, at: &str, out: &mut Vec<String>) {
    let schema = &doc()["schemas"][name];
    if schema.is_null() {
        return out.push(format!("{at}: unknown schema {name}"));
    }
    check_prop(schema, v, request, at, out);
}

fn check_prop(p: &Value, v: &Value, request: bool, at: &str, out: &mut Vec<String>) {
    if let Some(r) = p["$ref"].as_str() {
        return check_schema(r, v, request, at, out);
    }
    match p["type"].as_str().unwrap_or("any") {
        "any" => {}
        "object" => {
            let Some(obj) = v.as_object() else {
                return out.push(format!("{at}: expected an object"));
            };
            let props = p["properties"].as_object();
            for (k, val) in obj {
                let here = format!("{at}.{k}");
                if let Some(fp) = props.and_then(|ps| ps.get(k)) {
                    if request && fp["readOnly"] == true {
                        out.push(format!("{here}: output-only field in a request"));
                    }
                    check_prop(fp, val, request, &here, out);
                } else if !p["additionalProperties"].is_null() {
                    check_prop(&p["additionalProperties"], val, request, &here, out);
                } else {
                    out.push(format!("{here}: unknown field"));
                }
            }
        }
        "array" => match v.as_array() {
            Some(items) => {
                for (i, x) in items.iter().enumerate() {
                    check_prop(&p["items"], x, request, &format!("{at}[{i}]"), out);
                }
            }
            None => out.push(format!("{at}: expected an array")),
        },
        "string" => match v.as_str() {
            None => out.push(format!("{at}: expected a string ({})", p["format"])),
            Some(s) => match p["format"].as_str() {
                Some("int64" | "uint64") if s.trim_start_matches('-').parse::<u64>().is_err() => {
                    out.push(format!("{at}: {s:?} is not an int64 string"))
                }
                Some("google-datetime") if chrono::DateTime::parse_from_rfc3339(s).is_err() => {
                    out.push(format!("{at}: {s:?} is not RFC 3339"))
                }
                _ => {
                    if let Some(e) = p["enum"].as_array()
                        && !e.iter().any(|x| x == s)
                    {
                        out.push(format!("{at}: {s:?} not in enum"));
                    }
                }
            },
        },
        "integer" => {
            if !v.is_i64() && !v.is_u64() {
                out.push(format!("{at}: expected an integer"));
            }
        }
        "number" => {
            if !v.is_number() {
                out.push(format!("{at}: expected a number"));
            }
        }
        "boolean" => {
            if !v.is_boolean() {
                out.push(format!("{at}: expected a boolean"));
            }
        }
        other => out.push(format!("{at}: unhandled type {other}")),
    }
}
