//! `firedrill load`: the load engine alone, without a scenario, Prometheus or
//! checks — for benchmarks and quick looks at a target. Open model with
//! `--rate` (latency from each request's intended send time), closed model
//! otherwise (`--connections` clients back to back). Prints a summary, or
//! JSON with `--json`.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::{CommandError, Outcome};
use crate::load::{self, Connections, Counts, LatencySummary, Live, LoadError, Target};
use crate::plan::{LoadModel, PhasePlan, RateShape, RequestTemplate, WeightedRequest};
use crate::scenario::units::Rate;

/// The load engine alone: send traffic to a URL and print what happened
/// (no scenario, Prometheus or checks). Open model with --rate, latency
/// from each request's intended send time; closed model without.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// The URL to send every request to (http://host:port/path).
    pub url: String,
    /// Open model: arrivals per second, `20000/s`, or a ramp `100/s..1000/s`.
    #[arg(long, value_name = "RATE")]
    pub rate: Option<String>,
    /// Connections: the bound on requests in flight (open model), the
    /// number of clients (closed model).
    #[arg(long, short = 'c', default_value_t = 32)]
    pub connections: u32,
    #[arg(long, short = 'd', default_value = "10s", value_parser = super::parse_duration)]
    pub duration: Duration,
    /// Closed model: stop after this many requests.
    #[arg(long, short = 'n')]
    pub requests: Option<u64>,
    #[arg(long, short = 'm', default_value = "GET")]
    pub method: String,
    /// `Name: value`, repeatable.
    #[arg(long = "header", short = 'H', value_name = "HEADER")]
    pub headers: Vec<String>,
    #[arg(long, short = 'b')]
    pub body: Option<String>,
    #[arg(long, default_value = "10s", value_parser = super::parse_duration)]
    pub timeout: Duration,
    /// https: trust this CA (PEM) besides the public roots.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<std::path::PathBuf>,
    /// https: do not verify the certificate (knowingly).
    #[arg(long, short = 'k')]
    pub insecure: bool,
    /// The HTTP/1.1 client: `lean` (the request encoded once, answers
    /// parsed with httparse) or `hyper` (for comparison). HTTP/2 is hyper's.
    #[arg(long, value_enum, default_value_t = load::Client::Lean)]
    pub client: load::Client,
    /// How open-model requests wait for their send time: `timerfd` (a
    /// high-resolution kernel timer) or `tokio` (its 1 ms tick, for comparison).
    #[arg(long, value_enum, default_value_t = load::Pacing::Timerfd)]
    pub pacing: load::Pacing,
    /// Load threads. Default: all cores, but one fewer (at least one) when
    /// the target is on this machine, which needs a core to answer; never
    /// more than connections.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
    /// Print JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
}

impl LoadArgs {
    /// For https URLs: a CA to trust, or no verification.
    fn tls(&self) -> crate::plan::TlsPlan {
        crate::plan::TlsPlan {
            ca_file: self.cacert.clone(),
            insecure_skip_verify: self.insecure,
        }
    }

    /// How the load engine sends.
    fn engine(&self) -> load::Engine {
        load::Engine {
            client: self.client,
            pacing: self.pacing,
            threads: self
                .threads
                .map_or(load::Threads::Auto, load::Threads::Exactly),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LoadSummary {
    pub url: String,
    pub model: &'static str,
    pub target_rate: Option<RateShape>,
    pub connections: u32,
    /// Load threads that sent the traffic.
    pub threads: u32,
    /// The clock that timed the sends (open model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pacer: Option<load::PacerRan>,
    pub elapsed_seconds: f64,
    pub achieved_rate: f64,
    pub counts: Counts,
    /// Requests that waited for a free connection (open model).
    pub delayed: u64,
    pub latency: LatencySummary,
    /// How late requests were sent after their intended time (open model).
    pub send_lag: LatencySummary,
    pub connections_opened: Connections,
}

/// Why `firedrill load` did not finish with an answer.
#[derive(Debug, thiserror::Error)]
pub enum LoadCommandError {
    #[error(transparent)]
    Arguments(#[from] ArgumentError),
    /// The target cannot be resolved or reached for TLS.
    #[error("{0}")]
    Target(#[source] LoadError),
    #[error("{0}")]
    Engine(#[source] LoadError),
    #[error("the load engine stopped: {0}")]
    Stopped(#[source] tokio::task::JoinError),
    #[error("{0}")]
    Json(#[source] serde_json::Error),
    #[error("the target never answered")]
    NoAnswer,
}

/// Arguments that do not describe a load.
#[derive(Debug, thiserror::Error)]
pub enum ArgumentError {
    #[error("`{url}` is not a URL: {source}")]
    NotAUrl {
        url: String,
        #[source]
        source: hyper::http::uri::InvalidUri,
    },
    #[error("`{url}` has no scheme (http:// or https://)")]
    NoScheme { url: String },
    #[error("`{url}` has no host")]
    NoHost { url: String },
    /// A rate in a scenario's syntax that does not parse; the scenario's
    /// unit parser says why.
    #[error(transparent)]
    Rate(#[from] crate::spec::units::UnitError),
    #[error("--rate must be above 0/s")]
    NoRate,
    #[error("header `{0}` is not `Name: value`")]
    Header(String),
    #[error("--connections must be at least 1")]
    NoConnections,
}

/// Splits `http[s]://host[:port]/path?query` into the base and the path.
fn split_url(url: &str) -> Result<(String, String), ArgumentError> {
    let uri: hyper::Uri = url.parse().map_err(|source| ArgumentError::NotAUrl {
        url: url.to_string(),
        source,
    })?;
    let scheme = uri.scheme_str().ok_or_else(|| ArgumentError::NoScheme {
        url: url.to_string(),
    })?;
    let authority = uri.authority().ok_or_else(|| ArgumentError::NoHost {
        url: url.to_string(),
    })?;
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    Ok((
        format!("{scheme}://{authority}"),
        if path.is_empty() {
            "/".into()
        } else {
            path.into()
        },
    ))
}

fn parse_rate(text: &str) -> Result<RateShape, ArgumentError> {
    let rate = |text| {
        Rate::parse(text)
            .map(|rate| rate.0)
            .map_err(ArgumentError::Rate)
    };
    match text.split_once("..") {
        Some((from, to)) => Ok(RateShape {
            from: rate(from)?,
            to: rate(to)?,
        }),
        None => {
            let rate = rate(text)?;
            Ok(RateShape {
                from: rate,
                to: rate,
            })
        }
    }
}

fn plan(args: &LoadArgs, path: String) -> Result<PhasePlan, ArgumentError> {
    let headers = args
        .headers
        .iter()
        .map(|h| {
            h.split_once(':')
                .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| ArgumentError::Header(h.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if args.connections == 0 {
        return Err(ArgumentError::NoConnections);
    }
    let model = match &args.rate {
        Some(rate) => {
            let rate = parse_rate(rate)?;
            if rate.from <= 0.0 && rate.to <= 0.0 {
                return Err(ArgumentError::NoRate);
            }
            LoadModel::Open {
                rate,
                duration: args.duration,
                connections: args.connections,
            }
        }
        None => LoadModel::Closed {
            requests: args.requests.unwrap_or(u64::MAX),
            concurrency: args.connections,
            pause: Duration::ZERO,
            max_duration: Some(args.duration),
        },
    };
    Ok(PhasePlan {
        name: "load".into(),
        model,
        requests: vec![WeightedRequest {
            weight: 1,
            request: RequestTemplate {
                method: args.method.to_uppercase(),
                path,
                headers,
                body: args.body.clone().unwrap_or_default().into_bytes(),
            },
        }],
        fault: None,
        timeout: args.timeout,
    })
}

pub async fn load(args: LoadArgs) -> Result<Outcome, CommandError> {
    let (base, path) = split_url(&args.url).map_err(LoadCommandError::from)?;
    let phase = plan(&args, path).map_err(LoadCommandError::from)?;
    let target = Target::resolve(&base, None, &args.tls())
        .await
        .map_err(LoadCommandError::Target)?
        .with_engine(args.engine());
    let stop = super::shutdown_on_signals();
    let live = Arc::new(Live::default());
    let run = {
        let phase = phase.clone();
        tokio::task::spawn_blocking(move || load::run_phase(&target, &phase, stop, live)).await
    };
    let stats = run
        .map_err(LoadCommandError::Stopped)?
        .map_err(LoadCommandError::Engine)?;
    let (model, target_rate) = match &phase.model {
        LoadModel::Open { rate, .. } => ("open", Some(*rate)),
        _ => ("closed", None),
    };
    let summary = LoadSummary {
        url: args.url.clone(),
        model,
        target_rate,
        connections: args.connections,
        threads: stats.threads,
        pacer: stats.pacer,
        elapsed_seconds: stats.elapsed_seconds,
        achieved_rate: stats.counts.requests.saturating_sub(stats.counts.dropped) as f64
            / stats.elapsed_seconds.max(1e-9),
        counts: stats.counts,
        delayed: stats.delayed,
        latency: stats.latency.summary(),
        send_lag: stats.send_lag.summary(),
        connections_opened: stats.connections,
    };
    if args.json {
        let json = serde_json::to_string_pretty(&summary).map_err(LoadCommandError::Json)?;
        println!("{json}");
    } else {
        print!("{}", render(&summary));
    }
    if summary.counts.responses() == 0 {
        return Err(LoadCommandError::NoAnswer.into());
    }
    Ok(Outcome::Pass)
}

fn render(s: &LoadSummary) -> String {
    let c = &s.counts;
    let l = &s.latency;
    let mut out = format!(
        "{} {} for {:.1}s, {} connections, {} thread{}: {} requests, {:.0} req/s\n",
        s.model,
        s.url,
        s.elapsed_seconds,
        s.connections,
        s.threads,
        if s.threads == 1 { "" } else { "s" },
        c.requests,
        s.achieved_rate
    );
    if let Some(rate) = s.target_rate {
        out.push_str(&format!(
            "  target rate {}/s{}; {} delayed (no free connection), {} dropped; send lag p99 {:.3}ms ({} pacer)\n",
            rate.from,
            if rate.to != rate.from { format!("..{}/s", rate.to) } else { String::new() },
            s.delayed,
            c.dropped,
            s.send_lag.p99_ms,
            s.pacer.map_or("no", load::PacerRan::label)
        ));
    }
    out.push_str(&format!(
        "  status 2xx {} 3xx {} 4xx {} 5xx {}; connect errors {} timeouts {} resets {} other {}\n",
        c.status_2xx,
        c.status_3xx,
        c.status_4xx,
        c.status_5xx,
        c.connect_errors,
        c.timeouts,
        c.resets,
        c.other_errors
    ));
    out.push_str(&format!(
        "  connections opened: {} HTTP/1.1, {} HTTP/2\n",
        s.connections_opened.http1, s.connections_opened.http2
    ));
    out.push_str(&format!(
        "  latency ms: p50 {:.3} p90 {:.3} p99 {:.3} p99.9 {:.3} max {:.3}\n",
        l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_base_and_path() {
        assert_eq!(
            split_url("http://127.0.0.1:8080/predict?x=1").unwrap(),
            (
                "http://127.0.0.1:8080".to_string(),
                "/predict?x=1".to_string()
            )
        );
        assert_eq!(split_url("http://localhost").unwrap().1, "/");
        assert!(split_url("127.0.0.1:80").is_err());
    }

    #[test]
    fn rates_and_ramps_parse() {
        assert_eq!(
            parse_rate("20000/s").unwrap(),
            RateShape {
                from: 20000.0,
                to: 20000.0
            }
        );
        assert_eq!(
            parse_rate("10/s..100/s").unwrap(),
            RateShape {
                from: 10.0,
                to: 100.0
            }
        );
        assert!(parse_rate("20000").is_err());
    }
}
