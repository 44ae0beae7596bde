//! MLflow's search syntax: filters (`metrics.loss < 1 and params.lr = '0.01'`) and
//! `order_by` clauses (`metrics.loss DESC`), parsed once and evaluated by the
//! embedded backend. A parse error names the 1-based column and draws a caret.
//!
//! ```
//! use mlops_tracking::parse::{parse_filter, Entity, Op};
//! let f = parse_filter("metrics.`val loss` <= 0.5 AND tags.team ILIKE 'ML%'").unwrap();
//! assert_eq!(f.clauses.len(), 2);
//! assert_eq!(f.clauses[0].entity, Entity::Metric("val loss".into()));
//! assert_eq!(f.clauses[1].op, Op::ILike);
//! let e = parse_filter("metrics.x << 1").unwrap_err();
//! assert!(e.to_string().contains("column 12"));
//! ```

use crate::error::{Error, Result};
use std::cmp::Ordering;

/// A parsed filter: clauses joined by `AND` (MLflow has no `OR`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    /// The clauses; empty matches everything.
    pub clauses: Vec<Clause>,
}

/// `entity op value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// What is compared.
    pub entity: Entity,
    /// How.
    pub op: Op,
    /// With what.
    pub value: Value,
}

/// The left side of a clause or a sort key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Entity {
    /// `metrics.<key>`.
    Metric(String),
    /// `params.<key>`.
    Param(String),
    /// `tags.<key>`.
    Tag(String),
    /// `attributes.<name>` or a bare name (`status`, `start_time`, `name`...).
    Attribute(String),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `LIKE` (`%` any run, `_` one character; case-sensitive).
    Like,
    /// `ILIKE` (case-insensitive `LIKE`).
    ILike,
    /// `IN (...)`.
    In,
    /// `NOT IN (...)`.
    NotIn,
}

/// The right side of a clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A quoted string.
    Str(String),
    /// A number.
    Num(f64),
    /// A parenthesised list of strings (for `IN`).
    List(Vec<String>),
}

/// A value an object yields for an entity.
#[derive(Debug, Clone, PartialEq)]
pub enum Field<'a> {
    /// Numeric (metrics, times).
    Num(f64),
    /// Text (params, tags, names, status).
    Str(&'a str),
}

/// Something a filter can be evaluated on (a run, an experiment).
pub trait Searchable {
    /// The value of `entity`, or `None` when the object does not have it.
    fn field(&self, entity: &Entity) -> Option<Field<'_>>;
}

/// One `order_by` key.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    /// What to sort by.
    pub entity: Entity,
    /// Ascending (the default) or descending.
    pub ascending: bool,
}

const NUMERIC_ATTRS: &[&str] = &[
    "start_time",
    "end_time",
    "created",
    "creation_time",
    "last_update_time",
];

/// Parses a filter. An empty or blank filter matches everything.
///
/// # Errors
/// [`Error::Parse`] with the 1-based column of the offending token.
pub fn parse_filter(input: &str) -> Result<Filter> {
    let mut p = Parser::new(input, "filter")?;
    let mut clauses = Vec::new();
    if p.at_end() {
        return Ok(Filter { clauses });
    }
    loop {
        clauses.push(p.clause()?);
        if p.at_end() {
            break;
        }
        let (col, tok) = p.next_tok();
        match tok {
            Tok::Word(w) if w.eq_ignore_ascii_case("and") => {}
            Tok::Word(w) if w.eq_ignore_ascii_case("or") => {
                return Err(p.err(
                    col,
                    "OR is not supported; MLflow filters join clauses with AND",
                ));
            }
            _ => return Err(p.err(col, "expected AND or the end of the filter")),
        }
    }
    Ok(Filter { clauses })
}

/// Parses one `order_by` clause, e.g. `metrics.loss DESC` or `attributes.start_time`.
///
/// # Errors
/// [`Error::Parse`] with the 1-based column of the offending token.
pub fn parse_order_by(input: &str) -> Result<OrderBy> {
    let mut p = Parser::new(input, "order_by")?;
    if p.at_end() {
        return Err(p.err(1, "expected a key such as metrics.loss"));
    }
    let entity = p.entity()?;
    let mut ascending = true;
    if !p.at_end() {
        let (col, tok) = p.next_tok();
        match tok {
            Tok::Word(w) if w.eq_ignore_ascii_case("asc") => {}
            Tok::Word(w) if w.eq_ignore_ascii_case("desc") => ascending = false,
            _ => return Err(p.err(col, "expected ASC or DESC")),
        }
    }
    if !p.at_end() {
        let col = p.peek_col();
        return Err(p.err(col, "unexpected text after the sort direction"));
    }
    Ok(OrderBy { entity, ascending })
}

impl Filter {
    /// Whether `obj` satisfies every clause. A missing metric/param/tag fails the clause.
    pub fn matches(&self, obj: &impl Searchable) -> bool {
        self.clauses.iter().all(|c| c.matches(obj))
    }
}

impl Clause {
    fn matches(&self, obj: &impl Searchable) -> bool {
        let Some(field) = obj.field(&self.entity) else {
            return false;
        };
        match (field, &self.value) {
            (Field::Num(a), Value::Num(b)) => match self.op {
                Op::Eq => a == *b,
                Op::Ne => a != *b,
                Op::Lt => a < *b,
                Op::Le => a <= *b,
                Op::Gt => a > *b,
                Op::Ge => a >= *b,
                _ => false,
            },
            (Field::Str(a), Value::Str(b)) => match self.op {
                Op::Eq => a == b,
                Op::Ne => a != b,
                Op::Lt => a < b.as_str(),
                Op::Le => a <= b.as_str(),
                Op::Gt => a > b.as_str(),
                Op::Ge => a >= b.as_str(),
                Op::Like => like(a, b, false),
                Op::ILike => like(a, b, true),
                _ => false,
            },
            (Field::Str(a), Value::List(l)) => match self.op {
                Op::In => l.iter().any(|v| v == a),
                Op::NotIn => l.iter().all(|v| v != a),
                _ => false,
            },
            _ => false,
        }
    }
}

/// SQL `LIKE`: `%` matches any run of characters, `_` exactly one.
pub fn like(text: &str, pattern: &str, case_insensitive: bool) -> bool {
    let (t, p): (Vec<char>, Vec<char>) = if case_insensitive {
        (
            text.to_lowercase().chars().collect(),
            pattern.to_lowercase().chars().collect(),
        )
    } else {
        (text.chars().collect(), pattern.chars().collect())
    };
    // Iterative wildcard matching with backtracking to the last '%'.
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || (p[pi] != '%' && p[pi] == t[ti])) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}

/// Compares two objects by `keys`; objects missing a key sort after those that have it,
/// whatever the direction (as MLflow does).
pub fn compare(keys: &[OrderBy], a: &impl Searchable, b: &impl Searchable) -> Ordering {
    for k in keys {
        let o = match (a.field(&k.entity), b.field(&k.entity)) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => {
                let o = cmp_fields(&x, &y);
                if k.ascending { o } else { o.reverse() }
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

fn cmp_fields(a: &Field<'_>, b: &Field<'_>) -> Ordering {
    match (a, b) {
        (Field::Num(x), Field::Num(y)) => x.total_cmp(y),
        (Field::Str(x), Field::Str(y)) => x.cmp(y),
        (Field::Num(_), Field::Str(_)) => Ordering::Less,
        (Field::Str(_), Field::Num(_)) => Ordering::Greater,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Backticked(String),
    Num(f64),
    Op(&'static str),
    Dot,
    Comma,
    LParen,
    RParen,
}

struct Parser<'a> {
    input: &'a str,
    what: &'static str,
    toks: Vec<(usize, Tok)>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str, what: &'static str) -> Result<Self> {
        let toks = lex(input, what)?;
        Ok(Self {
            input,
            what,
            toks,
            pos: 0,
        })
    }

    fn err(&self, column: usize, message: &str) -> Error {
        parse_err(self.what, self.input, column, message)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn end_col(&self) -> usize {
        self.input.chars().count() + 1
    }

    fn peek_col(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end_col(), |t| t.0)
    }

    fn next_tok(&mut self) -> (usize, Tok) {
        match self.toks.get(self.pos) {
            Some(t) => {
                self.pos += 1;
                t.clone()
            }
            None => (self.end_col(), Tok::Comma),
        }
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.1)
    }

    fn entity(&mut self) -> Result<Entity> {
        let (col, tok) = self.next_tok();
        let first = match tok {
            Tok::Word(w) => w,
            Tok::Backticked(w) | Tok::Quoted(w) => {
                return Ok(Entity::Attribute(w));
            }
            _ => {
                return Err(self.err(
                    col,
                    "expected a key such as metrics.loss, params.lr, tags.team or attributes.status",
                ));
            }
        };
        let prefix = first.to_ascii_lowercase();
        let kind = match prefix.as_str() {
            "metric" | "metrics" => Some(0),
            "param" | "params" | "parameter" | "parameters" => Some(1),
            "tag" | "tags" => Some(2),
            "attribute" | "attributes" | "attr" | "run" => Some(3),
            _ => None,
        };
        if self.peek() != Some(&Tok::Dot) {
            return Ok(Entity::Attribute(first));
        }
        let Some(kind) = kind else {
            return Err(self.err(
                col,
                "unknown entity type; expected metrics, params, tags or attributes",
            ));
        };
        // key: words/numbers joined by dots, or one quoted/backticked name
        let mut key = String::new();
        let key_col = self.toks.get(self.pos + 1).map_or(self.end_col(), |t| t.0);
        while self.peek() == Some(&Tok::Dot) {
            self.pos += 1;
            if !key.is_empty() {
                key.push('.');
            }
            let (c, t) = self.next_tok();
            match t {
                Tok::Word(w) => key.push_str(&w),
                Tok::Num(_) => key.push_str(&self.raw_token(c)),
                Tok::Backticked(w) | Tok::Quoted(w) if key.is_empty() => {
                    key = w;
                    break;
                }
                _ => return Err(self.err(c, "expected a key name after '.'")),
            }
        }
        if key.is_empty() {
            return Err(self.err(key_col, "expected a key name after '.'"));
        }
        Ok(match kind {
            0 => Entity::Metric(key),
            1 => Entity::Param(key),
            2 => Entity::Tag(key),
            _ => Entity::Attribute(key),
        })
    }

    fn raw_token(&self, col: usize) -> String {
        self.input
            .chars()
            .skip(col - 1)
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect()
    }

    fn clause(&mut self) -> Result<Clause> {
        let ent_col = self.peek_col();
        let entity = self.entity()?;
        let (op_col, tok) = self.next_tok();
        let op = match tok {
            Tok::Op("=") => Op::Eq,
            Tok::Op("!=") => Op::Ne,
            Tok::Op("<") => Op::Lt,
            Tok::Op("<=") => Op::Le,
            Tok::Op(">") => Op::Gt,
            Tok::Op(">=") => Op::Ge,
            Tok::Word(w) if w.eq_ignore_ascii_case("like") => Op::Like,
            Tok::Word(w) if w.eq_ignore_ascii_case("ilike") => Op::ILike,
            Tok::Word(w) if w.eq_ignore_ascii_case("in") => Op::In,
            Tok::Word(w) if w.eq_ignore_ascii_case("not") => {
                let (c, t) = self.next_tok();
                match t {
                    Tok::Word(w) if w.eq_ignore_ascii_case("in") => Op::NotIn,
                    _ => return Err(self.err(c, "expected IN after NOT")),
                }
            }
            _ => {
                return Err(self.err(
                    op_col,
                    "expected a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN)",
                ));
            }
        };
        let (val_col, tok) = self.next_tok();
        let value = match (op, tok) {
            (Op::In | Op::NotIn, Tok::LParen) => Value::List(self.list()?),
            (Op::In | Op::NotIn, _) => {
                return Err(self.err(val_col, "expected '(' starting a list of strings"));
            }
            (_, Tok::Quoted(s)) => Value::Str(s),
            (_, Tok::Num(n)) => Value::Num(n),
            _ => return Err(self.err(val_col, "expected a quoted string or a number")),
        };
        self.check_types(&entity, op, &value, ent_col, op_col, val_col)?;
        Ok(Clause { entity, op, value })
    }

    fn list(&mut self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        loop {
            let (c, t) = self.next_tok();
            match t {
                Tok::Quoted(s) => out.push(s),
                _ => return Err(self.err(c, "expected a quoted string in the list")),
            }
            let (c, t) = self.next_tok();
            match t {
                Tok::Comma => {}
                Tok::RParen => return Ok(out),
                _ => return Err(self.err(c, "expected ',' or ')'")),
            }
        }
    }

    fn check_types(
        &self,
        entity: &Entity,
        op: Op,
        value: &Value,
        ent_col: usize,
        op_col: usize,
        val_col: usize,
    ) -> Result<()> {
        let numeric = match entity {
            Entity::Metric(_) => true,
            Entity::Attribute(a) => NUMERIC_ATTRS.contains(&a.as_str()),
            _ => false,
        };
        let string_attr =
            matches!(entity, Entity::Attribute(a) if !NUMERIC_ATTRS.contains(&a.as_str()));
        if numeric {
            if !matches!(value, Value::Num(_)) {
                return Err(self.err(val_col, "expected a number"));
            }
            if matches!(op, Op::Like | Op::ILike | Op::In | Op::NotIn) {
                return Err(self.err(op_col, "numeric keys take =, !=, <, <=, >, >="));
            }
        } else {
            if matches!(value, Value::Num(_)) {
                return Err(self.err(val_col, "expected a quoted string"));
            }
            if matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge) {
                return Err(self.err(op_col, "string keys take =, !=, LIKE, ILIKE"));
            }
            if matches!(op, Op::In | Op::NotIn) && !string_attr {
                return Err(self.err(op_col, "IN is only supported on attributes"));
            }
        }
        let _ = ent_col;
        Ok(())
    }
}

fn parse_err(what: &'static str, input: &str, column: usize, message: &str) -> Error {
    Error::Parse {
        what,
        input: input.to_string(),
        column,
        message: message.to_string(),
    }
}

fn lex(input: &str, what: &'static str) -> Result<Vec<(usize, Tok)>> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            '.' if !chars.get(i + 1).is_some_and(char::is_ascii_digit)
                || matches!(out.last(), Some((_, Tok::Word(_)))) =>
            {
                out.push((col, Tok::Dot));
                i += 1;
            }
            ',' => {
                out.push((col, Tok::Comma));
                i += 1;
            }
            '(' => {
                out.push((col, Tok::LParen));
                i += 1;
            }
            ')' => {
                out.push((col, Tok::RParen));
                i += 1;
            }
            '\'' | '"' | '`' => {
                let close = c;
                let mut s = String::new();
                let mut j = i + 1;
                let mut closed = false;
                while j < chars.len() {
                    if chars[j] == close {
                        // a doubled quote inside a string is an escaped quote
                        if chars.get(j + 1) == Some(&close) && close != '`' {
                            s.push(close);
                            j += 2;
                            continue;
                        }
                        closed = true;
                        break;
                    }
                    if chars[j] == '\\' && j + 1 < chars.len() {
                        s.push(chars[j + 1]);
                        j += 2;
                        continue;
                    }
                    s.push(chars[j]);
                    j += 1;
                }
                if !closed {
                    return Err(parse_err(what, input, col, "unterminated quote"));
                }
                out.push((
                    col,
                    if close == '`' {
                        Tok::Backticked(s)
                    } else {
                        Tok::Quoted(s)
                    },
                ));
                i = j + 1;
            }
            '=' => {
                out.push((col, Tok::Op("=")));
                i += if chars.get(i + 1) == Some(&'=') { 2 } else { 1 };
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push((col, Tok::Op("!=")));
                i += 2;
            }
            '<' | '>' => {
                if chars.get(i + 1) == Some(&'=') {
                    out.push((col, Tok::Op(if c == '<' { "<=" } else { ">=" })));
                    i += 2;
                } else if chars.get(i + 1) == Some(&'>') {
                    return Err(parse_err(what, input, col, "use != for inequality"));
                } else {
                    out.push((col, Tok::Op(if c == '<' { "<" } else { ">" })));
                    i += 1;
                }
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let mut j = i + 1;
                while j < chars.len()
                    && (chars[j].is_ascii_alphanumeric()
                        || chars[j] == '.'
                        || ((chars[j] == '-' || chars[j] == '+')
                            && matches!(chars[j - 1], 'e' | 'E')))
                {
                    j += 1;
                }
                let text: String = chars[i..j].iter().collect();
                match text.parse::<f64>() {
                    Ok(n)
                        if !text.contains(|c: char| {
                            c.is_ascii_alphabetic() && c != 'e' && c != 'E'
                        }) =>
                    {
                        out.push((col, Tok::Num(n)));
                    }
                    _ if c.is_ascii_digit() && matches!(out.last(), Some((_, Tok::Dot))) => {
                        // a key segment that starts with a digit, e.g. metrics.1st
                        out.push((col, Tok::Word(text)));
                    }
                    _ => return Err(parse_err(what, input, col, "malformed number")),
                }
                i = j;
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut j = i + 1;
                while j < chars.len()
                    && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == '-')
                {
                    j += 1;
                }
                out.push((col, Tok::Word(chars[i..j].iter().collect())));
                i = j;
            }
            _ => return Err(parse_err(what, input, col, "unexpected character")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Obj {
        m: BTreeMap<String, f64>,
        p: BTreeMap<String, String>,
        status: String,
    }
    impl Searchable for Obj {
        fn field(&self, e: &Entity) -> Option<Field<'_>> {
            match e {
                Entity::Metric(k) => self.m.get(k).map(|v| Field::Num(*v)),
                Entity::Param(k) | Entity::Tag(k) => self.p.get(k).map(|v| Field::Str(v)),
                Entity::Attribute(a) if a == "status" => Some(Field::Str(&self.status)),
                _ => None,
            }
        }
    }

    fn obj(loss: f64, lr: &str) -> Obj {
        Obj {
            m: [("loss".to_string(), loss)].into(),
            p: [("lr".to_string(), lr.to_string())].into(),
            status: "FINISHED".into(),
        }
    }

    #[test]
    fn parses_and_matches() {
        let f = parse_filter("metrics.loss < 1 and params.lr = '0.01'").unwrap();
        assert!(f.matches(&obj(0.5, "0.01")));
        assert!(!f.matches(&obj(1.5, "0.01")));
        assert!(!f.matches(&obj(0.5, "0.1")));
        let f = parse_filter("attributes.status = 'FINISHED' AND params.lr LIKE '0.0%'").unwrap();
        assert!(f.matches(&obj(0.5, "0.01")));
        let f = parse_filter("params.lr ILIKE '0.0_'").unwrap();
        assert!(f.matches(&obj(0.5, "0.01")));
        let f = parse_filter("metrics.missing > 0").unwrap();
        assert!(!f.matches(&obj(0.5, "0.01")));
        let f = parse_filter("status IN ('RUNNING', 'FINISHED')").unwrap();
        assert!(f.matches(&obj(0.5, "0.01")));
        let f = parse_filter("attributes.status NOT IN ('FINISHED')").unwrap();
        assert!(!f.matches(&obj(0.5, "0.01")));
        let f = parse_filter("metrics.loss >= -1e-3").unwrap();
        assert_eq!(f.clauses[0].value, Value::Num(-1e-3));
        assert!(parse_filter("   ").unwrap().clauses.is_empty());
        let f = parse_filter("tags.`a b.c` != \"x\"").unwrap();
        assert_eq!(f.clauses[0].entity, Entity::Tag("a b.c".into()));
        let f = parse_filter("metrics.val.loss = 2").unwrap();
        assert_eq!(f.clauses[0].entity, Entity::Metric("val.loss".into()));
    }

    #[test]
    fn errors_point_at_the_column() {
        let cases = [
            ("metrics.x << 1", 12),
            ("metrics.x < 'a'", 13),
            ("params.lr < '1'", 11),
            ("metrics.x < 1 or metrics.y < 2", 15),
            ("metrics.x < 1 and", 18),
            ("foo.x = 1", 1),
            ("params.lr = 'unterminated", 13),
            ("metrics.x < 1 metrics.y < 1", 15),
            ("metrics. = 1", 10),
            ("metrics.x <> 1", 11),
        ];
        for (input, col) in cases {
            let e = parse_filter(input).unwrap_err();
            match &e {
                Error::Parse { column, .. } => assert_eq!(*column, col, "{input}: {e}"),
                other => panic!("{other}"),
            }
        }
    }

    #[test]
    fn order_by() {
        let o = parse_order_by("metrics.loss DESC").unwrap();
        assert_eq!(o.entity, Entity::Metric("loss".into()));
        assert!(!o.ascending);
        let o = parse_order_by("attributes.start_time").unwrap();
        assert!(o.ascending);
        assert!(parse_order_by("metrics.loss sideways").is_err());
        let keys = [parse_order_by("metrics.loss DESC").unwrap()];
        let a = obj(1.0, "x");
        let b = obj(2.0, "x");
        let mut none = obj(0.0, "x");
        none.m.clear();
        assert_eq!(compare(&keys, &a, &b), Ordering::Greater);
        assert_eq!(compare(&keys, &none, &a), Ordering::Greater);
    }

    #[test]
    fn like_semantics() {
        assert!(like("abc", "a%", false));
        assert!(like("abc", "%c", false));
        assert!(like("abc", "a_c", false));
        assert!(!like("abc", "A%", false));
        assert!(like("abc", "A%", true));
        assert!(like("", "%", false));
        assert!(!like("ab", "a_c", false));
        assert!(like("a%b", "a%b", false));
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC{0,40}") {
            let _ = parse_filter(&s);
            let _ = parse_order_by(&s);
        }

        #[test]
        fn numeric_clause_round_trips(key in "[a-z_][a-z0-9_]{0,10}", v in -1e9f64..1e9) {
            let f = parse_filter(&format!("metrics.{key} >= {v:?}")).unwrap();
            proptest::prop_assert_eq!(&f.clauses[0].entity, &Entity::Metric(key));
            proptest::prop_assert_eq!(&f.clauses[0].value, &Value::Num(v));
        }

        #[test]
        fn string_clause_round_trips(key in "[a-z][a-z0-9]{0,8}", v in "[^'\\\\]{0,12}") {
            let f = parse_filter(&format!("params.{key} = '{v}'")).unwrap();
            proptest::prop_assert_eq!(&f.clauses[0].value, &Value::Str(v));
        }

        #[test]
        fn like_percent_matches_prefix(a in "[a-z]{0,8}", b in "[a-z]{0,8}") {
            let text = format!("{a}{b}");
            let pat = format!("{a}%");
            proptest::prop_assert!(like(&text, &pat, false));
        }
    }
}
