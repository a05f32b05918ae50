//! What promtool says of its failures (on stderr, file after file, each
//! failure under its test group's `name:`): for each evaluation where the
//! alerts it saw differ from the ones asked for, what it got (labels and
//! rendered annotations), and the rules that failed to evaluate. A test
//! that asks for no alert at every evaluation thus learns, from promtool's
//! own words, when the alert fires and with what. Also the durations
//! promtool writes (`3d10m`, `1m30s500ms`).

use std::collections::BTreeMap;

use serde::Serialize;

/// One alert promtool saw firing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alerted {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// By evaluation time (ms): the alerts promtool got where they were not
/// what was asked for.
pub type Got = BTreeMap<u64, Vec<Alerted>>;

/// What promtool said of its failures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Said {
    /// By test group name (`""` for a group without one).
    pub got: BTreeMap<String, Got>,
    /// Rules that failed to evaluate: the rule's name, promtool's words.
    pub errors: Vec<(String, String)>,
    /// Anything else it said (a rule file it could not load).
    pub other: Vec<String>,
}

/// Reads what promtool wrote on stderr.
pub fn read(text: &str) -> Said {
    let mut said = Said::default();
    let mut group = String::new();
    let mut current: Option<u64> = None;
    let mut in_got = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix("name: ") {
            group = name.trim_end_matches(',').to_string();
        } else if let Some(rest) = line.strip_prefix("alertname: ") {
            current = rest
                .split_once("time: ")
                .and_then(|(_, t)| parse_duration(t.trim_end_matches(',').trim()));
            if let Some(t) = current {
                said.got
                    .entry(group.clone())
                    .or_default()
                    .entry(t)
                    .or_default();
            }
            in_got = false;
        } else if line.starts_with("got:") {
            in_got = true;
        } else if line.starts_with("exp:") {
            in_got = false;
        } else if let Some(rest) = line.strip_prefix("Labels:") {
            if let (true, Some(t)) = (in_got, current) {
                let at = said
                    .got
                    .entry(group.clone())
                    .or_default()
                    .entry(t)
                    .or_default();
                at.push(Alerted {
                    labels: label_set(rest),
                    annotations: BTreeMap::new(),
                });
            }
        } else if let Some(rest) = line.strip_prefix("Annotations:") {
            if let (true, Some(t)) = (in_got, current) {
                let at = said
                    .got
                    .entry(group.clone())
                    .or_default()
                    .entry(t)
                    .or_default();
                if let Some(last) = at.last_mut() {
                    last.annotations = label_set(rest.trim_end_matches(','));
                }
            }
        } else if let Some(rest) = line.strip_prefix("rule: ") {
            let name = rest.split_once(", ").map_or(rest, |(n, _)| n);
            said.errors.push((name.to_string(), line.to_string()));
        } else if !(line.is_empty()
            || line == "]"
            || line == "FAILED:"
            || line.starts_with("Unit Testing:")
            || line
                .strip_suffix(':')
                .is_some_and(|n| n.parse::<usize>().is_ok()))
        {
            said.other.push(line.to_string());
        }
    }
    said
}

/// `{a="b", c="d\n"}` as Go prints a label set (values quoted as Go
/// quotes them).
fn label_set(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let inner = text.trim().trim_start_matches('{').trim_end_matches('}');
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if name.is_empty() || chars.next() != Some('"') {
            break;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => unescape(&mut chars, &mut value),
                c => value.push(c),
            }
        }
        labels.insert(name.trim().to_string(), value);
    }
    labels
}

/// One escape of a Go-quoted string (`strconv.Quote`), the backslash read.
fn unescape(chars: &mut std::iter::Peekable<std::str::Chars>, into: &mut String) {
    let hex = |chars: &mut std::iter::Peekable<std::str::Chars>, n: usize| {
        let digits: String = chars.by_ref().take(n).collect();
        u32::from_str_radix(&digits, 16)
            .ok()
            .and_then(char::from_u32)
    };
    match chars.next() {
        Some('n') => into.push('\n'),
        Some('t') => into.push('\t'),
        Some('r') => into.push('\r'),
        Some('a') => into.push('\u{7}'),
        Some('b') => into.push('\u{8}'),
        Some('f') => into.push('\u{c}'),
        Some('v') => into.push('\u{b}'),
        Some('x') => into.extend(hex(chars, 2)),
        Some('u') => into.extend(hex(chars, 4)),
        Some('U') => into.extend(hex(chars, 8)),
        Some(other) => into.push(other),
        None => {}
    }
}

/// Units of Prometheus's durations, longest first (`ms` before `m`).
const UNITS: &[(&str, u64)] = &[
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("ms", 1),
    ("m", 60_000),
    ("s", 1000),
];

/// `3d10m`, `1m30s500ms`, `0s` in milliseconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let mut rest = text;
    let mut total = 0u64;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, ms) = UNITS.iter().find(|(u, _)| rest.starts_with(u))?;
        total += n * ms;
        rest = &rest[unit.len()..];
    }
    Some(total)
}

/// Milliseconds as Prometheus writes a duration (`1h2m30s`, `0s`); years
/// and weeks only when exact.
pub fn duration_text(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut rest = ms;
    let mut text = String::new();
    for (unit, size) in [
        ("y", 365 * 86_400_000u64),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        let exact_only = matches!(unit, "y" | "w");
        if exact_only && !rest.is_multiple_of(size) {
            continue;
        }
        let n = rest / size;
        if n > 0 {
            text.push_str(&format!("{n}{unit}"));
            rest -= n * size;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_promtool_got_is_read_back() {
        let text = r#"  FAILED:
    name: alert-3,
    alertname: A, time: 3d10m, 
        exp:[], 
        got:[
            0:
              Labels:{alertname="A", severity="page"}
              Annotations:{summary="ratio \"1\" on \u00e9\n"},
            1:
              Labels:{alertname="A", job="b"}
              Annotations:{}
            ]
    rule: B, time: 48h0m0s, err: query processing would load too many samples
"#;
        let said = read(text);
        let got = &said.got["alert-3"][&(3 * 86_400_000 + 600_000)];
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].labels["severity"], "page");
        assert_eq!(got[0].annotations["summary"], "ratio \"1\" on é\n");
        assert_eq!(got[1].labels["job"], "b");
        assert_eq!(said.errors[0].0, "B");
        assert!(said.other.is_empty(), "{said:?}");
    }

    #[test]
    fn durations_round_trip() {
        for ms in [0, 1500, 90_000, 3_600_000 + 500, 86_400_000 * 3 + 600_000] {
            assert_eq!(parse_duration(&duration_text(ms)), Some(ms), "{ms}");
        }
        assert_eq!(duration_text(90_500), "1m30s500ms");
        assert_eq!(parse_duration("1w"), Some(7 * 86_400_000));
    }
}
