//! Fitting the prior's critic (see `model_core::model::critic`): a small
//! network trained to tell latents of the exemplar prior (the training
//! split's posteriors, widened) from the mixture prior's, whose logit then
//! resamples the mixture's draws.

use std::time::Instant;

use anyhow::{Result, bail};
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::{silu, softplus};
use model_core::data::{Qm9Dataset, Split};
use model_core::model::critic::{Dense, PriorCritic};
use model_core::model::posterior::Posteriors;
use model_core::model::tensor_read::floats;
use model_core::model::{GraphVae, ModelConfig};
use model_core::rng::SeededRng;
use serde::{Deserialize, Serialize};

use crate::schedule::CosineRates;
use crate::step::optimizer_for;
use crate::train::{draw_initial_values, epoch_order};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CriticFitConfig {
    /// Width of the critic's two hidden layers.
    pub hidden: usize,
    /// Latents drawn from each side (a tenth more are held out).
    pub draws: usize,
    pub epochs: usize,
    pub batch: usize,
    /// Adam's rate, falling along a cosine to a hundredth of it.
    pub learning_rate: f64,
    /// The exemplar prior's spread the critic learns to prefer.
    pub spread: f32,
    /// Mixture draws each sampled latent is picked from.
    pub candidates: usize,
    pub seed: u64,
}

impl Default for CriticFitConfig {
    fn default() -> Self {
        CriticFitConfig {
            hidden: 128,
            draws: 1_000_000,
            epochs: 15,
            batch: 2048,
            learning_rate: 2e-3,
            spread: crate::exemplars::DEFAULT_SPREAD,
            candidates: 8,
            seed: 0,
        }
    }
}

/// How well the fitted critic tells the two apart on held-out draws.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct CriticFitSummary {
    /// Share of held-out latents on the right side of logit 0 (0.5: none told apart).
    pub held_out_accuracy: f64,
    /// Mean binary cross-entropy (ln 2 = 0.693: none told apart).
    pub held_out_loss: f64,
    pub seconds: f64,
}

#[derive(Module, Debug)]
struct CriticNet {
    first: Linear,
    second: Linear,
    logit: Linear,
}

impl CriticNet {
    fn new(latent: usize, hidden: usize, device: &Device) -> CriticNet {
        CriticNet {
            first: LinearConfig::new(latent, hidden).init(device),
            second: LinearConfig::new(hidden, hidden).init(device),
            logit: LinearConfig::new(hidden, 1).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.logit
            .forward(silu(self.second.forward(silu(self.first.forward(x)))))
    }

    /// The trained numbers as the plain critic the samplers run.
    fn to_critic(&self, shift: Vec<f32>, scale: Vec<f32>, candidates: usize) -> PriorCritic {
        let dense = |layer: &Linear| {
            // burn keeps a weight as [inputs, outputs]; the critic reads rows of outputs.
            let [inputs, outputs] = layer.weight.val().dims();
            let weights = floats(layer.weight.val().transpose());
            let biases = layer
                .bias
                .as_ref()
                .map_or(vec![0.0; outputs], |b| floats(b.val()));
            Dense {
                inputs,
                outputs,
                weights,
                biases,
            }
        };
        PriorCritic {
            candidates,
            shift,
            scale,
            layers: vec![dense(&self.first), dense(&self.second), dense(&self.logit)],
        }
    }
}

/// Fits the critic of `config`'s prior: latents of the training split's
/// posteriors widened by `fit.spread` against the prior's own draws.
pub fn fit_critic(
    model: &GraphVae,
    config: &ModelConfig,
    dataset: &Qm9Dataset,
    fit: &CriticFitConfig,
    device: &Device,
) -> Result<(PriorCritic, CriticFitSummary)> {
    if config.prior.is_standard_normal() {
        bail!("these weights sample z from N(0, I); fit their prior first (`trainer fit-prior`)");
    }
    let molecules: Vec<_> = dataset
        .split_records(Split::Train)
        .map(|r| r.molecule.clone())
        .collect();
    eprintln!(
        "encoding the {} training molecules' posteriors…",
        molecules.len()
    );
    let posteriors = Posteriors::encode(model, &molecules, device).widened(fit.spread);
    let n = fit.draws + fit.draws / 10;
    let mut rng = SeededRng::new(fit.seed);
    let exemplar = posteriors.sample(fit.seed, 0, n, &mut rng);
    let mixture = config.prior.sample(n, config.latent, &mut rng);
    Ok(train_critic(
        &exemplar,
        &mixture,
        config.latent,
        fit,
        device,
    ))
}

/// Trains a critic to give `preferred` latents (`[n, latent]`) a higher
/// logit than `other` ones, on all but the last tenth of each, which it is
/// then judged on.
pub fn train_critic(
    preferred: &[f32],
    other: &[f32],
    latent: usize,
    fit: &CriticFitConfig,
    device: &Device,
) -> (PriorCritic, CriticFitSummary) {
    let started = Instant::now();
    let rows = |z: &[f32]| z.len() / latent;
    let held = |z: &[f32]| rows(z) / 11;
    let (train_preferred, held_preferred) =
        preferred.split_at((rows(preferred) - held(preferred)) * latent);
    let (train_other, held_other) = other.split_at((rows(other) - held(other)) * latent);
    let (shift, scale) = standardisation(train_other, latent);

    // Rows of both sides with their labels, standardised once.
    let mut inputs = Vec::with_capacity(train_preferred.len() + train_other.len());
    for z in [train_preferred, train_other] {
        inputs.extend(standardised(z, &shift, &scale));
    }
    let positives = rows(train_preferred);
    let total = rows(&inputs);

    let train_device = device.clone().autodiff();
    train_device.seed(fit.seed);
    let mut net = CriticNet::new(latent, fit.hidden, &train_device);
    draw_initial_values(&net);
    let mut optimizer = optimizer_for(5.0);
    let batches = total.div_ceil(fit.batch);
    let mut rates = CosineRates::new(
        fit.learning_rate,
        fit.learning_rate / 100.0,
        fit.epochs * batches,
        0,
    )
    .expect("a critic's rates are valid");
    let bar = indicatif::ProgressBar::new((fit.epochs * batches) as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "critic {bar:30} {pos}/{len} batches, loss {msg} eta {eta}",
        )
        .expect("valid template"),
    );
    for epoch in 0..fit.epochs {
        let order = epoch_order(fit.seed, epoch, total);
        for chunk in order.chunks(fit.batch) {
            let mut x = Vec::with_capacity(chunk.len() * latent);
            let mut y = Vec::with_capacity(chunk.len());
            for &row in chunk {
                x.extend_from_slice(&inputs[row * latent..(row + 1) * latent]);
                y.push(if row < positives { 1.0f32 } else { 0.0 });
            }
            let x =
                Tensor::<2>::from_data(TensorData::new(x, [chunk.len(), latent]), &train_device);
            let y = Tensor::<2>::from_data(TensorData::new(y, [chunk.len(), 1]), &train_device);
            let logits = net.forward(x);
            // Binary cross-entropy on logits: softplus(l) − y·l.
            let loss = (softplus(logits.clone(), 1.0) - y * logits).mean();
            bar.set_message(format!("{:.4}", loss.clone().into_scalar::<f32>()));
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optimizer.step(rates.next_rate(), net, grads);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let critic = net.valid().to_critic(shift, scale, fit.candidates);
    let summary = judge(&critic, held_preferred, held_other, started);
    (critic, summary)
}

/// Per-dimension mean and standard deviation of `z`'s rows.
fn standardisation(z: &[f32], latent: usize) -> (Vec<f32>, Vec<f32>) {
    let n = (z.len() / latent).max(1) as f64;
    let mut mean = vec![0.0f64; latent];
    let mut square = vec![0.0f64; latent];
    for row in z.chunks_exact(latent) {
        for (d, &v) in row.iter().enumerate() {
            mean[d] += v as f64 / n;
            square[d] += (v as f64).powi(2) / n;
        }
    }
    let scale = mean
        .iter()
        .zip(&square)
        .map(|(m, s)| ((s - m * m).max(0.0).sqrt() as f32).max(1e-6))
        .collect();
    (mean.into_iter().map(|m| m as f32).collect(), scale)
}

fn standardised<'a>(
    z: &'a [f32],
    shift: &'a [f32],
    scale: &'a [f32],
) -> impl Iterator<Item = f32> + 'a {
    z.chunks_exact(shift.len()).flat_map(move |row| {
        row.iter()
            .zip(shift.iter().zip(scale))
            .map(|(v, (m, s))| (v - m) / s)
    })
}

fn judge(
    critic: &PriorCritic,
    preferred: &[f32],
    other: &[f32],
    started: Instant,
) -> CriticFitSummary {
    let (mut right, mut loss, mut count) = (0usize, 0.0f64, 0usize);
    for (z, label) in [(preferred, 1.0), (other, 0.0)] {
        for l in critic.log_ratios(z) {
            let l = l as f64;
            right += usize::from((l > 0.0) == (label > 0.5));
            // softplus(l) − y·l, written to stay finite for large |l|.
            loss += l.max(0.0) + (-l.abs()).exp().ln_1p() - label * l;
            count += 1;
        }
    }
    CriticFitSummary {
        held_out_accuracy: right as f64 / count.max(1) as f64,
        held_out_loss: loss / count.max(1) as f64,
        seconds: started.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model_core::model::prior::standard_normal_latents;

    fn shifted(n: usize, latent: usize, by: f32, seed: u64) -> Vec<f32> {
        let mut z = standard_normal_latents(n, latent, &mut SeededRng::new(seed));
        z.iter_mut().step_by(latent).for_each(|v| *v += by);
        z
    }

    fn small() -> CriticFitConfig {
        CriticFitConfig {
            hidden: 16,
            epochs: 3,
            batch: 256,
            learning_rate: 1e-2,
            ..CriticFitConfig::default()
        }
    }

    #[test]
    fn tells_apart_what_differs_and_not_what_does_not() {
        let device = Device::flex();
        // N(2, 1) against N(0, 1) in the first dimension: the best classifier
        // is right 84% of the time (Φ(1)).
        let (critic, summary) = train_critic(
            &shifted(4400, 4, 2.0, 1),
            &shifted(4400, 4, 0.0, 2),
            4,
            &small(),
            &device,
        );
        assert!(summary.held_out_accuracy > 0.78, "{summary:?}");
        critic.validate(4).unwrap();
        // The logit estimates log q/p = 2 z₀ − 2: rising in z₀.
        let l = critic.log_ratios(&[0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0]);
        assert!(l[1] - l[0] > 2.0, "{l:?}");
        let (_, same) = train_critic(
            &shifted(4400, 4, 0.0, 3),
            &shifted(4400, 4, 0.0, 4),
            4,
            &small(),
            &device,
        );
        assert!(same.held_out_accuracy < 0.56, "{same:?}");
    }

    #[test]
    fn the_same_seed_fits_the_same_critic() {
        let device = Device::flex();
        let fit = |seed| {
            let config = CriticFitConfig { seed, ..small() };
            train_critic(
                &shifted(1100, 3, 1.0, 1),
                &shifted(1100, 3, 0.0, 2),
                3,
                &config,
                &device,
            )
            .0
        };
        assert_eq!(fit(7), fit(7));
        assert_ne!(fit(7), fit(8));
    }
}
