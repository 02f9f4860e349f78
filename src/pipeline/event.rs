//! Stage 2: one CloudWatch log message → one Kubernetes audit event (v1 or v1beta1).
//!
//! Parsing indexes the event's top-level members (key and byte span) in one validating pass
//! that builds no tree ([`json_scan`]). A path read later indexes the objects it goes
//! through the same way and parses only its leaf, and a string without escapes is read
//! straight from the text: most events build no `serde_json::Value` at all, and
//! `requestObject`/`responseObject` — a third of the bytes — are only looked into by the
//! rules about bodies. The archive line is the
//! original text with the enrichment spliced in ([`AuditEvent::write_archive_line`]), so
//! every field the API server wrote — including ones this version does not know — reaches
//! the archive byte for byte.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::ops::Range;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::json_scan;
use crate::doc::{JsonDoc, array_index, pointer_step};
use crate::json_out::WriteJson;

/// A message longer than this is not parsed (CloudWatch caps events at 1 MB; this is
/// a bound against a misconfigured source, not a normal case).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventError {
    #[error("message is {0} bytes, over the {MAX_MESSAGE_BYTES}-byte bound")]
    TooLarge(usize),
    #[error("not valid JSON (EKS truncates oversized entries): {0}")]
    InvalidJson(String),
    #[error("JSON is not an object")]
    NotAnObject,
    #[error("not a Kubernetes audit event (apiVersion {0:?}, kind {1:?})")]
    NotAuditEvent(String, String),
}

#[derive(Debug, Clone, PartialEq)]
enum MemberKey {
    /// The key's bytes in the text (no escapes).
    Span(Range<usize>),
    /// A key written with escapes, unescaped.
    Owned(Box<str>),
    /// An array element (found by position).
    Element,
}

#[derive(Debug, Clone)]
struct Member {
    key: MemberKey,
    /// The key's first eight bytes as a word (zero-padded): most lookups are settled by
    /// comparing it, and keys of up to eight bytes need nothing more.
    sig: u64,
    value: Range<usize>,
    /// What has been read of the value so far (in the member itself: one allocation per
    /// indexed object, not two).
    slot: Slot,
}

impl Member {
    /// A member whose key (unescaped; empty for an array element) has [`key_sig`] `sig`.
    fn new(key: MemberKey, sig: u64, value: Range<usize>) -> Member {
        Member {
            key,
            sig,
            value,
            slot: Slot::default(),
        }
    }
}

/// A parsed audit event: its text and an index of its top-level members. Accessors return
/// `""` for absent string fields so callers can compare without unwrapping.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    text: Cow<'a, str>,
    root: ObjectIndex,
}

/// One JSON object's members, indexed. A member is parsed into a `Value` — or, when a path
/// goes through it and it is an object, indexed in turn — the first time something reads
/// it: `user.username` costs one string, not the whole `user` tree with its `extra` lists,
/// and a rule reading `requestObject.spec` does not build `requestObject.metadata`.
#[derive(Debug, Clone)]
struct ObjectIndex {
    members: Vec<Member>,
    /// An array's elements (JSON pointers reach them by position; key paths do not).
    array: bool,
}

#[derive(Debug, Clone, Default)]
struct Slot {
    /// The member as a `Value`; `None` inside when it does not parse as one (a number out
    /// of range, nesting deeper than serde_json's limit).
    value: OnceCell<Option<Box<Value>>>,
    /// The member's own members or elements (`None` inside when it is neither an object
    /// nor an array).
    object: OnceCell<Option<ObjectIndex>>,
}

fn key_sig(name: &[u8]) -> u64 {
    if let Some(head) = name.first_chunk::<8>() {
        return u64::from_le_bytes(*head);
    }
    // Byte by byte: a copy of a variable length is a `memcpy` call, for at most 7 bytes.
    name.iter()
        .enumerate()
        .fold(0, |word, (i, &b)| word | u64::from(b) << (8 * i))
}

/// Whether two keys of the same length over eight bytes, whose first eight bytes are
/// equal, are equal: their last eight bytes as a word first (`responseStatus` and
/// `responseObject`, the `authorization.k8s.io/…` annotations differ there), then any
/// middle. A slice comparison called `memcmp` for every such pair.
#[inline(always)]
fn same_after_sig(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    let last = |x: &[u8]| x.last_chunk::<8>().map(|w| u64::from_le_bytes(*w));
    last(a) == last(b) && (n <= 16 || a[8..n - 8] == b[8..n - 8])
}

impl ObjectIndex {
    fn new(members: Vec<Member>, array: bool) -> ObjectIndex {
        ObjectIndex { members, array }
    }
}

/// Where a path walk has got to: a member not parsed yet, or inside a parsed `Value`.
enum Place<'s> {
    Member(&'s ObjectIndex, usize),
    Value(&'s Value),
}

/// How segments address arrays: JSON pointers index them, key paths do not.
#[derive(Clone, Copy, PartialEq)]
enum Segments {
    Pointer,
    Keys,
}

fn step<'v>(v: &'v Value, seg: &str, how: Segments) -> Option<&'v Value> {
    match how {
        Segments::Pointer => pointer_step(v, seg),
        Segments::Keys => v.get(seg),
    }
}

/// The text of a JSON string token when it has no escapes (then it is the string itself).
fn plain_string(raw: &str) -> Option<&str> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    (memchr::memchr(b'\\', inner.as_bytes()).is_none()).then_some(inner)
}

/// A member's value: a string read by [`json_scan::unescape`], anything else (and the
/// strings it leaves) by serde_json; `None` where serde_json reads no `Value`.
fn parse_value(raw: &str) -> Option<Value> {
    if raw.starts_with('"')
        && let Some(text) = json_scan::unescape(raw)
    {
        return Some(Value::String(text));
    }
    serde_json::from_str(raw).ok()
}

impl PartialEq for AuditEvent<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// Collects the members' spans; values are skipped (validated, not built). serde_json's
/// reading of what [`scan_container`] rejects: it names the error (its keys are always
/// copied — serde's `Cow<str>` never borrows — which is fine on this path).
struct IndexVisitor {
    base: usize,
}

impl<'de> Visitor<'de> for IndexVisitor {
    type Value = Vec<Member>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Member>, A::Error> {
        let span = |s: &str| {
            let start = s.as_ptr() as usize - self.base;
            start..start + s.len()
        };
        let mut members = Vec::with_capacity(24);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let value: &'de RawValue = map.next_value()?;
            let sig = key_sig(key.as_bytes());
            let key = match key {
                Cow::Borrowed(k) => MemberKey::Span(span(k)),
                Cow::Owned(k) => MemberKey::Owned(k.into_boxed_str()),
            };
            members.push(Member::new(key, sig, span(value.get())));
        }
        Ok(members)
    }
}

/// Indexes the object at `range` of `text`; spans are offsets into `text`.
fn index_object(text: &str, range: Range<usize>) -> Result<Vec<Member>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(&text[range]);
    let visitor = IndexVisitor {
        base: text.as_ptr() as usize,
    };
    de.deserialize_map(visitor)
        .and_then(|m| de.end().map(|_| m))
}

/// An audit event has about twenty members, the objects inside it a handful (`user`,
/// `objectRef`, `responseStatus`): eight members stay under glibc's per-thread cache limit
/// (1 KiB); twenty-four did not and took the slower general path for every nested object.
const EVENT_MEMBERS: usize = 24;
const NESTED_MEMBERS: usize = 8;

/// Indexes the object or array at `range` of `text` with [`json_scan`] (only whitespace may
/// follow it before `range.end`: the whole event may end in a newline). `None` when the
/// scan does not accept it: then serde_json indexes an object and names the error, and an
/// array is parsed whole. `room` is how many members an object is expected to have (its
/// index's first allocation).
fn scan_container(text: &str, range: Range<usize>, room: usize) -> Option<ObjectIndex> {
    let b = &text.as_bytes()[..range.end];
    let array = match b.get(range.start)? {
        b'{' => false,
        b'[' => true,
        _ => return None,
    };
    let close = if array { b']' } else { b'}' };
    let mut members = Vec::with_capacity(if array { 4 } else { room });
    let mut i = json_scan::ws(b, range.start + 1);
    if b.get(i) == Some(&close) {
        return (json_scan::ws(b, i + 1) == b.len()).then(|| ObjectIndex::new(members, array));
    }
    loop {
        let key = if array {
            MemberKey::Element
        } else {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let (key_end, escaped) = json_scan::skip_string(b, i + 1)?;
            let key = if escaped {
                let k: String = serde_json::from_str(&text[i..key_end]).ok()?;
                MemberKey::Owned(k.into_boxed_str())
            } else {
                MemberKey::Span(i + 1..key_end - 1)
            };
            i = json_scan::ws(b, key_end);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = json_scan::ws(b, i + 1);
            key
        };
        let end = json_scan::skip_value(b, i)?;
        let sig = key_sig(match &key {
            MemberKey::Span(r) => &b[r.clone()],
            MemberKey::Owned(k) => k.as_bytes(),
            MemberKey::Element => &[],
        });
        members.push(Member::new(key, sig, i..end));
        i = json_scan::ws(b, end);
        match *b.get(i)? {
            b',' => i = json_scan::ws(b, i + 1),
            c if c == close => {
                return (json_scan::ws(b, i + 1) == b.len())
                    .then(|| ObjectIndex::new(members, array));
            }
            _ => return None,
        }
    }
}

fn index(text: &str) -> Result<Vec<Member>, EventError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(EventError::TooLarge(text.len()));
    }
    let start = json_scan::ws(text.as_bytes(), 0);
    if text.as_bytes().get(start) == Some(&b'{')
        && let Some(index) = scan_container(text, start..text.len(), EVENT_MEMBERS)
    {
        return Ok(index.members);
    }
    match index_object(text, 0..text.len()) {
        Ok(members) => Ok(members),
        Err(e) => {
            let object = text.trim_start().starts_with('{');
            if !object && serde_json::from_str::<de::IgnoredAny>(text).is_ok() {
                Err(EventError::NotAnObject)
            } else {
                Err(EventError::InvalidJson(e.to_string()))
            }
        }
    }
}

impl<'a> AuditEvent<'a> {
    /// Indexes `message` (borrowed) and checks it is an audit event.
    pub fn parse(message: &'a str) -> Result<AuditEvent<'a>, EventError> {
        let members = index(message)?;
        AuditEvent::checked(Cow::Borrowed(message), members)
    }

    fn checked(text: Cow<'a, str>, members: Vec<Member>) -> Result<AuditEvent<'a>, EventError> {
        let event = AuditEvent {
            text,
            root: ObjectIndex::new(members, false),
        };
        let api_version = event.str_in(&["apiVersion"]);
        let kind = event.str_in(&["kind"]);
        let audit_api = api_version.is_empty() || api_version.starts_with("audit.k8s.io/");
        let event_kind = kind.is_empty() || kind == "Event";
        if !audit_api || !event_kind {
            return Err(EventError::NotAuditEvent(api_version.into(), kind.into()));
        }
        Ok(event)
    }

    /// The whole text as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The event as a `Value` tree (the general path: redaction, re-serialisation).
    pub fn to_value(&self) -> Result<Value, EventError> {
        serde_json::from_str(&self.text).map_err(|e| EventError::InvalidJson(e.to_string()))
    }

    #[cfg(test)]
    fn key<'s>(&'s self, m: &'s Member) -> &'s str {
        match &m.key {
            MemberKey::Span(r) => &self.text[r.clone()],
            MemberKey::Owned(k) => k,
            MemberKey::Element => "",
        }
    }

    /// The position of member `key` in `obj` (the last one if the key repeats, as
    /// `serde_json` keeps).
    fn find(&self, obj: &ObjectIndex, key: &str, how: Segments) -> Option<usize> {
        if obj.array {
            return array_index(key).filter(|&i| how == Segments::Pointer && i < obj.members.len());
        }
        // First eight bytes as a word, then length, then the rest: this runs a few dozen
        // times per event.
        let key = key.as_bytes();
        let sig = key_sig(key);
        let text = self.text.as_bytes();
        obj.members.iter().rposition(|m| {
            m.sig == sig
                && match &m.key {
                    MemberKey::Span(r) => {
                        r.len() == key.len()
                            && (key.len() <= 8 || same_after_sig(&text[r.clone()], key))
                    }
                    MemberKey::Owned(k) => k.as_bytes() == key,
                    MemberKey::Element => false,
                }
        })
    }

    fn raw(&self, obj: &ObjectIndex, i: usize) -> &str {
        &self.text[obj.members[i].value.clone()]
    }

    fn value_of<'s>(&'s self, obj: &'s ObjectIndex, i: usize) -> Option<&'s Value> {
        obj.members[i]
            .slot
            .value
            .get_or_init(|| parse_value(self.raw(obj, i)).map(Box::new))
            .as_deref()
    }

    fn container_of<'s>(&'s self, obj: &'s ObjectIndex, i: usize) -> Option<&'s ObjectIndex> {
        obj.members[i]
            .slot
            .object
            .get_or_init(|| {
                let range = obj.members[i].value.clone();
                let found = scan_container(&self.text, range.clone(), NESTED_MEMBERS);
                if found.is_none() && self.text[range.clone()].starts_with('{') {
                    let members = index_object(&self.text, range).ok()?;
                    return Some(ObjectIndex::new(members, false));
                }
                found
            })
            .as_ref()
    }

    /// Follows `segments` from the top level, indexing objects on the way and parsing only
    /// what the walk cannot go through without a `Value`.
    fn walk<'s, 'p>(
        &'s self,
        mut segments: impl Iterator<Item = Cow<'p, str>>,
        how: Segments,
    ) -> Option<Place<'s>> {
        let first = segments.next()?;
        let mut place = Place::Member(&self.root, self.find(&self.root, &first, how)?);
        for seg in segments {
            place = match place {
                Place::Value(v) => Place::Value(step(v, &seg, how)?),
                Place::Member(obj, i) => match obj.members[i].slot.value.get() {
                    // Already parsed whole: reading the tree is cheapest.
                    Some(Some(v)) => Place::Value(step(v, &seg, how)?),
                    _ => match self.container_of(obj, i) {
                        Some(sub) => Place::Member(sub, self.find(sub, &seg, how)?),
                        None => Place::Value(step(self.value_of(obj, i)?, &seg, how)?),
                    },
                },
            };
        }
        Some(place)
    }

    fn place_value<'s>(&'s self, place: Place<'s>) -> Option<&'s Value> {
        match place {
            Place::Value(v) => Some(v),
            Place::Member(obj, i) => self.value_of(obj, i),
        }
    }

    /// A place's text as a rule compares it ([`crate::doc::value_text`]); a string without
    /// escapes is read straight from the event text, without a `Value`.
    fn place_text<'s>(&'s self, place: Place<'s>) -> Option<Cow<'s, str>> {
        if let Place::Member(obj, i) = place {
            let raw = self.raw(obj, i);
            if let Some(s) = plain_string(raw) {
                return Some(Cow::Borrowed(s));
            }
            if matches!(raw, "true" | "false") {
                return Some(Cow::Borrowed(raw));
            }
        }
        crate::doc::value_text(self.place_value(place)?)
    }

    /// A place's string, straight from the text when it has no escapes.
    fn place_str<'s>(&'s self, place: Place<'s>) -> Option<&'s str> {
        if let Place::Member(obj, i) = place
            && let Some(s) = plain_string(self.raw(obj, i))
        {
            return Some(s);
        }
        self.place_value(place)?.as_str()
    }

    /// Whether the event has a top-level member `key`.
    pub fn has_member(&self, key: &str) -> bool {
        self.find(&self.root, key, Segments::Keys).is_some()
    }

    /// The raw JSON text of the top-level member `key`.
    pub fn member_text(&self, key: &str) -> Option<&str> {
        Some(self.raw(&self.root, self.find(&self.root, key, Segments::Keys)?))
    }

    /// The last element of the top-level array `key` when it is a string (`sourceIPs`:
    /// the address the API server saw), read from the text without building the array.
    pub fn last_string_of(&self, key: &str) -> Option<&str> {
        let i = self.find(&self.root, key, Segments::Keys)?;
        if let Some(Some(v)) = self.root.members[i].slot.value.get() {
            return v.as_array()?.last()?.as_str();
        }
        let items = self.container_of(&self.root, i).filter(|c| c.array)?;
        let last = items.members.len().checked_sub(1)?;
        self.place_str(Place::Member(items, last))
    }

    /// The string at a JSON pointer, `""` when absent or not a string.
    pub fn str_at(&self, pointer: &str) -> &str {
        JsonDoc::string_at(self, pointer).unwrap_or("")
    }

    /// The string at a pointer given as segments, `""` when absent or not a string.
    pub fn str_in(&self, segments: &[&str]) -> &str {
        JsonDoc::string_in(self, segments).unwrap_or("")
    }

    /// Whether something is at the pointer given as `segments` (as [`AuditEvent::str_in`]
    /// takes them) that does not parse as a `Value` (a number out of range, a string with a
    /// lone surrogate escape).
    pub fn unreadable_in(&self, segments: &[&str]) -> bool {
        let segments = segments.iter().map(|s| Cow::Borrowed(*s));
        match self.walk(segments, Segments::Pointer) {
            None => false,
            Some(Place::Member(obj, i)) if plain_string(self.raw(obj, i)).is_some() => false,
            Some(place) => self.place_value(place).is_none(),
        }
    }

    pub fn audit_id(&self) -> &str {
        self.str_in(&["auditID"])
    }
    pub fn stage(&self) -> &str {
        self.str_in(&["stage"])
    }
    pub fn verb(&self) -> &str {
        self.str_in(&["verb"])
    }
    pub fn username(&self) -> &str {
        self.str_in(&["user", "username"])
    }
    pub fn request_uri(&self) -> &str {
        self.str_in(&["requestURI"])
    }
    pub fn resource(&self) -> &str {
        self.str_in(&["objectRef", "resource"])
    }
    pub fn subresource(&self) -> &str {
        self.str_in(&["objectRef", "subresource"])
    }
    pub fn namespace(&self) -> &str {
        self.str_in(&["objectRef", "namespace"])
    }
    pub fn name(&self) -> &str {
        self.str_in(&["objectRef", "name"])
    }
    pub fn user_agent(&self) -> &str {
        self.str_in(&["userAgent"])
    }
    pub fn response_code(&self) -> Option<i64> {
        let place = self.walk(
            ["responseStatus", "code"].into_iter().map(Cow::Borrowed),
            Segments::Pointer,
        )?;
        // Status codes are short unsigned integers; read such a token without a `Value`.
        if let Place::Member(obj, i) = place {
            let raw = self.raw(obj, i);
            if (1..=9).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit()) {
                return raw.parse().ok();
            }
        }
        self.place_value(place)?.as_i64()
    }

    /// When the event happened: `stageTimestamp` (v1), `timestamp` (v1beta1), else
    /// `requestReceivedTimestamp`.
    pub fn time(&self) -> &str {
        ["stageTimestamp", "timestamp", "requestReceivedTimestamp"]
            .iter()
            .map(|k| self.str_in(&[k]))
            .find(|s| !s.is_empty())
            .unwrap_or("")
    }

    /// The within-batch deduplication key: one request yields one event per stage.
    pub fn dedup_key(&self) -> Option<(&str, &str)> {
        let id = self.audit_id();
        (!id.is_empty()).then(|| (id, self.stage()))
    }

    /// Appends the archived form of this event to `out`: its text with `"<key>":<enrichment>`
    /// added as the last member. Line breaks between tokens (the only place JSON allows them
    /// raw) become spaces, so the record stays one NDJSON line. An event that already has a
    /// `key` member (a re-scanned archive) is re-serialised with that member replaced (if its
    /// tree cannot be built, the member is appended and readers take the last).
    pub fn write_archive_line<T: WriteJson>(&self, key: &str, enrichment: &T, out: &mut Vec<u8>) {
        if self.has_member(key)
            && let Ok(mut value) = self.to_value()
        {
            let en = serde_json::to_value(enrichment).expect("enrichment serialises");
            if let Value::Object(map) = &mut value {
                map.insert(key.to_string(), en);
            }
            serde_json::to_writer(&mut *out, &value).expect("in-memory serialise");
            return;
        }
        let text = self.text.trim();
        // An indexed object's text, trimmed, ends with its closing brace.
        let body = &text.as_bytes()[..text.len() - 1];
        let start = out.len();
        out.extend_from_slice(body);
        if memchr::memchr2(b'\n', b'\r', body).is_some() {
            for b in &mut out[start..] {
                if matches!(*b, b'\n' | b'\r') {
                    *b = b' ';
                }
            }
        }
        if !self.root.members.is_empty() {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        enrichment.write_json(out);
        out.push(b'}');
    }
}

impl AuditEvent<'static> {
    /// Indexes an owned text (a re-serialised, redacted event).
    pub fn parse_owned(text: String) -> Result<AuditEvent<'static>, EventError> {
        let members = index(&text)?;
        AuditEvent::checked(Cow::Owned(text), members)
    }

    /// An event from a `Value` (tests, fixtures); panics if it is not an audit event object.
    pub fn from_value(value: &Value) -> AuditEvent<'static> {
        AuditEvent::parse_owned(value.to_string()).expect("an audit event object")
    }
}

impl JsonDoc for AuditEvent<'_> {
    fn member(&self, key: &str) -> Option<&Value> {
        self.value_of(&self.root, self.find(&self.root, key, Segments::Keys)?)
    }

    fn pointer(&self, pointer: &str) -> Option<&Value> {
        let place = self.walk(crate::doc::pointer_segments(pointer), Segments::Pointer)?;
        self.place_value(place)
    }

    fn path(&self, path: &[&str]) -> Option<&Value> {
        let place = self.walk(path.iter().map(|s| Cow::Borrowed(*s)), Segments::Keys)?;
        self.place_value(place)
    }

    fn string_at(&self, pointer: &str) -> Option<&str> {
        let place = self.walk(crate::doc::pointer_segments(pointer), Segments::Pointer)?;
        self.place_str(place)
    }

    fn string_in(&self, segments: &[&str]) -> Option<&str> {
        if let [key] = segments {
            // A top-level member (the filter's `$.stage`, `$.requestURI`): no walk to set up.
            let i = self.find(&self.root, key, Segments::Pointer)?;
            return self.place_str(Place::Member(&self.root, i));
        }
        let place = self.walk(
            segments.iter().map(|s| Cow::Borrowed(*s)),
            Segments::Pointer,
        )?;
        self.place_str(place)
    }

    fn array_has_string(&self, segments: &[&str], needle: &str) -> bool {
        let place = self.walk(
            segments.iter().map(|s| Cow::Borrowed(*s)),
            Segments::Pointer,
        );
        match place {
            None => false,
            Some(Place::Value(v)) => v
                .as_array()
                .is_some_and(|items| items.iter().any(|i| i.as_str() == Some(needle))),
            Some(Place::Member(obj, i)) => match self.container_of(obj, i) {
                Some(items) if items.array => (0..items.members.len())
                    .any(|e| self.place_str(Place::Member(items, e)) == Some(needle)),
                _ => false,
            },
        }
    }

    fn text_at(&self, path: &[&str]) -> Option<Cow<'_, str>> {
        let place = self.walk(path.iter().map(|s| Cow::Borrowed(*s)), Segments::Keys)?;
        self.place_text(place)
    }

    fn texts_at(&self, path: &[&str], index: Option<usize>) -> Option<Vec<Cow<'_, str>>> {
        let place = self.walk(path.iter().map(|s| Cow::Borrowed(*s)), Segments::Keys)?;
        let (obj, i) = match place {
            Place::Member(obj, i) => (obj, i),
            Place::Value(v) => return crate::doc::array_texts(v, index),
        };
        // Element by element from the text (`user.groups`, `sourceIPs`): no `Value` array.
        let items = match obj.members[i].slot.value.get() {
            Some(Some(v)) => return crate::doc::array_texts(v, index),
            _ => self.container_of(obj, i).filter(|c| c.array)?,
        };
        let picked = match index {
            None => 0..items.members.len(),
            Some(e) => e.min(items.members.len())..e.saturating_add(1).min(items.members.len()),
        };
        let mut texts = Vec::with_capacity(picked.len());
        texts.extend(picked.filter_map(|e| self.place_text(Place::Member(items, e))));
        Some(texts)
    }

    fn text_at_pointer(&self, pointer: &str) -> Option<Cow<'_, str>> {
        let place = self.walk(crate::doc::pointer_segments(pointer), Segments::Pointer)?;
        self.place_text(place)
    }

    /// Compact JSON as serde_json writes it, as for a `Value` event, so that `jevt.obj` gives
    /// a rule the same text whether the event came through the pipeline or a fixture (the
    /// original may have spaces or Go's `\u0026` escapes). No built-in rule reads it.
    fn json_text(&self) -> Cow<'_, str> {
        match self.to_value() {
            Ok(v) => Cow::Owned(v.to_string()),
            Err(_) => Cow::Borrowed(&self.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature is the key's first eight bytes, zero-padded, little-endian.
    #[test]
    fn key_sig_is_the_first_eight_bytes_zero_padded() {
        let name = b"requestReceivedTimestamp";
        for n in 0..=name.len() {
            let mut word = [0u8; 8];
            word[..n.min(8)].copy_from_slice(&name[..n.min(8)]);
            assert_eq!(key_sig(&name[..n]), u64::from_le_bytes(word), "{n}");
        }
    }

    /// Keys equal in their first eight bytes are told apart wherever they differ.
    #[test]
    fn keys_alike_in_their_first_eight_bytes_are_told_apart() {
        let keys = [
            "responseStatus",
            "responseObject",
            "responseXXXXXX",
            "responseStatut",
            "authorization.k8s.io/decision",
            "authorization.k8s.io/reason",
            "authorization.k8s.io/decisioN",
            "authorization.k8s.io/Decision",
            "requestReceivedTimestamp",
            "requestReceivedTimestamq",
            "requestRecXivedTimestamp",
            "123456789",
            "123456788",
            "023456789",
        ];
        let mut text = String::from("{");
        for (n, k) in keys.iter().enumerate() {
            text.push_str(&format!(r#""{k}":{n},"#));
        }
        text.push_str(r#""kind":"Event"}"#);
        let ev = AuditEvent::parse(&text).unwrap();
        for (n, k) in keys.iter().enumerate() {
            assert_eq!(ev.member_text(k), Some(n.to_string().as_str()), "{k}");
        }
        assert_eq!(ev.member_text("responseStatuz"), None);
        assert_eq!(ev.member_text("authorization.k8s.io/decisiom"), None);
        assert_eq!(ev.member_text("requestReceivedXimestamp"), None);
    }

    #[test]
    fn parses_v1_and_v1beta1() {
        let v1 = AuditEvent::parse(
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","verb":"get","stageTimestamp":"2026-11-24T10:15:30.1Z"}"#,
        )
        .unwrap();
        assert_eq!(v1.audit_id(), "a");
        assert_eq!(v1.time(), "2026-11-24T10:15:30.1Z");
        assert_eq!(v1.dedup_key(), Some(("a", "ResponseComplete")));
        let beta = AuditEvent::parse(
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","auditID":"b","timestamp":"2019-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(beta.time(), "2019-01-01T00:00:00Z");
        assert_eq!(beta.namespace(), "");
    }

    #[test]
    fn rejects_what_is_not_an_audit_event() {
        let truncated =
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","requestObject":{"spec":{"contain"#;
        assert!(matches!(
            AuditEvent::parse(truncated),
            Err(EventError::InvalidJson(_))
        ));
        assert_eq!(AuditEvent::parse("[1]"), Err(EventError::NotAnObject));
        assert!(matches!(
            AuditEvent::parse(r#"{"kind":"Pod","apiVersion":"v1"}"#),
            Err(EventError::NotAuditEvent(..))
        ));
        let huge = format!("\"{}\"", "x".repeat(MAX_MESSAGE_BYTES));
        assert!(matches!(
            AuditEvent::parse(&huge),
            Err(EventError::TooLarge(_))
        ));
    }

    fn archived(text: &str) -> String {
        let ev = AuditEvent::parse(text).unwrap();
        let mut out = Vec::new();
        ev.write_archive_line("eaw", &serde_json::json!({"cluster": "c"}), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_archive_line_is_the_original_text_plus_the_enrichment() {
        let text =
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"get","note":"a \u0026 b"}"#;
        assert_eq!(
            archived(text),
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"get","note":"a \u0026 b","eaw":{"cluster":"c"}}"#
        );
        assert_eq!(archived("{}"), r#"{"eaw":{"cluster":"c"}}"#);
        assert_eq!(archived(" { } \n"), r#"{ "eaw":{"cluster":"c"}}"#);
        // Line breaks between tokens would split the NDJSON record.
        let line = archived("{\"verb\":\r\n \"get\",\n\"x\":[1,\n2]\n}\n");
        assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["x"], serde_json::json!([1, 2]));
        // A re-scanned archive: the old enrichment is replaced, not repeated.
        let again =
            archived(r#"{"verb":"get","eaw":{"cluster":"old"},"stage":"ResponseComplete"}"#);
        assert_eq!(
            again,
            r#"{"verb":"get","eaw":{"cluster":"c"},"stage":"ResponseComplete"}"#
        );
    }

    #[test]
    fn members_are_parsed_on_demand_and_the_last_duplicate_wins() {
        let ev = AuditEvent::parse(
            r#"{"verb":"get","objectRef":{"resource":"pods"},"verb":"delete","n":1e999,"k\u0065y":"v"}"#,
        )
        .unwrap();
        assert_eq!(ev.verb(), "delete");
        assert_eq!(ev.resource(), "pods");
        assert_eq!(ev.str_at("/key"), "v");
        // Out of range for a Value: the member reads as absent, the event stays usable.
        assert_eq!(JsonDoc::member(&ev, "n"), None);
        assert_eq!(ev.member_text("n"), Some("1e999"));
        assert!(ev.has_member("objectRef") && !ev.has_member("requestObject"));
        // jevt.obj sees compact JSON, as for a `Value` event.
        let spaced = AuditEvent::parse(r#"{"verb": "get", "note": "a\u0026b"}"#).unwrap();
        assert_eq!(spaced.json_text(), r#"{"verb":"get","note":"a&b"}"#);
        // Nesting far past serde_json's limit: indexing walks it without recursion, and the
        // member reads as absent instead of overflowing the stack.
        let deep = format!(
            r#"{{"verb":"get","requestObject":{}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let ev = AuditEvent::parse(&deep).unwrap();
        assert_eq!(ev.verb(), "get");
        assert_eq!(JsonDoc::member(&ev, "requestObject"), None);
        assert!(ev.to_value().is_err());
        let owned = AuditEvent::from_value(&serde_json::json!({"auditID": "x", "stage": "s"}));
        assert_eq!(owned.dedup_key(), Some(("x", "s")));
    }

    /// Every pointer into an event (each object member and array element, to depth 6)
    /// reads the same through the lazy index as through the event's `Value`: as a `Value`,
    /// as rule text, as a string; key paths too. Over the generated corpus (with attacks)
    /// and hand-made spellings: escaped keys and strings, duplicate keys, spaces, a number
    /// out of range beside readable siblings.
    #[test]
    fn the_lazy_index_reads_what_the_value_tree_reads() {
        fn pointers(v: &Value, at: String, depth: usize, out: &mut Vec<String>) {
            if depth == 6 {
                return;
            }
            let esc = |k: &str| k.replace('~', "~0").replace('/', "~1");
            match v {
                Value::Object(map) => {
                    for (k, x) in map {
                        let p = format!("{at}/{}", esc(k));
                        out.push(p.clone());
                        pointers(x, p, depth + 1, out);
                    }
                    out.push(format!("{at}/absent"));
                }
                Value::Array(items) => {
                    for (i, x) in items.iter().enumerate().take(3) {
                        let p = format!("{at}/{i}");
                        out.push(p.clone());
                        pointers(x, p, depth + 1, out);
                    }
                    out.push(format!("{at}/01"));
                    out.push(format!("{at}/x"));
                }
                _ => out.push(format!("{at}/deeper")),
            }
        }
        let mut texts = crate::corpus::Corpus::messages(11, 1500);
        texts.extend(
            [
                r#"{"user":{"username":"a","username":"b","extra":{"arn":["x"],"arn":["y"]}}}"#,
                r#"{"user" : { "user\u006eame" : "c\"d\u0026e" , "groups" : [ "g1" , "g2" ] } }"#,
                r#"{"objectRef":{"resource":"pods","name":"n","x":1e999},"a/b":{"c~d":[true,null,2.50]}}"#,
                r#"{"requestObject":{"spec":{"containers":[{"image":"i","securityContext":{"privileged":true}}]}}}"#,
                r#"{"sourceIPs":["10.0.0.1","3.3.3.3"],"responseStatus":{"code":403}}"#,
                r#"{"user":{"groups":["system:authenticated","system:unauthenti\u0063ated",7]},"responseStatus":{"code":-1}}"#,
                r#"{"responseStatus":{"code":4.5e2}}"#,
                r#"{"user":{"groups":["a",null,{"x":1},"b\u0063",2.50,true,[]]},"sourceIPs":[]}"#,
                r#"{"sourceIPs":["1.2.3.4",null],"a":["x","\u0031.2"],"b":"s","c":[[]]}"#,
            ]
            .map(String::from),
        );
        let mut checked = 0;
        for text in &texts {
            // The scanner's index is serde_json's.
            let ev0 = AuditEvent::parse(text).unwrap();
            let spans = |ms: Vec<Member>| -> Vec<(String, Range<usize>)> {
                ms.iter()
                    .map(|m| (ev0.key(m).to_string(), m.value.clone()))
                    .collect()
            };
            let scanned =
                scan_container(text, 0..text.len(), EVENT_MEMBERS).map(|o| spans(o.members));
            assert_eq!(
                scanned,
                index_object(text, 0..text.len()).ok().map(spans),
                "{text}"
            );
            let ev = AuditEvent::parse(text).unwrap();
            let whole: Value = match serde_json::from_str(text) {
                Ok(v) => v,
                // A member out of range: compare what a Value can hold, member by member.
                Err(_) => Value::Object(
                    ev.root
                        .members
                        .iter()
                        .filter_map(|m| {
                            Some((
                                ev.key(m).to_string(),
                                serde_json::from_str(&text[m.value.clone()]).ok()?,
                            ))
                        })
                        .collect(),
                ),
            };
            let mut ps = Vec::new();
            pointers(&whole, String::new(), 0, &mut ps);
            // A read must not depend on what was read before: `ev` has every member parsed
            // whole first (walks then go through the trees), `fresh` walks the index.
            for m in &ev.root.members {
                let _ = JsonDoc::member(&ev, ev.key(m));
            }
            let fresh = AuditEvent::parse(text).unwrap();
            for p in ps.iter().rev() {
                let want = whole.pointer(p);
                for e in [&ev, &fresh] {
                    assert_eq!(JsonDoc::pointer(e, p), want, "{p} in {text}");
                    assert_eq!(
                        e.text_at_pointer(p),
                        want.and_then(crate::doc::value_text),
                        "{p} in {text}"
                    );
                    assert_eq!(
                        e.str_at(p),
                        want.and_then(Value::as_str).unwrap_or(""),
                        "{p}"
                    );
                }
                if !p.contains('~') {
                    let keys: Vec<&str> = p[1..].split('/').collect();
                    assert_eq!(
                        JsonDoc::string_in(&fresh, &keys),
                        want.and_then(Value::as_str),
                        "{p}"
                    );
                    assert_eq!(
                        JsonDoc::string_in(&whole, &keys),
                        want.and_then(Value::as_str),
                        "{p}"
                    );
                    let by_keys = keys.iter().try_fold(&whole, |v, k| v.get(*k));
                    assert_eq!(JsonDoc::path(&fresh, &keys), by_keys, "{p}");
                    assert_eq!(
                        fresh.text_at(&keys),
                        by_keys.and_then(crate::doc::value_text),
                        "{p}"
                    );
                    // An array's elements as texts, all or one: from the text (an event
                    // nothing else has read) and from trees.
                    let parsed;
                    let unread = match by_keys {
                        Some(Value::Array(_)) => {
                            parsed = AuditEvent::parse(text).unwrap();
                            &parsed
                        }
                        _ => &fresh,
                    };
                    for index in [None, Some(0), Some(1), Some(5), Some(usize::MAX)] {
                        let want = by_keys.and_then(|v| crate::doc::array_texts(v, index));
                        for e in [unread, &ev, &fresh] {
                            assert_eq!(e.texts_at(&keys, index), want, "{p} {index:?}");
                        }
                        assert_eq!(whole.texts_at(&keys, index), want, "{p} {index:?}");
                    }
                    // Array membership, for every string of the array and one it lacks.
                    let items = want.and_then(Value::as_array).cloned().unwrap_or_default();
                    let needles = items.iter().filter_map(Value::as_str).chain(["g3", "x"]);
                    for needle in needles {
                        let has = items.iter().any(|i| i.as_str() == Some(needle));
                        for e in [&ev, &fresh] {
                            assert_eq!(e.array_has_string(&keys, needle), has, "{p} {needle}");
                        }
                        assert_eq!(whole.array_has_string(&keys, needle), has, "{p} {needle}");
                    }
                }
                checked += 1;
            }
            for (key, v) in whole.as_object().into_iter().flatten() {
                let want = v.as_array().and_then(|a| a.last()).and_then(Value::as_str);
                if v.is_array() {
                    let unread = AuditEvent::parse(text).unwrap();
                    assert_eq!(unread.last_string_of(key), want, "{key} in {text}");
                }
                assert_eq!(ev.last_string_of(key), want, "{key} in {text}");
            }
            let code = whole
                .pointer("/responseStatus/code")
                .and_then(Value::as_i64);
            assert_eq!(fresh.response_code(), code, "{text}");
            assert_eq!(AuditEvent::parse(text).unwrap().response_code(), code);
            // The member out of range reads as absent; its siblings read.
            if text.contains("1e999") {
                assert!(ev.unreadable_in(&["objectRef", "x"]));
                assert_eq!(ev.name(), "n");
            }
        }
        assert!(checked > 100_000, "{checked} pointers");
    }
}
