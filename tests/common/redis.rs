//! A real `redis-server` of the test's own, stopped when dropped.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct RedisServer {
    process: Child,
    pub port: u16,
}

impl RedisServer {
    pub async fn start() -> RedisServer {
        RedisServer::start_on(super::free_port()).await
    }

    /// On a given port: to bring a killed server back where clients expect it.
    pub async fn start_on(port: u16) -> RedisServer {
        let process = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("starting redis-server (scripts/test installs it)");
        let server = RedisServer { process, port };
        server.wait_until_ready().await;
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server, as a crash would.
    pub fn kill(&mut self) {
        self.process.kill().ok();
        self.process.wait().ok();
    }

    async fn wait_until_ready(&self) {
        let client = redis::Client::open(self.url()).unwrap();
        for _ in 0..100 {
            if let Ok(mut connection) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING").query_async::<String>(&mut connection).await.is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} did not become ready", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
