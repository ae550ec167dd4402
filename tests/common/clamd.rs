//! A real clamd of the test's own, stopped when dropped. freshclam cannot
//! reach the internet here, so its signature database is written by the
//! test: the EICAR test file's signature alone.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The EICAR anti-virus test file: harmless, and detected by every scanner.
pub const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
pub const EICAR_SIGNATURE: &str = "Eicar-Test-Signature";

pub struct ClamdServer {
    process: Child,
    pub port: u16,
    dir: PathBuf,
}

impl ClamdServer {
    pub async fn start() -> ClamdServer {
        ClamdServer::start_with("").await
    }

    /// With more settings for `clamd.conf`, one per line.
    pub async fn start_with(settings: &str) -> ClamdServer {
        let dir = super::scratch_dir("clamd");
        let database = dir.join("db");
        std::fs::create_dir_all(&database).unwrap();
        // A body signature (.ndb): name, any file type, anywhere, the bytes in hex.
        let hex = incident_tracker::crypto::hex(EICAR);
        std::fs::write(database.join("eicar.ndb"), format!("{EICAR_SIGNATURE}:0:*:{hex}\n")).unwrap();
        let port = super::free_port();
        let config = dir.join("clamd.conf");
        std::fs::write(
            &config,
            format!(
                "Foreground yes\nTCPSocket {port}\nTCPAddr 127.0.0.1\nDatabaseDirectory {}\nLogFile {}\n\
                 PidFile {}\n{settings}\n",
                database.display(),
                dir.join("clamd.log").display(),
                dir.join("clamd.pid").display(),
            ),
        )
        .unwrap();
        let server = ClamdServer { process: spawn(&dir), port, dir };
        server.wait_until_ready().await;
        server
    }

    /// Starts the killed server again, where clients expect it.
    pub async fn restart(&mut self) {
        self.kill();
        self.process = spawn(&self.dir);
        self.wait_until_ready().await;
    }

    pub fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// Kills the server, as a crash would.
    pub fn kill(&mut self) {
        self.process.kill().ok();
        self.process.wait().ok();
    }

    async fn wait_until_ready(&self) {
        for _ in 0..300 {
            if let Ok(mut connection) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await {
                let mut reply = Vec::new();
                if connection.write_all(b"zPING\0").await.is_ok()
                    && connection.read_to_end(&mut reply).await.is_ok()
                    && reply.starts_with(b"PONG")
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = std::fs::read_to_string(self.dir.join("clamd.log")).unwrap_or_default();
        panic!("clamd on port {} did not become ready:\n{log}", self.port);
    }
}

fn spawn(dir: &std::path::Path) -> Child {
    let binary = if std::path::Path::new("/usr/sbin/clamd").exists() { "/usr/sbin/clamd" } else { "clamd" };
    Command::new(binary)
        .arg(format!("--config-file={}", dir.join("clamd.conf").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting clamd (scripts/test installs clamav-daemon)")
}

impl Drop for ClamdServer {
    fn drop(&mut self) {
        self.kill();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}
