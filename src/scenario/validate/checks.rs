//! `checks:`: the scenario around the checks (its phases, their planned
//! windows, the time scale, the receivers known now) handed to the check
//! kinds, which read each check (`checks::kinds::validate`); and the
//! Alertmanager a notification check implies when none is written.

use std::path::Path;

use crate::checks::kinds;
use crate::checks::validate::{phase_windows, CheckContext, KnownReceivers};
use crate::plan::{AlertmanagerPlan, CheckPlan, PhasePlan};
use crate::scenario::format::ScenarioFile;
use crate::spec::{FieldPath, Validator};

/// Every check of the file, as the kinds read them.
pub(super) fn validate_checks(
    v: &mut Validator,
    file: &ScenarioFile,
    phases: &[PhasePlan],
    scale: f64,
    receivers: Option<&KnownReceivers>,
    base_dir: &Path,
) -> Vec<CheckPlan> {
    let phase_names: Vec<String> = file.phases.iter().map(|p| p.name.clone()).collect();
    let sends_traffic: Vec<bool> = file
        .phases
        .iter()
        .map(|p| p.rate.is_some() || p.requests.is_some())
        .collect();
    let warm_up: Vec<bool> = file
        .phases
        .iter()
        .map(|p| p.warm_up.unwrap_or(false))
        .collect();
    // Windows only when every phase is valid: a deadline is then measured
    // against the run as it will be.
    let windows = (phases.len() == file.phases.len())
        .then(|| phase_windows(phases))
        .flatten();
    let context = CheckContext {
        base_dir,
        phase_names: &phase_names,
        sends_traffic: &sends_traffic,
        warm_up: &warm_up,
        windows,
        scale,
        receivers,
    };
    let mut checks = Vec::new();
    for (i, spec) in file.checks.iter().enumerate() {
        let path = FieldPath::root().key("checks").index(i);
        checks.extend(kinds::validate(spec, i, &path, &context, v));
    }
    checks
}

/// The Alertmanager to watch: the one written, or, when a check is about
/// notifications and none is, the embedded default (with an embedded
/// Prometheus; an external one sends to an Alertmanager firedrill must be
/// told about).
pub(super) fn implied_alertmanager(
    v: &mut Validator,
    written: Option<AlertmanagerPlan>,
    file: &ScenarioFile,
    checks: &[CheckPlan],
    external_prometheus: bool,
) -> Option<AlertmanagerPlan> {
    if written.is_some() || file.alertmanager.is_some() {
        return written;
    }
    let index = checks
        .iter()
        .position(|c| c.kind.is_about_notifications())?;
    if external_prometheus {
        let at = checks[index]
            .id
            .trim_start_matches("checks[")
            .split(']')
            .next()
            .and_then(|i| i.parse().ok())
            .unwrap_or(0);
        v.problem(
            FieldPath::root().key("checks").index(at),
            "a notification check needs the Alertmanager your Prometheus sends to: add \
             `alertmanager: { url: http://… }` (or `kubernetes: { service: alertmanager }`)",
        );
        return None;
    }
    Some(AlertmanagerPlan::Embedded { config: None })
}
