//! JSON written by hand where serde's generic path costs too much per event: the
//! enrichment every archived event carries. The output is byte for byte what `serde_json`
//! writes for the same data (the tests compare the two), so readers see no difference.

use serde::Serialize;
use serde_json::Value;

use crate::pipeline::simd::find_stop;

/// A value the archive writes into each event's line.
pub trait WriteJson: Serialize {
    /// Appends the value as compact JSON, exactly as `serde_json::to_writer` would.
    fn write_json(&self, out: &mut Vec<u8>);
}

impl WriteJson for Value {
    fn write_json(&self, out: &mut Vec<u8>) {
        serde_json::to_writer(out, self).expect("in-memory serialise");
    }
}

/// Appends `s` as a JSON string literal with serde_json's escapes: `\"`, `\\`, `\b`, `\f`,
/// `\n`, `\r`, `\t`, other control bytes as `\u00xx`; everything else as is. The common
/// case, nothing to escape, is checked sixteen bytes at a time, the last few bytes too
/// ([`crate::pipeline::simd::find_stop`]), and copied in one piece.
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    loop {
        i = find_stop(b, i);
        let Some(&c) = b.get(i) else {
            break;
        };
        let escape: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&b[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(c >> 4)]);
            out.push(HEX[usize::from(c & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

/// The decimal digits of `value`, written into the end of `buf` (without `fmt`'s
/// machinery, which cost more than the rest of an enrichment member).
pub fn decimal(value: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    let mut rest = value;
    loop {
        at -= 1;
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    &buf[at..]
}

/// Appends `value` in decimal, as serde_json writes an integer.
pub fn push_i64(out: &mut Vec<u8>, value: i64) {
    if value < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(decimal(value.unsigned_abs(), &mut [0; 20]));
}

/// Writes one JSON object member by member; keys are plain ASCII names the code spells.
pub struct ObjectWriter<'o> {
    out: &'o mut Vec<u8>,
    empty: bool,
}

impl<'o> ObjectWriter<'o> {
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        ObjectWriter { out, empty: true }
    }

    /// Starts member `key` and returns the buffer for its value.
    pub fn key(&mut self, key: &str) -> &mut Vec<u8> {
        debug_assert!(
            key.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        );
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    pub fn str(&mut self, key: &str, value: &str) {
        push_str(self.key(key), value);
    }

    pub fn opt_str(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.str(key, v);
        }
    }

    pub fn bool(&mut self, key: &str, value: bool) {
        let v: &[u8] = if value { b"true" } else { b"false" };
        self.key(key).extend_from_slice(v);
    }

    pub fn i64(&mut self, key: &str, value: i64) {
        push_i64(self.key(key), value);
    }

    /// Members another `ObjectWriter` wrote (`"a":1,"b":2`, the text between its braces),
    /// copied as they are: members shared by many objects are written once.
    pub fn members(&mut self, written: &[u8]) {
        if written.is_empty() {
            return;
        }
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.extend_from_slice(written);
    }

    /// Anything else serde writes (floats, so they are formatted exactly as serde does).
    pub fn serde<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        serde_json::to_writer(self.key(key), value).expect("in-memory serialise");
    }

    pub fn str_list<S: AsRef<str>>(&mut self, key: &str, items: &[S]) {
        let out = self.key(key);
        out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_str(out, item.as_ref());
        }
        out.push(b']');
    }

    pub fn finish(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings come out exactly as serde_json writes them: every byte that needs an
    /// escape, at every position around the eight-byte steps, and text beyond ASCII.
    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut cases: Vec<String> = vec![
            String::new(),
            "plain".into(),
            "exactly8".into(),
            "arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com".into(),
            "ünïcødé — ✓ 日本".into(),
            "\u{7f}\u{80}".into(),
        ];
        for c in (0u8..0x20).chain([b'"', b'\\', b'/', b'<', b'&']) {
            for at in 0..18 {
                let mut s = "abcdefghijklmnopq".to_string();
                s.insert(at, c as char);
                cases.push(s);
            }
        }
        for s in &cases {
            let mut ours = Vec::new();
            push_str(&mut ours, s);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(s).unwrap(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn objects_are_written_as_serde_json_writes_a_map() {
        let mut out = Vec::new();
        let mut o = ObjectWriter::new(&mut out);
        o.str("a", "x\"y");
        o.opt_str("skipped", None);
        o.opt_str("b", Some(""));
        o.bool("c", true);
        o.i64("d", -42);
        o.serde("e", &1.5f64);
        o.str_list("f", &["p", "q\n"]);
        o.str_list::<&str>("g", &[]);
        o.finish();
        let want = serde_json::json!({"a": "x\"y", "b": "", "c": true, "d": -42, "e": 1.5,
            "f": ["p", "q\n"], "g": []});
        assert_eq!(String::from_utf8(out).unwrap(), want.to_string());
        let mut empty = Vec::new();
        ObjectWriter::new(&mut empty).finish();
        assert_eq!(empty, b"{}");
    }

    #[test]
    fn integers_are_written_as_serde_json_writes_them() {
        for n in [
            0,
            1,
            -1,
            9,
            10,
            -10,
            99,
            100,
            1_795_515_395_318,
            i64::MAX,
            i64::MIN,
        ] {
            let mut ours = Vec::new();
            push_i64(&mut ours, n);
            assert_eq!(ours, serde_json::to_vec(&n).unwrap(), "{n}");
        }
    }

    /// Members written once and copied in come out as if written in place, first, among
    /// others or alone; an empty piece adds nothing.
    #[test]
    fn written_members_are_copied_in_place() {
        let mut piece = Vec::new();
        let mut p = ObjectWriter::new(&mut piece);
        p.str("b", "x");
        p.i64("c", 2);
        p.finish();
        let members = &piece[1..piece.len() - 1];
        let write = |before: bool, after: bool, extra: &[u8]| {
            let mut out = Vec::new();
            let mut o = ObjectWriter::new(&mut out);
            o.members(extra);
            if before {
                o.bool("a", true);
            }
            o.members(members);
            if after {
                o.bool("d", false);
            }
            o.finish();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(write(false, false, b""), r#"{"b":"x","c":2}"#);
        assert_eq!(
            write(true, true, b""),
            r#"{"a":true,"b":"x","c":2,"d":false}"#
        );
        assert_eq!(write(false, true, b""), r#"{"b":"x","c":2,"d":false}"#);
        assert_eq!(
            write(true, false, br#""z":0"#),
            r#"{"z":0,"a":true,"b":"x","c":2}"#
        );
    }
}
