//! Writes that many tasks make at the same moment, sent as one statement.
//! While one group's statement runs, the next group gathers: a busy worker
//! pays a statement's fixed cost (its round trip, executor start-up and
//! commit) once per group instead of once per write, and an idle one sends
//! each write alone, at once. Every write still gets its own answer: when
//! a group's statement fails, each of its writes is sent again alone, so
//! that one bad write cannot fail the others.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

use super::StoreError;

type Answer<R> = Result<R, StoreError>;
type Sent<T, R> = (T, oneshot::Sender<Answer<R>>);
type Statement<R> = Pin<Box<dyn Future<Output = Result<Vec<R>, StoreError>> + Send>>;
/// Sends one group as one statement; answers one result per write, in
/// the group's order.
type SendGroup<T, R> = Arc<dyn Fn(Arc<[T]>) -> Statement<R> + Send + Sync>;

pub struct Grouped<T, R> {
    most: usize,
    send: SendGroup<T, R>,
    /// Made on first use, inside the runtime that then runs the gathering.
    queue: OnceLock<mpsc::UnboundedSender<Sent<T, R>>>,
}

impl<T, R> Grouped<T, R>
where
    T: Clone + Send + Sync + 'static,
    R: Send + 'static,
{
    /// Groups of at most `most` writes, each sent by `send`.
    pub fn new<F, Fut>(most: usize, send: F) -> Self
    where
        F: Fn(Arc<[T]>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<R>, StoreError>> + Send + 'static,
    {
        Self {
            most: most.max(1),
            send: Arc::new(move |group| Box::pin(send(group))),
            queue: OnceLock::new(),
        }
    }

    /// Writes `item` with whatever else is waiting, and answers for it.
    pub async fn write(&self, item: T) -> Answer<R> {
        let (answer, answered) = oneshot::channel();
        if !self.enqueue(item, answer) {
            return Err(gone());
        }
        answered.await.unwrap_or_else(|_| Err(gone()))
    }

    /// Writes `item` with whatever else is waiting, without waiting for it:
    /// for writes whose outcome changes nothing for the caller.
    pub fn send(&self, item: T) {
        let (answer, _) = oneshot::channel();
        self.enqueue(item, answer);
    }

    fn enqueue(&self, item: T, answer: oneshot::Sender<Answer<R>>) -> bool {
        let queue = self.queue.get_or_init(|| {
            let (queue, waiting) = mpsc::unbounded_channel();
            tokio::spawn(gather(waiting, self.send.clone(), self.most));
            queue
        });
        queue.send((item, answer)).is_ok()
    }
}

/// The gathering stopped: nothing was written.
fn gone() -> StoreError {
    StoreError::Unavailable(sqlx::Error::WorkerCrashed)
}

async fn gather<T, R>(
    mut waiting: mpsc::UnboundedReceiver<Sent<T, R>>,
    send: SendGroup<T, R>,
    most: usize,
) where
    T: Clone + Send + Sync + 'static,
    R: Send + 'static,
{
    while let Some(first) = waiting.recv().await {
        let mut group = vec![first];
        while group.len() < most {
            match waiting.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let (items, answers): (Vec<T>, Vec<_>) = group.into_iter().unzip();
        // In a task of its own, so that a panic fails this group's writes,
        // not every later one.
        let answered = tokio::spawn(settle(send.clone(), items)).await;
        match answered {
            Ok(results) => {
                for (answer, result) in answers.into_iter().zip(results) {
                    let _ = answer.send(result);
                }
            }
            Err(_) => {
                for answer in answers {
                    let _ = answer.send(Err(gone()));
                }
            }
        }
    }
}

/// One answer per item: from the group's statement, or, when it failed,
/// from each item's own.
async fn settle<T: Clone, R>(send: SendGroup<T, R>, items: Vec<T>) -> Vec<Answer<R>> {
    let count = items.len();
    let group: Arc<[T]> = items.into();
    match send(group.clone()).await {
        Ok(results) if results.len() == count => return results.into_iter().map(Ok).collect(),
        Ok(_) => {
            return (0..count)
                .map(|_| {
                    Err(StoreError::Corrupt(
                        "a group write gave a wrong count".to_owned(),
                    ))
                })
                .collect()
        }
        Err(error) if count == 1 => return vec![Err(error)],
        Err(error) => tracing::warn!(%error, count, "a group write failed; each is sent alone"),
    }
    let mut answers = Vec::with_capacity(count);
    for item in group.iter() {
        let alone: Arc<[T]> = Arc::new([item.clone()]);
        answers.push(send(alone).await.and_then(|mut results| {
            results
                .pop()
                .ok_or_else(|| StoreError::Corrupt("a write gave no answer".to_owned()))
        }));
    }
    answers
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Doubles each number in one statement, which fails as a whole when it
    /// holds a negative one.
    fn doubling(statements: Arc<AtomicUsize>) -> Grouped<i32, i32> {
        Grouped::new(64, move |group: Arc<[i32]>| {
            statements.fetch_add(1, Ordering::SeqCst);
            async move {
                if group.iter().any(|n| *n < 0) {
                    return Err(StoreError::Corrupt("a negative number".to_owned()));
                }
                Ok(group.iter().map(|n| n * 2).collect())
            }
        })
    }

    #[tokio::test]
    async fn writes_made_together_go_as_one_statement_each_answered() {
        let statements = Arc::new(AtomicUsize::new(0));
        let grouped = doubling(statements.clone());
        let answers = futures_util::future::join_all((1..=5).map(|n| grouped.write(n))).await;
        let answers: Vec<i32> = answers.into_iter().map(Result::unwrap).collect();
        assert_eq!(answers, [2, 4, 6, 8, 10]);
        assert_eq!(statements.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn one_bad_write_fails_alone() {
        let statements = Arc::new(AtomicUsize::new(0));
        let grouped = doubling(statements.clone());
        let answers =
            futures_util::future::join_all([3, -1, 4].into_iter().map(|n| grouped.write(n))).await;
        assert_eq!(answers[0].as_ref().ok(), Some(&6));
        assert!(matches!(answers[1], Err(StoreError::Corrupt(_))));
        assert_eq!(answers[2].as_ref().ok(), Some(&8));
        assert_eq!(
            statements.load(Ordering::SeqCst),
            4,
            "the group, then each alone"
        );
    }

    #[tokio::test]
    async fn a_write_alone_goes_at_once() {
        let statements = Arc::new(AtomicUsize::new(0));
        let grouped = doubling(statements.clone());
        assert_eq!(grouped.write(7).await.unwrap(), 14);
        assert_eq!(grouped.write(8).await.unwrap(), 16);
        assert_eq!(statements.load(Ordering::SeqCst), 2);
    }
}
