//! A validating JSON scanner that finds where values end without building them.
//!
//! The event index skips every member value of every event — the whole text, 235 MB per
//! 100,000 events. serde_json's skip (`RawValue`) goes token by token through its
//! deserializer; this one walks bytes with an explicit stack and crosses strings sixteen
//! bytes at a time ([`super::simd`]). It accepts exactly JSON (RFC 8259: no raw control
//! bytes in strings, only the defined escapes, `\u` with four hex digits, the number
//! grammar, the three literals); anything else is `None`, and callers then ask serde_json,
//! which also names the error. Nesting depth is unbounded here as in serde_json's skip: the stack spills
//! from an array into a `Vec`.

use super::simd::{STEP, find_stop, first_special, skip_plain};

/// Index just past any JSON whitespace at `i`.
pub fn ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// `i` is just past a string's opening quote: the index just past its closing quote, with
/// every escape checked. Also whether the string had escapes.
///
/// Most strings of an audit event (every key, most values) end within sixteen bytes
/// without an escape: that case is one step's mask, inlined where strings are skipped;
/// a call to the general loop cost several times as much for each of the ~130 strings
/// of an event.
#[inline(always)]
pub fn skip_string(b: &[u8], i: usize) -> Option<(usize, bool)> {
    if let Some(chunk) = b.get(i..i + STEP) {
        let chunk: &[u8; STEP] = chunk.try_into().expect("a step");
        if let Some(k) = first_special(chunk)
            && chunk[k] == b'"'
        {
            return Some((i + k + 1, false));
        }
    }
    skip_string_loop(b, i)
}

/// [`skip_string`] for any string.
#[inline(never)]
fn skip_string_loop(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    loop {
        i = skip_plain(b, i);
        match *b.get(i)? {
            b'"' => return Some((i + 1, escaped)),
            b'\\' => {
                escaped = true;
                match *b.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        let hex = b.get(i + 2..i + 6)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        i += 6;
                    }
                    _ => return None,
                }
            }
            0x00..=0x1f => return None,
            _ => i += 1,
        }
    }
}

/// The text of the string literal `raw` (its quotes included), escapes decoded, as
/// serde_json reads it; `None` for a `\u` escape of a UTF-16 surrogate (serde_json pairs
/// them up or rejects a lone one; callers then ask it) or for anything [`skip_string`]
/// would not accept. An annotation with quotes in it or a `requestURI` with `\u0026` is
/// read several times per event: serde_json's `Value` for it cost ten times this.
pub fn unescape(raw: &str) -> Option<String> {
    let body = raw.strip_prefix('"')?.strip_suffix('"')?.as_bytes();
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    loop {
        let stop = find_stop(body, i);
        out.extend_from_slice(&body[i..stop]);
        let Some(&c) = body.get(stop) else {
            break;
        };
        if c != b'\\' {
            return None;
        }
        let decoded = match *body.get(stop + 1)? {
            c @ (b'"' | b'\\' | b'/') => c,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hex = std::str::from_utf8(body.get(stop + 2..stop + 6)?).ok()?;
                if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                    return None;
                }
                let unit = u32::from_str_radix(hex, 16).ok()?;
                let c = char::from_u32(unit)?; // `None` for surrogates
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                i = stop + 6;
                continue;
            }
            _ => return None,
        };
        out.push(decoded);
        i = stop + 2;
    }
    String::from_utf8(out).ok()
}

/// The index just past a number token starting at `i`.
fn skip_number(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |b: &[u8], mut i: usize| {
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i > start).then_some(i)
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    i = match b.get(i)? {
        b'0' => i + 1,
        b'1'..=b'9' => digits(b, i)?,
        _ => return None,
    };
    if b.get(i) == Some(&b'.') {
        i = digits(b, i + 1)?;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digits(b, i)?;
    }
    Some(i)
}

/// The index just past the value starting at `i` (no leading whitespace).
pub fn skip_value(b: &[u8], mut i: usize) -> Option<usize> {
    // The closers of the containers we are inside.
    let mut open = Closers::default();
    loop {
        // A value.
        match *b.get(i)? {
            b'"' => i = skip_string(b, i + 1)?.0,
            b'{' => {
                i = ws(b, i + 1);
                if b.get(i) == Some(&b'}') {
                    i += 1;
                } else {
                    open.push(b'}');
                    i = ws(b, member_key(b, i)?);
                    continue;
                }
            }
            b'[' => {
                i = ws(b, i + 1);
                if b.get(i) == Some(&b']') {
                    i += 1;
                } else {
                    open.push(b']');
                    continue;
                }
            }
            b't' => i = literal(b, i, b"true")?,
            b'f' => i = literal(b, i, b"false")?,
            b'n' => i = literal(b, i, b"null")?,
            b'-' | b'0'..=b'9' => i = skip_number(b, i)?,
            _ => return None,
        }
        // What follows a value: the next one in its container, or the container's end.
        loop {
            let Some(close) = open.last() else {
                return Some(i);
            };
            i = ws(b, i);
            match *b.get(i)? {
                b',' => {
                    i = ws(b, i + 1);
                    if close == b'}' {
                        i = ws(b, member_key(b, i)?);
                    }
                    break;
                }
                c if c == close => {
                    i += 1;
                    open.pop();
                }
                _ => return None,
            }
        }
    }
}

/// A stack of container closers (`}`, `]`): the first levels in an array, deeper ones
/// in a `Vec`. Audit events nest a dozen levels or so, and this runs for every member
/// value of every event: a `Vec` alone was an allocation per skipped object.
#[derive(Default)]
struct Closers {
    depth: usize,
    near: [u8; Closers::NEAR],
    deeper: Vec<u8>,
}

impl Closers {
    const NEAR: usize = 32;

    fn push(&mut self, close: u8) {
        match self.near.get_mut(self.depth) {
            Some(slot) => *slot = close,
            None => self.deeper.push(close),
        }
        self.depth += 1;
    }

    fn last(&self) -> Option<u8> {
        let top = self.depth.checked_sub(1)?;
        Some(match self.near.get(top) {
            Some(&c) => c,
            None => *self.deeper.last().expect("deeper levels are in the Vec"),
        })
    }

    fn pop(&mut self) {
        self.depth -= 1;
        if self.depth >= Closers::NEAR {
            self.deeper.pop();
        }
    }
}

/// `"key" :` at `i`: the index just past the colon.
fn member_key(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let (end, _) = skip_string(b, i + 1)?;
    let colon = ws(b, end);
    (b.get(colon) == Some(&b':')).then_some(colon + 1)
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len())? == word).then_some(i + word.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::simd::STEP;

    fn accepts(text: &str) -> bool {
        let b = text.as_bytes();
        let i = ws(b, 0);
        skip_value(b, i).is_some_and(|end| ws(b, end) == b.len())
    }

    /// Accepts what serde_json accepts and rejects what it rejects: hand-made edge cases,
    /// the corpus, and every one-byte change and every cut of a real event.
    #[test]
    fn accepts_exactly_what_serde_json_accepts() {
        let serde_ok = |t: &str| serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok();
        let cases = [
            "0",
            "-0",
            "01",
            "-",
            "1.",
            "1.5",
            ".5",
            "1e5",
            "1E+5",
            "1e-5",
            "1e",
            "-1.5e+10",
            "true",
            "tru",
            "nul",
            "null",
            "false",
            "\"\"",
            "\"a\\u00e9\\ud800\"",
            "\"\\u12\"",
            "\"\\x\"",
            "\"raw\ttab\"",
            "\"\\/\"",
            "[]",
            "[1,]",
            "[,1]",
            "[1 2]",
            "{}",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":1 \"b\":2}",
            "{1:2}",
            " [ 1 , { \"a\" : [ ] } ] ",
            "[[[[]]]]",
            "[[[[]]]",
            "{\"a\":[}]",
            "\"unterminated",
            "[\"a\",\"b\"]",
            "{\"k\":\"v\",\"k\":\"w\"}",
            "\"exactly8\"",
            "\"a long string without escapes at all\"",
        ];
        for t in cases {
            assert_eq!(accepts(t), serde_ok(t), "{t}");
        }
        let events = crate::corpus::Corpus::messages(21, 400);
        for e in &events {
            assert!(accepts(e), "{e}");
        }
        let sample = &events[7];
        let replacements = [
            b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b'1', b'e', b' ', 0x01,
        ];
        for (at, _) in sample.char_indices().step_by(3) {
            for r in replacements {
                let mut bytes = sample.as_bytes().to_vec();
                if !bytes[at].is_ascii() {
                    continue;
                }
                bytes[at] = r;
                let t = String::from_utf8(bytes).unwrap();
                assert_eq!(accepts(&t), serde_ok(&t), "byte {at} -> {r:#x}");
            }
        }
        for cut in 0..sample.len() {
            if sample.is_char_boundary(cut) {
                let t = &sample[..cut];
                assert_eq!(accepts(t), serde_ok(t), "cut at {cut}");
            }
        }
    }

    /// Every escape and non-escape at every position of a step, alone, in pairs and in
    /// runs, with more text after the string: accepted exactly when serde_json accepts it,
    /// ending just past the closing quote, and reporting whether it had escapes.
    #[test]
    fn string_escapes_at_every_position_of_a_step() {
        let serde_ok = |t: &str| serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok();
        let pieces = [
            r#"\""#,
            r#"\\"#,
            r#"\/"#,
            r#"\b"#,
            r#"\f"#,
            r#"\n"#,
            r#"\r"#,
            r#"\t"#,
            r#"\u00e9"#,
            r#"\u12"#,
            r#"\x"#,
            "\t",
            "\u{1}",
            r#"\"#,
            "é",
            "x",
        ];
        let after = format!(",{}", "\"p\"".repeat(2 * STEP));
        let mut checked = 0;
        for lead in 0..2 * STEP + 3 {
            for first in pieces {
                for second in pieces {
                    let body = format!(
                        "{}{first}{second}{}",
                        "a".repeat(lead),
                        "z".repeat(lead % 5)
                    );
                    let string = format!("\"{body}\"");
                    let text = format!("{string}{after}");
                    let got = skip_string(text.as_bytes(), 1);
                    if serde_ok(&string) {
                        assert_eq!(got, Some((string.len(), body.contains('\\'))), "{string:?}");
                        checked += 1;
                    } else if let Some((end, _)) = got {
                        // Ended elsewhere (a lone backslash escapes the closing quote, a
                        // quote ends it early): where serde_json sees a string end too.
                        assert!(end != string.len() && serde_ok(&text[..end]), "{string:?}");
                    }
                }
            }
        }
        assert!(checked > 2 * STEP * 100, "{checked}");
        for n in 0..40 {
            let string = format!("\"{}\"", r#"\"\\"#.repeat(n));
            let text = format!("{string}{after}");
            assert_eq!(
                skip_string(text.as_bytes(), 1),
                Some((string.len(), n > 0)),
                "{n}"
            );
        }
    }

    /// Nesting on both sides of the closer stack's inline part (32 levels), with a wrong
    /// closer at every depth: the scan agrees with serde_json (whose own limit is 128).
    #[test]
    fn deep_nesting_is_scanned_past_the_inline_stack() {
        let serde_ok = |t: &str| serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok();
        for depth in [1, 31, 32, 33, 34, 64, 100, 127] {
            let (mut open, mut close) = (String::new(), String::new());
            for level in 0..depth {
                if level % 3 == 0 {
                    open.push_str("{\"k\":");
                    close.insert(0, '}');
                } else {
                    open.push_str("[0,");
                    close.insert(0, ']');
                }
            }
            let text = format!("{open}\"leaf\"{close}");
            assert!(accepts(&text), "depth {depth}");
            assert_eq!(skip_value(text.as_bytes(), 0), Some(text.len()));
            for at in 0..close.len() {
                let mut wrong = close.clone().into_bytes();
                wrong[at] = if wrong[at] == b'}' { b']' } else { b'}' };
                let t = format!("{open}\"leaf\"{}", String::from_utf8(wrong).unwrap());
                assert_eq!(accepts(&t), serde_ok(&t), "depth {depth}, closer {at}");
                assert!(!accepts(&t));
            }
        }
    }

    /// `unescape` reads what serde_json reads: every escape at every position around a
    /// step, `\u` escapes of one, two and three UTF-8 bytes, text beyond ASCII, and every
    /// string of the corpus; surrogate escapes and broken escapes are left to serde_json.
    #[test]
    fn unescape_reads_strings_as_serde_json_does() {
        let serde = |raw: &str| serde_json::from_str::<String>(raw).ok();
        let mut cases: Vec<String> = vec![
            r#""""#.into(),
            r#""plain""#.into(),
            r#""ünïcødé — ✓""#.into(),
            r#""a\u00e9\u2713\u0026b""#.into(),
            r#""\u0041\u007f\u0000""#.into(),
        ];
        for escape in [
            r#"\""#, r"\\", r"\/", r"\b", r"\f", r"\n", r"\r", r"\t", r"\u003c", r"\u00E9",
        ] {
            for at in 0..20 {
                let mut body = "abcdefghijklmnopqrs".to_string();
                body.insert_str(at.min(body.len()), escape);
                cases.push(format!("\"{body}\""));
                cases.push(format!("\"{escape}{body}{escape}\""));
            }
        }
        for raw in &cases {
            assert_eq!(unescape(raw), serde(raw), "{raw}");
            assert!(unescape(raw).is_some(), "{raw}");
        }
        for left in [
            r#""\ud83d\ude00""#,
            r#""\ud800""#,
            r#""\x""#,
            r#""\u12""#,
            r#""\u12g4""#,
            "\"raw\ttab\"",
            r#""a"b""#,
            r#""open"#,
        ] {
            assert_eq!(unescape(left), None, "{left}");
        }
        let events = crate::corpus::Corpus::messages(21, 400);
        let mut escaped = 0;
        for e in &events {
            let b = e.as_bytes();
            let mut i = 0;
            while let Some(q) = memchr::memchr(b'"', &b[i..]) {
                let start = i + q;
                let (end, has_escapes) = skip_string(b, start + 1).unwrap();
                let raw = &e[start..end];
                assert_eq!(unescape(raw), serde(raw), "{raw}");
                escaped += usize::from(has_escapes);
                i = end;
            }
        }
        assert!(escaped > 100, "{escaped}");
    }
}
