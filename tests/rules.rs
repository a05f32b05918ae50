//! The rules we ship and the rules we generate are valid for Prometheus's own
//! checker, promtool — and so are the seed's, mistakes and all: promtool
//! checks syntax, not meaning, which is why firedrill drills them.

use crate::support;

use std::path::Path;
use std::process::Command;

use firedrill::rules::{self, Group};

fn promtool_check(groups: Vec<Group>) -> (bool, String) {
    let binary =
        firedrill::env::find_binary("FIREDRILL_PROMTOOL", "promtool").unwrap_or_else(|| {
            panic!(
                "this test needs promtool: `sudo apt-get install prometheus` (it ships promtool)"
            )
        });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yml");
    std::fs::write(&path, rules::render_rule_file(groups).unwrap()).unwrap();
    let out = Command::new(binary)
        .args(["check", "rules"])
        .arg(&path)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn all_groups(loaded: Vec<rules::LoadedGroups>) -> Vec<Group> {
    loaded.into_iter().flat_map(|l| l.groups).collect()
}

#[test]
fn the_shipped_rules_pass_promtool_before_and_after_time_scaling() {
    let groups = all_groups(rules::shipped_rules().unwrap());
    let (ok, text) = promtool_check(groups.clone());
    assert!(ok, "{text}");
    assert!(text.contains("8 rules found"), "{text}");
    let scaled: Vec<Group> = groups
        .iter()
        .map(|g| rules::scale_group(g, 10.0, std::time::Duration::from_secs(30)).unwrap())
        .collect();
    let (ok, text) = promtool_check(scaled.clone());
    assert!(ok, "{text}");
    assert_eq!(scaled[0].interval.as_deref(), Some("3s"));
    assert_eq!(scaled[0].rules[0].for_.as_deref(), Some("6s"));
    assert!(
        scaled[0].rules[0].expr.contains("[12s]"),
        "{}",
        scaled[0].rules[0].expr
    );
}

#[test]
fn promtool_also_passes_the_seeds_broken_rules() {
    let path = support::repo().join("scenarios/rules/seed-alerts.yaml");
    let loaded = rules::load_rule_files(&[path]).unwrap();
    let (ok, text) = promtool_check(all_groups(loaded));
    assert!(
        ok,
        "promtool accepts the seed's rules, bugs included: {text}"
    );
}

#[test]
fn the_shipped_rule_file_is_the_one_in_k8s() {
    let on_disk = std::fs::read_to_string(support::repo().join(rules::SHIPPED_RULES_PATH)).unwrap();
    assert_eq!(on_disk, rules::SHIPPED_RULES);
    assert!(Path::new(&support::repo().join(rules::SHIPPED_CONFIG_PATH)).is_file());
}
