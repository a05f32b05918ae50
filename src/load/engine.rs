//! The engine: shards (one OS thread each, with a single-threaded tokio
//! runtime) run worker tasks; each worker owns one connection and sends one
//! request at a time. A shard's runtime handles every connection that is
//! ready when it wakes (one `epoll_wait` for all of them), and nothing on
//! the path of a request is shared between threads: each shard takes its own
//! tickets (shard i of n takes tickets i, i + n, i + 2n, … — in the open model
//! ticket k is due at the schedule's k-th send time, in the closed model the
//! phase's count is so divided), records into its own recorder and learns of
//! a stop through its own flag. In the open model the number of workers is
//! the bound on requests in flight, and a ticket that waits for a free worker
//! is counted as delayed and timed from when it was due. Shards are merged
//! at the end.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use super::client::{Connection, PreparedRequest, Protocol};
use super::pacing::Pacer;
use super::schedule::{MixTable, Schedule};
use super::{Live, LoadError, Target};
use crate::record::{Counts, LatencyHistogram, Outcome, PacerRan, PhaseStats, SecondStats};

/// A ticket fetched this much after its due time means no worker was free.
const DELAY_TOLERANCE: Duration = Duration::from_millis(1);

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

/// What every shard reads and none writes.
struct Shared {
    job: Job,
    target: Target,
    start: Instant,
    live: Arc<Live>,
}

pub(super) fn run(
    job: Job,
    target: &Target,
    stop: watch::Receiver<bool>,
    live: Arc<Live>,
) -> Result<PhaseStats, LoadError> {
    let workers = job.workers.max(1) as usize;
    let shards = target.engine.threads.count(target.addr, workers);
    let shared = Arc::new(Shared {
        job,
        target: target.clone(),
        start: Instant::now(),
        live,
    });
    let mut handles = Vec::new();
    for index in 0..shards {
        // Spread workers evenly: the first `workers % shards` shards get one more.
        let count = workers / shards + usize::from(index < workers % shards);
        let tickets = Tickets::new(index, shards);
        let (shared, stop) = (shared.clone(), stop.clone());
        let handle = std::thread::Builder::new()
            .name(format!("firedrill-load-{index}"))
            .spawn(move || run_shard(shared, count, tickets, stop))
            .map_err(LoadError::Thread)?;
        handles.push(handle);
    }
    let mut total = PhaseStats::default();
    for handle in handles {
        let stats = handle.join().map_err(|_| LoadError::Panicked)??;
        total.merge(&stats);
    }
    total.elapsed_seconds = shared.start.elapsed().as_secs_f64();
    Ok(total)
}

/// A shard's share of the phase's tickets: `first`, `first + step`, …
struct Tickets {
    first: u64,
    step: u64,
    taken: Cell<u64>,
}

impl Tickets {
    fn new(shard: usize, shards: usize) -> Self {
        Tickets {
            first: shard as u64,
            step: shards as u64,
            taken: Cell::new(0),
        }
    }

    /// The phase-wide number of this shard's next ticket.
    fn next(&self) -> u64 {
        let taken = self.taken.get();
        self.taken.set(taken + 1);
        taken.saturating_mul(self.step).saturating_add(self.first)
    }
}

/// What a shard's workers share, on its one thread.
struct Shard {
    tickets: Tickets,
    recorder: RefCell<Recorder>,
    /// Set once the phase is to stop; workers waiting are woken.
    stopped: Cell<bool>,
    stopping: Notify,
}

impl Shard {
    /// Turns the phase's stop signal into this shard's flag, so that
    /// workers read a local cell per request, not the shared channel.
    async fn watch(self: Rc<Self>, mut stop: watch::Receiver<bool>) {
        // A dropped sender stops the phase too: nobody is left to say so.
        while !*stop.borrow_and_update() {
            if stop.changed().await.is_err() {
                break;
            }
        }
        self.stopped.set(true);
        self.stopping.notify_waiters();
    }
}

fn run_shard(
    shared: Arc<Shared>,
    workers: usize,
    tickets: Tickets,
    stop: watch::Receiver<bool>,
) -> Result<PhaseStats, LoadError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(LoadError::Runtime)?;
    let shard = Rc::new(Shard {
        tickets,
        recorder: RefCell::new(Recorder::new(shared.live.clone())),
        stopped: Cell::new(false),
        stopping: Notify::new(),
    });
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        tokio::task::spawn_local(shard.clone().watch(stop));
        let mut tasks = Vec::new();
        for _ in 0..workers {
            let worker = Worker {
                shared: shared.clone(),
                shard: shard.clone(),
                connection: Connection::new(&shared.target),
                pacer: Pacer::new(shared.target.engine.pacing),
            };
            tasks.push(tokio::task::spawn_local(worker.run()));
        }
        for task in tasks {
            let _ = task.await;
        }
    });
    let stats = shard.recorder.borrow_mut().finish();
    Ok(stats)
}

struct Worker {
    shared: Arc<Shared>,
    shard: Rc<Shard>,
    connection: Connection,
    pacer: Pacer,
}

impl Worker {
    fn stopped(&self) -> bool {
        self.shard.stopped.get()
    }

    async fn run(mut self) {
        let shared = self.shared.clone();
        match &shared.job.model {
            Model::Open { schedule, duration } => {
                let (schedule, duration) = (*schedule, *duration);
                self.run_open(schedule, duration).await;
                let ran = self.pacer.ran();
                self.shard.recorder.borrow_mut().pacer_ran(ran);
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
            let ticket = self.shard.tickets.next();
            let Some(offset) = schedule.offset(ticket) else {
                return;
            };
            let due = start + offset;
            let fetched = Instant::now();
            if fetched > end {
                // Due within the phase but never sent: every connection was
                // busy until the phase ended. Its latency is at least this long.
                self.shard
                    .recorder
                    .borrow_mut()
                    .record_dropped(fetched - due, fetched - start);
                continue;
            }
            let delayed = fetched > due + DELAY_TOLERANCE;
            if fetched < due {
                let shard = self.shard.clone();
                tokio::select! {
                    _ = self.pacer.until(due) => {}
                    _ = shard.stopping.notified() => return,
                }
            }
            let sent = Instant::now();
            let outcome = self.send(ticket, sent).await;
            let done = Instant::now();
            self.shard.recorder.borrow_mut().record(
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
            if max_duration.is_some_and(|max| now - start >= max) {
                return;
            }
            let ticket = self.shard.tickets.next();
            if ticket >= requests {
                return;
            }
            let sent = now;
            let outcome = self.send(ticket, sent).await;
            let done = Instant::now();
            self.shard.recorder.borrow_mut().record(
                outcome,
                done - sent,
                None,
                false,
                done - start,
            );
            if pause.is_zero() {
                previous_done = Some(done);
            } else {
                let shard = self.shard.clone();
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shard.stopping.notified() => return,
                }
            }
        }
    }

    async fn send(&mut self, ticket: u64, sent: Instant) -> Outcome {
        let job = &self.shared.job;
        let request = &job.requests[job.mix.pick(ticket)];
        let outcome = self.connection.send(request, sent + job.timeout).await;
        if let Some(protocol) = self.connection.take_opened() {
            let connections = &mut self.shard.recorder.borrow_mut().stats.connections;
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

    fn pacer_ran(&mut self, ran: PacerRan) {
        let pacer = &mut self.stats.pacer;
        *pacer = Some(pacer.map_or(ran, |p| p.merge(ran)));
    }

    /// The shard's statistics, its last second folded in.
    fn finish(&mut self) -> PhaseStats {
        self.flush_second();
        let mut stats = std::mem::take(&mut self.stats);
        stats.threads = 1;
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_take_every_ticket_once_in_order() {
        let shards: Vec<Tickets> = (0..3).map(|i| Tickets::new(i, 3)).collect();
        let mut taken: Vec<u64> = Vec::new();
        for shard in &shards {
            let mine: Vec<u64> = (0..4).map(|_| shard.next()).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
            taken.extend(mine);
        }
        taken.sort();
        assert_eq!(taken, (0..12).collect::<Vec<_>>());
    }
}
