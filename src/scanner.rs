//! Virus scanning by ClamAV's clamd, over its `INSTREAM` command: the bytes
//! are sent in length-prefixed chunks as they are read, so a file is never
//! held whole in memory, and clamd answers `stream: OK` or `stream:
//! <signature> FOUND`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::Semaphore;

/// The longest a scan may take, from connecting to the verdict.
pub const SCAN_TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Scans one server runs at once, so a burst of uploads cannot take every
/// clamd thread from everyone else.
const MAX_CONCURRENT_SCANS: usize = 4;
/// How long a scan waits for its turn before it is left for later.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(30);
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

/// Why a file has no verdict.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// clamd could not be reached, was busy, or did not answer in time:
    /// worth trying again later.
    #[error("clamd is unavailable: {0:#}")]
    Unavailable(anyhow::Error),
    /// clamd read the file and answered with an error (it is too large for
    /// its limits, say): trying again would not help.
    #[error("clamd refused the file: {0}")]
    Refused(String),
}

#[derive(Clone, Debug)]
pub struct Scanner {
    address: ClamdAddress,
    turns: Arc<Semaphore>,
}

impl Scanner {
    pub fn new(address: ClamdAddress) -> Scanner {
        Scanner { address, turns: Arc::new(Semaphore::new(MAX_CONCURRENT_SCANS)) }
    }

    /// Sends `bytes` to clamd and returns its verdict.
    pub async fn scan(&self, bytes: impl Stream<Item = anyhow::Result<Bytes>> + Unpin) -> Result<Verdict, ScanError> {
        let unavailable = |error: anyhow::Error| ScanError::Unavailable(error);
        let _turn = tokio::time::timeout(QUEUE_TIMEOUT, self.turns.acquire())
            .await
            .map_err(|_| unavailable(anyhow::anyhow!("every scan slot stayed busy")))?
            .map_err(|error| unavailable(error.into()))?;
        let scan = async {
            match &self.address {
                ClamdAddress::Tcp(address) => instream(connect(TcpStream::connect(address)).await?, bytes).await,
                ClamdAddress::Unix(path) => instream(connect(UnixStream::connect(path)).await?, bytes).await,
            }
        };
        let (reply, complete) = tokio::time::timeout(SCAN_TIMEOUT, scan)
            .await
            .map_err(|_| unavailable(anyhow::anyhow!("clamd did not answer in time")))?
            .map_err(unavailable)?;
        match verdict(&reply)? {
            // clamd saw only part of the file.
            Verdict::Clean if !complete => Err(unavailable(anyhow::anyhow!("the file could not be sent whole"))),
            found => Ok(found),
        }
    }
}

async fn connect<C>(connecting: impl Future<Output = std::io::Result<C>>) -> anyhow::Result<C> {
    Ok(tokio::time::timeout(CONNECT_TIMEOUT, connecting)
        .await
        .map_err(|_| anyhow::anyhow!("connecting timed out"))??)
}

/// Sends the bytes and returns clamd's reply, and whether all of them were
/// sent.
async fn instream<C: AsyncRead + AsyncWrite + Unpin>(
    mut connection: C,
    mut bytes: impl Stream<Item = anyhow::Result<Bytes>> + Unpin,
) -> anyhow::Result<(String, bool)> {
    let sent = async {
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
        anyhow::Ok(())
    }
    .await;
    // clamd answers a stream over its limits at once and stops reading, so
    // a failed send may still have a reply to read.
    let mut reply = Vec::new();
    let read = (&mut connection).take(MAX_REPLY_BYTES).read_to_end(&mut reply).await;
    match (sent, read) {
        (Ok(()), Err(error)) => Err(error.into()),
        (Err(error), _) if reply.is_empty() => Err(error),
        (sent, _) => Ok((String::from_utf8_lossy(&reply).into_owned(), sent.is_ok())),
    }
}

/// clamd's reply: `stream: OK`, `stream: <signature> FOUND`, or an error
/// (`INSTREAM size limit exceeded. ERROR`).
fn verdict(reply: &str) -> Result<Verdict, ScanError> {
    let reply = reply.trim_end_matches(['\0', '\n']);
    let answer = reply.strip_prefix("stream: ").unwrap_or(reply);
    if answer == "OK" {
        return Ok(Verdict::Clean);
    }
    if let Some(signature) = answer.strip_suffix(" FOUND") {
        return Ok(Verdict::Infected(signature.to_string()));
    }
    // Empty: clamd went away. Timed out: it waited too long for our bytes.
    if reply.is_empty() || reply.contains("TIMED OUT") {
        return Err(ScanError::Unavailable(anyhow::anyhow!("clamd answered {reply:?}")));
    }
    Err(ScanError::Refused(reply.to_string()))
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
        assert!(matches!(verdict("INSTREAM size limit exceeded. ERROR\0"), Err(ScanError::Refused(_))));
        assert!(matches!(verdict(""), Err(ScanError::Unavailable(_))));
        assert!(matches!(verdict("COMMAND READ TIMED OUT\0"), Err(ScanError::Unavailable(_))));
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
