//! The terminal view: on a terminal a status line is redrawn during each
//! phase (elapsed/total, rate, failures, p99, alert states); piped into a
//! file it stays quiet; `--quiet` prints only the verdicts.

use std::process::Command;

use crate::support::scenario::{Phase, Scenario, PREDICT};
use crate::support::{firedrill, repo, require_prometheus};

fn scenario() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = Scenario::new("live")
        .time_scale(10)
        .phase(
            Phase::new("steady")
                .duration("40s")
                .rate("20/s")
                .request(PREDICT),
        )
        .check("{ slo: error_ratio, below: 1%, during: steady, source: client }")
        .write(&dir.path().join("live.yaml"));
    (dir, path)
}

#[test]
fn a_terminal_gets_a_live_status_line() {
    require_prometheus();
    let (dir, path) = scenario();
    let out = dir.path().join("out");
    // util-linux's `script` runs the command on a pseudo-terminal.
    let command = format!(
        "{} run {path} --out {}",
        env!("CARGO_BIN_EXE_firedrill"),
        out.display()
    );
    let output = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .current_dir(repo())
        .output()
        .expect("this test needs `script` (Debian's bsdutils)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let status_lines: Vec<&str> = text.split('\r').filter(|l| l.contains("req/s")).collect();
    assert!(
        status_lines.len() >= 3,
        "the line is redrawn during the phase:\n{text}"
    );
    let last = status_lines.last().unwrap();
    for part in ["steady", "/4s", "req/s", "failed", "p99", "ms"] {
        assert!(last.contains(part), "`{part}` in {last:?}");
    }
    assert!(
        text.contains("\x1b[2K"),
        "the line is cleared before it is redrawn"
    );
}

#[test]
fn piped_output_has_no_status_line_and_quiet_has_only_the_verdicts() {
    require_prometheus();
    let (dir, path) = scenario();
    let piped = firedrill(&[
        "run",
        &path,
        "--out",
        dir.path().join("a").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert_eq!(piped.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("▶ steady"), "{stderr}");
    assert!(
        !stderr.contains("req/s") && !stderr.contains('\x1b'),
        "{stderr}"
    );

    let quiet = firedrill(&[
        "run",
        &path,
        "--quiet",
        "--out",
        dir.path().join("b").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&quiet.stderr);
    assert!(!stderr.contains("▶ steady"), "{stderr}");
    assert!(stderr.contains("PASS · 1 passed"), "{stderr}");
}
