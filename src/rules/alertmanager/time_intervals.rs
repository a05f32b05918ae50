//! Alertmanager's time intervals (`time_intervals` and the older
//! `mute_time_intervals` definitions: times of day, weekdays, days of the
//! month, months, years, location), and what they do to a route that names
//! them: muted while one of its `mute_time_intervals` holds, and while none
//! of its `active_time_intervals` does (timeinterval/timeinterval.go).
//!
//! The question answered is the one that matters without a clock: is the
//! route muted always, never, or at some times (and which)? "Always" is
//! decided day by day over four years (every weekday, month length and leap
//! day): each day's union of muting times must cover the whole day. Years
//! and locations keep an interval from covering all time unless one spec
//! alone does.

use serde_norway::Value;

use super::ConfigError;

/// A named time interval: muting (or active) whenever one of its specs holds.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeInterval {
    pub name: String,
    pub specs: Vec<TimeSpec>,
}

/// One spec: every field it sets must hold (an empty field always holds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeSpec {
    /// Minutes of the day, [start, end).
    pub times: Vec<(u32, u32)>,
    /// 0 (Sunday) … 6, inclusive ranges.
    pub weekdays: Vec<(u32, u32)>,
    /// 1 … 31, or from the month's end (−1 the last day), inclusive.
    pub days_of_month: Vec<(i32, i32)>,
    /// 1 … 12, inclusive.
    pub months: Vec<(u32, u32)>,
    pub years: Vec<(i32, i32)>,
    pub location: Option<String>,
    /// As written, for messages.
    pub text: String,
}

/// What a route's time intervals do to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Muting {
    Never,
    /// Muted at every moment, by these intervals.
    Always {
        by: Vec<String>,
    },
    /// Muted at some moments: which intervals, and when.
    Sometimes {
        by: Vec<String>,
        when: String,
    },
}

impl Muting {
    pub fn text(&self) -> String {
        match self {
            Muting::Never => "never muted".into(),
            Muting::Always { by } => format!("muted always (by {})", by.join(", ")),
            Muting::Sometimes { by, when } => {
                format!("muted at these times (by {}): {when}", by.join(", "))
            }
        }
    }
}

const WEEKDAYS: &[&str] = &[
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: &[&str] = &[
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

/// The intervals defined under `time_intervals` and `mute_time_intervals`.
pub fn read(config: &Value) -> Result<Vec<TimeInterval>, ConfigError> {
    let mut all = Vec::new();
    for key in ["time_intervals", "mute_time_intervals"] {
        let Some(list) = config.get(key).and_then(Value::as_sequence) else {
            continue;
        };
        for (i, entry) in list.iter().enumerate() {
            let path = format!("{key}[{i}]");
            let at = |e: ConfigError| ConfigError::At {
                path: path.clone(),
                source: Box::new(e),
            };
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    at(ConfigError::NotAString {
                        key: key.into(),
                        name: "name".into(),
                    })
                })?
                .to_string();
            let mut specs = Vec::new();
            for spec in entry
                .get("time_intervals")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                specs.push(spec_of(spec).map_err(at)?);
            }
            all.push(TimeInterval { name, specs });
        }
    }
    Ok(all)
}

fn invalid(key: &str, text: &str) -> ConfigError {
    ConfigError::Duration {
        key: key.into(),
        text: text.into(),
        message: "not a valid time interval".into(),
    }
}

fn spec_of(value: &Value) -> Result<TimeSpec, ConfigError> {
    let strings = |key: &str| -> Vec<String> {
        value
            .get(key)
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect()
    };
    let mut spec = TimeSpec {
        location: value
            .get("location")
            .and_then(Value::as_str)
            .map(str::to_string),
        text: serde_norway::to_string(value)
            .unwrap_or_default()
            .trim()
            .replace('\n', ", "),
        ..TimeSpec::default()
    };
    for time in value
        .get("times")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let clock = |key: &str| {
            let text = time.get(key).and_then(Value::as_str).unwrap_or_default();
            minutes(text).ok_or_else(|| invalid(&format!("times.{key}"), text))
        };
        spec.times.push((clock("start_time")?, clock("end_time")?));
    }
    // Alertmanager refuses a range that ends before it starts
    // (`saturday:sunday`): so does this reading, rather than judge it empty.
    let ordered = |r: (u32, u32)| (r.0 <= r.1).then_some(r);
    for text in strings("weekdays") {
        spec.weekdays.push(
            range(&text, |t| named(t, WEEKDAYS, 0))
                .and_then(ordered)
                .ok_or_else(|| invalid("weekdays", &text))?,
        );
    }
    for text in strings("months") {
        spec.months.push(
            range(&text, |t| named(t, MONTHS, 1))
                .and_then(ordered)
                .ok_or_else(|| invalid("months", &text))?,
        );
    }
    for text in strings("days_of_month") {
        spec.days_of_month
            .push(range(&text, |t| t.parse().ok()).ok_or_else(|| invalid("days_of_month", &text))?);
    }
    for text in strings("years") {
        spec.years
            .push(range(&text, |t| t.parse().ok()).ok_or_else(|| invalid("years", &text))?);
    }
    Ok(spec)
}

/// `HH:MM` (24:00 the day's end) in minutes.
fn minutes(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

/// `a:b` or `a`, each end read by `one`.
fn range<T: Copy>(text: &str, one: impl Fn(&str) -> Option<T>) -> Option<(T, T)> {
    match text.split_once(':') {
        Some((a, b)) => Some((one(a.trim())?, one(b.trim())?)),
        None => one(text.trim()).map(|v| (v, v)),
    }
}

/// A weekday or month by name (or number), from `first`.
fn named(text: &str, names: &[&str], first: u32) -> Option<u32> {
    let lower = text.to_lowercase();
    names
        .iter()
        .position(|n| *n == lower)
        .map(|p| p as u32 + first)
        .or_else(|| lower.parse().ok())
}

/// A day of the calendar, as the specs look at it.
struct Day {
    weekday: u32,
    day: i32,
    days_in_month: i32,
    month: u32,
}

/// Days from 2024-01-01 (a Monday) through 2027-12-31: every weekday of
/// every month, a leap February among them.
fn days() -> Vec<Day> {
    let mut all = Vec::new();
    let mut weekday = 1;
    for year in 2024..2028 {
        for month in 1..=12u32 {
            let length = match month {
                2 if year % 4 == 0 => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            for day in 1..=length {
                all.push(Day {
                    weekday,
                    day,
                    days_in_month: length,
                    month,
                });
                weekday = (weekday + 1) % 7;
            }
        }
    }
    all
}

impl TimeSpec {
    fn holds_on(&self, d: &Day) -> bool {
        let within = |(a, b): (u32, u32), v: u32| a <= v && v <= b;
        let day_ok = self.days_of_month.iter().any(|&(a, b)| {
            let resolve = |x: i32| if x < 0 { d.days_in_month + 1 + x } else { x };
            (resolve(a)..=resolve(b)).contains(&d.day)
        });
        (self.weekdays.is_empty() || self.weekdays.iter().any(|&r| within(r, d.weekday)))
            && (self.months.is_empty() || self.months.iter().any(|&r| within(r, d.month)))
            && (self.days_of_month.is_empty() || day_ok)
    }

    /// Minutes of the day it holds (the whole day without `times`).
    fn minutes(&self) -> Vec<(u32, u32)> {
        if self.times.is_empty() {
            vec![(0, 1440)]
        } else {
            self.times.clone()
        }
    }
}

/// Whether the specs together hold at every moment.
fn always(specs: &[&TimeSpec]) -> bool {
    let timeless: Vec<&&TimeSpec> = specs.iter().filter(|s| s.years.is_empty()).collect();
    let one_place = timeless
        .iter()
        .all(|s| s.location == timeless.first().and_then(|f| f.location.clone()));
    let candidates: Vec<&&TimeSpec> = if one_place { timeless } else { Vec::new() };
    !candidates.is_empty()
        && days().iter().all(|day| {
            let mut spans: Vec<(u32, u32)> = candidates
                .iter()
                .filter(|s| s.holds_on(day))
                .flat_map(|s| s.minutes())
                .collect();
            spans.sort_unstable();
            let mut covered = 0;
            for (start, end) in spans {
                if start > covered {
                    return false;
                }
                covered = covered.max(end);
            }
            covered >= 1440
        })
}

/// Whether the specs hold at no moment (of any year: years are not judged
/// against a clock).
fn never(specs: &[&TimeSpec]) -> bool {
    specs.iter().all(|s| {
        s.times.iter().all(|(a, b)| a >= b) && !s.times.is_empty()
            || !days().iter().any(|d| s.holds_on(d))
    })
}

/// What `mute` and `active` (the interval names a route gives) do to it.
pub fn muting(intervals: &[TimeInterval], mute: &[String], active: &[String]) -> Muting {
    let specs_of = |names: &[String]| -> Vec<&TimeSpec> {
        intervals
            .iter()
            .filter(|i| names.contains(&i.name))
            .flat_map(|i| &i.specs)
            .collect()
    };
    let (muting, activating) = (specs_of(mute), specs_of(active));
    if !mute.is_empty() && always(&muting) {
        return Muting::Always { by: mute.to_vec() };
    }
    if !active.is_empty() && never(&activating) {
        return Muting::Always {
            by: active.to_vec(),
        };
    }
    let mute_never = mute.is_empty() || never(&muting);
    let active_always = active.is_empty() || always(&activating);
    if mute_never && active_always {
        return Muting::Never;
    }
    let mut by = Vec::new();
    let mut when = Vec::new();
    if !mute_never {
        by.extend(mute.iter().cloned());
        when.extend(muting.iter().map(|s| s.text.clone()));
    }
    if !active_always {
        by.extend(active.iter().cloned());
        when.push(format!(
            "outside {}",
            activating
                .iter()
                .map(|s| s.text.clone())
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    Muting::Sometimes {
        by,
        when: when.join("; "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intervals(yaml: &str) -> Vec<TimeInterval> {
        read(&serde_norway::from_str(yaml).unwrap()).unwrap()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_week_covered_in_pieces_is_always_and_a_weekend_is_sometimes() {
        let defined = intervals(
            r#"
time_intervals:
  - name: workdays
    time_intervals:
      - weekdays: ['monday:friday']
  - name: weekend
    time_intervals:
      - weekdays: ['saturday', 'sunday']
  - name: nights
    time_intervals:
      - times: [{start_time: '00:00', end_time: '08:00'}, {start_time: '08:00', end_time: '24:00'}]
mute_time_intervals:
  - name: february-30th
    time_intervals:
      - months: ['february']
        days_of_month: ['30']
"#,
        );
        let muted = |mute: &[&str], active: &[&str]| muting(&defined, &names(mute), &names(active));
        assert!(matches!(
            muted(&["workdays", "weekend"], &[]),
            Muting::Always { .. }
        ));
        assert!(matches!(muted(&["nights"], &[]), Muting::Always { .. }));
        assert!(matches!(muted(&["weekend"], &[]), Muting::Sometimes { .. }));
        assert_eq!(muted(&["february-30th"], &[]), Muting::Never);
        // Active only on a day that never comes: muted always.
        assert!(matches!(
            muted(&[], &["february-30th"]),
            Muting::Always { .. }
        ));
        assert!(matches!(muted(&[], &["weekend"]), Muting::Sometimes { .. }));
        assert_eq!(muted(&[], &[]), Muting::Never);
    }

    #[test]
    fn a_range_ending_before_it_starts_is_refused_as_alertmanager_does() {
        let yaml = "time_intervals:\n  - name: w\n    time_intervals:\n      - weekdays: ['saturday:sunday']\n";
        assert!(read(&serde_norway::from_str(yaml).unwrap()).is_err());
    }
}
