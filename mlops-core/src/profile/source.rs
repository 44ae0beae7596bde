//! Key paths ↔ lines of an `mlops.toml`, for errors that name the key and the line.

use crate::error::Error;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The parsed document with its spans, kept beside the typed parse.
pub(super) struct SourceMap<'a> {
    text: &'a str,
    root: DeTable<'a>,
    label: String,
}

impl<'a> SourceMap<'a> {
    /// Parses `text` (syntax only); `label` names the file in messages.
    pub(super) fn parse(text: &'a str, label: &str) -> Result<Self, Error> {
        match DeTable::parse(text) {
            Ok(root) => Ok(Self {
                text,
                root: root.into_inner(),
                label: label.to_string(),
            }),
            Err(e) => {
                let line = e.span().map_or(1, |s| line_of(text, s.start));
                Err(Error::invalid(
                    format!("TOML ({label} line {line})"),
                    snippet(text, e.span()),
                    e.message().to_string(),
                ))
            }
        }
    }

    /// The 1-based line of byte `offset`.
    pub(super) fn line(&self, offset: usize) -> usize {
        line_of(self.text, offset)
    }

    /// The entry at `path`: (key span, value span).
    fn entry(&self, path: &[&str]) -> Option<(Range<usize>, Range<usize>)> {
        let (first, rest) = path.split_first()?;
        let (k, v) = self.root.get_key_value(*first)?;
        let mut spans = (k.span(), v.span());
        let mut value = v.get_ref();
        for seg in rest {
            match value {
                DeValue::Table(t) => {
                    let (k, v) = t.get_key_value(*seg)?;
                    spans = (k.span(), v.span());
                    value = v.get_ref();
                }
                DeValue::Array(a) => {
                    let v = a.get(seg.parse::<usize>().ok()?)?;
                    spans = (v.span(), v.span());
                    value = v.get_ref();
                }
                _ => return None,
            }
        }
        Some(spans)
    }

    /// The byte offset where the key at `path` is written (or its nearest parent).
    pub(super) fn key_offset(&self, path: &[&str]) -> Option<usize> {
        (1..=path.len())
            .rev()
            .find_map(|n| self.entry(&path[..n]))
            .map(|(k, _)| k.start)
    }

    /// The byte offset of the value at `path` (or of its key for tables).
    fn value_offset(&self, path: &[&str]) -> Option<usize> {
        let (k, v) = self.entry(path)?;
        Some(if v.is_empty() { k.start } else { v.start })
    }

    /// An `InvalidArgument` naming the key `path`, its line, the bad `value` and `reason`.
    pub(super) fn error(&self, path: &[&str], value: &str, reason: impl Into<String>) -> Error {
        let offset = self
            .value_offset(path)
            .or_else(|| self.key_offset(path))
            .unwrap_or(0);
        self.error_at(&path.join("."), offset, value, reason)
    }

    /// As [`SourceMap::error`], but at the line where the key itself is written.
    pub(super) fn error_key(&self, path: &[&str], value: &str, reason: impl Into<String>) -> Error {
        let offset = self.key_offset(path).unwrap_or(0);
        self.error_at(&path.join("."), offset, value, reason)
    }

    fn error_at(&self, key: &str, offset: usize, value: &str, reason: impl Into<String>) -> Error {
        Error::invalid(
            format!("key `{key}` ({} line {})", self.label, self.line(offset)),
            value,
            reason,
        )
    }

    /// Turns a typed-parse error into one naming the key (found from the span) and line.
    pub(super) fn toml_error(&self, e: &toml::de::Error) -> Error {
        let span = e.span();
        let offset = span.as_ref().map_or(0, |s| s.start);
        let path = self.path_at(offset);
        let key = if path.is_empty() {
            "(top level)".to_string()
        } else {
            path.join(".")
        };
        self.error_at(&key, offset, &snippet(self.text, span), e.message())
    }

    /// The deepest key path whose key or value span holds `offset`.
    pub(super) fn path_at(&self, offset: usize) -> Vec<String> {
        let mut best = Vec::new();
        walk(&self.root, &mut Vec::new(), offset, &mut best);
        best
    }

    /// Environment names in the order the file writes them.
    pub(super) fn table_keys_in_order(&self, path: &[&str]) -> Vec<String> {
        let table = match path {
            [] => Some(&self.root),
            _ => match self.entry(path).and_then(|_| self.value(path)) {
                Some(DeValue::Table(t)) => Some(t),
                _ => None,
            },
        };
        let mut keys: Vec<(usize, String)> = table
            .map(|t| {
                t.iter()
                    .map(|(k, _)| (k.span().start, k.get_ref().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        keys.sort();
        keys.into_iter().map(|(_, k)| k).collect()
    }

    fn value(&self, path: &[&str]) -> Option<&DeValue<'a>> {
        let (first, rest) = path.split_first()?;
        let mut value = self.root.get(*first)?.get_ref();
        for seg in rest {
            value = match value {
                DeValue::Table(t) => t.get(*seg)?.get_ref(),
                _ => return None,
            };
        }
        Some(value)
    }

    /// Every key path (dotted) in the document with the offset of its key.
    pub(super) fn all_keys(&self) -> Vec<(Vec<String>, usize)> {
        let mut out = Vec::new();
        collect(&self.root, &mut Vec::new(), &mut out);
        out
    }
}

fn walk(table: &DeTable<'_>, path: &mut Vec<String>, offset: usize, best: &mut Vec<String>) {
    for (k, v) in table.iter() {
        path.push(k.get_ref().to_string());
        if (k.span().contains(&offset) || v.span().contains(&offset)) && path.len() > best.len() {
            *best = path.clone();
        }
        walk_value(v, path, offset, best);
        path.pop();
    }
}

fn walk_value(
    v: &Spanned<DeValue<'_>>,
    path: &mut Vec<String>,
    offset: usize,
    best: &mut Vec<String>,
) {
    match v.get_ref() {
        DeValue::Table(t) => walk(t, path, offset, best),
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                path.push(i.to_string());
                if item.span().contains(&offset) && path.len() > best.len() {
                    *best = path.clone();
                }
                walk_value(item, path, offset, best);
                path.pop();
            }
        }
        _ => {}
    }
}

fn collect(table: &DeTable<'_>, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, usize)>) {
    for (k, v) in table.iter() {
        path.push(k.get_ref().to_string());
        out.push((path.clone(), k.span().start));
        if let DeValue::Table(t) = v.get_ref() {
            collect(t, path, out);
        }
        path.pop();
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The source text under `span`, on one line and at most 80 characters.
fn snippet(text: &str, span: Option<Range<usize>>) -> String {
    let Some(span) = span else {
        return String::new();
    };
    let s = text.get(span).unwrap_or("");
    let line = s.lines().next().unwrap_or("");
    line.chars().take(80).collect()
}
