//! Running a fault's command (argv, no shell), bounded to a minute.

use std::time::Duration;

use super::{FaultError, Stage};

/// Runs a fault's command at `stage`.
pub fn run(argv: &[String], stage: Stage) -> Result<(), FaultError> {
    run_command(argv).map_err(|source| FaultError::Command { stage, source })
}

/// Runs a restore command from `Drop`: tries, and says if it could not.
pub fn restore_from_drop(argv: &[String]) {
    if let Err(e) = run_command(argv) {
        eprintln!("firedrill: could not restore a fault: {e}");
    }
}

/// Why a fault's command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CommandFailure {
    #[error("an empty command")]
    Empty,
    #[error("`{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` exited with {status}: {stderr}")]
    Exited {
        command: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("`{command}` did not finish within a minute")]
    TimedOut { command: String },
    #[error("{0}")]
    Wait(#[source] std::io::Error),
}

/// Runs a command (argv, no shell) to completion, within a minute.
fn run_command(argv: &[String]) -> Result<(), CommandFailure> {
    let (program, args) = argv.split_first().ok_or(CommandFailure::Empty)?;
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|source| CommandFailure::Spawn {
            program: program.clone(),
            source,
        })?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                return Err(CommandFailure::Exited {
                    command: argv.join(" "),
                    status,
                    stderr: stderr.trim().to_string(),
                });
            }
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(CommandFailure::TimedOut {
                    command: argv.join(" "),
                });
            }
            Err(e) => return Err(CommandFailure::Wait(e)),
        }
    }
}
