//! Retention: what is done with is deleted once it is older than its data
//! class's retention (`config::Retention`), by a purge each server runs
//! hourly and `incident-tracker purge` runs once. Change events and deleted
//! webhooks go after their fixed 30 days in the same purge. What a purge
//! deleted is recorded in the platform's audit chain, as counts per class.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Actor, AppState, Error, Origin};
use crate::audit::{self, NewEvent};
use crate::config::Retention;
use crate::db;

/// How often each server purges.
const PURGE_INTERVAL: Duration = Duration::from_secs(60 * 60);
/// How soon a purge that failed (the database was down) is tried again.
const RETRY_INTERVAL: Duration = Duration::from_secs(60);

/// Rows deleted, per data class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Purged {
    pub change_events: i64,
    pub deleted_webhooks: i64,
    pub mail: i64,
    /// Reset tokens, sign-in challenges and attachment URLs.
    pub tokens: i64,
    pub invites: i64,
    pub usage_rows: i64,
    /// Audit events' personal data: client addresses, invitees' emails.
    pub audit_addresses: i64,
}

/// Deletes what is past retention in one transaction, with the audit event
/// that records it (none when nothing was). While another instance purges,
/// this one deletes nothing: two would only wait on each other's rows.
pub async fn purge(conn: &mut AsyncPgConnection, retention: &Retention, origin: &Origin) -> Result<Purged, Error> {
    let now = Utc::now();
    let before = |kept: Duration| now - chrono::Duration::from_std(kept).expect("retention is at most 10 years");
    conn.transaction(async |conn| {
        if !db::retention::purge_lock(conn).await? {
            return Ok(Purged::default());
        }
        let purged = Purged {
            change_events: db::retention::change_events_purge(conn).await?,
            deleted_webhooks: db::retention::deleted_webhooks_purge(conn).await?,
            mail: db::retention::mail_purge(conn, before(retention.mail)).await?,
            tokens: db::retention::tokens_purge(conn, before(retention.tokens)).await?,
            invites: db::retention::invitations_purge(conn, before(retention.invites)).await?,
            usage_rows: db::retention::usage_purge(conn, before(retention.usage).date_naive()).await?,
            audit_addresses: db::retention::audit_personal_data_purge(conn, before(retention.audit_addresses)).await?,
        };
        if purged != Purged::default() {
            let counts = serde_json::to_value(purged).map_err(anyhow::Error::from)?;
            let event = NewEvent::new("retention.purged", None).with_metadata(counts);
            audit::record_platform_event(conn, &Actor::System, origin, event).await?;
        }
        Ok(purged)
    })
    .await
}

/// The hourly purge of a running server. Each server runs one; the deletes
/// of two at once do not conflict.
pub struct Purger {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Purger {
    pub fn start(state: Arc<AppState>) -> Purger {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let purged = async {
                    let mut conn = db::checkout(&state.db).await?;
                    purge(&mut conn, &state.retention, &Origin::internal("purge")).await
                };
                let next = match purged.await {
                    Ok(purged) => {
                        if purged != Purged::default() {
                            tracing::info!(?purged, "purged what is past its retention");
                        }
                        PURGE_INTERVAL
                    }
                    Err(error) => {
                        tracing::warn!(error = format!("{error:#}"), "purging what is past retention failed");
                        RETRY_INTERVAL
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(next) => {}
                    _ = stopped.changed() => return,
                }
            }
        });
        Purger { stop, task }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
