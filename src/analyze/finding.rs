//! What the analysis reports: a `LintFinding` — one thing wrong with a
//! rule, a route, a dashboard or a deadline, found in one place — and the
//! registry of the ids a finding can carry (`LintId`), each with its
//! severity and one line of doc. The registry is the one list of lints:
//! `rules check`, `rules sweep` and the timing model (which names the
//! finding a timing rests on) all take their ids from it, and the JSON and
//! the tables print the id's text (`range/too-short`).
//!
//! Knows nothing of how a lint looks for what it finds.

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Shown, never counted (e.g. a selector with no series *yet*).
    Info,
    Warning,
    Error,
}

/// The registry: `Variant = "family/name", Severity;` with its doc line.
/// The severity is the lint's own; the few lints that grade their findings
/// (a window too short at every phase or at some only) say so in the doc
/// and lower it per finding (`LintFinding::with_severity`).
macro_rules! registry {
    ($( #[doc = $doc:literal] $variant:ident = $id:literal, $severity:ident; )*) => {
        /// Every lint the analysis knows. Adding one: an entry here, and
        /// the file that finds it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum LintId {
            $( #[doc = $doc] $variant, )*
        }

        impl LintId {
            /// Every lint, in the registry's order.
            pub const ALL: &'static [LintId] = &[$(LintId::$variant,)*];

            /// The id as people and tools read it (`range/too-short`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $( LintId::$variant => $id, )*
                }
            }

            /// The severity of its findings (unless the doc says it grades them).
            pub fn severity(self) -> Severity {
                match self {
                    $( LintId::$variant => Severity::$severity, )*
                }
            }

            /// One line: what it finds.
            pub fn doc(self) -> &'static str {
                match self {
                    $( LintId::$variant => $doc.trim(), )*
                }
            }
        }
    };
}

registry! {
    /// A ratio of one metric to itself where a matcher narrows a label neither side aggregates away: each series is divided by itself, the ratio is 1.
    RatioSelfDivision = "ratio/self-division", Error;
    /// `histogram_quantile` over an aggregation of a classic histogram's buckets that drops `le`: always empty.
    HistogramLeDropped = "histogram/le-dropped", Error;
    /// A latency threshold between two bucket bounds: the quantile is interpolated there, not measured.
    HistogramThresholdBetweenBuckets = "histogram/threshold-between-buckets", Warning;
    /// A latency threshold above the last finite bucket: histogram_quantile never estimates more (a warning when the buckets are assumed).
    HistogramThresholdBeyondBuckets = "histogram/threshold-beyond-buckets", Error;
    /// A ratio of rates (a share, at most 1) compared with a number above 1 (`> 5` where 5% was meant): it can never hold (resting on an assumption when the numerator is another metric than the denominator).
    RatioBounded = "ratio/bounded", Error;
    /// A range window with too few samples for its function (a warning when only missed scrapes leave too few).
    RangeTooShort = "range/too-short", Error;
    /// `up == 0` is silent when service discovery drops the target (its `up` goes stale, never 0).
    UpEqZero = "up/eq-zero", Warning;
    /// `count(…) == 0` (or `< 1`) never holds: count() over nothing returns nothing, not 0.
    CountNeverZero = "count/never-zero", Error;
    /// `for` shorter than the group's evaluation interval.
    ForBelowInterval = "for/below-interval", Warning;
    /// The expression does not parse.
    RuleParse = "rule/parse", Error;
    /// A live Prometheus fails to evaluate the rule.
    RuleEvaluationError = "rule/evaluation-error", Error;
    /// A selector matches no series on a live Prometheus (an error inside absent(); information when only the label values have not appeared yet).
    SeriesMissing = "series/missing", Warning;
    /// An alert is routed to a receiver with no integrations: nobody is notified.
    AlertmanagerNoIntegrations = "alertmanager/no-integrations", Error;
    /// An inhibition rule whose source and target both match the same alert.
    AlertmanagerSelfInhibition = "alertmanager/self-inhibition", Warning;
    /// A route never reached: an earlier sibling with `continue: false` matches everything it does.
    AlertmanagerShadowedRoute = "alertmanager/shadowed-route", Warning;
    /// A route muted at every moment by its time intervals (`mute_time_intervals` covering all time, or `active_time_intervals` never active): nobody is notified.
    AlertmanagerMutedAlways = "alertmanager/muted-always", Error;
    /// An inhibition rule without `equal`: any source alert, from any service, mutes every matching target everywhere.
    AlertmanagerInhibitWithoutEqual = "alertmanager/inhibit-without-equal", Warning;
    /// An active silence on a live Alertmanager mutes an alert.
    AlertmanagerSilence = "alertmanager/silence", Error;
    /// A dashboard panel uses `[$__interval]` as a range window.
    DashboardIntervalWindow = "dashboard/interval-window", Warning;
    /// A dashboard panel has no data on a live Prometheus over the last hour.
    DashboardNoData = "dashboard/no-data", Warning;
    /// A scenario's deadline the rule cannot meet (a warning when it can be missed).
    ScenarioDeadline = "scenario/deadline", Error;
    /// The sweep: the alert is pending or firing on traffic without errors.
    SweepFiresOnHealthyTraffic = "sweep/fires-on-healthy-traffic", Error;
    /// The sweep: a fault spending the page's share of the budget does not fire the alert at every phase.
    SweepMissed = "sweep/missed", Warning;
    /// The sweep: a fault spending less than the false-alarm share fires the alert.
    SweepFalseAlarm = "sweep/false-alarm", Warning;
}

impl std::fmt::Display for LintId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for LintId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One thing a lint found, in one place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LintFinding {
    pub id: LintId,
    pub severity: Severity,
    /// The alert (or panel, or check) it is about.
    pub subject: String,
    /// Where it was read.
    pub origin: String,
    pub reason: String,
    pub fix: String,
    /// What it rests on that nobody said (None: only on what was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assumption: Option<String>,
}

impl LintFinding {
    /// A finding at the lint's own severity, resting on nothing assumed.
    pub fn new(
        id: LintId,
        subject: impl Into<String>,
        origin: impl Into<String>,
        reason: String,
        fix: impl Into<String>,
    ) -> LintFinding {
        LintFinding {
            id,
            severity: id.severity(),
            subject: subject.into(),
            origin: origin.into(),
            reason,
            fix: fix.into(),
            assumption: None,
        }
    }

    /// The severity of this finding, for a lint that grades its findings.
    pub fn with_severity(self, severity: Severity) -> LintFinding {
        LintFinding { severity, ..self }
    }

    /// What the finding rests on that nobody said.
    pub fn assuming(self, assumption: Option<String>) -> LintFinding {
        LintFinding { assumption, ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lint_has_one_id_a_family_and_a_line_of_doc() {
        let mut seen = std::collections::BTreeSet::new();
        for id in LintId::ALL {
            assert!(seen.insert(id.as_str()), "{} twice", id.as_str());
            let (family, name) = id.as_str().split_once('/').expect("family/name");
            assert!(!family.is_empty() && !name.is_empty(), "{id}");
            assert!(!id.doc().is_empty() && !id.doc().contains('\n'), "{id}");
        }
        assert_eq!(
            serde_json::to_string(&LintId::RangeTooShort).unwrap(),
            "\"range/too-short\""
        );
    }
}
