//! The decoder as a policy. Latents come from the prior; the decoder samples
//! a construction trajectory; REINFORCE with a normalised baseline raises the
//! log-probability of trajectories whose molecules are rewarded. A KL penalty
//! to the trained decoder (per sample, log pi - log pi_0, folded into the
//! reward) keeps it near the chemistry it learned from QM9.
//!
//! Used by the search's decoder strategy (reward: predicted gap) and by
//! `trainer tune-novelty` (reward: not a training molecule).

use std::collections::HashMap;

use anyhow::{Context, Result};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::{Bytes, TensorData};
use model_core::chem::Molecule;
use model_core::model::batch::DecoderBatch;
use model_core::model::sample::{Choice, decode_latents, encode_means};
use model_core::model::target::{DecodingTarget, decoding_target, decoding_target_in_order};
use model_core::model::weights::{Precision, load_weights, save_weights};
use model_core::model::{GraphVae, ModelConfig};
use model_core::rng::SeededRng;
use serde::{Deserialize, Serialize};

pub struct DecoderPolicy {
    policy: GraphVae,
    prior: GraphVae,
    config: ModelConfig,
    settings: PolicySettings,
    optimizer: ModuleOptimizer,
    train_device: Device,
    device: Device,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicySettings {
    /// The KL penalty's weight, in reward units per nat.
    pub kl_weight: f64,
    pub learning_rate: f64,
}

impl Default for PolicySettings {
    /// The search's settings: rewards in eV.
    fn default() -> Self {
        PolicySettings {
            kl_weight: 0.1,
            learning_rate: 2e-4,
        }
    }
}

/// What a sample's reward is compared with.
pub enum Baseline<'a> {
    /// The batch mean.
    Batch,
    /// The mean over the samples of the same stratum (one label per sample).
    /// The expected gradient then moves no probability between strata, so
    /// the policy improves within each without reshaping their shares.
    PerStratum(&'a [usize]),
}

/// What one update saw.
#[derive(Clone, Copy, Debug)]
pub struct UpdateStats {
    /// Mean of log pi - log pi_0 over the batch: an estimate of KL(pi || pi_0) in nats.
    pub kl_nats: f64,
}

fn floats(t: Tensor<1>) -> Vec<f64> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 data")
        .into_iter()
        .map(f64::from)
        .collect()
}

impl DecoderPolicy {
    /// Starts from `policy_bytes` (a fine-tuned decoder) or the prior itself.
    pub fn new(
        prior: &GraphVae,
        config: &ModelConfig,
        policy_bytes: Option<&[u8]>,
        settings: PolicySettings,
        device: &Device,
    ) -> Result<DecoderPolicy> {
        let train_device = device.clone().autodiff();
        let prior_bytes = save_weights(prior, config, Precision::Full);
        let (policy, _) = load_weights(policy_bytes.unwrap_or(&prior_bytes), &train_device)?;
        Ok(DecoderPolicy {
            policy,
            prior: prior.clone(),
            config: config.clone(),
            settings,
            optimizer: AdamConfig::new().init(),
            train_device,
            device: device.clone(),
        })
    }

    pub fn weights(&self, precision: Precision) -> Vec<u8> {
        save_weights(&self.policy.valid(), &self.config, precision)
    }

    /// Adam's moments, for a checkpoint.
    pub fn optimizer_state(&self) -> Result<Vec<u8>> {
        Ok(self
            .optimizer
            .into_bytes()
            .context("optimizer state")?
            .to_vec())
    }

    pub fn restore_optimizer(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.optimizer = AdamConfig::new()
            .init()
            .from_bytes(Bytes::from_bytes_vec(bytes))
            .context("the checkpoint's optimizer state does not load")?;
        Ok(())
    }

    /// Samples `n` molecules from the current policy, z from the model's prior.
    pub fn sample(&self, n: usize, rng: &mut SeededRng) -> (Vec<f32>, Vec<Molecule>) {
        let z = self.config.prior.sample(n, self.config.latent, rng);
        let molecules = decode_latents(
            &self.policy.valid(),
            &z,
            self.config.latent,
            self.config.max_atoms,
            Choice::Sample { temperature: 1.0 },
            rng,
            &self.device,
        );
        (z, molecules)
    }

    /// Molecules the policy did not sample, as episodes to learn from (experience
    /// replay): each at its encoder mean under the trained VAE, built in the
    /// canonical order the decoder was trained on.
    pub fn replay(&self, molecules: &[&Molecule]) -> Result<Episodes> {
        Ok(Episodes {
            z: encode_means(&self.prior, molecules, &self.device),
            targets: molecules
                .iter()
                .map(|m| decoding_target(m, self.config.max_atoms))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The policy's log-probability of each episode's trajectory, in nats.
    pub fn log_probs(&self, episodes: &Episodes) -> Vec<f64> {
        let refs: Vec<&DecodingTarget> = episodes.targets.iter().collect();
        let batch = DecoderBatch::new(&refs, self.config.max_atoms, &self.device);
        floats(
            self.policy
                .valid()
                .trajectory_log_probs(episodes.latents(self.config.latent, &self.device), &batch),
        )
    }

    /// One REINFORCE step on molecules sampled from latents `z` with `rewards`.
    pub fn update(
        &mut self,
        z: &[f32],
        molecules: &[Molecule],
        rewards: &[f64],
        baseline: Baseline,
    ) -> Result<UpdateStats> {
        let episodes = Episodes::sampled(z.to_vec(), molecules, self.config.max_atoms)?;
        self.update_on(&episodes, rewards, baseline)
    }

    /// One REINFORCE step on `episodes` with `rewards`, one each.
    pub fn update_on(
        &mut self,
        episodes: &Episodes,
        rewards: &[f64],
        baseline: Baseline,
    ) -> Result<UpdateStats> {
        let n = episodes.len();
        anyhow::ensure!(
            rewards.len() == n,
            "{} rewards for {n} episodes",
            rewards.len()
        );
        let refs: Vec<&DecodingTarget> = episodes.targets.iter().collect();
        let latent = |device: &Device| episodes.latents(self.config.latent, device);
        let batch = DecoderBatch::new(&refs, self.config.max_atoms, &self.train_device);
        let log_p = self
            .policy
            .trajectory_log_probs(latent(&self.train_device), &batch);
        let prior_batch = DecoderBatch::new(&refs, self.config.max_atoms, &self.device);
        let log_p0 = floats(
            self.prior
                .trajectory_log_probs(latent(&self.device), &prior_batch),
        );
        let current = floats(log_p.clone().detach());
        let shaped: Vec<f64> = rewards
            .iter()
            .zip(current.iter().zip(&log_p0))
            .map(|(r, (lp, lp0))| r - self.settings.kl_weight * (lp - lp0))
            .collect();
        let kl_nats = current
            .iter()
            .zip(&log_p0)
            .map(|(lp, lp0)| lp - lp0)
            .sum::<f64>()
            / n as f64;
        let centred = centre(&shaped, &baseline);
        let std = (centred.iter().map(|c| c * c).sum::<f64>() / n as f64)
            .sqrt()
            .max(1e-6);
        let advantages: Vec<f32> = centred.iter().map(|c| (c / std) as f32).collect();
        let advantages =
            Tensor::<1>::from_data(TensorData::new(advantages, [n]), &self.train_device);
        let loss = -(log_p * advantages).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &self.policy);
        self.policy = self
            .optimizer
            .step(self.settings.learning_rate, self.policy.clone(), grads);
        Ok(UpdateStats { kl_nats })
    }
}

/// Trajectories to update the policy on, each with the latent it was
/// decoded from.
#[derive(Clone, Debug, Default)]
pub struct Episodes {
    /// One latent per trajectory, row after row.
    z: Vec<f32>,
    targets: Vec<DecodingTarget>,
}

impl Episodes {
    /// Molecules the policy sampled from latents `z`: a decoded molecule keeps
    /// its atoms in the order they were added, so the identity order replays
    /// the trajectory that sampled it.
    pub fn sampled(z: Vec<f32>, molecules: &[Molecule], max_atoms: usize) -> Result<Episodes> {
        let targets = molecules
            .iter()
            .map(|m| {
                let order: Vec<usize> = (0..m.heavy_atom_count()).collect();
                decoding_target_in_order(m, &order, max_atoms)
            })
            .collect::<Result<_, _>>()?;
        Ok(Episodes { z, targets })
    }

    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// `other`'s episodes after these.
    pub fn extend(&mut self, other: &Episodes) {
        self.z.extend_from_slice(&other.z);
        self.targets.extend(other.targets.iter().cloned());
    }

    fn latents(&self, latent: usize, device: &Device) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(self.z.clone(), [self.len(), latent]),
            device,
        )
    }
}

/// `values` minus their baseline.
fn centre(values: &[f64], baseline: &Baseline) -> Vec<f64> {
    match baseline {
        Baseline::Batch => {
            let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
            values.iter().map(|v| v - mean).collect()
        }
        Baseline::PerStratum(strata) => {
            assert_eq!(strata.len(), values.len(), "one stratum per sample");
            let mut sums: HashMap<usize, (f64, usize)> = HashMap::new();
            for (v, s) in values.iter().zip(*strata) {
                let e = sums.entry(*s).or_default();
                e.0 += v;
                e.1 += 1;
            }
            values
                .iter()
                .zip(*strata)
                .map(|(v, s)| {
                    let (sum, count) = sums[s];
                    v - sum / count as f64
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use model_core::chem::parse_smiles;

    use super::*;

    /// The log-probability of `smiles` replayed, before and after one update
    /// in which it earns `reward` and 32 sampled molecules earn 0.
    fn replayed_log_prob(reward: f64) -> (f64, f64) {
        let config = crate::test_support::tiny_config();
        let device = Device::flex();
        let model = GraphVae::new(&config, &device);
        let settings = PolicySettings {
            kl_weight: 0.0,
            learning_rate: 1e-2,
        };
        let mut policy = DecoderPolicy::new(&model, &config, None, settings, &device).unwrap();
        let (z, molecules) = policy.sample(32, &mut SeededRng::new(7));
        // The first round has nothing verified to replay.
        assert!(policy.replay(&[]).unwrap().is_empty());
        let elite = parse_smiles("OCC1CO1").unwrap();
        let replayed = policy.replay(&[&elite]).unwrap();
        let before = policy.log_probs(&replayed)[0];
        let mut episodes = Episodes::sampled(z, &molecules, config.max_atoms).unwrap();
        episodes.extend(&replayed);
        let mut rewards = vec![0.0; molecules.len()];
        rewards.push(reward);
        policy
            .update_on(&episodes, &rewards, Baseline::Batch)
            .unwrap();
        (before, policy.log_probs(&replayed)[0])
    }

    #[test]
    fn a_replayed_molecule_gains_probability_when_it_earns_more_than_the_samples() {
        let (before, after) = replayed_log_prob(5.0);
        assert!(after > before + 0.1, "{before} -> {after}");
        let (before, after) = replayed_log_prob(-5.0);
        assert!(after < before - 0.1, "{before} -> {after}");
    }

    #[test]
    fn per_stratum_baseline_centres_each_stratum() {
        let values = [1.0, 3.0, 10.0, 20.0, 5.0];
        let strata = [0, 0, 1, 1, 2];
        let centred = centre(&values, &Baseline::PerStratum(&strata));
        assert_eq!(centred, vec![-1.0, 1.0, -5.0, 5.0, 0.0]);
        let centred = centre(&values, &Baseline::Batch);
        assert_eq!(centred, vec![-6.8, -4.8, 2.2, 12.2, -2.8]);
    }
}
