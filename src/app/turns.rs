//! Turns for a tenant's writes on this instance. A tenant's writes already
//! run one after another in PostgreSQL, where each holds its tenant's
//! counter rows until it commits. Waiting there, a write holds a pooled
//! connection that reads could use, and every waiter wakes at each commit
//! to contend again, in no order. Waiting here for its turn first, it holds
//! nothing, and turns come in the order asked. The row locks still keep
//! the order between instances.

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
        let held = Some(queue.clone().lock_owned().await);
        Turn { turns: self, tenant_id, queue, held }
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

    use super::*;

    #[tokio::test]
    async fn a_tenants_writes_take_turns_in_the_order_asked_and_leave_nothing_behind() {
        let turns = Arc::new(TenantTurns::default());
        let (acme, globex) = (Uuid::new_v4(), Uuid::new_v4());
        let first = turns.take(acme).await;
        // Another tenant's write does not wait for this one's.
        drop(tokio::time::timeout(Duration::from_secs(1), turns.take(globex)).await.expect("no wait"));

        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for index in 0..3 {
            let (asking, order) = (turns.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let _turn = asking.take(acme).await;
                order.lock().unwrap().push(index);
            }));
            // Each has asked before the next is started: the map and the
            // turn under way hold the queue three times, each waiter twice.
            let asked = async {
                while turns.queues().get(&acme).map(Arc::strong_count) != Some(3 + 2 * (index + 1)) {
                    tokio::task::yield_now().await;
                }
            };
            tokio::time::timeout(Duration::from_secs(5), asked).await.expect("the write asked for a turn");
        }
        assert!(order.lock().unwrap().is_empty(), "no one goes before the turn ends");
        drop(first);
        for write in waiting {
            write.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 1, 2]);
        assert!(turns.queues().is_empty(), "a queue is kept only while someone is in it");
    }
}
