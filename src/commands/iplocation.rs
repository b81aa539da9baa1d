//! `iplocation` — add location fields for an IP address from a GeoIP database.
//!
//! ```text
//! iplocation [prefix=<text>] [allfields=<bool>] [lang=<code>] <ip-field>
//! ```
//! Splunk ships a GeoLite2 City database; spelunk ships none. It reads a MaxMind-format (`.mmdb`) City
//! database named by `--geoip FILE` or the `SPELUNK_GEOIP` environment variable; without one, the command
//! fails and says so. Fields added (each with `prefix` before its name): `City`, `Country`, `Region` (the
//! first subdivision), `lat`, `lon`, and with `allfields=true` also `Continent`, `MetroCode`, `Timezone`.
//! Names are taken in `lang` (default `en`). An address that is not in the database, or a value that is not
//! an IP address, adds no fields; a multivalue field is located by its first value.

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::Value;
use std::collections::BTreeMap;

/// The environment variable naming the GeoIP database (`--geoip FILE` sets it).
pub const GEOIP_ENV: &str = "SPELUNK_GEOIP";

#[derive(Clone, Debug, PartialEq)]
pub struct IpLocation {
    pub field: String,
    pub prefix: String,
    pub allfields: bool,
    pub lang: String,
    pub span: Span,
}

impl IpLocation {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<IpLocation> {
        let mut out = IpLocation {
            field: String::new(),
            prefix: String::new(),
            allfields: false,
            lang: "en".into(),
            span: name_span,
        };
        for (k, v, span) in c.options(&["prefix", "allfields", "lang"])? {
            match k.as_str() {
                "prefix" => out.prefix = v,
                "lang" => out.lang = v,
                _ => out.allfields = crate::parse::flag("allfields", &v, span)?,
            }
        }
        c.ws();
        if c.at_stage_end() {
            return Err(c.expected("the field holding an IP address"));
        }
        out.field = c.field("the field holding an IP address")?.0;
        c.end_of_stage("iplocation")?;
        Ok(out)
    }
}

impl super::SplCommand for IpLocation {
    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        let Some(path) = std::env::var_os(GEOIP_ENV).filter(|p| !p.is_empty()) else {
            return Err(Diagnostic::at(
                "`iplocation` needs a GeoIP database, and none is configured",
                self.span,
            )
            .with_help(format!(
                "give a MaxMind-format City database (.mmdb, e.g. GeoLite2-City.mmdb) with --geoip FILE or the {GEOIP_ENV} environment variable"
            )));
        };
        let reader = maxminddb::Reader::open_readfile(&path).map_err(|e| {
            Diagnostic::at(
                format!(
                    "cannot read the GeoIP database `{}`: {e}",
                    std::path::Path::new(&path).display()
                ),
                self.span,
            )
        })?;
        Ok(Box::new(IpLocationOp {
            cmd: self.clone(),
            reader,
        }))
    }
}

struct IpLocationOp {
    cmd: IpLocation,
    reader: maxminddb::Reader<Vec<u8>>,
}

fn name(names: &Option<BTreeMap<&str, &str>>, lang: &str) -> Option<Value> {
    names.as_ref()?.get(lang).map(Value::str)
}

impl Operator for IpLocationOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let ip = ev
            .get(&self.cmd.field)
            .and_then(|v| v.text().trim().parse::<std::net::IpAddr>().ok());
        if let Some(ip) = ip {
            if let Ok(city) = self.reader.lookup::<maxminddb::geoip2::City>(ip) {
                let lang = self.cmd.lang.as_str();
                let mut fields: Vec<(&str, Option<Value>)> = vec![
                    (
                        "City",
                        city.city.as_ref().and_then(|c| name(&c.names, lang)),
                    ),
                    (
                        "Country",
                        city.country.as_ref().and_then(|c| name(&c.names, lang)),
                    ),
                    (
                        "Region",
                        city.subdivisions
                            .as_ref()
                            .and_then(|s| s.first())
                            .and_then(|s| name(&s.names, lang)),
                    ),
                    (
                        "lat",
                        city.location
                            .as_ref()
                            .and_then(|l| l.latitude)
                            .map(Value::Num),
                    ),
                    (
                        "lon",
                        city.location
                            .as_ref()
                            .and_then(|l| l.longitude)
                            .map(Value::Num),
                    ),
                ];
                if self.cmd.allfields {
                    fields.push((
                        "Continent",
                        city.continent.as_ref().and_then(|c| name(&c.names, lang)),
                    ));
                    fields.push((
                        "MetroCode",
                        city.location
                            .as_ref()
                            .and_then(|l| l.metro_code)
                            .map(|m| Value::Num(m as f64)),
                    ));
                    fields.push((
                        "Timezone",
                        city.location
                            .as_ref()
                            .and_then(|l| l.time_zone)
                            .map(Value::str),
                    ));
                }
                for (k, v) in fields {
                    if let Some(v) = v {
                        ev.set(format!("{}{k}", self.cmd.prefix), v);
                    }
                }
            }
        }
        out.push(ev);
        Ok(())
    }
}
