//! Bounded parallelism for "these, N at a time" when every result is
//! wanted at the end (hosts of a fleet, peers of a probe). A document
//! written while it is rendered, in order and in bounded memory, uses
//! `report::chunks` instead.

use std::sync::Mutex;

/// Maps `f` over `items` on at most `limit` threads (at least one, never
/// more than there are items) and returns the results in the order of
/// `items`, whatever order they finish in. Each thread takes the next item
/// nobody has taken yet, so a slow item holds up one thread, not a batch.
/// A panic in `f` is raised again here once every thread has ended.
pub fn map_bounded<T: Send, R: Send>(
    items: Vec<T>,
    limit: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let count = items.len();
    let queue = Mutex::new(items.into_iter().enumerate());
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..count).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..limit.clamp(1, count.max(1)) {
            s.spawn(|| loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some((i, item)) = next else { break };
                let result = f(item);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every item is mapped"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn map_bounded_keeps_order_and_bounds() {
        let live = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let items: Vec<u64> = (0..40).collect();
        let out = map_bounded(items.clone(), 3, |x| {
            let now = live.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            // Later items finish first: the order comes from the input.
            std::thread::sleep(Duration::from_millis(2 + (40 - x) % 5));
            live.fetch_sub(1, Ordering::SeqCst);
            x * 2
        });
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        assert!(most.load(Ordering::SeqCst) <= 3);
        assert!(map_bounded(Vec::<u8>::new(), 8, |_| 0).is_empty());
        // A limit of 0 still makes progress, on one thread.
        assert_eq!(map_bounded(vec![1, 2], 0, |x| x + 1), [2, 3]);
    }
}
