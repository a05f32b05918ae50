//! Running `promtool test rules` over many test files on every core.
//! promtool runs one file after another on one core, and one file can cost
//! a thousand times another (an alert on a ten-day age evaluates ten days
//! of its group, every 30 s): the files are taken heaviest first, each
//! process taking the next chunk when it is done, and the chunks shrink as
//! the queue does (guided self-scheduling: a chunk is a share of what is
//! left), so no core idles at the end while another still works through a
//! long tail of small files. A file's cost is estimated from its size
//! (samples and expectations grow with the span its group is evaluated
//! over) plus what any file costs promtool however small (`PER_FILE`).
//!
//! promtool is a Go program, and Go's collector takes about a fifth of its
//! CPU on these tests at its default pace (`GOGC=100`): each process runs
//! with the collector off until its heap nears a limit (`GOGC=off`,
//! `GOMEMLIMIT`), the processes' limits together within `HEAPS`. A
//! `GOGC` or `GOMEMLIMIT` in firedrill's environment is left as it is.
//!
//! Several runs may go on at once (the proof of the alerts the oracle has
//! settled runs beside its next round): they share one count of running
//! processes (`Slot`), so the cores, and the heaps' sum, are never
//! oversubscribed.
//!
//! Interrupted, firedrill calls `cancel`: the processes running are killed
//! and no other starts, so every run under way ends at once with
//! `SweepError::Interrupted` instead of after its longest test.

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

use super::error::SweepError;
use crate::env::ProcessHandle;

/// What any test file costs promtool however small, in bytes of a file's
/// size: a 1.5 kB test takes about 10 ms in a running process, a 22 kB one
/// about 30 ms.
const PER_FILE: u64 = 8 * 1024;

/// The smallest chunk, in cost: about twenty small files, so a process's
/// start (about 50 ms) stays small beside its work.
const MIN_CHUNK: u64 = 20 * PER_FILE;

/// What the promtool processes running at once may hold together before
/// their collectors run, MiB. Measured on 1,205 alerts at two processes,
/// interleaved with Go's defaults: 0.8 of the time, and 466 MB for the
/// whole process tree against 590–602 MB (160 MiB each gave 428 MB, and
/// times this drifting machine could not tell from 180's).
const HEAPS: usize = 360;

/// Which of several runs under way at once takes a free process first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Its answers decide what runs next (the oracle's rounds): a process
    /// that ends goes to a `First` run waiting for one before any `Later`
    /// run waiting. (Between its own chunks a run waits for nothing, and a
    /// `Later` run may take the process then.)
    First,
    Later,
}

/// The promtool processes running now, over every `run_files` under way,
/// and how many `Turn::First` runs wait for one.
struct Slots {
    running: usize,
    first_waiting: usize,
}

static SLOTS: Mutex<Slots> = Mutex::new(Slots {
    running: 0,
    first_waiting: 0,
});
/// Signalled when a process ends.
static ENDED: Condvar = Condvar::new();

/// The right to run one promtool process: one of `workers()`, shared by
/// every `run_files` under way; given back when dropped.
struct Slot;

impl Slot {
    fn take(turn: Turn) -> Slot {
        let lock = || SLOTS.lock().unwrap_or_else(|e| e.into_inner());
        let mut slots = lock();
        let first = turn == Turn::First;
        slots.first_waiting += usize::from(first);
        while !cancelled() && (slots.running >= workers() || (!first && slots.first_waiting > 0)) {
            slots = ENDED.wait(slots).unwrap_or_else(|e| e.into_inner());
        }
        slots.first_waiting -= usize::from(first);
        slots.running += 1;
        if first && slots.first_waiting == 0 && slots.running < workers() {
            // A `Later` run woken while this one waited went back to sleep:
            // the process left over is its turn now.
            ENDED.notify_all();
        }
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        SLOTS.lock().unwrap_or_else(|e| e.into_inner()).running -= 1;
        // Both kinds of waiter may be there: each looks whether it is its turn.
        ENDED.notify_all();
    }
}

/// Set once firedrill is interrupted (`cancel`); never cleared.
static CANCELLED: AtomicBool = AtomicBool::new(false);

/// The promtool processes running now, each with a key of its own.
static KILLABLE: Mutex<Vec<(u64, ProcessHandle)>> = Mutex::new(Vec::new());
static KEYS: AtomicU64 = AtomicU64::new(0);

fn cancelled() -> bool {
    CANCELLED.load(Ordering::SeqCst)
}

/// `SweepError::Interrupted` once `cancel` was called.
fn interrupted() -> Result<(), SweepError> {
    match cancelled() {
        true => Err(SweepError::Interrupted),
        false => Ok(()),
    }
}

/// Ends every run under way, for good: kills the promtool processes
/// running and starts no other (firedrill is exiting).
pub fn cancel() {
    CANCELLED.store(true, Ordering::SeqCst);
    for (_, process) in KILLABLE.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        process.kill();
    }
    // Runs waiting for a process look again, and end.
    let _slots = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
    ENDED.notify_all();
}

/// A running promtool process `cancel` can kill, until dropped.
struct Killable(Option<u64>);

impl Killable {
    fn new(child: &Child) -> Killable {
        let Some(process) = ProcessHandle::of(child) else {
            return Killable(None);
        };
        let key = KEYS.fetch_add(1, Ordering::SeqCst);
        KILLABLE
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((key, process));
        // `cancel` came between the start and the line above: it did not
        // see this one, and this one sees it.
        if cancelled() {
            cancel();
        }
        Killable(Some(key))
    }
}

impl Drop for Killable {
    fn drop(&mut self) {
        if let Some(key) = self.0 {
            KILLABLE
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|(k, _)| *k != key);
        }
    }
}

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

/// What becomes of a test file once promtool has run it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    Kept,
    /// Removed while the next chunk runs: its report holds all that is
    /// read of it, and removing thousands of files at the end would keep
    /// the run waiting on the disk (seconds, on a file system that
    /// discards freed blocks) with every core idle.
    Removed,
}

/// Runs `promtool test rules` on the test files `names` in `dir` and
/// returns what each process said (in no particular order); `turn` says
/// whether it takes a free process before other runs under way.
pub fn run_files(
    promtool: &Path,
    dir: &Path,
    names: &[String],
    spent: Spent,
    turn: Turn,
) -> Result<Vec<Report>, SweepError> {
    let workers = workers();
    let costed: Vec<(u64, String)> = names
        .iter()
        .map(|name| {
            let size = std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
            (size + PER_FILE, name.clone())
        })
        .collect();
    let queue = Mutex::new(Queue::new(costed, workers));
    let next = || queue.lock().unwrap_or_else(|e| e.into_inner()).next();
    let collector = collector(HEAPS / workers);
    // The last chunk's files, once its report is in.
    let discard = |reports: &[Report]| {
        if let (Spent::Removed, Some(last)) = (spent, reports.last()) {
            remove(dir, &last.files);
        }
    };
    std::thread::scope(|scope| {
        let running: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut reports: Vec<Report> = Vec::new();
                    while let Some(files) = next() {
                        let _slot = Slot::take(turn);
                        interrupted()?;
                        let running = start(promtool, dir, &files, collector.as_ref())?;
                        let killable = Killable::new(&running);
                        discard(&reports);
                        let report = finish(promtool, running, files)?;
                        drop(killable);
                        // A killed process's report answers nothing.
                        interrupted()?;
                        reports.push(report);
                    }
                    discard(&reports);
                    Ok::<_, SweepError>(reports)
                })
            })
            .collect();
        let mut reports = Vec::new();
        for worker in running {
            let done = worker.join().map_err(|_| {
                not_run(
                    promtool,
                    std::io::Error::other("a promtool runner thread panicked"),
                )
            })?;
            reports.extend(done?);
        }
        Ok(reports)
    })
}

/// How many promtool processes run at once: one per core, at most four.
fn workers() -> usize {
    static WORKERS: OnceLock<usize> = OnceLock::new();
    *WORKERS.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4)
    })
}

/// The files left to run, heaviest first, and what they cost together.
struct Queue {
    files: VecDeque<(u64, String)>,
    left: u64,
    workers: u64,
}

impl Queue {
    fn new(mut files: Vec<(u64, String)>, workers: usize) -> Queue {
        files.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        Queue {
            left: files.iter().map(|(cost, _)| cost).sum(),
            files: files.into(),
            workers: workers.max(1) as u64,
        }
    }

    /// The next chunk: the heaviest files left, up to half a worker's share
    /// of what is left (at least `MIN_CHUNK`, at least one file).
    fn next(&mut self) -> Option<Vec<String>> {
        let share = (self.left / (2 * self.workers)).max(MIN_CHUNK);
        let mut chunk = Vec::new();
        let mut taken = 0;
        while taken < share {
            let Some((cost, name)) = self.files.pop_front() else {
                break;
            };
            taken += cost;
            chunk.push(name);
        }
        self.left -= taken;
        (!chunk.is_empty()).then_some(chunk)
    }
}

/// The collector's settings for each promtool process: off until its heap
/// nears `heap_mib`; None when firedrill's environment sets its own, which
/// promtool then inherits as it is.
fn collector(heap_mib: usize) -> Option<[(&'static str, String); 2]> {
    let own = ["GOGC", "GOMEMLIMIT"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    (!own).then(|| {
        [
            ("GOGC", "off".to_string()),
            ("GOMEMLIMIT", format!("{heap_mib}MiB")),
        ]
    })
}

fn start(
    promtool: &Path,
    dir: &Path,
    files: &[String],
    collector: Option<&[(&'static str, String); 2]>,
) -> Result<Child, SweepError> {
    let mut command = Command::new(promtool);
    command
        .arg("test")
        .arg("rules")
        .args(files)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Interrupted, firedrill exits without waiting for a long test: its
    // promtool processes go with it.
    crate::env::die_with_parent(&mut command);
    if let Some(settings) = collector {
        command.envs(settings.iter().map(|(name, value)| (name, value)));
    }
    command.spawn().map_err(|source| not_run(promtool, source))
}

/// promtool could not be started or waited for.
fn not_run(promtool: &Path, source: std::io::Error) -> SweepError {
    SweepError::PromtoolRun {
        promtool: promtool.to_path_buf(),
        source,
    }
}

fn finish(promtool: &Path, running: Child, files: Vec<String>) -> Result<Report, SweepError> {
    let output = running
        .wait_with_output()
        .map_err(|source| not_run(promtool, source))?;
    Ok(Report {
        files,
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Removes spent test files; one that cannot be removed stays for the
/// work directory's own removal.
fn remove(dir: &Path, files: &[String]) {
    for name in files {
        let _ = std::fs::remove_file(dir.join(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(files: Vec<(u64, &str)>, workers: usize) -> Vec<Vec<String>> {
        let files = files.into_iter().map(|(c, n)| (c, n.to_string())).collect();
        let mut queue = Queue::new(files, workers);
        std::iter::from_fn(|| queue.next()).collect()
    }

    #[test]
    fn the_heaviest_file_goes_first_and_alone_and_the_chunks_shrink_as_the_queue_does() {
        let mut files = vec![(100 * MIN_CHUNK, "big"), (30 * MIN_CHUNK, "mid")];
        let small: Vec<String> = (0..400).map(|k| format!("s{k:03}")).collect();
        files.extend(small.iter().map(|n| (MIN_CHUNK / 10, n.as_str())));
        let got = chunks(files, 2);
        assert_eq!(got[0], vec!["big"]);
        assert_eq!(got[1], vec!["mid"]);
        let sizes: Vec<usize> = got[2..].iter().map(Vec::len).collect();
        // Each chunk a quarter of what is left, down to MIN_CHUNK (ten
        // small files): 100 of 400 first, ten at the end.
        assert_eq!(sizes[0], 100, "{sizes:?}");
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
        assert!(*sizes.last().unwrap() <= 10, "{sizes:?}");
    }

    #[test]
    fn every_file_is_in_one_chunk() {
        let names: Vec<String> = (0..50).map(|k| format!("f{k}")).collect();
        let files: Vec<(u64, &str)> = names
            .iter()
            .enumerate()
            .map(|(k, n)| (k as u64 * 7 % 13 * PER_FILE, n.as_str()))
            .collect();
        let mut all: Vec<String> = chunks(files, 2).into_iter().flatten().collect();
        all.sort();
        let mut expected = names.clone();
        expected.sort();
        assert_eq!(all, expected);
    }

    /// A stand-in for promtool that says what its environment holds and
    /// which files it was given (the files must exist while it runs).
    fn stand_in(dir: &Path) -> std::path::PathBuf {
        script(
            dir,
            "shift 2\nfor f in \"$@\"; do test -f \"$f\" || exit 9; done\n\
             echo \"GOGC=$GOGC GOMEMLIMIT=$GOMEMLIMIT files=$#\"\n",
        )
    }

    /// `dir/promtool`, a shell script of `body`.
    fn script(dir: &Path, body: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join("promtool");
        std::fs::write(&script, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    /// `names` test files (each heavier than a chunk's minimum: several
    /// processes a run) in `tmp`'s directories `first` and `later`.
    fn two_runs(tmp: &Path, names: &[String]) {
        for dir in ["first", "later"] {
            std::fs::create_dir(tmp.join(dir)).unwrap();
            for name in names {
                let file = tmp.join(dir).join(name);
                std::fs::write(file, vec![b'#'; 4 * MIN_CHUNK as usize]).unwrap();
            }
        }
    }

    /// A stand-in for promtool that marks itself running in `busy` while it
    /// works and logs how many were running then, itself included.
    fn counting_stand_in(dir: &Path, busy: &Path, log: &Path) -> std::path::PathBuf {
        let (busy, log) = (busy.display(), log.display());
        script(
            dir,
            &format!(
                "mark={busy}/$$\ntouch $mark\nls {busy} | wc -l >> {log}\nsleep 0.05\nrm $mark\n"
            ),
        )
    }

    #[test]
    fn runs_under_way_at_once_share_the_processes_and_each_runs_all_its_files() {
        let tmp = tempfile::tempdir().unwrap();
        let (busy, log) = (tmp.path().join("busy"), tmp.path().join("log"));
        std::fs::create_dir(&busy).unwrap();
        let promtool = counting_stand_in(tmp.path(), &busy, &log);
        let names: Vec<String> = (0..30).map(|k| format!("t{k}.yaml")).collect();
        two_runs(tmp.path(), &names);
        let dirs: Vec<std::path::PathBuf> = ["first", "later"]
            .iter()
            .map(|d| tmp.path().join(d))
            .collect();
        let ran: Vec<(usize, usize)> = std::thread::scope(|scope| {
            let runs: Vec<_> = dirs
                .iter()
                .zip([Turn::First, Turn::Later])
                .map(|(dir, turn)| {
                    let (promtool, names) = (&promtool, &names);
                    scope.spawn(move || run_files(promtool, dir, names, Spent::Kept, turn))
                })
                .collect();
            runs.into_iter()
                .map(|run| {
                    let reports = run.join().unwrap().unwrap();
                    let files = reports.iter().map(|r| r.files.len()).sum();
                    (files, reports.len())
                })
                .collect()
        });
        assert!(
            ran.iter().all(|&(files, _)| files == names.len()),
            "{ran:?}"
        );
        let counts: Vec<usize> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|l| l.trim().parse().unwrap())
            .collect();
        // A line per process, and both runs had several going at once.
        let processes: usize = ran.iter().map(|&(_, processes)| processes).sum();
        assert_eq!(counts.len(), processes, "{counts:?}");
        assert!(processes > 2 * workers(), "{ran:?}");
        let most = counts.iter().max().copied().unwrap_or_default();
        assert_eq!(
            most,
            workers(),
            "{most} running at most at once: {counts:?}"
        );
    }

    #[test]
    fn a_run_whose_answers_decide_what_runs_next_takes_a_free_process_first() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("log");
        // Says which run (its directory) started a process.
        let body = format!("basename \"$PWD\" >> {}\n", log.display());
        let promtool = script(tmp.path(), &body);
        let names: Vec<String> = (0..20).map(|k| format!("t{k}.yaml")).collect();
        two_runs(tmp.path(), &names);
        // Every process taken while both runs begin and wait.
        let held: Vec<Slot> = (0..workers()).map(|_| Slot::take(Turn::Later)).collect();
        std::thread::scope(|scope| {
            let run = |dir: &'static str, turn| {
                let (promtool, names, tmp) = (&promtool, &names, tmp.path());
                scope.spawn(move || run_files(promtool, &tmp.join(dir), names, Spent::Kept, turn))
            };
            // The later run waits first.
            let later = run("later", Turn::Later);
            std::thread::sleep(std::time::Duration::from_millis(200));
            let first = run("first", Turn::First);
            // Until each of the first run's threads waits with a chunk.
            let waiting = || SLOTS.lock().unwrap().first_waiting;
            for _ in 0..500 {
                if waiting() >= workers() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            assert!(waiting() >= workers());
            drop(held);
            for done in [first, later] {
                let reports = done.join().unwrap().unwrap();
                let files: usize = reports.iter().map(|r| r.files.len()).sum();
                assert_eq!(files, names.len());
            }
        });
        let started: Vec<String> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        // The processes freed go to the run that waited second but goes first.
        assert!(
            started[..workers()].iter().all(|run| run == "first"),
            "{started:?}"
        );
    }

    #[test]
    fn promtool_runs_without_its_collectors_default_pace_and_spent_files_go_only_when_asked() {
        let tmp = tempfile::tempdir().unwrap();
        let promtool = stand_in(tmp.path());
        let tests = tmp.path().join("tests");
        std::fs::create_dir(&tests).unwrap();
        let names: Vec<String> = (0..60).map(|k| format!("t{k}.yaml")).collect();
        for name in &names {
            std::fs::write(tests.join(name), "tests: []\n").unwrap();
        }
        // firedrill's own GOGC or GOMEMLIMIT is left as it is.
        let inherited = collector(HEAPS / workers()).is_none();
        for spent in [Spent::Kept, Spent::Removed] {
            let reports = run_files(&promtool, &tests, &names, spent, Turn::Later).unwrap();
            let mut ran = 0;
            for report in &reports {
                assert!(report.status.success(), "{report:?}");
                let expected = if inherited {
                    let var = |name| std::env::var(name).unwrap_or_default();
                    format!("GOGC={} GOMEMLIMIT={} ", var("GOGC"), var("GOMEMLIMIT"))
                } else {
                    format!("GOGC=off GOMEMLIMIT={}MiB ", HEAPS / workers())
                };
                assert!(report.stdout.starts_with(&expected), "{report:?}");
                ran += report.files.len();
            }
            assert_eq!(ran, names.len());
            let left = names.iter().filter(|n| tests.join(n).exists()).count();
            match spent {
                Spent::Kept => assert_eq!(left, names.len()),
                Spent::Removed => assert_eq!(left, 0),
            }
        }
    }
}
