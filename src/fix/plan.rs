//! From a proposed fix to text edits: where each line goes, how it is
//! written, and which values a person must supply.
//!
//! A changed setting goes into one block: the hop's own block, or the block
//! whose directive defines the value today (which may be `http`, or a file
//! included in many places). If the block already has the directive, its
//! parameters are replaced in place; otherwise a new line is inserted with
//! the indentation of its neighbours, after the block's TLS settings, the
//! pass directive, or its last simple directive before nested blocks.
//! Nothing else in the file changes, comments and spacing included.

use std::collections::BTreeMap;

use super::edit::Edit;
use crate::conf::{NodeId, Range, SourceFile};
use crate::diagnostic::{Change, Fix, FixValue};
use crate::model::{CtxId, DirRef, Hop, Model};
use crate::visible::visible;

/// Where the lines of a fix go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Placement {
    /// The hop's own block (its location, or its stream server): affects
    /// only the hops in it.
    #[default]
    Hop,
    /// The block that sets the value today (falls back to the hop's block
    /// when the value is nginx's default).
    Defining,
}

impl Placement {
    pub fn as_str(self) -> &'static str {
        match self {
            Placement::Hop => "hop",
            Placement::Defining => "defining",
        }
    }
}

/// Values supplied by a person, for one hop each (`hop-id:key`).
///
/// A person's `--set KEY=VALUE` names no hop: [`Values::set`] keeps it
/// apart, and the fix engine binds it to the one hop that needs the key
/// before any fix is applied ([`Values::bound`]); it never reaches another
/// hop, not even one a later round makes need the key. A plain `key` given
/// to [`Values::insert`] serves every hop: only for callers that mean it
/// (generated test trees).
#[derive(Clone, Debug, Default)]
pub struct Values {
    pub(super) map: BTreeMap<String, String>,
    /// `KEY=VALUE` as a person gave it: for the one hop that needs `KEY`.
    pub(super) one_hop: BTreeMap<String, String>,
    /// Proposals are not used: only what a person gave counts.
    given_only: bool,
}

/// Why a `--set` value was refused; each keeps the text as given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// No `=` between the key and the value.
    #[error("--set takes KEY=VALUE (or HOP:KEY=VALUE), got \"{}\"", visible(.0))]
    NoEquals(String),
    /// The key or the value is empty.
    #[error("--set takes KEY=VALUE with both parts non-empty, got \"{}\"", visible(.0))]
    EmptyPart(String),
    /// The key is none of [`super::values::KEYS`].
    #[error("--set \"{}\": the key is none of {} (HOP:KEY=VALUE names a hop first)", visible(.0), super::values::KEYS.join(", "))]
    UnknownKey(String),
}

impl Values {
    /// Takes a person's `KEY=VALUE` (for the one hop that needs `KEY`, see
    /// [`Values::bound`]) or `HOP-ID:KEY=VALUE` (for that hop).
    pub fn set(&mut self, spec: &str) -> Result<super::values::SetSpec, ValueError> {
        let s = super::values::SetSpec::parse(spec)?;
        match &s.hop {
            Some(hop) => self.map.insert(format!("{hop}:{}", s.key), s.value.clone()),
            None => self.one_hop.insert(s.key.to_string(), s.value.clone()),
        };
        Ok(s)
    }
    /// `hop-id:key` for one hop; a plain `key` serves every hop.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.map.insert(key.into(), value.into());
    }
    /// The same values, with proposals left out: a fix that needs a value
    /// nobody gave is then missing it instead of using its proposal.
    pub fn given_only(&self) -> Values {
        Values {
            given_only: true,
            ..self.clone()
        }
    }
    /// The value for a hop: its own, else one for every hop. A `KEY=VALUE`
    /// not yet bound to its hop is never used.
    pub fn get(&self, hop: &str, key: &str) -> Option<&str> {
        // No values at all (every report's edits): nothing to look up.
        if self.map.is_empty() {
            return None;
        }
        self.map
            .get(&format!("{hop}:{key}"))
            .or_else(|| self.map.get(key))
            .map(String::as_str)
    }
}

/// A value the fix cannot be written without.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    pub key: &'static str,
    pub prompt: String,
    /// The proposal that was not used (see [`Values::given_only`]).
    pub proposal: Option<String>,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "needs a value: {}", self.prompt)?;
        match &self.proposal {
            Some(p) => write!(f, " (proposed: {p}, not used unless confirmed)"),
            None => Ok(()),
        }
    }
}

/// Resolves a value: supplied, else proposed (unless the values are
/// [`Values::given_only`]), else missing.
pub fn resolve(value: &FixValue, hop: &str, values: &Values) -> Result<String, Missing> {
    match value {
        FixValue::Literal(v) => Ok(v.clone()),
        FixValue::Input {
            key,
            prompt,
            proposal,
        } => values
            .get(hop, key)
            .map(str::to_string)
            .or_else(|| proposal.clone().filter(|_| !values.given_only))
            .ok_or_else(|| Missing {
                key,
                prompt: prompt.clone(),
                proposal: proposal.clone().filter(|_| values.given_only),
            }),
    }
}

/// Writes a parameter so nginx reads it back as `value`: quoted when it is
/// empty or holds whitespace, `;`, `{`, `}`, a quote, `#` or `\`. The one
/// rule for every line hopscope writes or shows (the fix and its help line).
/// The parameters a `Set` writes for a value resolved to `v`: a rule's
/// literal is a parameter list (`TLSv1.2 TLSv1.3`); a value a person gives
/// is one parameter (a path may contain spaces).
pub fn params(value: &FixValue, v: &str) -> Vec<String> {
    match value {
        FixValue::Literal(_) => v.split_whitespace().map(quote).collect(),
        FixValue::Input { .. } => vec![quote(v)],
    }
}

pub fn quote(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    push_quoted(&mut s, value);
    s
}

/// [`quote`], appended to `out`.
pub fn push_quoted(out: &mut String, value: &str) {
    let plain = !value.is_empty()
        && !value.bytes().any(|b| {
            b.is_ascii_whitespace() || matches!(b, b';' | b'{' | b'}' | b'"' | b'\'' | b'#' | b'\\')
        });
    if plain {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// The edits that make a fix true for a hop.
pub fn edits(
    model: &Model,
    hop: &Hop,
    fix: &Fix,
    placement: Placement,
    values: &Values,
) -> Result<Vec<Edit>, Missing> {
    let out = fix
        .changes
        .iter()
        .map(|change| change_edit(model, hop, fix, change, placement, values))
        .collect::<Result<Vec<Edit>, Missing>>()?;
    Ok(combine(out))
}

/// The edit that makes one change of a fix true for a hop.
pub(crate) fn change_edit(
    model: &Model,
    hop: &Hop,
    fix: &Fix,
    change: &Change,
    placement: Placement,
    values: &Values,
) -> Result<Edit, Missing> {
    Ok(match change {
        Change::Set { directive, value } => {
            let v = resolve(value, &hop.id, values)?;
            let block = target_block(model, hop, fix, directive, placement);
            // A rule's literal is a parameter list (`TLSv1.2 TLSv1.3`);
            // a value a person gives is one parameter (a path may
            // contain spaces).
            let params = params(value, &v);
            set_in_block(model, block, hop, directive, &params)
        }
        Change::SetHeader {
            directive,
            header,
            value,
        } => {
            let v = resolve(value, &hop.id, values)?;
            let block = target_block(model, hop, fix, directive, placement);
            set_header(model, block, hop, directive, header, &quote(&v))
        }
    })
}

/// A fix's insertions at the same point become one edit, so its lines stay
/// together and in order.
pub(crate) fn combine(edits: Vec<Edit>) -> Vec<Edit> {
    let mut out: Vec<Edit> = Vec::new();
    for e in edits {
        let same_point = |o: &&mut Edit| {
            o.file == e.file
                && o.range.is_empty()
                && e.range.is_empty()
                && o.range.start == e.range.start
        };
        match out.iter_mut().find(same_point) {
            Some(o) => o.text.push_str(&e.text),
            None => out.push(e),
        }
    }
    out
}

/// The block a change of `fix` goes into. With the defining placement, a
/// directive nobody sets (nginx's default) goes where the fix's first
/// directive that is set somewhere is defined, so the lines of one fix
/// stay together: `proxy_ssl_verify on` in a server block brings its CA
/// and depth with it, instead of leaving the server's other hops
/// verifying without a CA.
pub(crate) fn target_block(
    model: &Model,
    hop: &Hop,
    fix: &Fix,
    directive: &str,
    placement: Placement,
) -> CtxId {
    let defining = |d: &str| model.effective(hop.ctx, d).map(|(ctx, _)| ctx);
    match placement {
        Placement::Hop => hop.own,
        Placement::Defining => defining(directive)
            .or_else(|| {
                fix.changes.iter().find_map(|c| {
                    let (Change::Set { directive, .. } | Change::SetHeader { directive, .. }) = c;
                    defining(directive)
                })
            })
            .unwrap_or(hop.own),
    }
}

/// Sets a scalar directive in a block: replaces the parameters of the line
/// there, or inserts a line.
fn set_in_block(model: &Model, ctx: CtxId, hop: &Hop, directive: &str, args: &[String]) -> Edit {
    if let Some(&line) = model.lines_in(ctx, directive).first() {
        let d = model.dir(line);
        let text = args.join(" ");
        return match (d.args.first(), d.args.last()) {
            (Some(first), Some(last)) => Edit::replacement(
                line.file,
                Range {
                    start: first.range.start,
                    end: last.range.end,
                },
                text,
            ),
            _ => Edit::insertion(line.file, d.name.range.end as usize, format!(" {text}")),
        };
    }
    insert_lines(
        model,
        ctx,
        hop,
        &[format!("{directive} {};", args.join(" "))],
    )
}

/// Sets one header of an array directive in a block, carrying the lines
/// the block would otherwise stop inheriting.
fn set_header(
    model: &Model,
    ctx: CtxId,
    hop: &Hop,
    directive: &str,
    header: &str,
    value: &str,
) -> Edit {
    let here = model.lines_in(ctx, directive);
    let is_header = |r: &DirRef| {
        model
            .dir(*r)
            .arg(0)
            .is_some_and(|h| h.eq_ignore_ascii_case(header))
    };
    if let Some(line) = here.iter().find(|r| is_header(r)) {
        let d = model.dir(*line);
        if let Some(v) = d.args.get(1) {
            let end = d.args.last().map_or(v.range.end, |l| l.range.end);
            return Edit::replacement(
                line.file,
                Range {
                    start: v.range.start,
                    end,
                },
                value.to_string(),
            );
        }
    }
    let new_line = format!("{directive} {header} {value};");
    if !here.is_empty() {
        return insert_lines(model, ctx, hop, &[new_line]);
    }
    // The block has none: a new line here would drop every inherited one.
    let parent = model.tree.ctx(ctx).parent;
    let inherited = parent
        .and_then(|p| model.effective(p, directive))
        .map(|(_, lines)| lines)
        .unwrap_or_default();
    // Only lines that end with `;` are carried: one that opens a block
    // (which nginx rejects) may hold an unclosed `{` and the rest of its
    // file, which would break the block it is copied into.
    let mut lines: Vec<String> = inherited
        .iter()
        .filter(|r| !is_header(r) && model.dir(**r).block.is_none())
        .map(|&r| source_text(model, r))
        .collect();
    lines.push(new_line);
    insert_lines(model, ctx, hop, &lines)
}

/// A directive's text as written, from its name to its `;`.
fn source_text(model: &Model, r: DirRef) -> String {
    let d = model.dir(r);
    model.config.file(r.file).str(d.range).into_owned()
}

fn line_ending(f: &SourceFile) -> &'static str {
    // The file's first line break decides, found from the line index: a
    // scan for it per edit would make fixing a file of one long line
    // quadratic.
    let i = f.line_start(2);
    if f.line_count() > 1 && i >= 2 && f.text[i - 2] == b'\r' {
        "\r\n"
    } else {
        "\n"
    }
}

/// Leading whitespace of the line holding an offset.
fn indent_at(f: &SourceFile, offset: u32) -> String {
    let start = f.line_start(f.line_of(offset));
    let rest = &f.text[start..];
    let n = rest
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .count();
    String::from_utf8_lossy(&rest[..n]).into_owned()
}

/// Inserts whole lines into a block, in the file holding its braces.
fn insert_lines(model: &Model, ctx: CtxId, hop: &Hop, lines: &[String]) -> Edit {
    let c = model.tree.ctx(ctx);
    let Some(opener) = c.opener else {
        // The main context: append at the end of the main file.
        let f = model.config.file(crate::conf::Config::MAIN);
        let nl = line_ending(f);
        let mut text = String::new();
        if !f.text.is_empty() && !f.text.ends_with(b"\n") {
            text.push_str(nl);
        }
        for l in lines {
            text.push_str(l);
            text.push_str(nl);
        }
        return Edit::insertion(crate::conf::Config::MAIN, f.text.len(), text);
    };
    let file = opener.file;
    let f = model.config.file(file);
    let ast = model.config.ast(file);
    let d = ast.node(opener.node);
    let block = d.block.as_ref().expect("contexts are opened by blocks");
    let nl = line_ending(f);
    let children = &block.children;
    let simple = |&&n: &&NodeId| ast.node(n).block.is_none() && ast.node(n).name() != "include";
    let prefix = hop.module.prefix();
    let is_tls = |name: &str| {
        name.strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with("_ssl"))
    };
    // After the block's own TLS settings, else the pass directive, else the
    // last simple directive before any nested block. A pass directive that
    // opens a block (nginx rejects it) is no anchor: lines after it could
    // land inside its block, where they set nothing.
    let anchor = children
        .iter()
        .rev()
        .filter(simple)
        .find(|&&n| {
            let name = ast.node(n).name();
            is_tls(name) || name.ends_with("_set_header")
        })
        .or_else(|| {
            children
                .iter()
                .filter(simple)
                .find(|&&n| DirRef { file, node: n } == hop.pass)
        })
        .or_else(|| {
            children
                .iter()
                .take_while(|&&n| ast.node(n).block.is_none())
                .filter(simple)
                .last()
        })
        .copied();
    let indent = match anchor.or_else(|| children.first().copied()) {
        Some(n) => indent_at(f, ast.node(n).range.start),
        None => {
            let outer = indent_at(f, d.range.start);
            let unit = if outer.contains('\t') { "\t" } else { "    " };
            format!("{outer}{unit}")
        }
    };
    let after = anchor.map_or(block.open + 1, |n| ast.node(n).range.end);
    // Start of the line after `after`, if it is still inside the block.
    let next_line = f.line_start(f.line_of(after) + 1);
    let own_line_free = next_line as u32 <= block.close && {
        let rest = &f.text[after as usize..next_line];
        rest.iter().all(|b| b.is_ascii_whitespace()) || rest.trim_ascii_start().starts_with(b"#")
    };
    if own_line_free {
        let size = lines
            .iter()
            .map(|l| indent.len() + l.len() + nl.len())
            .sum();
        let mut text = String::with_capacity(size);
        for l in lines {
            text.push_str(&indent);
            text.push_str(l);
            text.push_str(nl);
        }
        Edit::insertion(file, next_line, text)
    } else {
        // A one-line block (`location / { proxy_pass …; }`): stay on the line.
        let text: String = lines.iter().map(|l| format!(" {l}")).collect();
        Edit::insertion(file, after as usize, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips_through_the_lexer() {
        for v in [
            "api.example.com",
            "a b",
            "x;y",
            "say \"hi\"",
            "",
            "$host",
            "c:\\d",
            // Not whitespace to nginx (only space, tab, CR and LF are).
            "a\u{a0}b",
            "a\u{b}b",
        ] {
            let line = format!("k {};", quote(v));
            let ast = crate::conf::parser::parse(line.as_bytes());
            assert!(ast.error.is_none(), "{line}");
            assert_eq!(ast.nodes[0].arg(0), Some(v), "{line}");
        }
    }

    #[test]
    fn values_by_hop_then_global() {
        let mut v = Values::default();
        v.set("sni-name=a.example").unwrap();
        v.set("x.conf:3:sni-name=b.example").unwrap();
        assert_eq!(v.get("x.conf:3", "sni-name"), Some("b.example"));
        // A person's KEY=VALUE waits to be bound to its one hop.
        assert_eq!(v.get("y.conf:1", "sni-name"), None);
        v.insert("sni-name", "every.example");
        assert_eq!(v.get("y.conf:1", "sni-name"), Some("every.example"));
        assert_eq!(
            v.set("novalue"),
            Err(ValueError::NoEquals("novalue".to_string()))
        );
        assert_eq!(
            v.set("=x").unwrap_err().to_string(),
            "--set takes KEY=VALUE with both parts non-empty, got \"=x\""
        );
    }
}
