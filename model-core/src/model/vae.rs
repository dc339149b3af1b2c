//! The graph VAE: encoder, decoder and a gap head on z, and the training loss.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Bool, IndexingUpdateOp, Int};

use super::batch::{DecoderBatch, GraphBatch};
use super::config::ModelConfig;
use super::decoder::{Decoder, Mlp};
use super::dropout::StepDropout;
use super::encoder::Encoder;

#[derive(Module, Debug)]
pub struct GraphVae {
    pub encoder: Encoder,
    pub decoder: Decoder,
    /// Predicts the standardised HOMO-LUMO gap from z (for latent search).
    pub gap_head: Mlp,
}

/// Loss terms of one batch, each a mean per molecule.
pub struct LossTerms {
    pub reconstruction: Tensor<1>,
    pub kl: Tensor<1>,
    pub gap: Tensor<1>,
}

impl LossTerms {
    pub fn total(&self, kl_weight: f64, gap_weight: f64) -> Tensor<1> {
        self.reconstruction.clone() + self.kl.clone() * kl_weight + self.gap.clone() * gap_weight
    }
}

/// Log-probability of each row's target under `logits` with forbidden choices removed.
fn masked_log_probs(
    logits: Tensor<2>,
    forbidden: Tensor<2, Bool>,
    targets: Tensor<1, Int>,
) -> Tensor<1> {
    let rows = targets.dims()[0];
    let log_p = log_softmax(logits.mask_fill(forbidden, -1e9), 1);
    log_p.gather(1, targets.reshape([rows, 1])).reshape([rows])
}

/// Negative log-likelihood of `targets` under `logits` with forbidden choices
/// removed, summed with `weights` (or over all rows).
fn masked_nll(
    logits: Tensor<2>,
    forbidden: Tensor<2, Bool>,
    targets: Tensor<1, Int>,
    weights: Option<Tensor<1>>,
) -> Tensor<1> {
    let picked = masked_log_probs(logits, forbidden, targets);
    match weights {
        Some(w) => -(picked * w).sum(),
        None => -picked.sum(),
    }
}

impl GraphVae {
    pub fn new(config: &ModelConfig, device: &Device) -> GraphVae {
        GraphVae {
            encoder: Encoder::new(config, device),
            decoder: Decoder::new(config, device),
            gap_head: Mlp::new(config.latent, config.hidden, 1, device),
        }
    }

    /// `gaps`: standardised target gaps `[graphs, 1]`; `noise`: the
    /// reparameterisation's ε ~ N(0, I), `[graphs, latent]`, drawn by the
    /// caller from a seeded generator, so that a seed fixes a training run
    /// (the backend's own generator is shared by threads and unseeded);
    /// `dropout`: the step's masks, when training with dropout.
    pub fn loss(
        &self,
        graphs: &GraphBatch,
        decoding: &DecoderBatch,
        gaps: Tensor<2>,
        noise: Tensor<2>,
        dropout: StepDropout,
    ) -> LossTerms {
        let (mu, log_var) = self.encoder.forward_dropped(graphs, dropout.encoder);
        let z = mu.clone() + (log_var.clone() * 0.5).exp() * noise;
        let (atom_logits, bond_logits) = self.decoder.forward(z, decoding, dropout.decoder);
        let n = graphs.graphs as f64;
        let atoms = masked_nll(
            atom_logits,
            decoding.atom_forbidden.clone(),
            decoding.atom_target.clone(),
            Some(decoding.atom_weight.clone()),
        );
        let bonds = if decoding.bond_target.dims()[0] > 0 {
            masked_nll(
                bond_logits,
                decoding.bond_forbidden.clone(),
                decoding.bond_target.clone(),
                None,
            )
        } else {
            atoms.zeros_like()
        };
        let kl = ((mu.clone().powi_scalar(2) + log_var.clone().exp() - log_var - 1.0) * 0.5).sum();
        let gap = (self.gap_head.forward(mu) - gaps).powi_scalar(2).sum();
        LossTerms {
            reconstruction: (atoms + bonds) / n,
            kl: kl / n,
            gap: gap / n,
        }
    }

    /// log p(trajectory | z) of each graph in `decoding`, `[graphs]`: the sum of
    /// the log-probabilities of its atom and bond choices under the masks.
    pub fn trajectory_log_probs(&self, z: Tensor<2>, decoding: &DecoderBatch) -> Tensor<1> {
        let [graphs, steps] = decoding.prev_token.dims();
        let device = z.device();
        let (atom_logits, bond_logits) = self.decoder.forward(z, decoding, None);
        let atoms = masked_log_probs(
            atom_logits,
            decoding.atom_forbidden.clone(),
            decoding.atom_target.clone(),
        ) * decoding.atom_weight.clone();
        let atom_graph =
            Tensor::<1, Int>::arange(0..(graphs * steps) as i64, &device).div_scalar(steps as i64);
        let mut total = Tensor::<1>::zeros([graphs], &device).select_assign(
            0,
            atom_graph,
            atoms,
            IndexingUpdateOp::Add,
        );
        if decoding.bond_target.dims()[0] > 0 {
            let bonds = masked_log_probs(
                bond_logits,
                decoding.bond_forbidden.clone(),
                decoding.bond_target.clone(),
            );
            let bond_graph = decoding.bond_new.clone().div_scalar(steps as i64);
            total = total.select_assign(0, bond_graph, bonds, IndexingUpdateOp::Add);
        }
        total
    }
}
