//! `firedrill merge`: the shards of one run (`--shard i/n`, one process or
//! pod each) combined into the report of the whole run.
//!
//! Traffic adds up exactly: counters are summed and HDR histograms added, per
//! phase and per second. What Prometheus saw is the same for every shard (one
//! Prometheus watched the whole system), so it is taken from shard 0. The
//! checks are then judged again on the combined observations — client-side
//! SLOs on all the traffic, not on one shard's share.

use super::Report;
use crate::checks;
use crate::plan::Plan;
use crate::record::{Observations, PhaseRecord, PhaseStats, RunStatus};

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge")]
    Empty,
    #[error("{0} is not a shard report (it was not run with --shard)")]
    NotAShard(String),
    #[error("{0} ran a different scenario than {1}")]
    DifferentScenario(String, String),
    #[error("shard {index} of {count} appears {seen} times; each shard must appear exactly once")]
    Shards { index: u32, count: u32, seen: usize },
    #[error("{0} was split into {1} shards, {2} into {3}")]
    Counts(String, u32, String, u32),
}

/// `reports`: (name for messages, report) of every shard.
pub fn merge(reports: Vec<(String, Report)>) -> Result<Report, MergeError> {
    let count = shard_count(&reports)?;
    let mut reports: Vec<Report> = reports.into_iter().map(|(_, r)| r).collect();
    reports.sort_by_key(|r| r.plan.shard.map(|s| s.index));
    let base = reports[0].clone();

    let mut observations: Observations = base.observations.clone();
    observations.phases = merged_phases(&reports);
    observations.run_start = min(reports.iter().map(|r| r.observations.run_start));
    observations.run_end = max(reports.iter().map(|r| r.observations.run_end));
    observations.observed_until = max(reports.iter().map(|r| r.observations.observed_until));
    observations.prometheus_retries = reports
        .iter()
        .map(|r| r.observations.prometheus_retries)
        .sum();
    observations.status = reports
        .iter()
        .map(|r| r.observations.status.clone())
        .find(|s| *s != RunStatus::Completed)
        .unwrap_or(RunStatus::Completed);
    observations.notes = reports
        .iter()
        .flat_map(|r| {
            let index = r.plan.shard.map(|s| s.index).unwrap_or(0);
            r.observations
                .notes
                .iter()
                .map(move |n| format!("shard {index}: {n}"))
        })
        .collect();
    observations.notes.push(format!(
        "merged from {count} shards; alert and Prometheus-side observations are shard 0's"
    ));

    let plan = Plan {
        shard: None,
        ..base.plan.clone()
    };
    let mut verdicts = checks::evaluate(&plan, &observations);
    // The prediction depends on the plan alone: every shard made the same.
    crate::analyze::sweep::annotate(&mut verdicts, &base.predictions);
    let started_at = reports
        .iter()
        .map(|r| r.started_at.clone())
        .min()
        .unwrap_or_default();
    let mut merged = Report::new(
        &plan,
        base.environment.clone(),
        started_at,
        observations,
        verdicts,
    );
    merged.predictions = base.predictions.clone();
    merged.finished_at = reports
        .iter()
        .map(|r| r.finished_at.clone())
        .max()
        .unwrap_or_default();
    Ok(merged)
}

/// How many shards the run was split into, once every report is shown to
/// be one shard of the same run, each shard exactly once.
fn shard_count(reports: &[(String, Report)]) -> Result<u32, MergeError> {
    let (first_name, first) = reports.first().ok_or(MergeError::Empty)?;
    let count = first
        .plan
        .shard
        .ok_or_else(|| MergeError::NotAShard(first_name.clone()))?
        .count;
    for (name, report) in reports {
        let shard = report
            .plan
            .shard
            .ok_or_else(|| MergeError::NotAShard(name.clone()))?;
        if shard.count != count {
            return Err(MergeError::Counts(
                first_name.clone(),
                count,
                name.clone(),
                shard.count,
            ));
        }
        if report.scenario.source_text != first.scenario.source_text {
            return Err(MergeError::DifferentScenario(
                name.clone(),
                first_name.clone(),
            ));
        }
    }
    for index in 0..count {
        let seen = reports
            .iter()
            .filter(|(_, r)| r.plan.shard.is_some_and(|s| s.index == index))
            .count();
        if seen != 1 {
            return Err(MergeError::Shards { index, count, seen });
        }
    }
    Ok(count)
}

fn min(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(f64::INFINITY, f64::min)
}

fn max(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(f64::NEG_INFINITY, f64::max)
}

/// Phase by phase (by name, in the plan's order), across shards.
fn merged_phases(reports: &[Report]) -> Vec<PhaseRecord> {
    let base = &reports[0].observations.phases;
    base.iter()
        .map(|phase| {
            let same: Vec<&PhaseRecord> = reports
                .iter()
                .filter_map(|r| r.observations.phases.iter().find(|p| p.name == phase.name))
                .collect();
            let mut merged = phase.clone();
            merged.started_at = min(same.iter().map(|p| p.started_at));
            merged.ended_at = max(same.iter().map(|p| p.ended_at));
            merged.load_error = same.iter().find_map(|p| p.load_error.clone());
            merged.fault_error = same.iter().find_map(|p| p.fault_error.clone());
            merged.stats = same.iter().filter_map(|p| p.stats.as_ref()).fold(
                None,
                |total: Option<PhaseStats>, stats| {
                    let mut total = total.unwrap_or_default();
                    total.merge(stats);
                    Some(total)
                },
            );
            merged
        })
        .collect()
}
