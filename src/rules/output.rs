//! Rule output templates: `%field` and `%field[arg]` substitution.
//!
//! A field name starts with a letter and runs over letters, digits, `_` and `.`, then an
//! optional `[arg]`; trailing dots are punctuation (`%ka.verb.`). A `%` not followed by a
//! letter is literal. Missing values render `<NA>`, list fields `(a,b)`. Newlines and tabs
//! in values are escaped so an output stays one line; a template's own line breaks (YAML
//! block scalars) collapse to single spaces.

use super::Text;
use super::compile::{List, Ptr};
use super::fields::{Ctx, Field, Vals};

#[derive(Debug, Clone)]
pub(super) enum Part {
    Lit(Text),
    /// Shared: a rule set's outputs name the same few dozen fields a thousand times.
    Field(Ptr<Field>),
}

#[derive(Debug, Clone)]
pub struct Output {
    pub(super) parts: List<Part>,
}

/// A template problem: byte offset into the (collapsed) template and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputError {
    pub offset: usize,
    pub message: String,
}

/// Collapses the whitespace around line breaks to one space and trims the ends.
pub fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.lines().enumerate() {
        let line = if i == 0 { line.trim_end() } else { line.trim() };
        if line.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(line);
    }
    out.trim().to_string()
}

impl Output {
    pub fn parse(template: &str) -> Result<Output, Vec<OutputError>> {
        let mut parts = Vec::new();
        let mut errors = Vec::new();
        let mut lit = String::new();
        let b = template.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && b.get(i + 1).is_some_and(u8::is_ascii_alphabetic) {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'.')
                {
                    j += 1;
                }
                let mut name_end = j;
                while name_end > start && b[name_end - 1] == b'.' {
                    name_end -= 1;
                }
                let mut arg = None;
                if name_end == j && b.get(j) == Some(&b'[') {
                    if let Some(close) = template[j..].find(']') {
                        arg = Some(&template[j + 1..j + close]);
                        j += close + 1;
                    }
                } else {
                    j = name_end;
                }
                let name = &template[start..name_end];
                match Field::resolve(name, arg) {
                    Ok(f) => {
                        if !lit.is_empty() {
                            parts.push(Part::Lit(std::mem::take(&mut lit).into()));
                        }
                        parts.push(Part::Field(Ptr::new(f)));
                    }
                    Err(message) => errors.push(OutputError {
                        offset: i,
                        message: format!("in output: {message}"),
                    }),
                }
                i = j;
            } else {
                let c = template[i..].chars().next().unwrap_or('%');
                lit.push(c);
                i += c.len_utf8();
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit.into()));
        }
        if errors.is_empty() {
            Ok(Output {
                parts: parts.into(),
            })
        } else {
            Err(errors)
        }
    }

    pub fn render(&self, ctx: &Ctx<'_>) -> String {
        let mut out = String::new();
        for p in self.parts.iter() {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Field(f) => match f.extract(ctx) {
                    Vals::Missing => out.push_str("<NA>"),
                    Vals::One(v) => push_escaped(&mut out, &v),
                    Vals::Many(vs) if vs.is_empty() => out.push_str("<NA>"),
                    Vals::Many(vs) => {
                        out.push('(');
                        for (k, v) in vs.iter().enumerate() {
                            if k > 0 {
                                out.push(',');
                            }
                            push_escaped(&mut out, v);
                        }
                        out.push(')');
                    }
                },
            }
        }
        out
    }
}

fn push_escaped(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_fields_lists_missing_and_punctuation() {
        let ev = json!({"auditID": "a", "verb": "get", "user": {"username": "alice", "groups": ["g1", "g2"]},
            "requestObject": {"data": {"mapRoles": "- rolearn: x\n  username: y\n"}}});
        let t = "user=%ka.user.name (%ka.user.name) verb %ka.verb, groups=%ka.user.groups ns=%ka.target.namespace done %ka.verb. 100% %jevt.value[/requestObject/data/mapRoles]";
        let o = Output::parse(t).unwrap();
        assert_eq!(
            o.render(&Ctx::new(&ev, None)),
            "user=alice (alice) verb get, groups=(g1,g2) ns=<NA> done get. 100% - rolearn: x\\n  username: y\\n"
        );
    }

    #[test]
    fn unknown_fields_are_errors_with_offsets() {
        let e = Output::parse("a %ka.nope b %ka.verb[1]").unwrap_err();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].offset, 2);
        assert!(e[0].message.contains("unknown field 'ka.nope'"));
    }

    #[test]
    fn collapse_joins_lines() {
        assert_eq!(collapse("a b\n   c\n\n d  \n"), "a b c d");
    }
}
