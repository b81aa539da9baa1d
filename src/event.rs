//! An event (or a result row): an ordered list of fields and their values.
//!
//! Field names are case-sensitive. Order is the order in which fields were first set, which is the order
//! that `table *`-style wildcards and JSON output follow. Absent fields have no entry (null).

use crate::value::Value;
use std::sync::Arc;

/// A field name. Cheap to clone; the same name is shared across the events of one input.
pub type Field = Arc<str>;

/// `a == b` for the short texts field names are, compared eight bytes at a time in place (no call
/// into the C library's `memcmp`, whose set-up costs more than such a comparison).
#[inline]
pub fn same_name(a: &str, b: &str) -> bool {
    same_name_bytes(a.as_bytes(), b.as_bytes())
}

/// [`same_name`] of bytes.
#[inline]
pub fn same_name_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or([0; 8]));
    let mut i = 0;
    while i + 8 <= a.len() {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    a[i..].iter().zip(&b[i..]).all(|(x, y)| x == y)
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Event {
    fields: Vec<(Field, Value)>,
}

impl Event {
    pub fn new() -> Event {
        Event { fields: Vec::new() }
    }

    pub fn with_capacity(n: usize) -> Event {
        Event {
            fields: Vec::with_capacity(n),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(k, _)| same_name(k, name))
            .map(|(_, v)| v)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Set a field, replacing any value it had (keeping its position).
    pub fn set(&mut self, name: impl Into<Field>, value: Value) {
        let name = name.into();
        if let Some(slot) = self.fields.iter_mut().find(|(k, _)| *k == name) {
            slot.1 = value;
        } else {
            self.fields.push((name, value));
        }
    }

    /// Set a field, or clear it when `value` is `None` (null).
    pub fn set_opt(&mut self, name: impl Into<Field>, value: Option<Value>) {
        match value {
            Some(v) => self.set(name, v),
            None => {
                let name = name.into();
                self.remove(&name);
            }
        }
    }

    /// Append a field known not to exist yet (readers use this: JSON keys are unique per path, and
    /// repeated paths are merged by the reader into multivalues first).
    pub fn push(&mut self, name: Field, value: Value) {
        self.fields.push((name, value));
    }

    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let pos = self.fields.iter().position(|(k, _)| k.as_ref() == name)?;
        Some(self.fields.remove(pos).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Field, &Value)> {
        self.fields.iter().map(|(k, v)| (k, v))
    }

    pub fn names(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().map(|(k, _)| k)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.fields.retain(|(k, _)| keep(k));
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// `_time` as epoch seconds, when the event has one that reads as a number.
    pub fn time(&self) -> Option<f64> {
        self.get("_time").and_then(|v| v.as_num())
    }

    pub fn into_fields(self) -> Vec<(Field, Value)> {
        self.fields
    }

    pub fn from_fields(fields: Vec<(Field, Value)>) -> Event {
        Event { fields }
    }
}
