//! In-memory wake-ups for long polls: one `watch` channel per `(device, alias)` that has
//! waiters. A write bumps the channel after its commit; waiters re-read the store, so a
//! missed or merged bump can never lose a point. Entries vanish with their last waiter.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

type Key = (i64, Box<str>);

/// Registry of long-poll waiters.
#[derive(Default)]
pub struct Notifier {
    channels: Mutex<HashMap<Key, watch::Sender<u64>>>,
    waiters: AtomicUsize,
}

/// A waiter's subscription; dropping it unregisters the waiter.
pub struct Subscription {
    notifier: Arc<Notifier>,
    key: Key,
    rx: Option<watch::Receiver<u64>>,
}

impl Notifier {
    /// A new, empty registry.
    pub fn new() -> Arc<Notifier> {
        Arc::new(Notifier::default())
    }

    /// Subscribes to writes of `alias` on `device`. Subscribe before reading the store,
    /// so a write that commits after the read always wakes the waiter.
    pub fn subscribe(self: &Arc<Self>, device: i64, alias: &str) -> Subscription {
        let key: Key = (device, alias.into());
        let rx = {
            let mut map = self.channels.lock().unwrap_or_else(|e| e.into_inner());
            match map.get(&key) {
                Some(tx) => tx.subscribe(),
                None => {
                    let (tx, rx) = watch::channel(0);
                    map.insert(key.clone(), tx);
                    rx
                }
            }
        };
        self.waiters.fetch_add(1, Ordering::Relaxed);
        Subscription {
            notifier: self.clone(),
            key,
            rx: Some(rx),
        }
    }

    /// Wakes every waiter on `(device, alias)`.
    pub fn notify(&self, device: i64, alias: &str) {
        let map = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        // The key is owned, so a lookup allocates: skip it when nobody waits at all.
        if map.is_empty() {
            return;
        }
        if let Some(tx) = map.get(&(device, Box::<str>::from(alias))) {
            tx.send_modify(|v| *v = v.wrapping_add(1));
        }
    }

    /// Number of waiting long polls.
    pub fn waiters(&self) -> usize {
        self.waiters.load(Ordering::Relaxed)
    }

    /// Number of `(device, alias)` pairs with waiters (for tests and stats).
    pub fn channels(&self) -> usize {
        self.channels.lock().map(|m| m.len()).unwrap_or(0)
    }
}

impl Subscription {
    /// Waits for the next write after the last one seen. Returns false if the registry dropped
    /// the channel (cannot happen while this subscription lives; kept for robustness).
    pub async fn changed(&mut self) -> bool {
        match self.rx.as_mut() {
            Some(rx) => rx.changed().await.is_ok(),
            None => false,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.notifier.waiters.fetch_sub(1, Ordering::Relaxed);
        drop(self.rx.take());
        let mut map = self
            .notifier
            .channels
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if map
            .get(&self.key)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn notify_wakes_subscribers_and_entries_are_removed() {
        let n = Notifier::new();
        let mut a = n.subscribe(1, "x");
        let b = n.subscribe(1, "x");
        let _c = n.subscribe(2, "x");
        assert_eq!(n.channels(), 2);
        assert_eq!(n.waiters(), 3);
        n.notify(1, "y");
        n.notify(1, "x");
        assert!(a.changed().await);
        drop(b);
        assert_eq!(n.channels(), 2);
        drop(a);
        assert_eq!(n.channels(), 1);
    }

    #[tokio::test]
    async fn a_bump_before_waiting_is_not_lost() {
        let n = Notifier::new();
        let mut a = n.subscribe(7, "cmd");
        n.notify(7, "cmd");
        // changed() sees the version bumped after subscribing.
        tokio::time::timeout(std::time::Duration::from_secs(5), a.changed())
            .await
            .map(|ok| assert!(ok))
            .unwrap_or_else(|_| panic!("missed wake-up"));
    }
}
