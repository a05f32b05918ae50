//! The README's two commands, as a new user pastes them: they call no
//! `sudo` themselves, and work as root on a machine without sudo (a Debian
//! container, a CI image) and as a user with sudo. Run with a PATH of fakes
//! (apt-get, cargo, sudo and id record what they were asked and succeed),
//! so nothing is installed or built.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support;

/// The shell blocks under "## The two commands".
fn the_two_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(support::repo().join("README.md")).unwrap();
    let section = readme
        .split("## The two commands")
        .nth(1)
        .expect("a section named The two commands")
        .split("\n## ")
        .next()
        .unwrap();
    let commands: Vec<String> = section
        .split("```sh\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap().trim().to_string())
        .collect();
    assert_eq!(commands.len(), 2, "{section}");
    commands
}

/// A directory of fakes for PATH: each records its arguments in `log`;
/// `id -u` prints `uid`; `sudo` is there only when asked for.
fn fakes(dir: &Path, uid: u32, with_sudo: bool) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.join("log");
    let write = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        let mut permissions = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&path, permissions).unwrap();
    };
    let record = |name: &str| format!("echo \"{name} $*\" >> {}", log.display());
    write("apt-get", &record("apt-get"));
    write("cargo", &record("cargo"));
    write("id", &format!("{}\necho {uid}", record("id")));
    if with_sudo {
        write("sudo", &format!("{}\nexec \"$@\"", record("sudo")));
    }
    // The real tools the commands and the script need, and nothing else.
    for tool in ["bash", "env"] {
        let real = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no {tool}"));
        std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
    }
    bin
}

/// Runs `command` from the repository with only `bin` on PATH: its exit
/// status, what the fakes were asked, and stderr.
fn run(command: &str, uid: u32, with_sudo: bool) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let bin = fakes(dir.path(), uid, with_sudo);
    let out = Command::new(bin.join("bash"))
        .args(["-c", command])
        .current_dir(support::repo())
        .env_clear()
        .env("PATH", &bin)
        .output()
        .unwrap();
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
    (
        out.status.success(),
        log,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_two_commands_work_as_root_without_sudo_and_as_a_user_with_sudo() {
    let commands = the_two_commands();
    let packages = ["prometheus", "prometheus prometheus-alertmanager"];
    let cargo = [
        "cargo run --release -- run scenarios/quickstart.yaml",
        "cargo nextest run",
    ];
    for ((command, packages), cargo) in commands.iter().zip(packages).zip(cargo) {
        assert!(!command.contains("sudo"), "{command}");
        // Root, on a machine with no sudo at all.
        let (ok, log, stderr) = run(command, 0, false);
        assert!(ok, "{command}\n{log}\n{stderr}");
        assert!(log.contains("apt-get update"), "{log}");
        assert!(
            log.contains(&format!(
                "apt-get install -y -qq --no-install-recommends {packages}"
            )),
            "{log}"
        );
        assert!(log.contains(cargo), "{log}");
        assert!(!log.contains("sudo"), "{log}");
        // A user with sudo: apt-get runs through it, cargo does not.
        let (ok, log, stderr) = run(command, 1000, true);
        assert!(ok, "{command}\n{log}\n{stderr}");
        assert!(
            log.contains("sudo env DEBIAN_FRONTEND=noninteractive apt-get install"),
            "{log}"
        );
        assert!(
            log.contains(cargo) && !log.contains(&format!("sudo {cargo}")),
            "{log}"
        );
        // A user without sudo is told what to do, and nothing runs after.
        let (ok, log, stderr) = run(command, 1000, false);
        assert!(!ok && stderr.contains("run this as root"), "{stderr}");
        assert!(!log.contains("cargo"), "{log}");
    }
    // CI installs through the same script, never through sudo by hand.
    let ci = std::fs::read_to_string(support::repo().join(".ci/run")).unwrap();
    assert!(ci.contains("scripts/install-packages"), "{ci}");
    assert!(
        !ci.contains("sudo apt-get") && !ci.contains("$SUDO"),
        "{ci}"
    );
}
