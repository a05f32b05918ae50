//! What stops a sweep (`SweepError`), and why one alert is not swept
//! (`NotSwept`: the sweep cannot feed its ratio, or cannot ask promtool
//! about it apart from the others) — typed, with their causes; the
//! reasons print as the report's `not_swept` text.

use std::path::PathBuf;
use std::process::ExitStatus;

use serde::{Serialize, Serializer};

use crate::analyze::condition::Unmodelled;
use crate::rules::RulesError;

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The files given cannot be read.
    #[error("{0}")]
    Input(#[from] RulesError),
    /// The files hold no alerting rule (or none of the names asked for).
    #[error("{}", no_alerts(.named))]
    NoAlerts { named: Vec<String> },
    #[error("the sweep runs Prometheus's rule engine through promtool: install it with `sudo apt-get install prometheus` (or set FIREDRILL_PROMTOOL), or pass --model-only for the arithmetic alone")]
    PromtoolMissing,
    /// promtool could not be started, or waited for.
    #[error("{}: {source}", .promtool.display())]
    PromtoolRun {
        promtool: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// promtool ran but said something other than its answers.
    #[error("promtool could not run the sweep's test: {output}")]
    PromtoolFailed { status: ExitStatus, output: String },
    /// A rule failed to evaluate on the sweep's series.
    #[error("a rule fails to evaluate on the sweep's series: {output}")]
    RuleFailed { output: String },
    /// firedrill was interrupted while promtool ran (`runner::cancel`).
    #[error("interrupted while promtool ran")]
    Interrupted,
    #[error("the search did not settle after 40 rounds of probes")]
    Unsettled,
    /// The sweep's own files (promtool's rules and tests) cannot be written.
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The rewritten rules cannot be rendered as a rule file.
    #[error("{0}")]
    RuleFile(#[source] RulesError),
}

fn no_alerts(named: &[String]) -> String {
    if named.is_empty() {
        "no alerting rules in the files given".into()
    } else {
        format!("no alert named {} in the files given", named.join(", "))
    }
}

impl SweepError {
    /// The command line or the files are wrong (nothing was asked of
    /// promtool), rather than the sweep failing.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, SweepError::Input(_) | SweepError::NoAlerts { .. })
    }
}

/// Why the sweep cannot feed an alert's error ratio.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unfed {
    #[error("no ratio of two rates to feed")]
    NoRatio,
    #[error("its ratios read different metrics (`{selector}` besides `{metric}`)")]
    MixedMetrics { selector: String, metric: String },
    #[error("no label values match both `{numerator}` and `{denominator}`")]
    NoCommonLabels {
        numerator: String,
        denominator: String,
    },
    #[error("no label values match `{denominator}` but not `{numerator}`")]
    NoOtherLabels {
        numerator: String,
        denominator: String,
    },
    #[error("no label values match `{0}`")]
    NoLabels(String),
    /// It joins an info metric (`* on(pod) group_left(owner) kube_pod_owner`)
    /// that the sweep does not write: promtool would find no match and
    /// answer "never" for every fault.
    #[error("it joins `{0}` for its labels, a series the sweep does not write")]
    Joined(String),
}

/// Why promtool cannot be asked about an alert apart from the others.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unprobeable {
    #[error("it reads through more than 8 recording rules")]
    TooDeep,
    #[error("{}", .0.text())]
    Recording(Unmodelled),
    #[error(
        "it reads the recorded series `{0}` through a window, which needs every earlier evaluation"
    )]
    RecordedThroughWindow(String),
    #[error("it uses {0}(), whose answer depends on every series at once")]
    Global(&'static str),
}

/// Why an alert is not swept.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotSwept {
    #[error("the sweep changes error ratios, and {0}")]
    Unfed(#[from] Unfed),
    #[error("{0}")]
    Unprobeable(#[from] Unprobeable),
}

impl Serialize for NotSwept {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
