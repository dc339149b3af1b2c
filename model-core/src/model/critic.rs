//! The prior's critic: a small network that scores how much likelier the
//! encoder's aggregate posterior makes a latent than the mixture prior does,
//! and sampling that uses it to resample the mixture's draws.
//!
//! The mixture (see [`super::prior`]) smooths over the training molecules'
//! latents, so some of its mass falls between them, where the decoder makes
//! molecules less like QM9's. A classifier trained to tell latents drawn
//! from the exemplar prior (the training split's posteriors, widened) from
//! the mixture's estimates the log density ratio log q(z) / p(z) by its
//! logit. Each unconditional latent is then picked from a few of the
//! mixture's draws with probability proportional to exp(logit):
//! sampling-importance-resampling, a fixed number of draws per latent, so
//! batches keep their shape and a seed its molecules (Bauer & Mnih,
//! "Resampled Priors for Variational Autoencoders", AISTATS 2019, resample
//! the prior with a learned acceptance; Azadi et al., "Discriminator
//! Rejection Sampling", ICLR 2019, use a classifier's logit as the ratio).
//!
//! It computes on the CPU in plain Rust, in row order, so the page and the
//! native sampler pick alike; it is small (two hidden layers of 128: about
//! 21,000 numbers, 0.1 MB in the weights file).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use super::prior::LatentPrior;
use crate::rng::{SeededRng, weighted_index};

/// One dense layer: `outputs` rows of `inputs` weights, then the biases.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    pub inputs: usize,
    pub outputs: usize,
    /// `[outputs, inputs]`, row-major.
    pub weights: Vec<f32>,
    pub biases: Vec<f32>,
}

impl Dense {
    fn apply(&self, x: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend(
            self.weights
                .chunks_exact(self.inputs)
                .zip(&self.biases)
                .map(|(row, b)| b + dot(row, x)),
        );
    }

    fn is_consistent(&self) -> bool {
        self.weights.len() == self.inputs * self.outputs && self.biases.len() == self.outputs
    }
}

/// A dot product summed in eight lanes (which the compiler vectorises),
/// in the same order on every machine.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

fn silu(x: f32) -> f32 {
    x / (1.0 + (-x).exp())
}

/// The critic: z standardised by `shift` and `scale`, then dense layers
/// with SiLU between them, the last giving one logit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "StoredCritic", try_from = "StoredCritic")]
pub struct PriorCritic {
    /// Mixture draws each unconditional latent is picked from.
    pub candidates: usize,
    /// Subtracted from z, then divided by `scale`, per dimension.
    pub shift: Vec<f32>,
    pub scale: Vec<f32>,
    pub layers: Vec<Dense>,
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum CriticError {
    #[error("the prior's critic reads {found}-dimensional latents; the model's are {latent}")]
    Dimensions { found: usize, latent: usize },
    #[error("the prior's critic is malformed: {0}")]
    Malformed(&'static str),
}

impl PriorCritic {
    /// The latent size it reads.
    pub fn latent(&self) -> usize {
        self.shift.len()
    }

    /// Checks the layers chain from `latent` inputs to one logit.
    pub fn validate(&self, latent: usize) -> Result<(), CriticError> {
        if self.latent() != latent {
            return Err(CriticError::Dimensions {
                found: self.latent(),
                latent,
            });
        }
        if self.candidates == 0 {
            return Err(CriticError::Malformed("it picks from no candidates"));
        }
        if self.scale.len() != latent || self.scale.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(CriticError::Malformed("its input scale must be positive"));
        }
        let mut width = latent;
        for layer in &self.layers {
            if layer.inputs != width || !layer.is_consistent() {
                return Err(CriticError::Malformed("its layers do not chain"));
            }
            width = layer.outputs;
        }
        if self.layers.is_empty() || width != 1 {
            return Err(CriticError::Malformed("its last layer must give one logit"));
        }
        Ok(())
    }

    /// The logit, an estimate of log q(z) / p(z), of each row of `z`.
    pub fn log_ratios(&self, z: &[f32]) -> Vec<f32> {
        let latent = self.latent();
        let (mut x, mut next) = (Vec::new(), Vec::new());
        z.chunks_exact(latent)
            .map(|row| {
                x.clear();
                x.extend(
                    row.iter()
                        .zip(self.shift.iter().zip(&self.scale))
                        .map(|(v, (m, s))| (v - m) / s),
                );
                for (i, layer) in self.layers.iter().enumerate() {
                    layer.apply(&x, &mut next);
                    if i + 1 < self.layers.len() {
                        next.iter_mut().for_each(|v| *v = silu(*v));
                    }
                    std::mem::swap(&mut x, &mut next);
                }
                x[0]
            })
            .collect()
    }

    /// `n` latents `[n, latent]`: for each, `candidates` draws from `prior`,
    /// one picked with probability proportional to exp(logit).
    pub fn sample(
        &self,
        prior: &LatentPrior,
        n: usize,
        latent: usize,
        rng: &mut SeededRng,
    ) -> Vec<f32> {
        let k = self.candidates;
        let draws = prior.sample(n * k, latent, rng);
        let logits = self.log_ratios(&draws);
        let mut z = Vec::with_capacity(n * latent);
        for (row, logits) in logits.chunks_exact(k).enumerate() {
            let pick = row * k + pick_by_logits(logits, rng.unit_f64());
            z.extend_from_slice(&draws[pick * latent..(pick + 1) * latent]);
        }
        z
    }
}

/// The index `u` (uniform in [0, 1)) falls on when each index `i` takes a
/// share exp(logits[i]) of the line.
fn pick_by_logits(logits: &[f32], u: f64) -> usize {
    let top = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let weights: Vec<f64> = logits.iter().map(|&l| (l as f64 - top).exp()).collect();
    weighted_index(&weights, u)
}

/// As written in a weights file: each layer's numbers at single precision,
/// little-endian, base64 (a third the size of JSON floats).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredCritic {
    candidates: usize,
    shift_f32: String,
    scale_f32: String,
    layers: Vec<StoredDense>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredDense {
    inputs: usize,
    outputs: usize,
    weights_f32: String,
    biases_f32: String,
}

fn pack(values: &[f32]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    BASE64.encode(bytes)
}

fn unpack(text: &str) -> Result<Vec<f32>, String> {
    let bytes = BASE64
        .decode(text)
        .map_err(|e| format!("the critic's numbers are not base64: {e}"))?;
    if bytes.len() % 4 != 0 {
        return Err("the critic's numbers are not whole f32s".into());
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect())
}

impl From<PriorCritic> for StoredCritic {
    fn from(c: PriorCritic) -> Self {
        StoredCritic {
            candidates: c.candidates,
            shift_f32: pack(&c.shift),
            scale_f32: pack(&c.scale),
            layers: c
                .layers
                .iter()
                .map(|l| StoredDense {
                    inputs: l.inputs,
                    outputs: l.outputs,
                    weights_f32: pack(&l.weights),
                    biases_f32: pack(&l.biases),
                })
                .collect(),
        }
    }
}

impl TryFrom<StoredCritic> for PriorCritic {
    type Error = String;

    fn try_from(s: StoredCritic) -> Result<Self, String> {
        let critic = PriorCritic {
            candidates: s.candidates,
            shift: unpack(&s.shift_f32)?,
            scale: unpack(&s.scale_f32)?,
            layers: s
                .layers
                .iter()
                .map(|l| {
                    Ok(Dense {
                        inputs: l.inputs,
                        outputs: l.outputs,
                        weights: unpack(&l.weights_f32)?,
                        biases: unpack(&l.biases_f32)?,
                    })
                })
                .collect::<Result<_, String>>()?,
        };
        critic
            .validate(critic.latent())
            .map_err(|e| e.to_string())?;
        Ok(critic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A critic whose logit is `slope * z[0]`.
    fn linear(latent: usize, slope: f32, candidates: usize) -> PriorCritic {
        let mut weights = vec![0.0; latent];
        weights[0] = slope;
        PriorCritic {
            candidates,
            shift: vec![0.0; latent],
            scale: vec![1.0; latent],
            layers: vec![Dense {
                inputs: latent,
                outputs: 1,
                weights,
                biases: vec![0.0],
            }],
        }
    }

    #[test]
    fn logits_follow_the_layers() {
        let critic = PriorCritic {
            candidates: 2,
            shift: vec![1.0, 0.0],
            scale: vec![2.0, 1.0],
            layers: vec![
                Dense {
                    inputs: 2,
                    outputs: 2,
                    weights: vec![1.0, 0.0, 0.0, -1.0],
                    biases: vec![0.0, 0.5],
                },
                Dense {
                    inputs: 2,
                    outputs: 1,
                    weights: vec![1.0, 2.0],
                    biases: vec![-1.0],
                },
            ],
        };
        critic.validate(2).unwrap();
        // z = (3, 1): standardised (1, 1); hidden (1, -0.5) through SiLU.
        let expected = silu(1.0) + 2.0 * silu(-0.5) - 1.0;
        let got = critic.log_ratios(&[3.0, 1.0]);
        assert!(
            (got[0] - expected).abs() < 1e-6,
            "{got:?} against {expected}"
        );
    }

    #[test]
    fn picks_follow_exp_of_the_logits() {
        assert_eq!(pick_by_logits(&[0.0, 0.0], 0.49), 0);
        assert_eq!(pick_by_logits(&[0.0, 0.0], 0.51), 1);
        // exp(ln 3) = 3: the second takes three quarters of the line.
        assert_eq!(pick_by_logits(&[0.0, 3f32.ln()], 0.24), 0);
        assert_eq!(pick_by_logits(&[0.0, 3f32.ln()], 0.26), 1);
        // Far apart logits do not overflow.
        assert_eq!(pick_by_logits(&[1000.0, 0.0], 0.999), 0);
    }

    #[test]
    fn resampling_moves_draws_where_the_critic_prefers() {
        let prior = LatentPrior::StandardNormal;
        let mean_first = |critic: &PriorCritic| {
            let z = critic.sample(&prior, 4000, 3, &mut SeededRng::new(5));
            z.chunks(3).map(|r| r[0] as f64).sum::<f64>() / 4000.0
        };
        // With logit z₀ the picks follow N(0, 1) tilted by exp(z₀), whose mean
        // is 1; eight candidates take it most of the way.
        let tilted = mean_first(&linear(3, 1.0, 8));
        assert!(tilted > 0.6 && tilted < 1.1, "{tilted}");
        let flat = mean_first(&linear(3, 0.0, 8));
        assert!(flat.abs() < 0.1, "{flat}");
        let one = mean_first(&linear(3, 1.0, 1));
        assert!(one.abs() < 0.1, "one candidate is no choice: {one}");
    }

    #[test]
    fn same_seed_same_latents() {
        let critic = linear(4, 0.7, 8);
        let prior = LatentPrior::StandardNormal;
        let a = critic.sample(&prior, 50, 4, &mut SeededRng::new(1));
        let b = critic.sample(&prior, 50, 4, &mut SeededRng::new(1));
        let c = critic.sample(&prior, 50, 4, &mut SeededRng::new(2));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn writes_and_reads_back_exactly() {
        let mut critic = linear(5, 0.3, 8);
        critic.shift = vec![0.1, -0.2, 0.3, 1e-7, 5.5];
        let text = serde_json::to_string(&critic).unwrap();
        let back: PriorCritic = serde_json::from_str(&text).unwrap();
        assert_eq!(back, critic);
    }

    #[test]
    fn rejects_malformed_critics() {
        let critic = linear(4, 1.0, 8);
        assert_eq!(
            critic.validate(5),
            Err(CriticError::Dimensions {
                found: 4,
                latent: 5
            })
        );
        let mut broken = critic.clone();
        broken.layers[0].weights.pop();
        assert!(broken.validate(4).is_err());
        let mut none = critic.clone();
        none.candidates = 0;
        assert!(none.validate(4).is_err());
        let mut zero_scale = critic;
        zero_scale.scale[1] = 0.0;
        assert!(zero_scale.validate(4).is_err());
        let text = serde_json::to_string(&broken).unwrap();
        let err = serde_json::from_str::<PriorCritic>(&text).unwrap_err();
        assert!(err.to_string().contains("do not chain"), "{err}");
    }
}
