//! Model sizes, saved with the weights so a file always loads into the
//! architecture it was trained with.

use serde::{Deserialize, Serialize};

use super::carried_exemplars::CarriedExemplars;
use super::critic::PriorCritic;
use super::prior::LatentPrior;
use crate::chem::Molecule;
use crate::chem::frameworks::RingFrameworks;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Width of node, message and recurrent states.
    pub hidden: usize,
    /// Size of the graph latent z.
    pub latent: usize,
    /// Message-passing layers in the encoder.
    pub layers: usize,
    /// Largest molecule the decoder builds (QM9: 9 heavy atoms).
    pub max_atoms: usize,
    /// Width of the decoder's token embedding.
    pub token_embedding: usize,
    /// Whether the decoder's bond head reads the size of the ring each
    /// bond would close (see [`super::decoder::Decoder`]); off in weights
    /// trained before it, which then load and decode as before.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ring_closure: bool,
    /// The gap head predicts (gap - mean) / std; these turn it back into eV.
    pub gap_mean_ev: f64,
    pub gap_std_ev: f64,
    /// What prior samples draw z from: fitted after training and saved with
    /// the weights (N(0, I) until then; see [`super::prior`]).
    #[serde(skip_serializing_if = "LatentPrior::is_standard_normal")]
    pub prior: LatentPrior,
    /// Resamples the prior's unconditional draws towards the training
    /// molecules' latents (see [`super::critic`]); fitted against `prior`,
    /// so refitting the prior drops it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub critic: Option<PriorCritic>,
    /// Training molecules' posteriors that unconditional sampling draws z
    /// from instead of `prior` where the weights carry them (see
    /// [`super::carried_exemplars`]); gap-conditioned sampling keeps `prior`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemplars: Option<CarriedExemplars>,
    /// The generic ring frameworks of the data the model learnt (QM9's, see
    /// [`crate::chem::frameworks`]): gap predictions for other ring systems
    /// are extrapolation, so gap-conditioned sampling ranks them last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ring_frameworks: Option<RingFrameworks>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            hidden: 128,
            latent: 32,
            layers: 4,
            max_atoms: 9,
            token_embedding: 32,
            ring_closure: false,
            gap_mean_ev: 6.86,
            gap_std_ev: 1.28,
            prior: LatentPrior::StandardNormal,
            critic: None,
            exemplars: None,
            ring_frameworks: None,
        }
    }
}

impl ModelConfig {
    /// Whether every ring system of `molecule` has a framework of the data
    /// the model learnt; yes where the weights do not carry them.
    pub fn knows_ring_systems_of(&self, molecule: &Molecule) -> bool {
        self.ring_frameworks
            .as_ref()
            .is_none_or(|frameworks| frameworks.hold(molecule))
    }
}
