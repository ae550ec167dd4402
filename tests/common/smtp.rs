//! A real SMTP server of the test's own (aiosmtpd from PyPI, installed by
//! `scripts/test`), storing what it receives in a Maildir.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, scratch_dir};

pub struct SmtpSink {
    process: Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        SmtpSink::start_on(free_port()).await
    }

    /// On a given port: to bring up a server that clients already expect.
    pub async fn start_on(port: u16) -> SmtpSink {
        // Python's Maildir makes its tmp/new/cur only in a directory it creates.
        let maildir = scratch_dir("smtp").join("maildir");
        let program = std::env::var("INCIDENT_TRACKER_TEST_SMTP_SINK").unwrap_or_else(|_| "aiosmtpd".to_string());
        let process = Command::new(&program)
            .args(["-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {program} (scripts/test installs it): {error}"));
        // Built before waiting, so a sink that never comes up is still killed.
        let sink = SmtpSink { process, port, maildir };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await.is_ok() {
                return sink;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the SMTP sink on port {port} did not start");
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Where received messages land, one file each.
    pub fn inbox(&self) -> PathBuf {
        self.maildir.join("new")
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.process.kill().ok();
        self.process.wait().ok();
        if let Some(scratch) = self.maildir.parent() {
            std::fs::remove_dir_all(scratch).ok();
        }
    }
}
