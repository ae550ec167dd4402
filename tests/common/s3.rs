//! A real S3-compatible server of the test's own (s3rver, from npm: objects
//! on disk, AWS signatures checked), stopped when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BUCKET: &str = "attachments";
/// s3rver's built-in credentials.
pub const ACCESS_KEY_ID: &str = "S3RVER";
pub const SECRET_ACCESS_KEY: &str = "S3RVER";

pub struct S3Server {
    process: Child,
    pub port: u16,
    dir: PathBuf,
}

impl S3Server {
    pub async fn start() -> S3Server {
        let dir = super::scratch_dir("s3");
        let port = super::free_port();
        let program = std::env::var("INCIDENT_TRACKER_TEST_S3RVER").unwrap_or_else(|_| "s3rver".to_string());
        let process = Command::new(&program)
            .args(["--directory", &dir.to_string_lossy(), "--address", "127.0.0.1", "--port", &port.to_string()])
            .args(["--configure-bucket", BUCKET, "--silent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {program} (scripts/test installs it): {error}"));
        let server = S3Server { process, port, dir };
        server.wait_until_ready().await;
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An object's bytes, read without credentials (s3rver allows it), or
    /// `None` when there is no such object.
    pub async fn object(&self, key: &str) -> Option<Vec<u8>> {
        let response = reqwest::get(format!("{}/{BUCKET}/{key}", self.endpoint())).await.unwrap();
        if response.status() == 404 {
            return None;
        }
        assert_eq!(response.status(), 200, "reading {key}");
        Some(response.bytes().await.unwrap().to_vec())
    }

    /// Every key in the bucket.
    pub async fn keys(&self) -> Vec<String> {
        let listing =
            reqwest::get(format!("{}/{BUCKET}?list-type=2", self.endpoint())).await.unwrap().text().await.unwrap();
        listing.split("<Key>").skip(1).map(|rest| rest.split("</Key>").next().unwrap().to_string()).collect()
    }

    async fn wait_until_ready(&self) {
        for _ in 0..100 {
            if let Ok(response) = reqwest::get(format!("{}/{BUCKET}?list-type=2", self.endpoint())).await
                && response.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("s3rver on port {} did not become ready", self.port);
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.process.kill().ok();
        self.process.wait().ok();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}
