//! Eval expressions as SQL conditions (for `where`, see [`crate::sql`]), keeping spelunk's eval rules:
//! a comparison is numeric when both sides read as numbers, else text compared byte by byte (case
//! counts); a comparison with a null side is false, never null; `in()`/`IN` is true when the value
//! equals a listed one. Only what is written here translates; anything else is refused by name.

use super::{BinOp, Expr, Kind};
use crate::diag::Result;
use crate::sql::{as_number, ident, no_sql_form, text, Query};

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
                "a `where` whose expression is not a condition (`{}`)",
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
        let cond = |e: &Expr| -> Result<String> {
            match e.sql(q)? {
                Sql::Bool(s) => Ok(s),
                Sql::Text(_) => Err(no_sql_form(format!(
                    "the truth of a value in eval (`{}`)",
                    e.describe()
                ))),
            }
        };
        let value = |e: &Expr| -> Result<String> {
            match e.sql(q)? {
                Sql::Text(s) => Ok(s),
                Sql::Bool(_) => Err(no_sql_form("a condition used as a value in eval")),
            }
        };
        Ok(match &self.kind {
            Kind::Str(s) => Sql::Text(text(s)),
            Kind::Num(n) => Sql::Text(text(&crate::value::format_num(*n))),
            Kind::Bool(b) => Sql::Bool(b.to_string()),
            Kind::Field(f) | Kind::Slot(_, f) => match q.field(f)? {
                None => Sql::Text("CAST(NULL AS VARCHAR)".into()),
                Some(c) if c.multi => {
                    return Err(no_sql_form(format!("the multivalue field `{f}` in eval")))
                }
                Some(c) if c.int => Sql::Text(format!("CAST({} AS VARCHAR)", ident(&c.name))),
                Some(c) => Sql::Text(ident(&c.name)),
            },
            Kind::Not(e) => Sql::Bool(format!("(NOT {})", cond(e)?)),
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
                let x = value(subject)?;
                let mut any = Vec::new();
                for item in list {
                    any.push(compare(BinOp::Eq, &x, &value(item)?));
                }
                let found = if any.is_empty() {
                    "false".to_string()
                } else {
                    format!("({})", any.join(" OR "))
                };
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
                    ("in", [x, items @ ..]) => {
                        let x = value(x)?;
                        let mut any = Vec::new();
                        for item in items {
                            any.push(compare(BinOp::Eq, &x, &value(item)?));
                        }
                        Sql::Bool(if any.is_empty() {
                            "false".into()
                        } else {
                            format!("({})", any.join(" OR "))
                        })
                    }
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
