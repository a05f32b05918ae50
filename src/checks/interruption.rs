//! Interrupted runs: a check whose window was over before the signal is
//! judged exactly as in a complete run. A check whose window was still open
//! is inconclusive and says what it needed, unless what it had already seen
//! settles it: an alert that went off during a phase that had to stay
//! silent fails, whatever the rest of the run would have done.
//!
//! Each kind states its window rule (`Check::window`) and which of its
//! verdicts settle early (`Check::settled_early`); this applies them.

use super::judged::{Judging, Status};
use super::kinds::{CheckPlan, Kind};
use super::window::Window;
use super::{ToJudge, Verdict};
use crate::record::Observations;

/// The window of `check` in an interrupted run.
pub fn window(plan: &impl ToJudge, check: &CheckPlan, observations: &Observations) -> Window {
    let judging = Judging {
        check_id: &check.id,
        observations,
        phases: plan.phases(),
        service_metrics: plan.service_metrics(),
    };
    Window::of(check.kind.window(&judging))
}

/// Whether a verdict reached on an open window is one the rest of the run
/// could not change.
pub fn settled_early(kind: Kind, status: Status) -> bool {
    kind.settled_early(status)
}

/// A verdict of an interrupted run, given its window: kept when the window
/// was complete or the verdict settled early, else inconclusive, saying what
/// it needed and what it had seen.
pub fn after_interruption(mut verdict: Verdict, window: Window) -> Verdict {
    if let Window::Open { needed } = &window {
        if verdict.status == Status::Inconclusive {
            verdict.summary = format!("needed the rest of the run: {needed}; {}", verdict.summary);
        } else if !settled_early(verdict.kind(), verdict.status) {
            verdict.summary = format!(
                "needed the rest of the run: {needed}; had it ended here: {} ({})",
                verdict.summary,
                verdict.status.label()
            );
            verdict.status = Status::Inconclusive;
        }
    }
    verdict.window = Some(window);
    verdict
}
