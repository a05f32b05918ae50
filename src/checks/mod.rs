//! Checks: the kinds of check a scenario can ask for, and their verdicts —
//! pass, fail or inconclusive — each with the evidence a person needs to
//! believe it.
//!
//! One module per kind (`kinds`): what a scenario writes for it and how
//! that is validated, its plan, how the records are judged, what an
//! interrupted run still judges, and its evidence. Judging is pure: a
//! function of the plan and the observations; how the observations were
//! made is not its business. The rule it never breaks: a check that could
//! not be judged is inconclusive, never a pass. An interrupted run judges
//! what it finished (`interruption`).
//!
//! Below the plan (which holds the kinds' plans) and the scenario (which
//! calls the kinds' validation); above the records and the rule readers.

mod context;
pub mod evidence;
pub mod interruption;
mod judged;
pub mod kinds;
mod page;
pub mod format;
pub mod relative;
pub mod sliding;
pub mod validate;
pub mod window;

use serde::{Deserialize, Serialize};

pub use judged::{Judged, Judging, Status};
pub use kinds::{CheckKind, CheckPlan, ConditionQuery, Evidence, Kind, ServiceQuery};

use window::Window;

use crate::record::{Observations, RunStatus};
use crate::setup::{PhasePlan, ServiceMetrics};

/// What judging needs of a plan: its checks, and the phases and service
/// metrics their verdicts name. `plan::Plan` is one.
pub trait ToJudge {
    fn checks(&self) -> &[CheckPlan];
    fn phases(&self) -> &[PhasePlan];
    fn service_metrics(&self) -> &ServiceMetrics;
}

/// A check's verdict. Its kind is its evidence's: the two cannot disagree.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Where the check was written (`checks[2]`, `checks[3].client`).
    pub id: String,
    pub name: String,
    pub status: Status,
    /// One sentence: why this status.
    pub summary: String,
    /// The figures behind it.
    pub evidence: Evidence,
    /// In an interrupted run: whether the check's window was over before the
    /// signal, or what it still needed (absent for other runs).
    pub window: Option<Window>,
}

impl Verdict {
    pub fn kind(&self) -> Kind {
        self.evidence.kind()
    }
}

/// A verdict as report.json writes it.
#[derive(Serialize)]
struct VerdictOut<'a> {
    id: &'a str,
    name: &'a str,
    kind: Kind,
    status: Status,
    summary: &'a str,
    evidence: &'a Evidence,
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<&'a Window>,
}

/// A verdict as report.json holds it: its evidence is read once its kind
/// is known.
#[derive(Deserialize)]
struct VerdictIn {
    id: String,
    name: String,
    kind: Kind,
    status: Status,
    summary: String,
    evidence: serde_json::Value,
    #[serde(default)]
    window: Option<Window>,
}

impl Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        VerdictOut {
            id: &self.id,
            name: &self.name,
            kind: self.kind(),
            status: self.status,
            summary: &self.summary,
            evidence: &self.evidence,
            window: self.window.as_ref(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Verdict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let read = VerdictIn::deserialize(d)?;
        let evidence = Evidence::from_json(read.kind, read.evidence).map_err(|e| {
            serde::de::Error::custom(format!(
                "the evidence of verdict `{}` ({}): {e}",
                read.id,
                read.kind.as_str()
            ))
        })?;
        Ok(Verdict {
            id: read.id,
            name: read.name,
            status: read.status,
            summary: read.summary,
            evidence,
            window: read.window,
        })
    }
}

/// Judges every check of the plan; in an interrupted run, each on what it
/// needed having been seen or not.
pub fn evaluate(plan: &impl ToJudge, observations: &Observations) -> Vec<Verdict> {
    plan.checks()
        .iter()
        .map(|check| {
            let verdict = evaluate_one(plan, check, observations);
            match observations.status {
                RunStatus::Interrupted(_) => interruption::after_interruption(
                    verdict,
                    interruption::window(plan, check, observations),
                ),
                _ => verdict,
            }
        })
        .collect()
}

fn evaluate_one(plan: &impl ToJudge, check: &CheckPlan, observations: &Observations) -> Verdict {
    let verdict = |status, summary, evidence| Verdict {
        id: check.id.clone(),
        name: check.name.clone(),
        status,
        summary,
        evidence,
        window: None,
    };
    if let RunStatus::Aborted(reason) = &observations.status {
        return verdict(
            Status::Inconclusive,
            format!("the run did not happen: {reason}"),
            Evidence::empty(check.kind.kind()),
        );
    }
    let judged = check.kind.judge(&Judging {
        check_id: &check.id,
        observations,
        phases: plan.phases(),
        service_metrics: plan.service_metrics(),
    });
    verdict(judged.status, judged.summary, judged.evidence)
}

/// The overall verdict of a run: any failure fails it — an interrupted one
/// too, since nothing the rest of it could do would undo a failure already
/// seen; otherwise anything not proven makes it inconclusive. A run that did
/// not complete is never a pass.
pub fn overall(verdicts: &[Verdict], status: &RunStatus) -> Status {
    let failed = verdicts.iter().any(|v| v.status == Status::Fail);
    match status {
        RunStatus::Aborted(_) => Status::Inconclusive,
        RunStatus::Interrupted(_) if failed => Status::Fail,
        RunStatus::Interrupted(_) => Status::Inconclusive,
        RunStatus::Completed if failed => Status::Fail,
        RunStatus::Completed if verdicts.iter().any(|v| v.status == Status::Inconclusive) => {
            Status::Inconclusive
        }
        RunStatus::Completed => Status::Pass,
    }
}

#[cfg(test)]
mod tests;
