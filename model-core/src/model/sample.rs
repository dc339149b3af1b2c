//! Decoding latents into molecules, in batches.
//!
//! The network runs on the tensor device; every random choice (z, atoms,
//! bonds) is drawn on the CPU from a [`SeededRng`], so a seed gives the same
//! molecules on every backend that computes the same logits.

use burn::prelude::*;
use burn::tensor::{Int, TensorData};

use super::batch::{GraphBatch, START_TOKEN};
use super::construction::{ATOM_CHOICES, BOND_CHOICES, Construction, STOP};
use super::vae::GraphVae;
use crate::chem::Molecule;
use crate::rng::SeededRng;

/// How choices are made from the decoder's distributions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Choice {
    /// Draw from the masked softmax at this temperature.
    Sample { temperature: f32 },
    /// Take the most likely allowed choice (reconstruction, interpolation).
    Greedy,
}

/// A standard-normal latent matrix `[n, latent]` from `rng` (Box–Muller).
pub fn prior_latents(n: usize, latent: usize, rng: &mut SeededRng) -> Vec<f32> {
    (0..n * latent)
        .map(|_| {
            let u1 = rng.unit_f64().max(f64::MIN_POSITIVE);
            let u2 = rng.unit_f64();
            ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
        })
        .collect()
}

/// Picks an allowed index from `logits` (one row) under `allowed`.
fn choose(logits: &[f32], allowed: &[bool], how: Choice, rng: &mut SeededRng) -> usize {
    let candidates = (0..logits.len()).filter(|&i| allowed[i]);
    match how {
        Choice::Greedy => candidates
            .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
            .expect("masks always allow a choice"),
        Choice::Sample { temperature } => {
            let t = temperature.max(1e-3);
            let best = candidates
                .clone()
                .map(|i| logits[i])
                .fold(f32::NEG_INFINITY, f32::max);
            let weights: Vec<(usize, f64)> = candidates
                .map(|i| (i, (((logits[i] - best) / t) as f64).exp()))
                .collect();
            let total: f64 = weights.iter().map(|(_, w)| w).sum();
            let mut draw = rng.unit_f64() * total;
            for &(i, w) in &weights {
                if draw < w {
                    return i;
                }
                draw -= w;
            }
            weights.last().expect("masks always allow a choice").0
        }
    }
}

fn floats(tensor: Tensor<2>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 data")
}

/// Decodes latents `z` (`[n, latent]`, row-major) into molecules.
pub fn decode_latents(
    model: &GraphVae,
    z: &[f32],
    latent: usize,
    max_atoms: usize,
    how: Choice,
    rng: &mut SeededRng,
    device: &Device,
) -> Vec<Molecule> {
    let n = z.len() / latent;
    let decoder = &model.decoder;
    let z = Tensor::<2>::from_data(TensorData::new(z.to_vec(), [n, latent]), device);
    let mut state = decoder.start_state(z.clone());
    let mut constructions = vec![Construction::new(); n];
    let mut prev_token = vec![START_TOKEN as i64; n];
    let mut prev_bonds = vec![0f32; n * 3];
    let mut nodes: Vec<Tensor<2>> = Vec::with_capacity(max_atoms);
    for step in 0..=max_atoms {
        let tokens =
            Tensor::<2, Int>::from_data(TensorData::new(prev_token.clone(), [n, 1]), device);
        let bonds = Tensor::<3>::from_data(TensorData::new(prev_bonds.clone(), [n, 1, 3]), device);
        let (next_state, logits) = decoder.step(z.clone(), state, tokens, bonds);
        state = next_state;
        let logits = floats(logits);
        let mut added = vec![false; n];
        for (i, c) in constructions.iter_mut().enumerate() {
            let choice = if c.is_stopped() {
                STOP
            } else {
                let row = &logits[i * ATOM_CHOICES..(i + 1) * ATOM_CHOICES];
                choose(row, &c.atom_mask(max_atoms), how, rng)
            };
            if !c.is_stopped() {
                c.choose_atom(choice);
                added[i] = choice != STOP;
            }
            prev_token[i] = choice as i64;
        }
        if !added.iter().any(|&a| a) {
            break;
        }
        let choices = Tensor::<1, Int>::from_data(TensorData::new(prev_token.clone(), [n]), device);
        let node = decoder.added_node(state.clone(), choices);
        prev_bonds.iter_mut().for_each(|b| *b = 0.0);
        if step > 0 {
            let earlier = Tensor::stack::<3>(nodes.clone(), 1);
            let logits = decoder.bond_logits(node.clone(), earlier);
            let logits: Vec<f32> = logits
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("f32 data");
            for (i, c) in constructions.iter_mut().enumerate() {
                if !added[i] {
                    continue;
                }
                for target in 0..step {
                    let at = (i * step + target) * BOND_CHOICES;
                    let choice = choose(
                        &logits[at..at + BOND_CHOICES],
                        &c.bond_mask(target),
                        how,
                        rng,
                    );
                    c.choose_bond(target, choice);
                    if choice > 0 {
                        prev_bonds[i * 3 + choice - 1] += 1.0;
                    }
                }
            }
        }
        nodes.push(node);
    }
    constructions
        .iter()
        .map(|c| c.molecule().expect("every construction has a first atom"))
        .collect()
}

/// Samples `n` molecules from the prior with `seed`, `batch` at a time.
pub fn sample_prior(
    model: &GraphVae,
    config: &super::ModelConfig,
    n: usize,
    seed: u64,
    batch: usize,
    temperature: f32,
    device: &Device,
) -> Vec<Molecule> {
    sample_with_gaps(model, config, n, seed, batch, temperature, device)
        .into_iter()
        .map(|s| s.molecule)
        .collect()
}

/// Greedy decoding of latents `z` (`[n, latent]` row-major): the most likely
/// allowed choice at every step, so no randomness is involved.
pub fn decode_greedy(
    model: &GraphVae,
    config: &super::ModelConfig,
    z: &[f32],
    device: &Device,
) -> Vec<Molecule> {
    // Greedy choices draw nothing; the generator is only there to satisfy the signature.
    let mut unused = SeededRng::new(0);
    decode_latents(
        model,
        z,
        config.latent,
        config.max_atoms,
        Choice::Greedy,
        &mut unused,
        device,
    )
}

/// Mean latents of `molecules`, `[n, latent]` row-major.
pub fn encode_means(model: &GraphVae, molecules: &[&Molecule], device: &Device) -> Vec<f32> {
    let batch = GraphBatch::new(molecules, device);
    let (mu, _) = model.encoder.forward(&batch);
    floats(mu)
}

/// The gap head's prediction for latents `z` (`[n, latent]` row-major), in eV.
pub fn predict_gap_ev(
    model: &GraphVae,
    config: &super::ModelConfig,
    z: &[f32],
    device: &Device,
) -> Vec<f64> {
    let n = z.len() / config.latent;
    let z = Tensor::<2>::from_data(TensorData::new(z.to_vec(), [n, config.latent]), device);
    floats(model.gap_head.forward(z))
        .into_iter()
        .map(|g| g as f64 * config.gap_std_ev + config.gap_mean_ev)
        .collect()
}

/// A molecule sampled from the prior, with the gap the model predicts for its latent.
#[derive(Clone, Debug)]
pub struct Sample {
    pub molecule: Molecule,
    pub predicted_gap_ev: f64,
}

/// Like [`sample_prior`], with each molecule's predicted gap.
pub fn sample_with_gaps(
    model: &GraphVae,
    config: &super::ModelConfig,
    n: usize,
    seed: u64,
    batch: usize,
    temperature: f32,
    device: &Device,
) -> Vec<Sample> {
    (0..n.div_ceil(batch.max(1)))
        .flat_map(|k| {
            let size = batch.min(n - k * batch);
            sample_batch(model, config, seed, k, size, temperature, device)
        })
        .collect()
}

/// Batch `index` of a seeded sampling run. Each batch draws from its own
/// generator, derived from `(seed, index)`, so batches can run in any order
/// or in parallel and still give the same molecules.
pub fn sample_batch(
    model: &GraphVae,
    config: &super::ModelConfig,
    seed: u64,
    index: usize,
    size: usize,
    temperature: f32,
    device: &Device,
) -> Vec<Sample> {
    let mut rng = SeededRng::new(seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let z = prior_latents(size, config.latent, &mut rng);
    let molecules = decode_latents(
        model,
        &z,
        config.latent,
        config.max_atoms,
        Choice::Sample { temperature },
        &mut rng,
        device,
    );
    let gaps = predict_gap_ev(model, config, &z, device);
    molecules
        .into_iter()
        .zip(gaps)
        .map(|(molecule, predicted_gap_ev)| Sample {
            molecule,
            predicted_gap_ev,
        })
        .collect()
}
