//! Message passing over the batch's disjoint graph, pooled to q(z | graph).

use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;
use burn::tensor::activation::relu;

use super::batch::GraphBatch;
use super::config::ModelConfig;
use super::construction::ATOM_CHOICES;
use super::dropout::StateDropout;

#[derive(Module, Debug)]
pub struct MessageLayer {
    self_update: Linear,
    /// One message transform per bond order.
    by_bond: Vec<Linear>,
    norm: LayerNorm,
}

impl MessageLayer {
    pub(crate) fn new(hidden: usize, device: &Device) -> MessageLayer {
        MessageLayer {
            self_update: LinearConfig::new(hidden, hidden).init(device),
            by_bond: (0..3)
                .map(|_| LinearConfig::new(hidden, hidden).init(device))
                .collect(),
            norm: LayerNormConfig::new(hidden).init(device),
        }
    }

    pub(crate) fn forward(&self, h: Tensor<2>, batch: &GraphBatch) -> Tensor<2> {
        let mut update = self.self_update.forward(h.clone());
        for (edges, transform) in batch.edges.iter().zip(&self.by_bond) {
            if let Some(edges) = edges {
                let messages = transform.forward(h.clone().select(0, edges.src.clone()));
                update =
                    update.select_assign(0, edges.dst.clone(), messages, IndexingUpdateOp::Add);
            }
        }
        self.norm.forward(h + relu(update))
    }
}

#[derive(Module, Debug)]
pub struct Encoder {
    embed: Embedding,
    layers: Vec<MessageLayer>,
    mu: Linear,
    log_var: Linear,
    max_atoms: usize,
}

impl Encoder {
    pub fn new(config: &ModelConfig, device: &Device) -> Encoder {
        Encoder {
            embed: EmbeddingConfig::new(ATOM_CHOICES, config.hidden).init(device),
            layers: (0..config.layers)
                .map(|_| MessageLayer::new(config.hidden, device))
                .collect(),
            mu: LinearConfig::new(2 * config.hidden, config.latent).init(device),
            log_var: LinearConfig::new(2 * config.hidden, config.latent).init(device),
            max_atoms: config.max_atoms,
        }
    }

    /// Mean and log-variance of q(z | graph), each `[graphs, latent]`.
    pub fn forward(&self, batch: &GraphBatch) -> (Tensor<2>, Tensor<2>) {
        self.forward_dropped(batch, None)
    }

    /// [`Encoder::forward`] with `dropout` (`[layers, atoms, hidden]`) on
    /// the atom states after each message-passing layer, for training.
    pub fn forward_dropped(
        &self,
        batch: &GraphBatch,
        dropout: Option<&StateDropout>,
    ) -> (Tensor<2>, Tensor<2>) {
        let nodes = batch.node_states.dims()[0];
        let mut h = self
            .embed
            .forward(batch.node_states.clone().reshape([1, nodes]))
            .reshape([nodes as i32, -1]);
        for (index, layer) in self.layers.iter().enumerate() {
            h = layer.forward(h, batch);
            if let Some(dropout) = dropout {
                h = dropout.apply_slice(index, h);
            }
        }
        let pooled = pool(h, batch, self.max_atoms);
        (
            self.mu.forward(pooled.clone()),
            self.log_var.forward(pooled).clamp(-10.0, 10.0),
        )
    }
}

/// Mean and (scaled) sum of node states per graph, `[graphs, 2 * hidden]`:
/// the sum keeps the size the mean forgets.
pub(crate) fn pool(h: Tensor<2>, batch: &GraphBatch, max_atoms: usize) -> Tensor<2> {
    let hidden = h.dims()[1];
    let sum = Tensor::<2>::zeros([batch.graphs, hidden], &h.device()).select_assign(
        0,
        batch.node_graph.clone(),
        h,
        IndexingUpdateOp::Add,
    );
    let mean = sum.clone() / batch.sizes.clone();
    Tensor::cat(vec![mean, sum / max_atoms as f64], 1)
}
