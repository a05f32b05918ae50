//! `window:` on the SLO checks: the SLO is judged over every window of that
//! length inside the phase, not over the phase as a whole, and the verdict
//! is the worst window's value and when it happened; `for: N` fails only
//! when N windows back to back are bad.
//!
//! Windows slide, stepped by one second (the resolution of the phase's
//! per-second series), rather than tumble. A tumbling grid can cut a spike
//! in two halves that each pass: a 2-second spike across the edge of two
//! 5-second windows gives each 1 slow second of 5 (20% of its requests, so
//! a p75 bound holds in both); one of the sliding windows holds the whole
//! spike (40%), and its p75 is the spike's. `for: N`
//! asks for N windows back to back (N × window of bad time) at any
//! alignment, checked at every second.
//!
//! Client-side windows merge the per-second HDR histograms report.json
//! already keeps (a running sum: one second added, one taken away), so
//! `merge` of shards keeps them exact. Those histograms hold two
//! significant digits: a window's quantile is its bucket's upper end, at
//! most 0.8% above the true value (a pass is never wrong; a value within
//! that of the bound may fail). Service-side windows are `increase()` over
//! the window, stepped by the scrape interval (`drill::collect`).
//!
//! Knows the records and the plan's window; each SLO kind calls it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::format::CheckSpec;
use super::validate::CheckContext;
use crate::record::{Counts, LatencyHistogram, SecondStats, ServiceWindows};
use crate::spec::{scaled, FieldPath, Validator};

/// A window an SLO is judged over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlidingWindow {
    /// Its length in whole seconds, scaled.
    pub seconds: u32,
    /// How many windows back to back must be bad before the check fails.
    pub consecutive: u32,
}

impl SlidingWindow {
    /// `5s windows`, `3 5s windows back to back`.
    pub fn describe(&self) -> String {
        match self.consecutive {
            1 => format!("{}s windows", self.seconds),
            n => format!("{n} {}s windows back to back", self.seconds),
        }
    }
}

/// `window` (and `for`) of an SLO check over `phase`; problems go to `v`.
pub fn read_window(
    spec: &CheckSpec,
    path: &FieldPath,
    context: &CheckContext,
    phase: usize,
    v: &mut Validator,
) -> Option<SlidingWindow> {
    let Some(written) = spec.window else {
        if spec.r#for.is_some() {
            v.problem(
                path.key("for"),
                "`for` counts windows: it goes with `window`",
            );
        }
        return None;
    };
    let consecutive = match &spec.r#for {
        None => 1,
        Some(text) => {
            match consecutive(&text.0) {
                Some(n) => n,
                None => {
                    v.problem(
                    path.key("for"),
                    format!("`for: {}`: write a number of windows, e.g. `for: 3` or `for: 3 windows`", text.0),
                );
                    return None;
                }
            }
        }
    };
    let length = scaled(written.0, context.scale);
    let seconds = length.as_secs_f64();
    if seconds < 1.0 - 1e-9 || (seconds - seconds.round()).abs() > 1e-3 {
        v.problem(
            path.key("window"),
            format!(
                "`window: {written}` is {} under time_scale {}: windows slide over the phase's per-second series, so they are whole seconds (at least 1s) as run",
                crate::time::format_duration(length),
                crate::time::trim_float(context.scale)
            ),
        );
        return None;
    }
    let window = SlidingWindow {
        seconds: seconds.round() as u32,
        consecutive,
    };
    fits(context, phase, window, path, v);
    Some(window)
}

/// `3`, `3 windows`, `1 window`.
fn consecutive(text: &str) -> Option<u32> {
    let number = text
        .trim()
        .trim_end_matches("windows")
        .trim_end_matches("window")
        .trim();
    number.parse::<u32>().ok().filter(|n| *n >= 1)
}

/// N windows back to back must fit in the phase, or the check could never
/// fail.
fn fits(
    context: &CheckContext,
    phase: usize,
    window: SlidingWindow,
    path: &FieldPath,
    v: &mut Validator,
) {
    let Some((start, end)) = context.windows.as_ref().and_then(|w| w.get(phase)) else {
        return;
    };
    let needed = Duration::from_secs(u64::from(window.seconds * window.consecutive));
    if *end - *start + Duration::from_millis(1) < needed {
        v.problem(
            path.key("window"),
            format!(
                "{} need {} of the phase, and it runs {} (as run)",
                window.describe(),
                crate::time::format_duration(needed),
                crate::time::format_duration(*end - *start)
            ),
        );
    }
}

/// One window position's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowValue {
    /// Where it starts, in seconds from the phase's start.
    pub from: f64,
    /// None: no request in it (nothing to judge).
    pub value: Option<f64>,
    /// Requests it holds (answers, for latency).
    pub requests: u64,
    /// Between windows of the same value, the worse: the higher mean
    /// latency (a window all inside a spike before one that grazes it).
    pub tiebreak: f64,
}

/// How many windows of `length` slide over a series: every start from 0
/// while the window ends within the phase's seconds (and the series' last,
/// which holds answers that came after the phase's end); one window over
/// the whole series when it is shorter.
fn positions(series: &[SecondStats], phase_seconds: u32, length: u32) -> (u32, u32) {
    let last = series.last().map_or(0, |s| s.second + 1);
    let span = last.max(phase_seconds);
    let length = length.min(span.max(1));
    (span.saturating_sub(length) + 1, length)
}

/// The latency quantile `q` (ms) of every window position.
pub fn latency_windows(
    series: &[SecondStats],
    phase_seconds: u32,
    length: u32,
    q: f64,
) -> Vec<WindowValue> {
    let (count, length) = positions(series, phase_seconds, length);
    let mut by_second: Vec<Option<LatencyHistogram>> = vec![None; (count + length) as usize];
    for s in series {
        if let Some(slot) = by_second.get_mut(s.second as usize) {
            *slot = Some(s.latency());
        }
    }
    let mut sum = LatencyHistogram::coarse();
    let mut out = Vec::with_capacity(count as usize);
    for from in 0..count {
        if from == 0 {
            for h in by_second[..length as usize].iter().flatten() {
                sum.add(h);
            }
        } else {
            let leaving = by_second[(from - 1) as usize].as_ref();
            let entering = by_second[(from + length - 1) as usize].as_ref();
            if let Some(h) = entering {
                sum.add(h);
            }
            // Taking away what was added cannot underflow; if it ever did,
            // the window is summed again from its seconds.
            if let Some(h) = leaving {
                if sum.0.subtract(&h.0).is_err() {
                    sum = LatencyHistogram::coarse();
                    for h in by_second[from as usize..(from + length) as usize]
                        .iter()
                        .flatten()
                    {
                        sum.add(h);
                    }
                }
            }
        }
        out.push(WindowValue {
            from: f64::from(from),
            value: (sum.count() > 0).then(|| sum.quantile_ms(q)),
            requests: sum.count(),
            tiebreak: sum.0.mean(),
        });
    }
    out
}

/// The error ratio (failed over all requests) of every window position.
pub fn error_ratio_windows(
    series: &[SecondStats],
    phase_seconds: u32,
    length: u32,
) -> Vec<WindowValue> {
    let (count, length) = positions(series, phase_seconds, length);
    let mut by_second = vec![Counts::default(); (count + length) as usize];
    for s in series {
        if let Some(slot) = by_second.get_mut(s.second as usize) {
            *slot = s.counts;
        }
    }
    (0..count)
        .map(|from| {
            let mut sum = Counts::default();
            for c in &by_second[from as usize..(from + length) as usize] {
                sum.add(c);
            }
            WindowValue {
                from: f64::from(from),
                value: (sum.requests > 0).then(|| sum.failed() as f64 / sum.requests as f64),
                requests: sum.requests,
                tiebreak: sum.failed() as f64,
            }
        })
        .collect()
}

/// Windows Prometheus answered, as window positions: each starts a window
/// before its end, in seconds from the phase's start (`phase_start`,
/// Prometheus time); values multiplied by `unit` (1000: seconds to ms).
pub fn observed_windows(
    observed: &ServiceWindows,
    phase_start: f64,
    unit: f64,
) -> Vec<WindowValue> {
    observed
        .windows
        .iter()
        .map(|w| WindowValue {
            from: w.end_at - observed.window_seconds - phase_start,
            value: w.value.map(|v| v * unit),
            requests: w.requests_seen.map_or(0, |r| r.round().max(0.0) as u64),
            tiebreak: 0.0,
        })
        .collect()
}

/// The worst window and the first run of bad ones, in seconds from the
/// run's start.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowFigures {
    pub window_seconds: u32,
    /// `for`: windows back to back needed to fail.
    pub consecutive: u32,
    /// Windows with requests in them (the others are not judged).
    pub windows_judged: usize,
    /// Windows whose value was not under the bound.
    pub windows_over: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst: Option<WorstWindow>,
    /// The first `consecutive` bad windows back to back: from the first's
    /// start to the last's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach_from_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach_to_seconds: Option<f64>,
    /// Of the histograms the windows were read from (client side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub significant_digits: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorstWindow {
    pub from_seconds: f64,
    pub to_seconds: f64,
    pub value: f64,
    pub requests: u64,
}

/// Judges windows: the worst (the highest value), how many were `bad`, and
/// the first run of `consecutive` bad ones back to back. Windows start
/// `step` seconds apart; `offset` is the phase's start in seconds from the
/// run's start.
pub fn figures(
    windows: &[WindowValue],
    window: SlidingWindow,
    step: f64,
    offset: f64,
    bad: impl Fn(usize, &WindowValue) -> bool,
) -> WindowFigures {
    let flags: Vec<bool> = windows
        .iter()
        .enumerate()
        .map(|(i, w)| w.value.is_some() && bad(i, w))
        .collect();
    let worst = windows.iter().filter_map(|w| w.value.map(|v| (w, v))).fold(
        None,
        |best: Option<(&WindowValue, f64)>, (w, v)| match best {
            Some((bw, b)) if b > v || (b == v && bw.tiebreak >= w.tiebreak) => best,
            _ => Some((w, v)),
        },
    );
    let length = f64::from(window.seconds);
    let at = |from: f64, k: u32| from + f64::from(k) * length;
    // The k-th window after window i starts k lengths later: about
    // k × length / step positions on.
    let breach = (0..windows.len()).find(|&i| {
        (0..window.consecutive).all(|k| {
            let j = i + (f64::from(k) * length / step).round() as usize;
            windows
                .get(j)
                .is_some_and(|w| (w.from - at(windows[i].from, k)).abs() < step / 2.0 && flags[j])
        })
    });
    let breach = breach.map(|i| &windows[i]);
    WindowFigures {
        window_seconds: window.seconds,
        consecutive: window.consecutive,
        windows_judged: windows.iter().filter(|w| w.value.is_some()).count(),
        windows_over: flags.iter().filter(|b| **b).count(),
        worst: worst.map(|(w, v)| WorstWindow {
            from_seconds: offset + w.from,
            to_seconds: offset + w.from + length,
            value: v,
            requests: w.requests,
        }),
        breach_from_seconds: breach.map(|w| offset + w.from),
        breach_to_seconds: breach.map(|w| offset + at(w.from, window.consecutive)),
        significant_digits: None,
    }
}

/// How the windows went, in words after the figure's name: `the worst 5s
/// window, t=14.0–19.0s, was 312.0ms (100 requests); 5 of 26 windows were
/// over the bound`.
pub fn describe(figures: &WindowFigures, shown: impl Fn(f64) -> String) -> String {
    let Some(worst) = &figures.worst else {
        return "no window had requests".to_string();
    };
    let mut text = format!(
        "the worst {}s window, t={:.1}–{:.1}s, was {} ({} requests); {} of {} windows were over the bound",
        figures.window_seconds,
        worst.from_seconds,
        worst.to_seconds,
        shown(worst.value),
        worst.requests,
        figures.windows_over,
        figures.windows_judged
    );
    match (figures.breach_from_seconds, figures.breach_to_seconds) {
        (Some(from), Some(to)) if figures.consecutive > 1 => text.push_str(&format!(
            ", {} back to back from t={from:.1}s to t={to:.1}s",
            figures.consecutive
        )),
        (None, _) if figures.consecutive > 1 && figures.windows_over > 0 => {
            text.push_str(&format!(", never {} back to back", figures.consecutive))
        }
        _ => {}
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Outcome;

    /// 30 seconds at 20 requests per second, 2 ms each, but 300 ms in
    /// seconds 14 and 15: a 2-second spike.
    fn spiked() -> Vec<SecondStats> {
        let samples: Vec<(u32, Outcome, Duration)> = (0..30u32)
            .flat_map(|s| {
                let ms = if s == 14 || s == 15 { 300 } else { 2 };
                (0..20).map(move |_| (s, Outcome::Status(200), Duration::from_millis(ms)))
            })
            .collect();
        crate::record::PhaseStats::from_samples(&samples).series
    }

    #[test]
    fn a_two_second_spike_fails_a_sliding_window_that_tumbling_windows_split() {
        let windows = latency_windows(&spiked(), 30, 5, 0.75);
        assert_eq!(windows.len(), 26);
        let window = SlidingWindow {
            seconds: 5,
            consecutive: 1,
        };
        let found = figures(&windows, window, 1.0, 10.0, |_, w| w.value >= Some(100.0));
        let worst = found.worst.expect("a worst window");
        assert!(worst.value >= 297.0, "{worst:?}");
        assert_eq!(worst.requests, 100);
        assert!(found.breach_from_seconds.is_some());
        // The tumbling grid's 10–15 and 15–20 hold one spiked second each:
        // 20% of their requests, inside p75's 25% tail: both would pass.
        for tumbling in [10, 15] {
            let w = windows.iter().find(|w| w.from == tumbling as f64).unwrap();
            assert!(w.value.unwrap() < 100.0, "{w:?}");
        }
    }

    #[test]
    fn for_asks_for_windows_back_to_back() {
        // p75: only a window holding both slow seconds is over the bound,
        // and no two such windows lie back to back.
        let windows = latency_windows(&spiked(), 30, 5, 0.75);
        let two = SlidingWindow {
            seconds: 5,
            consecutive: 2,
        };
        let found = figures(&windows, two, 1.0, 0.0, |_, w| w.value >= Some(100.0));
        assert!(found.windows_over > 0);
        assert_eq!(found.breach_from_seconds, None, "{found:?}");
        let one_second = SlidingWindow {
            seconds: 1,
            consecutive: 2,
        };
        let windows = latency_windows(&spiked(), 30, 1, 0.9);
        let found = figures(&windows, one_second, 1.0, 0.0, |_, w| {
            w.value >= Some(100.0)
        });
        assert_eq!(found.breach_from_seconds, Some(14.0));
        assert_eq!(found.breach_to_seconds, Some(16.0));
    }

    #[test]
    fn a_running_sum_equals_each_window_summed_afresh() {
        let series = spiked();
        let windows = latency_windows(&series, 30, 5, 0.5);
        for w in &windows {
            let mut fresh = LatencyHistogram::coarse();
            let from = w.from as u32;
            for s in series
                .iter()
                .filter(|s| s.second >= from && s.second < from + 5)
            {
                fresh.add(&s.latency());
            }
            assert_eq!(w.value, Some(fresh.quantile_ms(0.5)), "{w:?}");
            assert_eq!(w.requests, fresh.count());
        }
    }

    #[test]
    fn error_ratio_windows_count_failures_over_requests() {
        let samples: Vec<(u32, Outcome, Duration)> = (0..10u32)
            .flat_map(|s| {
                let code = if s == 3 { 503 } else { 200 };
                (0..10).map(move |_| (s, Outcome::Status(code), Duration::from_millis(1)))
            })
            .collect();
        let series = crate::record::PhaseStats::from_samples(&samples).series;
        let windows = error_ratio_windows(&series, 10, 2);
        assert_eq!(windows.len(), 9);
        assert_eq!(windows[2].value, Some(0.5));
        assert_eq!(windows[3].value, Some(0.5));
        assert_eq!(windows[0].value, Some(0.0));
    }

    #[test]
    fn for_reads_a_number_of_windows() {
        assert_eq!(consecutive("3"), Some(3));
        assert_eq!(consecutive("3 windows"), Some(3));
        assert_eq!(consecutive("1 window"), Some(1));
        assert_eq!(consecutive("0"), None);
        assert_eq!(consecutive("3m"), None);
    }
}
