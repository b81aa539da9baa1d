//! `convert` — convert field values.
//!
//! ```text
//! convert [timeformat="<strftime format>"] <func>(<field>) [AS <name>] ...
//! func := ctime | mktime | dur2sec | mstime | num | auto | rmunit | rmcomma | memk | none
//! ```
//! `ctime` formats epoch seconds as text (default format `%m/%d/%Y %H:%M:%S`, in `--tz`); a value that
//! is not a number is left as it is. `mktime` reads text with `timeformat` into epoch seconds. Without `AS`
//! the field is replaced in place. A field name may hold `*` wildcards (`ctime(*Time)`); fields named in
//! `none(...)` are left out of wildcard conversions.

use super::{wildcard_match, Context, Operator};
use crate::diag::{Diagnostic, Result, Span};
use crate::eval::time::{strftime, strptime};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::{parse_num, Value};

pub const DEFAULT_TIMEFORMAT: &str = "%m/%d/%Y %H:%M:%S";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvertFn {
    Ctime,
    Mktime,
    Dur2sec,
    Mstime,
    Num,
    Auto,
    Rmunit,
    Rmcomma,
    Memk,
    None,
}

pub const FUNCTIONS: &[&str] = &[
    "auto", "ctime", "dur2sec", "memk", "mktime", "mstime", "none", "num", "rmcomma", "rmunit",
];

#[derive(Clone, Debug, PartialEq)]
pub struct Conversion {
    pub func: ConvertFn,
    pub field: String,
    pub alias: Option<String>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Convert {
    pub timeformat: String,
    pub conversions: Vec<Conversion>,
}

impl Convert {
    pub fn parse(c: &mut Cursor) -> Result<Convert> {
        let mut timeformat = DEFAULT_TIMEFORMAT.to_string();
        for (k, v, _) in c.options(&["timeformat"])? {
            if k == "timeformat" {
                timeformat = v;
            }
        }
        let mut conversions = Vec::new();
        loop {
            c.ws();
            if c.eat(',') {
                continue;
            }
            if c.at_stage_end() {
                break;
            }
            let start = c.pos;
            let Some((name, nspan)) = c.bare() else {
                return Err(c.expected("a conversion such as `ctime(field)`"));
            };
            let func = match name.to_ascii_lowercase().as_str() {
                "ctime" => ConvertFn::Ctime,
                "mktime" => ConvertFn::Mktime,
                "dur2sec" => ConvertFn::Dur2sec,
                "mstime" => ConvertFn::Mstime,
                "num" => ConvertFn::Num,
                "auto" => ConvertFn::Auto,
                "rmunit" => ConvertFn::Rmunit,
                "rmcomma" => ConvertFn::Rmcomma,
                "memk" => ConvertFn::Memk,
                "none" => ConvertFn::None,
                _ => {
                    let mut d = Diagnostic::at(format!("unknown convert function `{name}`"), nspan);
                    if let Some(s) = crate::diag::suggest(name, FUNCTIONS.iter().copied()) {
                        d.message.push_str(&format!(" (did you mean `{s}`?)"));
                    }
                    return Err(d);
                }
            };
            c.expect('(', &format!("`(` after `{name}`"))?;
            c.ws();
            let field = if c.at('*') && !c.rest()[1..].starts_with(|ch: char| ch.is_alphanumeric())
            {
                c.pos += 1;
                "*".to_string()
            } else {
                c.field("a field name")?.0
            };
            c.expect(')', "`)`")?;
            let alias = if c.keyword("as") {
                Some(c.field("a name after `AS`")?.0)
            } else {
                None
            };
            conversions.push(Conversion {
                func,
                field,
                alias,
                span: Span::new(start, c.pos),
            });
        }
        if conversions.is_empty() {
            return Err(c.expected("a conversion such as `ctime(field)`"));
        }
        Ok(Convert {
            timeformat,
            conversions,
        })
    }
}

impl super::SplCommand for Convert {
    fn kind(&self) -> super::Kind {
        super::Kind::Streaming
    }

    fn sql(&self, q: &mut crate::sql::Query) -> Option<Result<()>> {
        Some(self.write_sql(q))
    }

    fn needs(&self, after: super::Need) -> super::Need {
        let mut n = after?;
        for conv in &self.conversions {
            if conv.field.contains('*') {
                return None;
            }
            n.insert(conv.field.clone());
        }
        Some(n)
    }

    fn operator(&self, ctx: &Context, _sub: &dyn super::SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(ConvertOp {
            convert: self.clone(),
            tz: ctx.eval.tz,
        }))
    }
}

impl Convert {
    /// `convert ctime(...)` as SQL, one step per conversion (each sees the ones before it): a value
    /// that reads as a number is formatted with `timeformat`, any other is kept. Only formats whose
    /// pieces read alike in every engine (`%Y %m %d %H %M %S %y %j %%` and plain text), in UTC.
    fn write_sql(&self, q: &mut crate::sql::Query) -> Result<()> {
        use crate::sql::{ident, no_sql_form, number_of, utc_strftime, Col};
        let mut fmt = self.timeformat.chars();
        while let Some(ch) = fmt.next() {
            if ch == '%'
                && !matches!(
                    fmt.next(),
                    Some('Y' | 'm' | 'd' | 'H' | 'M' | 'S' | 'y' | 'j' | '%')
                )
            {
                return Err(no_sql_form(format!(
                    "the time format `{}`",
                    self.timeformat
                )));
            }
        }
        if !q.utc {
            return Err(no_sql_form("`ctime` in a time zone other than UTC"));
        }
        for conv in &self.conversions {
            if conv.func != ConvertFn::Ctime {
                return Err(no_sql_form(
                    format!("`convert` of `{:?}`", conv.func).to_lowercase(),
                ));
            }
            if conv.field.contains('*') {
                return Err(no_sql_form("a wildcard in `convert`"));
            }
            let Some(c) = q.field(&conv.field)?.cloned() else {
                continue;
            };
            if c.multi {
                return Err(no_sql_form(format!(
                    "`ctime` of the multivalue field `{}`",
                    c.name
                )));
            }
            let dest = conv.alias.clone().unwrap_or_else(|| conv.field.clone());
            let n = number_of(&c);
            let value = crate::sql::text_of(&c);
            let item = format!(
                "CASE WHEN ({n}) IS NOT NULL THEN {} ELSE {value} END AS {}",
                utc_strftime(&n, &self.timeformat),
                ident(&dest)
            );
            let (list, cols) = crate::sql::replacing(&q.cols, &dest, item, Col::text(&dest));
            q.reshape(&list, cols);
        }
        Ok(())
    }
}

struct ConvertOp {
    convert: Convert,
    tz: chrono_tz::Tz,
}

fn leading_number(s: &str) -> Option<f64> {
    let t = s.trim_start();
    let end = t
        .char_indices()
        .take_while(|(i, ch)| {
            ch.is_ascii_digit() || *ch == '.' || ((*ch == '-' || *ch == '+') && *i == 0)
        })
        .map(|(i, ch)| i + ch.len_utf8())
        .last()?;
    parse_num(&t[..end])
}

impl ConvertOp {
    fn apply(&self, func: ConvertFn, v: &Value) -> Option<Value> {
        let one = |x: &Value| -> Option<Value> {
            let t = x.text();
            match func {
                ConvertFn::Ctime => match x.as_num() {
                    Some(n) => strftime(n, &self.convert.timeformat, self.tz)
                        .map(Value::from)
                        .or(Some(x.clone())),
                    None => Some(x.clone()),
                },
                ConvertFn::Mktime => match strptime(&t, &self.convert.timeformat, self.tz) {
                    Some(n) => Some(Value::Num(n)),
                    None => Some(x.clone()),
                },
                ConvertFn::Dur2sec => {
                    let (days, rest) = match t.split_once('+') {
                        Some((d, r)) => (parse_num(d)?, r.to_string()),
                        None => (0.0, t.to_string()),
                    };
                    let mut secs = 0.0;
                    for part in rest.split(':') {
                        secs = secs * 60.0 + parse_num(part)?;
                    }
                    Some(Value::Num(days * 86400.0 + secs))
                }
                ConvertFn::Mstime => {
                    let mut secs = 0.0;
                    for part in t.split(':') {
                        secs = secs * 60.0 + parse_num(part)?;
                    }
                    Some(Value::Num(secs))
                }
                ConvertFn::Num => x.as_num().or_else(|| leading_number(&t)).map(Value::Num),
                ConvertFn::Auto => Some(
                    x.as_num()
                        .or_else(|| leading_number(&t))
                        .map(Value::Num)
                        .unwrap_or_else(|| x.clone()),
                ),
                ConvertFn::Rmunit => Some(
                    leading_number(&t)
                        .map(Value::Num)
                        .unwrap_or_else(|| x.clone()),
                ),
                ConvertFn::Rmcomma => Some(Value::str(t.replace(',', ""))),
                ConvertFn::Memk => {
                    let s = t.trim();
                    let (num, mult) = match s.chars().last().map(|ch| ch.to_ascii_lowercase()) {
                        Some('k') => (&s[..s.len() - 1], 1.0),
                        Some('m') => (&s[..s.len() - 1], 1024.0),
                        Some('g') => (&s[..s.len() - 1], 1024.0 * 1024.0),
                        _ => (s, 1.0),
                    };
                    Some(
                        parse_num(num)
                            .map(|n| Value::Num(n * mult))
                            .unwrap_or_else(|| x.clone()),
                    )
                }
                ConvertFn::None => Some(x.clone()),
            }
        };
        let out: Vec<Value> = v.values().iter().filter_map(one).collect();
        Value::multi(out)
    }
}

impl Operator for ConvertOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let excluded: Vec<&str> = self
            .convert
            .conversions
            .iter()
            .filter(|c| c.func == ConvertFn::None)
            .map(|c| c.field.as_str())
            .collect();
        for conv in &self.convert.conversions {
            if conv.func == ConvertFn::None {
                continue;
            }
            let targets: Vec<String> = if conv.field.contains('*') {
                ev.names()
                    .filter(|n| {
                        wildcard_match(&conv.field, n)
                            && !excluded.iter().any(|x| wildcard_match(x, n))
                    })
                    .map(|n| n.to_string())
                    .collect()
            } else {
                vec![conv.field.clone()]
            };
            for f in targets {
                let Some(v) = ev.get(&f) else { continue };
                let nv = self.apply(conv.func, v);
                let dest = conv.alias.clone().unwrap_or(f);
                ev.set_opt(dest, nv);
            }
        }
        out.push(ev);
        Ok(())
    }
}
