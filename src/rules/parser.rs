//! Recursive-descent parser: condition text → [`Expr`].
//!
//! ```text
//! expr    := or
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | primary
//! primary := "(" expr ")" | check | macro-name
//! check   := field op value | field list-op list | field "exists"
//! list    := "(" [item ("," item)*] ")" | list-name      item := value | list
//! ```
//! A word containing `.` or `[` is a field; any other word is a macro name unless an
//! operator follows it (then it is reported as an unknown field).

use super::ast::{Expr, FieldRef, Op, Rhs, Span, Value};
use super::lexer::{LexError, Lexer, Tok, Token};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub span: Span,
    pub message: String,
}

impl From<LexError> for ParseError {
    fn from(e: LexError) -> Self {
        ParseError {
            span: e.span,
            message: e.message,
        }
    }
}

type PResult<T> = Result<T, ParseError>;

/// How deep parentheses, `not`s and nested lists may go in one condition. The parser, the
/// compiler and the evaluator recurse once per level; a rule file is read at cold start, and
/// a runaway condition must be an error naming its rule, not a stack overflow. The built-in
/// pack nests a handful of levels.
pub const MAX_NESTING: usize = 100;

const WORD_OPS: &[&str] = &[
    "contains",
    "icontains",
    "bcontains",
    "startswith",
    "bstartswith",
    "endswith",
    "glob",
    "iglob",
    "in",
    "intersects",
    "pmatch",
    "exists",
];

/// Parses a whole condition.
pub fn parse(src: &str) -> PResult<Expr> {
    let mut p = Parser {
        lex: Lexer::new(src),
        src,
        depth: 0,
    };
    if src.trim().is_empty() {
        return Err(ParseError {
            span: Span::new(0, src.len()),
            message: "empty condition".into(),
        });
    }
    let e = p.or()?;
    let t = p.lex.next_token()?;
    if t.tok != Tok::Eof {
        return Err(ParseError {
            span: t.span,
            message: format!(
                "unexpected {} after a complete expression",
                t.tok.describe()
            ),
        });
    }
    Ok(e)
}

struct Parser<'s> {
    lex: Lexer<'s>,
    src: &'s str,
    /// Levels of [`MAX_NESTING`] entered at the current position.
    depth: usize,
}

impl Parser<'_> {
    /// Runs `f` one level deeper, or fails at `at` past [`MAX_NESTING`] levels.
    fn nested<T>(&mut self, at: Span, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_NESTING {
            return Err(ParseError {
                span: at,
                message: format!(
                    "nested more than {MAX_NESTING} levels deep (parentheses, 'not', lists)"
                ),
            });
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn peek(&mut self) -> PResult<Token> {
        let save = self.lex.pos();
        let t = self.lex.next_token();
        self.lex.reset(save);
        Ok(t?)
    }

    fn peek_word(&mut self, w: &str) -> PResult<bool> {
        Ok(matches!(self.peek()?.tok, Tok::Word(ref x) if x == w))
    }

    fn or(&mut self) -> PResult<Expr> {
        let first = self.and()?;
        if !self.peek_word("or")? {
            return Ok(first);
        }
        let start = first.span().start;
        let mut items = vec![first];
        while self.peek_word("or")? {
            self.lex.next_token()?;
            items.push(self.and()?);
        }
        let end = items.last().map_or(start, |e| e.span().end);
        Ok(Expr::Or(items, Span::new(start, end)))
    }

    fn and(&mut self) -> PResult<Expr> {
        let first = self.not()?;
        if !self.peek_word("and")? {
            return Ok(first);
        }
        let start = first.span().start;
        let mut items = vec![first];
        while self.peek_word("and")? {
            self.lex.next_token()?;
            items.push(self.not()?);
        }
        let end = items.last().map_or(start, |e| e.span().end);
        Ok(Expr::And(items, Span::new(start, end)))
    }

    fn not(&mut self) -> PResult<Expr> {
        if self.peek_word("not")? {
            let t = self.lex.next_token()?;
            let inner = self.nested(t.span, Self::not)?;
            let end = inner.span().end;
            return Ok(Expr::Not(Box::new(inner), Span::new(t.span.start, end)));
        }
        self.primary()
    }

    fn primary(&mut self) -> PResult<Expr> {
        let t = self.lex.next_token()?;
        match t.tok {
            Tok::LParen => {
                let inner = self.nested(t.span, Self::or)?;
                let close = self.lex.next_token()?;
                if close.tok != Tok::RParen {
                    return Err(ParseError {
                        span: close.span,
                        message: format!(
                            "expected ')' to close the '(' at offset {}, found {}",
                            t.span.start,
                            close.tok.describe()
                        ),
                    });
                }
                // Keep the parenthesised span so diagnostics point at the whole group.
                Ok(match inner {
                    Expr::And(v, _) => Expr::And(v, Span::new(t.span.start, close.span.end)),
                    Expr::Or(v, _) => Expr::Or(v, Span::new(t.span.start, close.span.end)),
                    other => other,
                })
            }
            Tok::Word(w) => {
                if matches!(w.as_str(), "and" | "or") || WORD_OPS.contains(&w.as_str()) {
                    return Err(ParseError {
                        span: t.span,
                        message: format!("unexpected '{w}': expected a field, a macro or '('"),
                    });
                }
                let is_field = w.contains('.') || w.contains('[') || self.next_is_operator()?;
                if is_field {
                    self.check(w, t.span)
                } else {
                    Ok(Expr::Macro(w, t.span))
                }
            }
            other => Err(ParseError {
                span: t.span,
                message: format!(
                    "unexpected {}: expected a field, a macro or '('",
                    other.describe()
                ),
            }),
        }
    }

    fn next_is_operator(&mut self) -> PResult<bool> {
        Ok(match self.peek()?.tok {
            Tok::Sym(_) => true,
            Tok::Word(w) => WORD_OPS.contains(&w.as_str()),
            _ => false,
        })
    }

    fn check(&mut self, word: String, span: Span) -> PResult<Expr> {
        let field = split_field(&word, span)?;
        let t = self.lex.next_token()?;
        let op = match &t.tok {
            Tok::Sym(s) => Op::from_text(s),
            Tok::Word(w) => Op::from_text(w),
            _ => None,
        };
        let Some(op) = op else {
            let message = match &t.tok {
                Tok::Word(w) if w == "regex" => {
                    "operator 'regex' is not supported by this engine".to_string()
                }
                other => format!(
                    "expected an operator after field '{}', found {}",
                    field.name,
                    other.describe()
                ),
            };
            return Err(ParseError {
                span: t.span,
                message,
            });
        };
        let op_span = t.span;
        let rhs = if op == Op::Exists {
            Rhs::None
        } else if op.takes_list() {
            let save = self.lex.pos();
            let t = self.lex.next_value()?;
            match t.tok {
                Tok::LParen => Rhs::List(self.list_items(t.span)?),
                // `in list_name` without parentheses.
                Tok::Word(w) => Rhs::List(vec![Value {
                    text: w,
                    quoted: false,
                    span: t.span,
                }]),
                other => {
                    self.lex.reset(save);
                    return Err(ParseError {
                        span: t.span,
                        message: format!(
                            "expected '(' after '{}', found {}",
                            op.as_str(),
                            other.describe()
                        ),
                    });
                }
            }
        } else {
            let t = self.lex.next_value()?;
            match t.tok {
                Tok::Word(w) => Rhs::Value(Value {
                    text: w,
                    quoted: false,
                    span: t.span,
                }),
                Tok::Str(s) => Rhs::Value(Value {
                    text: s,
                    quoted: true,
                    span: t.span,
                }),
                other => {
                    return Err(ParseError {
                        span: t.span,
                        message: format!(
                            "expected a value after '{}', found {}",
                            op.as_str(),
                            other.describe()
                        ),
                    });
                }
            }
        };
        Ok(Expr::Check {
            field,
            op,
            op_span,
            rhs,
        })
    }

    /// Items after an opening `(`, up to and including the closing `)`. Nested lists are
    /// flattened.
    fn list_items(&mut self, open: Span) -> PResult<Vec<Value>> {
        let mut items = Vec::new();
        let mut expect_item = true;
        loop {
            let t = self.lex.next_value()?;
            match t.tok {
                Tok::RParen => return Ok(items),
                Tok::Comma if !expect_item => expect_item = true,
                Tok::Word(w) if expect_item => {
                    items.push(Value {
                        text: w,
                        quoted: false,
                        span: t.span,
                    });
                    expect_item = false;
                }
                Tok::Str(s) if expect_item => {
                    items.push(Value {
                        text: s,
                        quoted: true,
                        span: t.span,
                    });
                    expect_item = false;
                }
                Tok::LParen if expect_item => {
                    items.extend(self.nested(t.span, |p| p.list_items(t.span))?);
                    expect_item = false;
                }
                Tok::Eof => {
                    return Err(ParseError {
                        span: Span::new(open.start, self.src.len()),
                        message: "unclosed '(' in value list".into(),
                    });
                }
                other => {
                    return Err(ParseError {
                        span: t.span,
                        message: format!("unexpected {} in value list", other.describe()),
                    });
                }
            }
        }
    }
}

fn split_field(word: &str, span: Span) -> PResult<FieldRef> {
    match word.find('[') {
        None => Ok(FieldRef {
            name: word.to_string(),
            arg: None,
            span,
        }),
        Some(i) => {
            if !word.ends_with(']') {
                return Err(ParseError {
                    span,
                    message: format!("malformed field argument in '{word}'"),
                });
            }
            Ok(FieldRef {
                name: word[..i].to_string(),
                arg: Some(word[i + 1..word.len() - 1].to_string()),
                span,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_of(e: &Expr) -> (&str, Option<&str>, Op, &Rhs) {
        match e {
            Expr::Check { field, op, rhs, .. } => (&field.name, field.arg.as_deref(), *op, rhs),
            other => panic!("not a check: {other:?}"),
        }
    }

    /// Up to the bound, parentheses, `not`s and nested lists parse; one level more is an
    /// error at the token that opens it, and a thousand levels fail the same way instead of
    /// overflowing the stack.
    #[test]
    fn nesting_is_bounded() {
        let parens = |n: usize| format!("{}ka.verb = get{}", "(".repeat(n), ")".repeat(n));
        let nots = |n: usize| format!("{}ka.verb = get", "not ".repeat(n));
        let lists = |n: usize| format!("ka.verb in {}get{}", "(".repeat(n), ")".repeat(n));
        for (make, first_level_at) in [
            (&parens as &dyn Fn(usize) -> String, 0),
            (&nots, 0),
            (&lists, "ka.verb in (".len()),
        ] {
            // Lists: the first `(` opens the list itself; nesting counts from the second.
            let extra = usize::from(first_level_at > 0);
            assert!(parse(&make(MAX_NESTING + extra)).is_ok(), "{}", make(3));
            for n in [MAX_NESTING + extra + 1, 1000] {
                let e = parse(&make(n)).unwrap_err();
                assert!(e.message.contains("nested more than 100 levels"), "{e:?}");
                let width = if make(1).starts_with("not") { 4 } else { 1 };
                assert_eq!(
                    e.span.start,
                    first_level_at + MAX_NESTING * width,
                    "{}",
                    make(3)
                );
            }
        }
    }

    #[test]
    fn precedence_not_and_or() {
        let e = parse("not a and b or c").unwrap();
        let Expr::Or(items, _) = e else { panic!() };
        assert_eq!(items.len(), 2);
        let Expr::And(ands, _) = &items[0] else {
            panic!()
        };
        assert!(
            matches!(&ands[0], Expr::Not(inner, _) if matches!(**inner, Expr::Macro(ref m, _) if m == "a"))
        );
        assert!(matches!(&items[1], Expr::Macro(m, _) if m == "c"));
    }

    #[test]
    fn checks_values_and_lists() {
        let e = parse(
            "ka.uri.param[command] startswith /bin and ka.verb in (create, 'up date', (lst))",
        )
        .unwrap();
        let Expr::And(items, _) = e else { panic!() };
        let (name, arg, op, rhs) = check_of(&items[0]);
        assert_eq!(
            (name, arg, op),
            ("ka.uri.param", Some("command"), Op::StartsWith)
        );
        assert!(matches!(rhs, Rhs::Value(v) if v.text == "/bin" && !v.quoted));
        let (_, _, op, rhs) = check_of(&items[1]);
        assert_eq!(op, Op::In);
        let Rhs::List(vs) = rhs else { panic!() };
        let texts: Vec<_> = vs.iter().map(|v| (v.text.as_str(), v.quoted)).collect();
        assert_eq!(
            texts,
            vec![("create", false), ("up date", true), ("lst", false)]
        );
    }

    #[test]
    fn empty_list_and_exists() {
        let e = parse("x.y in () and not x.z exists").unwrap();
        let Expr::And(items, _) = e else { panic!() };
        assert!(matches!(check_of(&items[0]).3, Rhs::List(v) if v.is_empty()));
    }

    #[test]
    fn bad_operator_points_at_it() {
        let e = parse("ka.verb equals get").unwrap_err();
        assert_eq!(e.span, Span::new(8, 14));
        assert!(e.message.contains("expected an operator"), "{}", e.message);
    }

    #[test]
    fn syntax_errors() {
        assert!(
            parse("(a and b")
                .unwrap_err()
                .message
                .contains("expected ')'")
        );
        assert!(parse("a and").is_err());
        assert!(parse("a b").unwrap_err().message.contains("unexpected 'b'"));
        assert!(parse("x.y in (a, b").is_err());
        assert!(parse("x.y = ").is_err());
        assert!(parse("  ").is_err());
        assert!(
            parse("x.y regex 'a'")
                .unwrap_err()
                .message
                .contains("regex")
        );
    }

    #[test]
    fn macro_followed_by_operator_is_a_field() {
        let e = parse("foo = bar").unwrap();
        assert_eq!(check_of(&e).0, "foo");
    }
}
