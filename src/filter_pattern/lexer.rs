//! Lexer: turns the pattern source into [`Token`]s carrying byte [`Span`]s.
//!
//! The lexer is context-free. Selectors (`$.a.b[0]`) are lexed as a single
//! token whose segments are already split; keywords (`IS`, `TRUE`, `NOT`,
//! `EXISTS`, ...) are ordinary [`TokenKind::Word`]s that the parser
//! recognises by position.

use super::FilterPatternError;
use super::parser::Segment;

/// A half-open byte range `start..end` into the pattern source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub(super) fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub(super) fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum TokenKind {
    LBrace,
    RBrace,
    LParen,
    RParen,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
    /// `$.a.b[0]`, already split into segments.
    Selector(Vec<Segment>),
    /// A double-quoted string, escapes already processed.
    Str(String),
    /// An unquoted run of characters: a bareword value, a number or a keyword.
    Word(String),
    /// End of input; always the last token.
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

/// Characters that end a bareword (besides whitespace).
const WORD_TERMINATORS: &[char] = &['(', ')', '{', '}', '"', '=', '<', '>', '!', '&', '|'];

fn is_word_terminator(c: char) -> bool {
    c.is_whitespace() || WORD_TERMINATORS.contains(&c)
}

/// Characters allowed in a selector property name (`$.name`).
pub(super) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '-' | '@' | ':')
        || (!c.is_ascii() && c.is_alphanumeric())
}

/// Describes the character at a position for an error message.
fn describe_char(c: Option<char>) -> String {
    match c {
        None => "end of pattern".to_string(),
        Some(c) if c.is_whitespace() => "whitespace".to_string(),
        Some(c) => format!("'{c}'"),
    }
}

struct Lexer<'s> {
    src: &'s str,
    pos: usize,
}

impl<'s> Lexer<'s> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        let mut it = self.src[self.pos..].chars();
        it.next();
        it.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn error(&self, at: usize, message: impl Into<String>) -> FilterPatternError {
        FilterPatternError::at(self.src, at, message)
    }

    fn tokenize(mut self) -> Result<Vec<Token>, FilterPatternError> {
        let mut tokens = Vec::new();
        loop {
            while self.peek().is_some_and(char::is_whitespace) {
                self.bump();
            }
            let start = self.pos;
            let Some(c) = self.peek() else {
                tokens.push(Token {
                    kind: TokenKind::Eof,
                    span: Span::new(start, start),
                });
                return Ok(tokens);
            };
            let kind = match c {
                '{' => self.single(TokenKind::LBrace),
                '}' => self.single(TokenKind::RBrace),
                '(' => self.single(TokenKind::LParen),
                ')' => self.single(TokenKind::RParen),
                '&' | '|' => self.logical(c)?,
                '=' => {
                    self.bump();
                    if self.peek() == Some('=') {
                        return Err(self.error(start, "'==' is not an operator; use '='"));
                    }
                    TokenKind::Eq
                }
                '!' => {
                    self.bump();
                    if self.peek() != Some('=') {
                        return Err(self.error(
                            start,
                            format!(
                                "expected '!=', found '!' followed by {}",
                                describe_char(self.peek())
                            ),
                        ));
                    }
                    self.bump();
                    TokenKind::Ne
                }
                '<' | '>' => {
                    self.bump();
                    let or_equal = self.peek() == Some('=');
                    if or_equal {
                        self.bump();
                    }
                    match (c, or_equal) {
                        ('<', false) => TokenKind::Lt,
                        ('<', true) => TokenKind::Le,
                        (_, false) => TokenKind::Gt,
                        (_, true) => TokenKind::Ge,
                    }
                }
                '"' => self.string()?,
                '%' => {
                    return Err(self.error(
                        start,
                        "regular expressions %...% are not supported; \
                         use a string value with '*' wildcards instead",
                    ));
                }
                '$' if matches!(self.peek_second(), Some('.' | '[')) => self.selector()?,
                _ => self.word(),
            };
            tokens.push(Token {
                kind,
                span: Span::new(start, self.pos),
            });
        }
    }

    fn single(&mut self, kind: TokenKind) -> TokenKind {
        self.bump();
        kind
    }

    fn logical(&mut self, c: char) -> Result<TokenKind, FilterPatternError> {
        let start = self.pos;
        self.bump();
        if self.peek() != Some(c) {
            return Err(self.error(
                start,
                format!(
                    "expected '{c}{c}', found a single '{c}' followed by {}",
                    describe_char(self.peek())
                ),
            ));
        }
        self.bump();
        Ok(if c == '&' {
            TokenKind::And
        } else {
            TokenKind::Or
        })
    }

    /// A double-quoted string. `\"` and `\\` are escapes; any other
    /// backslash is kept literally (so `"C:\temp"` means what it says).
    fn string(&mut self) -> Result<TokenKind, FilterPatternError> {
        let start = self.pos;
        self.bump(); // opening quote
        let mut value = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(self.error(start, "unterminated string: missing closing '\"'"));
                }
                Some('"') => return Ok(TokenKind::Str(value)),
                Some('\\') => match self.peek() {
                    Some(e @ ('"' | '\\')) => {
                        self.bump();
                        value.push(e);
                    }
                    _ => value.push('\\'),
                },
                Some(c) => value.push(c),
            }
        }
    }

    /// A selector; the caller has checked that `$` is followed by `.` or `[`.
    fn selector(&mut self) -> Result<TokenKind, FilterPatternError> {
        let start = self.pos;
        self.bump(); // '$'
        let mut segments = Vec::new();
        loop {
            match self.peek() {
                Some('.') => {
                    self.bump();
                    let name_start = self.pos;
                    while self.peek().is_some_and(is_name_char) {
                        self.bump();
                    }
                    if self.pos == name_start {
                        return Err(self.error(
                            name_start,
                            format!(
                                "expected a property name after '.' in selector, found {}",
                                describe_char(self.peek())
                            ),
                        ));
                    }
                    segments.push(Segment::Key(self.src[name_start..self.pos].into()));
                }
                Some('[') => {
                    let bracket = self.pos;
                    self.bump();
                    let digits_start = self.pos;
                    while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.bump();
                    }
                    if self.pos == digits_start {
                        let found = self.peek();
                        let hint = if matches!(found, Some('"' | '\'')) {
                            "; bracketed property names such as [\"x.y\"] are not supported"
                        } else {
                            ""
                        };
                        return Err(self.error(
                            digits_start,
                            format!(
                                "expected an array index (digits) after '[', found {}{hint}",
                                describe_char(found)
                            ),
                        ));
                    }
                    let digits = &self.src[digits_start..self.pos];
                    if self.peek() != Some(']') {
                        return Err(self.error(
                            self.pos,
                            format!(
                                "expected ']' to close the array index opened at column {}, found {}",
                                FilterPatternError::column_of(self.src, bracket),
                                describe_char(self.peek())
                            ),
                        ));
                    }
                    self.bump();
                    let index = digits.parse::<usize>().map_err(|_| {
                        self.error(digits_start, format!("array index {digits} is too large"))
                    })?;
                    segments.push(Segment::Index(index));
                }
                _ => break,
            }
        }
        // A selector must be followed by a delimiter; anything else is a
        // character we do not accept in property names.
        match self.peek() {
            None => {}
            Some(c) if is_word_terminator(c) => {}
            Some(c) => {
                return Err(self.error(
                    self.pos,
                    format!(
                        "unexpected character '{c}' in selector '{}'; property names may \
                         contain letters, digits, '_', '-', '@' and ':'",
                        &self.src[start..self.pos]
                    ),
                ));
            }
        }
        Ok(TokenKind::Selector(segments))
    }

    /// A bareword: everything up to whitespace or a terminator character.
    fn word(&mut self) -> TokenKind {
        let start = self.pos;
        while self.peek().is_some_and(|c| !is_word_terminator(c)) {
            self.bump();
        }
        TokenKind::Word(self.src[start..self.pos].to_string())
    }
}

/// Splits `src` into tokens; the last token is always [`TokenKind::Eof`].
pub(super) fn tokenize(src: &str) -> Result<Vec<Token>, FilterPatternError> {
    Lexer { src, pos: 0 }.tokenize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src).unwrap().into_iter().map(|t| t.kind).collect()
    }

    fn err(src: &str) -> FilterPatternError {
        tokenize(src).unwrap_err()
    }

    fn key(k: &str) -> Segment {
        Segment::Key(k.into())
    }

    #[test]
    fn punctuation_and_operators() {
        use TokenKind::*;
        assert_eq!(
            kinds("{ ( ) && || = != < > <= >= }"),
            vec![
                LBrace, LParen, RParen, And, Or, Eq, Ne, Lt, Gt, Le, Ge, RBrace, Eof
            ]
        );
    }

    #[test]
    fn operators_without_spaces() {
        use TokenKind::*;
        assert_eq!(
            kinds("{$.a>=400&&$.b!=x}"),
            vec![
                LBrace,
                Selector(vec![key("a")]),
                Ge,
                Word("400".into()),
                And,
                Selector(vec![key("b")]),
                Ne,
                Word("x".into()),
                RBrace,
                Eof
            ]
        );
    }

    #[test]
    fn spans_are_byte_ranges() {
        let toks = tokenize("{ $.stage = \"é\" }").unwrap();
        let spans: Vec<(usize, usize)> = toks.iter().map(|t| (t.span.start, t.span.end)).collect();
        // "é" is two bytes, so the quoted string spans 4 bytes.
        assert_eq!(
            spans,
            vec![(0, 1), (2, 9), (10, 11), (12, 16), (17, 18), (18, 18)]
        );
    }

    #[test]
    fn selectors_with_keys_and_indices() {
        assert_eq!(
            kinds("$.a.b_c-d.@e:f[0][12].g")[0],
            TokenKind::Selector(vec![
                key("a"),
                key("b_c-d"),
                key("@e:f"),
                Segment::Index(0),
                Segment::Index(12),
                key("g"),
            ])
        );
        assert_eq!(
            kinds("$[1]")[0],
            TokenKind::Selector(vec![Segment::Index(1)])
        );
        assert_eq!(
            kinds("$.ünïcode")[0],
            TokenKind::Selector(vec![key("ünïcode")])
        );
    }

    #[test]
    fn dollar_not_followed_by_path_is_a_word() {
        assert_eq!(kinds("$5")[0], TokenKind::Word("$5".into()));
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            kinds(r#""a \"q\" \\ \n *""#)[0],
            TokenKind::Str(r#"a "q" \ \n *"#.into())
        );
        assert_eq!(kinds(r#""""#)[0], TokenKind::Str(String::new()));
    }

    #[test]
    fn barewords_stop_at_terminators() {
        assert_eq!(
            kinds("123.123.* /healthz?x -12 1e3)"),
            vec![
                TokenKind::Word("123.123.*".into()),
                TokenKind::Word("/healthz?x".into()),
                TokenKind::Word("-12".into()),
                TokenKind::Word("1e3".into()),
                TokenKind::RParen,
                TokenKind::Eof,
            ]
        );
    }

    #[test]
    fn unterminated_string_points_at_opening_quote() {
        let e = err(r#"{ $.a = "abc }"#);
        assert_eq!(e.column, 9);
        assert!(e.message.contains("unterminated string"), "{e}");
        // An escaped quote does not terminate.
        assert_eq!(err(r#"{ $.a = "abc\" }"#).column, 9);
    }

    #[test]
    fn regex_is_rejected() {
        let e = err("{ $.a = %ab+c% }");
        assert_eq!(e.column, 9);
        assert!(
            e.message
                .contains("regular expressions %...% are not supported"),
            "{e}"
        );
    }

    #[test]
    fn single_ampersand_and_pipe() {
        let e = err("{ $.a = 1 & $.b = 2 }");
        assert_eq!(e.column, 11);
        assert!(e.message.contains("expected '&&'"), "{e}");
        let e = err("{ $.a = 1 | $.b = 2 }");
        assert_eq!(e.column, 11);
        assert!(e.message.contains("expected '||'"), "{e}");
    }

    #[test]
    fn bang_and_double_equals() {
        let e = err("{ $.a ! 1 }");
        assert_eq!(e.column, 7);
        assert!(e.message.contains("expected '!='"), "{e}");
        let e = err("{ $.a == 1 }");
        assert_eq!(e.column, 7);
        assert!(e.message.contains("'=='"), "{e}");
    }

    #[test]
    fn selector_errors() {
        let e = err("{ $.a. = 1 }");
        assert_eq!(e.column, 7);
        assert!(e.message.contains("expected a property name"), "{e}");

        let e = err(r#"{ $.a["x.y"] = 1 }"#);
        assert_eq!(e.column, 7);
        assert!(e.message.contains("bracketed property names"), "{e}");

        let e = err("{ $.a[1 = 1 }");
        assert_eq!(e.column, 8);
        assert!(e.message.contains("expected ']'"), "{e}");

        let e = err("{ $.a* = 1 }");
        assert_eq!(e.column, 6);
        assert!(e.message.contains("unexpected character '*'"), "{e}");

        let e = err("{ $.a[99999999999999999999999] = 1 }");
        assert_eq!(e.column, 7);
        assert!(e.message.contains("too large"), "{e}");
    }

    #[test]
    fn columns_count_chars_not_bytes() {
        // "é" is one column but two bytes.
        let e = err(r#"{ $.é = 1 & 2 }"#);
        assert_eq!(e.column, 11);
    }
}
