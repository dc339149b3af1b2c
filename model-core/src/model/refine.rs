//! Latents that give their molecule back: iterative inference from the
//! encoder's posterior mean (Kim et al., ICML 2018, "Semi-Amortized
//! Variational Autoencoders"; Marino et al., ICML 2018, "Iterative Amortized
//! Inference").
//!
//! The encoder is amortised: one network guesses every molecule's posterior,
//! and for about one test molecule in ten the guessed mean decodes to
//! another molecule, though a latent that decodes to it lies well inside
//! that posterior (a fraction of a standard deviation away, typically). So
//! each molecule starts at its mean; while greedy decoding does not give it
//! back, z takes an Adam step up log p(molecule | z) under the teacher-forced
//! decoder, and stops at the first step whose greedy decoding is the
//! molecule. Molecules the mean already gives back keep the mean. Every
//! step is deterministic: the same molecules give the same latents.

use super::batch::{DecoderBatch, GraphBatch};
use super::sample::decode_greedy;
use super::target::{DecodingTarget, decoding_target};
use super::tensor_read::floats;
use super::{GraphVae, ModelConfig};
use crate::chem::{Molecule, canonical_smiles};
use burn::prelude::*;

/// How hard to look for a latent that gives the molecule back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Refinement {
    /// Adam steps at most; 0 keeps every mean.
    pub max_steps: usize,
    /// Adam's step size, in units of each dimension's posterior standard
    /// deviation (the search moves e in z = mean + std * e).
    pub rate: f32,
}

impl Default for Refinement {
    /// 40 steps at 0.5: on the shipped network they give back 99–100% of
    /// test molecules (`examples/refine_probe.rs` tried 0.1–2 and 5–160 steps).
    fn default() -> Refinement {
        Refinement {
            max_steps: 40,
            rate: 0.5,
        }
    }
}

/// Where one molecule's latent came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Greedy decoding of the posterior mean gives the molecule back.
    Mean,
    /// After this many steps greedy decoding gives it back.
    Refined { steps: usize },
    /// Not given back within the step budget; the latent is the last step's.
    Missed,
    /// The decoder cannot build the molecule at all (more heavy atoms than
    /// it builds, or a choice outside its vocabulary); the latent is the mean.
    Unbuildable,
}

impl Outcome {
    pub fn given_back(self) -> bool {
        matches!(self, Outcome::Mean | Outcome::Refined { .. })
    }
}

/// The latents of some molecules, `[molecules, latent]` row-major, with how
/// each was found and how far it moved from its mean.
#[derive(Clone, Debug, PartialEq)]
pub struct Refined {
    pub z: Vec<f32>,
    pub outcomes: Vec<Outcome>,
    /// |z − mean| in posterior standard deviations, RMS over dimensions.
    pub moved_sigmas: Vec<f32>,
}

/// Molecules per batch: the teacher-forced pass over them keeps an autodiff
/// graph, so this bounds its memory.
const BATCH: usize = 512;

/// Latents that greedy decoding turns back into `molecules` (see the module
/// doc). `model` lives on `device`, a non-autodiff device; the gradient
/// steps run on a fork of it on `device`'s autodiff twin.
pub fn refined_latents(
    model: &GraphVae,
    config: &ModelConfig,
    molecules: &[&Molecule],
    refinement: Refinement,
    device: &Device,
) -> Refined {
    let likelihood = Likelihood::new(model, device);
    let mut refined = Refined {
        z: Vec::with_capacity(molecules.len() * config.latent),
        outcomes: Vec::with_capacity(molecules.len()),
        moved_sigmas: Vec::with_capacity(molecules.len()),
    };
    for chunk in molecules.chunks(BATCH) {
        let batch = refine_batch(model, &likelihood, config, chunk, refinement, device);
        refined.z.extend(batch.z);
        refined.outcomes.extend(batch.outcomes);
        refined.moved_sigmas.extend(batch.moved_sigmas);
    }
    refined
}

fn refine_batch(
    model: &GraphVae,
    likelihood: &Likelihood,
    config: &ModelConfig,
    molecules: &[&Molecule],
    refinement: Refinement,
    device: &Device,
) -> Refined {
    let latent = config.latent;
    let rows = molecules.len();
    let (mu, log_var) = model.encoder.forward(&GraphBatch::new(molecules, device));
    let mean = floats(mu);
    let std: Vec<f32> = floats(log_var).iter().map(|l| (0.5 * l).exp()).collect();
    let wanted: Vec<String> = molecules.iter().map(|m| canonical_smiles(m)).collect();
    let targets: Vec<_> = molecules
        .iter()
        .map(|m| decoding_target(m, config.max_atoms).ok())
        .collect();

    let mut e = vec![0f32; rows * latent];
    let mut adam = Adam::new(rows * latent);
    let mut outcomes: Vec<Outcome> = targets
        .iter()
        .map(|t| match t {
            Some(_) => Outcome::Missed,
            None => Outcome::Unbuildable,
        })
        .collect();
    // Rows still looking: not given back yet, and buildable by the decoder.
    let mut active: Vec<usize> = (0..rows).filter(|&r| targets[r].is_some()).collect();
    let z_of = |e: &[f32], r: usize| -> Vec<f32> {
        (r * latent..(r + 1) * latent)
            .map(|i| mean[i] + std[i] * e[i])
            .collect()
    };
    for step in 0..=refinement.max_steps {
        if active.is_empty() {
            break;
        }
        let z: Vec<f32> = active.iter().flat_map(|&r| z_of(&e, r)).collect();
        let decoded = decode_greedy(model, config, &z, device);
        let mut still = Vec::with_capacity(active.len());
        for (&r, m) in active.iter().zip(&decoded) {
            if canonical_smiles(m) == wanted[r] {
                outcomes[r] = match step {
                    0 => Outcome::Mean,
                    steps => Outcome::Refined { steps },
                };
            } else {
                still.push(r);
            }
        }
        active = still;
        if active.is_empty() || step == refinement.max_steps {
            break;
        }
        let rows_of = |v: &[f32]| -> Vec<f32> {
            active
                .iter()
                .flat_map(|&r| v[r * latent..(r + 1) * latent].iter().copied())
                .collect()
        };
        let active_targets: Vec<&DecodingTarget> = active
            .iter()
            .map(|&r| targets[r].as_ref().expect("active rows have targets"))
            .collect();
        let gradient = likelihood.gradient(
            &active_targets,
            config.max_atoms,
            [rows_of(&mean), rows_of(&std), rows_of(&e)],
        );
        adam.step(&mut e, &active, latent, &gradient, refinement.rate);
    }
    let moved_sigmas = e
        .chunks(latent)
        .map(|row| (row.iter().map(|x| x * x).sum::<f32>() / latent as f32).sqrt())
        .collect();
    let z = (0..rows).flat_map(|r| z_of(&e, r)).collect();
    Refined {
        z,
        outcomes,
        moved_sigmas,
    }
}

/// The decoder on an autodiff device, for gradients of log p(molecule | z).
struct Likelihood {
    model: GraphVae,
    device: Device,
}

impl Likelihood {
    fn new(model: &GraphVae, device: &Device) -> Likelihood {
        let device = device.clone().autodiff();
        Likelihood {
            model: model.clone().fork(&device),
            device,
        }
    }

    /// d log p(target | z) / d e at z = mean + std * e, one row per target,
    /// each argument `[targets, latent]` row-major.
    fn gradient(
        &self,
        targets: &[&DecodingTarget],
        max_atoms: usize,
        [mean, std, e]: [Vec<f32>; 3],
    ) -> Vec<f32> {
        let shape = [targets.len(), mean.len() / targets.len()];
        let tensor = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, shape), &self.device);
        let e = tensor(e).require_grad();
        let z = tensor(mean) + tensor(std) * e.clone();
        let batch = DecoderBatch::new(targets, max_atoms, &self.device);
        let grads = self.model.trajectory_log_probs(z, &batch).sum().backward();
        floats(e.grad(&grads).expect("e takes part in log p"))
    }
}

/// Adam (Kingma & Ba) ascending, per coordinate, over the rows it is given.
struct Adam {
    first: Vec<f32>,
    second: Vec<f32>,
    steps: i32,
}

impl Adam {
    fn new(len: usize) -> Adam {
        Adam {
            first: vec![0.0; len],
            second: vec![0.0; len],
            steps: 0,
        }
    }

    /// Moves the `rows` of `x` up `gradient` (`[rows, width]`).
    fn step(&mut self, x: &mut [f32], rows: &[usize], width: usize, gradient: &[f32], rate: f32) {
        const B1: f32 = 0.9;
        const B2: f32 = 0.999;
        self.steps += 1;
        let (c1, c2) = (1.0 - B1.powi(self.steps), 1.0 - B2.powi(self.steps));
        for (k, &r) in rows.iter().enumerate() {
            for j in 0..width {
                let (i, g) = (r * width + j, gradient[k * width + j]);
                self.first[i] = B1 * self.first[i] + (1.0 - B1) * g;
                self.second[i] = B2 * self.second[i] + (1.0 - B2) * g * g;
                x[i] += rate * (self.first[i] / c1) / ((self.second[i] / c2).sqrt() + 1e-8);
            }
        }
    }
}
