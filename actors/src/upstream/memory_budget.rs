//! `UPSTREAM_MEMORY_BUDGET_MB`: the bytes that upstream replies being read, decoded and validated may
//! hold at once. A unit reserves its weight when the reply's headers arrive (not while the upstream is
//! still generating, which can take minutes and uses no memory here) and keeps it until its image is
//! written. Units are served in arrival order, so a heavy unit is not passed over forever; a unit
//! heavier than the whole budget runs alone. The capacity can change while units wait.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

pub struct MemoryBudget {
    state: Mutex<State>,
    changed: Notify,
}

struct State {
    capacity: u64,
    used: u64,
    /// Tickets of the units waiting, oldest first.
    waiting: VecDeque<u64>,
    next_ticket: u64,
}

/// Held while a reply's bytes are in memory; gives its weight back when dropped.
pub struct MemoryPermit {
    budget: Arc<MemoryBudget>,
    weight: u64,
}

/// Leaves the queue when a wait is given up (the job was cancelled).
struct Waiting<'a> {
    budget: &'a MemoryBudget,
    ticket: u64,
    served: bool,
}

impl MemoryBudget {
    pub fn new(capacity: u64) -> Self {
        MemoryBudget {
            state: Mutex::new(State { capacity, used: 0, waiting: VecDeque::new(), next_ticket: 0 }),
            changed: Notify::new(),
        }
    }

    pub fn set_capacity(&self, capacity: u64) {
        self.lock().capacity = capacity;
        self.changed.notify_waiters();
    }

    /// (capacity, used) in bytes.
    pub fn usage(&self) -> (u64, u64) {
        let state = self.lock();
        (state.capacity, state.used)
    }

    /// Waits until `weight` bytes fit (all of the budget at most) and every earlier unit was served.
    pub async fn acquire(self: &Arc<Self>, weight: u64) -> MemoryPermit {
        let mut waiting = {
            let mut state = self.lock();
            let ticket = state.next_ticket;
            state.next_ticket += 1;
            state.waiting.push_back(ticket);
            Waiting { budget: self, ticket, served: false }
        };
        loop {
            // Registered before looking, so a release between the look and the wait is not missed.
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(weight) = self.try_take(waiting.ticket, weight) {
                waiting.served = true;
                self.changed.notify_waiters();
                return MemoryPermit { budget: self.clone(), weight };
            }
            notified.await;
        }
    }

    fn try_take(&self, ticket: u64, weight: u64) -> Option<u64> {
        let mut state = self.lock();
        if state.waiting.front() != Some(&ticket) {
            return None;
        }
        let weight = weight.min(state.capacity);
        if state.used > 0 && state.used.saturating_add(weight) > state.capacity {
            return None;
        }
        state.used += weight;
        state.waiting.pop_front();
        Some(weight)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for MemoryPermit {
    fn drop(&mut self) {
        let mut state = self.budget.lock();
        state.used = state.used.saturating_sub(self.weight);
        drop(state);
        self.budget.changed.notify_waiters();
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.served {
            return;
        }
        self.budget.lock().waiting.retain(|t| *t != self.ticket);
        self.budget.changed.notify_waiters();
    }
}

impl Default for MemoryBudget {
    /// The setting's default, 256 MiB.
    fn default() -> Self {
        MemoryBudget::new(256 * 1024 * 1024)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn blocked(budget: &Arc<MemoryBudget>, weight: u64) -> bool {
        tokio::time::timeout(Duration::from_millis(50), budget.acquire(weight)).await.is_err()
    }

    #[tokio::test]
    async fn units_share_the_budget_in_arrival_order() {
        let budget = Arc::new(MemoryBudget::new(100));
        let first = budget.acquire(60).await;
        assert!(blocked(&budget, 60).await, "60 + 60 exceeds 100");
        let small = budget.acquire(40).await;
        assert_eq!(budget.usage(), (100, 100));
        drop(first);
        drop(small);

        // Heavier than the whole budget: runs, alone.
        let heavy = budget.acquire(500).await;
        assert_eq!(budget.usage(), (100, 100));
        assert!(blocked(&budget, 1).await);
        drop(heavy);
        assert_eq!(budget.usage(), (100, 0));
    }

    #[tokio::test]
    async fn a_later_small_unit_does_not_pass_a_waiting_heavy_one() {
        let budget = Arc::new(MemoryBudget::new(100));
        let held = budget.acquire(50).await;
        let heavy = tokio::spawn({
            let budget = budget.clone();
            async move { budget.acquire(80).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(blocked(&budget, 10).await, "the heavy unit is first in line");
        drop(held);
        let heavy = heavy.await.unwrap();
        assert_eq!(budget.usage(), (100, 80));
        drop(heavy);
    }

    #[tokio::test]
    async fn a_given_up_wait_and_a_larger_capacity_unblock_the_queue() {
        let budget = Arc::new(MemoryBudget::new(100));
        let held = budget.acquire(90).await;
        assert!(blocked(&budget, 50).await, "the abandoned waiter leaves the queue");
        let next = tokio::spawn({
            let budget = budget.clone();
            async move { budget.acquire(50).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        budget.set_capacity(200);
        let next = tokio::time::timeout(Duration::from_secs(1), next).await.expect("served after the change").unwrap();
        assert_eq!(budget.usage(), (200, 140));
        drop((held, next));
    }
}
