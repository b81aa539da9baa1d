//! Text helpers of the eval functions: patterns (`like`, `match`, `replace`), `substr`, `trim`,
//! `urldecode`, `tostring`/`tonumber` formats, `printf`, and the IP functions.

use super::ParseError;
use crate::pcre::{regex_error_detail, CompileError, Pcre};
use crate::value::{format_num, parse_num, Value};
use regex::Regex;
use std::net::IpAddr;

/// Compile a regex argument (a Splunk PCRE pattern, see [`crate::pcre`]). A valid PCRE pattern that no
/// engine here runs is reported with "not supported" in `found`, so the caller can refuse it.
pub(crate) fn regex_arg(pattern: &str, offset: usize) -> Result<Pcre, ParseError> {
    Pcre::new(pattern).map_err(|e| {
        let detail = match e {
            CompileError::Invalid(d) => d,
            CompileError::Unsupported { feature, .. } => format!("{feature} is not supported"),
        };
        ParseError {
            offset,
            expected: "a regular expression".into(),
            found: format!("\"{pattern}\" ({detail})"),
        }
    })
}

/// SQL `LIKE` pattern as an anchored regex: `%` is any run of characters, `_` any one character.
/// Case-sensitive, as in Splunk.
pub(crate) fn like_regex(pattern: &str) -> Result<Regex, String> {
    let mut re = String::with_capacity(pattern.len() + 8);
    re.push_str("(?s)^");
    for c in pattern.chars() {
        match c {
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            other => re.push_str(&regex::escape(other.encode_utf8(&mut [0; 4]))),
        }
    }
    re.push('$');
    Regex::new(&re).map_err(|e| format!("\"{pattern}\" ({})", regex_error_detail(&e)))
}

/// A `replace` replacement in the `regex` crate's syntax: Splunk's `\1` is `${1}`, and a literal `$` is `$$`.
pub(crate) fn replacement(with: &str) -> String {
    let mut out = String::with_capacity(with.len());
    let mut chars = with.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek() {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = String::new();
                    while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                        n.push(*d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{n}}}"));
                }
                Some('\\') => {
                    out.push('\\');
                    chars.next();
                }
                _ => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

/// `trim`/`ltrim`/`rtrim`: remove characters of `set` (default: whitespace) from the chosen ends.
pub(crate) fn trim<'a>(t: &'a str, set: Option<&str>, left: bool, right: bool) -> &'a str {
    let strip = |c: char| match set {
        Some(set) => set.contains(c),
        None => c.is_whitespace(),
    };
    let t = if left { t.trim_start_matches(strip) } else { t };
    if right {
        t.trim_end_matches(strip)
    } else {
        t
    }
}

/// `substr(X, start, length)`: `start` counts from 1; a negative start counts from the end; no length
/// means to the end.
pub(crate) fn substr(t: &str, start: f64, len: Option<f64>) -> String {
    let chars: Vec<char> = t.chars().collect();
    let n = chars.len() as i64;
    let start = start.trunc() as i64;
    let from = if start > 0 {
        start - 1
    } else if start < 0 {
        (n + start).max(0)
    } else {
        0
    };
    let from = from.min(n);
    let to = match len {
        Some(l) => {
            let l = l.trunc() as i64;
            if l <= 0 {
                from
            } else {
                from.saturating_add(l).min(n)
            }
        }
        None => n,
    };
    chars
        .get(from as usize..to as usize)
        .map(|s| s.iter().collect())
        .unwrap_or_default()
}

/// Percent-decoding, with `+` as a space.
pub(crate) fn urldecode(t: &str) -> String {
    let b = t.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if c == b'+' { b' ' } else { c });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `tostring(X, format)` for one value; `None` when the format does not apply.
pub(crate) fn tostring(v: &Value, format: Option<&str>) -> Option<String> {
    let Some(format) = format else {
        return Some(v.text().into_owned());
    };
    let n = v.as_num()?;
    match format.to_ascii_lowercase().as_str() {
        "hex" => Some(if n < 0.0 {
            format!("-0x{:X}", (-n).trunc() as i64)
        } else {
            format!("0x{:X}", n.trunc() as i64)
        }),
        "commas" => {
            // Splunk rounds to two decimals and keeps them only when there is a fraction
            let r = round_to(n, 2);
            let text = if r.fract() == 0.0 {
                format!("{:.0}", r)
            } else {
                format!("{:.2}", r)
            };
            Some(group_thousands(&text))
        }
        "duration" => Some(duration(n)),
        _ => None,
    }
}

/// `1234567.5` → `1,234,567.5` (the integer part of decimal text gets commas).
pub(crate) fn group_thousands(text: &str) -> String {
    let (sign, body) = match text.strip_prefix('-') {
        Some(b) => ("-", b),
        None => ("", text),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Seconds as `[D+]HH:MM:SS[.ffffff]`.
fn duration(n: f64) -> String {
    let sign = if n < 0.0 { "-" } else { "" };
    let n = n.abs();
    let whole = n.trunc() as u64;
    let frac = n - n.trunc();
    let (d, h, m, s) = (
        whole / 86400,
        whole % 86400 / 3600,
        whole % 3600 / 60,
        whole % 60,
    );
    let mut out = String::from(sign);
    if d > 0 {
        out.push_str(&format!("{d}+"));
    }
    out.push_str(&format!("{h:02}:{m:02}:{s:02}"));
    if frac > 0.0 {
        let micros = (frac * 1e6).round().min(999_999.0) as u64;
        out.push_str(&format!(".{micros:06}"));
    }
    out
}

/// `tonumber(X, base)`: decimal text (and `0x` hex) in base 10; digits of `base` otherwise.
pub(crate) fn tonumber(t: &str, base: u32) -> Option<f64> {
    let t = t.trim();
    if base == 10 {
        if let Some(n) = parse_num(t) {
            return Some(n);
        }
    }
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (body, base) = if base == 10 || base == 16 {
        match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            Some(h) => (h, 16),
            None if base == 16 => (body, 16),
            None => return None,
        }
    } else {
        (body, base)
    };
    if body.is_empty() {
        return None;
    }
    let n = u64::from_str_radix(body, base).ok()? as f64;
    Some(if neg { -n } else { n })
}

/// `cidrmatch(cidr, ip)`: IPv4 or IPv6; a CIDR without `/` must equal the address.
pub(crate) fn cidr_match(cidr: &str, ip: &str) -> bool {
    let (net, bits) = match cidr.trim().split_once('/') {
        Some((n, b)) => (n, b.trim().parse::<u32>().ok()),
        None => (cidr.trim(), None),
    };
    let (Ok(net), Ok(ip)) = (net.trim().parse::<IpAddr>(), ip.trim().parse::<IpAddr>()) else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let bits = bits.unwrap_or(32);
            if bits > 32 {
                return false;
            }
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let bits = bits.unwrap_or(128);
            if bits > 128 {
                return false;
            }
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// `ipmask(mask, ip)`: bitwise AND of two IPv4 addresses.
pub(crate) fn ipmask(mask: &str, ip: &str) -> Option<String> {
    let m: std::net::Ipv4Addr = mask.trim().parse().ok()?;
    let a: std::net::Ipv4Addr = ip.trim().parse().ok()?;
    Some(std::net::Ipv4Addr::from(u32::from(m) & u32::from(a)).to_string())
}

/// `printf(format, values...)`: C conversions `%d %i %u %s %f %F %e %E %g %G %x %X %o %c %%` with flags
/// `-+ 0#'`, width and precision (`*` takes them from the next value). A null value prints as empty
/// text or zero; a missing one the same.
pub(crate) fn printf(format: &str, values: &[Option<Value>]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut args = values.iter();
    let mut next_arg = || args.next().cloned().flatten();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.left = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                '#' => spec.alt = true,
                '\'' => spec.group = true,
                _ => break,
            }
            chars.next();
        }
        if chars.peek() == Some(&'*') {
            chars.next();
            let w = next_arg().and_then(|v| v.as_num()).unwrap_or(0.0);
            if w < 0.0 {
                spec.left = true;
            }
            spec.width = w.abs().min(1024.0) as usize;
        } else {
            spec.width = read_count(&mut chars);
        }
        if chars.peek() == Some(&'.') {
            chars.next();
            if chars.peek() == Some(&'*') {
                chars.next();
                let p = next_arg().and_then(|v| v.as_num()).unwrap_or(0.0);
                spec.precision = (p >= 0.0).then_some(p.min(1024.0) as usize);
            } else {
                spec.precision = Some(read_count(&mut chars));
            }
        }
        // length modifiers mean nothing here
        while chars
            .peek()
            .is_some_and(|c| matches!(c, 'h' | 'l' | 'L' | 'q' | 'j' | 'z' | 't'))
        {
            chars.next();
        }
        let Some(conv) = chars.next() else {
            out.push('%');
            break;
        };
        let piece = match conv {
            '%' => {
                out.push('%');
                continue;
            }
            'd' | 'i' | 'u' => {
                let n = next_arg().and_then(|v| v.as_num()).unwrap_or(0.0).trunc();
                let mut digits = format!("{}", n.abs() as u64);
                if let Some(p) = spec.precision {
                    while digits.len() < p {
                        digits.insert(0, '0');
                    }
                }
                if spec.group {
                    digits = group_thousands(&digits);
                }
                spec.signed(n < 0.0, digits)
            }
            'f' | 'F' => {
                let n = next_arg().and_then(|v| v.as_num()).unwrap_or(0.0);
                let mut digits = format!("{:.*}", spec.precision.unwrap_or(6), n.abs());
                if spec.alt && !digits.contains('.') {
                    digits.push('.');
                }
                if spec.group {
                    digits = group_thousands(&digits);
                }
                spec.signed(n.is_sign_negative() && n != 0.0, digits)
            }
            'e' | 'E' => {
                let n = next_arg().and_then(|v| v.as_num()).unwrap_or(0.0);
                let digits = exp_form(n.abs(), spec.precision.unwrap_or(6), conv == 'E');
                spec.signed(n < 0.0, digits)
            }
            'g' | 'G' => {
                let n = next_arg().and_then(|v| v.as_num()).unwrap_or(0.0);
                let digits =
                    general_form(n.abs(), spec.precision.unwrap_or(6), spec.alt, conv == 'G');
                spec.signed(n < 0.0, digits)
            }
            'x' | 'X' | 'o' => {
                let n = next_arg().and_then(|v| v.as_num()).unwrap_or(0.0).trunc();
                let u = n as i64 as u64;
                let (digits, prefix) = match conv {
                    'x' => (format!("{u:x}"), "0x"),
                    'X' => (format!("{u:X}"), "0X"),
                    _ => (format!("{u:o}"), "0"),
                };
                let digits = if spec.alt && u != 0 {
                    format!("{prefix}{digits}")
                } else {
                    digits
                };
                spec.pad_number(String::new(), digits)
            }
            'c' => {
                let c = match next_arg() {
                    Some(Value::Num(n)) => char::from_u32(n as u32)
                        .map(String::from)
                        .unwrap_or_default(),
                    Some(v) => v
                        .text()
                        .chars()
                        .next()
                        .map(String::from)
                        .unwrap_or_default(),
                    None => String::new(),
                };
                spec.pad_text(c)
            }
            's' => {
                let mut t = next_arg()
                    .map(|v| v.text().into_owned())
                    .unwrap_or_default();
                if let Some(p) = spec.precision {
                    t = t.chars().take(p).collect();
                }
                spec.pad_text(t)
            }
            other => {
                // not a conversion: print it as written
                let mut t = String::from('%');
                t.push(other);
                t
            }
        };
        out.push_str(&piece);
    }
    out
}

#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    zero: bool,
    alt: bool,
    group: bool,
    width: usize,
    precision: Option<usize>,
}

impl Spec {
    fn signed(&self, negative: bool, digits: String) -> String {
        let sign = if negative {
            "-"
        } else if self.plus {
            "+"
        } else if self.space {
            " "
        } else {
            ""
        };
        self.pad_number(sign.to_string(), digits)
    }

    fn pad_number(&self, sign: String, digits: String) -> String {
        let len = sign.chars().count() + digits.chars().count();
        if len >= self.width {
            return sign + &digits;
        }
        let fill = self.width - len;
        if self.left {
            format!("{sign}{digits}{}", " ".repeat(fill))
        } else if self.zero {
            format!("{sign}{}{digits}", "0".repeat(fill))
        } else {
            format!("{}{sign}{digits}", " ".repeat(fill))
        }
    }

    fn pad_text(&self, t: String) -> String {
        let len = t.chars().count();
        if len >= self.width {
            return t;
        }
        let fill = " ".repeat(self.width - len);
        if self.left {
            t + &fill
        } else {
            fill + &t
        }
    }
}

fn read_count(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> usize {
    let mut n: usize = 0;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = n.saturating_mul(10).saturating_add(d as usize).min(1024);
        chars.next();
    }
    n
}

/// `1.500000e+03` (C's `%e` of a non-negative number).
fn exp_form(n: f64, precision: usize, upper: bool) -> String {
    let s = format!("{:.*e}", precision, n);
    let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let e = if upper { 'E' } else { 'e' };
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mant}{e}{sign}{:02}", exp.abs())
}

/// C's `%g`: fixed or exponent form, whichever suits the exponent, trailing zeros removed.
fn general_form(n: f64, precision: usize, alt: bool, upper: bool) -> String {
    let p = precision.max(1);
    if n == 0.0 {
        return "0".into();
    }
    let exp = format!("{:.*e}", p - 1, n)
        .split_once('e')
        .and_then(|(_, e)| e.parse::<i32>().ok())
        .unwrap_or(0);
    let s = if exp < -4 || exp >= p as i32 {
        exp_form(n, p - 1, upper)
    } else {
        format!("{:.*}", (p as i32 - 1 - exp).max(0) as usize, n)
    };
    if alt {
        return s;
    }
    // drop trailing zeros of the fraction (before any exponent)
    let (body, tail) = match s.find(['e', 'E']) {
        Some(i) => s.split_at(i),
        None => (s.as_str(), ""),
    };
    let body = if body.contains('.') {
        body.trim_end_matches('0').trim_end_matches('.')
    } else {
        body
    };
    format!("{body}{tail}")
}

/// Round half away from zero to `digits` decimals (negative: to tens, hundreds ...). Rounding works on
/// the number's shortest decimal text, so `round(2.675, 2)` is 2.68 as written, not 2.67 as stored.
pub(crate) fn round_to(x: f64, digits: i32) -> f64 {
    if digits <= 0 {
        let m = 10f64.powi(-digits);
        return (x / m).round() * m;
    }
    half_up_from_text(&format_num(x), digits as usize).unwrap_or_else(|| {
        let m = 10f64.powi(digits);
        (x * m).round() / m
    })
}

/// Round decimal text half away from zero at `digits` decimals, on the digits as written.
fn half_up_from_text(text: &str, digits: usize) -> Option<f64> {
    if text.contains(['e', 'E']) {
        return None;
    }
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if frac.len() <= digits {
        return text.parse().ok();
    }
    let keep = frac.get(..digits)?;
    let next = frac.as_bytes().get(digits).copied()?;
    let mut n: f64 = format!("{int}.{keep}").parse().ok()?;
    if next >= b'5' {
        n += 10f64.powi(-(digits as i32));
    }
    let n: f64 = format!("{:.*}", digits, n).parse().ok()?;
    Some(if neg { -n } else { n })
}
