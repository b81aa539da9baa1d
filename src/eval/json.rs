//! JSON functions of eval: `spath`, `json_extract`, `json_extract_exact`, `json_keys`, `json_valid`,
//! `json_object`, `json_array`, `json_array_to_mv`, `mv_to_json_array`.
//!
//! Paths are dotted keys with array steps: `a.b{}.c` takes every element of array `b`, `a{N}` one element.
//! `spath` counts array elements from 1 (its paths are XPath-like); the `json_*` functions count from 0.
//! A leaf string comes back as its text, a number or boolean as its text, an object or array as compact JSON,
//! a JSON `null` as nothing. Several matches make a multivalue (`spath`) or a JSON array (`json_extract`).

use super::Ev;
use crate::value::{parse_num, Value};
use serde_json::{Map, Number, Value as Json};

enum Step {
    Key(String),
    /// `{}` is `None`: every element
    Index(Option<i64>),
}

fn parse_path(path: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut key = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if !key.is_empty() {
                    steps.push(Step::Key(std::mem::take(&mut key)));
                }
            }
            '{' => {
                if !key.is_empty() {
                    steps.push(Step::Key(std::mem::take(&mut key)));
                }
                let mut inner = String::new();
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                    inner.push(d);
                }
                let inner = inner.trim();
                if inner.is_empty() {
                    steps.push(Step::Index(None));
                } else if let Ok(n) = inner.parse::<i64>() {
                    steps.push(Step::Index(Some(n)));
                } else {
                    // `{key}` is a key written in braces
                    steps.push(Step::Key(inner.to_string()));
                }
            }
            other => key.push(other),
        }
    }
    if !key.is_empty() {
        steps.push(Step::Key(key));
    }
    steps
}

fn walk<'a>(root: &'a Json, steps: &[Step], one_based: bool) -> Vec<&'a Json> {
    let mut nodes = vec![root];
    for step in steps {
        let mut next = Vec::new();
        for node in nodes {
            match (step, node) {
                (Step::Key(k), Json::Object(m)) => next.extend(m.get(k)),
                (Step::Index(None), Json::Array(a)) => next.extend(a.iter()),
                (Step::Index(Some(i)), Json::Array(a)) => {
                    let len = a.len() as i64;
                    let i = if *i < 0 {
                        len + i
                    } else if one_based {
                        i - 1
                    } else {
                        *i
                    };
                    if i >= 0 {
                        next.extend(a.get(i as usize));
                    }
                }
                _ => {}
            }
        }
        nodes = next;
    }
    nodes
}

/// A JSON node as field text; `None` for JSON null.
fn leaf_text(j: &Json) -> Option<String> {
    match j {
        Json::Null => None,
        Json::String(s) => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

pub(crate) fn spath(doc: &str, path: &str) -> Option<Value> {
    let root: Json = serde_json::from_str(doc).ok()?;
    let found = walk(&root, &parse_path(path), true);
    let values: Vec<Value> = found
        .into_iter()
        .filter_map(leaf_text)
        .map(Value::from)
        .collect();
    Value::multi(values)
}

pub(crate) fn extract(doc: &str, paths: &[String], exact: bool) -> Option<Value> {
    let root: Json = serde_json::from_str(doc).ok()?;
    let select = |path: &str| -> Vec<&Json> {
        if exact {
            match &root {
                Json::Object(m) => m.get(path).into_iter().collect(),
                _ => Vec::new(),
            }
        } else {
            walk(&root, &parse_path(path), false)
        }
    };
    match paths {
        [] => leaf_text(&root).map(Value::from),
        [one] => {
            let found = select(one);
            match found.as_slice() {
                [] => None,
                [j] => leaf_text(j).map(Value::from),
                many => Some(Value::from(
                    Json::Array(many.iter().map(|j| (*j).clone()).collect()).to_string(),
                )),
            }
        }
        many => {
            let items: Vec<Json> = many
                .iter()
                .map(|p| {
                    let found = select(p);
                    match found.as_slice() {
                        [] => Json::Null,
                        [j] => (*j).clone(),
                        several => Json::Array(several.iter().map(|j| (*j).clone()).collect()),
                    }
                })
                .collect();
            Some(Value::from(Json::Array(items).to_string()))
        }
    }
}

pub(crate) fn keys(doc: &str) -> Option<String> {
    match serde_json::from_str::<Json>(doc).ok()? {
        Json::Object(m) => {
            Some(Json::Array(m.keys().map(|k| Json::String(k.clone())).collect()).to_string())
        }
        _ => None,
    }
}

pub(crate) fn valid(doc: &str) -> bool {
    serde_json::from_str::<Json>(doc).is_ok()
}

fn number(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Json::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map(Json::Number).unwrap_or(Json::Null)
    }
}

/// A scalar value as JSON: numbers (and text that reads as one) as numbers, text holding a JSON object or
/// array (such as another `json_object`'s result) embedded as JSON, other text as a string.
fn scalar_json(v: &Value) -> Json {
    match v {
        Value::Num(n) => number(*n),
        Value::Str(s) => {
            let t = s.trim_start();
            if t.starts_with('{') || t.starts_with('[') {
                if let Ok(j) = serde_json::from_str::<Json>(s) {
                    return j;
                }
            }
            match parse_num(s) {
                Some(n) if !s.starts_with(' ') && !s.ends_with(' ') => number(n),
                _ => Json::String(s.to_string()),
            }
        }
        Value::Multi(vs) => Json::Array(vs.iter().map(scalar_json).collect()),
    }
}

fn ev_json(ev: Option<Ev>) -> Json {
    match ev {
        None => Json::Null,
        Some(Ev::Bool(b)) => Json::Bool(b),
        Some(Ev::V(v)) => scalar_json(&v),
    }
}

pub(crate) fn object(pairs: Vec<(String, Option<Ev>)>) -> String {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k, ev_json(v));
    }
    Json::Object(m).to_string()
}

pub(crate) fn array(items: Vec<Option<Ev>>) -> String {
    Json::Array(items.into_iter().map(ev_json).collect()).to_string()
}

pub(crate) fn mv_to_json_array(values: &[Value], infer: bool) -> String {
    let items = values
        .iter()
        .map(|v| {
            if !infer {
                return Json::String(v.text().into_owned());
            }
            let t = v.text();
            match t.as_ref() {
                "true" => Json::Bool(true),
                "false" => Json::Bool(false),
                "null" => Json::Null,
                _ => scalar_json(v),
            }
        })
        .collect();
    Json::Array(items).to_string()
}

pub(crate) fn array_to_mv(doc: &str, keep_quotes: bool) -> Option<Value> {
    let Json::Array(items) = serde_json::from_str::<Json>(doc).ok()? else {
        return None;
    };
    let values = items
        .iter()
        .filter_map(|j| match j {
            Json::String(s) if !keep_quotes => Some(s.clone()),
            Json::Null => None,
            other => Some(other.to_string()),
        })
        .map(Value::from)
        .collect();
    Value::multi(values)
}
