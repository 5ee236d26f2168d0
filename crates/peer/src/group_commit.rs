//! How a caller of a group commit waits: for its turn at the writer lock, or for its answer.
//!
//! The peer's group commits (records, access events, staff audit entries) share one pattern: a
//! caller queues its item and its reply channel, then takes the writer lock; whoever holds it
//! takes the whole queue, writes it in one transaction and answers every item in it. A caller
//! whose item an earlier writer took must not wait for the lock as well: the lock is fair
//! (first come, first served), so its answer, ready already, would sit behind every caller
//! queued before it, each of which writes whatever little arrived meanwhile. That convoy kept
//! batches at one or two items however many callers waited (measured: 32 concurrent grant
//! redemptions, batches of 2.2 events, 30 ms a redemption spent waiting; docs/peer.md).
//! [`wait`] ends on whichever comes first.

use std::future::Future;

use tokio::sync::oneshot;

/// What ended a group-commit caller's wait.
pub(crate) enum Wait<G, T> {
    /// The writer lock: the caller takes the queue and writes it. The queue may be empty (an
    /// earlier writer took this caller's item and has answered it or is about to).
    Turn(G),
    /// The answer to this caller's item, sent by the writer that took it (`Err` if that
    /// writer dropped the reply unanswered).
    Answered(Result<T, oneshot::error::RecvError>),
}

/// Waits for `lock` or for `answer`, whichever comes first; the answer when both are ready.
/// Giving up the lock's wait leaves the lock to the next in line.
pub(crate) async fn wait<G, T>(
    lock: impl Future<Output = G>,
    answer: &mut oneshot::Receiver<T>,
) -> Wait<G, T> {
    tokio::select! {
        biased;
        a = answer => Wait::Answered(a),
        g = lock => Wait::Turn(g),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wait that should end at once; one that waits for a held lock fails instead of hanging.
    async fn within_10s<F: Future>(f: F) -> F::Output {
        tokio::time::timeout(std::time::Duration::from_secs(10), f)
            .await
            .expect("the wait did not end while the lock was held")
    }

    #[tokio::test]
    async fn an_answer_ends_the_wait_for_a_held_lock() {
        let lock = tokio::sync::Mutex::new(());
        let held = lock.lock().await;
        let (reply, mut answer) = oneshot::channel();
        reply.send(7).expect("receiver alive");
        match within_10s(wait(lock.lock(), &mut answer)).await {
            Wait::Answered(Ok(7)) => {}
            Wait::Answered(other) => panic!("answered {other:?}"),
            Wait::Turn(_) => panic!("took a held lock"),
        }
        drop(held);
        // The abandoned wait left the lock free for the next in line.
        assert!(lock.try_lock().is_ok());
    }

    #[tokio::test]
    async fn a_free_lock_is_the_turn() {
        let lock = tokio::sync::Mutex::new(());
        let (_reply, mut answer) = oneshot::channel::<u8>();
        assert!(matches!(
            wait(lock.lock(), &mut answer).await,
            Wait::Turn(_)
        ));
    }

    #[tokio::test]
    async fn an_answer_ready_with_the_lock_wins() {
        let lock = tokio::sync::Mutex::new(());
        let (reply, mut answer) = oneshot::channel();
        reply.send(1u8).expect("receiver alive");
        assert!(matches!(
            wait(lock.lock(), &mut answer).await,
            Wait::Answered(Ok(1))
        ));
    }

    #[tokio::test]
    async fn a_dropped_reply_is_an_answer() {
        let lock = tokio::sync::Mutex::new(());
        let _held = lock.lock().await;
        let (reply, mut answer) = oneshot::channel::<u8>();
        drop(reply);
        assert!(matches!(
            within_10s(wait(lock.lock(), &mut answer)).await,
            Wait::Answered(Err(_))
        ));
    }

    /// Many callers queue behind a held lock; the holder writes the whole queue and answers
    /// it: every caller ends on its answer, none takes the lock after it (a caller that waited
    /// for the lock alone would wait for good here: the lock is released only at the end).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_callers_answered_by_one_writer_never_take_the_lock() {
        let lock = std::sync::Arc::new(tokio::sync::Mutex::new(()));
        let held = lock.clone().lock_owned().await;
        let turns = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut replies = Vec::new();
        let mut callers = Vec::new();
        for _ in 0..16 {
            let (reply, mut answer) = oneshot::channel::<usize>();
            replies.push(reply);
            let (lock, turns) = (lock.clone(), turns.clone());
            callers.push(tokio::spawn(async move {
                match wait(lock.lock(), &mut answer).await {
                    Wait::Answered(a) => a.expect("answered"),
                    Wait::Turn(_) => {
                        turns.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        answer.await.expect("answered")
                    }
                }
            }));
        }
        // Let every caller queue on the lock.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        for (k, r) in replies.into_iter().enumerate() {
            r.send(k).expect("caller waiting");
        }
        for (k, c) in callers.into_iter().enumerate() {
            let answered = tokio::time::timeout(std::time::Duration::from_secs(10), c)
                .await
                .expect("a caller answered while the lock was held waited on");
            assert_eq!(answered.expect("caller ran"), k);
        }
        drop(held);
        assert_eq!(turns.load(std::sync::atomic::Ordering::SeqCst), 0);
    }
}
