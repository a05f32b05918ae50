//! The dashboard check: every panel of a Grafana dashboard showed data over
//! the run (Grafana's "No data", found by a command instead of a person).

use super::{Status, Verdict};
use crate::plan::CheckPlan;
use crate::record::Observations;

pub fn every_panel_has_data(
    check: &CheckPlan,
    except: &[String],
    observations: &Observations,
) -> Verdict {
    let Some(observed) = observations.dashboards.get(&check.id) else {
        return Verdict::new(
            check,
            Status::Inconclusive,
            "the dashboard was not asked of Prometheus".into(),
        );
    };
    if let Some(error) = &observed.error {
        let status = if error.unavailable {
            Status::Inconclusive
        } else {
            Status::Fail
        };
        return Verdict::new(
            check,
            status,
            format!("the dashboard could not be checked: {}", error.message),
        );
    }
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
        return Verdict::new(
            check,
            Status::Inconclusive,
            format!(
                "Prometheus could not be asked for {} of the panels of `{}` ({}): whether they have data is unknown",
                unasked.len(),
                observed.title,
                unasked.join(", ")
            ),
        )
        .with("panels", &observed.panels);
    }
    let empty: Vec<String> = judged
        .iter()
        .filter(|p| !p.has_data || p.error.is_some())
        .map(|p| match &p.error {
            Some(e) => format!("{} (its query fails: {e})", p.title),
            None => p.title.clone(),
        })
        .collect();
    let verdict = if empty.is_empty() {
        Verdict::new(
            check,
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
        Verdict::new(
            check,
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
    verdict
        .with("no_data", &empty)
        .with("panels", &observed.panels)
        .with("except", except)
}
