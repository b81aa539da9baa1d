//! Eval expressions as SQL conditions (for `where`, see [`crate::sql`]), keeping spelunk's eval rules:
//! a comparison is numeric when both sides read as numbers, else text compared byte by byte (case
//! counts); a comparison with a null side is false, never null; `in()`/`IN` is true when the value
//! equals a listed one. Only what is written here translates; anything else is refused by name.

use super::{BinOp, Expr, Kind};
use crate::diag::Result;
use crate::sql::{as_number, as_text, find, ident, no_sql_form, null_text, text, Query};

/// An expression's SQL and what it gives.
enum Sql {
    /// A condition, never null.
    Bool(String),
    /// A text value, possibly null.
    Text(String),
}

impl Expr {
    /// The expression as a two-valued SQL condition over the step `q` is at.
    pub fn sql_condition(&self, q: &Query) -> Result<String> {
        match self.sql(q)? {
            Sql::Bool(s) => Ok(s),
            Sql::Text(_) => Err(no_sql_form(format!(
                "a value where a condition is needed (`{}` is not a condition)",
                self.describe()
            ))),
        }
    }

    /// The expression as an SQL text value (null: no field), for `eval`.
    pub fn sql_value(&self, q: &Query) -> Result<String> {
        match self.sql(q)? {
            Sql::Text(s) => Ok(s),
            Sql::Bool(_) => Err(no_sql_form(format!(
                "a condition where a value is needed (`{}`)",
                self.describe()
            ))),
        }
    }

    fn describe(&self) -> String {
        match &self.kind {
            Kind::Call(c) => format!("{}()", c.name),
            Kind::Field(f) | Kind::Slot(_, f) => f.to_string(),
            Kind::Binary(op, _, _) => format!("the operator {op:?}"),
            _ => "this expression".into(),
        }
    }

    fn sql(&self, q: &Query) -> Result<Sql> {
        let cond = |e: &Expr| e.sql_condition(q);
        let value = |e: &Expr| e.sql_value(q);
        Ok(match &self.kind {
            Kind::Str(s) => Sql::Text(text(s)),
            Kind::Num(n) => Sql::Text(text(&crate::value::format_num(*n))),
            Kind::Bool(b) => Sql::Bool(b.to_string()),
            Kind::Field(f) | Kind::Slot(_, f) => match q.field(f)? {
                None => Sql::Text(null_text()),
                Some(c) if c.multi => {
                    return Err(no_sql_form(format!("the multivalue field `{f}` in eval")))
                }
                Some(c) => Sql::Text(crate::sql::text_of(c)),
            },
            Kind::Not(e) => Sql::Bool(format!("(NOT {})", cond(e)?)),
            Kind::Binary(BinOp::Concat, a, b) => {
                Sql::Text(format!("({} || {})", value(a)?, value(b)?))
            }
            Kind::Binary(BinOp::And, a, b) => Sql::Bool(format!("({} AND {})", cond(a)?, cond(b)?)),
            Kind::Binary(BinOp::Or, a, b) => Sql::Bool(format!("({} OR {})", cond(a)?, cond(b)?)),
            Kind::Binary(
                op @ (BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge),
                a,
                b,
            ) => Sql::Bool(compare(*op, &value(a)?, &value(b)?)),
            Kind::In {
                subject,
                list,
                negated,
            } => {
                let found = any_equal(&value(subject)?, list, &value)?;
                Sql::Bool(if *negated {
                    format!("(NOT {found})")
                } else {
                    found
                })
            }
            Kind::Call(c) => {
                let args = &c.args;
                match (c.name, args.as_slice()) {
                    ("isnull", [x]) => Sql::Bool(format!("({} IS NULL)", value(x)?)),
                    ("isnotnull", [x]) => Sql::Bool(format!("({} IS NOT NULL)", value(x)?)),
                    ("lower", [x]) => Sql::Text(format!("lower({})", value(x)?)),
                    ("upper", [x]) => Sql::Text(format!("upper({})", value(x)?)),
                    ("coalesce", xs) if !xs.is_empty() => {
                        let vs = xs.iter().map(value).collect::<Result<Vec<_>>>()?;
                        Sql::Text(format!("coalesce({})", vs.join(", ")))
                    }
                    ("in", [x, items @ ..]) => Sql::Bool(any_equal(&value(x)?, items, &value)?),
                    ("if", [c, a, b]) => Sql::Text(format!(
                        "CASE WHEN {} THEN {} ELSE {} END",
                        cond(c)?,
                        value(a)?,
                        value(b)?
                    )),
                    ("case", pairs) if !pairs.is_empty() && pairs.len() % 2 == 0 => {
                        let mut out = String::from("CASE");
                        for pair in pairs.chunks(2) {
                            out.push_str(&format!(
                                " WHEN {} THEN {}",
                                cond(&pair[0])?,
                                value(&pair[1])?
                            ));
                        }
                        out.push_str(" END");
                        Sql::Text(out)
                    }
                    ("len", [x]) => Sql::Text(as_text(&format!("length({})", value(x)?))),
                    ("mvindex", [list, at]) => Sql::Text(mvindex_value(q, list, at)?),
                    ("match", [x, re]) => {
                        let re = plain_regex(re)?;
                        Sql::Bool(format!("coalesce({}, false)", find(&value(x)?, &re)))
                    }
                    ("replace", [x, re, with]) => {
                        let re = plain_regex(re)?;
                        let Kind::Str(with) = &with.kind else {
                            return Err(no_sql_form("`replace()` with a computed replacement"));
                        };
                        if with.contains('$') || with.contains("\\\\") {
                            return Err(no_sql_form("this `replace()` replacement text"));
                        }
                        Sql::Text(crate::sql::replace_all(&value(x)?, &re, with)?)
                    }
                    ("null", []) => Sql::Text(null_text()),
                    ("true", []) => Sql::Bool("true".into()),
                    ("false", []) => Sql::Bool("false".into()),
                    (name, _) => {
                        return Err(no_sql_form(format!("the eval function `{name}()`")));
                    }
                }
            }
            _ => return Err(no_sql_form(format!("`{}` in eval", self.describe()))),
        })
    }
}

/// `x` equals one of `items` (eval's comparison); no items: false.
fn any_equal(x: &str, items: &[Expr], value: &dyn Fn(&Expr) -> Result<String>) -> Result<String> {
    let mut any = Vec::new();
    for item in items {
        any.push(compare(BinOp::Eq, x, &value(item)?));
    }
    Ok(if any.is_empty() {
        "false".to_string()
    } else {
        format!("({})", any.join(" OR "))
    })
}

/// spelunk's eval comparison of two text values: numeric when both read as numbers, else byte by byte;
/// false when either is null.
fn compare(op: BinOp, a: &str, b: &str) -> String {
    let sym = match op {
        BinOp::Eq => "=",
        BinOp::Ne => "<>",
        BinOp::Lt => "<",
        BinOp::Gt => ">",
        BinOp::Le => "<=",
        _ => ">=",
    };
    let (na, nb) = (as_number(a), as_number(b));
    format!(
        "coalesce(CASE WHEN ({na}) IS NOT NULL AND ({nb}) IS NOT NULL THEN ({na}) {sym} ({nb}) ELSE {a} {sym} {b} END, false)"
    )
}

/// `mvindex(split(x, "sep"), i)` or `mvindex(f, i)` of a field: the `i`th piece or value (from the end
/// when negative), null past the ends.
fn mvindex_value(q: &Query, list: &Expr, at: &Expr) -> Result<String> {
    let refuse = || {
        no_sql_form(
            "`mvindex()` of anything but a multivalue field or `split(x, \"sep\")` at a whole number",
        )
    };
    // a multivalue field's `i`th value
    if let (Kind::Field(f) | Kind::Slot(_, f), Kind::Num(i)) = (&list.kind, &at.kind) {
        if i.fract() != 0.0 || i.abs() > 1e6 {
            return Err(refuse());
        }
        let k = if *i >= 0.0 { *i as i64 + 1 } else { *i as i64 };
        return Ok(match q.field(f)? {
            None => crate::sql::null_text(),
            Some(c) if c.multi => crate::sql::list_item(&ident(&c.name), k),
            // one value: the list of it
            Some(c) => format!(
                "CASE WHEN {} THEN {} END",
                if k == 1 || k == -1 { "true" } else { "false" },
                crate::sql::text_of(c)
            ),
        });
    }
    let Kind::Call(c) = &list.kind else {
        return Err(refuse());
    };
    let (Kind::Num(i), ("split", [x, sep])) = (&at.kind, (c.name, c.args.as_slice())) else {
        return Err(refuse());
    };
    let Kind::Str(sep) = &sep.kind else {
        return Err(refuse());
    };
    if sep.is_empty() || i.fract() != 0.0 || i.abs() > 1e6 {
        return Err(refuse());
    }
    let x = match x.sql(q)? {
        Sql::Text(x) => x,
        Sql::Bool(_) => return Err(refuse()),
    };
    // SQL lists count from 1, and from the end with negative indexes, as mvindex does from -1
    let k = if *i >= 0.0 { *i as i64 + 1 } else { *i as i64 };
    Ok(crate::sql::split_piece(&x, sep, k))
}

/// A literal regular expression both spelunk's engine and DuckDB's (RE2) read the same way: no
/// character classes whose meaning differs (`\d`, `\w`, `\s`, `\b` are Unicode-aware in one and not
/// the other), no flags or group syntax (`(?`), no POSIX classes.
fn plain_regex(re: &Expr) -> Result<String> {
    let Kind::Str(re) = &re.kind else {
        return Err(no_sql_form("a computed regular expression"));
    };
    let differs = [
        "\\d", "\\w", "\\s", "\\b", "\\D", "\\W", "\\S", "\\B", "\\p", "\\P", "\\A", "\\z", "\\Z",
        "(?", "[[:",
    ];
    if differs.iter().any(|d| re.contains(d)) {
        return Err(no_sql_form(format!(
            "the regular expression `{re}` (its classes or flags differ between engines)"
        )));
    }
    Ok(re.to_string())
}
