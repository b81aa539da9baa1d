//! Time functions of eval: `strftime`, `strptime`, `relative_time`, in the search's time zone.
//!
//! Format codes are Splunk's ("Date and time format variables"): the C ones (`%Y %m %d %H %M %S %y %b %B
//! %a %A %j %p %I %Z %z %s %F %T %e %k %l %D %R %r %c %x %X %u %w %U %V %G %g %C %n %t %%`), `%:z`/`%::z`,
//! and subseconds `%N` (`%3N` milliseconds, `%6N`, `%9N`; plain `%N` is 9 digits), `%Q` (plain is 3 digits)
//! and `%f` (6 digits). `%+` is `%a %b %e %H:%M:%S %Z %Y`. An unknown code is printed as written by
//! `strftime` and makes `strptime` fail.
//!
//! Relative time modifiers (Search Manual: "Specify time modifiers in your search"): `now`, offsets
//! `[+|-]<N><unit>` and snaps `@<unit>` in any sequence (`-1d@d+2h`). Units: `s sec secs second seconds`,
//! `m min mins minute minutes`, `h hr hrs hour hours`, `d day days`, `w week weeks`, `mon month months`,
//! `q qtr qtrs quarter quarters`, `y yr yrs year years`; `@w0`..`@w6` snap to that weekday (0 = Sunday,
//! `@w7` is Sunday too). Seconds, minutes and hours move the instant; days and longer move the calendar date
//! in the time zone, keeping the wall-clock time.

use chrono::{
    DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike,
};
use chrono_tz::Tz;

fn to_local(t: f64, tz: Tz) -> Option<DateTime<Tz>> {
    if !t.is_finite() || t.abs() > 1.0e13 {
        return None;
    }
    let secs = t.floor();
    let nanos = (((t - secs) * 1e9).round() as u32).min(999_999_999);
    tz.timestamp_opt(secs as i64, nanos).single()
}

fn from_local(naive: NaiveDateTime, tz: Tz) -> Option<f64> {
    // a wall-clock time skipped by a DST change reads as one hour later
    let dt = tz.from_local_datetime(&naive).earliest().or_else(|| {
        tz.from_local_datetime(&(naive + Duration::hours(1)))
            .earliest()
    })?;
    Some(dt.timestamp() as f64 + f64::from(dt.timestamp_subsec_nanos()) / 1e9)
}

pub fn strftime(t: f64, format: &str, tz: Tz) -> Option<String> {
    let dt = to_local(t, tz)?;
    let mut out = String::with_capacity(format.len() + 16);
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut width = None;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            width = Some(width.unwrap_or(0) * 10 + d as usize);
            chars.next();
        }
        let mut colons = 0;
        while chars.peek() == Some(&':') {
            colons += 1;
            chars.next();
        }
        let Some(code) = chars.next() else {
            out.push('%');
            break;
        };
        let piece = match code {
            'N' => subsec(&dt, width.unwrap_or(9)),
            'Q' => subsec(&dt, width.unwrap_or(3)),
            'f' => subsec(&dt, width.unwrap_or(6)),
            's' => dt.timestamp().to_string(),
            '+' => dt.format("%a %b %e %H:%M:%S %Z %Y").to_string(),
            'x' => dt.format("%m/%d/%Y").to_string(),
            'z' => match colons {
                0 => dt.format("%z").to_string(),
                1 => dt.format("%:z").to_string(),
                _ => dt.format("%::z").to_string(),
            },
            // each of these is a code chrono formats the C way
            'a' | 'A' | 'b' | 'B' | 'h' | 'c' | 'C' | 'd' | 'D' | 'e' | 'F' | 'G' | 'g' | 'H'
            | 'I' | 'j' | 'k' | 'l' | 'm' | 'M' | 'n' | 'p' | 'P' | 'r' | 'R' | 'S' | 't' | 'T'
            | 'u' | 'U' | 'V' | 'w' | 'W' | 'X' | 'y' | 'Y' | 'Z' | '%' => {
                let spec = format!("%{code}");
                dt.format(&spec).to_string()
            }
            other => {
                let mut t = String::from('%');
                t.push(other);
                t
            }
        };
        out.push_str(&piece);
    }
    Some(out)
}

fn subsec(dt: &DateTime<Tz>, width: usize) -> String {
    let nanos = format!("{:09}", dt.timestamp_subsec_nanos().min(999_999_999));
    let w = width.clamp(1, 9);
    nanos.get(..w).unwrap_or("").to_string()
}

#[derive(Default)]
struct Parsed {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    yday: Option<u32>,
    hour: Option<u32>,
    hour12: bool,
    pm: Option<bool>,
    minute: Option<u32>,
    second: Option<u32>,
    nanos: Option<u32>,
    epoch: Option<f64>,
    offset: Option<i32>,
}

/// Parse `input` with `format`; trailing input after the format is ignored, as Splunk does.
pub fn strptime(input: &str, format: &str, tz: Tz) -> Option<f64> {
    let mut p = Parsed::default();
    parse_with(input, format, &mut p)?;
    if let Some(e) = p.epoch {
        return Some(e + f64::from(p.nanos.unwrap_or(0)) / 1e9);
    }
    let year = p.year.unwrap_or(1970);
    let date = match (p.month, p.day, p.yday) {
        (None, None, Some(yd)) => NaiveDate::from_yo_opt(year, yd)?,
        (m, d, _) => NaiveDate::from_ymd_opt(year, m.unwrap_or(1), d.unwrap_or(1))?,
    };
    let mut hour = p.hour.unwrap_or(0);
    if p.hour12 || p.pm.is_some() {
        if hour > 12 && p.hour12 {
            return None;
        }
        match p.pm {
            Some(true) if hour < 12 => hour += 12,
            Some(false) if hour == 12 => hour = 0,
            _ => {}
        }
    }
    let time = NaiveTime::from_hms_nano_opt(
        hour,
        p.minute.unwrap_or(0),
        p.second.unwrap_or(0).min(59),
        p.nanos.unwrap_or(0),
    )?;
    let naive = NaiveDateTime::new(date, time);
    match p.offset {
        Some(off) => {
            let utc = naive - Duration::seconds(i64::from(off));
            let dt = utc.and_utc();
            Some(dt.timestamp() as f64 + f64::from(dt.timestamp_subsec_nanos()) / 1e9)
        }
        None => from_local(naive, tz),
    }
}

/// Read up to `max` digits (at least one) after optional spaces when `skip_space`.
fn digits(s: &str, pos: &mut usize, max: usize, skip_space: bool) -> Option<u64> {
    let rest = s.get(*pos..)?;
    let trimmed = if skip_space {
        rest.trim_start_matches(' ')
    } else {
        rest
    };
    let skipped = rest.len() - trimmed.len();
    let n = trimmed
        .bytes()
        .take(max)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if n == 0 {
        return None;
    }
    let v = trimmed.get(..n)?.parse().ok()?;
    *pos += skipped + n;
    Some(v)
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

/// Match a full or three-letter name from `names` at `pos`, case-insensitively; the index found.
fn name(s: &str, pos: &mut usize, names: &[&str]) -> Option<usize> {
    let rest = s.get(*pos..)?.to_ascii_lowercase();
    for (i, n) in names.iter().enumerate() {
        if rest.starts_with(n) {
            *pos += n.len();
            return Some(i);
        }
    }
    for (i, n) in names.iter().enumerate() {
        if let Some(short) = n.get(..3) {
            if rest.starts_with(short) {
                *pos += 3;
                return Some(i);
            }
        }
    }
    None
}

fn parse_with(input: &str, format: &str, p: &mut Parsed) -> Option<usize> {
    let mut pos = 0;
    parse_at(input, &mut pos, format, p)?;
    Some(pos)
}

fn parse_at(input: &str, pos: &mut usize, format: &str, p: &mut Parsed) -> Option<()> {
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            let rest = input.get(*pos..)?;
            *pos += rest.len() - rest.trim_start().len();
            continue;
        }
        if c != '%' {
            let rest = input.get(*pos..)?;
            let got = rest.chars().next()?;
            if got != c && !got.eq_ignore_ascii_case(&c) {
                return None;
            }
            *pos += got.len_utf8();
            continue;
        }
        let mut width = None;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            width = Some(width.unwrap_or(0) * 10 + d as usize);
            chars.next();
        }
        while chars.peek() == Some(&':') {
            chars.next();
        }
        let code = chars.next()?;
        let two = |pos: &mut usize, space: bool| digits(input, pos, 2, space).map(|v| v as u32);
        match code {
            'Y' => {
                let neg = input.get(*pos..)?.starts_with('-');
                if neg {
                    *pos += 1;
                }
                let y = digits(input, pos, width.unwrap_or(4), false)? as i32;
                p.year = Some(if neg { -y } else { y });
            }
            'y' => {
                let y = two(pos, false)? as i32;
                p.year = Some(if y < 69 { 2000 + y } else { 1900 + y });
            }
            'C' => {
                let c = two(pos, false)? as i32;
                p.year = Some(c * 100 + p.year.unwrap_or(0) % 100);
            }
            'm' => p.month = Some(two(pos, false)?),
            'd' => p.day = Some(two(pos, false)?),
            'e' => p.day = Some(two(pos, true)?),
            'j' => p.yday = Some(digits(input, pos, 3, false)? as u32),
            'H' => p.hour = Some(two(pos, false)?),
            'k' => p.hour = Some(two(pos, true)?),
            'I' => {
                p.hour = Some(two(pos, false)?);
                p.hour12 = true;
            }
            'l' => {
                p.hour = Some(two(pos, true)?);
                p.hour12 = true;
            }
            'M' => p.minute = Some(two(pos, false)?),
            'S' => p.second = Some(two(pos, false)?),
            'N' | 'Q' | 'f' => {
                let max = width.unwrap_or(9).clamp(1, 9);
                let start = *pos;
                let v = digits(input, pos, max, false)?;
                let n = (*pos - start) as u32;
                p.nanos = Some((v * 10u64.pow(9 - n.min(9))) as u32);
            }
            's' => {
                let rest = input.get(*pos..)?;
                let neg = rest.starts_with('-');
                if neg {
                    *pos += 1;
                }
                let v = digits(input, pos, 12, false)? as f64;
                p.epoch = Some(if neg { -v } else { v });
            }
            'b' | 'B' | 'h' => p.month = Some(name(input, pos, &MONTHS)? as u32 + 1),
            'a' | 'A' => {
                name(input, pos, &WEEKDAYS)?;
            }
            'p' | 'P' => {
                let rest = input.get(*pos..)?.to_ascii_lowercase();
                if rest.starts_with("am") || rest.starts_with("a.m.") {
                    p.pm = Some(false);
                } else if rest.starts_with("pm") || rest.starts_with("p.m.") {
                    p.pm = Some(true);
                } else {
                    return None;
                }
                *pos += if rest.get(1..2) == Some(".") { 4 } else { 2 };
            }
            'z' => p.offset = Some(offset(input, pos)?),
            'Z' => {
                let rest = input.get(*pos..)?;
                let word: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '+' | '-'))
                    .collect();
                if word.starts_with('+') || word.starts_with('-') {
                    p.offset = Some(offset(input, pos)?);
                } else {
                    *pos += word.len();
                    if let Some(off) = zone_offset(&word) {
                        p.offset = Some(off);
                    }
                }
            }
            'T' => parse_at(input, pos, "%H:%M:%S", p)?,
            'F' => parse_at(input, pos, "%Y-%m-%d", p)?,
            'D' => parse_at(input, pos, "%m/%d/%y", p)?,
            'x' => parse_at(input, pos, "%m/%d/%Y", p)?,
            'R' => parse_at(input, pos, "%H:%M", p)?,
            'r' => parse_at(input, pos, "%I:%M:%S %p", p)?,
            'X' => parse_at(input, pos, "%H:%M:%S", p)?,
            'c' => parse_at(input, pos, "%a %b %e %H:%M:%S %Y", p)?,
            '+' => parse_at(input, pos, "%a %b %e %H:%M:%S %Z %Y", p)?,
            'n' | 't' => {
                let rest = input.get(*pos..)?;
                *pos += rest.len() - rest.trim_start().len();
            }
            '%' => {
                if !input.get(*pos..)?.starts_with('%') {
                    return None;
                }
                *pos += 1;
            }
            _ => return None,
        }
    }
    Some(())
}

/// `+hhmm`, `+hh:mm`, `+hh` or `Z`, as seconds east of UTC.
fn offset(input: &str, pos: &mut usize) -> Option<i32> {
    let rest = input.get(*pos..)?;
    if rest.starts_with(['Z', 'z']) {
        *pos += 1;
        return Some(0);
    }
    let sign = match rest.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    *pos += 1;
    let h = digits(input, pos, 2, false)? as i32;
    if input.get(*pos..)?.starts_with(':') {
        *pos += 1;
    }
    let m = digits(input, pos, 2, false).unwrap_or(0) as i32;
    Some(sign * (h * 3600 + m * 60))
}

/// A few common zone abbreviations, and IANA names.
fn zone_offset(word: &str) -> Option<i32> {
    let h = match word.to_ascii_uppercase().as_str() {
        "UTC" | "GMT" | "Z" | "UT" => 0,
        "EST" => -5,
        "EDT" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        "CET" => 1,
        "CEST" => 2,
        _ => return None,
    };
    Some(h * 3600)
}

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Sec,
    Min,
    Hour,
    Day,
    Week(Option<u32>),
    Month,
    Quarter,
    Year,
}

fn unit(word: &str) -> Option<Unit> {
    Some(match word {
        "s" | "sec" | "secs" | "second" | "seconds" => Unit::Sec,
        "m" | "min" | "mins" | "minute" | "minutes" => Unit::Min,
        "h" | "hr" | "hrs" | "hour" | "hours" => Unit::Hour,
        "d" | "day" | "days" => Unit::Day,
        "w" | "week" | "weeks" => Unit::Week(None),
        "mon" | "month" | "months" => Unit::Month,
        "q" | "qtr" | "qtrs" | "quarter" | "quarters" => Unit::Quarter,
        "y" | "yr" | "yrs" | "year" | "years" => Unit::Year,
        _ => {
            let n = word.strip_prefix('w')?.parse::<u32>().ok()?;
            if n > 7 {
                return None;
            }
            Unit::Week(Some(n % 7))
        }
    })
}

/// `relative_time(t, spec)`: `t` moved by the modifiers in `spec`; `None` for a spec that does not read.
pub fn relative_time(t: f64, spec: &str, tz: Tz) -> Option<f64> {
    let spec = spec.trim().to_ascii_lowercase();
    if spec.is_empty() || spec == "now" {
        return Some(t);
    }
    let b = spec.as_bytes();
    let mut i = 0;
    let mut t = t;
    while let Some(&c) = b.get(i) {
        match c {
            b'@' => {
                i += 1;
                let start = i;
                while b.get(i).is_some_and(|c| c.is_ascii_alphanumeric()) {
                    i += 1;
                }
                t = snap(t, unit(spec.get(start..i)?)?, tz)?;
            }
            b'+' | b'-' => {
                i += 1;
                let start = i;
                while b.get(i).is_some_and(|c| c.is_ascii_digit()) {
                    i += 1;
                }
                let n: i64 = if i == start {
                    1
                } else {
                    spec.get(start..i)?.parse().ok()?
                };
                let ustart = i;
                while b.get(i).is_some_and(|c| c.is_ascii_alphabetic()) {
                    i += 1;
                }
                let u = if i == ustart {
                    Unit::Sec
                } else {
                    unit(spec.get(ustart..i)?)?
                };
                let n = if c == b'-' { -n } else { n };
                t = shift(t, n, u, tz)?;
            }
            _ => return None,
        }
    }
    Some(t)
}

fn shift(t: f64, n: i64, u: Unit, tz: Tz) -> Option<f64> {
    let secs = match u {
        Unit::Sec => 1,
        Unit::Min => 60,
        Unit::Hour => 3600,
        _ => 0,
    };
    if secs > 0 {
        return Some(t + (n.checked_mul(secs)?) as f64);
    }
    let local = to_local(t, tz)?.naive_local();
    let moved = match u {
        Unit::Day => local.checked_add_signed(Duration::try_days(n)?)?,
        Unit::Week(_) => local.checked_add_signed(Duration::try_weeks(n)?)?,
        Unit::Month | Unit::Quarter | Unit::Year => {
            let per = match u {
                Unit::Month => 1,
                Unit::Quarter => 3,
                _ => 12,
            };
            let months = u32::try_from(n.checked_mul(per)?.unsigned_abs()).ok()?;
            if n >= 0 {
                local.checked_add_months(Months::new(months))?
            } else {
                local.checked_sub_months(Months::new(months))?
            }
        }
        _ => local,
    };
    from_local(moved, tz)
}

fn snap(t: f64, u: Unit, tz: Tz) -> Option<f64> {
    let local = to_local(t, tz)?.naive_local();
    let date = local.date();
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0);
    let snapped = match u {
        Unit::Sec => local.with_nanosecond(0)?,
        Unit::Min => local.with_nanosecond(0)?.with_second(0)?,
        Unit::Hour => local.with_nanosecond(0)?.with_second(0)?.with_minute(0)?,
        Unit::Day => midnight(date)?,
        Unit::Week(day) => {
            let want = day.unwrap_or(0);
            let today = date.weekday().num_days_from_sunday();
            let back = (today + 7 - want) % 7;
            midnight(date.checked_sub_signed(Duration::try_days(i64::from(back))?)?)?
        }
        Unit::Month => midnight(date.with_day(1)?)?,
        Unit::Quarter => {
            let m = (date.month() - 1) / 3 * 3 + 1;
            midnight(NaiveDate::from_ymd_opt(date.year(), m, 1)?)?
        }
        Unit::Year => midnight(NaiveDate::from_ymd_opt(date.year(), 1, 1)?)?,
    };
    from_local(snapped, tz)
}

/// A time as `earliest=`/`latest=` take it: a relative modifier (`-24h@h`, `@d`, `now`), epoch seconds, or
/// Splunk's absolute form `%m/%d/%Y:%H:%M:%S`.
pub fn parse_time_modifier(text: &str, now: f64, tz: Tz) -> Option<f64> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("now") {
        return Some(now);
    }
    if let Some(n) = crate::value::parse_num(t) {
        return Some(n);
    }
    if t.starts_with(['-', '+', '@']) {
        return relative_time(now, t, tz);
    }
    strptime(t, "%m/%d/%Y:%H:%M:%S", tz).or_else(|| strptime(t, "%m/%d/%Y", tz))
}
