//! The autoregressive decoder: a GRU over construction steps, conditioned on
//! z, with heads that score the next atom and the new atom's bonds to every
//! earlier atom. Masks (from [`super::construction`]) are applied by the
//! caller, so the heads only ever choose among valid moves.
//!
//! A bond decision depends on the bonds the new atom took earlier in its own
//! step only through the ring it would close: the bond head's inputs are the
//! graph before the step, and (where the config asks for it) an adjustment
//! of its logits by the size of the smallest ring the bond would close.
//! Sampling computes the logits of every ring row at once and reads the one
//! the construction is at, so a step's bond logits still take one pass.

use burn::nn::gru::{Gru, GruConfig};
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, tanh};
use burn::tensor::{Int, TensorData};

use super::batch::DecoderBatch;
use super::config::ModelConfig;
use super::construction::{ATOM_CHOICES, BOND_CHOICES};
use super::dropout::StateDropout;
use super::fused_gru::FusedGru;
use super::inputs::{MAX_FREE_VALENCE, RING_CLOSURE_ROWS, distance_index, links_width};

#[derive(Module, Debug)]
pub struct Mlp {
    hidden: Linear,
    out: Linear,
}

impl Mlp {
    pub fn new(input: usize, hidden: usize, output: usize, device: &Device) -> Mlp {
        Mlp {
            hidden: LinearConfig::new(input, hidden).init(device),
            out: LinearConfig::new(hidden, output).init(device),
        }
    }

    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.forward_with_hidden(x).1
    }

    /// The hidden layer's activations and the output.
    fn forward_with_hidden<const D: usize>(&self, x: Tensor<D>) -> (Tensor<D>, Tensor<D>) {
        let hidden = relu(self.hidden.forward(x));
        (hidden.clone(), self.out.forward(hidden))
    }
}

#[derive(Module, Debug)]
pub struct Decoder {
    initial_state: Linear,
    token: Embedding,
    gru: Gru,
    atom_head: Mlp,
    /// Representation of an added atom: its state plus the step's GRU state.
    added_atom: Embedding,
    key: Linear,
    distance: Embedding,
    /// The earlier atom's free valence before the step: which atoms still
    /// need bonds is graph state the recurrent state does not hold.
    free_valence: Embedding,
    bond_head: Mlp,
    /// From the bond head's hidden layer, an adjustment of its logits per
    /// ring-closure row ([`super::inputs::ring_closure_index`]),
    /// `RING_CLOSURE_ROWS × BOND_CHOICES` outputs; `None` in networks
    /// trained without it.
    ring_closure: Option<Linear>,
    hidden: usize,
}

impl Decoder {
    pub fn new(config: &ModelConfig, device: &Device) -> Decoder {
        let input = config.token_embedding + links_width(config.max_atoms) + config.latent;
        Decoder {
            initial_state: LinearConfig::new(config.latent, config.hidden).init(device),
            token: EmbeddingConfig::new(ATOM_CHOICES, config.token_embedding).init(device),
            gru: GruConfig::new(input, config.hidden, true).init(device),
            atom_head: Mlp::new(config.hidden, config.hidden, ATOM_CHOICES, device),
            added_atom: EmbeddingConfig::new(ATOM_CHOICES, config.hidden).init(device),
            key: LinearConfig::new(config.hidden, config.hidden).init(device),
            distance: EmbeddingConfig::new(config.max_atoms, config.hidden).init(device),
            free_valence: EmbeddingConfig::new(MAX_FREE_VALENCE as usize + 1, config.hidden)
                .init(device),
            bond_head: Mlp::new(config.hidden, config.hidden, BOND_CHOICES, device),
            ring_closure: config
                .ring_closure
                .then(|| ring_closure_layer(config.hidden).init(device)),
            hidden: config.hidden,
        }
    }

    /// This decoder with a ring-closure adjustment that starts at zero, so
    /// it decodes exactly as before until training moves it (for training on
    /// from a network trained without one). Unchanged if it has one.
    pub fn with_ring_closure(mut self, device: &Device) -> Decoder {
        if self.ring_closure.is_none() {
            self.ring_closure = Some(
                ring_closure_layer(self.hidden)
                    .with_initializer(Initializer::Zeros)
                    .init(device),
            );
        }
        self
    }

    /// Bond logits per bond candidate in [`Self::bond_logits`]: one set per
    /// ring-closure row with the adjustment, else one.
    pub fn bond_logit_rows(&self) -> usize {
        if self.ring_closure.is_some() {
            RING_CLOSURE_ROWS
        } else {
            1
        }
    }

    pub fn start_state(&self, z: Tensor<2>) -> Tensor<2> {
        tanh(self.initial_state.forward(z))
    }

    /// The GRU input for steps given their previous tokens `[graphs, steps]`
    /// and previous links `[graphs, steps, links_width]`.
    fn step_input(
        &self,
        z: Tensor<2>,
        prev_token: Tensor<2, Int>,
        prev_links: Tensor<3>,
    ) -> Tensor<3> {
        let [graphs, steps] = prev_token.dims();
        let latent = z.dims()[1];
        let z = z
            .reshape([graphs, 1, latent])
            .expand([graphs, steps, latent]);
        Tensor::cat(vec![self.token.forward(prev_token), prev_links, z], 2)
    }

    /// Teacher forcing: atom logits `[graphs*steps, ATOM_CHOICES]` and bond
    /// logits `[bond decisions, BOND_CHOICES]`. `state_dropout`, training
    /// only, multiplies the GRU's states before the heads read them
    /// (`[graphs, steps, hidden]`, see [`StateDropout`]).
    pub fn forward(
        &self,
        z: Tensor<2>,
        batch: &DecoderBatch,
        state_dropout: Option<&StateDropout>,
    ) -> (Tensor<2>, Tensor<2>) {
        let [graphs, steps] = batch.prev_token.dims();
        let input = self.step_input(
            z.clone(),
            batch.prev_token.clone(),
            batch.prev_links.clone(),
        );
        let mut states = self.gru.forward(input, Some(self.start_state(z)));
        if let Some(dropout) = state_dropout {
            states = dropout.apply(states);
        }
        let atom_logits = self
            .atom_head
            .forward(states.clone())
            .reshape([graphs * steps, ATOM_CHOICES]);
        let added = self
            .added_atom
            .forward(batch.atom_target.clone().reshape([graphs, steps]));
        let nodes = (states + added).reshape([graphs * steps, self.hidden]);
        let new = nodes.clone().select(0, batch.bond_new.clone());
        let earlier = self
            .key
            .forward(nodes.select(0, batch.bond_earlier.clone()));
        let distance = self
            .distance
            .forward(batch.bond_distance.clone().reshape([1, -1]))
            .reshape([-1, self.hidden as i32]);
        let free = self
            .free_valence
            .forward(batch.bond_free.clone().reshape([1, -1]))
            .reshape([-1, self.hidden as i32]);
        let (hidden, bond_logits) = self
            .bond_head
            .forward_with_hidden(relu(new + earlier + distance + free));
        let Some(ring_closure) = &self.ring_closure else {
            return (atom_logits, bond_logits);
        };
        // Each decision's row of its own ring closure.
        let pairs = bond_logits.dims()[0];
        let rows = Tensor::<1, Int>::arange(0..pairs as i64, &bond_logits.device())
            .mul_scalar(RING_CLOSURE_ROWS as i64)
            + batch.bond_ring.clone();
        let adjustment = ring_closure
            .forward(hidden)
            .reshape([pairs * RING_CLOSURE_ROWS, BOND_CHOICES])
            .select(0, rows);
        (atom_logits, bond_logits + adjustment)
    }

    /// The recurrent step as sampling runs it (see [`FusedGru`]).
    pub fn sampling_gru(&self) -> FusedGru {
        FusedGru::new(&self.gru, &self.token, links_width(self.distance_count()))
    }

    /// Logits of the next atom choice `[graphs, ATOM_CHOICES]` at `state`.
    pub fn atom_logits(&self, state: Tensor<2>) -> Tensor<2> {
        self.atom_head.forward(state)
    }

    /// The representation of the atom just added with `choice` at `state`.
    pub fn added_node(&self, state: Tensor<2>, choice: Tensor<1, Int>) -> Tensor<2> {
        let graphs = choice.dims()[0];
        state
            + self
                .added_atom
                .forward(choice.reshape([graphs, 1]))
                .reshape([graphs, self.hidden])
    }

    /// The key of an added atom (`[graphs, hidden]`), what its later bond
    /// candidates see of it. Sampling computes it once per atom instead of
    /// once per later step.
    pub fn key(&self, node: Tensor<2>) -> Tensor<2> {
        self.key.forward(node)
    }

    /// Bond logits `[graphs, earlier, rows × BOND_CHOICES]` between the new
    /// atom and each earlier atom, a set per ring-closure row
    /// ([`Self::bond_logit_rows`]; `earlier_keys` is their [`Self::key`],
    /// `[graphs, earlier, hidden]`; `earlier_free` their
    /// [`free_valence_index`](super::inputs::free_valence_index), `[graphs, earlier]`).
    pub fn bond_logits(
        &self,
        new_node: Tensor<2>,
        earlier_keys: Tensor<3>,
        earlier_free: Tensor<2, Int>,
    ) -> Tensor<3> {
        let [graphs, earlier, hidden] = earlier_keys.dims();
        let device = new_node.device();
        let distances: Vec<i64> = (0..earlier)
            .map(|j| distance_index(earlier - j, self.distance_count()))
            .collect();
        let distance = self
            .distance
            .forward(Tensor::from_data(
                TensorData::new(distances, [1, earlier]),
                &device,
            ))
            .expand([graphs, earlier, hidden]);
        let new = new_node
            .reshape([graphs, 1, hidden])
            .expand([graphs, earlier, hidden]);
        let free = self.free_valence.forward(earlier_free);
        let (hidden, logits) = self
            .bond_head
            .forward_with_hidden(relu(new + earlier_keys + distance + free));
        let Some(ring_closure) = &self.ring_closure else {
            return logits;
        };
        let adjustment = ring_closure.forward(hidden).reshape([
            graphs,
            earlier,
            RING_CLOSURE_ROWS,
            BOND_CHOICES,
        ]);
        (adjustment + logits.reshape([graphs, earlier, 1, BOND_CHOICES])).reshape([
            graphs,
            earlier,
            RING_CLOSURE_ROWS * BOND_CHOICES,
        ])
    }

    fn distance_count(&self) -> usize {
        self.distance.weight.dims()[0]
    }
}

fn ring_closure_layer(hidden: usize) -> LinearConfig {
    LinearConfig::new(hidden, RING_CLOSURE_ROWS * BOND_CHOICES)
}
