//! `firedrill compare`: a run against an earlier one, or against the median
//! of the last passing runs of its scenario; exit 0 without a regression,
//! 1 with one, 2 when the input is not two comparable reports.

use std::path::PathBuf;
use std::time::Duration;

use crate::report::compare::{self, CompareError, Limits, Wanted};
use crate::report::Report;
use crate::spec::units::{Rate, Ratio};

use super::{CommandError, Outcome};

/// Compare two runs' report.json, figure by figure: per phase p50/p95/p99
/// (from the HDR histograms), error ratio and throughput; per alert check
/// the time to fire, resolve or notify; per service-side SLO its value.
///
/// A figure regresses when it is worse by more than --max-regression AND by
/// more than its floor: the floors differ by what is measured (latency in
/// ms, alert times in evaluation ticks, error ratios in percentage points,
/// throughput in requests per second). A figure resting on fewer than
/// --min-samples samples is shown, not judged.
///
/// Exit 0: no regression; 1: a regression; 2: a file that is not a report,
/// or reports of different scenarios or phases (the message says which).
#[derive(Debug, Clone, clap::Args)]
pub struct CompareArgs {
    /// BASE NEW (two report.json files), or NEW alone with --history.
    #[arg(required = true, num_args = 1..=2, value_name = "REPORT")]
    pub reports: Vec<PathBuf>,
    /// Compare NEW with the median of the last --last passing runs of its
    /// scenario found in DIR (a directory of report directories, as `run
    /// --reports DIR` writes them).
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,
    /// How many passing runs of the history make the median.
    #[arg(long, default_value_t = 7, value_name = "N")]
    pub last: usize,
    /// Worse by more than this share of the baseline (and its floor) is a
    /// regression.
    #[arg(long, default_value = "10%", value_parser = Ratio::parse, value_name = "PERCENT")]
    pub max_regression: Ratio,
    /// Latency quantiles: worse by at most this is never a regression.
    #[arg(long, default_value = "5ms", value_parser = super::parse_duration, value_name = "DURATION")]
    pub floor: Duration,
    /// Alert times (to fire, resolve, notify): worse by at most this is
    /// never a regression [default: one evaluation interval plus one scrape
    /// interval of the new run, by which an alert's time moves from where
    /// the phases fall between ticks alone].
    #[arg(long, value_parser = super::parse_duration, value_name = "DURATION")]
    pub floor_time: Option<Duration>,
    /// Error ratios, in percentage points: worse by at most this is never
    /// a regression.
    #[arg(long, default_value = "1%", value_parser = Ratio::parse, value_name = "PERCENT")]
    pub floor_errors: Ratio,
    /// Throughput: lower by at most this is never a regression.
    #[arg(long, default_value = "1/s", value_parser = Rate::parse, value_name = "RATE")]
    pub floor_throughput: Rate,
    /// Samples a figure must rest on, on both sides, to be judged: requests
    /// slower than a quantile (answers × (1 − q): p95 needs 200 answers,
    /// p99 1000), or ten times as many requests for an error ratio or a
    /// throughput.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub min_samples: u64,
    /// Markdown, for a pull-request comment.
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,
    /// The comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

impl CompareArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_regression: self.max_regression.0,
            latency_floor_ms: self.floor.as_secs_f64() * 1000.0,
            time_floor_seconds: self.floor_time.map(|d| d.as_secs_f64()),
            error_ratio_floor: self.floor_errors.0,
            throughput_floor: self.floor_throughput.0,
            min_samples: self.min_samples,
        }
    }
}

const USAGE: &str = "give BASE and NEW, or only NEW with --history DIR";

/// `firedrill compare`.
pub fn compare(args: &CompareArgs) -> Result<Outcome, CommandError> {
    let (base_path, new_path) = match (args.reports.as_slice(), &args.history) {
        ([base, new], None) => (Some(base), new),
        ([new], Some(_)) => (None, new),
        _ => return Err(CommandError::CompareUsage(USAGE)),
    };
    let new = Report::read(new_path).map_err(CompareError::from)?;
    let wanted = Wanted::of(&new, Some(new_path));
    let baseline = match (base_path, &args.history) {
        (Some(base), _) => compare::from_report(base, &wanted)?,
        (None, Some(dir)) => compare::from_history(dir, args.last, &wanted)?,
        (None, None) => return Err(CommandError::CompareUsage(USAGE)),
    };
    let comparison = compare::compare(
        &baseline,
        &new,
        &new_path.display().to_string(),
        &args.limits(),
    );
    if args.json {
        println!("{}", serde_json::to_string_pretty(&comparison)?);
    } else if args.markdown {
        print!("{}", compare::markdown(&comparison));
    } else {
        print!("{}", compare::terminal(&comparison));
    }
    Ok(if comparison.regressions > 0 {
        Outcome::Fail
    } else {
        Outcome::Pass
    })
}
