//! `outputlookup` — write the results to a lookup table, and pass them on unchanged.
//!
//! ```text
//! outputlookup [append=<bool>] [create_empty=<bool>] [override_if_empty=<bool>] [max=<N>]
//!              [key_field=<field>] [createinapp=<bool>] [create_context=<ctx>] [output_format=<fmt>]
//!              <lookup definition> | <file>.csv
//! ```
//! - The table is the definition's file (a KV store collection is kept as `<collection>.csv`) or the
//!   `.csv` file named. It is written into the last `--lookups DIR` given, and nowhere else: without
//!   one the command fails, naming the option. Writes go through a temporary file and a rename.
//! - Columns: every field of the results, in the order fields first appear; a multivalue cell holds its
//!   values joined by line breaks. `append=t` adds the rows after the table's rows (new columns are added
//!   at the end; the table's columns stay first); without it the table is replaced.
//! - No results: with `create_empty=t` (default) a missing table is created empty; with
//!   `override_if_empty=t` (default) an existing table is emptied, with `f` it is kept.
//! - `max=N` writes only the first N rows (all rows still pass on).
//!
//! Accepted and without effect (they concern Splunk's KV store and apps): `key_field`, `createinapp`,
//! `create_context`, `allow_updates`. Refused: `output_format` other than `splunk_sv_csv`, and `.csv.gz`
//! tables.

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::lookups::{Lookups, WriteOptions};
use crate::parse::Cursor;

const OPTIONS: &[&str] = &[
    "append",
    "create_empty",
    "override_if_empty",
    "max",
    "key_field",
    "allow_updates",
    "createinapp",
    "create_context",
    "output_format",
];

#[derive(Clone, Debug, PartialEq)]
pub struct OutputLookup {
    pub name: String,
    pub append: bool,
    pub create_empty: bool,
    pub override_if_empty: bool,
    pub max: Option<usize>,
    pub span: Span,
}

impl OutputLookup {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<OutputLookup> {
        let mut out = OutputLookup {
            name: String::new(),
            append: false,
            create_empty: true,
            override_if_empty: true,
            max: None,
            span: name_span,
        };
        let mut opts = c.options(OPTIONS)?;
        c.ws();
        if c.at_stage_end() {
            return Err(c.expected("a lookup name or a `.csv` file name after `outputlookup`"));
        }
        let (name, span) = c.field("a lookup name or a `.csv` file name")?;
        opts.extend(c.options(OPTIONS)?);
        c.end_of_stage("outputlookup")?;
        for (k, v, ospan) in opts {
            let flag = |v: &str| crate::parse::flag(&k, v, ospan);
            match k.as_str() {
                "append" => out.append = flag(&v)?,
                "create_empty" => out.create_empty = flag(&v)?,
                "override_if_empty" => out.override_if_empty = flag(&v)?,
                "max" => out.max = Some(crate::parse::number("max", &v, ospan)?),
                "output_format" if !v.eq_ignore_ascii_case("splunk_sv_csv") => {
                    return Err(Diagnostic::at(
                        format!("`output_format={v}` is not supported: spelunk writes CSV tables"),
                        ospan,
                    ))
                }
                _ => {}
            }
        }
        if name.ends_with(".csv.gz") {
            return Err(Diagnostic::at(
                "compressed lookup tables (`.csv.gz`) are not supported: write a `.csv`",
                span,
            ));
        }
        out.name = name;
        out.span = span;
        Ok(out)
    }
}

impl super::SplCommand for OutputLookup {
    fn lookups(&self) -> Vec<super::LookupRef> {
        vec![super::LookupRef {
            name: self.name.clone(),
            writes: true,
            span: self.span,
        }]
    }

    fn operator(&self, ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(OutputLookupOp {
            cmd: self.clone(),
            // operators own what they use; a session's lookup configuration is a few paths and names
            lookups: ctx.lookups.clone(),
            rows: Vec::new(),
        }))
    }
}

struct OutputLookupOp {
    cmd: OutputLookup,
    lookups: Lookups,
    rows: Vec<Event>,
}

impl Operator for OutputLookupOp {
    fn push(&mut self, ev: Event, _out: &mut Vec<Event>) -> Result<()> {
        // held until the end: the table is written once, from all the results
        self.rows.push(ev);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        let n = self.cmd.max.unwrap_or(usize::MAX).min(self.rows.len());
        let opts = WriteOptions {
            append: self.cmd.append,
            create_empty: self.cmd.create_empty,
            override_if_empty: self.cmd.override_if_empty,
        };
        self.lookups
            .write(&self.cmd.name, self.rows.get(..n).unwrap_or(&[]), opts)
            .map_err(|mut d| {
                d.span = Some(self.cmd.span);
                d
            })?;
        out.append(&mut self.rows);
        Ok(())
    }
}
