//! The live proof: each provoked alert run through a real Prometheus and,
//! with an Alertmanager configuration among the files, a real
//! Alertmanager (its routing tree as written, every integration rewritten
//! to firedrill's own webhook receiver), time-compressed as drills are,
//! fed by firedrill's synthetic exporter (`exporter`). In batches
//! (`plan`): per batch, the configuration and rules are loaded, the
//! healthy state is served until a rule evaluation after it is proven and
//! the alerts are silent, then every provocation begins at once; each alert
//! is watched (`watch`) until it fires, is notified (or not: why), is
//! withdrawn, resolves. `verdict` turns what was seen into the ledger's
//! line. Every child is owned by its guard (`env`): stopped, its directory
//! removed, however the run ends — the caller drops this future on a
//! signal.

mod exporter;
mod plan;
mod verdict;
mod watch;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use promql_parser::parser::Expr;

use super::ledger::AlertLedger;
use super::proof::chain_names;
use super::Site;
use crate::analyze::condition::Recordings;
use crate::drill::{Clock, Receiver};
use crate::env::{ChildProcess, WatchedAlertmanager};
use crate::prom::PromClient;
use crate::rules::alertmanager::AlertmanagerConfig;
use crate::rules::LoadedGroups;
use exporter::Exporter;
use plan::Live;
pub use verdict::Mode;
use watch::Seen;

use super::error::CoverageError;

/// What the live proof needs from the promtool half.
pub struct Input<'a> {
    pub sites: &'a [Site<'a>],
    pub groups: &'a [LoadedGroups],
    pub recordings: &'a Recordings,
    pub alertmanager: Option<&'a AlertmanagerConfig>,
    /// Production intervals (the rules' own group intervals are kept).
    pub scrape: Duration,
    pub evaluation: Duration,
    pub scale: f64,
    pub mode: Mode,
}

/// The running stack.
struct Stack {
    prometheus: ChildProcess,
    client: PromClient,
    alertmanager: Option<WatchedAlertmanager>,
    receiver: Option<Receiver>,
    exporter: Exporter,
}

/// The default time scale: a scrape every half second (Prometheus
/// scrapes and evaluates that fast without falling behind here, and the
/// verdicts' slack grows with the scale), never more than 60 times.
/// k8s/monitoring (15 s scrapes) runs 30 times faster: its HighCPUUsage
/// (`for: 10m` over 5-minute rates) fires and resolves in about 35 s.
pub fn default_scale(scrape: Duration) -> f64 {
    (2.0 * scrape.as_secs_f64()).clamp(1.0, 60.0)
}

/// Proves `lines`' provoked alerts live; returns notes for the ledger.
pub async fn prove(input: &Input<'_>, lines: &mut [AlertLedger]) -> Result<Proved, CoverageError> {
    let mut notes = Vec::new();
    // Copied out: the lines are written while the alerts run.
    let provoked: Vec<(usize, super::Provocation)> = lines
        .iter()
        .enumerate()
        .filter_map(|(n, l)| l.provocation.clone().map(|p| (n, p)))
        .collect();
    let mut lives: Vec<Live> = Vec::new();
    for (n, p) in &provoked {
        let (n, site) = (*n, &input.sites[*n]);
        if let Some(why) = plan::unservable(p) {
            let line = &mut lines[n];
            notes.push(format!("{}: not run live: {why}", line.alert));
            // Its verdict is promtool's alone: the line says so.
            line.why = format!("promtool: {}; not run live: {why}", line.why);
            continue;
        }
        let line = &lines[n];
        let mut live = Live::new(n, site.rule, site.origin, p);
        live.predicted = line.predicted;
        live.reach = reach(&site.rule.expr, input.recordings);
        lives.push(live);
    }
    for live in &mut lives {
        live.inhibitors = verdict::static_inhibitors(&lines[live.n], lines);
    }
    if lives.is_empty() {
        notes.push(if provoked.is_empty() {
            "live: no alert was provoked, so none ran live".into()
        } else {
            format!(
                "live: none ran: of the {} alerts provoked, none can run live (the notes above say why)",
                provoked.len()
            )
        });
        return Ok(Proved { notes, ran: 0 });
    }
    let mut stack = start(input).await?;
    let batches = plan::batches(&lives, input.alertmanager);
    let mut seen: Vec<Option<Seen>> = (0..lines.len()).map(|_| None).collect();
    for batch in &batches {
        let members: Vec<&Live> = batch.iter().map(|&k| &lives[k]).collect();
        for (live, s) in members
            .iter()
            .zip(run_batch(&mut stack, input, &members).await?)
        {
            seen[live.n] = Some(s);
        }
    }
    notes.push(format!(
        "live: {} alerts in {} batches (alerts reading what another writes, or one inhibiting another, apart), time scale {}",
        lives.len(),
        batches.len(),
        input.scale
    ));
    for live in &lives {
        if let Some(s) = seen[live.n].take() {
            let line = &mut lines[live.n];
            if let Some(note) = verdict::apply(line, live, &s, input) {
                notes.push(note);
            }
        }
    }
    if let Some(r) = stack.receiver.take() {
        r.finish();
    }
    Ok(Proved {
        notes,
        ran: lives.len(),
    })
}

/// What the live proof says of the run.
pub struct Proved {
    pub notes: Vec<String>,
    /// How many alerts ran live.
    pub ran: usize,
}

/// Starts the exporter, Alertmanager (with a configuration) and
/// Prometheus.
async fn start(input: &Input<'_>) -> Result<Stack, CoverageError> {
    let exporter = Exporter::start(input.scale)
        .await
        .map_err(|source| CoverageError::Io {
            path: "127.0.0.1:0 (the synthetic exporter)".into(),
            source,
        })?;
    let alertmanager = match input.alertmanager {
        Some(config) => {
            let path = config.origin.split('#').next().unwrap_or(&config.origin);
            Some(crate::env::start_alertmanager(Some(Path::new(path)), input.scale).await?)
        }
        None => None,
    };
    let scaled = |d: Duration| crate::rules::scale_duration(d, input.scale);
    let config = plan::prometheus_config(
        &[],
        &exporter.address.to_string(),
        (scaled(input.scrape), scaled(input.evaluation)),
        alertmanager
            .as_ref()
            .and_then(WatchedAlertmanager::address)
            .as_deref(),
        &BTreeSet::new(),
    );
    let (prometheus, client) = crate::env::start_prometheus(&config, input.scale).await?;
    let receiver = match alertmanager
        .as_ref()
        .and_then(WatchedAlertmanager::take_receiver)
    {
        Some(listener) => {
            let clock = Clock::align(&client).await?;
            let progress: Arc<dyn crate::record::Progress> = Arc::new(crate::record::Silent);
            Some(
                Receiver::start(listener, clock, progress).map_err(|source| CoverageError::Io {
                    path: "the notification receiver".into(),
                    source,
                })?,
            )
        }
        None => None,
    };
    Ok(Stack {
        prometheus,
        client,
        alertmanager,
        receiver,
        exporter,
    })
}

/// How far back an alert's windows reach, production seconds (recording
/// rules followed).
fn reach(expr: &str, recordings: &Recordings) -> f64 {
    let mut texts = vec![expr.to_string()];
    for name in chain_names(expr, recordings) {
        if let Some(rules) = recordings.get(&name) {
            texts.extend(rules.iter().map(|r| r.expr.to_string()));
        }
    }
    let mut longest = 0.0f64;
    for text in texts {
        let Ok(parsed) = promql_parser::parser::parse(&text) else {
            continue;
        };
        crate::rules::promql::walk(&parsed, &mut |node| match node {
            Expr::MatrixSelector(m) => longest = longest.max(m.range.as_secs_f64()),
            Expr::Subquery(s) => longest = longest.max(s.range.as_secs_f64()),
            _ => {}
        });
    }
    longest
}

/// Loads one batch, holds it healthy until evaluation is proven, provokes
/// it and watches it through.
async fn run_batch(
    stack: &mut Stack,
    input: &Input<'_>,
    members: &[&Live<'_>],
) -> Result<Vec<Seen>, CoverageError> {
    let scaled = |d: Duration| crate::rules::scale_duration(d, input.scale);
    let mut read = BTreeSet::new();
    for live in members {
        read.extend(chain_names(&live.rule.expr, input.recordings));
    }
    let groups = plan::batch_groups(members, input.groups, &read, input.scale, input.evaluation)?;
    let group_count = groups.len();
    let rules = crate::rules::render_rule_file(groups)?;
    let am = stack
        .alertmanager
        .as_ref()
        .and_then(WatchedAlertmanager::address);
    let (exporter, dir) = (
        stack.exporter.address.to_string(),
        stack.prometheus.dir().display().to_string(),
    );
    let intervals = (scaled(input.scrape), scaled(input.evaluation));
    let config_without = |gone: &BTreeSet<String>| {
        plan::prometheus_config(members, &exporter, intervals, am.as_deref(), gone)
            .replace("{dir}", &dir)
    };
    let config = config_without(&BTreeSet::new());
    stack.exporter.clear();
    for live in members {
        let p = live.provocation;
        stack
            .exporter
            .add(live.n, &p.series, &p.healthy, live.targets.clone());
    }
    let io = |source| CoverageError::Io {
        path: stack.prometheus.dir().to_path_buf(),
        source,
    };
    stack
        .prometheus
        .write_file("prometheus.yml", &config)
        .map_err(io)?;
    stack
        .prometheus
        .write_file("rules.yml", &rules)
        .map_err(io)?;
    stack.prometheus.reload();
    let warm = members.iter().map(|l| l.reach).fold(0.0, f64::max);
    let target_count: usize = members.iter().map(|l| l.targets.len()).sum();
    watch::settle(
        &stack.client,
        target_count,
        group_count,
        Duration::from_secs_f64(warm / input.scale)
            + 2 * scaled(input.scrape.max(input.evaluation)),
    )
    .await?;
    let prometheus = &stack.prometheus;
    let rescrape = |gone: &BTreeSet<String>| {
        prometheus
            .write_file("prometheus.yml", &config_without(gone))
            .map_err(|source| CoverageError::Io {
                path: prometheus.dir().to_path_buf(),
                source,
            })?;
        prometheus.reload();
        Ok(())
    };
    let watching = watch::Watch {
        client: &stack.client,
        alertmanager: stack.alertmanager.as_ref(),
        receiver: stack.receiver.as_ref(),
        exporter: &stack.exporter,
        input,
        rescrape: &rescrape,
        gone: Mutex::new(BTreeSet::new()),
    };
    watching.run(members).await
}
