use std::time::Duration;

use rand::Rng;

/// Exponential backoff with full jitter: a random wait up to 1 s, 2 s, 4 s …
/// capped at `cap`, and never shorter than the provider's `Retry-After`.
pub fn retry_delay(attempts: u32, cap: Duration, retry_after: Option<Duration>) -> Duration {
    let exponent = attempts.saturating_sub(1).min(20);
    let ceiling = Duration::from_secs(1u64 << exponent).min(cap);
    let jittered =
        Duration::from_millis(rand::thread_rng().gen_range(0..=ceiling.as_millis() as u64));
    jittered.max(retry_after.unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_stays_under_the_cap() {
        let cap = Duration::from_secs(30);
        for attempts in 1..=40 {
            let ceiling = Duration::from_secs(1u64 << (attempts - 1).min(20)).min(cap);
            for _ in 0..50 {
                assert!(retry_delay(attempts, cap, None) <= ceiling);
            }
        }
    }

    #[test]
    fn honours_retry_after_even_past_the_cap() {
        let delay = retry_delay(1, Duration::from_secs(30), Some(Duration::from_secs(45)));
        assert_eq!(delay, Duration::from_secs(45));
    }
}
