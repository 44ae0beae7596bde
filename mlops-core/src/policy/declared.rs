//! [`declared_methods`]: the method list of a trait (or the public methods of an
//! inherent `impl`) read from its Rust source, so a [`MethodTable`](super::MethodTable)
//! is checked against the trait as written, not against a hand-kept copy of it.

use crate::error::{Error, Result};

/// The methods `item` declares in `source`, in source order.
///
/// `item` is `"trait <Name>"` (every `fn` of the trait block) or `"impl <Name>"`
/// (the `pub fn`s of every inherent `impl <Name>` block; `pub(crate)` and private
/// ones are left out). Comments, doc examples and string literals are ignored.
/// Meant for tests: `include_str!` the file that declares the trait and compare it
/// with the layer's table ([`MethodTable::check_declared`](super::MethodTable::check_declared)),
/// so a method added to the trait without a rule fails.
///
/// ```
/// use mlops_core::policy::declared_methods;
/// let src = r#"
///     /// Docs: `fn not_this()`.
///     pub trait Store: Send {
///         fn capabilities(&self) -> u8;
///         async fn put(&self, key: &str) -> Result<(), ()>; // fn nor_this
///     }
///     impl Thing { pub fn new() -> Self { Thing } fn private(&self) {} pub(crate) fn inner(&self) {} }
/// "#;
/// assert_eq!(declared_methods(src, "trait Store")?, ["capabilities", "put"]);
/// assert_eq!(declared_methods(src, "impl Thing")?, ["new"]);
/// assert!(declared_methods(src, "trait Nope").is_err());
/// # Ok::<(), mlops_core::Error>(())
/// ```
///
/// # Errors
/// `InvalidArgument` when `item` is neither `trait <Name>` nor `impl <Name>`;
/// `NotFound` when `source` declares no such item, or its block never closes.
pub fn declared_methods(source: &str, item: &str) -> Result<Vec<String>> {
    let (keyword, name) = item
        .split_once(' ')
        .filter(|(k, n)| matches!(*k, "trait" | "impl") && is_ident(n))
        .ok_or_else(|| Error::invalid("item", item, "expected `trait <Name>` or `impl <Name>`"))?;
    let code = blank_comments_and_strings(source);
    let b = code.as_bytes();
    let all_fns = keyword == "trait";
    let mut found = false;
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = find_item(&code, from, keyword, name) {
        from = at + 1;
        // the block: the first `{` after the header (skipping generics and bounds)
        let Some(open) = code[at..].find('{').map(|o| at + o) else {
            break;
        };
        if code[at..open].contains(';') {
            continue; // `impl Name;`-like text, not a block
        }
        let close = matching_brace(b, open)
            .ok_or_else(|| Error::not_found("end of block", item.to_string()))?;
        found = true;
        collect_fns(&code[open + 1..close], all_fns, &mut out);
    }
    if !found {
        return Err(Error::not_found("item", item.to_string()));
    }
    Ok(out)
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_ident_byte)
}

/// Byte offset of the next `<keyword> <name>` (whole words) from `from`.
fn find_item(code: &str, from: usize, keyword: &str, name: &str) -> Option<usize> {
    let b = code.as_bytes();
    let mut i = from;
    while let Some(off) = code.get(i..)?.find(keyword) {
        let at = i + off;
        i = at + keyword.len();
        let before_ok = at == 0 || !is_ident_byte(b[at - 1]);
        let rest = &code[i..];
        let after_kw = rest.trim_start();
        let spaced = after_kw.len() < rest.len();
        if before_ok
            && spaced
            && after_kw.starts_with(name)
            && !after_kw
                .as_bytes()
                .get(name.len())
                .is_some_and(|c| is_ident_byte(*c))
        {
            return Some(at);
        }
    }
    None
}

/// The `}` closing the `{` at `open`.
fn matching_brace(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in b.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The `fn` names at the top level of a block body (`pub` ones unless `all`).
fn collect_fns(body: &str, all: bool, out: &mut Vec<String>) {
    let b = body.as_bytes();
    let mut depth = 0usize;
    let mut item_start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' => {
                depth += 1;
                i += 1;
                continue;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    item_start = i + 1;
                }
                i += 1;
                continue;
            }
            b';' if depth == 0 => {
                item_start = i + 1;
                i += 1;
                continue;
            }
            _ => {}
        }
        let word_start = i == 0 || !is_ident_byte(b[i - 1]);
        if depth == 0 && word_start && body[i..].starts_with("fn") {
            let after = &body[i + 2..];
            let name_part = after.trim_start();
            if after.len() > name_part.len() {
                let name: String = name_part
                    .bytes()
                    .take_while(|c| is_ident_byte(*c))
                    .map(char::from)
                    .collect();
                if !name.is_empty() && (all || is_pub(&body[item_start..i])) {
                    out.push(name);
                }
            }
        }
        i += 1;
    }
}

/// Whether an item's prefix (attributes, qualifiers) makes it `pub` (not `pub(..)`).
fn is_pub(prefix: &str) -> bool {
    let b = prefix.as_bytes();
    let mut i = 0;
    while let Some(off) = prefix.get(i..).and_then(|p| p.find("pub")) {
        let at = i + off;
        i = at + 3;
        let before_ok = at == 0 || !is_ident_byte(b[at - 1]);
        let next = prefix[i..].trim_start().bytes().next();
        let after_ok = b.get(i).is_some_and(|c| c.is_ascii_whitespace()) && next != Some(b'(');
        if before_ok && after_ok {
            return true;
        }
    }
    false
}

/// `source` with comments, string and char literals blanked (same byte offsets,
/// newlines kept), so braces and `fn` inside them are not seen.
fn blank_comments_and_strings(source: &str) -> String {
    let b = source.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        let next = b.get(i + 1).copied();
        if b[i] == b'/' && next == Some(b'/') {
            let end = b[i..]
                .iter()
                .position(|c| *c == b'\n')
                .map_or(b.len(), |p| i + p);
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'/' && next == Some(b'*') {
            let end = source[i + 2..]
                .find("*/")
                .map_or(b.len(), |p| i + 2 + p + 2);
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'r'
            && matches!(next, Some(b'"' | b'#'))
            && raw_string_end(b, i).is_some()
        {
            let end = raw_string_end(b, i).unwrap_or(b.len());
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if b[i] == b'\'' && next == Some(b'\\') {
            // an escaped char literal: '\n', '\'', '\u{..}'
            let end = b[i + 2..]
                .iter()
                .skip(1)
                .position(|c| *c == b'\'')
                .map_or(b.len(), |p| i + 3 + p + 1);
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            blank(&mut out, i, i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The end (exclusive) of a raw string `r#*"..."#*` starting at `i`, if it is one.
fn raw_string_end(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && is_ident_byte(b[i - 1]) {
        return None; // part of an identifier such as `for"`
    }
    let hashes = b[i + 1..].iter().take_while(|c| **c == b'#').count();
    let quote = i + 1 + hashes;
    if b.get(quote) != Some(&b'"') {
        return None;
    }
    let mut j = quote + 1;
    while j < b.len() {
        if b[j] == b'"'
            && b[j + 1..]
                .iter()
                .take(hashes)
                .filter(|c| **c == b'#')
                .count()
                == hashes
        {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r##"
/// ```
/// # async fn main() { let s = "}"; }
/// ```
#[async_trait]
pub trait Tracker: std::fmt::Debug + Send + Sync + 'static {
    /// Creates it. `fn fake(`
    fn capabilities(&self) -> Capabilities;
    /* fn blocked() { */
    async fn create_experiment(&self, name: &str, tags: &[Tag]) -> Result<String>;
    async fn rename<'a>(&'a self, c: char) -> Result<()>;
}
pub trait TrackerExt: Tracker {
    async fn log_metric(&self) -> Result<()> { let x = '{'; let y = r#"}"#; Ok(()) }
}
impl Tracker for Box<dyn Tracker> { fn capabilities(&self) -> Capabilities { Capabilities::NONE } }
impl FeatureStore {
    /// Opens it.
    pub fn new(s: Storage) -> Result<Self> { if true { fn nested() {} } Ok(Self) }
    #[allow(clippy::too_many_arguments)]
    pub async fn apply(&self) -> Result<u64> { Ok(1) }
    pub(crate) fn cache(&self) {}
    fn private(&self) {}
}
impl std::fmt::Debug for FeatureStore { fn fmt(&self) {} }
impl FeatureStore { pub async fn materialize(&self) {} }
"##;

    #[test]
    fn reads_trait_and_inherent_methods() {
        assert_eq!(
            declared_methods(SRC, "trait Tracker").unwrap(),
            ["capabilities", "create_experiment", "rename"]
        );
        assert_eq!(
            declared_methods(SRC, "trait TrackerExt").unwrap(),
            ["log_metric"]
        );
        assert_eq!(
            declared_methods(SRC, "impl FeatureStore").unwrap(),
            ["new", "apply", "materialize"]
        );
        assert_eq!(
            declared_methods(SRC, "trait Nope").unwrap_err().kind(),
            crate::ErrorKind::NotFound
        );
        assert_eq!(
            declared_methods(SRC, "struct FeatureStore")
                .unwrap_err()
                .kind(),
            crate::ErrorKind::InvalidArgument
        );
    }
}
