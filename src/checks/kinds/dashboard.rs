//! `dashboard`: every panel of a Grafana dashboard showed data over the run
//! (Grafana's "No data", found by a command instead of a person).
//!
//! ```yaml
//! - dashboard: ../k8s/monitoring/grafana-dashboard.yaml
//!   except: [Memory working set / limit, CPU usage]
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Check, Planned};
use crate::checks::evidence::Readout;
use crate::checks::format::CheckSpec;
use crate::checks::judged::{Judged, Judging, Status};
use crate::checks::validate::CheckContext;
use crate::checks::window::Needed;
use crate::record::{DashboardObservation, PanelResult};
use crate::rules::dashboard::{parse_dashboards, Dashboard as Board};
use crate::spec::{FieldPath, Validator};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub file: PathBuf,
    /// Panels (by title) not judged.
    pub except: Vec<String>,
}

/// The figures of a dashboard verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The judged panels that would show "No data" (with why, when their
    /// query fails).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_data: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panels: Option<Vec<PanelResult>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub except: Option<Vec<String>>,
}

impl Readout for Evidence {}

impl Check for Dashboard {
    const NAME: &'static str = "dashboard";
    const WRITTEN: &'static str = "dashboard";
    const KEYS: &'static [&'static str] = &["dashboard", "except"];
    type Evidence = Evidence;

    fn said_by(spec: &CheckSpec) -> bool {
        spec.dashboard.is_some()
    }

    fn validate(
        spec: &CheckSpec,
        path: &FieldPath,
        context: &CheckContext,
        v: &mut Validator,
    ) -> Vec<Planned<Self>> {
        let Some(file) = &spec.dashboard else {
            return Vec::new();
        };
        let resolved = context.base_dir.join(file);
        let Some(dashboards) = read(v, file, &resolved, path) else {
            return Vec::new();
        };
        let except = spec.except.clone().unwrap_or_default();
        for (i, title) in except.iter().enumerate() {
            if !dashboards
                .iter()
                .flat_map(|d| &d.panels)
                .any(|p| &p.title == title)
            {
                v.problem(
                    path.key("except").index(i),
                    format!("no panel titled `{title}` in `{file}`"),
                );
            }
        }
        let title = dashboards
            .iter()
            .map(|d| d.title.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| format!("every panel of dashboard `{title}` has data"));
        Planned::one(
            name,
            Dashboard {
                file: resolved,
                except,
            },
        )
    }

    fn judge(&self, judging: &Judging) -> Judged<Evidence> {
        let Some(observed) = judging.observations.dashboards.get(judging.check_id) else {
            return Judged::new(
                Status::Inconclusive,
                "the dashboard was not asked of Prometheus",
                Evidence::default(),
            );
        };
        if let Some(error) = &observed.error {
            let status = if error.unavailable {
                Status::Inconclusive
            } else {
                Status::Fail
            };
            return Judged::new(
                status,
                format!("the dashboard could not be checked: {}", error.message),
                Evidence::default(),
            );
        }
        every_panel_has_data(&self.except, observed)
    }

    /// Never complete: it looks at the whole run.
    fn window(&self, _: &Judging) -> Result<(), Needed> {
        Err(Needed::WholeRun)
    }

    /// Every panel showed data: more of the run cannot take it away.
    fn settled_early(status: Status) -> bool {
        status == Status::Pass
    }

    fn dashboard(&self) -> Option<&Path> {
        Some(&self.file)
    }
}

/// The dashboards in `file`, or the problem reading them.
fn read(v: &mut Validator, file: &str, resolved: &Path, path: &FieldPath) -> Option<Vec<Board>> {
    let text = match std::fs::read_to_string(resolved) {
        Ok(text) => text,
        Err(e) => {
            v.problem(
                path.key("dashboard"),
                format!("cannot read `{}`: {e}", resolved.display()),
            );
            return None;
        }
    };
    match parse_dashboards(&text, resolved) {
        Ok(found) if !found.is_empty() => Some(found),
        Ok(_) => {
            v.problem(
                path.key("dashboard"),
                format!("`{file}` holds no Grafana dashboard (JSON with panels, or a ConfigMap with a *.json key)"),
            );
            None
        }
        Err(e) => {
            v.problem(path.key("dashboard"), e.to_string());
            None
        }
    }
}

fn every_panel_has_data(except: &[String], observed: &DashboardObservation) -> Judged<Evidence> {
    let judged: Vec<_> = observed
        .panels
        .iter()
        .filter(|p| !except.contains(&p.title))
        .collect();
    let unasked: Vec<&str> = judged
        .iter()
        .filter(|p| p.unavailable && !p.has_data)
        .map(|p| p.title.as_str())
        .collect();
    if !unasked.is_empty() {
        return Judged::new(
            Status::Inconclusive,
            format!(
                "Prometheus could not be asked for {} of the panels of `{}` ({}): whether they have data is unknown",
                unasked.len(),
                observed.title,
                unasked.join(", ")
            ),
            Evidence {
                panels: Some(observed.panels.clone()),
                ..Evidence::default()
            },
        );
    }
    let empty: Vec<String> = judged
        .iter()
        .filter(|p| !p.has_data || p.error.is_some())
        .map(|p| match &p.error {
            Some(e) => format!("{} (its query fails: {e})", p.title),
            None => p.title.clone(),
        })
        .collect();
    let (status, summary) = if empty.is_empty() {
        (
            Status::Pass,
            format!(
                "all {} panels of `{}` showed data over the run{}",
                judged.len(),
                observed.title,
                if except.is_empty() {
                    String::new()
                } else {
                    format!(" (not judged: {})", except.join(", "))
                }
            ),
        )
    } else {
        (
            Status::Fail,
            format!(
                "{} of {} panels of `{}` would show \"No data\": {}",
                empty.len(),
                judged.len(),
                observed.title,
                empty.join("; ")
            ),
        )
    };
    let evidence = Evidence {
        no_data: Some(empty),
        panels: Some(observed.panels.clone()),
        except: Some(except.to_vec()),
    };
    Judged::new(status, summary, evidence)
}
