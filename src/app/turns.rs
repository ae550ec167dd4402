//! Turns for a tenant's writes on this instance. A tenant's writes already
//! run one after another in PostgreSQL, where each holds its tenant's
//! counter rows until it commits. Waiting there, a write holds a pooled
//! connection that reads could use, and every waiter wakes at each commit
//! to contend again, in no order. Waiting here for its turn first, it holds
//! nothing, and turns come in the order asked. The row locks still keep
//! the order between instances.
//!
//! So a turn is taken before any connection or transaction, and never a
//! second one in the same tenant while holding one: a turn is not
//! re-entrant, and whoever held it would wait for itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

#[derive(Default)]
pub struct TenantTurns {
    /// A queue per tenant with a write waiting or under way, and only then.
    queues: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
}

/// A write's turn in its tenant, until dropped.
pub struct Turn<'a> {
    turns: &'a TenantTurns,
    tenant_id: Uuid,
    queue: Arc<tokio::sync::Mutex<()>>,
    held: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl TenantTurns {
    /// Waits for the tenant's writes that asked before, fairly.
    pub async fn take(&self, tenant_id: Uuid) -> Turn<'_> {
        let queue = self.queues().entry(tenant_id).or_default().clone();
        // Built before the wait, so that a write given up while waiting
        // (even one handed the turn and not yet resumed) drops it too.
        let mut turn = Turn { turns: self, tenant_id, queue, held: None };
        turn.held = Some(turn.queue.clone().lock_owned().await);
        turn
    }

    fn queues(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>> {
        // Nothing can panic while the map is held: poisoned, it is still whole.
        self.queues.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut queues = self.turns.queues();
        self.held = None;
        // The map's and this turn's are the last: no one else asked.
        if Arc::strong_count(&self.queue) == 2 {
            queues.remove(&self.tenant_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::{mpsc, oneshot};

    use super::*;

    /// How many handles of the tenant's queue there are, and which queue.
    fn queue_of(turns: &TenantTurns, tenant_id: Uuid) -> Option<(usize, *const tokio::sync::Mutex<()>)> {
        turns.queues().get(&tenant_id).map(|queue| (Arc::strong_count(queue), Arc::as_ptr(queue)))
    }

    /// Waits until `handles` handles of the tenant's queue exist: the map's,
    /// two for the turn under way, and two for each waiter. This tells that a
    /// spawned write has asked, on this test's one thread.
    async fn until_handles(turns: &TenantTurns, tenant_id: Uuid, handles: usize) {
        let asked = async {
            while queue_of(turns, tenant_id).map(|(count, _)| count) != Some(handles) {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), asked).await.expect("the write asked for a turn");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_tenants_writes_take_turns_in_the_order_asked_through_one_queue() {
        let turns = Arc::new(TenantTurns::default());
        let (acme, globex) = (Uuid::new_v4(), Uuid::new_v4());
        let first = turns.take(acme).await;
        let (_, queue) = queue_of(&turns, acme).unwrap();
        // Another tenant's write does not wait for this one's.
        drop(tokio::time::timeout(Duration::from_secs(1), turns.take(globex)).await.expect("no wait"));

        let (entered, mut entries) = mpsc::unbounded_channel();
        let mut releases = Vec::new();
        for index in 0..4 {
            let (asking, entered) = (turns.clone(), entered.clone());
            let (release, released) = oneshot::channel::<()>();
            releases.push(release);
            tokio::spawn(async move {
                let _turn = asking.take(acme).await;
                entered.send(index).unwrap();
                released.await.ok();
            });
            until_handles(&turns, acme, 3 + 2 * (index + 1)).await;
        }
        drop(first);
        for (index, release) in releases.into_iter().enumerate() {
            assert_eq!(entries.recv().await, Some(index), "turns come in the order asked");
            // Whoever waits still waits in the same queue, which newcomers join.
            assert_eq!(queue_of(&turns, acme).map(|(_, held)| held), Some(queue));
            release.send(()).unwrap();
        }
        drop(entered);
        assert_eq!(entries.recv().await, None);
        assert!(turns.queues().is_empty(), "a queue is kept only while someone is in it");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_write_given_up_while_waiting_leaves_nothing_behind() {
        let turns = Arc::new(TenantTurns::default());
        let acme = Uuid::new_v4();
        let first = turns.take(acme).await;
        let waiting = tokio::spawn({
            let turns = turns.clone();
            async move { drop(turns.take(acme).await) }
        });
        until_handles(&turns, acme, 5).await;
        // Handed the turn, and given up before it resumes.
        drop(first);
        waiting.abort();
        assert!(waiting.await.unwrap_err().is_cancelled());
        assert!(turns.queues().is_empty());
    }
}
