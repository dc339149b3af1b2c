//! The encoder's posteriors q(z | x) of given molecules, as a source of z:
//! sampling near known molecules (analogues of a hit), and the test of
//! whether the prior or the decoder decides the sample distribution (z
//! drawn from the posteriors of training molecules, the aggregate
//! posterior the prior stands in for).

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
        Posteriors { mean, std, latent }
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
    /// molecule drawn at random: rows are independent, so a row that must
    /// be drawn again is drawn like any other.
    pub fn sample(&self, size: usize, rng: &mut SeededRng) -> Vec<f32> {
        // A stream of its own: sampling's batch generators are one SplitMix64
        // stream at offsets one draw apart (`sample::batch_rng`, kept for now
        // so that every seed keeps its molecules), and picks taken from them
        // directly repeat from batch to batch.
        let mut rng = SeededRng::derived(rng.next_u64(), 0);
        let picks: Vec<usize> = (0..size).map(|_| rng.below(self.len())).collect();
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
}
