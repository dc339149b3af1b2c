//! The learning-rate schedule the training loops share: burn's cosine
//! annealing over every batch of a run, resumable at any step.

use anyhow::{Result, anyhow};
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;

/// The rates of one run: `first` falling along a cosine to `last` over
/// `total_steps` batches, advanced past the `steps_done` batches a resumed
/// run has behind it (the schedule depends only on the step count).
pub struct CosineRates {
    scheduler: ModuleLrScheduler,
}

impl CosineRates {
    pub fn new(
        first: f64,
        last: f64,
        total_steps: usize,
        steps_done: usize,
    ) -> Result<CosineRates> {
        let mut scheduler = CosineAnnealingLrSchedulerConfig::new(first, total_steps.max(1))
            .with_min_lr(last)
            .init()
            .map_err(|e| anyhow!("the learning-rate schedule ({first} to {last}): {e}"))?;
        for _ in 0..steps_done {
            scheduler.step();
        }
        Ok(CosineRates { scheduler })
    }

    /// The rate for the next batch.
    pub fn next_rate(&mut self) -> f64 {
        self.scheduler.step().base()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(schedule: &mut CosineRates, n: usize) -> Vec<f64> {
        (0..n).map(|_| schedule.next_rate()).collect()
    }

    #[test]
    fn the_schedule_runs_from_the_first_rate_towards_the_last_and_resumes_where_it_stopped() {
        let (first, last) = (1e-3, 1e-5);
        let whole = rates(&mut CosineRates::new(first, last, 40, 0).unwrap(), 40);
        assert_eq!(whole[0], first);
        assert!(
            (whole[20] - (first + last) / 2.0).abs() < 1e-12,
            "{}",
            whole[20]
        );
        assert!(whole.windows(2).all(|w| w[1] < w[0]));
        assert!(whole[39] < last * 2.0);
        // Resumed after half the steps: the same rates as the run that went on.
        let resumed = rates(&mut CosineRates::new(first, last, 40, 20).unwrap(), 20);
        assert_eq!(resumed, whole[20..]);
        let Err(err) = CosineRates::new(first, 1.0, 40, 0) else {
            panic!("a final rate above the first was accepted");
        };
        assert!(err.to_string().contains("learning-rate schedule"), "{err}");
    }
}
