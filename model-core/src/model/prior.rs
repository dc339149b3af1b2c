//! The distribution prior samples draw z from.
//!
//! A model trained with a small KL weight keeps the molecule in z, and its
//! latents then fill only part of N(0, I): z drawn from N(0, I) would often
//! land where no training molecule's latent is. So after training, a
//! Gaussian mixture is fitted to the training split's mean latents, joined
//! with each molecule's standardised HOMO-LUMO gap as one more coordinate.
//! Unconditional sampling draws from it and drops the gap; gap-conditional
//! sampling conditions it on the target gap first ([`GaussianMixture::condition_on_last`]).
//! Where the weights carry a critic, unconditional draws are resampled by
//! it ([`super::critic`]); conditional ones are not. Where they carry
//! exemplars ([`super::carried_exemplars`]), unconditional sampling draws
//! from those instead, and the mixture serves gap-conditioned sampling.

use serde::{Deserialize, Serialize};

use super::mixture::{FitSummary, GaussianMixture, MixtureError, pack_as_stored};
use crate::rng::SeededRng;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatentPrior {
    /// N(0, I), the VAE's training prior.
    #[default]
    StandardNormal,
    /// A mixture over `[z, standardised gap]` fitted to the training split.
    Mixture(GaussianMixture),
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum PriorError {
    #[error(
        "these weights sample z from N(0, I) and carry no joint model of z and the gap, so they cannot condition on a gap; use weights trained by this version's `trainer train`"
    )]
    NoJointModel,
    #[error("the prior's mixture has {found} dimensions; a latent of {latent} needs {}", latent + 1)]
    Dimensions { found: usize, latent: usize },
    #[error("the prior's mixture is invalid: {0}")]
    Mixture(#[from] MixtureError),
}

/// A standard-normal latent matrix `[n, latent]` from `rng` (Box–Muller).
pub fn standard_normal_latents(n: usize, latent: usize, rng: &mut SeededRng) -> Vec<f32> {
    (0..n * latent)
        .map(|_| super::mixture::standard_normal(rng) as f32)
        .collect()
}

/// Drops the last coordinate of each `dims`-wide row.
fn latents_of(joint: Vec<f64>, dims: usize) -> Vec<f32> {
    joint
        .chunks(dims)
        .flat_map(|row| row[..dims - 1].iter().map(|&v| v as f32))
        .collect()
}

impl LatentPrior {
    pub fn is_standard_normal(&self) -> bool {
        matches!(self, LatentPrior::StandardNormal)
    }

    /// Fits the mixture prior to mean latents `latents` (`[n, latent]`) and
    /// their standardised gaps.
    pub fn fit(
        latents: &[f32],
        standardised_gaps: &[f32],
        components: usize,
        iterations: usize,
        seed: u64,
    ) -> Result<(LatentPrior, FitSummary), PriorError> {
        let n = standardised_gaps.len();
        let latent = latents.len() / n.max(1);
        let mut joint = Vec::with_capacity(n * (latent + 1));
        for (row, &gap) in latents.chunks(latent.max(1)).zip(standardised_gaps) {
            joint.extend(row.iter().map(|&v| v as f64));
            joint.push(gap as f64);
        }
        let (mixture, summary) =
            GaussianMixture::fit(&joint, latent + 1, components, iterations, seed)?;
        Ok((LatentPrior::Mixture(pack_as_stored(mixture)), summary))
    }

    /// Checks the prior fits a latent of `latent` dimensions.
    pub fn validate(&self, latent: usize) -> Result<(), PriorError> {
        match self {
            LatentPrior::StandardNormal => Ok(()),
            LatentPrior::Mixture(m) if m.dims != latent + 1 => Err(PriorError::Dimensions {
                found: m.dims,
                latent,
            }),
            LatentPrior::Mixture(m) => Ok(m.validate()?),
        }
    }

    /// `n` latents `[n, latent]` drawn from `rng`.
    pub fn sample(&self, n: usize, latent: usize, rng: &mut SeededRng) -> Vec<f32> {
        match self {
            LatentPrior::StandardNormal => standard_normal_latents(n, latent, rng),
            LatentPrior::Mixture(m) => latents_of(m.sample(n, rng), m.dims),
        }
    }

    /// `n` latents drawn from p(z | gap = `standardised_gap`).
    pub fn sample_given_gap(
        &self,
        n: usize,
        standardised_gap: f64,
        rng: &mut SeededRng,
    ) -> Result<Vec<f32>, PriorError> {
        match self {
            LatentPrior::StandardNormal => Err(PriorError::NoJointModel),
            LatentPrior::Mixture(m) => Ok(m
                .condition_on_last(standardised_gap)
                .sample(n, rng)
                .into_iter()
                .map(|v| v as f32)
                .collect()),
        }
    }
}
