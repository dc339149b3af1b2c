//! The per-client limit on new job rows: a token bucket per client address,
//! refilled at the configured rate per minute, holding at most a minute's worth.
//! Cached answers create rows too, so a client replaying cached molecules in a
//! loop is limited like one queueing new ones.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::lock;

/// Buckets kept before idle (full) ones are dropped.
const MAX_TRACKED_CLIENTS: usize = 10_000;

pub struct NewJobLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Why a client may not create `wanted` jobs now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Refusal {
    /// Enough tokens come back after this long.
    Wait(Duration),
    /// More than a whole minute's allowance in one request.
    NeverInOneRequest { per_minute: usize },
}

impl NewJobLimiter {
    pub fn new(per_minute: usize) -> NewJobLimiter {
        NewJobLimiter {
            per_minute: per_minute as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn per_minute(&self) -> usize {
        self.per_minute as usize
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let rate = self.per_minute / 60.0;
        (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(self.per_minute)
    }

    /// Takes `wanted` tokens for `client`, all or none.
    pub fn take(&self, client: IpAddr, wanted: usize, now: Instant) -> Result<(), Refusal> {
        let wanted_f = wanted as f64;
        if wanted_f > self.per_minute {
            return Err(Refusal::NeverInOneRequest {
                per_minute: self.per_minute(),
            });
        }
        let mut buckets = lock(&self.buckets);
        if buckets.len() >= MAX_TRACKED_CLIENTS {
            let full = self.per_minute;
            buckets.retain(|_, b| self.refilled(*b, now) < full);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: self.per_minute,
            at: now,
        });
        let tokens = self.refilled(*bucket, now);
        if tokens < wanted_f {
            let rate = self.per_minute / 60.0;
            return Err(Refusal::Wait(Duration::from_secs_f64(
                (wanted_f - tokens) / rate,
            )));
        }
        *bucket = Bucket {
            tokens: tokens - wanted_f,
            at: now,
        };
        Ok(())
    }

    /// Returns tokens taken for rows that were not created (joined jobs).
    pub fn give_back(&self, client: IpAddr, unused: usize) {
        let mut buckets = lock(&self.buckets);
        if let Some(bucket) = buckets.get_mut(&client) {
            bucket.tokens = (bucket.tokens + unused as f64).min(self.per_minute);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

    #[test]
    fn a_minute_of_allowance_then_a_wait_per_client() {
        let limiter = NewJobLimiter::new(60);
        let t0 = Instant::now();
        assert_eq!(limiter.take(A, 50, t0), Ok(()));
        match limiter.take(A, 20, t0) {
            Err(Refusal::Wait(d)) => assert!((d.as_secs_f64() - 10.0).abs() < 1e-6, "{d:?}"),
            other => panic!("{other:?}"),
        }
        // Another client has its own bucket.
        assert_eq!(limiter.take(B, 60, t0), Ok(()));
        // One token a second comes back.
        assert_eq!(limiter.take(A, 20, t0 + Duration::from_secs(10)), Ok(()));
        assert_eq!(
            limiter.take(A, 61, t0),
            Err(Refusal::NeverInOneRequest { per_minute: 60 })
        );
    }

    #[test]
    fn unused_tokens_come_back() {
        let limiter = NewJobLimiter::new(10);
        let t0 = Instant::now();
        limiter.take(A, 10, t0).unwrap();
        limiter.give_back(A, 4);
        assert_eq!(limiter.take(A, 4, t0), Ok(()));
        assert!(limiter.take(A, 1, t0).is_err());
    }
}
