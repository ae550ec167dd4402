//! Virus scanning by ClamAV's clamd, over its `INSTREAM` command: the bytes
//! are sent in length-prefixed chunks as they are read, so a file is never
//! held whole in memory, and clamd answers `stream: OK` or `stream:
//! <signature> FOUND`.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

/// The longest a scan may take, from connecting to the verdict.
const SCAN_TIMEOUT: Duration = Duration::from_secs(120);
/// clamd's answer is one short line; anything longer is not clamd.
const MAX_REPLY_BYTES: u64 = 4096;

/// Where clamd listens: `tcp://host:port` or `unix:///path/to/clamd.ctl`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClamdAddress {
    Tcp(String),
    Unix(PathBuf),
}

impl ClamdAddress {
    pub fn parse(url: &str) -> Result<ClamdAddress, String> {
        if let Some(address) = url.strip_prefix("tcp://") {
            let address = address.trim_end_matches('/');
            let valid =
                address.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !valid {
                return Err("a tcp:// CLAMD_URL names a host and a port, e.g. tcp://127.0.0.1:3310".to_string());
            }
            return Ok(ClamdAddress::Tcp(address.to_string()));
        }
        if let Some(path) = url.strip_prefix("unix://").filter(|path| path.starts_with('/')) {
            return Ok(ClamdAddress::Unix(PathBuf::from(path)));
        }
        Err("CLAMD_URL is tcp://host:port or unix:///absolute/path".to_string())
    }
}

/// What clamd found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// The name of the signature that matched.
    Infected(String),
}

#[derive(Clone, Debug)]
pub struct Scanner {
    address: ClamdAddress,
}

impl Scanner {
    pub fn new(address: ClamdAddress) -> Scanner {
        Scanner { address }
    }

    /// Sends `bytes` to clamd and returns its verdict; an error when clamd
    /// cannot be reached, fails, or takes too long.
    pub async fn scan(&self, bytes: impl Stream<Item = anyhow::Result<Bytes>> + Unpin) -> anyhow::Result<Verdict> {
        let scan = async {
            match &self.address {
                ClamdAddress::Tcp(address) => instream(TcpStream::connect(address).await?, bytes).await,
                ClamdAddress::Unix(path) => instream(UnixStream::connect(path).await?, bytes).await,
            }
        };
        tokio::time::timeout(SCAN_TIMEOUT, scan).await.map_err(|_| anyhow::anyhow!("clamd did not answer in time"))?
    }
}

async fn instream<C: AsyncRead + AsyncWrite + Unpin>(
    mut connection: C,
    mut bytes: impl Stream<Item = anyhow::Result<Bytes>> + Unpin,
) -> anyhow::Result<Verdict> {
    // The `z` prefix: the command and its reply end with NUL.
    connection.write_all(b"zINSTREAM\0").await?;
    while let Some(chunk) = bytes.next().await {
        let chunk = chunk?;
        // A chunk's length is a 4-byte big-endian prefix.
        for piece in chunk.chunks(u32::MAX as usize) {
            connection.write_all(&(piece.len() as u32).to_be_bytes()).await?;
            connection.write_all(piece).await?;
        }
    }
    connection.write_all(&0u32.to_be_bytes()).await?;
    let mut reply = Vec::new();
    (&mut connection).take(MAX_REPLY_BYTES).read_to_end(&mut reply).await?;
    verdict(&String::from_utf8_lossy(&reply))
}

/// clamd's reply: `stream: OK`, `stream: <signature> FOUND`, or an error
/// (`INSTREAM size limit exceeded. ERROR`).
fn verdict(reply: &str) -> anyhow::Result<Verdict> {
    let reply = reply.trim_end_matches(['\0', '\n']);
    let answer = reply.strip_prefix("stream: ").unwrap_or(reply);
    if answer == "OK" {
        return Ok(Verdict::Clean);
    }
    if let Some(signature) = answer.strip_suffix(" FOUND") {
        return Ok(Verdict::Infected(signature.to_string()));
    }
    anyhow::bail!("clamd answered {reply:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamd_replies_read_as_verdicts() {
        assert_eq!(verdict("stream: OK\0").unwrap(), Verdict::Clean);
        assert_eq!(
            verdict("stream: Eicar-Test-Signature FOUND\0").unwrap(),
            Verdict::Infected("Eicar-Test-Signature".to_string())
        );
        assert!(verdict("INSTREAM size limit exceeded. ERROR\0").is_err());
        assert!(verdict("").is_err());
    }

    #[test]
    fn clamd_urls_name_a_tcp_address_or_a_socket() {
        assert_eq!(ClamdAddress::parse("tcp://127.0.0.1:3310"), Ok(ClamdAddress::Tcp("127.0.0.1:3310".to_string())));
        assert_eq!(
            ClamdAddress::parse("unix:///run/clamav/clamd.ctl"),
            Ok(ClamdAddress::Unix(PathBuf::from("/run/clamav/clamd.ctl")))
        );
        for invalid in ["127.0.0.1:3310", "tcp://clamd", "tcp://:3310", "unix://relative", "http://clamd:3310"] {
            assert!(ClamdAddress::parse(invalid).is_err(), "{invalid}");
        }
    }
}
