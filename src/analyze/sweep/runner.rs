//! Running `promtool test rules` over many test files on every core.
//! promtool runs one file after another on one core, and one file can cost
//! a thousand times another (an alert on a ten-day age evaluates ten days
//! of its group, every 30 s): the files go in chunks, the heaviest first,
//! to as many processes at a time as there are cores, each process taking
//! the next chunk when it is done — so no core idles while another still
//! has a queue. A file's size is its cost's measure: its samples and
//! expectations grow with the span its group is evaluated over.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::sync::Mutex;

use super::error::SweepError;

/// Chunks per process: enough to even out, few enough that promtool's
/// start (about 50 ms) stays small beside the work.
const CHUNKS_PER_WORKER: usize = 4;

/// What one promtool process said of its test files.
#[derive(Debug, Clone)]
pub struct Report {
    pub files: Vec<String>,
    pub status: ExitStatus,
    /// `Unit Testing:  <file>` for each file, then `SUCCESS` if it passed.
    pub stdout: String,
    /// Every failure, file after file, without the file's name.
    pub stderr: String,
}

impl Report {
    /// The files that passed.
    pub fn passed(&self) -> BTreeSet<String> {
        let mut passed = BTreeSet::new();
        let mut current = None;
        for line in self.stdout.lines() {
            if let Some(name) = line.trim().strip_prefix("Unit Testing:") {
                current = Some(name.trim().to_string());
            } else if line.trim() == "SUCCESS" {
                passed.extend(current.take());
            }
        }
        passed
    }
}

/// Runs `promtool test rules` on the test files `names` in `dir` and
/// returns what each process said (in no particular order).
pub fn run_files(promtool: &Path, dir: &Path, names: &[String]) -> Result<Vec<Report>, SweepError> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let sized: Vec<(u64, String)> = names
        .iter()
        .map(|name| {
            let size = std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
            (size, name.clone())
        })
        .collect();
    let queue = Mutex::new(chunks(sized, workers * CHUNKS_PER_WORKER).into_iter());
    let next = || queue.lock().unwrap_or_else(|e| e.into_inner()).next();
    std::thread::scope(|scope| {
        let running: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut reports = Vec::new();
                    while let Some(files) = next() {
                        reports.push(run_one(promtool, dir, files)?);
                    }
                    Ok::<_, SweepError>(reports)
                })
            })
            .collect();
        let mut reports = Vec::new();
        for worker in running {
            let done = worker.join().map_err(|_| SweepError::PromtoolRun {
                promtool: promtool.to_path_buf(),
                source: std::io::Error::other("a promtool runner thread panicked"),
            })?;
            reports.extend(done?);
        }
        Ok(reports)
    })
}

/// `files` (size, name) in about `wanted` chunks of even size, heaviest
/// first: a file heavier than a chunk's share is a chunk of its own.
fn chunks(mut files: Vec<(u64, String)>, wanted: usize) -> Vec<Vec<String>> {
    files.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let total: u64 = files.iter().map(|(size, _)| size).sum();
    let share = total.div_ceil(wanted.max(1) as u64).max(1);
    let mut chunks: Vec<Vec<String>> = Vec::new();
    let mut filled = share;
    for (size, name) in files {
        if filled >= share {
            chunks.push(Vec::new());
            filled = 0;
        }
        filled += size;
        chunks.last_mut().expect("pushed above").push(name);
    }
    chunks
}

fn run_one(promtool: &Path, dir: &Path, files: Vec<String>) -> Result<Report, SweepError> {
    let output = Command::new(promtool)
        .arg("test")
        .arg("rules")
        .args(&files)
        .current_dir(dir)
        .output()
        .map_err(|source| SweepError::PromtoolRun {
            promtool: promtool.to_path_buf(),
            source,
        })?;
    Ok(Report {
        files,
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(chunks: &[Vec<String>]) -> Vec<Vec<&str>> {
        chunks
            .iter()
            .map(|c| c.iter().map(String::as_str).collect())
            .collect()
    }

    #[test]
    fn the_heaviest_file_goes_first_and_alone_and_the_light_ones_share() {
        let files = vec![
            (10, "a".to_string()),
            (1_000, "big".to_string()),
            (10, "b".to_string()),
            (300, "mid".to_string()),
            (10, "c".to_string()),
        ];
        // 1,330 bytes in 4 chunks: a share of 333.
        assert_eq!(
            names(&chunks(files, 4)),
            vec![vec!["big"], vec!["mid", "a", "b", "c"]]
        );
    }

    #[test]
    fn every_file_is_in_one_chunk() {
        let files: Vec<(u64, String)> = (0..50).map(|k| (k * 7 % 13, format!("f{k}"))).collect();
        let mut all: Vec<String> = chunks(files, 8).into_iter().flatten().collect();
        all.sort();
        let mut expected: Vec<String> = (0..50).map(|k| format!("f{k}")).collect();
        expected.sort();
        assert_eq!(all, expected);
    }
}
