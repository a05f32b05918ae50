//! The load engine's hot paths, per request: recording an outcome and a
//! latency, finding a request's intended send time, picking from a mix; and
//! once a second per shard, folding the second into the series.
//!
//!     cargo bench --bench hot_paths

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use firedrill::load::{Counts, LatencyHistogram, MixTable, Outcome, Schedule, SecondStats};
use firedrill::plan::RateShape;

/// Latencies spread like a real run's: mostly ~1 ms, a tail to seconds.
fn latencies() -> Vec<Duration> {
    (0..4096u64)
        .map(|i| {
            Duration::from_micros(200 + (i * 7919) % 2000 + if i % 97 == 0 { 1_500_000 } else { 0 })
        })
        .collect()
}

fn recording(c: &mut Criterion) {
    let values = latencies();
    let mut group = c.benchmark_group("recording");
    group.throughput(Throughput::Elements(values.len() as u64));
    group.bench_function("latency into the phase histogram", |b| {
        let mut histogram = LatencyHistogram::precise();
        b.iter(|| {
            for v in &values {
                histogram.record(black_box(*v));
            }
        })
    });
    group.bench_function("outcome, phase and second histograms (one request)", |b| {
        let (mut phase, mut second) = (LatencyHistogram::precise(), LatencyHistogram::coarse());
        let (mut counts, mut second_counts) = (Counts::default(), Counts::default());
        b.iter(|| {
            for (i, v) in values.iter().enumerate() {
                let outcome = if i % 50 == 0 {
                    Outcome::Status(503)
                } else {
                    Outcome::Status(200)
                };
                counts.count(outcome);
                second_counts.count(outcome);
                phase.record(black_box(*v));
                second.record(black_box(*v));
            }
        })
    });
    group.finish();

    c.bench_function("recording/one second folded into the series", |b| {
        let mut second = LatencyHistogram::coarse();
        for v in latencies() {
            second.record(v);
        }
        let counts = Counts {
            requests: 20_000,
            status_2xx: 20_000,
            ..Counts::default()
        };
        b.iter(|| black_box(SecondStats::new(7, counts, &second)))
    });
}

fn scheduling(c: &mut Criterion) {
    let mut group = c.benchmark_group("scheduling");
    group.throughput(Throughput::Elements(1024));
    let constant = Schedule::new(
        RateShape {
            from: 20_000.0,
            to: 20_000.0,
        },
        Duration::from_secs(600),
    );
    let ramp = Schedule::new(
        RateShape {
            from: 100.0,
            to: 20_000.0,
        },
        Duration::from_secs(600),
    );
    for (name, schedule) in [("constant rate", constant), ("linear ramp", ramp)] {
        group.bench_function(name, |b| {
            let mut ticket = 0u64;
            b.iter(|| {
                for _ in 0..1024 {
                    ticket = (ticket + 1) % schedule.total();
                    black_box(schedule.offset(black_box(ticket)));
                }
            })
        });
    }
    let mix = MixTable::new(&[3, 1, 1]);
    group.bench_function("weighted mix pick", |b| {
        let mut ticket = 0u64;
        b.iter(|| {
            for _ in 0..1024 {
                ticket += 1;
                black_box(mix.pick(black_box(ticket)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, recording, scheduling);
criterion_main!(benches);
