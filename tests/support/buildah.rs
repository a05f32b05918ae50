//! Container images for the tests: a buildah storage of a test's own
//! (storage driver vfs), host directories mounted as volumes, and
//! `buildah run` with chroot isolation (no container engine runs here).

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A buildah storage of the test's own (storage driver vfs), removed with
/// every container in it when dropped.
pub struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    pub fn new() -> Self {
        Store {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn buildah(&self, args: &[&str]) -> Output {
        Command::new("buildah")
            .arg("--root")
            .arg(self.path().join("root"))
            .arg("--runroot")
            .arg(self.path().join("run"))
            .args(["--storage-driver", "vfs"])
            .args(args)
            .output()
            .expect("buildah runs")
    }

    /// Runs buildah; its stdout, trimmed, or the test fails with stderr.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.buildah(args);
        assert!(
            out.status.success(),
            "buildah {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The image's config, as buildah shows it (`OCIv1.config`).
    pub fn config(&self, image: &str) -> serde_json::Value {
        let text = self.ok(&["inspect", "--type", "image", image]);
        let all: serde_json::Value = serde_json::from_str(&text).unwrap();
        all["OCIv1"]["config"].clone()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.buildah(&["rm", "--all"]);
    }
}

/// Fails the test, with the install command, when `tool` is not on PATH.
pub fn require(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "this test needs `{tool}`: `sudo apt-get install {package}`"
    );
}

/// A path's mode, owner, size (files) and mtime, by path.
pub type Tree = BTreeMap<String, (u32, u32, u64, i64)>;

/// Every path of the image (mounted at `root`) with its mode, owner and
/// size, and its mtime, for a before/after comparison; mount points that
/// buildah adds for a run are left out.
pub fn tree(root: &Path) -> Tree {
    fn walk(root: &Path, dir: &Path, found: &mut BTreeMap<String, (u32, u32, u64, i64)>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let relative = format!("/{}", path.strip_prefix(root).unwrap().display());
            if dir == root
                && [
                    "/dev",
                    "/proc",
                    "/sys",
                    "/run",
                    "/reports",
                    "/scenarios",
                    "/kube",
                ]
                .contains(&relative.as_str())
            {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let size = if meta.is_file() { meta.len() } else { 0 };
            found.insert(relative, (meta.mode(), meta.uid(), size, meta.mtime()));
            if meta.is_dir() {
                walk(root, &path, found);
            }
        }
    }
    let mut found = BTreeMap::new();
    walk(root, root, &mut found);
    found
}

/// Host directories mounted into the runs: writable volumes owned by the
/// image's user, and read-only inputs.
pub struct Volumes {
    dir: tempfile::TempDir,
}

impl Volumes {
    pub fn new() -> Self {
        let volumes = Volumes {
            dir: tempfile::tempdir().unwrap(),
        };
        for name in ["reports", "tmp", "scenarios", "kube"] {
            let path = volumes.path(name);
            std::fs::create_dir(&path).unwrap();
            std::os::unix::fs::chown(&path, Some(65532), Some(65532)).unwrap();
        }
        volumes
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// `buildah run` in `container` (its rootfs at `root`): every directory of
/// the image bound read-only over itself, /reports and /tmp writable,
/// /scenarios and /kube read-only, the image's own user (unless `extra`
/// says otherwise).
pub fn run_in(
    store: &Store,
    container: &str,
    root: &Path,
    volumes: &Volumes,
    extra: &[String],
    argv: &[&str],
) -> Output {
    let mut args: Vec<String> = vec!["run".into(), "--isolation=chroot".into()];
    for entry in std::fs::read_dir(root).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = std::fs::symlink_metadata(entry.path()).unwrap();
        let mount_point = [
            "dev",
            "proc",
            "sys",
            "run",
            "tmp",
            "reports",
            "scenarios",
            "kube",
        ]
        .contains(&name.as_str());
        if meta.is_dir() && !mount_point {
            args.push("--mount".into());
            args.push(format!(
                "type=bind,src={},dst=/{name},ro=true",
                entry.path().display()
            ));
        }
    }
    for (name, writable) in [
        ("reports", true),
        ("tmp", true),
        ("scenarios", false),
        ("kube", false),
    ] {
        args.push("--mount".into());
        args.push(format!(
            "type=bind,src={},dst=/{name}{}",
            volumes.path(name).display(),
            if writable { ",rw=true" } else { ",ro=true" }
        ));
    }
    args.extend(extra.iter().cloned());
    args.push(container.into());
    args.push("--".into());
    args.extend(argv.iter().map(|a| a.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    store.buildah(&refs)
}

pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
