//! The encoder's posteriors q(z | x) of given molecules, as a source of z:
//! sampling near known molecules (analogues of a hit), and, over the
//! training split, the aggregate posterior that the fitted mixture prior
//! stands in for (the exemplar prior: Norouzi et al., "Exemplar VAE",
//! NeurIPS 2020). Weighted picks condition it, e.g. on a gap.
//!
//! Unweighted picks are dealt, not drawn: row `i` of a run takes the `i`-th
//! molecule of a shuffle of them seeded by the run's seed (a fresh shuffle
//! past the last), so a run repeats no molecule before it has picked each
//! once. Each row's pick is still uniform, so every sample has the same
//! distribution as with independent picks; only the repeats go (10,000
//! independent picks of QM9's 104,664 training molecules repeat about 460).
//! A row drawn again keeps its pick ([`Posteriors::sample_rows`]).
//!
//! Encoding molecules into posteriors is the model's part
//! ([`super::sample`]): this module knows numbers only, so that the weights'
//! config can hold posteriors ([`super::carried_exemplars`]).

use super::prior::standard_normal_latents;
use crate::rng::SeededRng;

/// Diagonal Gaussian posteriors, one per molecule, `latent` wide.
#[derive(Clone, Debug, PartialEq)]
pub struct Posteriors {
    mean: Vec<f32>,
    std: Vec<f32>,
    latent: usize,
    /// Cumulative pick weights, one per molecule, ending at 1; `None`
    /// picks every molecule alike.
    cumulative: Option<Vec<f64>>,
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum PickWeightsError {
    #[error("{found} pick weights for {molecules} molecules")]
    Count { found: usize, molecules: usize },
    #[error("pick weights must be finite, at least 0 and not all 0")]
    Invalid,
}

impl Posteriors {
    /// Posteriors from their means and spreads, `[n, latent]` row-major
    /// each; `None` unless both hold the same whole number of rows (at
    /// least one) and every spread is finite and at least 0.
    pub fn from_parts(mean: Vec<f32>, std: Vec<f32>, latent: usize) -> Option<Posteriors> {
        let rows_fit = latent > 0 && !mean.is_empty() && mean.len().is_multiple_of(latent);
        let valid = rows_fit
            && mean.len() == std.len()
            && mean.iter().all(|m| m.is_finite())
            && std.iter().all(|s| s.is_finite() && *s >= 0.0);
        valid.then_some(Posteriors {
            mean,
            std,
            latent,
            cumulative: None,
        })
    }

    /// The means, `[len, latent]` row-major.
    pub fn means(&self) -> &[f32] {
        &self.mean
    }

    /// The spreads, `[len, latent]` row-major.
    pub fn stds(&self) -> &[f32] {
        &self.std
    }

    /// The same posteriors, molecule `i` picked with probability
    /// proportional to `weights[i]`.
    pub fn weighted(mut self, weights: &[f64]) -> Result<Posteriors, PickWeightsError> {
        if weights.len() != self.len() {
            return Err(PickWeightsError::Count {
                found: weights.len(),
                molecules: self.len(),
            });
        }
        let total: f64 = weights.iter().sum();
        if !(total.is_finite() && total > 0.0) || weights.iter().any(|w| *w < 0.0) {
            return Err(PickWeightsError::Invalid);
        }
        let mut sum = 0.0;
        self.cumulative = Some(
            weights
                .iter()
                .map(|w| {
                    sum += w;
                    sum / total
                })
                .collect(),
        );
        Ok(self)
    }

    /// The same posteriors with their spreads multiplied by `factor`:
    /// the posteriors are narrow (z carries the molecule), so drawing from
    /// them mostly returns the molecule itself; wider draws reach its
    /// neighbours.
    pub fn widened(mut self, factor: f32) -> Posteriors {
        self.std.iter_mut().for_each(|s| *s *= factor);
        self
    }

    /// How many molecules.
    pub fn len(&self) -> usize {
        self.mean.len() / self.latent
    }

    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }

    pub fn latent(&self) -> usize {
        self.latent
    }

    /// Latents `[size, latent]` for rows `first..first + size` of a run
    /// seeded by `seed`, each from the posterior of a molecule dealt from
    /// the run's shuffle or, with pick weights, drawn by them from `rng`.
    pub fn sample(&self, seed: u64, first: usize, size: usize, rng: &mut SeededRng) -> Vec<f32> {
        let rows: Vec<usize> = (first..first + size).collect();
        self.sample_rows(seed, &rows, rng)
    }

    /// [`Self::sample`] for any rows of the run, in the order given: a row
    /// drawn again (for breaking a rule, say) keeps its dealt molecule and
    /// takes new noise from `rng`, so the run still repeats none early.
    /// Weighted picks are drawn afresh.
    pub fn sample_rows(&self, seed: u64, rows: &[usize], rng: &mut SeededRng) -> Vec<f32> {
        // A stream of its own: sampling's batch generators are one SplitMix64
        // stream at offsets one draw apart (`sample::batch_rng`, kept for now
        // so that every seed keeps its molecules), and picks taken from them
        // directly repeat from batch to batch.
        let mut rng = SeededRng::derived(rng.next_u64(), 0);
        let picks: Vec<usize> = match &self.cumulative {
            None => self.dealt(seed, rows),
            Some(cumulative) => rows
                .iter()
                .map(|_| {
                    let u = rng.unit_f64();
                    cumulative.partition_point(|&c| c <= u).min(self.len() - 1)
                })
                .collect(),
        };
        let noise = standard_normal_latents(rows.len(), self.latent, &mut rng);
        let mut z = Vec::with_capacity(rows.len() * self.latent);
        for (row, &pick) in picks.iter().enumerate() {
            let at = pick * self.latent;
            for d in 0..self.latent {
                z.push(self.mean[at + d] + self.std[at + d] * noise[row * self.latent + d]);
            }
        }
        z
    }

    /// The molecules at positions `rows` of the run's deal: shuffle `k` of
    /// the molecules, seeded by `seed` and `k`, holds positions
    /// `k * len..(k + 1) * len`.
    fn dealt(&self, seed: u64, rows: &[usize]) -> Vec<usize> {
        let n = self.len();
        // Rows come in runs, so one shuffle serves many in a row.
        let mut shuffle: Option<(usize, Vec<usize>)> = None;
        rows.iter()
            .map(|&row| {
                let k = row / n;
                if shuffle.as_ref().is_none_or(|(at, _)| *at != k) {
                    shuffle = Some((k, shuffled(n, seed, k)));
                }
                let (_, order) = shuffle.as_ref().expect("just made");
                order[row - k * n]
            })
            .collect()
    }
}

/// Deals use streams of their own, apart from the batches' generators.
const DEAL_KEY: u64 = 0xDEA1_5EED_0F0E_7A11;

/// `0..n` shuffled (Fisher–Yates) by a generator derived from `seed` and `k`.
fn shuffled(n: usize, seed: u64, k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    SeededRng::derived(seed ^ DEAL_KEY, k as u64).shuffle(&mut order);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three one-dimensional posteriors at 0, 10 and 20 with spread 0.1.
    fn three() -> Posteriors {
        Posteriors {
            mean: vec![0.0, 10.0, 20.0],
            std: vec![0.1; 3],
            latent: 1,
            cumulative: None,
        }
    }

    /// Which molecule each row of a latent from [`three`] came from.
    fn molecules_of(z: &[f32]) -> Vec<usize> {
        z.iter().map(|z| (z / 10.0).round() as usize).collect()
    }

    fn picked(posteriors: &Posteriors, n: usize) -> [usize; 3] {
        let mut counts = [0; 3];
        for m in molecules_of(&posteriors.sample(0, 0, n, &mut SeededRng::new(5))) {
            counts[m] += 1;
        }
        counts
    }

    #[test]
    fn unweighted_picks_deal_every_molecule_before_repeating_one() {
        let posteriors = three();
        let rows = |seed, first, size| {
            molecules_of(&posteriors.sample(seed, first, size, &mut SeededRng::new(first as u64)))
        };
        // Rows 0..9 of a run, cut into batches of 4 (or 2): each group of
        // three consecutive rows holds each molecule once.
        for cut in [4, 2] {
            let run: Vec<usize> = (0..9)
                .step_by(cut)
                .flat_map(|first| rows(7, first, cut.min(9 - first)))
                .collect();
            for deal in run.chunks(3) {
                let mut deal = deal.to_vec();
                deal.sort();
                assert_eq!(deal, [0, 1, 2], "{run:?}");
            }
        }
        // The deal follows the seed: the same seed, the same order.
        assert_eq!(rows(7, 0, 9), rows(7, 0, 9));
        let orders: std::collections::HashSet<Vec<usize>> =
            (0..20).map(|seed| rows(seed, 0, 3)).collect();
        assert_eq!(orders.len(), 6, "every order of three appears");
    }

    #[test]
    fn rows_drawn_again_are_dealt_as_in_the_run() {
        let posteriors = three();
        let run = molecules_of(&posteriors.sample(7, 0, 9, &mut SeededRng::new(1)));
        let rows = [5, 1, 8, 2];
        let again = posteriors.sample_rows(7, &rows, &mut SeededRng::new(2));
        assert_eq!(molecules_of(&again), rows.map(|r| run[r]));
        assert_ne!(
            again,
            posteriors.sample_rows(7, &rows, &mut SeededRng::new(3)),
            "the noise follows the generator"
        );
    }

    #[test]
    fn picks_follow_the_weights() {
        assert_eq!(picked(&three(), 3000), [1000; 3]);
        let only_last = three().weighted(&[0.0, 0.0, 2.0]).unwrap();
        assert_eq!(picked(&only_last, 500), [0, 0, 500]);
        let skewed = picked(&three().weighted(&[1.0, 0.0, 3.0]).unwrap(), 4000);
        assert_eq!(skewed[1], 0);
        assert!((2800..3200).contains(&skewed[2]), "{skewed:?}");
    }

    #[test]
    fn bad_pick_weights_are_errors() {
        assert_eq!(
            three().weighted(&[1.0, 1.0]),
            Err(PickWeightsError::Count {
                found: 2,
                molecules: 3
            })
        );
        for bad in [[0.0, 0.0, 0.0], [1.0, -1.0, 1.0], [1.0, f64::NAN, 1.0]] {
            assert_eq!(three().weighted(&bad), Err(PickWeightsError::Invalid));
        }
    }
}
