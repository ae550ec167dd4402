//! Mail delivery: a background worker takes queued mail out of the outbox
//! (see `db::outbox`) and sends it over SMTP, or writes `.eml` files when no
//! SMTP server is configured. Transient failures are retried with backoff;
//! a mail is given up on after a permanent one or [`MAX_ATTEMPTS`]. What is
//! logged or kept of a failure is its kind and SMTP code, never the server's
//! text, which may quote the address.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::db::{self, Pool, outbox::QueuedMail};
use crate::error::Error;
use crate::telemetry::{METRICS, attribute};

/// How often the worker looks for due mail without being woken: retries,
/// and mail queued by other instances.
const POLL_INTERVAL: Duration = Duration::from_secs(5);
/// How long the SMTP server may take over each step of a delivery.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a claimed mail is left to the worker sending it: well over the
/// few steps of one delivery, each bounded by [`SMTP_TIMEOUT`].
const LEASE: Duration = Duration::from_secs(10 * 60);
const MAX_ATTEMPTS: i32 = 12;
const MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);

/// Where mail goes.
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// One `.eml` file per mail in this directory.
    Files(PathBuf),
}

/// Why a mail was not delivered, fit for the log and the outbox.
struct DeliveryError {
    summary: String,
    permanent: bool,
}

impl Transport {
    pub fn new(smtp_url: Option<&str>, files_dir: PathBuf) -> anyhow::Result<Transport> {
        Ok(match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.timeout(Some(SMTP_TIMEOUT)).build(),
            ),
            None => Transport::Files(files_dir),
        })
    }

    async fn send(&self, message: Message) -> Result<(), DeliveryError> {
        match self {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|error| {
                let kind = match error.status() {
                    Some(code) => format!("the SMTP server answered {code}"),
                    None if error.is_timeout() => "the SMTP server timed out".to_string(),
                    None if error.is_tls() => "TLS with the SMTP server failed".to_string(),
                    None => "the SMTP server could not be reached".to_string(),
                };
                // Only a refused recipient is final: other 5xx replies (a
                // failed login, TLS required, a refused sender) are the
                // server's configuration, which an operator can fix.
                let refused_recipient =
                    error.status().is_some_and(|code| ["550", "551", "553"].contains(&code.to_string().as_str()));
                DeliveryError { summary: kind, permanent: refused_recipient }
            }),
            Transport::Files(dir) => write_eml(dir, &message).await.map_err(|error| DeliveryError {
                summary: format!("writing the mail file: {}", error.kind()),
                permanent: false,
            }),
        }
    }
}

/// Writes the mail where only this process's user can read it: mail holds
/// live reset and invite links.
async fn write_eml(dir: &std::path::Path, message: &Message) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // Only the mail directory is closed: its parents (the data directory,
    // which the embedded PostgreSQL's user must pass through) keep the
    // default mode.
    if let Some(parent) = dir.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    match tokio::fs::DirBuilder::new().mode(0o700).create(dir).await {
        Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => return Err(error),
        _ => {}
    }
    // A directory made by an earlier version, or by hand, is closed too.
    tokio::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).await?;
    let name = uuid::Uuid::new_v4();
    // Written aside and renamed, so a reader never sees half a mail.
    let partial = dir.join(format!(".{name}.eml.partial"));
    let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&partial).await?;
    tokio::io::AsyncWriteExt::write_all(&mut file, &message.formatted()).await?;
    file.sync_all().await?;
    tokio::fs::rename(&partial, dir.join(format!("{name}.eml"))).await
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
                if let Err(error) = deliver_due(&pool, &transport, &from, &stopped).await {
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

    /// Lets the mail being sent finish, then stops; the rest stays queued.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Delivers due mail, one at a time, until none is due or a stop is asked.
async fn deliver_due(
    pool: &Pool,
    transport: &Transport,
    from: &Mailbox,
    stopped: &watch::Receiver<bool>,
) -> Result<(), Error> {
    let mut conn = db::checkout(pool).await?;
    let discarded = db::outbox::discard_expired(&mut conn).await?;
    if discarded > 0 {
        tracing::warn!(discarded, "mail expired before it could be delivered");
    }
    while !*stopped.borrow() {
        let Some(mail) = db::outbox::claim_next(&mut conn, LEASE).await? else { break };
        let span = tracing::info_span!("smtp", otel.name = "mail.deliver", otel.kind = "client", mail_id = %mail.id);
        match deliver(transport, from, &mail).instrument(span).await {
            Ok(()) => db::outbox::delete(&mut conn, mail.id).await?,
            Err(error) => {
                let give_up = error.permanent || mail.attempts >= MAX_ATTEMPTS;
                let retry_at = (!give_up).then(|| Utc::now() + backoff(mail.attempts));
                let attempts = mail.attempts;
                tracing::warn!(mail_id = %mail.id, attempts, give_up, error = error.summary, "mail delivery failed");
                METRICS.mail_failures.add(1, &[attribute("permanent", give_up)]);
                db::outbox::record_failure(&mut conn, mail.id, &error.summary, retry_at).await?;
            }
        }
    }
    if crate::telemetry::exporting() {
        METRICS.outbox_depth.record(db::outbox::outbox_depth(&mut conn).await?, &[]);
    }
    Ok(())
}

async fn deliver(transport: &Transport, from: &Mailbox, mail: &QueuedMail) -> Result<(), DeliveryError> {
    let message = Mailbox::from_str(&mail.recipient)
        .map_err(|_| DeliveryError { summary: "the recipient address is malformed".to_string(), permanent: true })
        .and_then(|to| {
            Message::builder()
                .from(from.clone())
                .to(to)
                .subject(&mail.subject)
                .header(ContentType::TEXT_PLAIN)
                .body(mail.body.clone())
                .map_err(|_| DeliveryError { summary: "the message could not be built".to_string(), permanent: true })
        })?;
    transport.send(message).await?;
    tracing::info!(mail_id = %mail.id, "mail delivered");
    Ok(())
}

/// 2, 4, 8, ... seconds, up to an hour.
fn backoff(attempts: i32) -> chrono::Duration {
    let seconds = 2u64.saturating_pow(attempts.clamp(1, 31) as u32);
    chrono::Duration::from_std(Duration::from_secs(seconds).min(MAX_BACKOFF)).unwrap_or(chrono::TimeDelta::MAX)
}
