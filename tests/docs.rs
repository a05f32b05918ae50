//! The manual's examples, checked, so they cannot rot: in README.md and every
//! docs/*.md (found by listing the folder, so a page added later is checked
//! too),
//!
//! - every scenario validates with the library's own validation, as if it
//!   were a file in `scenarios/` (relative paths — rule files, a routing
//!   tree, a dashboard — resolve from there, as in the shipped scenarios);
//!   a block is a scenario when it is fenced as ```` ```yaml ```` and has a
//!   top-level `phases:`, or is fenced ```` ```yaml scenario ````;
//!   ```` ```yaml invalid ```` marks one that must fail, and fail for a
//!   problem of its own;
//! - a ```` ```yaml fragment ```` is a part of a scenario written with its
//!   top-level keys (`checks:` and one check, `target:` …): it is laid over
//!   a minimal scenario (`FRAGMENT_BASE`: the quickstart's three phases,
//!   healthy, errors and recovery, and no checks), its keys replacing the
//!   base's, and the result must validate. Any other ```` ```yaml ```` block
//!   (rule files, manifests, a CI workflow) must parse as YAML and must not
//!   look like a scenario part, so a fragment cannot go unmarked;
//! - credentials and CA files are the reader's: a problem on the field that
//!   names one (`bearer_token_env`, `password_file`, `ca_file` …) is not
//!   counted, every other problem is;
//! - every command line shown parses with firedrill's own clap definition
//!   (`commands::Cli`): in ```` ```sh ```` blocks every `firedrill …`,
//!   `./target/release/firedrill …` and `cargo run … -- …` (after `&&`, `;`,
//!   `|` too), elsewhere the lines after a `$ ` prompt and a workflow's
//!   `run:` lines; in ```` ```usage ```` blocks (synopses, `[--flag VALUE]`)
//!   every flag must belong to its subcommand; an inline `` `firedrill …` ``
//!   names a command and may leave out its required arguments, but nothing
//!   it gives may be wrong;
//! - every relative link (and image) resolves, anchors included.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use firedrill::scenario::{self, Overrides, ScenarioError};

use crate::support;

/// Pages the manual links to that land from another branch. A link to one
/// is not checked while the page does not exist; once it does, the entry
/// must go (the test says so), and the links are checked like any other.
const PAGES_TO_COME: &[&str] = &[];

/// Fields whose problems are the reader's machine, not the example: a
/// secret's source and a CA file must exist where the drill runs.
const READERS_OWN: &[&str] = &[
    "bearer_token_env",
    "bearer_token_file",
    "password_env",
    "password_file",
    "ca_file",
];

/// The top-level keys of a scenario: an unmarked YAML block made only of
/// these is a fragment that should say so.
const SCENARIO_KEYS: &[&str] = &[
    "version",
    "name",
    "description",
    "target",
    "prometheus",
    "alertmanager",
    "time_scale",
    "scale_rates",
    "service_metrics",
    "defaults",
    "phases",
    "checks",
    "baseline",
];

/// What a `yaml fragment` is laid over.
const FRAGMENT_BASE: &str = "
name: fragment
phases:
  - name: healthy
    duration: 5m
    rate: 10/s
    request: { path: /predict, json: { request: { text: ok } } }
  - name: errors
    duration: 3m
    rate: 10/s
    request: { path: /predict, json: { request: { text: ok } } }
    fault: { backend_error_ratio: 50% }
  - name: recovery
    duration: 7m
";

/// A page of the manual: its path from the repository, and its text.
struct Page {
    path: PathBuf,
    text: String,
}

/// A fenced block: its info string (`yaml fragment`), its text, and the
/// line of the page it starts on.
struct Block {
    info: String,
    text: String,
    line: usize,
}

/// README.md and every docs/*.md, as the repository holds them now.
fn pages() -> Vec<Page> {
    let repo = support::repo();
    let mut paths = vec![PathBuf::from("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo.join("docs"))
        .expect("a docs/ folder")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .map(|path| Path::new("docs").join(path.file_name().unwrap()))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|path| Page {
            text: std::fs::read_to_string(repo.join(&path)).unwrap(),
            path,
        })
        .collect()
}

/// The fenced blocks of a Markdown text (fences of three backticks at the
/// start of a line).
fn blocks(markdown: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<Block> = None;
    for (index, line) in markdown.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_string(),
                    text: String::new(),
                    line: index + 1,
                })
            }
            (Some(_), Some(_)) => found.extend(open.take()),
            (Some(block), None) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "a fence is not closed");
    found
}

/// The text outside fenced blocks, line by line with line numbers.
fn prose(markdown: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for (index, line) in markdown.lines().enumerate() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            lines.push((index + 1, line));
        }
    }
    lines
}

// ---------------------------------------------------------------- scenarios

/// How a YAML block is to be checked.
#[derive(Debug, PartialEq)]
enum YamlKind {
    Scenario,
    Invalid,
    Fragment,
    /// Not a scenario: it must parse, and must not look like one's part.
    Other,
}

fn yaml_kind(block: &Block) -> Option<YamlKind> {
    let mut words = block.info.split_whitespace();
    if words.next() != Some("yaml") {
        return None;
    }
    let marks: Vec<&str> = words.collect();
    Some(if marks.contains(&"invalid") {
        YamlKind::Invalid
    } else if marks.contains(&"fragment") {
        YamlKind::Fragment
    } else if marks.contains(&"scenario") || block.text.lines().any(|l| l.starts_with("phases:")) {
        YamlKind::Scenario
    } else {
        YamlKind::Other
    })
}

/// The problems validation finds in `text`, less the reader's own.
fn problems(text: &str, name: &str) -> Vec<String> {
    let path = support::repo()
        .join("scenarios")
        .join(format!("{name}.yaml"));
    match scenario::parse(text, &path, &Overrides::default()) {
        Ok(_) => Vec::new(),
        Err(ScenarioError::Invalid { problems, .. }) => problems
            .into_iter()
            .filter(|p| {
                let field = p.field.rsplit('.').next().unwrap_or_default();
                !READERS_OWN.contains(&field)
            })
            .map(|p| {
                format!(
                    "{}:{}: {}: {}",
                    p.position.line, p.position.column, p.field, p.message
                )
            })
            .collect(),
        Err(other) => vec![other.to_string()],
    }
}

/// A fragment laid over `FRAGMENT_BASE`.
fn wrapped(fragment: &str) -> Result<String, String> {
    let base: serde_norway::Mapping = serde_norway::from_str(FRAGMENT_BASE).unwrap();
    let part: serde_norway::Mapping = serde_norway::from_str(fragment)
        .map_err(|e| format!("not a mapping of scenario keys: {e}"))?;
    let mut whole = base;
    for (key, value) in part {
        whole.insert(key, value);
    }
    Ok(serde_norway::to_string(&whole).unwrap())
}

/// What is wrong with one YAML block, if anything.
fn check_yaml(kind: &YamlKind, block: &Block, name: &str) -> Option<String> {
    match kind {
        YamlKind::Scenario => {
            let found = problems(&block.text, name);
            (!found.is_empty()).then(|| format!("does not validate:\n  {}", found.join("\n  ")))
        }
        YamlKind::Invalid => problems(&block.text, name).is_empty().then(|| {
            "is marked invalid, but validates (or fails only on the reader's own files)".into()
        }),
        YamlKind::Fragment => match wrapped(&block.text) {
            Err(e) => Some(e),
            Ok(whole) => {
                let found = problems(&whole, name);
                (!found.is_empty()).then(|| {
                    format!(
                        "does not validate as a fragment:\n  {}\n{whole}",
                        found.join("\n  ")
                    )
                })
            }
        },
        YamlKind::Other => check_other_yaml(&block.text),
    }
}

/// A YAML block that is not a scenario: it parses, and its documents are not
/// made of scenario keys alone.
fn check_other_yaml(text: &str) -> Option<String> {
    for document in serde_norway::Deserializer::from_str(text) {
        let value: serde_norway::Value = match serde::Deserialize::deserialize(document) {
            Ok(value) => value,
            Err(e) => return Some(format!("is not YAML: {e}")),
        };
        let looks_like_a_scenario = match &value {
            serde_norway::Value::Mapping(map) => map
                .keys()
                .all(|k| k.as_str().is_some_and(|k| SCENARIO_KEYS.contains(&k))),
            serde_norway::Value::Sequence(_) => true,
            _ => false,
        };
        if looks_like_a_scenario {
            return Some(
                "looks like part of a scenario: fence it as ```yaml fragment (or scenario, or invalid)"
                    .into(),
            );
        }
    }
    None
}

/// Every YAML block of every page, checked; the failures, and how many
/// blocks of each kind there were.
fn check_all_yaml(pages: &[Page]) -> (Vec<String>, [usize; 4]) {
    let mut failures = Vec::new();
    let mut counts = [0; 4];
    for page in pages {
        for block in blocks(&page.text) {
            let Some(kind) = yaml_kind(&block) else {
                continue;
            };
            counts[match kind {
                YamlKind::Scenario => 0,
                YamlKind::Invalid => 1,
                YamlKind::Fragment => 2,
                YamlKind::Other => 3,
            }] += 1;
            let stem = page.path.file_stem().unwrap().to_string_lossy();
            let name = format!("{stem}-line{}", block.line);
            if let Some(failure) = check_yaml(&kind, &block, &name) {
                failures.push(format!("{}:{}: {failure}", page.path.display(), block.line));
            }
        }
    }
    (failures, counts)
}

#[test]
fn every_scenario_in_the_manual_validates_and_every_invalid_one_fails() {
    let (failures, [scenarios, invalid, fragments, _]) = check_all_yaml(&pages());
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
    // The manual is made of examples: if none were found, the finder broke.
    assert!(
        scenarios >= 2 && invalid >= 1 && fragments >= 5,
        "{scenarios} {invalid} {fragments}"
    );
}

// ---------------------------------------------------------------- commands

/// The arguments after the program of a shell command segment, when the
/// program is firedrill (`firedrill`, a path to it, or `cargo run … --`).
fn firedrill_arguments(words: &[String]) -> Option<Vec<String>> {
    let mut words = words
        .iter()
        .skip_while(|w| *w == "sudo" || w.contains('=') && !w.starts_with('-'));
    let program = words.next()?;
    let rest: Vec<String> = words.cloned().collect();
    if program == "firedrill" || program.ends_with("/firedrill") {
        return Some(rest);
    }
    if program == "cargo" && rest.first().is_some_and(|w| w == "run") {
        let after = rest.iter().position(|w| w == "--")?;
        return Some(rest[after + 1..].to_vec());
    }
    None
}

/// The command lines of a shell text: continuations joined, then split
/// into segments at `&&`, `||`, `|`, `;` and braces.
fn shell_commands(text: &str) -> Vec<Vec<String>> {
    let joined = text.replace("\\\n", " ");
    let mut commands = Vec::new();
    for line in joined.lines() {
        let line = line.trim();
        let line = line.strip_prefix("$ ").unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = shlex::split(line).unwrap_or_else(|| panic!("unbalanced quotes: {line}"));
        let mut segment = Vec::new();
        for word in words {
            if word.starts_with('#') {
                break;
            }
            let (word, ends) = match word.strip_suffix(';') {
                Some(w) => (w.to_string(), true),
                None => (word, false),
            };
            if ["&&", "||", "|", "{", "}", "(", ")"].contains(&word.as_str()) {
                commands.push(std::mem::take(&mut segment));
                continue;
            }
            segment.push(word);
            if ends {
                commands.push(std::mem::take(&mut segment));
            }
        }
        commands.push(segment);
    }
    commands.retain(|c| !c.is_empty());
    commands
}

/// Parses `arguments` with firedrill's clap definition.
fn parse(arguments: &[String]) -> Result<(), clap::Error> {
    let line = std::iter::once("firedrill".to_string()).chain(arguments.iter().cloned());
    match firedrill::commands::Cli::command().try_get_matches_from(line) {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The command lines a block shows.
fn commands_in_block(block: &Block) -> Vec<Vec<String>> {
    let kind = block.info.split_whitespace().next().unwrap_or("");
    if ["sh", "bash", "shell", "console"].contains(&kind) {
        return shell_commands(&block.text);
    }
    let prompted: String = block
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("$ "))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut commands = shell_commands(&prompted);
    if kind == "yaml" {
        for line in block.text.lines() {
            let line = line.trim_start().trim_start_matches("- ");
            if let Some(run) = line.strip_prefix("run: ") {
                commands.extend(shell_commands(run));
            }
        }
    }
    commands
}

/// The inline code spans of a paragraph (a span may break across lines).
fn code_spans(paragraph: &str) -> Vec<String> {
    paragraph
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|span| span.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// The paragraphs of prose, each with the line it starts on.
fn paragraphs(markdown: &str) -> Vec<(usize, String)> {
    let mut found: Vec<(usize, String)> = Vec::new();
    let mut previous = 0;
    for (line, text) in prose(markdown) {
        match found.last_mut() {
            Some((_, paragraph)) if line == previous + 1 && !text.trim().is_empty() => {
                paragraph.push('\n');
                paragraph.push_str(text);
            }
            _ if text.trim().is_empty() => {}
            _ => found.push((line, text.to_string())),
        }
        previous = if text.trim().is_empty() { 0 } else { line };
    }
    found
}

/// Every flag of a synopsis belongs to its subcommand (or is global).
fn check_usage(text: &str) -> Vec<String> {
    let root = firedrill::commands::Cli::command();
    let mut failures = Vec::new();
    let mut current = root.clone();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(rest) = line.strip_prefix("firedrill ") {
            current = root.clone();
            for word in rest.split_whitespace() {
                match current.find_subcommand(word) {
                    Some(sub) => current = sub.clone(),
                    None => break,
                }
            }
        } else if line.starts_with("global:") {
            current = root.clone();
        }
        for word in words {
            let flag = word.trim_matches(|c: char| "[]()|,…".contains(c));
            let flag = flag.split('=').next().unwrap_or_default();
            let known = if let Some(long) = flag.strip_prefix("--") {
                long.is_empty()
                    || current.get_arguments().any(|a| a.get_long() == Some(long))
                    || root.get_arguments().any(|a| a.get_long() == Some(long))
            } else if let Some(short) = flag.strip_prefix('-').filter(|s| s.len() == 1) {
                let short = short.chars().next().unwrap_or_default();
                !short.is_ascii_alphabetic()
                    || current
                        .get_arguments()
                        .any(|a| a.get_short() == Some(short))
            } else {
                true
            };
            if !known {
                failures.push(format!(
                    "`{flag}` is not an option of `{}`: {line}",
                    current.get_name()
                ));
            }
        }
    }
    failures
}

/// Every command line of every page, checked; the failures and how many
/// command lines were parsed.
fn check_all_commands(pages: &[Page]) -> (Vec<String>, usize) {
    let mut failures = Vec::new();
    let mut parsed = 0;
    for page in pages {
        let at = |line: usize| format!("{}:{line}", page.path.display());
        for block in blocks(&page.text) {
            if block.info == "usage" {
                failures.extend(
                    check_usage(&block.text)
                        .into_iter()
                        .map(|f| format!("{}: {f}", at(block.line))),
                );
                continue;
            }
            for arguments in commands_in_block(&block)
                .iter()
                .filter_map(|c| firedrill_arguments(c))
            {
                parsed += 1;
                if let Err(e) = parse(&arguments) {
                    failures.push(format!(
                        "{}: `{}`:\n{e}",
                        at(block.line),
                        arguments.join(" ")
                    ));
                }
            }
        }
        for (line, text) in paragraphs(&page.text) {
            for span in code_spans(&text) {
                let Some(arguments) = shlex::split(&span).and_then(|w| firedrill_arguments(&w))
                else {
                    continue;
                };
                parsed += 1;
                // A mention names a command: it may leave out what is required.
                let mention = |e: &clap::Error| {
                    use clap::error::ErrorKind::*;
                    matches!(
                        e.kind(),
                        MissingRequiredArgument
                            | MissingSubcommand
                            | DisplayHelpOnMissingArgumentOrSubcommand
                    )
                };
                if let Err(e) =
                    parse(&arguments).or_else(|e| if mention(&e) { Ok(()) } else { Err(e) })
                {
                    failures.push(format!("{}: `{span}`:\n{e}", at(line)));
                }
            }
        }
    }
    (failures, parsed)
}

#[test]
fn every_command_line_in_the_manual_parses() {
    let (failures, parsed) = check_all_commands(&pages());
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
    assert!(parsed >= 20, "only {parsed} command lines found");
}

// ---------------------------------------------------------------- links

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// as hyphens; a repeated heading gets `-1`, `-2`, ….
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for (_, line) in prose(markdown) {
        let Some(heading) = line.strip_prefix('#').map(|h| h.trim_start_matches('#')) else {
            continue;
        };
        let slug: String = heading
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut unique = slug.clone();
        let mut n = 0;
        while seen.contains(&unique) {
            n += 1;
            unique = format!("{slug}-{n}");
        }
        seen.insert(unique);
    }
    seen
}

/// The link targets of a line of prose (`[text](target)`, images too),
/// outside inline code.
fn link_targets(line: &str) -> Vec<String> {
    let outside_code: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
    outside_code
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|target| {
            target
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// What is wrong with a link from `page`, if anything.
fn check_link(
    repo: &Path,
    page: &Path,
    target: &str,
    pending: &mut BTreeSet<String>,
) -> Option<String> {
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
    let resolved = if file.is_empty() {
        page.to_path_buf()
    } else {
        normalize(&page.parent().unwrap_or(Path::new("")).join(file))
    };
    if !repo.join(&resolved).exists() {
        if PAGES_TO_COME.iter().any(|p| Path::new(p) == resolved) {
            pending.insert(resolved.display().to_string());
            return None;
        }
        return Some(format!("`{target}`: no {}", resolved.display()));
    }
    if anchor.is_empty() || resolved.extension().is_none_or(|e| e != "md") {
        return None;
    }
    let text = std::fs::read_to_string(repo.join(&resolved)).unwrap();
    (!anchors(&text).contains(anchor))
        .then(|| format!("`{target}`: no heading #{anchor} in {}", resolved.display()))
}

/// `docs/../README.md` → `README.md`.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn every_relative_link_in_the_manual_resolves() {
    let repo = support::repo();
    let mut failures = Vec::new();
    let mut pending = BTreeSet::new();
    let mut links = 0;
    for page in pages() {
        for (line, text) in prose(&page.text) {
            for target in link_targets(text) {
                links += 1;
                if let Some(failure) = check_link(&repo, &page.path, &target, &mut pending) {
                    failures.push(format!("{}:{line}: {failure}", page.path.display()));
                }
            }
        }
    }
    for page in PAGES_TO_COME {
        assert!(
            !repo.join(page).exists(),
            "{page} exists now: remove it from PAGES_TO_COME in tests/docs.rs so links to it are checked"
        );
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(links >= 30, "only {links} links found");
}

// ---------------------------------------------------------------- the checker

/// The checks above can fail: a page with a wrong example of each kind
/// fails each of them, for the reason it is wrong.
#[test]
fn the_checks_catch_what_they_are_for() {
    let page = |text: &str| {
        vec![Page {
            path: PathBuf::from("docs/wrong.md"),
            text: text.into(),
        }]
    };
    let (failures, _) = check_all_yaml(&page(
        "```yaml\nname: x\nphases:\n  - { name: a, duration: 1m, rate: 0/s }\n```\n",
    ));
    assert!(
        failures.len() == 1 && failures[0].contains("phases[0].rate"),
        "{failures:?}"
    );
    let (failures, _) = check_all_yaml(&page(
        "```yaml invalid\nname: x\nphases:\n  - { name: a, duration: 1m }\n```\n",
    ));
    assert!(
        failures.len() == 1 && failures[0].contains("marked invalid"),
        "{failures:?}"
    );
    let (failures, _) = check_all_yaml(&page("```yaml fragment\nchecks:\n  - { alert: A, fires_within: 1m, after: nowhere.start }\n```\n"));
    assert!(
        failures.len() == 1 && failures[0].contains("nowhere"),
        "{failures:?}"
    );
    let (failures, _) = check_all_yaml(&page(
        "```yaml\nchecks:\n  - { alert: A, silent_during: healthy }\n```\n",
    ));
    assert!(
        failures.len() == 1 && failures[0].contains("fence it as"),
        "{failures:?}"
    );
    // The reader's own files are not the example's problem; the rest is.
    let (failures, _) = check_all_yaml(&page(
        "```yaml\nname: x\ntarget: { base_url: 'http://127.0.0.1:1', auth: { bearer_token_env: NOT_SET_ANYWHERE_25 } }\n\
         prometheus: { url: 'http://127.0.0.1:2' }\nphases:\n  - { name: a, duration: 1m }\n```\n",
    ));
    assert!(failures.is_empty(), "{failures:?}");

    let (failures, parsed) = check_all_commands(&page(
        "```sh\nscripts/x && cargo run --release -- run a.yaml --no-such-flag\n```\n\
         ```\n$ firedrill rules check a.yaml --json\nfiredrill · output, not a command\n```\n\
         ```usage\nfiredrill load <url> [--rate R] [-q]\n```\n\
         Run `firedrill validate` or `firedrill compare a b --nope`.\n",
    ));
    assert_eq!(parsed, 4, "{failures:?}");
    assert_eq!(failures.len(), 3, "{failures:#?}");
    assert!(failures[0].contains("--no-such-flag"), "{failures:?}");
    assert!(
        failures[1].contains("`-q` is not an option of `load`"),
        "{failures:?}"
    );
    assert!(failures[2].contains("--nope"), "{failures:?}");

    let repo = support::repo();
    let mut pending = BTreeSet::new();
    let link = |target: &str, pending: &mut BTreeSet<String>| {
        check_link(&repo, Path::new("docs/x.md"), target, pending)
    };
    assert!(link("../README.md#the-two-commands", &mut pending).is_none());
    assert!(link("../README.md#no-such-heading", &mut pending).is_some());
    assert!(link("nowhere.md", &mut pending).is_some());
    assert!(link("https://example.com/x", &mut pending).is_none());
    assert_eq!(
        anchors("# A `rules check` (v1)\n## A `rules check` (v1)\n"),
        ["a-rules-check-v1", "a-rules-check-v1-1"]
            .map(String::from)
            .into()
    );
}
