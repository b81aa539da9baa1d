//! JSON to Splunk fields, as `KV_MODE=json` / `spath` extract them.
//!
//! One pass over the bytes of a JSON object: nested keys are joined with `.`, array members add `{}` to the
//! name and give multivalue fields (`resources{}.ARN`), `true`/`false` become the text `true`/`false`,
//! numbers keep the text they were written with (`1.50` stays `1.50`), and `null`, `{}` and `[]` leave no
//! field. The walker validates as it goes and bounds nesting, so hostile input yields an error, never a
//! stack overflow.

use crate::event::Field;
use crate::value::Value;
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

/// Deepest nesting accepted in an event (Splunk's own JSON extraction stops far earlier).
pub const MAX_DEPTH: usize = 512;

#[derive(Debug, Clone, PartialEq)]
pub struct JsonError {
    pub offset: usize,
    pub message: String,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.message, self.offset)
    }
}

/// Field names seen so far, shared so that each name is allocated once per input, not once per event.
#[derive(Default)]
pub struct Names {
    names: HashMap<String, Field>,
}

impl Names {
    pub fn get(&mut self, name: &str) -> Field {
        if let Some(f) = self.names.get(name) {
            return f.clone();
        }
        let f: Field = Arc::from(name);
        if self.names.len() < 100_000 {
            self.names.insert(name.to_string(), f.clone());
        }
        f
    }
}

/// The fields a query needs: the walker descends only into objects and arrays that lead to one of them and
/// skips the rest without building anything. A trie of name segments (`resources{}.ARN` is `resources`,
/// `{}`, `ARN`); a JSON key holding a dot walks several segments, since `{"a.b":1}` and `{"a":{"b":1}}`
/// both give the field `a.b`.
#[derive(Clone, Debug)]
pub struct Projection {
    nodes: Vec<Node>,
    /// Changes whenever a name is added, so that a [`Flat`] knows when the names it keeps by node
    /// belong to another projection.
    id: u64,
}

static PROJECTION_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_projection_id() -> u64 {
    PROJECTION_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A child of a trie node, for the lookup by scan: the length and first eight bytes of its name
/// (zero-padded) are compared before the rest.
#[derive(Clone, Debug)]
struct Kid {
    len: usize,
    head: u64,
    name: Box<[u8]>,
    at: usize,
}

/// The first eight bytes of `b` as a number, zero-padded.
fn head_of(b: &[u8]) -> u64 {
    match b.get(..8) {
        Some(h) => u64::from_le_bytes(h.try_into().unwrap_or([0; 8])),
        None => {
            let mut h = [0u8; 8];
            h[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(h)
        }
    }
}

/// Above this many children, a node is looked up by hashing instead of by scan.
const KIDS_SCAN_MAX: usize = 4096;

/// Children's names this long or longer share one range of [`Node::by_len`].
const BY_LEN: usize = 64;

#[derive(Clone, Debug)]
struct Node {
    children: HashMap<Box<str>, usize>,
    /// The children again, in a form scanned without hashing (unused above [`KIDS_SCAN_MAX`]).
    kids: Vec<Kid>,
    /// Where the children of each name length start in `kids` (`BY_LEN` and longer: from
    /// `by_len[BY_LEN]`; the last entry is the end).
    by_len: [u16; BY_LEN + 2],
    /// For each length below 64, the first bytes (modulo 64) of the children's names of that length, a
    /// bit each: most keys of an event lead to no wanted field, and these turn them away before any
    /// hashing.
    pairs: [u64; 64],
    /// A child's name is 64 bytes or longer.
    long: bool,
    leaf: bool,
}

impl Default for Node {
    fn default() -> Self {
        Node {
            children: HashMap::default(),
            kids: Vec::new(),
            by_len: [0; BY_LEN + 2],
            pairs: [0; 64],
            long: false,
            leaf: false,
        }
    }
}

impl Node {
    fn add_child(&mut self, name: &str, at: usize) {
        self.children.insert(name.into(), at);
        self.kids.push(Kid {
            len: name.len(),
            head: head_of(name.as_bytes()),
            name: name.as_bytes().into(),
            at,
        });
        // by length, each length's children where `by_len` says (the longest at the end)
        self.kids.sort_by_key(|k| k.len.min(BY_LEN));
        for (len, start) in self.by_len.iter_mut().enumerate() {
            *start = self.kids.partition_point(|k| k.len.min(BY_LEN) < len) as u16;
        }
        match name.len() {
            n if n < 64 => self.pairs[n] |= 1 << (name.as_bytes().first().unwrap_or(&0) & 63),
            _ => self.long = true,
        }
    }

    /// The child named exactly `key`.
    #[inline]
    fn find(&self, key: &[u8]) -> Option<usize> {
        if self.kids.len() > KIDS_SCAN_MAX {
            return std::str::from_utf8(key)
                .ok()
                .and_then(|k| self.children.get(k).copied());
        }
        let head = head_of(key);
        let l = key.len().min(BY_LEN);
        let (from, to) = match self.by_len.get(l..l + 2) {
            Some(&[a, b]) => (a as usize, b as usize),
            _ => (0, self.kids.len()),
        };
        self.kids
            .get(from..to)?
            .iter()
            .find(|k| {
                k.len == key.len()
                    && k.head == head
                    && (key.len() <= 8 || crate::event::same_name_bytes(&k.name, key))
            })
            .map(|k| k.at)
    }

    /// Can `name` be a child's name? (No false "no".)
    fn may_have(&self, name: &str) -> bool {
        match name.len() {
            n if n < 64 => self.pairs[n] >> (name.as_bytes().first().unwrap_or(&0) & 63) & 1 == 1,
            _ => self.long,
        }
    }
}

impl Default for Projection {
    fn default() -> Self {
        Projection {
            nodes: vec![Node::default()],
            id: next_projection_id(),
        }
    }
}

fn segments(name: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = name.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'.' {
            out.push(&name[start..i]);
            start = i + 1;
        } else if b[i] == b'{' && b.get(i + 1) == Some(&b'}') {
            if i > start {
                out.push(&name[start..i]);
            }
            out.push("{}");
            i += 2;
            start = i;
            // `{}.x`: the dot after braces only separates
            if b.get(i) == Some(&b'.') {
                i += 1;
                start = i;
            }
            continue;
        }
        i += 1;
    }
    if start < b.len() || out.is_empty() {
        out.push(&name[start..]);
    }
    out
}

impl Projection {
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Projection {
        let mut p = Projection::default();
        for n in names {
            p.add(n);
        }
        p
    }

    pub fn add(&mut self, name: &str) {
        let mut at = 0;
        for seg in segments(name) {
            at = match self.nodes[at].children.get(seg) {
                Some(&n) => n,
                None => {
                    self.nodes.push(Node::default());
                    let n = self.nodes.len() - 1;
                    self.nodes[at].add_child(seg, n);
                    n
                }
            };
        }
        self.nodes[at].leaf = true;
        self.id = next_projection_id();
    }

    /// The node reached from `at` by a JSON key, and whether the key was one name segment (a key
    /// without `.` or `{}`), so that the path to the node is the node's own name.
    #[inline]
    fn child(&self, at: usize, key: &str) -> Option<(usize, bool)> {
        let node = self.nodes.get(at)?;
        // a segment never holds `.` or `{}`: a key that is one is a plain key
        if node.may_have(key) {
            if let Some(n) = node.find(key.as_bytes()) {
                return Some((n, true));
            }
        }
        memchr::memchr2(b'.', b'{', key.as_bytes())?;
        let mut n = at;
        for seg in segments(key) {
            n = *self.nodes.get(n)?.children.get(seg)?;
        }
        Some((n, false))
    }

    /// Is `name` one of the fields (a field of another reader's making, e.g. the XML extraction's)?
    pub fn contains(&self, name: &str) -> bool {
        if !name.bytes().any(|b| b == b'.' || b == b'{') {
            return self.child(0, name).is_some_and(|(n, _)| self.is_leaf(n));
        }
        let mut n = 0;
        for seg in segments(name) {
            match self.nodes.get(n).and_then(|node| node.children.get(seg)) {
                Some(&c) => n = c,
                None => return false,
            }
        }
        self.is_leaf(n)
    }

    fn is_leaf(&self, at: usize) -> bool {
        self.nodes.get(at).is_some_and(|n| n.leaf)
    }
}

/// Flattened fields of one object, in first-seen order, each with its values. Reused from event to
/// event: field names are interned once, and a field with one value (the usual case) allocates no list.
#[derive(Default)]
pub struct Flat {
    fields: Vec<(Field, Slot)>,
    /// Positions by name, kept only once an object has many fields (a scan is faster for few).
    index: HashMap<Field, usize>,
    names: Names,
    /// With a projection: each trie node's field (its position in `fields` plus one, 0 for none)
    /// and name, so that a field reached by plain keys is found and named without comparing text.
    by_node: ByNode,
}

#[derive(Default)]
struct ByNode {
    /// The [`Projection::id`] the rest belongs to.
    projection: u64,
    position: Vec<u32>,
    names: Vec<Option<Field>>,
    touched: Vec<u32>,
    /// A field of this object was reached through a key holding `.` or `{}`: the rest of the object
    /// is added by name.
    by_name: bool,
}

impl ByNode {
    /// Forget the fields of the last object (not the names).
    fn forget(&mut self) {
        for &n in &self.touched {
            if let Some(p) = self.position.get_mut(n as usize) {
                *p = 0;
            }
        }
        self.touched.clear();
        self.by_name = false;
    }
}

enum Slot {
    One(Value),
    Many(Vec<Value>),
}

/// Above this many fields, `Flat` keeps an index instead of scanning.
const SCAN_MAX: usize = 12;

impl Flat {
    pub fn clear(&mut self) {
        self.fields.clear();
        self.index.clear();
        self.by_node.forget();
    }

    /// Be ready to add fields by the nodes of `p`.
    fn use_projection(&mut self, p: &Projection) {
        let b = &mut self.by_node;
        if b.projection != p.id {
            b.projection = p.id;
            b.position.clear();
            b.names.clear();
            b.touched.clear();
        }
        if b.position.len() < p.nodes.len() {
            b.position.resize(p.nodes.len(), 0);
            b.names.resize(p.nodes.len(), None);
        }
    }

    /// Add a value of the field at trie node `node`, reached by `path`; `plain` when every key on
    /// the way was one name segment (then `path` is the node's own name).
    fn add_at(&mut self, node: usize, plain: bool, path: &str, v: Value) {
        if !plain {
            self.by_node.by_name = true;
        }
        if self.by_node.by_name || node >= self.by_node.position.len() {
            return self.add(path, v);
        }
        let at = self.by_node.position[node];
        if at != 0 {
            let slot = &mut self.fields[at as usize - 1].1;
            match slot {
                Slot::Many(vs) => vs.push(v),
                Slot::One(_) => {
                    if let Slot::One(first) = std::mem::replace(slot, Slot::Many(Vec::new())) {
                        *slot = Slot::Many(vec![first, v]);
                    }
                }
            }
            return;
        }
        let f = match &self.by_node.names[node] {
            Some(f) => f.clone(),
            None => {
                let f = self.names.get(path);
                self.by_node.names[node] = Some(f.clone());
                f
            }
        };
        self.push_new(f, Slot::One(v));
        self.by_node.position[node] = self.fields.len() as u32;
        self.by_node.touched.push(node as u32);
    }

    /// Append a field known not to be there yet.
    fn push_new(&mut self, f: Field, slot: Slot) {
        self.fields.push((f.clone(), slot));
        if self.fields.len() == SCAN_MAX + 1 {
            for (i, (k, _)) in self.fields.iter().enumerate() {
                self.index.insert(k.clone(), i);
            }
        } else if self.fields.len() > SCAN_MAX + 1 {
            self.index.insert(f, self.fields.len() - 1);
        }
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    fn position(&self, name: &str) -> Option<usize> {
        if self.fields.len() <= SCAN_MAX {
            self.fields
                .iter()
                .position(|(k, _)| crate::event::same_name(k, name))
        } else {
            self.index.get(name).copied()
        }
    }

    fn add(&mut self, name: &str, v: Value) {
        match self.position(name) {
            Some(i) => {
                let slot = &mut self.fields[i].1;
                match slot {
                    Slot::Many(vs) => vs.push(v),
                    Slot::One(_) => {
                        if let Slot::One(first) = std::mem::replace(slot, Slot::Many(Vec::new())) {
                            *slot = Slot::Many(vec![first, v]);
                        }
                    }
                }
            }
            None => {
                let f = self.names.get(name);
                self.push_new(f, Slot::One(v));
            }
        }
    }

    /// The first value of a field, if present.
    pub fn first(&self, name: &str) -> Option<&Value> {
        self.position(name).and_then(|i| match &self.fields[i].1 {
            Slot::One(v) => Some(v),
            Slot::Many(vs) => vs.first(),
        })
    }

    pub fn has(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// The fields in first-seen order, each with all its values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Value])> + '_ {
        self.fields.iter().map(|(k, slot)| {
            let vs = match slot {
                Slot::One(v) => std::slice::from_ref(v),
                Slot::Many(vs) => vs.as_slice(),
            };
            (k.as_ref(), vs)
        })
    }

    /// Take the fields out, in order, several values of one name as a multivalue.
    pub fn drain(&mut self) -> impl Iterator<Item = (Field, Value)> + '_ {
        self.index.clear();
        self.by_node.forget();
        self.fields.drain(..).filter_map(|(k, slot)| match slot {
            Slot::One(v) => Some((k, v)),
            Slot::Many(vs) => Value::multi(vs).map(|v| (k, v)),
        })
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `w` that is zero (exact for the lowest such byte, which is all we use).
fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(LO) & !w & HI
}

fn word(b: &[u8], i: usize) -> Option<u64> {
    b.get(i..i + 8)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_le_bytes)
}

/// Index of the next `"`, `{`, `}`, `[` or `]` at or after `i` (or `b.len()`), eight bytes at a time.
fn next_structural(b: &[u8], mut i: usize) -> usize {
    while let Some(w) = word(b, i) {
        // `| 0x20` folds `[` onto `{` and `]` onto `}`; `"` stays (only the control byte 0x02 joins it)
        let v = w | (0x20 * LO);
        let m = zero_bytes(v ^ (b'{' as u64 * LO))
            | zero_bytes(v ^ (b'}' as u64 * LO))
            | zero_bytes(v ^ (b'"' as u64 * LO));
        if m != 0 {
            let k = i + (m.trailing_zeros() / 8) as usize;
            // check the byte itself: the folding also lets 0x02 through
            if matches!(b[k], b'"' | b'{' | b'}' | b'[' | b']') {
                return k;
            }
            i = k + 1;
            continue;
        }
        i += 8;
    }
    while i < b.len() && !matches!(b[i], b'"' | b'{' | b'}' | b'[' | b']') {
        i += 1;
    }
    i
}

/// Index of the next `"` or `\\` at or after `i` (or `b.len()`).
#[inline]
fn next_quote_or_escape(b: &[u8], mut i: usize) -> usize {
    while let Some(w) = word(b, i) {
        let m = zero_bytes(w ^ (b'"' as u64 * LO)) | zero_bytes(w ^ (b'\\' as u64 * LO));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && !matches!(b[i], b'"' | b'\\') {
        i += 1;
    }
    i
}

/// How far after `i` the next `"` or `\\` is, if there is one.
#[inline]
fn quote_or_escape(b: &[u8], i: usize) -> Option<usize> {
    let k = next_quote_or_escape(b, i);
    (k < b.len()).then(|| k - i)
}

/// Walks JSON text that is already known to be valid UTF-8 (so strings need no checking of their own).
struct Walker<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    only: Option<&'a Projection>,
}

/// Flatten the JSON object `text` into `out` (which is cleared first).
pub fn flatten(text: &str, out: &mut Flat) -> Result<(), JsonError> {
    flatten_only(text, None, out)
}

/// Flatten only the fields of `only` (all fields when `None`). The whole text is still validated.
pub fn flatten_only(
    text: &str,
    only: Option<&Projection>,
    out: &mut Flat,
) -> Result<(), JsonError> {
    out.clear();
    if let Some(p) = only {
        out.use_projection(p);
    }
    let mut w = Walker {
        s: text,
        b: text.as_bytes(),
        i: 0,
        only,
    };
    w.ws();
    if w.peek() != Some(b'{') {
        return Err(w.err("expected a JSON object"));
    }
    let mut path = String::new();
    w.value(&mut path, 0, true, 0, out)?;
    w.ws();
    if w.i != w.b.len() {
        return Err(w.err("unexpected text after the JSON object"));
    }
    Ok(())
}

/// Check that `text` is one well-formed JSON value and return its kind ('{', '[', or other first byte).
pub fn validate(text: &str) -> Result<u8, JsonError> {
    let mut w = Walker {
        s: text,
        b: text.as_bytes(),
        i: 0,
        only: None,
    };
    w.ws();
    let first = w.peek().ok_or_else(|| w.err("empty input"))?;
    w.skip_value(0)?;
    w.ws();
    if w.i != w.b.len() {
        return Err(w.err("unexpected text after the JSON value"));
    }
    Ok(first)
}

/// Split a JSON array's text into the byte ranges of its members (each validated).
pub fn array_members(text: &str) -> Result<Vec<(usize, usize)>, JsonError> {
    let mut w = Walker {
        s: text,
        b: text.as_bytes(),
        i: 0,
        only: None,
    };
    w.ws();
    w.expect(b'[')?;
    let mut out = Vec::new();
    w.ws();
    if w.peek() == Some(b']') {
        return Ok(out);
    }
    loop {
        w.ws();
        let start = w.i;
        w.skip_value(1)?;
        out.push((start, w.i));
        w.ws();
        match w.next() {
            Some(b',') => continue,
            Some(b']') => break,
            _ => return Err(w.err("expected `,` or `]` in array")),
        }
    }
    Ok(out)
}

/// If `text` is an object with a `Records` array (CloudTrail's S3 delivery shape), the byte ranges of the
/// records; `Ok(None)` for any other object.
pub fn records_members(text: &str) -> Result<Option<Vec<(usize, usize)>>, JsonError> {
    let mut w = Walker {
        s: text,
        b: text.as_bytes(),
        i: 0,
        only: None,
    };
    w.ws();
    w.expect(b'{')?;
    let mut found = None;
    w.ws();
    if w.peek() == Some(b'}') {
        return Ok(None);
    }
    loop {
        w.ws();
        let key = w.string()?;
        w.ws();
        w.expect(b':')?;
        w.ws();
        if key == "Records" && w.peek() == Some(b'[') && found.is_none() {
            let start = w.i;
            w.skip_value(1)?;
            let members = array_members(text.get(start..w.i).unwrap_or(""))?;
            found = Some(
                members
                    .into_iter()
                    .map(|(a, b)| (a + start, b + start))
                    .collect(),
            );
        } else {
            w.skip_value(1)?;
        }
        w.ws();
        match w.next() {
            Some(b',') => continue,
            Some(b'}') => break,
            _ => return Err(w.err("expected `,` or `}` in object")),
        }
    }
    Ok(found)
}

impl<'a> Walker<'a> {
    fn err(&self, msg: &str) -> JsonError {
        let message = if self.i >= self.b.len() {
            format!("{msg} (input ends early)")
        } else {
            msg.to_string()
        };
        JsonError {
            offset: self.i,
            message,
        }
    }
    /// Is a scalar at this trie node a wanted field (always, without a projection)?
    fn wanted(&self, node: usize) -> bool {
        self.only.is_none_or(|p| p.is_leaf(node))
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        if c.is_some() {
            self.i += 1;
        }
        c
    }
    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if c == b' ' || c == b'\n' || c == b'\r' || c == b'\t' {
                self.i += 1;
            } else {
                break;
            }
        }
    }
    fn expect(&mut self, c: u8) -> Result<(), JsonError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected `{}`", c as char)))
        }
    }

    /// Flatten the value here, found at `path` (trie node `node`; `plain` as in [`Flat::add_at`]).
    fn value(
        &mut self,
        path: &mut String,
        node: usize,
        plain: bool,
        depth: usize,
        out: &mut Flat,
    ) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("JSON nested too deeply"));
        }
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(());
                }
                let base = path.len();
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.ws();
                    self.expect(b':')?;
                    self.ws();
                    if base > 0 {
                        path.push('.');
                    }
                    path.push_str(&key);
                    match self.only.map(|p| p.child(node, &key)) {
                        Some(None) => self.skip_unread()?,
                        Some(Some((child, one))) => {
                            self.value(path, child, plain && one, depth + 1, out)?
                        }
                        None => self.value(path, 0, false, depth + 1, out)?,
                    }
                    path.truncate(base);
                    self.ws();
                    match self.next() {
                        Some(b',') => continue,
                        Some(b'}') => break,
                        _ => return Err(self.err("expected `,` or `}` in object")),
                    }
                }
                Ok(())
            }
            Some(b'[') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                let elem = match self.only.map(|p| p.child(node, "{}")) {
                    Some(None) => {
                        // no wanted field inside this array
                        self.i -= 1;
                        return self.skip_unread();
                    }
                    Some(Some((n, _))) => n,
                    None => 0,
                };
                let base = path.len();
                path.push_str("{}");
                loop {
                    self.ws();
                    self.value(path, elem, plain, depth + 1, out)?;
                    self.ws();
                    match self.next() {
                        Some(b',') => continue,
                        Some(b']') => break,
                        _ => return Err(self.err("expected `,` or `]` in array")),
                    }
                }
                path.truncate(base);
                Ok(())
            }
            Some(b'"') => {
                let s = self.string()?;
                if self.wanted(node) {
                    self.add(out, node, plain, path, Value::str(s));
                }
                Ok(())
            }
            Some(b't') => {
                self.literal(b"true")?;
                if self.wanted(node) {
                    self.add(out, node, plain, path, Value::str("true"));
                }
                Ok(())
            }
            Some(b'f') => {
                self.literal(b"false")?;
                if self.wanted(node) {
                    self.add(out, node, plain, path, Value::str("false"));
                }
                Ok(())
            }
            Some(b'n') => self.literal(b"null"),
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let start = self.i;
                self.number()?;
                if self.wanted(node) {
                    let text = self.s.get(start..self.i).unwrap_or("0");
                    self.add(out, node, plain, path, Value::str(text));
                }
                Ok(())
            }
            _ => Err(self.err("expected a JSON value")),
        }
    }

    /// A field's value: by trie node under a projection, else by name.
    #[inline]
    fn add(&self, out: &mut Flat, node: usize, plain: bool, path: &str, v: Value) {
        if self.only.is_some() {
            out.add_at(node, plain, path, v);
        } else {
            out.add(path, v);
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.err("expected a JSON value"))
        }
    }

    fn number(&mut self) -> Result<(), JsonError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let d = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i == d {
            return Err(self.err("malformed number"));
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            let f = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            if self.i == f {
                return Err(self.err("malformed number"));
            }
        }
        if matches!(self.peek(), Some(b'e') | Some(b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+') | Some(b'-')) {
                self.i += 1;
            }
            let e = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            if self.i == e {
                return Err(self.err("malformed number"));
            }
        }
        debug_assert!(self.i > start);
        Ok(())
    }

    /// A JSON string, unescaped. Invalid UTF-8 is an error.
    fn string(&mut self) -> Result<std::borrow::Cow<'a, str>, JsonError> {
        self.expect(b'"')?;
        let start = self.i;
        // fast path: no escapes
        let s: &'a str = self.s;
        // keys and values are short: eight bytes at a time beats a vector search's set-up
        match quote_or_escape(self.b, self.i) {
            Some(k) if self.b[self.i + k] == b'"' => {
                self.i += k;
                let text = s
                    .get(start..self.i)
                    .ok_or_else(|| self.err("invalid UTF-8 in string"))?;
                self.i += 1;
                return Ok(std::borrow::Cow::Borrowed(text));
            }
            Some(k) => self.i += k,
            None => {
                self.i = self.b.len();
                return Err(self.err("unterminated string"));
            }
        }
        let mut buf: Vec<u8> = self.b[start..self.i].to_vec();
        loop {
            match self.next() {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => break,
                Some(b'\\') => match self.next() {
                    Some(b'"') => buf.push(b'"'),
                    Some(b'\\') => buf.push(b'\\'),
                    Some(b'/') => buf.push(b'/'),
                    Some(b'b') => buf.push(8),
                    Some(b'f') => buf.push(12),
                    Some(b'n') => buf.push(b'\n'),
                    Some(b'r') => buf.push(b'\r'),
                    Some(b't') => buf.push(b'\t'),
                    Some(b'u') => {
                        let mut cp = self.hex4()?;
                        if (0xD800..0xDC00).contains(&cp) {
                            if self.b[self.i..].starts_with(b"\\u") {
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                } else {
                                    cp = 0xFFFD;
                                }
                            } else {
                                cp = 0xFFFD;
                            }
                        }
                        let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                        let mut tmp = [0u8; 4];
                        buf.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                    }
                    _ => return Err(self.err("bad escape in string")),
                },
                Some(c) => buf.push(c),
            }
        }
        String::from_utf8(buf)
            .map(std::borrow::Cow::Owned)
            .map_err(|_| self.err("invalid UTF-8 in string"))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let c = self.next().ok_or_else(|| self.err("short \\u escape"))?;
            let d = (c as char)
                .to_digit(16)
                .ok_or_else(|| self.err("bad \\u escape"))?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    fn skip_value(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("JSON nested too deeply"));
        }
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    self.skip_string()?;
                    self.ws();
                    self.expect(b':')?;
                    self.ws();
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.next() {
                        Some(b',') => continue,
                        Some(b'}') => return Ok(()),
                        _ => return Err(self.err("expected `,` or `}` in object")),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.next() {
                        Some(b',') => continue,
                        Some(b']') => return Ok(()),
                        _ => return Err(self.err("expected `,` or `]` in array")),
                    }
                }
            }
            Some(b'"') => self.skip_string(),
            Some(b't') | Some(b'f') | Some(b'n') => {
                let word: &[u8] = match self.peek() {
                    Some(b't') => b"true",
                    Some(b'f') => b"false",
                    _ => b"null",
                };
                self.literal(word)
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => self.number(),
            _ => Err(self.err("expected a JSON value")),
        }
    }

    /// Skip a value no field of the query lies in. Only its structure is checked (brackets balance,
    /// strings end): this is the reader's hot path, and the parts a query reads are checked in full.
    fn skip_unread(&mut self) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'{') | Some(b'[') => {}
            Some(b'"') => return self.skip_string(),
            _ => return self.skip_value(0),
        }
        #[cfg(target_arch = "x86_64")]
        {
            self.skip_container_in_blocks()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self.skip_container()
        }
    }

    /// [`Walker::skip_unread`] of an object or array, 64 bytes at a time: the bytes that matter
    /// (quotes, backslashes, brackets) are found with vector compares, the escaped quotes and the
    /// bytes inside strings with bit arithmetic (as simdjson's stage 1 does), and only the brackets
    /// outside strings are looked at one by one. Same answers and errors as [`Walker::skip_container`]
    /// wherever backslashes are inside strings, as in all JSON (one outside a string, which JSON never
    /// has, escapes the byte after it here and not there).
    #[cfg(target_arch = "x86_64")]
    fn skip_container_in_blocks(&mut self) -> Result<(), JsonError> {
        let b = self.b;
        let start = self.i;
        // the kinds of the open brackets, a bit per level (1: `{`)
        let mut kinds = [0u64; MAX_DEPTH / 64];
        let mut depth = 0usize;
        let mut prev_escaped = 0u64;
        let mut prev_in_string = 0u64;
        let mut at = start;
        while at < b.len() {
            let m = match b
                .get(at..at + 64)
                .and_then(|x| <&[u8; 64]>::try_from(x).ok())
            {
                Some(block) => block_masks(block),
                None => {
                    // the last bytes, padded with zeros (which matter to nothing here)
                    let mut block = [0u8; 64];
                    block[..b.len() - at].copy_from_slice(&b[at..]);
                    block_masks(&block)
                }
            };
            let escaped = escaped_bytes(m.backslash, &mut prev_escaped);
            let quotes = m.quote & !escaped;
            let in_string = prefix_xor(quotes) ^ prev_in_string;
            prev_in_string = ((in_string as i64) >> 63) as u64;
            let opens = m.open & !in_string;
            let closes = m.close & !in_string;
            let mut brackets = opens | closes;
            while brackets != 0 {
                let bit = brackets.trailing_zeros();
                brackets &= brackets - 1;
                let one = 1u64 << bit;
                let pos = at + bit as usize;
                if opens & one != 0 {
                    if depth >= MAX_DEPTH {
                        self.i = pos;
                        return Err(self.err("JSON nested too deeply"));
                    }
                    let (word, k) = (depth / 64, depth % 64);
                    if m.brace & one != 0 {
                        kinds[word] |= 1 << k;
                    } else {
                        kinds[word] &= !(1 << k);
                    }
                    depth += 1;
                } else {
                    depth -= 1;
                    let was_brace = kinds[depth / 64] >> (depth % 64) & 1 == 1;
                    if was_brace != (m.brace & one != 0) {
                        self.i = pos;
                        return Err(self.err("mismatched bracket"));
                    }
                    if depth == 0 {
                        self.i = pos + 1;
                        return Ok(());
                    }
                }
            }
            at += 64;
        }
        self.i = b.len();
        if prev_in_string != 0 {
            Err(self.err("unterminated string"))
        } else {
            Err(self.err("unterminated object or array"))
        }
    }

    /// [`Walker::skip_unread`] of an object or array, a byte (or a word) at a time.
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    fn skip_container(&mut self) -> Result<(), JsonError> {
        let mut stack: Vec<u8> = Vec::new();
        let b = self.b;
        let mut i = self.i;
        while i < b.len() {
            i = next_structural(b, i);
            let Some(&c) = b.get(i) else { break };
            match c {
                b'"' => {
                    i += 1;
                    loop {
                        i = next_quote_or_escape(b, i);
                        match b.get(i) {
                            None => {
                                self.i = b.len();
                                return Err(self.err("unterminated string"));
                            }
                            Some(b'"') => break,
                            Some(_) => i += 2,
                        }
                    }
                }
                b'{' | b'[' => {
                    if stack.len() >= MAX_DEPTH {
                        self.i = i;
                        return Err(self.err("JSON nested too deeply"));
                    }
                    stack.push(if c == b'{' { b'}' } else { b']' });
                }
                b'}' | b']' => {
                    if stack.pop() != Some(c) {
                        self.i = i;
                        return Err(self.err("mismatched bracket"));
                    }
                    if stack.is_empty() {
                        self.i = i + 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            i += 1;
        }
        self.i = b.len();
        Err(self.err("unterminated object or array"))
    }

    fn skip_string(&mut self) -> Result<(), JsonError> {
        self.expect(b'"')?;
        loop {
            match quote_or_escape(self.b, self.i) {
                None => {
                    self.i = self.b.len();
                    return Err(self.err("unterminated string"));
                }
                Some(k) => {
                    self.i += k;
                    if self.b[self.i] == b'\\' {
                        self.i += 2;
                        if self.i > self.b.len() {
                            self.i = self.b.len();
                            return Err(self.err("unterminated string"));
                        }
                    } else {
                        self.i += 1;
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// Where the bytes that matter to [`Walker::skip_container_in_blocks`] are in a block of 64: a bit
/// per byte.
#[cfg(target_arch = "x86_64")]
struct BlockMasks {
    quote: u64,
    backslash: u64,
    /// `{` and `[`.
    open: u64,
    /// `}` and `]`.
    close: u64,
    /// `{` and `}`.
    brace: u64,
}

#[cfg(target_arch = "x86_64")]
fn block_masks(block: &[u8; 64]) -> BlockMasks {
    use std::arch::x86_64::*;
    let mut m = BlockMasks {
        quote: 0,
        backslash: 0,
        open: 0,
        close: 0,
        brace: 0,
    };
    // SAFETY: SSE2 is part of every x86_64 processor; each load reads 16 of the block's 64 bytes.
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let fold = _mm_set1_epi8(0x20);
        // `| 0x20` turns `[` into `{` and `]` into `}`, and nothing else into either
        let open = _mm_set1_epi8(b'{' as i8);
        let close = _mm_set1_epi8(b'}' as i8);
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
            let f = _mm_or_si128(v, fold);
            let bits = |x: __m128i| (_mm_movemask_epi8(x) as u32 as u64) << (16 * k);
            m.quote |= bits(_mm_cmpeq_epi8(v, quote));
            m.backslash |= bits(_mm_cmpeq_epi8(v, backslash));
            m.open |= bits(_mm_cmpeq_epi8(f, open));
            m.close |= bits(_mm_cmpeq_epi8(f, close));
            m.brace |= bits(_mm_or_si128(
                _mm_cmpeq_epi8(v, open),
                _mm_cmpeq_epi8(v, close),
            ));
        }
    }
    m
}

/// The bytes escaped by a backslash in a block (an odd run of backslashes escapes the byte after it),
/// carrying an escape over from the block before in `prev_escaped` (simdjson's branchless method).
#[cfg(target_arch = "x86_64")]
fn escaped_bytes(backslash: u64, prev_escaped: &mut u64) -> u64 {
    const EVEN: u64 = 0x5555_5555_5555_5555;
    let backslash = backslash & !*prev_escaped;
    let follows_escape = (backslash << 1) | *prev_escaped;
    let odd_starts = backslash & !EVEN & !follows_escape;
    let (even_starts, overflow) = odd_starts.overflowing_add(backslash);
    *prev_escaped = overflow as u64;
    (EVEN ^ (even_starts << 1)) & follows_escape
}

/// Each bit the XOR of itself and all the bits below it: set from an opening quote up to (not
/// including) its closing one.
#[cfg(target_arch = "x86_64")]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block skipper gives the byte-at-a-time skipper's answer (where it stops, or which error
    /// where) on random bracket, quote and backslash soup and on real objects cut anywhere.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn skipping_in_blocks_agrees_with_skipping_byte_by_byte() {
        fn both(text: &str) {
            let run = |blocks: bool| {
                let mut w = Walker {
                    s: text,
                    b: text.as_bytes(),
                    i: 0,
                    only: None,
                };
                let r = if blocks {
                    w.skip_container_in_blocks()
                } else {
                    w.skip_container()
                };
                (r, w.i)
            };
            assert_eq!(run(true), run(false), "{text:?}");
        }
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // backslashes only inside strings, as JSON has them; every text cut anywhere
        let outside = [b'{', b'}', b'[', b']', b'a', b' ', b',', b':'];
        let inside = [b'a', b'{', b'}', b'[', b']', b' '];
        for _ in 0..20_000 {
            let tokens = (next() % 60) as usize;
            let mut t = vec![if next() % 2 == 0 { b'{' } else { b'[' }];
            for _ in 0..tokens {
                if next() % 3 == 0 {
                    t.push(b'"');
                    for _ in 0..next() % 12 {
                        match next() % 4 {
                            0 => {
                                t.extend_from_slice(if next() % 2 == 0 { b"\\\\" } else { b"\\\"" })
                            }
                            _ => t.push(inside[(next() % inside.len() as u64) as usize]),
                        }
                    }
                    t.push(b'"');
                } else {
                    t.push(outside[(next() % outside.len() as u64) as usize]);
                }
            }
            let cut = 1 + (next() as usize) % t.len();
            let t = if next() % 4 == 0 { &t[..cut] } else { &t[..] };
            both(std::str::from_utf8(t).unwrap());
        }
        let real = r#"{"a":{"b":"x\\\"y}","c":[1,2,{"d":"]\\\\"}],"e":"\\\\\\\\\"{"},"f":[[[]]],"g":"long string that crosses a block edge {[\\"]}"} tail"#;
        for cut in 1..real.len() {
            if real.is_char_boundary(cut) {
                both(&real[..cut]);
            }
        }
        let deep = "[".repeat(MAX_DEPTH + 3);
        both(&deep);
        both(&format!(
            "{}{}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        ));
    }

    #[test]
    fn word_scans_find_the_first_structural_byte() {
        let t = br#"abcdefghij"klm{x}"#;
        assert_eq!(next_structural(t, 0), 10);
        assert_eq!(next_structural(t, 11), 14);
        assert_eq!(next_structural(b"\x02\x02aaaaaaaaaa]", 0), 12);
        assert_eq!(next_structural(b"abc", 0), 3);
        assert_eq!(next_quote_or_escape(br#"0123456789\"x"#, 0), 10);
        let mut f = Flat::default();
        let p = Projection::new(["z"]);
        flatten_only(
            r#"{"a":{"b":["x\"]}", {"c":"}"}]},"z":1}"#,
            Some(&p),
            &mut f,
        )
        .unwrap();
        assert_eq!(f.first("z"), Some(&Value::str("1")));
        assert!(flatten_only(r#"{"a":{"b":["x"]],"z":1}"#, Some(&p), &mut f).is_err());
    }

    /// A field reached both through a dotted key and through nested objects is one field, its values
    /// in the order met, whichever way comes first; the same `Flat` then serves the next object and
    /// another projection.
    #[test]
    fn a_field_reached_by_dotted_and_nested_keys_is_one_field() {
        let p = Projection::new(["a.b", "c"]);
        let mut f = Flat::default();
        let values = |f: &Flat| -> Vec<(String, Vec<String>)> {
            f.iter()
                .map(|(k, vs)| {
                    (
                        k.to_string(),
                        vs.iter().map(|v| v.text().into_owned()).collect(),
                    )
                })
                .collect()
        };
        let pair =
            |k: &str, vs: &[&str]| (k.to_string(), vs.iter().map(|v| v.to_string()).collect());
        flatten_only(r#"{"a":{"b":2},"a.b":1,"c":3}"#, Some(&p), &mut f).unwrap();
        assert_eq!(
            values(&f),
            vec![pair("a.b", &["2", "1"]), pair("c", &["3"])]
        );
        flatten_only(r#"{"a.b":1,"c":3,"a":{"b":2}}"#, Some(&p), &mut f).unwrap();
        assert_eq!(
            values(&f),
            vec![pair("a.b", &["1", "2"]), pair("c", &["3"])]
        );
        // array members are `c{}` and `a.b{}`, not fields of the projection
        flatten_only(r#"{"c":[4,5],"a":{"b":[6]}}"#, Some(&p), &mut f).unwrap();
        assert_eq!(values(&f), vec![]);
        let q = Projection::new(["c", "a{}.b"]);
        flatten_only(r#"{"a":[{"b":7},{"b":8}],"c":9}"#, Some(&q), &mut f).unwrap();
        assert_eq!(
            values(&f),
            vec![pair("a{}.b", &["7", "8"]), pair("c", &["9"])]
        );
        flatten_only(r#"{"c":10,"a":{"b":11}}"#, Some(&p), &mut f).unwrap();
        assert_eq!(values(&f), vec![pair("c", &["10"]), pair("a.b", &["11"])]);
    }

    #[test]
    fn projection_extracts_only_the_named_fields() {
        let p = Projection::new(["a.b", "r{}.ARN", "x.y", "l{}"]);
        let mut f = Flat::default();
        flatten_only(
            r#"{"a":{"b":1,"c":2},"r":[{"ARN":"1","t":"z"},{"ARN":"2"}],"x.y":"dotted","l":["p"],"q":[1,2]}"#,
            Some(&p),
            &mut f,
        )
        .unwrap();
        let names: Vec<String> = f.drain().map(|(k, _)| k.to_string()).collect();
        assert_eq!(names, ["a.b", "r{}.ARN", "x.y", "l{}"]);
        assert_eq!(segments("r{}.ARN"), ["r", "{}", "ARN"]);
        assert_eq!(segments("a{}{}"), ["a", "{}", "{}"]);
    }

    fn flat(s: &str) -> Vec<(String, Vec<String>)> {
        let mut f = Flat::default();
        flatten(s, &mut f).unwrap();
        f.drain()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    v.values().iter().map(|v| v.to_string()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn nested_keys_join_with_dots_and_arrays_with_braces() {
        let f = flat(
            r#"{"a":{"b":{"c":"x"}},"r":[{"ARN":"1"},{"ARN":"2"}],"t":true,"n":1.50,"z":null,"e":{},"l":["p","q"]}"#,
        );
        assert_eq!(
            f,
            vec![
                ("a.b.c".into(), vec!["x".into()]),
                ("r{}.ARN".into(), vec!["1".into(), "2".into()]),
                ("t".into(), vec!["true".into()]),
                ("n".into(), vec!["1.50".into()]),
                ("l{}".into(), vec!["p".into(), "q".into()]),
            ]
        );
    }

    #[test]
    fn escapes_are_decoded() {
        let f = flat(r#"{"s":"a\"b\\c\u00e9\ud83d\ude00"}"#);
        assert_eq!(f[0].1[0], "a\"b\\cé😀");
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let mut f = Flat::default();
        for bad in [
            "{",
            "{\"a\":",
            "{\"a\":tru}",
            "[1]",
            "{\"a\":1,}",
            "{\"a\":\"\\u12\"}",
            "",
            "{\"a\":1} x",
            "{\"a\":-}",
            "{\"a\":\"x",
        ] {
            assert!(flatten(bad, &mut f).is_err(), "{bad}");
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
        let mut f = Flat::default();
        let e = flatten(&deep, &mut f).unwrap_err();
        assert!(e.message.contains("nested too deeply"));
        assert!(validate(&deep).is_err());
    }

    #[test]
    fn records_are_found() {
        let t = r#"{"Records":[{"a":1},{"b":[2]}],"x":1}"#;
        let r = records_members(t).unwrap().unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(&t[r[1].0..r[1].1], r#"{"b":[2]}"#);
        assert_eq!(records_members(r#"{"a":1}"#).unwrap(), None);
    }
}
