//! Fitting the learned prior (see `model_core::model::prior`) to trained
//! weights: the training split's mean latents and standardised gaps, a
//! Gaussian mixture over both.

use anyhow::{Context, Result};
use burn::prelude::Device;
use model_core::chem::Molecule;
use model_core::data::{Qm9Dataset, Split};
use model_core::model::mixture::FitSummary;
use model_core::model::prior::LatentPrior;
use model_core::model::sample::encode_means;
use model_core::model::{GraphVae, ModelConfig};
use model_core::rng::SeededRng;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriorFitConfig {
    /// Mixture components (0 keeps N(0, I)).
    pub components: usize,
    /// Training molecules the mixture is fitted to (a seeded subsample).
    pub points: usize,
    /// EM rounds at most.
    pub iterations: usize,
    pub seed: u64,
}

impl Default for PriorFitConfig {
    fn default() -> Self {
        PriorFitConfig {
            components: 256,
            points: 60_000,
            iterations: 60,
            seed: 0,
        }
    }
}

/// Fits the mixture prior of `model` to the first `max_train` molecules of
/// `dataset`'s training split (0 = all), the ones the model trained on.
pub fn fit_prior(
    model: &GraphVae,
    config: &ModelConfig,
    dataset: &Qm9Dataset,
    max_train: usize,
    fit: &PriorFitConfig,
    device: &Device,
) -> Result<(LatentPrior, FitSummary)> {
    let limit = if max_train == 0 {
        usize::MAX
    } else {
        max_train
    };
    let mut records: Vec<_> = dataset.split_records(Split::Train).take(limit).collect();
    SeededRng::new(fit.seed).shuffle(&mut records);
    records.truncate(fit.points);
    // Each EM round costs about points × components × (latent + 1)², spread over every core.
    eprintln!(
        "fitting the latent prior: {} Gaussians to {} training molecules' latents and gaps, at most {} EM rounds (256 on 60,000 take about 4 minutes on 2 cores)",
        fit.components,
        records.len(),
        fit.iterations
    );
    let mut latents = Vec::with_capacity(records.len() * config.latent);
    for chunk in records.chunks(2048) {
        let molecules: Vec<&Molecule> = chunk.iter().map(|r| &r.molecule).collect();
        latents.extend(encode_means(model, &molecules, device));
    }
    let gaps: Vec<f32> = records
        .iter()
        .map(|r| ((r.gap_ev() - config.gap_mean_ev) / config.gap_std_ev) as f32)
        .collect();
    LatentPrior::fit(&latents, &gaps, fit.components, fit.iterations, fit.seed)
        .context("fitting the latent prior")
}
