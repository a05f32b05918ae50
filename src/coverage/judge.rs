//! The verdicts: every alert prepared, the oracle asked for its healthy
//! state and provocation, the model asked for its bounds, the promtool
//! proof run, and each alert's line of the ledger written from what they
//! say — dead where a counted lint says its condition never holds (and
//! promtool, trying, agrees); not provoked where no provocation was found
//! or the proof could not run it (why); late where promtool's first firing
//! falls outside the model's bounds (both shown); proven otherwise — then
//! unrouted or silenced where the static routing says nobody is notified.

use std::path::Path;
use std::time::Duration;

use promql_parser::parser::Expr;

use super::error::CoverageError;
use super::ledger::{AlertLedger, Verdict};
use super::prepare::{dead_reason, prepare, Details};
use super::proof::{self, changed_text, Proved, Subject};
use super::provoke::{self, Found, Prepared, Provocation};
use super::routing::{self, Routed};
use super::step::{self, Prediction};
use super::Site;
use crate::analyze::condition::Recordings;
use crate::analyze::finding::LintFinding;
use crate::analyze::rules_check::label_sets;
use crate::analyze::sweep::Spent;
use crate::analyze::timing::{Bounds, Intervals};
use crate::record::Labels;
use crate::rules::alertmanager::AlertmanagerConfig;
use crate::rules::LoadedGroups;
use crate::time::format_duration_secs;

/// Everything the verdicts are drawn from.
pub struct World<'a> {
    pub sites: &'a [Site<'a>],
    pub findings: &'a [LintFinding],
    pub recordings: &'a Recordings,
    pub groups: &'a [LoadedGroups],
    pub scrape_timeout: Duration,
    pub alertmanager: Option<&'a AlertmanagerConfig>,
    /// What becomes of the proof's test files once promtool ran them
    /// (kept to run them by hand).
    pub spent: Spent,
}

/// The ledger's lines, and what later stages need per alert.
pub struct Judged {
    pub lines: Vec<AlertLedger>,
    /// The raw selectors each alert needs (for `--prometheus`).
    pub selectors: Vec<Vec<String>>,
    /// Each alert's evaluation interval, seconds.
    pub evaluations: Vec<f64>,
    pub emit_failures: Vec<String>,
}

/// One alert on its way to a verdict.
struct Case {
    details: Details,
    expr: Option<Expr>,
    /// Why it could not be prepared.
    unprepared: Option<String>,
}

pub fn judge(promtool: &Path, world: &World, workdir: &Path) -> Result<Judged, CoverageError> {
    let mut cases = Vec::new();
    let mut prepared: Vec<Option<Prepared>> = Vec::new();
    for (k, site) in world.sites.iter().enumerate() {
        let (case, ready) = ready(k, site, world);
        cases.push(case);
        prepared.push(ready);
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CoverageError::Io { path, source }
    };
    let oracle = workdir.join("oracle");
    std::fs::create_dir_all(&oracle).map_err(io(&oracle))?;
    let proofs = workdir.join("proof");
    std::fs::create_dir_all(&proofs).map_err(io(&proofs))?;
    let proving = Proving {
        promtool,
        world,
        cases: &cases,
        prepared: &prepared,
        dir: &proofs,
    };
    // The alerts the oracle settles in one round are proven while it
    // searches on for the others: promtool's processes, shared by both,
    // never wait for the slowest search to end.
    let (found, by_batch) = std::thread::scope(|scope| {
        let mut running = Vec::new();
        let found = provoke::provoke(promtool, &prepared, &oracle, &mut |batch| {
            let n = running.len();
            running.push(scope.spawn(move || proving.batch(n, batch)));
        });
        let by_batch: Vec<_> = running
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e))
            })
            .collect();
        (found, by_batch)
    });
    let found = found?;
    let mut predictions: Vec<Option<Prediction>> = vec![None; world.sites.len()];
    let mut proved: Vec<Option<Proved>> = vec![None; world.sites.len()];
    for batch in by_batch {
        for (k, prediction, proof) in batch? {
            predictions[k] = Some(prediction);
            proved[k] = Some(proof);
        }
    }
    let every = every_label_set(world);
    let mut lines = Vec::new();
    for (k, site) in world.sites.iter().enumerate() {
        let mut line = verdict(
            site,
            &cases[k],
            found[k].as_ref(),
            proved[k].as_ref(),
            predictions[k].as_ref(),
        );
        if let Some(config) = world.alertmanager {
            let sets = match proved[k].as_ref().filter(|p| !p.labels.is_empty()) {
                Some(p) => p.labels.clone(),
                None => own_label_sets(site, world, config),
            };
            let name = site.rule.alert.clone().unwrap_or_default();
            apply_routing(&mut line, routing::route(&name, &sets, config, &every));
        }
        lines.push(line);
    }
    Ok(Judged {
        lines,
        selectors: cases.iter().map(|c| c.details.selectors.clone()).collect(),
        evaluations: cases.iter().map(|c| c.details.evaluation).collect(),
        emit_failures: Vec::new(),
    })
}

/// One alert prepared for the oracle (or why not).
fn ready(k: usize, site: &Site, world: &World) -> (Case, Option<Prepared>) {
    let mut case = Case {
        details: Details::default(),
        expr: None,
        unprepared: None,
    };
    let Some(analysis) = site.analysis else {
        case.unprepared =
            Some("its expression does not parse (promtool check rules says the same)".into());
        return (case, None);
    };
    case.details.dead = dead_reason(analysis, world.findings);
    let expr = match promql_parser::parser::parse(&site.rule.expr) {
        Ok(expr) => expr,
        Err(e) => {
            case.unprepared = Some(format!("its expression does not parse: {e}"));
            return (case, None);
        }
    };
    let result = prepare(
        k,
        site.rule,
        analysis,
        &expr,
        world.recordings,
        &mut case.details,
    );
    case.expr = Some(expr);
    match result {
        Ok(p) => (case, Some(p)),
        Err(why) => {
            case.unprepared = Some(why);
            (case, None)
        }
    }
}

/// Test-only: shifts the model's firing bounds by this many seconds
/// (`600`: every alert's; `Alert=600`: that alert's), so a test can force
/// a `late` verdict with a model known to be wrong.
const WRONG_MODEL: &str = "FIREDRILL_COVERAGE_WRONG_MODEL";

/// The shift `WRONG_MODEL` gives `alert`, if any.
fn wrong_model(alert: &str) -> Option<f64> {
    let text = std::env::var(WRONG_MODEL).ok()?;
    match text.split_once('=') {
        Some((name, shift)) => (name == alert).then(|| shift.parse().ok()).flatten(),
        None => text.parse().ok(),
    }
}

fn predict(site: &Site, case: &Case, p: &Provocation, world: &World) -> Prediction {
    let d = &case.details;
    let mut prediction = step::predict(
        p,
        &step::Rule {
            shape: site.analysis.and_then(|a| a.shape.as_ref()),
            hold: Duration::from_secs_f64(d.hold),
            keep: Duration::from_secs_f64(d.keep),
            intervals: Intervals {
                scrape: Duration::from_secs_f64(d.scrape),
                evaluation: Duration::from_secs_f64(d.evaluation),
                scrape_timeout: world.scrape_timeout.min(Duration::from_secs_f64(d.scrape)),
            },
        },
    );
    let shift = wrong_model(site.rule.alert.as_deref().unwrap_or_default());
    if let (Some(shift), Some(b)) = (shift, prediction.firing) {
        prediction.firing = Some(b.plus(shift, shift));
        prediction.why = format!("{} (shifted by {shift}s: {WRONG_MODEL})", prediction.why);
    }
    prediction
}

/// What proving a batch of alerts reads.
#[derive(Clone, Copy)]
struct Proving<'a> {
    promtool: &'a Path,
    world: &'a World<'a>,
    cases: &'a [Case],
    prepared: &'a [Option<Prepared>],
    dir: &'a Path,
}

impl Proving<'_> {
    /// The model's prediction and the promtool proof of each provoked alert
    /// of `batch` (the `n`th the oracle settled), by alert.
    fn batch(
        self,
        n: usize,
        batch: Vec<(usize, Found)>,
    ) -> Result<Vec<(usize, Prediction, Proved)>, CoverageError> {
        let world = self.world;
        let mut which = Vec::new();
        let mut predictions = Vec::new();
        let mut subjects = Vec::new();
        for (k, found) in &batch {
            let (Found::Provoked(p), Some(ready)) = (found, &self.prepared[*k]) else {
                continue;
            };
            let (site, case) = (&world.sites[*k], &self.cases[*k]);
            let prediction = predict(site, case, p, world);
            let d = &case.details;
            subjects.push(Subject {
                name: site.rule.alert.as_deref().unwrap_or_default(),
                origin: site.origin,
                rule: site.rule,
                provocation: p,
                scrape: d.scrape,
                evaluation: d.evaluation,
                reach: d.reach,
                horizon: ready.horizon,
                held: p.held_after,
                hold: d.hold,
                keep: d.keep,
                predicted: prediction.firing,
                resolves: prediction.resolved,
            });
            which.push(*k);
            predictions.push(prediction);
        }
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        let dir = self.dir.join(format!("batch-{n}"));
        std::fs::create_dir_all(&dir).map_err(|source| CoverageError::Io {
            path: dir.clone(),
            source,
        })?;
        let results = proof::prove(
            self.promtool,
            &subjects,
            world.groups,
            world.recordings,
            &dir,
            world.spent,
        )?;
        Ok(which
            .into_iter()
            .zip(predictions)
            .zip(results)
            .map(|((k, prediction), proved)| (k, prediction, proved))
            .collect())
    }
}

/// An alert's line, before routing.
fn verdict(
    site: &Site,
    case: &Case,
    found: Option<&Found>,
    proved: Option<&Proved>,
    prediction: Option<&Prediction>,
) -> AlertLedger {
    let mut line = AlertLedger {
        alert: site.rule.alert.clone().unwrap_or_default(),
        labels: site.rule.labels.clone(),
        verdict: Verdict::NotProvoked,
        why: String::new(),
        predicted: prediction.and_then(|p| p.firing),
        fired_after_seconds: proved.and_then(|p| p.fired_after),
        receiver: None,
        notified_after_seconds: None,
        resolved_after_seconds: proved.and_then(|p| p.resolved_after),
        origin: site.origin.to_string(),
        provocation: match found {
            Some(Found::Provoked(p)) => Some(p.clone()),
            _ => None,
        },
        test: None,
    };
    let (verdict, why) = match (found, proved) {
        (Some(Found::Provoked(p)), Some(proved)) => proven(p, proved, prediction, &case.details),
        (_, _) if case.details.dead.is_some() => dead(case, found),
        (Some(Found::Failed(why)), _) => (
            Verdict::NotProvoked,
            format!("its rules fail to evaluate on the series built for it: {why}"),
        ),
        (Some(Found::NeverHolds { tried }), _) => (
            Verdict::NotProvoked,
            format!("no state tried makes its condition hold ({tried} states of its series, each on either side of the thresholds that read it, one and two at a time)"),
        ),
        _ => (
            Verdict::NotProvoked,
            case.unprepared
                .clone()
                .unwrap_or_else(|| "no provocation could be built".into()),
        ),
    };
    line.verdict = verdict;
    line.why = why;
    if matches!(verdict, Verdict::Proven | Verdict::Late) {
        line.test = proved.map(|p| p.group.clone());
    }
    if !case.details.assumed.is_empty() {
        line.why = format!(
            "{} (assuming {})",
            line.why,
            case.details.assumed.join("; ")
        );
    }
    line
}

/// Dead: what the lint says, and what promtool found trying.
fn dead(case: &Case, found: Option<&Found>) -> (Verdict, String) {
    let lint = case.details.dead.clone().unwrap_or_default();
    let promtool = match found {
        Some(Found::NeverHolds { tried }) => {
            format!("; promtool agrees: none of the {tried} states tried makes it hold")
        }
        _ => String::new(),
    };
    (Verdict::Dead, format!("{lint}{promtool}"))
}

/// What the promtool proof of a provoked alert shows.
fn proven(
    p: &Provocation,
    proved: &Proved,
    prediction: Option<&Prediction>,
    d: &Details,
) -> (Verdict, String) {
    if let Some(problem) = &proved.problem {
        return (Verdict::NotProvoked, problem.clone());
    }
    if let Some(early) = proved.early {
        return (
            Verdict::NotProvoked,
            format!(
                "it fired on its healthy state, {} after its windows filled and before the provocation ({})",
                format_duration_secs(early),
                proof::states_text(p).join("; ")
            ),
        );
    }
    let Some(fired) = proved.fired_after else {
        if let Some(b) = prediction.and_then(|p| p.firing) {
            return (
                Verdict::Late,
                format!(
                    "it did not fire within half as long again as the predicted worst case ({}) after {}: the model or the rule is wrong",
                    Bounds::text(Some(b)),
                    changed_text(p)
                ),
            );
        }
        return (
            Verdict::NotProvoked,
            format!(
                "its condition holds under the provocation ({}), but the alert did not fire within the test (`for` {})",
                changed_text(p),
                format_duration_secs(d.hold)
            ),
        );
    };
    let what = if p.always {
        "from the start (its condition always holds)".to_string()
    } else {
        format!("after {}", changed_text(p))
    };
    let resolved = match proved.resolved_after {
        Some(r) => format!(
            "; resolved {} after it was withdrawn",
            format_duration_secs(r)
        ),
        None => "; still firing at the end of the test after it was withdrawn".into(),
    };
    let fired_text = format!("fired {} {what}", format_duration_secs(fired));
    against_model(fired, fired_text, resolved, prediction)
}

/// A firing held against the model's bounds: within, outside (late), or
/// with no bounds to hold it to.
fn against_model(
    fired: f64,
    fired_text: String,
    resolved: String,
    prediction: Option<&Prediction>,
) -> (Verdict, String) {
    match prediction {
        Some(Prediction {
            firing: Some(b), ..
        }) if fired < b.best_seconds - 1e-3 || fired > b.worst_seconds + 1e-3 => (
            Verdict::Late,
            format!(
                "{fired_text}; the timing model predicted {}: one of them is wrong{resolved}",
                Bounds::text(Some(*b))
            ),
        ),
        Some(Prediction {
            firing: Some(b), ..
        }) => (
            Verdict::Proven,
            format!(
                "{fired_text}, within the predicted {}{resolved}",
                Bounds::text(Some(*b))
            ),
        ),
        Some(Prediction {
            firing: None,
            step: Some(_),
            why,
            ..
        }) => (Verdict::Late, format!("{fired_text}, but {why}{resolved}")),
        Some(Prediction { why, .. }) => (
            Verdict::Proven,
            format!("{fired_text}{resolved}; predicted: none ({why})"),
        ),
        None => (Verdict::Proven, format!("{fired_text}{resolved}")),
    }
}

/// Every alert with every label set it can take.
fn every_label_set(world: &World) -> Vec<(String, Labels)> {
    let Some(config) = world.alertmanager else {
        return Vec::new();
    };
    world
        .sites
        .iter()
        .filter_map(|s| s.analysis)
        .flat_map(|a| {
            label_sets(a, config, world.recordings)
                .into_iter()
                .map(move |labels| (a.alert.clone(), labels))
        })
        .collect()
}

fn own_label_sets(site: &Site, world: &World, config: &AlertmanagerConfig) -> Vec<Labels> {
    match site.analysis {
        Some(a) => label_sets(a, config, world.recordings),
        None => Vec::new(),
    }
}

/// The static routing's say on a line: its receiver, and unrouted or
/// silenced where a proven alert would notify nobody.
fn apply_routing(line: &mut AlertLedger, routed: Routed) {
    line.receiver = routed.receiver;
    if line.verdict != Verdict::Proven {
        return;
    }
    if let Some(why) = routed.silenced {
        line.verdict = Verdict::Silenced;
        line.why = format!("{why} ({})", line.why);
    } else if let Some(why) = routed.unrouted {
        line.verdict = Verdict::Unrouted;
        line.why = format!("{why} ({})", line.why);
    }
}
