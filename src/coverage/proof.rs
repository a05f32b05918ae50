//! The proof by Prometheus's own evaluator: for each provoked alert, a
//! `promtool test rules` test of its rule as written (its `for`, its
//! recording rules, its labels and annotations) — the healthy state, the
//! provocation as a step at T0, the healthy state again from T1.
//!
//! Run once, to learn: the test asks for no alert at every evaluation, and
//! promtool answers, at each where the alert fires, with what it got
//! (labels, rendered annotations); from that come the first firing after
//! T0, anything before T0, and the first evaluation after T1 where it no
//! longer fires. From the answers comes the test that asserts exactly
//! that — silent just before T0 and just before the first firing, firing
//! then (and at the model's worst case), resolved after T1: what `emit`
//! writes beside the rules, and runs there to pass (a failing one fails
//! the run). Nothing is run twice without `--emit-tests`: promtool's
//! evaluations are the cost (an alert on a ten-day age evaluates ten days
//! of its group), and its answers are already the proof.
//!
//! A test runs just past the model's worst case of firing, then of
//! resolving (`Span::Short`); only the alerts it did not show fire and
//! resolve are run again half as long again (`Span::Full`), so a late
//! firing is measured, not just missed — and an alert on a ten-day age
//! does not evaluate fifteen days to prove what ten showed.
//!
//! Each alert's test loads only its own rules (the alert and the recording
//! rules it reads, in their groups, recording groups first), so a file of
//! a thousand alerts costs each test one alert's evaluations.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::got::{self, Alerted};
use super::levels::Level;
use super::provoke::Provocation;
use super::testfile::{self, Group};
use super::timeline::{Phase, Timeline};
use crate::analyze::condition::Recordings;
use crate::analyze::sweep::{run_files, Spent, SweepError, Turn};
use crate::analyze::timing::Bounds;
use crate::rules::promql::{metric_name, selectors};
use crate::rules::{render_rule_file, Group as RuleGroup, LoadedGroups, RuleDef};
use crate::time::format_duration_secs;

/// One alert to prove.
pub struct Subject<'a> {
    pub name: &'a str,
    pub origin: &'a str,
    pub rule: &'a RuleDef,
    pub provocation: &'a Provocation,
    pub scrape: f64,
    pub evaluation: f64,
    /// How far back its windows reach (at least 5 minutes).
    pub reach: f64,
    /// When the oracle asked whether the condition holds after the change
    /// (every window holding only the new state), seconds.
    pub horizon: f64,
    /// How soon after the change the oracle first saw it hold, seconds.
    pub held: f64,
    pub hold: f64,
    pub keep: f64,
    pub predicted: Option<Bounds>,
    /// The model's bounds of resolving after the provocation is withdrawn.
    pub resolves: Option<Bounds>,
}

/// When things happen in one alert's test, seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// The provocation begins (between two samples).
    pub t0: f64,
    /// It is withdrawn.
    pub t1: f64,
    /// The last evaluation.
    pub end: f64,
    /// Evaluations before this are the windows filling up.
    pub first_check: f64,
}

/// What the proof measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Proved {
    pub fired_after: Option<f64>,
    pub resolved_after: Option<f64>,
    /// It fired before the provocation, this long after the windows filled.
    pub early: Option<f64>,
    /// promtool could not run the test, or the rule failed to evaluate.
    pub problem: Option<String>,
    /// The test group that passed (for `emit`).
    pub group: String,
    /// The rule groups it loads, in evaluation order.
    pub order: Vec<String>,
    pub schedule: Option<Schedule>,
    /// The label sets it fired with.
    pub labels: Vec<crate::record::Labels>,
}

fn ms(seconds: f64) -> u64 {
    (seconds * 1000.0).round().max(0.0) as u64
}

/// How long an alert's test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Until just past the model's worst case of firing (or, without one,
    /// past when the oracle saw the condition hold, and `for`), and as
    /// long again for resolving: enough for almost every alert, and an
    /// alert on a ten-day age evaluates ten days, not fifteen.
    Short,
    /// Half as long again as the model's worst cases (firing later is
    /// late, and measured so), or until every window holds only the new
    /// state: for the alerts whose short test did not show them fire and
    /// resolve.
    Full,
}

/// The schedule of one alert's test.
pub fn schedule(subject: &Subject, span: Span) -> Schedule {
    let (s, e) = (subject.scrape, subject.evaluation);
    let up = |t: f64, step: f64| (t / step - 1e-9).ceil() * step;
    if subject.provocation.always {
        let fire = subject.horizon + subject.hold + 2.0 * e + s;
        return Schedule {
            t0: 0.0,
            t1: up(fire, s),
            end: up(fire + subject.reach + subject.keep + 3.0 * e + 2.0 * s, e),
            first_check: 0.0,
        };
    }
    // Samples fall off whole intervals (`testfile`): the change comes
    // between two of them.
    let warm = subject.reach + 2.0 * s.max(e);
    let t0 = up(warm, s);
    let margin = 2.0 * (e + s);
    let fire = match (span, subject.predicted) {
        (Span::Short, Some(b)) => b.worst_seconds + margin,
        (Span::Full, Some(b)) => 1.5 * b.worst_seconds + margin,
        (Span::Short, None) => subject.held + subject.hold + 2.0 * e + s,
        (Span::Full, None) => subject.horizon + subject.hold + 2.0 * e + s,
    };
    let t1 = up(t0 + fire, s);
    // Without the model's bounds, windows take about as long to forget
    // the provocation as they took to hold it.
    let resolve = match (span, subject.resolves) {
        (Span::Short, Some(b)) => b.worst_seconds + margin,
        (Span::Full, Some(b)) => 1.5 * b.worst_seconds + margin,
        (Span::Short, None) => subject.held + subject.keep + 3.0 * e + 2.0 * s,
        (Span::Full, None) => subject.reach + subject.keep + 3.0 * e + 2.0 * s,
    };
    Schedule {
        t0,
        t1,
        end: up(t1 + resolve, e),
        first_check: up(subject.reach, e),
    }
}

/// The timeline of a test: healthy, the provocation from T0, healthy from T1.
pub fn timeline(p: &Provocation, at: &Schedule) -> Timeline {
    let mut phases = vec![Phase {
        from: 0.0,
        levels: p.healthy.clone(),
    }];
    if !p.always {
        phases.push(Phase {
            from: at.t0,
            levels: p.provoking.clone(),
        });
    }
    phases.push(Phase {
        from: at.t1,
        levels: p.healthy.clone(),
    });
    Timeline { phases, clock: 0.0 }
}

/// Proves every subject: a short test each, then a full one for those
/// whose short test did not show them fire and resolve. `groups` and
/// `recordings` give each alert's rules; `spent` says what becomes of a
/// learning test once it ran.
pub fn prove(
    promtool: &Path,
    subjects: &[Subject],
    groups: &[LoadedGroups],
    recordings: &Recordings,
    dir: &Path,
    spent: Spent,
) -> Result<Vec<Proved>, SweepError> {
    let all: Vec<usize> = (0..subjects.len()).collect();
    let context = Context {
        promtool,
        subjects,
        groups,
        recordings,
        dir,
        spent,
    };
    let mut proved = context.attempt(&all, Span::Short)?;
    let again: Vec<usize> = all
        .into_iter()
        .filter(|&n| {
            let p = &proved[n];
            let longer = schedule(&subjects[n], Span::Full) != schedule(&subjects[n], Span::Short);
            longer && p.problem.is_none() && (p.fired_after.is_none() || p.resolved_after.is_none())
        })
        .collect();
    if !again.is_empty() {
        for (n, full) in again.iter().zip(context.attempt(&again, Span::Full)?) {
            proved[*n] = full;
        }
    }
    Ok(proved)
}

/// What every test of a proof reads.
struct Context<'a> {
    promtool: &'a Path,
    subjects: &'a [Subject<'a>],
    groups: &'a [LoadedGroups],
    recordings: &'a Recordings,
    dir: &'a Path,
    spent: Spent,
}

impl Context<'_> {
    /// Runs the learning tests of the subjects `which` over `span`; returns
    /// what each showed, in the order of `which`.
    fn attempt(&self, which: &[usize], span: Span) -> Result<Vec<Proved>, SweepError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SweepError::Io { path, source }
        };
        let dir = self.dir;
        let mut proved: Vec<Proved> = Vec::new();
        let mut names = Vec::new();
        for &n in which {
            let subject = &self.subjects[n];
            let (rules, order) =
                own_rules(subject.rule, subject.origin, self.groups, self.recordings);
            let rule_file = format!("alert-{n}.rules.yaml");
            std::fs::write(dir.join(&rule_file), rules).map_err(io(dir))?;
            let at = schedule(subject, span);
            let learn = learning_group(n, subject, &at);
            let text = testfile::file_text(&[], &[rule_file], subject.evaluation, &order, &[learn]);
            let name = match span {
                Span::Short => format!("alert-{n}.learn.yaml"),
                Span::Full => format!("alert-{n}.learn-full.yaml"),
            };
            std::fs::write(dir.join(&name), text).map_err(io(dir))?;
            names.push(name);
            proved.push(Proved {
                order,
                schedule: Some(at),
                ..Proved::default()
            });
        }
        let learnt = learn(self, which, &names)?;
        for (k, &n) in which.iter().enumerate() {
            let subject = &self.subjects[n];
            let at = proved[k].schedule.expect("scheduled above");
            if let Some(problem) = &learnt[k].problem {
                proved[k].problem = Some(problem.clone());
                continue;
            }
            let expect = measure(&learnt[k].got, subject, &at, &mut proved[k]);
            if proved[k].fired_after.is_some() {
                proved[k].group = final_group(subject, &at, expect);
            }
        }
        Ok(proved)
    }
}

/// What the learning tests showed, by subject.
struct Learnt {
    got: got::Got,
    problem: Option<String>,
}

/// Runs the learning tests `names` (subject `which[k]`'s is `names[k]`,
/// its group named `alert-<n>`): what each got, or why it could not run.
fn learn(context: &Context, which: &[usize], names: &[String]) -> Result<Vec<Learnt>, SweepError> {
    let mut learnt: Vec<Learnt> = which
        .iter()
        .map(|_| Learnt {
            got: got::Got::new(),
            problem: None,
        })
        .collect();
    for report in run_files(
        context.promtool,
        context.dir,
        names,
        context.spent,
        Turn::Later,
    )? {
        let mut said = got::read(&report.stderr);
        let mine: Vec<usize> = (0..which.len())
            .filter(|&k| report.files.contains(&names[k]))
            .collect();
        for &k in &mine {
            let subject = &context.subjects[which[k]];
            learnt[k].got = said
                .got
                .remove(&format!("alert-{}", which[k]))
                .unwrap_or_default();
            let rules = chain_names(&subject.rule.expr, context.recordings);
            let failed = said.errors.iter().find(|(rule, _)| {
                Some(rule.as_str()) == subject.rule.alert.as_deref() || rules.contains(rule)
            });
            learnt[k].problem = match (failed, said.other.is_empty()) {
                (Some((_, line)), _) => Some(format!(
                    "the rule fails to evaluate on the provocation's series: {line}"
                )),
                (None, false) => Some(format!("promtool: {}", said.other.join(" "))),
                (None, true) => None,
            };
        }
    }
    Ok(learnt)
}

/// The evaluations of a test (ms), from the first check to the end.
fn evaluations(subject: &Subject, at: &Schedule) -> Vec<u64> {
    let e = ms(subject.evaluation).max(1);
    (ms(at.first_check) / e..=ms(at.end) / e)
        .map(|j| j * e)
        .collect()
}

/// The learning test: no alert asked for at any evaluation.
fn learning_group(n: usize, subject: &Subject, at: &Schedule) -> String {
    let timeline = timeline(subject.provocation, at);
    testfile::group_text(&Group {
        comment: Vec::new(),
        name: format!("alert-{n}"),
        alert: subject.name,
        specs: &subject.provocation.series,
        timeline: &timeline,
        scrape: subject.scrape,
        evaluation: subject.evaluation,
        end: at.end,
        expect: evaluations(subject, at)
            .into_iter()
            .map(|t| (t, Vec::new()))
            .collect(),
    })
}

/// What the learning test shows, into `proved`; returns what the final
/// test asserts.
fn measure(
    got: &got::Got,
    subject: &Subject,
    at: &Schedule,
    proved: &mut Proved,
) -> BTreeMap<u64, Vec<Alerted>> {
    // Its own alerts: those carrying the rule's fixed labels (a namesake
    // in its file fires in the same test, and is expected there, but
    // measures nothing of this rule).
    let fixed: Vec<(&String, &String)> = subject
        .rule
        .labels
        .iter()
        .filter(|(_, v)| !v.contains("{{"))
        .collect();
    let mine = |a: &Alerted| fixed.iter().all(|(k, v)| a.labels.get(*k) == Some(*v));
    let firing = |t: u64| got.get(&t).is_some_and(|a| a.iter().any(mine));
    let evals = evaluations(subject, at);
    let (t0, t1) = (ms(at.t0), ms(at.t1));
    let before: Vec<u64> = evals.iter().copied().filter(|&t| t < t0).collect();
    proved.early = before
        .iter()
        .find(|&&t| firing(t))
        .map(|&t| (t - ms(at.first_check)) as f64 / 1000.0);
    let Some(fired) = evals.iter().copied().find(|&t| t >= t0 && firing(t)) else {
        return BTreeMap::new();
    };
    proved.fired_after = Some((fired - t0) as f64 / 1000.0);
    proved.labels = got[&fired]
        .iter()
        .filter(|a| mine(a))
        .map(|a| a.labels.clone())
        .collect();
    let resolved = evals
        .iter()
        .copied()
        .find(|&t| t > t1 && t > fired && !firing(t));
    proved.resolved_after = resolved.map(|t| (t - t1) as f64 / 1000.0);
    let e = ms(subject.evaluation);
    let seen = |t: u64| got.get(&t).cloned().unwrap_or_default();
    let mut expect = BTreeMap::new();
    if let Some(&last) = before.last() {
        expect.insert(last, seen(last));
    }
    if fired >= t0 + e && fired - e >= ms(at.first_check) {
        expect.insert(fired - e, seen(fired - e));
    }
    expect.insert(fired, seen(fired));
    if let Some(worst) = subject.predicted.map(|b| ms(at.t0 + b.worst_seconds)) {
        if let Some(&t) = evals.iter().find(|&&t| t >= worst && t < t1) {
            expect.insert(t, seen(t));
        }
    }
    if let Some(resolved) = resolved {
        expect.insert(resolved - e, seen(resolved - e));
        expect.insert(resolved, seen(resolved));
    }
    expect
}

/// The test a team commits: what promtool showed, at the evaluations that
/// matter, with comments.
fn final_group(subject: &Subject, at: &Schedule, expect: BTreeMap<u64, Vec<Alerted>>) -> String {
    let p = subject.provocation;
    let timeline = timeline(p, at);
    let mut comment = vec![format!("{} ({})", subject.name, subject.origin)];
    comment.push("series:".into());
    comment.extend(testfile::series_comments(
        &p.series,
        &p.healthy,
        &p.provoking,
    ));
    if p.always {
        comment.push("its condition holds in every state: it fires from the start".into());
    } else {
        comment.push(format!(
            "healthy until {}, the provocation from then ({}), healthy again from {}",
            format_duration_secs(at.t0),
            changed_text(p),
            format_duration_secs(at.t1)
        ));
    }
    comment.push(match subject.predicted {
        Some(b) => format!(
            "predicted (the timing model): fires {} after the provocation",
            Bounds::text(Some(b))
        ),
        None => "predicted: the timing model gives no bounds for this provocation".into(),
    });
    testfile::group_text(&Group {
        comment,
        name: subject.name.to_string(),
        alert: subject.name,
        specs: &p.series,
        timeline: &timeline,
        scrape: subject.scrape,
        evaluation: subject.evaluation,
        end: at.end,
        expect: expect.into_iter().collect(),
    })
}

/// `x{…} at 10 → 20`, for the series the provocation changes.
pub fn changed_text(p: &Provocation) -> String {
    p.changed()
        .into_iter()
        .map(|i| {
            let spec = &p.series[i];
            format!("{} {}", spec.selector(), p.provoking[i].describe(spec))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The rule file holding only `alert` and the recording rules it reads
/// (their groups, in their files' order), and the order promtool must
/// evaluate the groups in: a group after those whose recordings it reads.
///
/// Alerts of the same name in its file come too: promtool's `exp_alerts`
/// answer for every alert of a name, so the test a team runs on the whole
/// file sees them (Sloth writes a page and a ticket alert under one name).
pub fn own_rules(
    alert: &RuleDef,
    origin: &str,
    groups: &[LoadedGroups],
    recordings: &Recordings,
) -> (String, Vec<String>) {
    let namesake = |l: &LoadedGroups, r: &RuleDef| {
        l.origin == origin && r.alert.is_some() && r.alert == alert.alert
    };
    let mut read = chain_names(&alert.expr, recordings);
    for loaded in groups {
        for r in loaded.groups.iter().flat_map(|g| &g.rules) {
            if namesake(loaded, r) {
                read.extend(chain_names(&r.expr, recordings));
            }
        }
    }
    let mut kept: Vec<RuleGroup> = Vec::new();
    for (loaded, group) in groups
        .iter()
        .flat_map(|l| l.groups.iter().map(move |g| (l, g)))
    {
        let rules: Vec<RuleDef> = group
            .rules
            .iter()
            .filter(|r| {
                std::ptr::eq(*r, alert)
                    || namesake(loaded, r)
                    || r.record.as_ref().is_some_and(|n| read.contains(n))
            })
            .cloned()
            .collect();
        if rules.is_empty() {
            continue;
        }
        let mut name = group.name.clone();
        while kept.iter().any(|g| g.name == name) {
            name.push('\'');
        }
        kept.push(RuleGroup {
            name,
            rules,
            ..group.clone()
        });
    }
    let order = evaluation_order(&kept, recordings);
    let text = render_rule_file(kept).unwrap_or_default();
    (text, order)
}

/// Recorded names an expression reads, through every rule writing them.
pub fn chain_names(expr: &str, recordings: &Recordings) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut todo = vec![expr.to_string()];
    while let Some(text) = todo.pop() {
        let Ok(parsed) = promql_parser::parser::parse(&text) else {
            continue;
        };
        for selector in selectors(&parsed) {
            let name = metric_name(selector).unwrap_or_default();
            if let Some(rules) = recordings.get(&name) {
                if names.insert(name) {
                    todo.extend(rules.iter().map(|r| r.expr.to_string()));
                }
            }
        }
    }
    names
}

/// Groups in an order where each comes after the groups writing what it
/// reads (their files' order otherwise).
pub fn evaluation_order(groups: &[RuleGroup], recordings: &Recordings) -> Vec<String> {
    let writes: Vec<BTreeSet<String>> = groups
        .iter()
        .map(|g| g.rules.iter().filter_map(|r| r.record.clone()).collect())
        .collect();
    let reads: Vec<BTreeSet<String>> = groups
        .iter()
        .map(|g| {
            g.rules
                .iter()
                .flat_map(|r| chain_names(&r.expr, recordings))
                .collect()
        })
        .collect();
    let mut placed: Vec<usize> = Vec::new();
    while placed.len() < groups.len() {
        let ready = (0..groups.len())
            .filter(|k| !placed.contains(k))
            .find(|&k| {
                reads[k].iter().all(|name| {
                    writes[k].contains(name)
                        || placed.iter().any(|&p| writes[p].contains(name))
                        || !writes.iter().any(|w| w.contains(name))
                })
            });
        let next = ready
            .or_else(|| (0..groups.len()).find(|k| !placed.contains(k)))
            .expect("a group is left");
        placed.push(next);
    }
    placed.into_iter().map(|k| groups[k].name.clone()).collect()
}

/// The levels a series goes through, for the ledger's words.
pub fn states_text(p: &Provocation) -> Vec<String> {
    p.series
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let (h, v): (Level, Level) = (p.healthy[i], p.provoking[i]);
            if h == v {
                format!("{} {}", spec.selector(), h.describe(spec))
            } else {
                format!(
                    "{} {} → {}",
                    spec.selector(),
                    h.describe(spec),
                    v.describe(spec)
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> RuleDef {
        RuleDef {
            alert: Some("Old".into()),
            record: None,
            expr: "time() - last_success > 864000".into(),
            for_: None,
            keep_firing_for: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
        }
    }

    fn provocation(always: bool) -> Provocation {
        Provocation {
            series: Vec::new(),
            healthy: Vec::new(),
            provoking: Vec::new(),
            always,
            tried: 2,
            held_after: 600.0,
        }
    }

    fn subject<'a>(rule: &'a RuleDef, p: &'a Provocation, predicted: bool) -> Subject<'a> {
        Subject {
            name: "Old",
            origin: "rules.yaml",
            rule,
            provocation: p,
            scrape: 30.0,
            evaluation: 30.0,
            reach: 300.0,
            horizon: 900_000.0,
            held: 600.0,
            hold: 0.0,
            keep: 0.0,
            predicted: predicted.then_some(Bounds {
                best_seconds: 864_000.0,
                worst_seconds: 864_030.0,
            }),
            resolves: predicted.then_some(Bounds {
                best_seconds: 0.0,
                worst_seconds: 30.0,
            }),
        }
    }

    #[test]
    fn a_short_test_ends_just_past_the_models_worst_case_and_a_full_one_half_as_long_again() {
        let (rule, p) = (rule(), provocation(false));
        let at = |span| schedule(&subject(&rule, &p, true), span);
        let (short, full) = (at(Span::Short), at(Span::Full));
        assert_eq!(short.t0, full.t0);
        // Ten days and 30 s, and two scrapes and evaluations of margin.
        assert_eq!(short.t1 - short.t0, 864_030.0 + 120.0);
        // (The withdrawal falls on a scrape.)
        let half_again = 1.5 * 864_030.0 + 120.0;
        assert!((half_again..half_again + 30.0).contains(&(full.t1 - full.t0)));
        assert_eq!(short.end - short.t1, 30.0 + 120.0);
        assert!(full.end > short.end);
    }

    #[test]
    fn without_bounds_a_short_test_waits_for_when_the_oracle_saw_it_hold_not_its_horizon() {
        let (rule, p) = (rule(), provocation(false));
        let at = |span| schedule(&subject(&rule, &p, false), span);
        let (short, full) = (at(Span::Short), at(Span::Full));
        // 600 s, two evaluations and a scrape.
        assert_eq!(short.t1 - short.t0, 690.0);
        assert_eq!(full.t1 - full.t0, 900_000.0 + 90.0);
    }

    #[test]
    fn an_alert_that_always_fires_has_one_schedule() {
        let (rule, p) = (rule(), provocation(true));
        let at = |span| schedule(&subject(&rule, &p, true), span);
        assert_eq!(at(Span::Short), at(Span::Full));
    }
}
