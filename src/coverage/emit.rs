//! `--emit-tests DIR`: the proofs as `promtool test rules` files a team
//! commits beside its rules — one test file per rule file (and evaluation
//! interval), one test group per proven alert, loading the rule files by a
//! path relative to DIR (a ConfigMap's or PrometheusRule's rules are
//! written out beside the tests, since promtool reads only plain rule
//! files) — then run from DIR to check they pass unchanged.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use super::error::CoverageError;
use super::got;
use super::ledger::AlertLedger;
use super::proof::{chain_names, evaluation_order};
use super::testfile;
use crate::analyze::condition::Recordings;
use crate::analyze::sweep::{run_files, Spent, Turn};
use crate::rules::{render_rule_file, LoadedGroups, RuleDef};

/// One proven alert to write a test for.
pub struct Emitted<'a> {
    pub line: &'a AlertLedger,
    pub rule: &'a RuleDef,
    pub evaluation: f64,
}

/// What was written, and the files promtool did not pass.
#[derive(Debug, Default)]
pub struct Written {
    /// Every file written (tests, and rule files written out).
    pub files: Vec<PathBuf>,
    /// The test files.
    pub tests: usize,
    pub failures: Vec<String>,
}

/// Writes the tests of `alerts` into `dir` and runs them there.
pub fn emit(
    promtool: &Path,
    dir: &Path,
    alerts: &[Emitted],
    groups: &[LoadedGroups],
    recordings: &Recordings,
) -> Result<Written, CoverageError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CoverageError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let dir = dir.canonicalize().map_err(io(dir))?;
    // Tests by rule file and evaluation interval.
    let mut by_file: BTreeMap<(String, u64), Vec<&Emitted>> = BTreeMap::new();
    for alert in alerts.iter().filter(|a| a.line.test.is_some()) {
        let key = (
            alert.line.origin.clone(),
            (alert.evaluation * 1000.0) as u64,
        );
        by_file.entry(key).or_default().push(alert);
    }
    let mut names = Names::default();
    let mut written = Written::default();
    let mut tests = Vec::new();
    for ((origin, _), members) in &by_file {
        let several = by_file.keys().filter(|(o, _)| o == origin).count() > 1;
        let name = names.test_file(origin, members[0].evaluation, several);
        let origins = origins_read(origin, members, groups, recordings);
        let mut rule_files = Vec::new();
        let mut loaded_groups = Vec::new();
        for o in &origins {
            let Some(loaded) = groups.iter().find(|l| &l.origin == o) else {
                continue;
            };
            rule_files.push(names.rule_file(&dir, loaded, &mut written)?);
            loaded_groups.extend(loaded.groups.iter().cloned());
        }
        let order = evaluation_order(&loaded_groups, recordings);
        let header = vec![
            format!("Written by `firedrill coverage --emit-tests`: a test per alert of {origin},"),
            "each a provocation built from the alert's own rule, and what Prometheus's rule".into(),
            "engine answered (fired at, with these labels and annotations, resolved at).".into(),
            format!("Run: promtool test rules {name}"),
        ];
        let bodies: Vec<String> = members.iter().filter_map(|a| a.line.test.clone()).collect();
        let text =
            testfile::file_text(&header, &rule_files, members[0].evaluation, &order, &bodies);
        std::fs::write(dir.join(&name), text).map_err(io(&dir.join(&name)))?;
        written.files.push(dir.join(&name));
        written.tests += 1;
        tests.push(name);
    }
    for report in run_files(promtool, &dir, &tests, Spent::Kept, Turn::Later)? {
        let passed = report.passed();
        for name in report.files.iter().filter(|f| !passed.contains(*f)) {
            written.failures.push(format!(
                "{}: {}",
                dir.join(name).display(),
                report
                    .stderr
                    .lines()
                    .take(8)
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
    }
    Ok(written)
}

/// The rule file `origin` and those defining the recordings its alerts read.
fn origins_read(
    origin: &str,
    members: &[&Emitted],
    groups: &[LoadedGroups],
    recordings: &Recordings,
) -> BTreeSet<String> {
    let mut origins = BTreeSet::from([origin.to_string()]);
    for alert in members {
        let read = chain_names(&alert.rule.expr, recordings);
        for loaded in groups {
            let writes = loaded
                .groups
                .iter()
                .flat_map(|g| &g.rules)
                .any(|r| r.record.as_ref().is_some_and(|n| read.contains(n)));
            if writes {
                origins.insert(loaded.origin.clone());
            }
        }
    }
    origins
}

/// File names in DIR, each once.
#[derive(Default)]
struct Names {
    taken: BTreeSet<String>,
    by_origin: BTreeMap<String, String>,
    rules: BTreeMap<String, String>,
}

impl Names {
    /// `prometheus-rules` for `k8s/monitoring/prometheus-rules.yaml#ConfigMap/…`.
    fn stem(&mut self, origin: &str) -> String {
        if let Some(stem) = self.by_origin.get(origin) {
            return stem.clone();
        }
        let path = origin.split('#').next().unwrap_or(origin);
        let base = Path::new(path)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("rules")
            .to_string();
        let mut stem = base.clone();
        let mut n = 2;
        while self.taken.contains(&stem) {
            stem = format!("{base}-{n}");
            n += 1;
        }
        self.taken.insert(stem.clone());
        self.by_origin.insert(origin.to_string(), stem.clone());
        stem
    }

    /// `rules.test.yaml`; `rules.30s.test.yaml` when the file's groups are
    /// evaluated at several intervals (a test file has one).
    fn test_file(&mut self, origin: &str, evaluation: f64, several: bool) -> String {
        let stem = self.stem(origin);
        if several {
            let every = got::duration_text((evaluation * 1000.0) as u64);
            format!("{stem}.{every}.test.yaml")
        } else {
            format!("{stem}.test.yaml")
        }
    }

    /// The path a test in `dir` loads `loaded` by: the file itself,
    /// relative to `dir`, or (rules inside a ConfigMap or PrometheusRule)
    /// a copy written beside the tests.
    fn rule_file(
        &mut self,
        dir: &Path,
        loaded: &LoadedGroups,
        written: &mut Written,
    ) -> Result<String, CoverageError> {
        if let Some(name) = self.rules.get(&loaded.origin) {
            return Ok(name.clone());
        }
        let name = if loaded.origin.contains('#') {
            let stem = self.stem(&loaded.origin);
            let name = format!("{stem}.rules.yaml");
            let body = render_rule_file(loaded.groups.clone())?;
            let text = format!(
                "# The rule groups of {}, written out by `firedrill coverage --emit-tests`\n# (promtool reads only plain rule files): keep it in step with its source.\n{body}",
                loaded.origin
            );
            let path = dir.join(&name);
            std::fs::write(&path, text).map_err(|source| CoverageError::Io {
                path: path.clone(),
                source,
            })?;
            written.files.push(path);
            name
        } else {
            let file =
                Path::new(&loaded.origin)
                    .canonicalize()
                    .map_err(|source| CoverageError::Io {
                        path: PathBuf::from(&loaded.origin),
                        source,
                    })?;
            relative(dir, &file).display().to_string()
        };
        self.rules.insert(loaded.origin.clone(), name.clone());
        Ok(name)
    }
}

/// `to` as a path relative to the directory `from` (both absolute).
pub fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to_parts: Vec<Component> = to.components().collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for part in &to_parts[common..] {
        path.push(part.as_os_str());
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_made_relative_to_the_tests_directory() {
        assert_eq!(
            relative(
                Path::new("/repo/out/tests"),
                Path::new("/repo/k8s/rules.yaml")
            ),
            PathBuf::from("../../k8s/rules.yaml")
        );
        assert_eq!(
            relative(Path::new("/repo"), Path::new("/repo/rules.yaml")),
            PathBuf::from("rules.yaml")
        );
    }
}
