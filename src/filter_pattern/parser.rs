//! Parser: tokens → AST, by recursive descent with precedence climbing for
//! the binary logical operators (`||` = 1, `&&` = 2, both left-associative).
//!
//! Grammar (terminals in quotes; `SELECTOR`, `STRING`, `WORD` from the lexer):
//!
//! ```text
//! pattern    := '{' expr '}' EOF
//! expr       := primary ( ('&&' | '||') primary )*      -- by precedence
//! primary    := '(' expr ')' | condition
//! condition  := SELECTOR cmp-op value
//!             | SELECTOR 'IS' ('TRUE' | 'FALSE' | 'NULL')
//!             | SELECTOR 'NOT' 'EXISTS'
//! cmp-op     := '=' | '!=' | '<' | '>' | '<=' | '>='
//! value      := STRING | WORD
//! ```
//!
//! Values are compiled while parsing: a WORD that looks like a number becomes
//! a [`NumberLit`]; every other value becomes a [`StringMatcher`] with its
//! `*` wildcards precompiled.

use super::FilterPatternError;
use super::eval::{NumberLit, StringMatcher};
use super::lexer::{Span, Token, TokenKind, tokenize};

/// One step of a selector path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Segment {
    /// `.name`
    Key(Box<str>),
    /// `[index]`
    Index(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Expr {
    pub kind: ExprKind,
    /// Source range of this expression (including any enclosing parentheses).
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum ExprKind {
    /// `a && b && ...`, flattened.
    All(Vec<Expr>),
    /// `a || b || ...`, flattened.
    Any(Vec<Expr>),
    Cond(Condition),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Condition {
    pub path: Vec<Segment>,
    pub test: Test,
}

/// The comparison operators usable with numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl CmpOp {
    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Gt => ">",
            CmpOp::Le => "<=",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Test {
    /// `= text` (`negate == false`) or `!= text` (`negate == true`).
    Text {
        negate: bool,
        matcher: StringMatcher,
    },
    /// Numeric comparison.
    Number {
        op: CmpOp,
        value: NumberLit,
    },
    IsTrue,
    IsFalse,
    IsNull,
    NotExists,
}

/// Parses a JSON filter pattern `{ ... }`. The caller has already handled the
/// empty pattern and rejected non-JSON pattern kinds.
pub(super) fn parse(src: &str) -> Result<Expr, FilterPatternError> {
    let tokens = tokenize(src)?;
    Parser {
        src,
        tokens,
        pos: 0,
    }
    .pattern()
}

struct Parser<'s> {
    src: &'s str,
    tokens: Vec<Token>,
    pos: usize,
}

/// Binding power of a logical operator token, and whether it is `&&`.
fn binary_op(kind: &TokenKind) -> Option<(u8, bool)> {
    match kind {
        TokenKind::Or => Some((1, false)),
        TokenKind::And => Some((2, true)),
        _ => None,
    }
}

impl<'s> Parser<'s> {
    fn peek(&self) -> &Token {
        // The token list always ends with Eof and we never advance past it.
        &self.tokens[self.pos]
    }

    fn advance(&mut self) -> Token {
        let tok = self.tokens[self.pos].clone();
        if tok.kind != TokenKind::Eof {
            self.pos += 1;
        }
        tok
    }

    fn error_at(&self, byte_offset: usize, message: impl Into<String>) -> FilterPatternError {
        FilterPatternError::at(self.src, byte_offset, message)
    }

    fn column(&self, byte_offset: usize) -> usize {
        FilterPatternError::column_of(self.src, byte_offset)
    }

    /// Human description of a token for "found ..." messages.
    fn describe(&self, tok: &Token) -> String {
        if tok.kind == TokenKind::Eof {
            return "end of pattern".to_string();
        }
        let text = &self.src[tok.span.start..tok.span.end];
        const MAX: usize = 40;
        let shown: String = if text.chars().count() > MAX {
            let mut s: String = text.chars().take(MAX).collect();
            s.push('…');
            s
        } else {
            text.to_string()
        };
        match tok.kind {
            TokenKind::Str(_) => format!("string {shown}"),
            TokenKind::Selector(_) => format!("selector '{shown}'"),
            _ => format!("'{shown}'"),
        }
    }

    fn pattern(&mut self) -> Result<Expr, FilterPatternError> {
        let open = self.advance();
        if open.kind != TokenKind::LBrace {
            let found = self.describe(&open);
            return Err(self.error_at(
                open.span.start,
                format!("expected '{{' to start a JSON filter pattern, found {found}"),
            ));
        }
        if self.peek().kind == TokenKind::RBrace {
            let at = self.peek().span.start;
            return Err(self.error_at(
                at,
                "empty JSON pattern: expected a condition such as '$.field = value', found '}'",
            ));
        }
        let mut expr = self.expr(0)?;
        let close = self.advance();
        match close.kind {
            TokenKind::RBrace => {}
            TokenKind::Eof => {
                return Err(self.error_at(
                    open.span.start,
                    format!(
                        "unclosed '{{': expected '}}' before end of pattern (column {})",
                        self.column(close.span.start)
                    ),
                ));
            }
            TokenKind::RParen => {
                return Err(
                    self.error_at(close.span.start, "unexpected ')' without a matching '('")
                );
            }
            _ => {
                let found = self.describe(&close);
                return Err(self.error_at(
                    close.span.start,
                    format!("expected '&&', '||' or '}}' after a condition, found {found}"),
                ));
            }
        }
        expr.span = open.span.to(close.span);
        let trailing = self.advance();
        if trailing.kind != TokenKind::Eof {
            let found = self.describe(&trailing);
            return Err(self.error_at(
                trailing.span.start,
                format!("unexpected {found} after the closing '}}' of the pattern"),
            ));
        }
        Ok(expr)
    }

    /// Precedence climbing: parses operators whose binding power is at least
    /// `min_power`.
    fn expr(&mut self, min_power: u8) -> Result<Expr, FilterPatternError> {
        let mut lhs = self.primary()?;
        while let Some((power, is_and)) = binary_op(&self.peek().kind) {
            if power < min_power {
                break;
            }
            let op = self.advance();
            if matches!(
                self.peek().kind,
                TokenKind::RBrace | TokenKind::RParen | TokenKind::Eof
            ) {
                let found = self.describe(self.peek());
                let op_text = &self.src[op.span.start..op.span.end];
                return Err(self.error_at(
                    self.peek().span.start,
                    format!("expected a condition after '{op_text}', found {found}"),
                ));
            }
            let rhs = self.expr(power + 1)?;
            lhs = combine(is_and, lhs, rhs);
        }
        Ok(lhs)
    }

    fn primary(&mut self) -> Result<Expr, FilterPatternError> {
        let tok = self.peek().clone();
        match tok.kind {
            TokenKind::LParen => {
                self.advance();
                if self.peek().kind == TokenKind::RParen {
                    return Err(self.error_at(
                        self.peek().span.start,
                        "empty parentheses: expected a condition, found ')'",
                    ));
                }
                let mut inner = self.expr(0)?;
                let close = self.advance();
                if close.kind != TokenKind::RParen {
                    let found = self.describe(&close);
                    return Err(self.error_at(
                        tok.span.start,
                        format!(
                            "unclosed '(': expected ')' or another '&&'/'||' condition, \
                             found {found} at column {}",
                            self.column(close.span.start)
                        ),
                    ));
                }
                inner.span = tok.span.to(close.span);
                Ok(inner)
            }
            TokenKind::Selector(path) => {
                self.advance();
                self.condition(tok.span, path)
            }
            _ => {
                let found = self.describe(&tok);
                let hint = match &tok.kind {
                    TokenKind::Word(w) if w.chars().all(super::lexer::is_name_char) => {
                        format!(" (did you mean '$.{w}'?)")
                    }
                    _ => String::new(),
                };
                Err(self.error_at(
                    tok.span.start,
                    format!(
                        "expected a condition starting with a selector such as '$.field' \
                         or '(', found {found}{hint}"
                    ),
                ))
            }
        }
    }

    fn condition(
        &mut self,
        sel_span: Span,
        path: Vec<Segment>,
    ) -> Result<Expr, FilterPatternError> {
        let tok = self.advance();
        let op = match &tok.kind {
            TokenKind::Eq => CmpOp::Eq,
            TokenKind::Ne => CmpOp::Ne,
            TokenKind::Lt => CmpOp::Lt,
            TokenKind::Gt => CmpOp::Gt,
            TokenKind::Le => CmpOp::Le,
            TokenKind::Ge => CmpOp::Ge,
            TokenKind::Word(w) if w == "IS" => {
                let kw = self.advance();
                let test = match &kw.kind {
                    TokenKind::Word(w) if w == "TRUE" => Test::IsTrue,
                    TokenKind::Word(w) if w == "FALSE" => Test::IsFalse,
                    TokenKind::Word(w) if w == "NULL" => Test::IsNull,
                    other => {
                        let found = self.describe(&kw);
                        let hint = case_hint(other, &["TRUE", "FALSE", "NULL"]);
                        return Err(self.error_at(
                            kw.span.start,
                            format!("expected TRUE, FALSE or NULL after 'IS', found {found}{hint}"),
                        ));
                    }
                };
                return Ok(cond(sel_span.to(kw.span), path, test));
            }
            TokenKind::Word(w) if w == "NOT" => {
                let kw = self.advance();
                match &kw.kind {
                    TokenKind::Word(w) if w == "EXISTS" => {}
                    other => {
                        let found = self.describe(&kw);
                        let hint = case_hint(other, &["EXISTS"]);
                        return Err(self.error_at(
                            kw.span.start,
                            format!("expected EXISTS after 'NOT', found {found}{hint}"),
                        ));
                    }
                }
                return Ok(cond(sel_span.to(kw.span), path, Test::NotExists));
            }
            other => {
                let found = self.describe(&tok);
                let hint = case_hint(other, &["IS", "NOT"]);
                let selector = &self.src[sel_span.start..sel_span.end];
                return Err(self.error_at(
                    tok.span.start,
                    format!(
                        "expected a comparison operator ('=', '!=', '<', '>', '<=', '>='), \
                         'IS' or 'NOT EXISTS' after '{selector}', found {found}{hint}"
                    ),
                ));
            }
        };

        let value = self.advance();
        let test = match &value.kind {
            TokenKind::Word(w) => match NumberLit::parse(w) {
                Some(n) => Test::Number { op, value: n },
                None => self.text_test(op, w, &value)?,
            },
            TokenKind::Str(s) => self.text_test(op, s, &value)?,
            _ => {
                let found = self.describe(&value);
                return Err(self.error_at(
                    value.span.start,
                    format!("expected a value after '{}', found {found}", op.symbol()),
                ));
            }
        };
        Ok(cond(sel_span.to(value.span), path, test))
    }

    fn text_test(&self, op: CmpOp, text: &str, value: &Token) -> Result<Test, FilterPatternError> {
        match op {
            CmpOp::Eq | CmpOp::Ne => Ok(Test::Text {
                negate: op == CmpOp::Ne,
                matcher: StringMatcher::new(text),
            }),
            _ => {
                let found = self.describe(value);
                Err(self.error_at(
                    value.span.start,
                    format!(
                        "'{}' needs a numeric value, found {found}; strings can only be \
                         compared with '=' or '!='",
                        op.symbol()
                    ),
                ))
            }
        }
    }
}

/// Suggests the upper-case keyword when a word differs from it only in case.
fn case_hint(kind: &TokenKind, keywords: &[&str]) -> String {
    match kind {
        TokenKind::Word(w) => keywords
            .iter()
            .find(|k| k.eq_ignore_ascii_case(w))
            .map(|k| format!(" (keywords are case-sensitive: write '{k}')"))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn cond(span: Span, path: Vec<Segment>, test: Test) -> Expr {
    Expr {
        kind: ExprKind::Cond(Condition { path, test }),
        span,
    }
}

/// Builds `lhs && rhs` / `lhs || rhs`, flattening a left operand that is
/// already a chain of the same operator.
fn combine(is_and: bool, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span.to(rhs.span);
    let kind = match (is_and, lhs.kind) {
        (true, ExprKind::All(mut items)) => {
            items.push(rhs);
            ExprKind::All(items)
        }
        (false, ExprKind::Any(mut items)) => {
            items.push(rhs);
            ExprKind::Any(items)
        }
        (is_and, kind) => {
            let lhs = Expr {
                kind,
                span: lhs.span,
            };
            if is_and {
                ExprKind::All(vec![lhs, rhs])
            } else {
                ExprKind::Any(vec![lhs, rhs])
            }
        }
    };
    Expr { kind, span }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact rendering of the AST: `(&& a b)`, `(|| a b)`, `$.a.b[0]`.
    fn sexpr(e: &Expr) -> String {
        match &e.kind {
            ExprKind::All(items) => format!(
                "(&& {})",
                items.iter().map(sexpr).collect::<Vec<_>>().join(" ")
            ),
            ExprKind::Any(items) => format!(
                "(|| {})",
                items.iter().map(sexpr).collect::<Vec<_>>().join(" ")
            ),
            ExprKind::Cond(c) => {
                let mut s = String::from("$");
                for seg in &c.path {
                    match seg {
                        Segment::Key(k) => {
                            s.push('.');
                            s.push_str(k);
                        }
                        Segment::Index(i) => s.push_str(&format!("[{i}]")),
                    }
                }
                s
            }
        }
    }

    fn tree(src: &str) -> String {
        sexpr(&parse(src).unwrap())
    }

    fn err(src: &str) -> FilterPatternError {
        parse(src).unwrap_err()
    }

    fn only_test(src: &str) -> Test {
        match parse(src).unwrap().kind {
            ExprKind::Cond(c) => c.test,
            other => panic!("expected a single condition, got {other:?}"),
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            tree("{ $.a = 1 || $.b = 2 && $.c = 3 }"),
            "(|| $.a (&& $.b $.c))"
        );
        assert_eq!(
            tree("{ $.a = 1 && $.b = 2 || $.c = 3 }"),
            "(|| (&& $.a $.b) $.c)"
        );
        assert_eq!(
            tree("{ $.a = 1 && $.b = 2 || $.c = 3 && $.d = 4 || $.e = 5 }"),
            "(|| (&& $.a $.b) (&& $.c $.d) $.e)"
        );
    }

    #[test]
    fn parentheses_override_precedence() {
        assert_eq!(
            tree("{ ($.a = 1 || $.b = 2) && $.c = 3 }"),
            "(&& (|| $.a $.b) $.c)"
        );
        assert_eq!(
            tree("{ $.a = 1 && ($.b = 2 || $.c = 3) }"),
            "(&& $.a (|| $.b $.c))"
        );
        assert_eq!(tree("{ ((($.a = 1))) }"), "$.a");
    }

    #[test]
    fn chains_are_flattened() {
        assert_eq!(
            tree("{ $.a = 1 && $.b = 2 && $.c = 3 && $.d = 4 }"),
            "(&& $.a $.b $.c $.d)"
        );
        let lacework = tree(super::super::LACEWORK_PATTERN);
        assert!(
            lacework.starts_with("(&& $.stage $.requestURI "),
            "{lacework}"
        );
        assert_eq!(lacework.matches("$.requestURI").count(), 10);
        assert!(!lacework.contains("(&& (&&"), "{lacework}");
    }

    #[test]
    fn spans_cover_the_source() {
        let src = "{ ($.a = 1) && $.b IS NULL }";
        let e = parse(src).unwrap();
        assert_eq!((e.span.start, e.span.end), (0, src.len()));
        let ExprKind::All(items) = &e.kind else {
            panic!("expected &&")
        };
        assert_eq!(&src[items[0].span.start..items[0].span.end], "($.a = 1)");
        assert_eq!(&src[items[1].span.start..items[1].span.end], "$.b IS NULL");
    }

    #[test]
    fn value_kinds() {
        assert!(matches!(
            only_test("{ $.a = 12 }"),
            Test::Number { op: CmpOp::Eq, .. }
        ));
        assert!(matches!(
            only_test("{ $.a >= -3.5 }"),
            Test::Number { op: CmpOp::Ge, .. }
        ));
        assert!(matches!(
            only_test("{ $.a < 1e3 }"),
            Test::Number { op: CmpOp::Lt, .. }
        ));
        // Quoted digits are a string.
        assert!(matches!(
            only_test(r#"{ $.a = "12" }"#),
            Test::Text { negate: false, .. }
        ));
        assert!(matches!(
            only_test("{ $.a != 123.123.* }"),
            Test::Text { negate: true, .. }
        ));
        assert_eq!(only_test("{ $.a IS TRUE }"), Test::IsTrue);
        assert_eq!(only_test("{ $.a IS FALSE }"), Test::IsFalse);
        assert_eq!(only_test("{ $.a IS NULL }"), Test::IsNull);
        assert_eq!(only_test("{ $.a NOT EXISTS }"), Test::NotExists);
    }

    #[test]
    fn selector_paths() {
        assert_eq!(tree("{ $.a.b[2][1].c = x }"), "$.a.b[2][1].c");
    }

    #[test]
    fn missing_value() {
        let e = err("{ $.a != && $.b = 1 }");
        assert_eq!(e.column, 10);
        assert_eq!(e.message, "expected a value after '!=', found '&&'");
        let e = err("{ $.a = }");
        assert_eq!(e.column, 9);
        assert_eq!(e.message, "expected a value after '=', found '}'");
    }

    #[test]
    fn relational_operator_with_string() {
        let e = err(r#"{ $.a < "abc" }"#);
        assert_eq!(e.column, 9);
        assert!(e.message.contains("'<' needs a numeric value"), "{e}");
        assert!(e.message.contains("string \"abc\""), "{e}");
        let e = err("{ $.a >= abc }");
        assert_eq!(e.column, 10);
        assert!(e.message.contains("'>=' needs a numeric value"), "{e}");
    }

    #[test]
    fn unclosed_paren() {
        let e = err("{ ($.a = 1 && $.b = 2 }");
        assert_eq!(e.column, 3);
        assert!(e.message.starts_with("unclosed '('"), "{e}");
        assert!(e.message.contains("found '}' at column 23"), "{e}");
    }

    #[test]
    fn stray_close_paren() {
        let e = err("{ $.a = 1 ) }");
        assert_eq!(e.column, 11);
        assert!(e.message.contains("without a matching '('"), "{e}");
    }

    #[test]
    fn unclosed_brace() {
        let e = err("{ $.a = 1");
        assert_eq!(e.column, 1);
        assert!(e.message.starts_with("unclosed '{'"), "{e}");
    }

    #[test]
    fn trailing_input() {
        let e = err("{ $.a = 1 } x");
        assert_eq!(e.column, 13);
        assert!(e.message.contains("after the closing '}'"), "{e}");
        let e = err("{ $.a = 1 } { $.b = 2 }");
        assert_eq!(e.column, 13);
    }

    #[test]
    fn empty_braces_and_parens() {
        let e = err("{ }");
        assert_eq!(e.column, 3);
        assert!(e.message.contains("empty JSON pattern"), "{e}");
        let e = err("{ () }");
        assert_eq!(e.column, 4);
        assert!(e.message.contains("empty parentheses"), "{e}");
    }

    #[test]
    fn dangling_logical_operator() {
        let e = err("{ $.a = 1 && }");
        assert_eq!(e.column, 14);
        assert_eq!(e.message, "expected a condition after '&&', found '}'");
        let e = err("{ $.a = 1 || ) }");
        assert_eq!(e.column, 14);
    }

    #[test]
    fn missing_logical_operator() {
        let e = err("{ $.a = 1 $.b = 2 }");
        assert_eq!(e.column, 11);
        assert!(
            e.message
                .contains("expected '&&', '||' or '}' after a condition"),
            "{e}"
        );
    }

    #[test]
    fn condition_must_start_with_selector() {
        let e = err("{ stage = 1 }");
        assert_eq!(e.column, 3);
        assert!(e.message.contains("did you mean '$.stage'"), "{e}");
        let e = err(r#"{ "x" = 1 }"#);
        assert_eq!(e.column, 3);
    }

    #[test]
    fn missing_operator_and_keyword_case() {
        let e = err("{ $.a 1 }");
        assert_eq!(e.column, 7);
        assert!(e.message.contains("expected a comparison operator"), "{e}");
        assert!(e.message.contains("after '$.a'"), "{e}");

        let e = err("{ $.a is NULL }");
        assert_eq!(e.column, 7);
        assert!(e.message.contains("write 'IS'"), "{e}");

        let e = err("{ $.a IS null }");
        assert_eq!(e.column, 10);
        assert!(e.message.contains("write 'NULL'"), "{e}");

        let e = err("{ $.a IS EMPTY }");
        assert_eq!(e.column, 10);
        assert!(e.message.contains("expected TRUE, FALSE or NULL"), "{e}");

        let e = err("{ $.a NOT exists }");
        assert_eq!(e.column, 11);
        assert!(e.message.contains("expected EXISTS after 'NOT'"), "{e}");
    }
}
