//! CPU-heavy work (password hashing, reading an audience, rendering every
//! recipient's message) runs off the async workers, a bounded number at a
//! time. A burst of sign-ins or uploads then queues, briefly, instead of
//! taking every core and all the memory the other organisations need.

use std::time::Duration;

use tokio::sync::Semaphore;

/// A bounded set of blocking-thread slots for one kind of work.
pub struct Pool {
    what: &'static str,
    slots: Semaphore,
    /// How long a caller waits for a slot before being told to try again.
    wait: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// Every slot stayed taken for the whole wait.
    #[error("too much of this work is under way; try again in a moment")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Argon2 takes 19 MiB and most of a core for each password: one at a
/// time (about 30 a second), so a flood of sign-ins leaves the other core
/// and the memory to everyone else.
pub static PASSWORDS: Pool = Pool::new("password hashing", 1, Duration::from_secs(10));
/// Reading an audience or rendering every recipient's message takes up to
/// a few seconds and, at a million recipients, ~150 MB: one at a time.
pub static AUDIENCES: Pool = Pool::new("audience work", 1, Duration::from_secs(60));

impl Pool {
    pub const fn new(what: &'static str, slots: usize, wait: Duration) -> Self {
        Self {
            what,
            slots: Semaphore::const_new(slots),
            wait,
        }
    }

    /// Runs `work` on a blocking thread once a slot is free.
    pub async fn run<T: Send + 'static>(
        &'static self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, WorkError> {
        let permit = match tokio::time::timeout(self.wait, self.slots.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_closed)) => return Err(WorkError::Busy),
            Err(_elapsed) => {
                tracing::warn!(work = self.what, "refused work: every slot stayed busy");
                return Err(WorkError::Busy);
            }
        };
        let result = tokio::task::spawn_blocking(move || {
            let _yielding = YieldingThread::enter();
            work()
        })
        .await
        .map_err(|e| anyhow::anyhow!("{} failed: {e}", self.what))?;
        drop(permit);
        Ok(result)
    }
}

/// While it lives, the current (blocking) thread runs at a lower CPU
/// priority: on a busy machine the async workers that answer everyone's
/// pages and send everyone's messages go first.
struct YieldingThread;

impl YieldingThread {
    /// `nice` 10 for this thread only (Linux: priorities are per thread).
    fn enter() -> Self {
        #[cfg(target_os = "linux")]
        // SAFETY: setpriority with PRIO_PROCESS and who = 0 changes only the
        // calling thread on Linux; it reads no memory of ours.
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, 0, 10);
        }
        Self
    }
}

impl Drop for YieldingThread {
    fn drop(&mut self) {
        // Blocking threads are reused for other work: back to normal. An
        // unprivileged process cannot lower a nice value it raised, so this
        // may fail quietly; the thread then stays polite, which is harmless.
        #[cfg(target_os = "linux")]
        // SAFETY: as above.
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, 0, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    #[tokio::test]
    async fn no_more_than_the_slots_run_at_once_and_late_callers_are_told_to_wait() {
        static POOL: Pool = Pool::new("test work", 2, Duration::from_millis(300));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let job = |running: Arc<AtomicUsize>, most: Arc<AtomicUsize>| {
            POOL.run(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(150));
                running.fetch_sub(1, Ordering::SeqCst);
            })
        };

        let results = tokio::join!(
            job(running.clone(), most.clone()),
            job(running.clone(), most.clone()),
            job(running.clone(), most.clone()),
            job(running.clone(), most.clone()),
        );

        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert!(results.0.is_ok() && results.1.is_ok() && results.2.is_ok() && results.3.is_ok());
        // Two long jobs hold both slots past a third caller's wait.
        let slow = |ms| POOL.run(move || std::thread::sleep(Duration::from_millis(ms)));
        let (a, b, c) = tokio::join!(slow(700), slow(700), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            slow(1).await
        });
        assert!(a.is_ok() && b.is_ok());
        assert!(matches!(c, Err(WorkError::Busy)));
    }
}
