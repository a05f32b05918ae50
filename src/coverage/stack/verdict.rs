//! What the live run saw, as a ledger line: fired after (from the moment
//! the exporter began serving the provocation, scaled back to production
//! seconds: the step the model's bounds are measured from), held against
//! the model's bounds (`late` outside them, both shown); notified (the
//! receiver, the payload: `summary`/`description` rendered without
//! `<no value>`, `runbook_url` present when the rule has one) or not —
//! inhibited (naming the inhibiting alert and the rule), muted by a time
//! interval (naming it), silenced, or routed to a receiver without
//! integrations (`unrouted`); resolved after the provocation was
//! withdrawn. With `--proof both`, an alert the promtool proof did not
//! prove stays as promtool judged it; the why gives both.

use super::plan::Live;
use super::watch::Seen;
use super::Input;
use crate::analyze::timing::Bounds;
use crate::coverage::ledger::{AlertLedger, Verdict};
use crate::rules::alertmanager::{all_match, Muting};
use crate::time::format_duration_secs;

/// Which verdict the ledger keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The live run's.
    Live,
    /// Proven only when both proofs prove it.
    Both,
}

/// Slack for a live measurement against the model: the wall clock's own
/// jitter (a poll, a scheduler's delay), in wall seconds.
const JITTER: f64 = 0.25;

/// The ledger indices of the alerts the static routing says inhibit
/// `line` (its why names them).
pub fn static_inhibitors(line: &AlertLedger, lines: &[AlertLedger]) -> Vec<usize> {
    if line.verdict != Verdict::Silenced {
        return Vec::new();
    }
    lines
        .iter()
        .enumerate()
        .filter(|(_, other)| line.why.contains(&format!("inhibited by {} ", other.alert)))
        .map(|(j, _)| j)
        .collect()
}

/// Writes what `seen` shows into `line`; a note where the static routing
/// and the live run disagree.
pub fn apply(line: &mut AlertLedger, live: &Live, seen: &Seen, input: &Input) -> Option<String> {
    let scale = input.scale;
    let after = |t: Option<f64>, from: f64| t.map(|t| ((t - from) * scale).max(0.0));
    let promtool = (line.verdict, line.why.clone());
    let static_receiver = line.receiver.clone();
    line.fired_after_seconds = after(seen.fired, seen.t0);
    line.notified_after_seconds = after(seen.notified.as_ref().map(|n| n.at), seen.t0);
    line.resolved_after_seconds = seen.t1.and_then(|t1| after(seen.resolved, t1));
    let (verdict, why) = judge(line, live, seen, input);
    if let Some(n) = &seen.notified {
        line.receiver = Some(n.receiver.clone());
    } else if let Some(am) = &seen.at_alertmanager {
        if !am.receivers.is_empty() {
            line.receiver = Some(am.receivers.join(", "));
        }
    }
    let promtool_proved = matches!(
        promtool.0,
        Verdict::Proven | Verdict::Unrouted | Verdict::Silenced
    );
    (line.verdict, line.why) = match input.mode {
        Mode::Both if !promtool_proved => {
            (promtool.0, format!("promtool: {}; live: {why}", promtool.1))
        }
        Mode::Both => (verdict, format!("live: {why}; promtool: {}", promtool.1)),
        Mode::Live => (verdict, format!("live: {why}")),
    };
    let disagree = match (&static_receiver, &line.receiver) {
        (Some(a), Some(b)) if a != b => Some(format!(
            "{}: the static routing says `{a}`, the live run reached `{b}`",
            line.alert
        )),
        _ => None,
    };
    let verdicts_differ = matches!(promtool.0, Verdict::Unrouted | Verdict::Silenced)
        != matches!(verdict, Verdict::Unrouted | Verdict::Silenced);
    disagree.or_else(|| {
        (verdicts_differ && input.alertmanager.is_some()).then(|| {
            format!(
                "{}: the static routing says {}, the live run {}",
                line.alert,
                promtool.0.as_str(),
                verdict.as_str()
            )
        })
    })
}

fn judge(line: &AlertLedger, live: &Live, seen: &Seen, input: &Input) -> (Verdict, String) {
    if let Some(state) = &seen.early {
        return (
            Verdict::NotProvoked,
            format!("it was already {state} on its healthy state, before the provocation"),
        );
    }
    let scale = input.scale;
    let Some(fired) = line.fired_after_seconds else {
        let waited = seen.t1.map_or(0.0, |t1| (t1 - seen.t0) * scale);
        return match line.predicted {
            Some(b) => (
                Verdict::Late,
                format!(
                    "it did not fire within {} of the provocation; the timing model predicted {}: one of them is wrong",
                    format_duration_secs(waited),
                    Bounds::text(Some(b))
                ),
            ),
            None => (
                Verdict::NotProvoked,
                format!("it did not fire within {} of the provocation", format_duration_secs(waited)),
            ),
        };
    };
    let slack = JITTER * scale;
    let mut why = format!(
        "fired {} after the provocation",
        format_duration_secs(fired)
    );
    let timing = match line.predicted {
        Some(b) if fired < b.best_seconds - slack || fired > b.worst_seconds + slack => {
            why.push_str(&format!(
                "; the timing model predicted {}: one of them is wrong",
                Bounds::text(Some(b))
            ));
            Verdict::Late
        }
        Some(b) => {
            why.push_str(&format!(", within the predicted {}", Bounds::text(Some(b))));
            Verdict::Proven
        }
        None => Verdict::Proven,
    };
    let routed = match input.alertmanager {
        Some(_) => paged(live, seen, input, &mut why),
        None => Verdict::Proven,
    };
    match line.resolved_after_seconds {
        Some(r) => why.push_str(&format!(
            "; resolved {} after it was withdrawn",
            format_duration_secs(r)
        )),
        None => why.push_str("; not resolved within the watch after it was withdrawn"),
    }
    if seen.resolved_notified.is_some() {
        why.push_str(" (resolved notification received)");
    }
    let verdict = if timing == Verdict::Late {
        timing
    } else {
        routed
    };
    (verdict, why)
}

/// The notification's part: notified (payload checked), or why not.
fn paged(live: &Live, seen: &Seen, input: &Input, why: &mut String) -> Verdict {
    let scale = input.scale;
    if let Some(n) = &seen.notified {
        why.push_str(&format!(
            "; notified `{}` {} after the provocation",
            n.receiver,
            format_duration_secs((n.at - seen.t0) * scale)
        ));
        let mut broken = Vec::new();
        for key in ["summary", "description"] {
            if n.annotations
                .get(key)
                .is_some_and(|v| v.contains("<no value>"))
            {
                broken.push(format!("its {key} renders `<no value>`"));
            }
        }
        if live.rule.annotations.contains_key("runbook_url")
            && !n.annotations.contains_key("runbook_url")
        {
            broken.push("its runbook_url is missing".into());
        }
        if broken.is_empty() {
            return Verdict::Proven;
        }
        why.push_str(&format!(
            "; but the page is unusable: {}",
            broken.join(", ")
        ));
        return Verdict::Unrouted;
    }
    held(live, seen, input, why)
}

/// No notification: what Alertmanager held it for.
fn held(live: &Live, seen: &Seen, input: &Input, why: &mut String) -> Verdict {
    let waited = format_duration_secs(seen.notify_wait * input.scale);
    let am = seen.at_alertmanager.clone().unwrap_or_default();
    if !am.inhibited_by.is_empty() {
        let labels = live.labels();
        let rule = input.alertmanager.and_then(|c| {
            c.inhibit_rules
                .iter()
                .find(|r| all_match(&r.target, &labels))
                .map(|r| r.describe())
        });
        why.push_str(&format!(
            "; no notification: inhibited by {} at Alertmanager{}",
            am.inhibited_by.join(", "),
            rule.map(|r| format!(" ({r})")).unwrap_or_default()
        ));
        return Verdict::Silenced;
    }
    if am.silenced {
        why.push_str("; no notification: a matching silence at Alertmanager");
        return Verdict::Silenced;
    }
    let config = input.alertmanager.expect("paged only with a configuration");
    let routes = config.route_for(&live.labels());
    let muted: Vec<String> = routes
        .iter()
        .filter(|r| matches!(r.muting, Muting::Always { .. } | Muting::Sometimes { .. }))
        .map(|r| r.muting.text())
        .collect();
    if am.state == "suppressed" || !muted.is_empty() {
        why.push_str(&format!(
            "; no notification within {waited}: its route is muted ({})",
            muted.join("; ")
        ));
        return Verdict::Silenced;
    }
    let empty: Vec<&str> = routes
        .iter()
        .filter(|r| {
            config
                .receiver(&r.receiver)
                .is_none_or(|x| x.integrations.is_empty())
        })
        .map(|r| r.receiver.as_str())
        .collect();
    if !empty.is_empty() {
        why.push_str(&format!(
            "; no notification: Alertmanager routed it to `{}`, a receiver with no integrations",
            empty.join("`, `")
        ));
    } else {
        why.push_str(&format!(
            "; no notification arrived within {waited} of firing (Alertmanager: {})",
            if am.state.is_empty() {
                "never saw it".to_string()
            } else {
                am.state.clone()
            }
        ));
    }
    Verdict::Unrouted
}
