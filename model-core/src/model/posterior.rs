//! The encoder's posteriors q(z | x) of given molecules, as a source of z:
//! sampling near known molecules (analogues of a hit), and, over the
//! training split, the aggregate posterior that the fitted mixture prior
//! stands in for (the exemplar prior: Norouzi et al., "Exemplar VAE",
//! NeurIPS 2020). Weighted picks condition it, e.g. on a gap.

use burn::prelude::*;

use super::batch::GraphBatch;
use super::decoding::floats;
use super::prior::standard_normal_latents;
use super::vae::GraphVae;
use crate::chem::Molecule;
use crate::rng::SeededRng;

/// Molecules encoded at once.
const ENCODE_BATCH: usize = 1024;

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
    /// The encoder's posteriors of `molecules` (at least one).
    pub fn encode(model: &GraphVae, molecules: &[Molecule], device: &Device) -> Posteriors {
        assert!(!molecules.is_empty(), "posteriors of no molecules");
        let (mut mean, mut std) = (Vec::new(), Vec::new());
        for chunk in molecules.chunks(ENCODE_BATCH) {
            let refs: Vec<&Molecule> = chunk.iter().collect();
            let (mu, log_var) = model.encoder.forward(&GraphBatch::new(&refs, device));
            mean.extend(floats(mu));
            std.extend(floats((log_var * 0.5).exp()));
        }
        let latent = mean.len() / molecules.len();
        Posteriors {
            mean,
            std,
            latent,
            cumulative: None,
        }
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

    /// `size` latents `[size, latent]`, each from the posterior of a
    /// molecule drawn at random (by the pick weights, if any): rows are
    /// independent, so a row that must be drawn again is drawn like any other.
    pub fn sample(&self, size: usize, rng: &mut SeededRng) -> Vec<f32> {
        // A stream of its own: sampling's batch generators are one SplitMix64
        // stream at offsets one draw apart (`sample::batch_rng`, kept for now
        // so that every seed keeps its molecules), and picks taken from them
        // directly repeat from batch to batch.
        let mut rng = SeededRng::derived(rng.next_u64(), 0);
        let picks: Vec<usize> = (0..size).map(|_| self.pick(&mut rng)).collect();
        let noise = standard_normal_latents(size, self.latent, &mut rng);
        let mut z = Vec::with_capacity(size * self.latent);
        for (row, &pick) in picks.iter().enumerate() {
            let at = pick * self.latent;
            for d in 0..self.latent {
                z.push(self.mean[at + d] + self.std[at + d] * noise[row * self.latent + d]);
            }
        }
        z
    }

    fn pick(&self, rng: &mut SeededRng) -> usize {
        match &self.cumulative {
            None => rng.below(self.len()),
            Some(cumulative) => {
                let u = rng.unit_f64();
                cumulative.partition_point(|&c| c <= u).min(self.len() - 1)
            }
        }
    }
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

    fn picked(posteriors: &Posteriors, n: usize) -> [usize; 3] {
        let mut counts = [0; 3];
        for z in posteriors.sample(n, &mut SeededRng::new(5)) {
            counts[(z / 10.0).round() as usize] += 1;
        }
        counts
    }

    #[test]
    fn picks_follow_the_weights() {
        let uniform = picked(&three(), 3000);
        assert!(
            uniform.iter().all(|&c| (900..1100).contains(&c)),
            "{uniform:?}"
        );
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
