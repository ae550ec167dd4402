//! Mail delivery: a background worker takes queued mail out of the outbox
//! (see `db::outbox`) and sends it over SMTP, or writes `.eml` files when no
//! SMTP server is configured. Failures are retried with backoff; a mail is
//! given up on only after [`MAX_ATTEMPTS`].

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use diesel_async::AsyncConnection;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::db::{self, Pool, outbox::QueuedMail};
use crate::error::Error;

/// How often the worker looks for due mail without being woken: retries,
/// and mail queued by other instances.
const POLL_INTERVAL: Duration = Duration::from_secs(5);
const BATCH_SIZE: i64 = 20;
const MAX_ATTEMPTS: i32 = 12;
const MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);

/// Where mail goes.
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// One `.eml` file per mail in this directory.
    Files(PathBuf),
}

impl Transport {
    pub fn new(smtp_url: Option<&str>, files_dir: PathBuf) -> anyhow::Result<Transport> {
        Ok(match smtp_url {
            Some(url) => Transport::Smtp(AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build()),
            None => Transport::Files(files_dir),
        })
    }

    async fn send(&self, message: Message) -> anyhow::Result<()> {
        match self {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).context("sending over SMTP"),
            Transport::Files(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let name = uuid::Uuid::new_v4();
                // Written aside and renamed, so a reader never sees half a mail.
                let partial = dir.join(format!(".{name}.eml.partial"));
                tokio::fs::write(&partial, message.formatted()).await?;
                tokio::fs::rename(&partial, dir.join(format!("{name}.eml"))).await?;
                Ok(())
            }
        }
    }
}

/// Wakes the worker as soon as mail is queued, instead of at its next poll.
#[derive(Clone, Default)]
pub struct MailQueued(Arc<Notify>);

impl MailQueued {
    pub fn notify(&self) {
        self.0.notify_one();
    }
}

/// The running delivery worker.
pub struct MailWorker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl MailWorker {
    pub fn start(pool: Pool, transport: Transport, from: &str, queued: MailQueued) -> anyhow::Result<MailWorker> {
        let from = Mailbox::from_str(from).context("MAIL_FROM")?;
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                if let Err(error) = deliver_due(&pool, &transport, &from).await {
                    tracing::warn!(error = format!("{error:#}"), "mail delivery round failed; retrying");
                }
                tokio::select! {
                    _ = queued.0.notified() => {}
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    _ = stopped.changed() => return,
                }
            }
        });
        Ok(MailWorker { stop, task })
    }

    /// Lets the current delivery finish, then stops.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Delivers every due mail, a batch per transaction.
async fn deliver_due(pool: &Pool, transport: &Transport, from: &Mailbox) -> Result<(), Error> {
    loop {
        let mut conn = db::checkout(pool).await?;
        let handled = conn
            .transaction(async |conn| {
                let batch = db::outbox::lock_due(conn, BATCH_SIZE).await?;
                for mail in &batch {
                    match deliver(transport, from, mail).await {
                        Ok(()) => db::outbox::delete(conn, mail.id).await?,
                        Err(error) => {
                            let attempts = mail.attempts + 1;
                            let retry_at = (attempts < MAX_ATTEMPTS).then(|| Utc::now() + backoff(attempts));
                            tracing::warn!(
                                mail_id = %mail.id, attempts, gave_up = retry_at.is_none(),
                                error = format!("{error:#}"), "mail delivery failed"
                            );
                            db::outbox::record_failure(conn, mail.id, &format!("{error:#}"), retry_at).await?;
                        }
                    }
                }
                Ok::<_, Error>(batch.len())
            })
            .await?;
        if handled < BATCH_SIZE as usize {
            return Ok(());
        }
    }
}

async fn deliver(transport: &Transport, from: &Mailbox, mail: &QueuedMail) -> anyhow::Result<()> {
    let message = Message::builder()
        .from(from.clone())
        .to(Mailbox::from_str(&mail.recipient).context("recipient address")?)
        .subject(&mail.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())?;
    transport.send(message).await?;
    tracing::info!(mail_id = %mail.id, "mail delivered");
    Ok(())
}

/// 2, 4, 8, ... seconds, up to an hour.
fn backoff(attempts: i32) -> chrono::Duration {
    let seconds = 2u64.saturating_pow(attempts.clamp(1, 31) as u32);
    chrono::Duration::from_std(Duration::from_secs(seconds).min(MAX_BACKOFF)).unwrap_or(chrono::TimeDelta::MAX)
}
