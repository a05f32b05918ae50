//! Watching one batch through: the healthy state held until Prometheus has
//! scraped every target and evaluated every group after the windows
//! filled (`settle`); then every provocation at once (but an alert that
//! another of the batch is there to inhibit, provoked once that one is
//! firing at Alertmanager, so the inhibition does not hang on which of the
//! two a loaded machine fires first), and each alert followed on its own:
//! fired (the first evaluation its `ALERTS` series says firing), notified
//! (the webhook receiver's payload) or held at Alertmanager (inhibited,
//! muted, silenced, routed nowhere: its status there), withdrawn,
//! resolved. An alert that another of the batch is there to inhibit stays
//! provoked until that one is through. Times are
//! wall-clock seconds since the epoch; `verdict` scales them back.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use super::exporter::Exporter;
use super::plan::Live;
use super::Input;
use crate::coverage::error::CoverageError;
use crate::drill::Receiver;
use crate::env::WatchedAlertmanager;
use crate::prom::alertmanager::AmAlert;
use crate::prom::{PromClient, QueryResult};
use crate::record::{Labels, Notification};
use crate::time::{local_now, parse_rfc3339};

/// How often the watch looks.
const POLL: Duration = Duration::from_millis(200);

/// A notification that carried the alert.
#[derive(Debug, Clone, Default)]
pub struct Notified {
    pub at: f64,
    pub receiver: String,
    pub annotations: Labels,
}

/// What Alertmanager said of the alert while it fired.
#[derive(Debug, Clone, Default)]
pub struct AtAlertmanager {
    pub state: String,
    pub receivers: Vec<String>,
    /// The alertnames of the alerts inhibiting it.
    pub inhibited_by: Vec<String>,
    pub silenced: bool,
}

/// What the watch saw of one alert.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Pending or firing on its healthy state, before the provocation.
    pub early: Option<String>,
    pub t0: f64,
    pub fired: Option<f64>,
    pub notified: Option<Notified>,
    pub at_alertmanager: Option<AtAlertmanager>,
    /// How long it waited for a notification after firing.
    pub notify_wait: f64,
    pub t1: Option<f64>,
    pub resolved: Option<f64>,
    pub resolved_notified: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    /// Healthy still, until the alerts there to inhibit it fire.
    Waiting {
        until: f64,
    },
    Provoked {
        until: f64,
    },
    Fired {
        until: f64,
    },
    Withdrawn {
        until: f64,
    },
    Resolved {
        until: f64,
    },
    Done,
}

/// Waits until every one of `targets` was scraped and `groups` loaded,
/// holds the healthy state `warm` longer, then until every group has been
/// evaluated after that: the proof of evaluation on healthy series.
pub async fn settle(
    client: &PromClient,
    targets: usize,
    groups: usize,
    warm: Duration,
) -> Result<(), CoverageError> {
    let begun = local_now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30) + warm * 2;
    loop {
        let live = client.targets().await?;
        let scraped = live
            .iter()
            .filter(|t| {
                t.last_scrape
                    .as_deref()
                    .and_then(parse_rfc3339)
                    .is_some_and(|s| s > begun)
            })
            .count();
        if live.len() == targets && scraped == targets && client.rules().await?.len() == groups {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(stuck(format!(
                "Prometheus did not scrape the batch's {targets} targets ({scraped} of {} scraped) or load its {groups} rule groups",
                live.len()
            )));
        }
        tokio::time::sleep(POLL).await;
    }
    tokio::time::sleep(warm).await;
    let warmed = local_now();
    loop {
        let evaluated = client.rules().await?.iter().all(|g| {
            g.last_evaluation
                .as_deref()
                .and_then(parse_rfc3339)
                .is_some_and(|t| t > warmed)
        });
        if evaluated {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(stuck(
                "Prometheus did not evaluate the batch's rules after its healthy state".into(),
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Targets taken out of Prometheus's configuration or put back (by path),
/// and when its targets showed it.
struct Moved {
    paths: BTreeSet<String>,
    at: f64,
}

impl Moved {
    /// When `live`'s provocation (or withdrawal) took effect: when
    /// Prometheus had moved one of its targets — its discovery passes a
    /// change on every 5 s, production minutes at a compressed scale — or
    /// `otherwise`, when none of its targets moved.
    fn since(&self, live: &Live, otherwise: f64) -> f64 {
        if live.targets.iter().any(|t| self.paths.contains(&t.path)) {
            self.at
        } else {
            otherwise
        }
    }
}

/// How long Prometheus may take to drop or restore a target after a
/// reload (its discovery passes changes on every 5 s).
const TARGETS_MOVE: Duration = Duration::from_secs(20);

/// The path of a scrape URL (`/a3/t0` of `http://127.0.0.1:9/a3/t0`).
fn url_path(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.find('/').map(|at| rest[at..].to_string())
}

fn stuck(message: String) -> CoverageError {
    CoverageError::Stack(Box::new(crate::env::EnvError::ChildStart {
        what: "Prometheus",
        message,
        log: String::new(),
    }))
}

/// The parts of the stack a watch reads.
pub struct Watch<'a> {
    pub client: &'a PromClient,
    pub alertmanager: Option<&'a WatchedAlertmanager>,
    pub receiver: Option<&'a Receiver>,
    pub exporter: &'a Exporter,
    pub input: &'a Input<'a>,
    /// Rewrites Prometheus's configuration without the targets given (by
    /// path) and reloads it.
    pub rescrape: &'a (dyn Fn(&BTreeSet<String>) -> Result<(), CoverageError> + Sync),
    /// The targets the configuration leaves out now.
    pub gone: Mutex<BTreeSet<String>>,
}

/// Whether `a` waits for `b`: `b` is there to inhibit it, and is not
/// itself inhibited by `a` (two alerts muting each other are provoked
/// together, and neither holds the other).
fn held_by(a: &Live, b: &Live) -> bool {
    a.inhibitors.contains(&b.n) && !b.inhibitors.contains(&a.n)
}

/// Whether every alert of the batch `members[k]` waits for has fired and
/// reached Alertmanager (or had its time to: it may never be listed
/// there), or will not fire (withdrawn).
fn inhibitors_there(members: &[&Live], steps: &[Step], k: usize, poll: &Poll) -> bool {
    members
        .iter()
        .zip(steps)
        .filter(|(other, _)| held_by(members[k], other))
        .all(|(other, step)| match *step {
            Step::Waiting { .. } | Step::Provoked { .. } => false,
            Step::Fired { until } => {
                poll.now > until || poll.at_alertmanager.iter().any(|a| other.owns(&a.labels))
            }
            _ => true,
        })
}

/// What one poll read.
struct Poll {
    now: f64,
    firing: Vec<Labels>,
    notifications: Vec<Notification>,
    at_alertmanager: Vec<AmAlert>,
}

impl Watch<'_> {
    fn scaled(&self, production: f64) -> f64 {
        production / self.input.scale
    }

    /// Provokes `members` and follows each through: at once, but an alert
    /// another of the batch is there to inhibit, which waits until that one
    /// is firing at Alertmanager (the inhibition shown whichever of the two
    /// a loaded machine would have fired first), or has given up on firing.
    pub async fn run(&self, members: &[&Live<'_>]) -> Result<Vec<Seen>, CoverageError> {
        let mut seen: Vec<Seen> = vec![Seen::default(); members.len()];
        let active = self.client.alerts().await?;
        for (k, live) in members.iter().enumerate() {
            if let Some(a) = active.iter().find(|a| live.owns(&a.labels)) {
                seen[k].early = Some(a.state.clone());
            }
        }
        // However inhibitors chain (or circle), no alert waits, nor is held
        // provoked for another, past the time every alert of the batch
        // could take, one after the other.
        let deadline = local_now()
            + members
                .iter()
                .map(|live| self.fire_wait(live) + self.notify_wait(live))
                .sum::<f64>();
        // Every alert waits, but those waiting for none are provoked now.
        let mut steps = vec![Step::Waiting { until: deadline }; members.len()];
        let now: Vec<usize> = (0..members.len())
            .filter(|&k| !members.iter().any(|other| held_by(members[k], other)))
            .collect();
        self.provoke(members, &now, &mut seen, &mut steps).await?;
        while steps.iter().any(|s| *s != Step::Done) {
            tokio::time::sleep(POLL).await;
            let poll = self.poll(&steps).await?;
            for k in 0..members.len() {
                let partners_waiting = poll.now < deadline
                    && members.iter().zip(&steps).any(|(other, step)| {
                        held_by(other, members[k])
                            && matches!(
                                step,
                                Step::Waiting { .. } | Step::Provoked { .. } | Step::Fired { .. }
                            )
                    });
                steps[k] = self
                    .advance(members[k], steps[k], &mut seen[k], &poll, partners_waiting)
                    .await?;
            }
            let ready: Vec<usize> = (0..members.len())
                .filter(|&k| match steps[k] {
                    Step::Waiting { until } => {
                        poll.now > until || inhibitors_there(members, &steps, k, &poll)
                    }
                    _ => false,
                })
                .collect();
            self.provoke(members, &ready, &mut seen, &mut steps).await?;
        }
        Ok(seen)
    }

    /// Switches `which` of `members` to their provocations at once and
    /// times each from when it took effect.
    async fn provoke(
        &self,
        members: &[&Live<'_>],
        which: &[usize],
        seen: &mut [Seen],
        steps: &mut [Step],
    ) -> Result<(), CoverageError> {
        if which.is_empty() {
            return Ok(());
        }
        let switched = local_now();
        for &k in which {
            self.exporter
                .switch(members[k].n, &members[k].provocation.provoking);
        }
        let moved = self.follow_targets().await?;
        for &k in which {
            seen[k].t0 = moved.since(members[k], switched);
            steps[k] = Step::Provoked {
                until: seen[k].t0 + self.fire_wait(members[k]),
            };
        }
        Ok(())
    }

    async fn poll(&self, steps: &[Step]) -> Result<Poll, CoverageError> {
        let firing = match self
            .client
            .query("ALERTS{alertstate=\"firing\"}", None)
            .await?
        {
            QueryResult::Vector(samples) => samples.into_iter().map(|s| s.metric).collect(),
            _ => Vec::new(),
        };
        let want_am = steps.iter().any(|s| matches!(s, Step::Fired { .. }));
        let at_alertmanager = match (self.alertmanager, want_am) {
            (Some(am), true) => am.client.alerts().await?,
            _ => Vec::new(),
        };
        Ok(Poll {
            now: local_now(),
            firing,
            notifications: self.receiver.map(Receiver::taken).unwrap_or_default(),
            at_alertmanager,
        })
    }

    /// How long to wait for it to fire: half as long again as the model's
    /// worst case, or (no bounds) twice its `for` and windows.
    fn fire_wait(&self, live: &Live) -> f64 {
        let (s, e) = (
            self.input.scrape.as_secs_f64(),
            self.input.evaluation.as_secs_f64(),
        );
        let production = match live.predicted {
            Some(b) => 1.5 * b.worst_seconds + 2.0 * (s + e),
            None => 2.0 * (live.hold + live.reach) + 4.0 * (s + e),
        };
        self.scaled(production).max(5.0)
    }

    /// How long a notification can take after firing: the longest
    /// `group_wait` and `group_interval` of its routes.
    fn notify_wait(&self, live: &Live) -> f64 {
        let Some(config) = self.input.alertmanager else {
            return 0.0;
        };
        let longest = config
            .route_for(&live.labels())
            .iter()
            .map(|r| (r.group_wait + r.group_interval).as_secs_f64())
            .fold(0.0, f64::max);
        self.scaled(longest) + 3.0
    }

    fn resolve_wait(&self, live: &Live) -> f64 {
        let (s, e) = (
            self.input.scrape.as_secs_f64(),
            self.input.evaluation.as_secs_f64(),
        );
        self.scaled(1.5 * (live.reach + live.keep) + 4.0 * (s + e))
            .max(5.0)
    }

    async fn advance(
        &self,
        live: &Live<'_>,
        step: Step,
        seen: &mut Seen,
        poll: &Poll,
        partners_waiting: bool,
    ) -> Result<Step, CoverageError> {
        let now = poll.now;
        let firing = poll.firing.iter().any(|l| live.owns(l));
        Ok(match step {
            Step::Provoked { .. } if firing => {
                seen.fired = Some(self.first_firing(live, seen.t0, now).await?);
                seen.notify_wait = self.notify_wait(live);
                Step::Fired {
                    until: now + seen.notify_wait,
                }
            }
            Step::Provoked { until } if now > until => self.withdraw(live, seen, now).await?,
            Step::Fired { until } => {
                self.look_at_alertmanager(live, seen, poll);
                let heard = seen.notified.is_some() || self.alertmanager.is_none();
                if (heard || now > until) && !partners_waiting {
                    self.withdraw(live, seen, now).await?
                } else {
                    step
                }
            }
            // Nothing resolves that never fired.
            Step::Withdrawn { .. } if !firing && seen.fired.is_none() => Step::Done,
            Step::Withdrawn { .. } if !firing => {
                seen.resolved = Some(now);
                match seen.notified {
                    Some(_) => Step::Resolved {
                        until: now + seen.notify_wait,
                    },
                    None => Step::Done,
                }
            }
            Step::Withdrawn { until } if now > until => Step::Done,
            Step::Resolved { until } => {
                seen.resolved_notified = self
                    .notification(live, poll, "resolved", seen.t1.unwrap_or(seen.t0))
                    .map(|n| n.at);
                if seen.resolved_notified.is_some() || now > until {
                    Step::Done
                } else {
                    step
                }
            }
            other => other,
        })
    }

    async fn withdraw(
        &self,
        live: &Live<'_>,
        seen: &mut Seen,
        now: f64,
    ) -> Result<Step, CoverageError> {
        self.exporter.switch(live.n, &live.provocation.healthy);
        let t1 = self.follow_targets().await?.since(live, now);
        seen.t1 = Some(t1);
        Ok(Step::Withdrawn {
            until: t1 + self.resolve_wait(live),
        })
    }

    /// Takes the targets whose `up` is withdrawn out of Prometheus's
    /// configuration and puts back those no longer withdrawn; returns the
    /// targets moved and when Prometheus's targets showed it.
    async fn follow_targets(&self) -> Result<Moved, CoverageError> {
        let gone = self.exporter.gone();
        let moved: BTreeSet<String> = {
            let mut applied = self.gone.lock().unwrap_or_else(|e| e.into_inner());
            if gone == *applied {
                return Ok(Moved {
                    paths: BTreeSet::new(),
                    at: local_now(),
                });
            }
            (self.rescrape)(&gone)?;
            let moved = applied.symmetric_difference(&gone).cloned().collect();
            *applied = gone.clone();
            moved
        };
        let deadline = tokio::time::Instant::now() + TARGETS_MOVE;
        loop {
            let listed: BTreeSet<String> = self
                .client
                .targets()
                .await?
                .iter()
                .filter_map(|t| url_path(&t.scrape_url))
                .collect();
            if moved.iter().all(|p| gone.contains(p) != listed.contains(p)) {
                return Ok(Moved {
                    paths: moved,
                    at: local_now(),
                });
            }
            if tokio::time::Instant::now() > deadline {
                return Err(stuck(format!(
                    "Prometheus did not take its targets {} out of its scrape pools (or back) within {}s of a reload",
                    moved.iter().cloned().collect::<Vec<_>>().join(", "),
                    TARGETS_MOVE.as_secs()
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The first notification of `live` with `status` received at `since`
    /// or later: the receiver keeps every notification of the run, and an
    /// alert may have been paged before — as another alert's inhibitor, in
    /// an earlier batch — which says nothing of this provocation.
    fn notification(&self, live: &Live, poll: &Poll, status: &str, since: f64) -> Option<Notified> {
        poll.notifications
            .iter()
            .filter(|n| n.received_at >= since)
            .find_map(|n| {
                n.alerts
                    .iter()
                    .find(|a| a.status == status && live.owns(&a.labels))
                    .map(|a| Notified {
                        at: n.received_at,
                        receiver: n.receiver.clone(),
                        annotations: a.annotations.clone(),
                    })
            })
    }

    fn look_at_alertmanager(&self, live: &Live, seen: &mut Seen, poll: &Poll) {
        if seen.notified.is_none() {
            seen.notified = self.notification(live, poll, "firing", seen.t0);
        }
        let Some(mine) = poll.at_alertmanager.iter().find(|a| live.owns(&a.labels)) else {
            return;
        };
        let inhibited_by = mine
            .status
            .inhibited_by
            .iter()
            .filter_map(|f| poll.at_alertmanager.iter().find(|a| &a.fingerprint == f))
            .filter_map(|a| a.labels.get("alertname").cloned())
            .collect();
        let now = AtAlertmanager {
            state: mine.status.state.clone(),
            receivers: mine.receivers.iter().map(|r| r.name.clone()).collect(),
            inhibited_by,
            silenced: !mine.status.silenced_by.is_empty(),
        };
        // Keep the most telling sighting: a suppressed one over an active.
        let keep = seen
            .at_alertmanager
            .as_ref()
            .is_some_and(|s| s.state == "suppressed" && now.state != "suppressed");
        if !keep {
            seen.at_alertmanager = Some(now);
        }
    }

    /// The evaluation at which it first fired after `t0`: the first
    /// sample of its `ALERTS{alertstate="firing"}` series (found at `now`).
    async fn first_firing(&self, live: &Live<'_>, t0: f64, now: f64) -> Result<f64, CoverageError> {
        let name = live.rule.alert.clone().unwrap_or_default();
        let span = (now - t0).ceil().max(1.0) as u64 + 1;
        let expr = format!(
            "ALERTS{{alertname={},alertstate=\"firing\"}}[{span}s]",
            serde_json::Value::String(name)
        );
        let first = match self.client.query(&expr, Some(now)).await? {
            QueryResult::Matrix(series) => series
                .iter()
                .filter(|s| live.owns(&s.metric))
                .flat_map(|s| s.values.iter().map(|p| p.t))
                .filter(|&t| t >= t0)
                .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.min(t)))),
            _ => None,
        };
        Ok(first.unwrap_or(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_urls_path_names_its_target() {
        assert_eq!(
            url_path("http://127.0.0.1:9123/a3/t0").as_deref(),
            Some("/a3/t0")
        );
        assert_eq!(
            url_path("http://[::1]:80/a1/t10").as_deref(),
            Some("/a1/t10")
        );
        assert_eq!(url_path("http://127.0.0.1:9"), None);
    }
}
