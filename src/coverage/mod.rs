//! `firedrill coverage`: every alert proven from its own rule, with no
//! scenario. For each alert a provocation is built from its condition —
//! the raw series it reads, recording rules followed, a healthy state and
//! a state that makes the condition hold, with Prometheus's rule engine as
//! the oracle — and proven by promtool on the rule as written: silent
//! before, firing within the timing model's bounds, with its labels and
//! annotations, resolved after. The ledger says, per alert, proven, late,
//! dead, noisy, unrouted, silenced or not provoked, and why; the tests can
//! be written beside the rules for a team to commit.
//!
//! In stages, one file each (bottom up): `series` (what an alert reads),
//! `levels` (the states a series can be held at, and the candidates),
//! `timeline` (what the series read at any instant), `provoke` (the
//! oracle: healthy state and provocation), `prepare` (an alert made ready
//! for it), `step` (the model's bounds for a provocation), `got` and
//! `testfile` (promtool's tests, read and written), `proof` (the promtool
//! proof), `emit` (`--emit-tests`), `routing` (static receivers,
//! unrouted, silenced), `live` (`--prometheus`), `ledger` (the data and the
//! gate), `judge` (the verdicts). Rendering is `report`'s.
//!
//! The live proof (`stack`: a real Prometheus and Alertmanager fed by a
//! synthetic exporter) runs on this: a `Provocation` holds the series to
//! serve and their two states, `Timeline::values` what each series reads
//! at any instant; it fills the ledger's lines (fired, `receiver`,
//! `notified_after_seconds`, resolved) from what it saw. The promtool
//! half always runs first: its oracle finds the provocations.

mod emit;
mod error;
mod got;
mod judge;
mod ledger;
mod levels;
mod live;
mod prepare;
mod proof;
mod provoke;
mod routing;
mod series;
mod steady;
mod stack;
mod step;
mod testfile;
mod timeline;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use error::CoverageError;
pub use got::Alerted;
pub use ledger::{AlertLedger, Ledger, Summary, Verdict};
pub use levels::Level;
pub use provoke::Provocation;
pub use series::{Kind, Role, SeriesSpec};
pub use timeline::{Phase, Timeline};

use crate::analyze::rules_check::{self, AlertAnalysis, CheckOptions};
pub use crate::analyze::sweep::Spent;
use crate::rules::{LoadedGroups, RuleDef};

/// Which proof runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// `promtool test rules`: exact, any time span, no child process kept.
    Promtool,
    /// The embedded Prometheus and Alertmanager, time-compressed; the
    /// verdict is the live run's.
    Live,
    /// Both: proven only when both prove it.
    Both,
    /// Both for a rule set of at most `AUTO_LIVE_MAX` alerts when
    /// Prometheus (and Alertmanager, with a configuration) are installed;
    /// promtool alone otherwise (a thousand alerts cannot run live).
    Auto,
}

/// The most alerts `Proof::Auto` runs live.
pub const AUTO_LIVE_MAX: usize = 50;

/// The longest `Proof::Auto` lets the live proof take, in wall seconds:
/// an alert over hours-long windows (an SLO's ticket alert fires after
/// hours and resolves hours later) would hold the run for many minutes
/// even compressed, with nothing said.
pub const AUTO_LIVE_WALL_SECONDS: f64 = 300.0;

#[derive(Debug, Clone)]
pub struct CoverageOptions {
    pub files: Vec<PathBuf>,
    /// A live Prometheus: alerts already active there are noisy; selectors
    /// matching nothing there make an alert dead in that environment.
    pub prometheus: Option<String>,
    /// Write the proofs as promtool tests here.
    pub emit_tests: Option<PathBuf>,
    pub proof: Proof,
    /// The live proof's time compression (the promtool proof runs any span
    /// exactly, and does not use it).
    pub time_scale: Option<f64>,
    pub scrape_interval: Option<Duration>,
    pub evaluation_interval: Option<Duration>,
    /// What becomes of the proof's promtool files once they ran (kept
    /// with `FIREDRILL_COVERAGE_KEEP`, to run them by hand).
    pub spent: Spent,
}

/// One alerting rule of the files, with its analysis.
pub(crate) struct Site<'a> {
    pub rule: &'a RuleDef,
    pub origin: &'a str,
    pub analysis: Option<&'a AlertAnalysis>,
}

/// Every alerting rule of `groups`, each with its analysis.
fn sites<'a>(groups: &'a [LoadedGroups], alerts: &'a [AlertAnalysis]) -> Vec<Site<'a>> {
    let mut found = Vec::new();
    for loaded in groups {
        for group in &loaded.groups {
            for rule in &group.rules {
                let Some(name) = &rule.alert else { continue };
                let analysis = alerts.iter().find(|a| {
                    &a.alert == name
                        && a.origin == loaded.origin
                        && a.group == group.name
                        && a.expr == rule.expr.trim()
                });
                found.push(Site {
                    rule,
                    origin: &loaded.origin,
                    analysis,
                });
            }
        }
    }
    found
}

/// Proves every alert of `options.files`, working in `workdir` (removed by
/// the caller).
pub async fn coverage(options: &CoverageOptions, workdir: &Path) -> Result<Ledger, CoverageError> {
    let started = Instant::now();
    let check = CheckOptions {
        files: options.files.clone(),
        scrape_interval: options.scrape_interval,
        evaluation_interval: options.evaluation_interval,
        ..CheckOptions::default()
    };
    let inputs = rules_check::gather(&check)?;
    let report = crate::analyze::check(&check).await?;
    let recordings = rules_check::recordings(&inputs.groups, report.intervals.evaluation);
    let sites = sites(&inputs.groups, &report.alerts);
    if sites.is_empty() {
        return Err(CoverageError::NoAlerts);
    }
    let promtool = crate::env::find_binary("FIREDRILL_PROMTOOL", "promtool")
        .ok_or(CoverageError::PromtoolMissing)?;
    let world = judge::World {
        sites: &sites,
        findings: &report.findings,
        recordings: &recordings,
        groups: &inputs.groups,
        scrape_timeout: report.intervals.scrape_timeout,
        alertmanager: inputs.alertmanager.as_ref(),
        spent: options.spent,
    };
    let mut judged = judge::judge(&promtool, &world, workdir)?;
    let mut notes = report.notes.clone();
    if let Some(url) = &options.prometheus {
        let client = crate::prom::PromClient::new(url)?;
        client.wait_ready(Duration::from_secs(10)).await?;
        live::judge(&client, &mut judged.lines, &judged.selectors).await?;
    }
    if let Some(dir) = &options.emit_tests {
        let emit = Emit {
            promtool: &promtool,
            dir,
            sites: &sites,
            groups: &inputs.groups,
            recordings: &recordings,
        };
        emit.run(&mut judged, &mut notes)?;
    }
    let scale = options
        .time_scale
        .unwrap_or_else(|| stack::default_scale(report.intervals.scrape));
    let needs = LiveNeeds {
        alerts: sites.len(),
        alertmanager: inputs.alertmanager.is_some(),
        longest: longest_alert(&judged.lines),
        scale,
    };
    let mut mode = live_mode(options.proof, &needs, &mut notes);
    if let Some(live) = mode {
        let input = stack::Input {
            sites: &sites,
            groups: &inputs.groups,
            recordings: &recordings,
            alertmanager: inputs.alertmanager.as_ref(),
            scrape: report.intervals.scrape,
            evaluation: report.intervals.evaluation,
            scale,
            mode: live,
        };
        let proved = stack::prove(&input, &mut judged.lines).await?;
        notes.extend(proved.notes);
        if proved.ran == 0 {
            // Nothing ran live: the ledger's proof is promtool's.
            mode = None;
        }
    }
    let proof = match mode {
        None => "promtool",
        Some(stack::Mode::Live) => "live",
        Some(stack::Mode::Both) => "promtool and live",
    };
    let mut ledger = Ledger::new(judged.lines, started.elapsed().as_secs_f64(), proof, notes);
    ledger.emit_failures = judged.emit_failures;
    Ok(ledger)
}

/// Whether (and how) the live proof runs: `auto` runs both where the rule
/// set is small enough and the binaries are there, and says why not
/// otherwise.
/// What deciding on the live proof weighs.
struct LiveNeeds {
    alerts: usize,
    alertmanager: bool,
    /// The alert whose promtool proof took longest to fire and resolve,
    /// and that span in production seconds.
    longest: Option<(String, f64)>,
    scale: f64,
}

/// The alert that takes longest to fire and then resolve, by the promtool
/// proof (production seconds).
fn longest_alert(lines: &[AlertLedger]) -> Option<(String, f64)> {
    lines
        .iter()
        .filter_map(|l| {
            let fired = l.fired_after_seconds?;
            Some((
                l.alert.clone(),
                fired + l.resolved_after_seconds.unwrap_or(0.0),
            ))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

fn live_mode(proof: Proof, needs: &LiveNeeds, notes: &mut Vec<String>) -> Option<stack::Mode> {
    let (alerts, alertmanager) = (needs.alerts, needs.alertmanager);
    match proof {
        Proof::Promtool => None,
        Proof::Live => Some(stack::Mode::Live),
        Proof::Both => Some(stack::Mode::Both),
        Proof::Auto => {
            let prometheus = crate::env::PROMETHEUS.find("").is_ok();
            let am = !alertmanager || crate::env::ALERTMANAGER.find("").is_ok();
            if alerts > AUTO_LIVE_MAX {
                notes.push(format!("proof: promtool only ({alerts} alerts: the live proof runs for at most {AUTO_LIVE_MAX}; --proof both runs it anyway)"));
                None
            } else if !(prometheus && am) {
                notes.push("proof: promtool only (Prometheus or Alertmanager is not installed for the live proof)".into());
                None
            } else if let Some((alert, span)) = needs
                .longest
                .as_ref()
                .filter(|(_, span)| span / needs.scale > AUTO_LIVE_WALL_SECONDS)
            {
                notes.push(format!(
                    "proof: promtool only (live, `{alert}` alone would take {} to fire and resolve, compressed ×{}: more than the {} the default allows; --proof both runs it anyway)",
                    crate::time::format_duration_secs(span / needs.scale),
                    needs.scale,
                    crate::time::format_duration_secs(AUTO_LIVE_WALL_SECONDS)
                ));
                None
            } else {
                Some(stack::Mode::Both)
            }
        }
    }
}

/// `--emit-tests`: what it needs.
struct Emit<'a> {
    promtool: &'a Path,
    dir: &'a Path,
    sites: &'a [Site<'a>],
    groups: &'a [LoadedGroups],
    recordings: &'a crate::analyze::condition::Recordings,
}

impl Emit<'_> {
    /// Writes the proofs as tests, runs them there, says so in `notes`.
    fn run(
        &self,
        judged: &mut judge::Judged,
        notes: &mut Vec<String>,
    ) -> Result<(), CoverageError> {
        let (promtool, dir, sites, groups, recordings) = (
            self.promtool,
            self.dir,
            self.sites,
            self.groups,
            self.recordings,
        );
        let emitted: Vec<emit::Emitted> = judged
            .lines
            .iter()
            .zip(sites)
            .zip(&judged.evaluations)
            .map(|((line, site), evaluation)| emit::Emitted {
                line,
                rule: site.rule,
                evaluation: *evaluation,
            })
            .collect();
        let written = emit::emit(promtool, dir, &emitted, groups, recordings)?;
        notes.push(format!(
            "wrote {} files to {} (promtool test rules passes {} of {} test files there)",
            written.files.len(),
            dir.display(),
            written.tests - written.failures.len(),
            written.tests
        ));
        judged.emit_failures = written.failures;
        Ok(())
    }
}
