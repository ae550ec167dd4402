//! The binary as an operator runs it.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::common::scratch_dir;

pub(crate) fn incident_tracker(working_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_incident-tracker"));
    // A clean environment, and a directory without a `.env`, so only what
    // the test sets counts.
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(working_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn bad_configuration_stops_the_server_with_every_problem_listed() {
    let dir = scratch_dir("bad-config");
    let output = incident_tracker(&dir)
        .arg("serve")
        .env("APP_ENV", "production")
        .env("DATABASE_POOL_SIZE", "plenty")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for problem in [
        "DATABASE_POOL_SIZE: expected a whole number",
        "SESSION_SECRET: required",
        "DATABASE_URL: required",
        "REDIS_URL: required",
    ] {
        assert!(stderr.contains(problem), "missing `{problem}` in:\n{stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Starts `serve` and returns the process and the URL it printed.
async fn serve(dir: &Path) -> (Child, String) {
    let mut child = incident_tracker(dir).arg("serve").env("BIND_ADDRESS", "127.0.0.1:0").spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let announced = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("Incident Tracker API listening on ") {
                return Some(url.to_string());
            }
        }
        None
    })
    .await;
    match announced {
        Ok(Some(url)) => (child, url),
        _ => {
            let mut stderr = String::new();
            child.stderr.take().unwrap().read_to_string(&mut stderr).await.ok();
            panic!("serve did not announce its URL:\n{stderr}");
        }
    }
}

/// Sends SIGTERM and returns the exit status and everything logged.
async fn terminate(mut child: Child) -> (std::process::ExitStatus, String) {
    kill(Pid::from_raw(child.id().unwrap() as i32), Signal::SIGTERM).unwrap();
    let status =
        tokio::time::timeout(Duration::from_secs(60), child.wait()).await.expect("exits after SIGTERM").unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).await.unwrap();
    (status, stderr)
}

/// The README's run command: no DATABASE_URL, so PostgreSQL is embedded with
/// its data under DATA_DIR; SIGTERM stops both cleanly; a restart finds the
/// migrated database where it left it.
#[tokio::test(flavor = "multi_thread")]
async fn serve_runs_on_the_embedded_default_and_keeps_its_data_across_restarts() {
    let dir = scratch_dir("embedded");
    let cluster = dir.join(".data/postgres/cluster");

    let (first, url) = serve(&dir).await;
    let health = reqwest::get(format!("{url}/health")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let (status, log) = terminate(first).await;
    assert!(status.success(), "{log}");
    assert!(log.contains("applied migrations"), "{log}");
    assert!(!cluster.join("postmaster.pid").exists(), "PostgreSQL was stopped with the server");

    let (second, url) = serve(&dir).await;
    let health = reqwest::get(format!("{url}/health")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let (status, log) = terminate(second).await;
    assert!(status.success(), "{log}");
    assert!(!log.contains("applied migrations"), "the first run's database was kept:\n{log}");
    std::fs::remove_dir_all(&dir).ok();
}

/// As root, PostgreSQL runs as another user; a data directory that user
/// cannot reach (a checkout under /root, say) is refused up front with the
/// fix, not with initdb's own error.
#[tokio::test]
async fn an_unreachable_data_dir_is_refused_with_the_fix() {
    if !nix::unistd::Uid::effective().is_root() {
        // Without root, PostgreSQL runs as the caller, who reaches its own directories.
        return;
    }
    let dir = scratch_dir("private");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let output = incident_tracker(&dir).arg("serve").env("BIND_ADDRESS", "127.0.0.1:0").output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot reach") && stderr.contains("Set DATA_DIR"), "{stderr}");
    assert!(!dir.join(".data/postgres/cluster").exists(), "nothing was initialized");
    std::fs::remove_dir_all(&dir).ok();
}
