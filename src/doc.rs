//! What the filter pattern and the rules read an event through: its top-level members.
//!
//! The pipeline does not build a `serde_json::Value` tree for every audit event — that was
//! the largest cost after the codecs. It indexes the event's top-level members and parses
//! one only when something asks for it ([`crate::pipeline::event::AuditEvent`]). Tests and
//! the CLI's fixture runner keep handing plain `Value`s, which implement the same traits.

use std::borrow::Cow;

use serde_json::Value;

/// A JSON object read member by member.
pub trait JsonDoc {
    /// The top-level member `key` (the last one if the key repeats, as `serde_json` keeps).
    fn member(&self, key: &str) -> Option<&Value>;

    /// The whole object as compact JSON (for `jevt.obj` and `jevt.value` without a path).
    fn json_text(&self) -> Cow<'_, str>;

    /// The document as one `Value`, when it is one (then paths are followed from its root,
    /// which need not be an object).
    fn as_value(&self) -> Option<&Value> {
        None
    }

    /// The value at a JSON pointer (`/a/b/0`), read from the top-level member down. Unlike
    /// `Value::pointer` it allocates nothing unless a segment has a `~` escape: the pipeline
    /// reads a dozen pointers per event.
    fn pointer(&self, pointer: &str) -> Option<&Value> {
        let mut segments = pointer_segments(pointer);
        let mut v = self.member(&segments.next()?)?;
        for seg in segments {
            v = pointer_step(v, &seg)?;
        }
        Some(v)
    }

    /// The member at `path` (object keys only).
    fn path(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        let mut v = self.member(first)?;
        for k in rest {
            v = v.get(*k)?;
        }
        Some(v)
    }

    /// The string at a JSON pointer (`None` when absent or not a string). The pipeline's
    /// events read a plain string straight from their text.
    fn string_at(&self, pointer: &str) -> Option<&str> {
        self.pointer(pointer)?.as_str()
    }

    /// [`JsonDoc::string_at`] with the pointer already split into unescaped segments (array
    /// elements by index): the hot fields are read this way, with no pointer to parse.
    fn string_in(&self, segments: &[&str]) -> Option<&str> {
        let (first, rest) = segments.split_first()?;
        let mut v = self.member(first)?;
        for seg in rest {
            v = pointer_step(v, seg)?;
        }
        v.as_str()
    }

    /// Whether the array at `segments` (read as [`JsonDoc::string_in`] reads them) has the
    /// string `needle` among its elements. The pipeline's events compare each element in
    /// their text, without building the array.
    fn array_has_string(&self, segments: &[&str], needle: &str) -> bool {
        let Some((first, rest)) = segments.split_first() else {
            return false;
        };
        let mut v = self.member(first);
        for seg in rest {
            v = v.and_then(|v| pointer_step(v, seg));
        }
        v.and_then(Value::as_array)
            .is_some_and(|items| items.iter().any(|i| i.as_str() == Some(needle)))
    }

    /// The member at `path` as the text a rule compares ([`value_text`]). The pipeline's
    /// events read a plain string straight from their text, without building a `Value`.
    fn text_at(&self, path: &[&str]) -> Option<Cow<'_, str>> {
        self.path(path).and_then(value_text)
    }

    /// The elements of the array at `path` (object keys only) as the texts a rule compares
    /// ([`value_text`]; `null`s left out), or only element `index`; `None` when no array is
    /// there. The pipeline's events read plain strings straight from their text.
    fn texts_at(&self, path: &[&str], index: Option<usize>) -> Option<Vec<Cow<'_, str>>> {
        array_texts(self.path(path)?, index)
    }

    /// The value at a JSON pointer as the text a rule compares ([`value_text`]).
    fn text_at_pointer(&self, pointer: &str) -> Option<Cow<'_, str>> {
        self.pointer(pointer).and_then(value_text)
    }
}

/// One JSON pointer step: an object's member, or an array's element by index.
pub fn pointer_step<'v>(v: &'v Value, seg: &str) -> Option<&'v Value> {
    match v {
        Value::Object(map) => map.get(seg),
        Value::Array(items) => items.get(array_index(seg)?),
        _ => None,
    }
}

/// An array index as RFC 6901 writes it: decimal digits, no leading zero (except "0").
pub fn array_index(seg: &str) -> Option<usize> {
    let plain = !seg.is_empty()
        && seg.bytes().all(|b| b.is_ascii_digit())
        && (seg.len() == 1 || !seg.starts_with('0'));
    if plain { seg.parse().ok() } else { None }
}

/// A value as rules compare it: a string as itself, `null` as absent, anything else as
/// compact JSON.
pub fn value_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Null => None,
        other => Some(Cow::Owned(other.to_string())),
    }
}

/// [`JsonDoc::texts_at`] of a `Value`: `None` unless it is an array.
pub fn array_texts(v: &Value, index: Option<usize>) -> Option<Vec<Cow<'_, str>>> {
    let items = v.as_array()?;
    let picked = match index {
        None => items.as_slice(),
        Some(i) => items.get(i..i.saturating_add(1)).unwrap_or(&[]),
    };
    Some(picked.iter().filter_map(value_text).collect())
}

/// A JSON pointer's segments, unescaped (`~1` is `/`, `~0` is `~`); none for a pointer
/// that does not start with `/` (the whole document is not a member).
pub fn pointer_segments(pointer: &str) -> impl Iterator<Item = Cow<'_, str>> {
    // By hand rather than `split('/')`: the pipeline walks a few dozen pointers per event.
    let mut rest = pointer.strip_prefix('/');
    std::iter::from_fn(move || {
        let r = rest?;
        let seg = match r.bytes().position(|b| b == b'/') {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                &r[..i]
            }
            None => {
                rest = None;
                r
            }
        };
        Some(if seg.bytes().any(|b| b == b'~') {
            Cow::Owned(seg.replace("~1", "/").replace("~0", "~"))
        } else {
            Cow::Borrowed(seg)
        })
    })
}

impl JsonDoc for Value {
    fn member(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }

    fn json_text(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }

    fn as_value(&self) -> Option<&Value> {
        Some(self)
    }
}

/// The pipeline's enrichment fields (`eaw.*`) by their JSON pointer in the archived `eaw`
/// object, each as the text a rule compares.
pub trait EnrichmentDoc {
    fn field(&self, pointer: &str) -> Option<Cow<'_, str>>;
}

impl EnrichmentDoc for Value {
    fn field(&self, pointer: &str) -> Option<Cow<'_, str>> {
        match self.pointer(pointer)? {
            Value::String(s) => Some(Cow::Borrowed(s)),
            Value::Null => None,
            other => Some(Cow::Owned(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointer_and_path_start_at_the_top_level_member() {
        let v = json!({"a/b": {"c": [1, {"d": "x"}]}, "t~": 2});
        assert_eq!(v.pointer("/a~1b/c/1/d"), Some(&json!("x")));
        assert_eq!(JsonDoc::pointer(&v, "/a~1b/c/1/d"), Some(&json!("x")));
        assert_eq!(JsonDoc::pointer(&v, "/t~0"), Some(&json!(2)));
        assert_eq!(JsonDoc::pointer(&v, "/missing/x"), None);
        assert_eq!(JsonDoc::pointer(&v, ""), None);
        // Array indices as RFC 6901 has them, like serde_json.
        for p in [
            "/a~1b/c/0",
            "/a~1b/c/01",
            "/a~1b/c/+1",
            "/a~1b/c/9",
            "/a~1b/c/1/d/x",
        ] {
            assert_eq!(JsonDoc::pointer(&v, p), v.pointer(p), "{p}");
        }
        assert_eq!(v.path(&["a/b", "c"]), Some(&json!([1, {"d": "x"}])));
        assert_eq!(EnrichmentDoc::field(&v, "/t~0").as_deref(), Some("2"));
    }
}
