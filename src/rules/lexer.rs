//! Tokens of the condition language. The language is context-sensitive (after an operator a
//! bare value may contain `=`, `:` or `?`), so the parser asks for the kind of token it
//! expects: [`Lexer::next_token`] in expression position, [`Lexer::next_value`] after a
//! binary operator or inside a list.

use super::ast::Span;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    LParen,
    RParen,
    Comma,
    /// `=`, `==`, `!=`, `<`, `<=`, `>`, `>=`
    Sym(&'static str),
    /// A bare word: keyword, macro name, field name (with its `[arg]`), or unquoted value.
    Word(String),
    /// A quoted string, quotes removed and escapes resolved.
    Str(String),
    Eof,
}

impl Tok {
    pub fn describe(&self) -> String {
        match self {
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Comma => "','".into(),
            Tok::Sym(s) => format!("'{s}'"),
            Tok::Word(w) => format!("'{w}'"),
            Tok::Str(s) => format!("\"{s}\""),
            Tok::Eof => "end of condition".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub span: Span,
    pub message: String,
}

pub struct Lexer<'s> {
    src: &'s str,
    pos: usize,
}

fn is_word_stop(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | ',' | '=' | '<' | '>' | '!' | '"' | '\'')
}

fn is_value_stop(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | ',')
}

impl<'s> Lexer<'s> {
    pub fn new(src: &'s str) -> Self {
        Lexer { src, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn reset(&mut self, pos: usize) {
        self.pos = pos;
    }

    fn rest(&self) -> &'s str {
        &self.src[self.pos..]
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        let trimmed = rest.trim_start();
        self.pos += rest.len() - trimmed.len();
    }

    /// The next token in expression position.
    pub fn next_token(&mut self) -> Result<Token, LexError> {
        self.skip_ws();
        let start = self.pos;
        let Some(c) = self.rest().chars().next() else {
            return Ok(Token {
                tok: Tok::Eof,
                span: Span::new(start, start),
            });
        };
        let single = |tok, lexer: &mut Self| {
            lexer.pos += 1;
            Ok(Token {
                tok,
                span: Span::new(start, start + 1),
            })
        };
        match c {
            '(' => single(Tok::LParen, self),
            ')' => single(Tok::RParen, self),
            ',' => single(Tok::Comma, self),
            '"' | '\'' => self.quoted(c),
            '=' | '!' | '<' | '>' => {
                let rest = self.rest();
                let sym = ["==", "!=", "<=", ">=", "=", "<", ">"]
                    .into_iter()
                    .find(|s| rest.starts_with(s));
                match sym {
                    Some(s) => {
                        self.pos += s.len();
                        Ok(Token {
                            tok: Tok::Sym(s),
                            span: Span::new(start, self.pos),
                        })
                    }
                    None => Err(LexError {
                        span: Span::new(start, start + 1),
                        message: format!("unexpected character '{c}'"),
                    }),
                }
            }
            _ => self.word(is_word_stop),
        }
    }

    /// The next token in value position: a quoted string, `(`, `)`, `,`, or a bare value that
    /// runs to the next blank, parenthesis or comma.
    pub fn next_value(&mut self) -> Result<Token, LexError> {
        self.skip_ws();
        let start = self.pos;
        match self.rest().chars().next() {
            None => Ok(Token {
                tok: Tok::Eof,
                span: Span::new(start, start),
            }),
            Some(c @ ('"' | '\'')) => self.quoted(c),
            Some('(' | ')' | ',') => self.next_token(),
            Some(_) => self.word(is_value_stop),
        }
    }

    /// A bare word; a `[` opens an argument that runs to the matching `]` whatever it holds.
    fn word(&mut self, stop: fn(char) -> bool) -> Result<Token, LexError> {
        let start = self.pos;
        let mut i = self.pos;
        while i < self.src.len() {
            let c = self.src[i..].chars().next().unwrap_or(' ');
            if c == '[' {
                match self.src[i..].find(']') {
                    Some(close) => {
                        i += close + 1;
                        continue;
                    }
                    None => {
                        return Err(LexError {
                            span: Span::new(i, self.src.len()),
                            message: "unclosed '[' in field argument".into(),
                        });
                    }
                }
            }
            if stop(c) {
                break;
            }
            i += c.len_utf8();
        }
        self.pos = i;
        Ok(Token {
            tok: Tok::Word(self.src[start..i].to_string()),
            span: Span::new(start, i),
        })
    }

    fn quoted(&mut self, quote: char) -> Result<Token, LexError> {
        let start = self.pos;
        let mut out = String::new();
        let mut chars = self.src[start + 1..].char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                self.pos = start + 1 + i + 1;
                return Ok(Token {
                    tok: Tok::Str(out),
                    span: Span::new(start, self.pos),
                });
            }
            if c == '\\' {
                match chars.next() {
                    Some((_, e)) if e == quote || e == '\\' => out.push(e),
                    Some((_, e)) => {
                        out.push('\\');
                        out.push(e);
                    }
                    None => break,
                }
            } else {
                out.push(c);
            }
        }
        Err(LexError {
            span: Span::new(start, self.src.len()),
            message: "unterminated quoted string".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(src: &str) -> Vec<Tok> {
        let mut l = Lexer::new(src);
        let mut out = vec![];
        loop {
            let t = l.next_token().unwrap();
            if t.tok == Tok::Eof {
                return out;
            }
            out.push(t.tok);
        }
    }

    #[test]
    fn words_symbols_and_strings() {
        assert_eq!(
            all("ka.verb!=get and (x in ('a b', \"c\\\"d\"))"),
            vec![
                Tok::Word("ka.verb".into()),
                Tok::Sym("!="),
                Tok::Word("get".into()),
                Tok::Word("and".into()),
                Tok::LParen,
                Tok::Word("x".into()),
                Tok::Word("in".into()),
                Tok::LParen,
                Tok::Str("a b".into()),
                Tok::Comma,
                Tok::Str("c\"d".into()),
                Tok::RParen,
                Tok::RParen,
            ]
        );
    }

    #[test]
    fn field_argument_is_part_of_the_word() {
        assert_eq!(
            all("jevt.value[/a b/c]=x"),
            vec![
                Tok::Word("jevt.value[/a b/c]".into()),
                Tok::Sym("="),
                Tok::Word("x".into())
            ]
        );
    }

    #[test]
    fn bare_values_keep_colons_question_marks_and_equals() {
        let mut l = Lexer::new(" /healthz?x=1) system:coredns");
        assert_eq!(
            l.next_value().unwrap().tok,
            Tok::Word("/healthz?x=1".into())
        );
        assert_eq!(l.next_value().unwrap().tok, Tok::RParen);
        assert_eq!(
            l.next_value().unwrap().tok,
            Tok::Word("system:coredns".into())
        );
    }

    #[test]
    fn unterminated_string_is_an_error() {
        let mut l = Lexer::new("  'abc");
        let e = l.next_token().unwrap_err();
        assert_eq!(e.span.start, 2);
    }
}
