//! The engine: shards (one OS thread each, with a single-threaded tokio
//! runtime) run worker tasks; each worker owns one connection and sends one
//! request at a time. Workers take tickets from a shared counter: in the open
//! model ticket i is due at its scheduled time, so the number of workers is
//! the bound on requests in flight, and a ticket that waits for a free worker
//! is counted as delayed and timed from when it was due. Recording is
//! shard-local (no locks on the hot path); shards are merged at the end.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::client::{Connection, PreparedRequest, Protocol};
use super::pacing::Pacer;
use super::schedule::{MixTable, Schedule};
use super::{Live, LoadError, Target};
use crate::record::{Counts, LatencyHistogram, Outcome, PhaseStats, SecondStats};

/// A ticket fetched this much after its due time means no worker was free.
const DELAY_TOLERANCE: Duration = Duration::from_millis(1);
const MAX_SHARDS: usize = 8;

pub(super) enum Model {
    Open {
        schedule: Schedule,
        duration: Duration,
    },
    Closed {
        requests: u64,
        pause: Duration,
        max_duration: Option<Duration>,
    },
}

pub(super) struct Job {
    pub model: Model,
    pub workers: u32,
    pub requests: Vec<PreparedRequest>,
    pub mix: MixTable,
    pub timeout: Duration,
}

struct Shared {
    job: Job,
    target: Target,
    start: Instant,
    next_ticket: AtomicU64,
    live: Arc<Live>,
}

pub(super) fn run(
    job: Job,
    target: &Target,
    stop: watch::Receiver<bool>,
    live: Arc<Live>,
) -> Result<PhaseStats, LoadError> {
    let workers = job.workers.max(1) as usize;
    let parallelism = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let shards = workers.min(parallelism).min(MAX_SHARDS);
    let shared = Arc::new(Shared {
        job,
        target: target.clone(),
        start: Instant::now(),
        next_ticket: AtomicU64::new(0),
        live,
    });
    let mut handles = Vec::new();
    for shard in 0..shards {
        // Spread workers evenly: the first `workers % shards` shards get one more.
        let count = workers / shards + usize::from(shard < workers % shards);
        let shared = shared.clone();
        let stop = stop.clone();
        let handle = std::thread::Builder::new()
            .name(format!("firedrill-load-{shard}"))
            .spawn(move || run_shard(shared, count, stop))
            .map_err(|e| LoadError::Runtime(format!("cannot start a load thread: {e}")))?;
        handles.push(handle);
    }
    let mut total = PhaseStats::default();
    for handle in handles {
        let stats = handle
            .join()
            .map_err(|_| LoadError::Runtime("a load thread panicked".into()))??;
        total.merge(&stats);
    }
    total.elapsed_seconds = shared.start.elapsed().as_secs_f64();
    Ok(total)
}

fn run_shard(
    shared: Arc<Shared>,
    workers: usize,
    stop: watch::Receiver<bool>,
) -> Result<PhaseStats, LoadError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LoadError::Runtime(format!("cannot start a load runtime: {e}")))?;
    let recorder = Rc::new(RefCell::new(Recorder::new(shared.live.clone())));
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let mut tasks = Vec::new();
        for _ in 0..workers {
            let worker = Worker {
                shared: shared.clone(),
                recorder: recorder.clone(),
                connection: Connection::new(&shared.target),
                pacer: Pacer::new(shared.target.pacing),
                stop: stop.clone(),
            };
            tasks.push(tokio::task::spawn_local(worker.run()));
        }
        for task in tasks {
            let _ = task.await;
        }
    });
    let recorder = Rc::try_unwrap(recorder)
        .map_err(|_| LoadError::Runtime("a worker outlived its shard".into()))?
        .into_inner();
    Ok(recorder.finish())
}

struct Worker {
    shared: Arc<Shared>,
    recorder: Rc<RefCell<Recorder>>,
    connection: Connection,
    pacer: Pacer,
    stop: watch::Receiver<bool>,
}

impl Worker {
    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    async fn run(mut self) {
        let shared = self.shared.clone();
        match &shared.job.model {
            Model::Open { schedule, duration } => {
                let (schedule, duration) = (*schedule, *duration);
                self.run_open(schedule, duration).await
            }
            Model::Closed {
                requests,
                pause,
                max_duration,
            } => {
                let (requests, pause, max_duration) = (*requests, *pause, *max_duration);
                self.run_closed(requests, pause, max_duration).await
            }
        }
    }

    async fn run_open(&mut self, schedule: Schedule, duration: Duration) {
        let start = self.shared.start;
        let end = start + duration;
        loop {
            if self.stopped() {
                return;
            }
            let ticket = self.shared.next_ticket.fetch_add(1, Ordering::Relaxed);
            let Some(offset) = schedule.offset(ticket) else {
                return;
            };
            let due = start + offset;
            let fetched = Instant::now();
            if fetched > end {
                // Due within the phase but never sent: every connection was
                // busy until the phase ended. Its latency is at least this long.
                self.recorder
                    .borrow_mut()
                    .record_dropped(fetched - due, fetched - start);
                continue;
            }
            let delayed = fetched > due + DELAY_TOLERANCE;
            if fetched < due {
                tokio::select! {
                    _ = self.pacer.until(due) => {}
                    _ = self.stop.changed() => return,
                }
            }
            let sent = Instant::now();
            let outcome = self.send(ticket, sent).await;
            let done = Instant::now();
            self.recorder.borrow_mut().record(
                outcome,
                done - due,
                Some(sent.saturating_duration_since(due)),
                delayed,
                done - start,
            );
        }
    }

    async fn run_closed(&mut self, requests: u64, pause: Duration, max_duration: Option<Duration>) {
        let start = self.shared.start;
        // Back to back, one request's end is the next one's start: one
        // clock read per request instead of two.
        let mut previous_done = None;
        loop {
            if self.stopped() {
                return;
            }
            let now = previous_done.take().unwrap_or_else(Instant::now);
            if let Some(max) = max_duration {
                if now - start >= max {
                    return;
                }
            }
            let ticket = self.shared.next_ticket.fetch_add(1, Ordering::Relaxed);
            if ticket >= requests {
                return;
            }
            let sent = now;
            let outcome = self.send(ticket, sent).await;
            let done = Instant::now();
            self.recorder
                .borrow_mut()
                .record(outcome, done - sent, None, false, done - start);
            if pause.is_zero() {
                previous_done = Some(done);
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = self.stop.changed() => return,
                }
            }
        }
    }

    async fn send(&mut self, ticket: u64, sent: Instant) -> Outcome {
        let job = &self.shared.job;
        let request = &job.requests[job.mix.pick(ticket)];
        let outcome = self.connection.send(request, sent + job.timeout).await;
        if let Some(protocol) = self.connection.take_opened() {
            let connections = &mut self.recorder.borrow_mut().stats.connections;
            match protocol {
                Protocol::Http1 => connections.http1 += 1,
                Protocol::Http2 => connections.http2 += 1,
            }
        }
        outcome
    }
}

/// A shard's observations. The current second is kept open and folded into
/// the series when a later second begins.
struct Recorder {
    stats: PhaseStats,
    second: u32,
    second_counts: Counts,
    second_latency: LatencyHistogram,
    live: Arc<Live>,
}

impl Recorder {
    fn new(live: Arc<Live>) -> Self {
        Recorder {
            stats: PhaseStats::default(),
            second: 0,
            second_counts: Counts::default(),
            second_latency: LatencyHistogram::coarse(),
            live,
        }
    }

    fn roll_to(&mut self, since_start: Duration) {
        let second = since_start.as_secs() as u32;
        if second != self.second {
            self.flush_second();
            self.second = second;
        }
    }

    fn flush_second(&mut self) {
        if self.second_counts.requests == 0 {
            return;
        }
        let counts = std::mem::take(&mut self.second_counts);
        self.live
            .add(&counts, self.second_latency.quantile_ms(0.99));
        let second = SecondStats::new(self.second, counts, &self.second_latency);
        self.stats.merge_second(&second);
        self.second_latency.0.reset();
    }

    fn record(
        &mut self,
        outcome: Outcome,
        latency: Duration,
        send_lag: Option<Duration>,
        delayed: bool,
        since_start: Duration,
    ) {
        self.roll_to(since_start);
        self.stats.counts.count(outcome);
        self.second_counts.count(outcome);
        if delayed {
            self.stats.delayed += 1;
        }
        if let Some(lag) = send_lag {
            self.stats.send_lag.record(lag);
        }
        // A refused connection or a reset has no latency to speak of; a
        // timeout took at least the timeout, and counts at that value.
        if matches!(outcome, Outcome::Status(_) | Outcome::Timeout) {
            self.stats.latency.record(latency);
            self.second_latency.record(latency);
        }
    }

    fn record_dropped(&mut self, waited: Duration, since_start: Duration) {
        self.roll_to(since_start);
        for counts in [&mut self.stats.counts, &mut self.second_counts] {
            counts.requests += 1;
            counts.dropped += 1;
        }
        self.stats.latency.record(waited);
        self.second_latency.record(waited);
    }

    fn finish(mut self) -> PhaseStats {
        self.flush_second();
        self.stats
    }
}
