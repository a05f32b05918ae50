//! The kinds of check, one module each (mini-redis's `cmd/` pattern): a
//! kind's module holds its plan (what a scenario asked, validated), the
//! keys it reads and their validation, its judgement of the records, its
//! window rule for interrupted runs, and its evidence.
//!
//! `check_kinds!` below is the one list of kinds; `CheckKind` (a check's
//! plan, by kind), `Kind` (which kind) and `Evidence` (a verdict's figures,
//! by kind) are derived from it. A new kind is a new module implementing
//! `Check` and one line in the list (plus its keys in `CheckSpec`, when it
//! reads new ones).

pub mod dashboard;
pub mod error_ratio;
pub mod fires_within;
pub mod latency;
pub mod no_notifications_during;
pub mod notifies_resolved_within;
pub mod notifies_within;
pub mod resolves_within;
pub mod routed_to;
pub mod silent_during;

use std::fmt::Debug;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::evidence::Readout;
use super::format::CheckSpec;
use super::judged::{Judged, Judging, Status};
use super::validate::CheckContext;
use super::window::Needed;
use crate::setup::{AlertRef, Source};
use crate::spec::{FieldPath, Validator};

/// One kind of check, implemented by its plan.
pub trait Check: Sized {
    /// How reports, JUnit and the Pushgateway name the kind.
    const NAME: &'static str;
    /// How a scenario says it (`fires_within`, `slo: latency`).
    const WRITTEN: &'static str;
    /// The keys of `CheckSpec` it reads, besides `name`; any other key set
    /// on a check of this kind is a problem.
    const KEYS: &'static [&'static str];
    /// Whether it needs an Alertmanager watched.
    const ABOUT_NOTIFICATIONS: bool = false;

    /// The figures behind a verdict of this kind (report.json's `evidence`).
    type Evidence: Readout + Default + Debug + Clone + PartialEq + Serialize + DeserializeOwned;

    /// Whether `spec` says this kind.
    fn said_by(spec: &CheckSpec) -> bool;

    /// The kind's plan from a check that says it, and its name; problems go
    /// to `v`. An SLO gives one per source.
    fn validate(
        spec: &CheckSpec,
        path: &FieldPath,
        context: &CheckContext,
        v: &mut Validator,
    ) -> Vec<Planned<Self>>;

    /// The records' verdict on it.
    fn judge(&self, judging: &Judging) -> Judged<Self::Evidence>;

    /// In an interrupted run: whether everything it needed was seen.
    fn window(&self, judging: &Judging) -> Result<(), Needed>;

    /// Whether a verdict reached on an open window is one the rest of the
    /// run could not change.
    fn settled_early(status: Status) -> bool;

    /// The alert it is about.
    fn alert(&self) -> Option<&AlertRef> {
        None
    }

    /// The receiver it names.
    fn receiver(&self) -> Option<&str> {
        None
    }

    /// The condition whose first moment it counts from, for the drill to ask.
    fn condition(&self) -> Option<ConditionQuery<'_>> {
        None
    }

    /// The figure it needs from the service's metrics, for the drill to ask.
    fn service_query(&self) -> Option<ServiceQuery> {
        None
    }

    /// The dashboard whose panels it needs asked of Prometheus.
    fn dashboard(&self) -> Option<&Path> {
        None
    }
}

/// A check of one kind, as validated: its name, its plan, and for an SLO
/// the source measuring it.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned<K> {
    pub name: String,
    pub source: Option<Source>,
    pub plan: K,
}

impl<K> Planned<K> {
    pub fn one(name: String, plan: K) -> Vec<Self> {
        vec![Planned {
            name,
            source: None,
            plan,
        }]
    }
}

/// When a check's condition first held: the drill asks Prometheus, from the
/// start of `phase`, for `expr` (None: the alert rule's own expression).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConditionQuery<'a> {
    pub alert: &'a AlertRef,
    pub phase: usize,
    pub expr: Option<&'a str>,
}

impl<'a> ConditionQuery<'a> {
    /// The query a deadline anchored at a condition needs; none for an
    /// anchor at a phase's edge.
    pub fn of(alert: &'a AlertRef, anchor: &'a crate::setup::Anchor) -> Option<Self> {
        match anchor {
            crate::setup::Anchor::Condition { phase, expr } => Some(ConditionQuery {
                alert,
                phase: *phase,
                expr: expr.as_deref(),
            }),
            _ => None,
        }
    }
}

/// A service-side figure a check needs over a phase; with `window`
/// (seconds, as run), also over each window of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServiceQuery {
    Latency {
        quantile: f64,
        phase: usize,
        window: Option<u32>,
    },
    ErrorRatio {
        phase: usize,
        window: Option<u32>,
    },
}

/// A check as the plan keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckPlan {
    /// Where it was written: `checks[2]`.
    pub id: String,
    /// What a person reads in a report.
    pub name: String,
    pub kind: CheckKind,
}

/// Derives, from the list of kinds: `CheckKind` (a check's plan, by kind;
/// report.json's `plan.checks[].kind`, tagged `check`), `Kind` (which kind;
/// a verdict's `kind`), `Evidence` (a verdict's figures, by kind), and what
/// each kind answers through them.
macro_rules! check_kinds {
    ($($variant:ident($module:ident::$plan:ident),)*) => {
        /// What one check asks, by kind.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case", tag = "check")]
        pub enum CheckKind {
            $($variant($module::$plan),)*
        }

        /// Which kind of check a verdict judges (in JSON `fires_within`, …;
        /// `as_str` names it in JUnit and the Pushgateway's labels).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Kind {
            $($variant,)*
        }

        /// A verdict's figures, by kind.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Evidence {
            $($variant(<$module::$plan as Check>::Evidence),)*
        }

        impl Kind {
            /// Every kind, in the list's order.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)*];

            pub fn as_str(&self) -> &'static str {
                match self {
                    $(Kind::$variant => <$module::$plan as Check>::NAME,)*
                }
            }

            /// How a scenario says it.
            pub fn written(&self) -> &'static str {
                match self {
                    $(Kind::$variant => <$module::$plan as Check>::WRITTEN,)*
                }
            }

            pub fn keys(&self) -> &'static [&'static str] {
                match self {
                    $(Kind::$variant => <$module::$plan as Check>::KEYS,)*
                }
            }

            pub fn said_by(&self, spec: &CheckSpec) -> bool {
                match self {
                    $(Kind::$variant => <$module::$plan as Check>::said_by(spec),)*
                }
            }

            /// Whether a verdict of this kind reached on an open window is
            /// one the rest of the run could not change.
            pub fn settled_early(&self, status: Status) -> bool {
                match self {
                    $(Kind::$variant => <$module::$plan as Check>::settled_early(status),)*
                }
            }

            pub fn validate(
                &self,
                spec: &CheckSpec,
                path: &FieldPath,
                context: &CheckContext,
                v: &mut Validator,
            ) -> Vec<Planned<CheckKind>> {
                match self {
                    $(Kind::$variant => <$module::$plan as Check>::validate(spec, path, context, v)
                        .into_iter()
                        .map(|p| Planned {
                            name: p.name,
                            source: p.source,
                            plan: CheckKind::$variant(p.plan),
                        })
                        .collect(),)*
                }
            }
        }

        impl CheckKind {
            pub fn kind(&self) -> Kind {
                match self {
                    $(CheckKind::$variant(_) => Kind::$variant,)*
                }
            }

            pub fn judge(&self, judging: &Judging) -> Judged<Evidence> {
                match self {
                    $(CheckKind::$variant(plan) => {
                        let judged = plan.judge(judging);
                        Judged::new(judged.status, judged.summary, Evidence::$variant(judged.evidence))
                    })*
                }
            }

            /// In an interrupted run: whether everything it needed was seen.
            pub fn window(&self, judging: &Judging) -> Result<(), Needed> {
                match self {
                    $(CheckKind::$variant(plan) => plan.window(judging),)*
                }
            }

            pub fn alert(&self) -> Option<&AlertRef> {
                match self {
                    $(CheckKind::$variant(plan) => plan.alert(),)*
                }
            }

            pub fn receiver(&self) -> Option<&str> {
                match self {
                    $(CheckKind::$variant(plan) => plan.receiver(),)*
                }
            }

            pub fn condition(&self) -> Option<ConditionQuery<'_>> {
                match self {
                    $(CheckKind::$variant(plan) => plan.condition(),)*
                }
            }

            pub fn service_query(&self) -> Option<ServiceQuery> {
                match self {
                    $(CheckKind::$variant(plan) => plan.service_query(),)*
                }
            }

            pub fn dashboard(&self) -> Option<&Path> {
                match self {
                    $(CheckKind::$variant(plan) => plan.dashboard(),)*
                }
            }

            /// Whether the check is about notifications (it needs an
            /// Alertmanager).
            pub fn is_about_notifications(&self) -> bool {
                match self {
                    $(CheckKind::$variant(_) => <$module::$plan as Check>::ABOUT_NOTIFICATIONS,)*
                }
            }
        }

        impl Evidence {
            pub fn kind(&self) -> Kind {
                match self {
                    $(Evidence::$variant(_) => Kind::$variant,)*
                }
            }

            /// No figures: a run that did not happen.
            pub fn empty(kind: Kind) -> Self {
                match kind {
                    $(Kind::$variant => Evidence::$variant(Default::default()),)*
                }
            }

            /// What reports and the push read of it.
            pub fn readout(&self) -> &dyn Readout {
                match self {
                    $(Evidence::$variant(evidence) => evidence,)*
                }
            }

            /// Report.json's `evidence` object: the kind's figures, keys in
            /// order (as a map, the way readers and diffs expect them).
            pub fn to_json(&self) -> serde_json::Result<serde_json::Value> {
                match self {
                    $(Evidence::$variant(evidence) => serde_json::to_value(evidence),)*
                }
            }

            /// A verdict's `evidence` read back, knowing its kind.
            pub fn from_json(kind: Kind, value: serde_json::Value) -> serde_json::Result<Self> {
                match kind {
                    $(Kind::$variant => serde_json::from_value(value).map(Evidence::$variant),)*
                }
            }
        }
    };
}

check_kinds! {
    FiresWithin(fires_within::FiresWithin),
    ResolvesWithin(resolves_within::ResolvesWithin),
    SilentDuring(silent_during::SilentDuring),
    Latency(latency::Latency),
    ErrorRatio(error_ratio::ErrorRatio),
    Dashboard(dashboard::Dashboard),
    NotifiesWithin(notifies_within::NotifiesWithin),
    NotifiesResolvedWithin(notifies_resolved_within::NotifiesResolvedWithin),
    NoNotificationDuring(no_notifications_during::NoNotificationDuring),
    RoutedTo(routed_to::RoutedTo),
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json()
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

/// Reads check `index` of a scenario: which kind it says, the keys that do
/// not go with that kind, then the kind's own validation. An SLO with two
/// sources gives two checks, `checks[i].client` and `checks[i].prometheus`.
pub fn validate(
    spec: &CheckSpec,
    index: usize,
    path: &FieldPath,
    context: &CheckContext,
    v: &mut Validator,
) -> Vec<CheckPlan> {
    let Some(kind) = kind_said(spec, path, v) else {
        return Vec::new();
    };
    for key in spec.keys_set() {
        if key != "name" && !kind.keys().contains(&key) {
            v.problem(path.key(key), foreign_key(kind, key));
        }
    }
    let planned = kind.validate(spec, path, context, v);
    let several = planned.len() > 1;
    let id = format!("checks[{index}]");
    planned
        .into_iter()
        .map(|p| {
            let suffix = p.source.map(|s| s.as_str());
            CheckPlan {
                id: match suffix {
                    Some(suffix) if several => format!("{id}.{suffix}"),
                    _ => id.clone(),
                },
                name: match suffix {
                    Some(suffix) => format!("{} [{suffix}]", p.name),
                    None => p.name,
                },
                kind: p.plan,
            }
        })
        .collect()
}

/// The one kind a check says, or the problem: it says none, or several.
fn kind_said(spec: &CheckSpec, path: &FieldPath, v: &mut Validator) -> Option<Kind> {
    let said: Vec<Kind> = Kind::ALL
        .iter()
        .copied()
        .filter(|k| k.said_by(spec))
        .collect();
    let written = |kinds: &[Kind]| {
        kinds
            .iter()
            .map(|k| format!("`{}`", k.written()))
            .collect::<Vec<_>>()
    };
    match said.as_slice() {
        [kind] => return Some(*kind),
        [] => match &spec.slo {
            Some(other) => v.problem(
                path.key("slo"),
                format!("unknown slo `{other}`: use latency or error_ratio"),
            ),
            None => v.problem(
                path.clone(),
                format!(
                    "a check says what it checks, with one of: {}",
                    written(Kind::ALL).join(", ")
                ),
            ),
        },
        several => v.problem(
            path.clone(),
            format!(
                "a check checks one thing, and this one says {}: write one check each",
                either(&written(several), "and")
            ),
        ),
    }
    None
}

/// `` `receiver` does not go with `fires_within` (it goes with …) ``.
fn foreign_key(kind: Kind, key: &str) -> String {
    let owners: Vec<String> = Kind::ALL
        .iter()
        .filter(|k| k.keys().contains(&key))
        .map(|k| format!("`{}`", k.written()))
        .collect();
    format!(
        "`{key}` does not go with `{}` (it goes with {})",
        kind.written(),
        either(&owners, "or")
    )
}

/// `a`, `a or b`, `a, b or c`.
fn either(items: &[String], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., final_one] => format!("{} {last} {final_one}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_a_kind_reads_is_a_key_of_the_format_and_every_key_has_a_kind() {
        for kind in Kind::ALL {
            for key in kind.keys() {
                assert!(CheckSpec::KEYS.contains(key), "{kind:?} reads `{key}`");
            }
        }
        for key in CheckSpec::KEYS.iter().filter(|k| **k != "name") {
            assert!(
                Kind::ALL.iter().any(|k| k.keys().contains(key)),
                "no kind reads `{key}`"
            );
        }
    }

    #[test]
    fn a_key_that_does_not_go_with_the_kind_names_the_kinds_it_goes_with() {
        assert_eq!(
            foreign_key(Kind::FiresWithin, "receiver"),
            "`receiver` does not go with `fires_within` (it goes with `notifies_within`, \
             `notifies_resolved_within` or `no_notifications_during`)"
        );
        assert_eq!(
            foreign_key(Kind::ErrorRatio, "quantile"),
            "`quantile` does not go with `slo: error_ratio` (it goes with `slo: latency`)"
        );
    }
}
