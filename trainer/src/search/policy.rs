//! The second search strategy: the decoder itself as a policy. Latents come
//! from the prior; the decoder samples a construction trajectory; REINFORCE
//! with a mean baseline raises the log-probability of trajectories whose
//! molecules score well. A KL penalty to the trained decoder (per sample,
//! log pi - log pi_0, folded into the reward) keeps it near the chemistry it
//! learned from QM9.

use anyhow::Result;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use model_core::chem::Molecule;
use model_core::model::batch::DecoderBatch;
use model_core::model::sample::{Choice, decode_latents, prior_latents};
use model_core::model::target::{DecodingTarget, decoding_target_in_order};
use model_core::model::weights::{load_weights, save_weights};
use model_core::model::{GraphVae, ModelConfig};
use model_core::rng::SeededRng;

pub struct DecoderPolicy {
    policy: GraphVae,
    prior: GraphVae,
    config: ModelConfig,
    optimizer: ModuleOptimizer,
    train_device: Device,
    device: Device,
}

/// The KL penalty's weight, in reward units (eV) per nat.
pub const KL_WEIGHT: f64 = 0.1;
const LEARNING_RATE: f64 = 2e-4;

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
        device: &Device,
    ) -> Result<DecoderPolicy> {
        let train_device = device.clone().autodiff();
        let prior_bytes = save_weights(prior, config);
        let (policy, _) = load_weights(policy_bytes.unwrap_or(&prior_bytes), &train_device)?;
        Ok(DecoderPolicy {
            policy,
            prior: prior.clone(),
            config: config.clone(),
            optimizer: AdamConfig::new().init(),
            train_device,
            device: device.clone(),
        })
    }

    pub fn weights(&self) -> Vec<u8> {
        save_weights(&self.policy.valid(), &self.config)
    }

    /// Samples `n` molecules from the current policy.
    pub fn sample(&self, n: usize, rng: &mut SeededRng) -> (Vec<f32>, Vec<Molecule>) {
        let z = prior_latents(n, self.config.latent, rng);
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

    /// One REINFORCE step on molecules sampled from latents `z` with `rewards`.
    pub fn update(&mut self, z: &[f32], molecules: &[Molecule], rewards: &[f64]) -> Result<()> {
        let targets: Vec<DecodingTarget> = molecules
            .iter()
            .map(|m| {
                let order: Vec<usize> = (0..m.heavy_atom_count()).collect();
                decoding_target_in_order(m, &order, self.config.max_atoms)
            })
            .collect::<Result<_, _>>()?;
        let refs: Vec<&DecodingTarget> = targets.iter().collect();
        let n = molecules.len();
        let latent = |device: &Device| {
            Tensor::<2>::from_data(TensorData::new(z.to_vec(), [n, self.config.latent]), device)
        };
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
            .map(|(r, (lp, lp0))| r - KL_WEIGHT * (lp - lp0))
            .collect();
        let mean = shaped.iter().sum::<f64>() / n as f64;
        let std = (shaped.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n as f64)
            .sqrt()
            .max(1e-6);
        let advantages: Vec<f32> = shaped.iter().map(|s| ((s - mean) / std) as f32).collect();
        let advantages =
            Tensor::<1>::from_data(TensorData::new(advantages, [n]), &self.train_device);
        let loss = -(log_p * advantages).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &self.policy);
        self.policy = self
            .optimizer
            .step(LEARNING_RATE, self.policy.clone(), grads);
        Ok(())
    }
}
