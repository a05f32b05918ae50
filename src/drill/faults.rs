//! Injecting a phase's fault and restoring it, always: explicitly at the end
//! of the phase (with the outcome recorded), and from `Drop` if the phase is
//! left any other way (an error, a panic), so no fault outlives the drill.

use std::time::Duration;

use crate::cluster::{ClusterOptions, ScaleGuard};
use crate::demo::FaultGuard;
use crate::env::Environment;
use crate::plan::{FaultPlan, HttpCall};

/// A fault in force.
pub enum Injected {
    Demo(FaultGuard),
    Http(HttpRestore),
    Exec(ExecRestore),
    Scale(ScaleGuard),
    /// Deleted pods: their controller replaces them; nothing to restore.
    Deleted,
}

pub async fn inject(plan: &FaultPlan, env: &Environment) -> Result<Injected, String> {
    match plan {
        FaultPlan::Demo(faults) => match env.inject(faults) {
            Some(Ok(guard)) => Ok(Injected::Demo(guard)),
            Some(Err(e)) => Err(format!("could not inject the demo fault: {e}")),
            None => Err("the demo gateway is not running".into()),
        },
        FaultPlan::Exec { start, restore } => {
            let armed = ExecRestore {
                command: Some(restore.clone()),
            };
            run_command(start).map_err(|e| format!("the fault's start command failed: {e}"))?;
            Ok(Injected::Exec(armed))
        }
        FaultPlan::Scale {
            deployment,
            namespace,
            replicas,
        } => {
            let (client, default_namespace, options) = cluster(env)?;
            let namespace = namespace.as_deref().unwrap_or(default_namespace);
            let replicas = i32::try_from(*replicas).unwrap_or(i32::MAX);
            ScaleGuard::scale(options, client, namespace, deployment, replicas)
                .await
                .map(Injected::Scale)
                .map_err(|e| e.to_string())
        }
        FaultPlan::DeletePods {
            namespace,
            selector,
            name,
        } => {
            let (client, default_namespace, _) = cluster(env)?;
            let namespace = namespace.as_deref().unwrap_or(default_namespace);
            crate::cluster::delete_pods(client, namespace, selector.as_deref(), name.as_deref())
                .await
                .map(|_| Injected::Deleted)
                .map_err(|e| e.to_string())
        }
        FaultPlan::Http { start, restore } => {
            // Armed before the start call: if the call half-succeeded, the
            // restore still runs.
            let armed = HttpRestore {
                call: Some(restore.clone()),
            };
            send(start)
                .await
                .map_err(|e| format!("the fault's start call failed: {e}"))?;
            Ok(Injected::Http(armed))
        }
    }
}

impl Injected {
    pub async fn restore(self) -> Result<(), String> {
        match self {
            Injected::Demo(guard) => guard
                .restore()
                .map_err(|e| format!("could not restore the demo gateway: {e}")),
            Injected::Exec(mut restore) => match restore.command.take() {
                Some(command) => run_command(&command)
                    .map_err(|e| format!("the fault's restore command failed: {e}")),
                None => Ok(()),
            },
            Injected::Scale(guard) => guard.restore().await.map_err(|e| e.to_string()),
            Injected::Deleted => Ok(()),
            Injected::Http(mut restore) => match restore.call.take() {
                Some(call) => send(&call)
                    .await
                    .map_err(|e| format!("the fault's restore call failed: {e}")),
                None => Ok(()),
            },
        }
    }
}

fn cluster(env: &Environment) -> Result<(&kube::Client, &str, &ClusterOptions), String> {
    env.cluster
        .as_ref()
        .map(|(client, namespace, options)| (client, namespace.as_str(), options))
        .ok_or_else(|| {
            "no Kubernetes API connection (this plan was not expected to need one)".to_string()
        })
}

/// Runs a command (argv, no shell) to completion, within a minute.
fn run_command(argv: &[String]) -> Result<(), String> {
    let (program, args) = argv.split_first().ok_or("an empty command")?;
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("`{program}`: {e}"))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                return Err(format!(
                    "`{}` exited with {status}: {}",
                    argv.join(" "),
                    stderr.trim()
                ));
            }
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`{}` did not finish within a minute",
                    argv.join(" ")
                ));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// The restore command of an exec fault, run by `Drop` if `restore` was not.
pub struct ExecRestore {
    command: Option<Vec<String>>,
}

impl Drop for ExecRestore {
    fn drop(&mut self) {
        if let Some(command) = self.command.take() {
            if let Err(e) = run_command(&command) {
                eprintln!("firedrill: could not restore a fault: {e}");
            }
        }
    }
}

/// The restore call of an HTTP fault, made by `Drop` if `restore` was not.
pub struct HttpRestore {
    call: Option<HttpCall>,
}

impl Drop for HttpRestore {
    fn drop(&mut self) {
        let Some(call) = self.call.take() else { return };
        // Drop cannot await: make the call on a thread of its own, with a
        // small runtime, and wait for it (bounded by the call's timeout).
        let worker = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|runtime| runtime.block_on(send(&call)))
        });
        match worker.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("firedrill: could not restore a fault: {e}"),
            Err(_) => {
                eprintln!("firedrill: could not restore a fault: the restoring thread failed")
            }
        }
    }
}

async fn send(call: &HttpCall) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let method = reqwest::Method::from_bytes(call.method.as_bytes()).map_err(|e| e.to_string())?;
    let mut request = client.request(method, &call.url).body(call.body.clone());
    for (name, value) in &call.headers {
        request = request.header(name, value);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("{} {}: {e}", call.method, call.url))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!(
            "{} {} answered HTTP {status}",
            call.method, call.url
        ))
    }
}
