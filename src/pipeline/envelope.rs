//! The subscription message's JSON read in one pass, for the shape CloudWatch writes.
//!
//! Each `message` is an audit event's JSON inside a JSON string: a `\"` every few bytes.
//! serde_json decodes such a string escape by escape (find the next one, copy the run,
//! decode, repeat); here the string is scanned sixteen bytes at a time and decoded in the
//! same pass. Anything this reader does not expect — a duplicate or mistyped member, a
//! `\u` escape, invalid UTF-8, a syntax error — makes it give up (`None`), and serde_json
//! reads the payload instead and names the error. So it never decides what is valid: it
//! only returns what serde_json would have returned (a test checks that on every shape).

use super::decode::{LogEvent, LogsData};
use super::simd::{STEP, StepBytes, first_special};
use std::borrow::Cow;

/// `LogsData` from `json`, or `None` to let serde_json read it.
pub fn scan(json: &[u8]) -> Option<LogsData> {
    let mut r = Reader {
        b: json,
        i: 0,
        scratch: Vec::new(),
    };
    let mut data = LogsData::default();
    let mut seen = [false; 6];
    r.ws();
    r.object(|r, key| {
        let slot = match key {
            "messageType" => 0,
            "owner" => 1,
            "logGroup" => 2,
            "logStream" => 3,
            "subscriptionFilters" => 4,
            "logEvents" => 5,
            // Validated, then ignored (as the derived reader does).
            _ => return r.skip_value(),
        };
        if std::mem::replace(&mut seen[slot], true) {
            return None; // serde_json reports the duplicate
        }
        match slot {
            0 => data.message_type = r.string()?,
            1 => data.owner = r.string()?,
            2 => data.log_group = r.string()?,
            3 => data.log_stream = r.string()?,
            4 => {
                r.array(|r| {
                    data.subscription_filters.push(r.string()?);
                    Some(())
                })?;
            }
            _ => {
                r.array(|r| {
                    data.log_events.push(r.log_event()?);
                    Some(())
                })?;
            }
        }
        Some(())
    })?;
    r.ws();
    (r.i == json.len()).then_some(data)
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    /// Reused for every string: it grows to the longest message once, and each string is
    /// then one exact-size copy.
    scratch: Vec<u8>,
}

impl<'a> Reader<'a> {
    fn ws(&mut self) {
        self.i = super::json_scan::ws(self.b, self.i);
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.ws();
        (self.b.get(self.i) == Some(&byte)).then(|| self.i += 1)
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    /// `{ "key": value, … }`, each value read by `member`.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
        self.sequence(b'{', b'}', |r| {
            let key = r.key()?;
            r.eat(b':')?;
            r.ws();
            member(r, &key)
        })
    }

    /// A member's key: borrowed from the input when it has no escape (CloudWatch's keys
    /// never do), else decoded. A decoded copy of `id`, `timestamp` and `message` was three
    /// allocations per log event.
    fn key(&mut self) -> Option<Cow<'a, str>> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        let start = self.i + 1;
        let end = start + memchr::memchr2(b'"', b'\\', &self.b[start..])?;
        let raw = &self.b[start..end];
        if self.b[end] == b'"' && raw.iter().all(|&c| c >= 0x20) {
            let key = std::str::from_utf8(raw).ok()?;
            self.i = end + 1;
            return Some(Cow::Borrowed(key));
        }
        self.string().map(Cow::Owned)
    }

    /// `[ item, … ]`, each item read by `item`.
    fn array(&mut self, item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.sequence(b'[', b']', item)
    }

    /// `open` item, item, … `close`; each item read by `each` from its first byte.
    fn sequence(
        &mut self,
        open: u8,
        close: u8,
        mut each: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        if self.peek()? == close {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            each(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                c if c == close => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn log_event(&mut self) -> Option<LogEvent> {
        let (mut id, mut timestamp, mut message) = (None, None, None);
        self.object(|r, key| {
            let fresh = match key {
                "id" => id.replace(r.string()?).is_none(),
                "timestamp" => timestamp.replace(r.integer()?).is_none(),
                "message" => message.replace(r.string()?).is_none(),
                _ => return r.skip_value(),
            };
            fresh.then_some(())
        })?;
        Some(LogEvent {
            id: id?,
            timestamp: timestamp?,
            message: message?,
        })
    }

    /// An integer token that fits an `i64` (what serde_json accepts for one).
    fn integer(&mut self) -> Option<i64> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        let n = self.i - digits;
        // A leading zero, a fraction or an exponent: serde_json decides.
        if n == 0 || (n > 1 && self.b[digits] == b'0') {
            return None;
        }
        if matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        std::str::from_utf8(&self.b[start..self.i])
            .ok()?
            .parse()
            .ok()
    }

    /// Skips any value, validated (members this reader does not use).
    fn skip_value(&mut self) -> Option<()> {
        self.i = super::json_scan::skip_value(self.b, self.i)?;
        Some(())
    }

    /// A string token, decoded. Sixteen bytes at a time ([`super::simd`]): a step's stops
    /// (quotes, backslashes, control bytes) are found at once, and each run between two of
    /// them is copied as a whole step, the next escape's decoded byte then written over its
    /// end. The output is written by index into a buffer kept two steps longer than what is
    /// written (no length bookkeeping per run). In a `message` a `\"` comes every nine
    /// bytes or so, so the work per escape is what counts: the escapes of a step are taken
    /// one after another from its mask, not each found by a scan of its own. Four escapes in
    /// five are in steps with no stop but escaped quotes
    /// ([`StepBytes::only_escaped_quotes`]); those skip the general escape decoding.
    fn string(&mut self) -> Option<String> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        let b = self.b;
        let mut i = self.i + 1;
        let mut out = std::mem::take(&mut self.scratch);
        let mut o = 0;
        let decoded = 'string: loop {
            if out.len() < o + 2 * STEP {
                out.resize(2 * out.len() + 64, 0);
            }
            // A whole step, with a step after it to copy runs from.
            if let Some(ahead) = b.get(i..i + 2 * STEP) {
                let step: &[u8; STEP] = ahead[..STEP].try_into().expect("a step");
                let bytes = StepBytes::of(step);
                let mut stops = bytes.specials();
                if stops.first().is_none() {
                    out[o..o + STEP].copy_from_slice(step);
                    i += STEP;
                    o += STEP;
                    continue;
                }
                // Most steps: escaped quotes only. Each run from one quote to the next
                // backslash is copied as a whole step (the quote is its own decoding).
                if let Some(mut backslashes) = bytes.only_escaped_quotes() {
                    let mut from = 0;
                    while let Some(k) = backslashes.first() {
                        out[o..o + STEP].copy_from_slice(&ahead[from..from + STEP]);
                        o += k - from;
                        from = k + 1;
                        backslashes = backslashes.after(k);
                    }
                    out[o..o + STEP].copy_from_slice(&ahead[from..from + STEP]);
                    o += STEP - from;
                    i += STEP;
                    continue;
                }
                // `from`: the step's next byte to copy.
                let mut from = 0;
                loop {
                    out[o..o + STEP].copy_from_slice(&ahead[from..from + STEP]);
                    let Some(k) = stops.first() else {
                        o += STEP - from;
                        i += STEP;
                        continue 'string;
                    };
                    o += k - from;
                    match ahead[k] {
                        b'\\' => {
                            let decoded = ESCAPES[usize::from(ahead[k + 1])];
                            if decoded == 0 {
                                break 'string None;
                            }
                            out[o] = decoded;
                            o += 1;
                            from = k + 2;
                            stops = stops.after(k + 1);
                            if from >= STEP {
                                i += from;
                                continue 'string;
                            }
                        }
                        b'"' => {
                            i += k + 1;
                            break 'string Some(());
                        }
                        _ => break 'string None,
                    }
                }
            }
            // The last bytes of the input: one stop at a time.
            let Some(chunk) = b.get(i..i + STEP) else {
                // The tail, shorter than a step.
                match *b.get(i)? {
                    b'"' | b'\\' => {}
                    0x00..=0x1f => break None,
                    c => {
                        out[o] = c;
                        o += 1;
                        i += 1;
                        continue;
                    }
                }
                match self.special(&mut out, &mut o, &mut i) {
                    Special::Escape => continue,
                    Special::End => break Some(()),
                    Special::Invalid => break None,
                }
            };
            out[o..o + STEP].copy_from_slice(chunk);
            let Some(k) = first_special(chunk.try_into().expect("a step")) else {
                i += STEP;
                o += STEP;
                continue;
            };
            i += k;
            o += k;
            match self.special(&mut out, &mut o, &mut i) {
                Special::Escape => {}
                Special::End => break Some(()),
                Special::Invalid => break None,
            }
        };
        self.i = i;
        let text = decoded.and_then(|()| std::str::from_utf8(&out[..o]).ok().map(str::to_string));
        self.scratch = out;
        text
    }

    /// The byte at `i` (a quote, backslash or control byte): an escape decoded to `out[o]`,
    /// the string's end (`i` moves past the quote), or something serde_json must judge.
    fn special(&self, out: &mut [u8], o: &mut usize, i: &mut usize) -> Special {
        let b = self.b;
        match b[*i] {
            b'"' => {
                *i += 1;
                Special::End
            }
            b'\\' => {
                // `\u` is rare in CloudWatch's output; serde_json decodes it.
                let decoded = b.get(*i + 1).map_or(0, |&c| ESCAPES[usize::from(c)]);
                if decoded == 0 {
                    return Special::Invalid;
                }
                out[*o] = decoded;
                *o += 1;
                *i += 2;
                Special::Escape
            }
            _ => Special::Invalid,
        }
    }
}

/// What the byte after a backslash decodes to; 0 where serde_json must judge (`\\u`, rare
/// in CloudWatch's output, or not an escape at all). No escape decodes to 0.
const ESCAPES: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[b'/' as usize] = b'/';
    t[b'n' as usize] = b'\n';
    t[b't' as usize] = b'\t';
    t[b'r' as usize] = b'\r';
    t[b'b' as usize] = 0x08;
    t[b'f' as usize] = 0x0c;
    t
};

/// What [`Reader::special`] found.
enum Special {
    Escape,
    End,
    Invalid,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde(json: &[u8]) -> Option<LogsData> {
        serde_json::from_slice(json).ok()
    }

    /// Every escape, those CloudWatch writes and those it does not (`\u`, a bad escape, a
    /// raw control byte), at every position of a step and next to another, with more than
    /// two steps of input after the message (the whole-step path): the scan decodes
    /// CloudWatch's as serde_json does and leaves the rest to serde_json.
    #[test]
    fn escapes_at_every_position_of_a_step() {
        let payload = |msg: &str| {
            format!(
                r#"{{"messageType":"DATA_MESSAGE","logEvents":[{{"id":"1","timestamp":5,"message":"{msg}"}},{{"id":"2","timestamp":6,"message":"{}"}}]}}"#,
                "p".repeat(80)
            )
        };
        let cloudwatch = [
            r#"\""#, r#"\\"#, r#"\/"#, r#"\n"#, r#"\t"#, r#"\r"#, r#"\b"#, r#"\f"#,
        ];
        let others = [r#"\u00e9"#, r#"\x"#, "\u{1}", "\t", r#"\"#];
        let mut decoded = 0;
        for lead in 0..2 * STEP + 3 {
            for (a, first) in cloudwatch.iter().chain(&others).enumerate() {
                for (b, second) in cloudwatch.iter().chain(&others).enumerate() {
                    let msg = format!(
                        "{}{first}{second}{}",
                        "a".repeat(lead),
                        "z".repeat(lead % 5)
                    );
                    let json = payload(&msg);
                    let got = scan(json.as_bytes());
                    if a < cloudwatch.len() && b < cloudwatch.len() {
                        assert!(got.is_some(), "{msg}");
                        decoded += 1;
                    }
                    if let Some(got) = got {
                        assert_eq!(Some(got), serde(json.as_bytes()), "{msg}");
                    }
                }
            }
        }
        assert_eq!(
            decoded,
            (2 * STEP + 3) * cloudwatch.len() * cloudwatch.len()
        );
        // Nothing but escapes, over many steps; and the closing quote at every position.
        for n in 0..40 {
            let json = payload(&r#"\"\\"#.repeat(n));
            assert_eq!(scan(json.as_bytes()), serde(json.as_bytes()), "{n}");
            assert!(scan(json.as_bytes()).is_some());
        }
    }

    /// Whenever the scan answers, it answers what serde_json would; and it answers for
    /// what CloudWatch sends.
    #[test]
    fn the_scan_returns_what_serde_json_returns() {
        let payloads = crate::bench::build_payloads(3_000, 3);
        let mut shapes: Vec<Vec<u8>> = Vec::new();
        for p in payloads.iter().take(12) {
            let mut json = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::GzDecoder::new(&p.compressed[..]),
                &mut json,
            )
            .unwrap();
            assert!(scan(&json).is_some());
            assert_eq!(scan(&json), serde(&json));
            shapes.push(json);
        }
        let one = |msg: &str| {
            format!(
                r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"logEvents":[{{"id":"1","timestamp":5,"message":{msg}}}]}}"#
            )
        };
        for text in [
            one(r#""""#),
            one(r#""short""#),
            one(r#""exactly8""#),
            one(r#""{\"a\":\"b\\\\c\",\"t\":\"x\ty\"}""#),
            one(r#""tab\there\nnew\rline\b\f\/ and more text""#),
            one(r#""\u00e9t\u00e9""#),
            one(r#""été 😀 and a long enough tail to fill words""#),
            one("\"raw\ttab\""),
            one("\"raw\u{1}control byte\""),
            one(r#""bad \x escape""#),
            one(r#""unterminated"#),
            one("7"),
            one("null"),
            r#" { "messageType" : "DATA_MESSAGE" , "logEvents" : [ { "timestamp" : -1 , "message" : "m" , "id" : "x" , "extra" : {"a":[1,2.5e3,null,true]} } ] , "other" : [] } "#.into(),
            r#"{"messageType":"CONTROL_MESSAGE","logEvents":[]}"#.into(),
            r#"{"messageType":"DATA_MESSAGE","messageType":"DATA_MESSAGE"}"#.into(),
            r#"{"logEvents":[{"id":"1","timestamp":1.5,"message":"m"}]}"#.into(),
            r#"{"logEvents":[{"id":"1","timestamp":01,"message":"m"}]}"#.into(),
            r#"{"logEvents":[{"id":"1","timestamp":99999999999999999999,"message":"m"}]}"#.into(),
            r#"{"logEvents":[{"id":"1","message":"m"}]}"#.into(),
            r#"{"logEvents":[{"id":"1","timestamp":1,"message":"m","id":"2"}]}"#.into(),
            r#"{"logEvents":[{"id":"1","timestamp":1,"message":"m"},]}"#.into(),
            // Keys with escapes (decoded, not borrowed), raw control bytes in a key, and a
            // key that only looks like one of ours.
            r#"{"logEvents":[{"\u0069d":"1","timestamp":1,"mess\u0061ge":"m"}]}"#.into(),
            r#"{"log\"Events":[],"logEvents":[{"id":"1","timestamp":1,"message":"m"}]}"#.into(),
            "{\"log\tEvents\":[]}".into(),
            r#"{"logEvents":[{"id ":"1","timestamp":1,"message":"m"}]}"#.into(),
            r#"{"other":[1,}"#.into(),
            r#"{} trailing"#.into(),
            r#"{}"#.into(),
            r#"[]"#.into(),
            "".into(),
        ] {
            let json = text.as_bytes();
            if let Some(got) = scan(json) {
                assert_eq!(Some(got), serde(json), "{text}");
            }
            shapes.push(json.to_vec());
        }
        // Every cut of a real payload: an error or serde_json's answer, never another.
        let real = &shapes[0];
        for cut in (0..real.len()).step_by(97) {
            let part = &real[..cut];
            if let Some(got) = scan(part) {
                assert_eq!(Some(got), serde(part));
            }
        }
        // The escapes CloudWatch writes take the fast path; `\u` and bad input do not.
        for fast in [
            r#""exactly8""#,
            r#""{\"a\":\"b\\\\c\",\"t\":\"x\ty\"}""#,
            r#""tab\there\nnew\rline\b\f\/ and more text""#,
            r#""été 😀 and a long enough tail to fill words""#,
        ] {
            assert!(scan(one(fast).as_bytes()).is_some(), "{fast}");
        }
        for slow in [r#""\u00e9t\u00e9""#, "\"raw\ttab\"", "7"] {
            assert!(scan(one(slow).as_bytes()).is_none(), "{slow}");
        }
    }
}
