//! Decoding latents into molecules: the decoder's network runs on the
//! tensor device, in lanes; every choice (atoms, bonds) is made on the CPU,
//! in row order, from one [`SeededRng`], so a seed gives the same molecules
//! on every backend that computes the same logits, however a batch is cut.

use std::ops::Range;

use burn::prelude::*;
use burn::tensor::{Int, TensorData};

use super::batch::START_TOKEN;
use super::construction::{ATOM_CHOICES, BOND_CHOICES, Construction, STOP};
use super::fused_gru::FusedGru;
use super::inputs::{free_valence_index, links_width, record_link, ring_closure_index};
use super::tensor_read::{ReadError, floats, floats_async};
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
            let (indices, weights): (Vec<usize>, Vec<f64>) = candidates
                .map(|i| (i, (((logits[i] - best) / t) as f64).exp()))
                .unzip();
            assert!(!indices.is_empty(), "masks always allow a choice");
            indices[rng.pick_weighted(&weights)]
        }
    }
}

/// How a batch's network is cut up: into lanes of at most `max_rows` graphs,
/// spread over `threads` threads. Choices are made in row order whatever the
/// cut, so the molecules do not depend on it; small lanes keep a step's
/// tensors in cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lanes {
    pub threads: usize,
    pub max_rows: usize,
}

impl Lanes {
    /// The whole batch as one lane on the calling thread (what a browser can run).
    pub const ONE: Lanes = Lanes {
        threads: 1,
        max_rows: usize::MAX,
    };
}

/// The CPU side of a batch of graphs under construction: the graphs, and
/// what the decoder reads of them at the next step. Every choice is made
/// here, in one place and in row order, so the molecules do not depend on
/// how the batch's network is cut into [`Lane`]s.
struct Graphs {
    constructions: Vec<Construction>,
    prev_token: Vec<i64>,
    /// What each graph's previous atom bonded to, `links_width` per graph.
    prev_links: Vec<f32>,
    /// Which graphs added an atom this step (and so choose its bonds).
    added: Vec<bool>,
    /// Atoms placed so far (the last one's key may still be pending).
    steps: usize,
    max_atoms: usize,
}

impl Graphs {
    fn new(n: usize, max_atoms: usize) -> Graphs {
        Graphs {
            constructions: vec![Construction::new(); n],
            prev_token: vec![START_TOKEN as i64; n],
            prev_links: vec![0f32; n * links_width(max_atoms)],
            added: vec![false; n],
            steps: 0,
            max_atoms,
        }
    }

    /// Makes each graph's atom choice; false when every graph has stopped.
    fn take_atoms(&mut self, logits: &[f32], how: Choice, rng: &mut SeededRng) -> bool {
        let max_atoms = self.max_atoms;
        for (i, c) in self.constructions.iter_mut().enumerate() {
            let choice = if c.is_stopped() {
                STOP
            } else {
                let row = &logits[i * ATOM_CHOICES..(i + 1) * ATOM_CHOICES];
                let choice = choose(row, &c.atom_mask(max_atoms), how, rng);
                c.choose_atom(choice);
                choice
            };
            self.added[i] = choice != STOP;
            self.prev_token[i] = choice as i64;
        }
        if !self.added.iter().any(|&a| a) {
            return false;
        }
        self.prev_links.iter_mut().for_each(|b| *b = 0.0);
        true
    }

    /// Whether every graph has stopped or may only stop (it is full, say):
    /// the next step's network output would not be read.
    fn only_stop_left(&self) -> bool {
        self.constructions.iter().all(|c| {
            let mask = c.atom_mask(self.max_atoms);
            c.is_stopped() || (mask[STOP] && mask.iter().filter(|&&a| a).count() == 1)
        })
    }

    /// Stops every graph without the network, when [`Self::only_stop_left`]:
    /// the same choices, and the same draws from `rng`, as a step would make.
    fn stop_all(&mut self, how: Choice, rng: &mut SeededRng) {
        let unread = [0f32; ATOM_CHOICES];
        self.take_atoms(&unread.repeat(self.constructions.len()), how, rng);
    }

    /// The free-valence rows of every graph's earlier atoms, `[n, steps]`.
    /// A graph that stopped has fewer atoms; its row is never read.
    fn earlier_free(&self) -> Vec<i64> {
        let step = self.steps;
        self.constructions
            .iter()
            .flat_map(|c| {
                (0..step).map(move |t| {
                    free_valence_index(if t < c.atom_count() {
                        c.free_valence(t)
                    } else {
                        0
                    })
                })
            })
            .collect()
    }

    /// Makes the bond choices of the graphs that added an atom, from logits
    /// `[graphs, step, rows, BOND_CHOICES]` with a row per ring closure
    /// where the decoder has them ([`Decoder::bond_logit_rows`](super::decoder::Decoder::bond_logit_rows)).
    fn take_bonds(&mut self, logits: &[f32], rows: usize, how: Choice, rng: &mut SeededRng) {
        let step = self.steps;
        let width = links_width(self.max_atoms);
        for (i, c) in self.constructions.iter_mut().enumerate() {
            if !self.added[i] {
                continue;
            }
            let links = &mut self.prev_links[i * width..(i + 1) * width];
            for target in 0..step {
                let row = if rows == 1 {
                    0
                } else {
                    ring_closure_index(c.ring_closed_by(target)) as usize
                };
                let at = ((i * step + target) * rows + row) * BOND_CHOICES;
                let choice = choose(
                    &logits[at..at + BOND_CHOICES],
                    &c.bond_mask(target),
                    how,
                    rng,
                );
                c.choose_bond(target, choice);
                if choice > 0 {
                    record_link(links, step - target, choice, self.max_atoms);
                }
            }
        }
    }

    fn finish(self) -> Vec<Molecule> {
        self.constructions
            .iter()
            .map(|c| c.molecule().expect("every construction has a first atom"))
            .collect()
    }
}

/// The device side of a contiguous range of a batch's graphs: their latents,
/// recurrent state and atom keys. Natively each lane runs on a thread of its
/// own, so one batch keeps every core busy.
struct Lane {
    rows: Range<usize>,
    /// z's share of every step's recurrent input ([`FusedGru::z_part`]).
    z_part: Tensor<2>,
    state: Tensor<2>,
    /// Each placed atom's [`Decoder::key`](super::decoder::Decoder::key), `[rows, hidden]`.
    keys: Vec<Tensor<2>>,
    /// The atom added this step, until its key is taken.
    new_node: Option<Tensor<2>>,
}

/// What every lane runs: the model, with its recurrent step rearranged for
/// sampling.
struct Network<'a> {
    model: &'a GraphVae,
    gru: FusedGru,
}

impl Lane {
    fn new(
        network: &Network,
        z: &[f32],
        latent: usize,
        rows: Range<usize>,
        device: &Device,
    ) -> Lane {
        let z = Tensor::<2>::from_data(
            TensorData::new(
                z[rows.start * latent..rows.end * latent].to_vec(),
                [rows.len(), latent],
            ),
            device,
        );
        Lane {
            state: network.model.decoder.start_state(z.clone()),
            z_part: network.gru.z_part(z),
            rows,
            keys: Vec::new(),
            new_node: None,
        }
    }

    /// Keys the previous step's atom, advances the recurrent state and gives
    /// the logits of the next atom choice, `[rows, ATOM_CHOICES]`.
    fn atom_logits(&mut self, network: &Network, graphs: &Graphs, device: &Device) -> Tensor<2> {
        let decoder = &network.model.decoder;
        if let Some(node) = self.new_node.take() {
            self.keys.push(decoder.key(node));
        }
        let n = self.rows.len();
        let width = links_width(graphs.max_atoms);
        let tokens = Tensor::<1, Int>::from_data(
            TensorData::new(graphs.prev_token[self.rows.clone()].to_vec(), [n]),
            device,
        );
        let links = Tensor::<2>::from_data(
            TensorData::new(
                graphs.prev_links[self.rows.start * width..self.rows.end * width].to_vec(),
                [n, width],
            ),
            device,
        );
        self.state = network
            .gru
            .step(self.z_part.clone(), self.state.clone(), tokens, links);
        decoder.atom_logits(self.state.clone())
    }

    /// Takes in the atoms just chosen; the logits of their bonds to every
    /// earlier atom, `[rows, earlier, BOND_CHOICES]` (`None` for the first atom).
    /// `free` is [`Graphs::earlier_free`] for the whole batch.
    fn bond_logits(
        &mut self,
        network: &Network,
        graphs: &Graphs,
        free: &[i64],
        device: &Device,
    ) -> Option<Tensor<3>> {
        let n = self.rows.len();
        let choices = Tensor::<1, Int>::from_data(
            TensorData::new(graphs.prev_token[self.rows.clone()].to_vec(), [n]),
            device,
        );
        let decoder = &network.model.decoder;
        let node = decoder.added_node(self.state.clone(), choices);
        self.new_node = Some(node.clone());
        let step = graphs.steps;
        (step > 0).then(|| {
            let earlier = Tensor::stack::<3>(self.keys.clone(), 1);
            let free = Tensor::<2, Int>::from_data(
                TensorData::new(
                    free[self.rows.start * step..self.rows.end * step].to_vec(),
                    [n, step],
                ),
                device,
            );
            decoder.bond_logits(node, earlier, free)
        })
    }
}

/// One batch of graphs under construction. The decoder's tensors stay on the
/// device, in lanes; each step's logits are read back (synchronously with
/// [`decode_latents`], or awaited with [`decode_latents_async`], which is what
/// WebGPU in a browser needs) and the choices are made on the CPU.
struct Decoding<'a> {
    network: Network<'a>,
    lanes: Vec<Lane>,
    /// Threads the lanes are spread over, each taking a run of neighbouring lanes.
    threads: usize,
    graphs: Graphs,
    device: Device,
}

impl<'a> Decoding<'a> {
    fn new(
        model: &'a GraphVae,
        z: &[f32],
        latent: usize,
        max_atoms: usize,
        lanes: Lanes,
        device: &Device,
    ) -> Self {
        let n = z.len() / latent;
        let count = n.div_ceil(lanes.max_rows.max(1)).max(1);
        let lane_rows = |k: usize| k * n / count..(k + 1) * n / count;
        let network = Network {
            model,
            gru: model.decoder.sampling_gru(),
        };
        Decoding {
            lanes: (0..count)
                .map(|k| Lane::new(&network, z, latent, lane_rows(k), device))
                .collect(),
            network,
            threads: lanes.threads.clamp(1, count),
            graphs: Graphs::new(n, max_atoms),
            device: device.clone(),
        }
    }

    /// Whether another atom step may run.
    fn can_step(&self) -> bool {
        self.graphs.steps <= self.graphs.max_atoms
    }

    /// Runs `work` on every lane, the lanes spread over [`Self::threads`]
    /// threads; the results in lane (so row) order.
    fn run_lanes<T: Send>(
        &mut self,
        work: impl Fn(&mut Lane, &Network, &Graphs, &Device) -> T + Sync,
    ) -> Vec<T> {
        let (network, graphs, device, work) = (&self.network, &self.graphs, &self.device, &work);
        let run = move |lanes: &mut [Lane]| -> Vec<T> {
            lanes
                .iter_mut()
                .map(|lane| work(lane, network, graphs, device))
                .collect()
        };
        if self.threads == 1 {
            return run(&mut self.lanes);
        }
        let per_thread = self.lanes.len().div_ceil(self.threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .lanes
                .chunks_mut(per_thread)
                .map(|lanes| scope.spawn(move || run(lanes)))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a sampling lane panicked"))
                .collect()
        })
    }
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
    decode_latents_in_lanes(model, z, latent, max_atoms, how, rng, Lanes::ONE, device)
}

/// [`decode_latents`] with the batch's network cut into [`Lanes`], spread over
/// threads: the same molecules, and the same draws, for any cut.
#[allow(clippy::too_many_arguments)]
pub fn decode_latents_in_lanes(
    model: &GraphVae,
    z: &[f32],
    latent: usize,
    max_atoms: usize,
    how: Choice,
    rng: &mut SeededRng,
    lanes: Lanes,
    device: &Device,
) -> Vec<Molecule> {
    let mut decoding = Decoding::new(model, z, latent, max_atoms, lanes, device);
    while decoding.can_step() {
        if decoding.graphs.only_stop_left() {
            decoding.graphs.stop_all(how, rng);
            break;
        }
        let logits = decoding
            .run_lanes(|lane, network, graphs, device| {
                floats(lane.atom_logits(network, graphs, device))
            })
            .concat();
        if !decoding.graphs.take_atoms(&logits, how, rng) {
            break;
        }
        let free = decoding.graphs.earlier_free();
        let bonds: Vec<Vec<f32>> = decoding.run_lanes(|lane, network, graphs, device| {
            lane.bond_logits(network, graphs, &free, device)
                .map(floats)
                .unwrap_or_default()
        });
        let rows = decoding.network.model.decoder.bond_logit_rows();
        decoding.graphs.take_bonds(&bonds.concat(), rows, how, rng);
        decoding.graphs.steps += 1;
    }
    decoding.graphs.finish()
}

/// [`decode_latents`] for devices whose results can only be awaited
/// (WebGPU in a browser). Same choices, same molecules for the same logits.
pub async fn decode_latents_async(
    model: &GraphVae,
    z: &[f32],
    latent: usize,
    max_atoms: usize,
    how: Choice,
    rng: &mut SeededRng,
    device: &Device,
) -> Result<Vec<Molecule>, ReadError> {
    let mut decoding = Decoding::new(model, z, latent, max_atoms, Lanes::ONE, device);
    while decoding.can_step() {
        if decoding.graphs.only_stop_left() {
            decoding.graphs.stop_all(how, rng);
            break;
        }
        let mut logits = Vec::new();
        for tensor in decoding
            .run_lanes(|lane, network, graphs, device| lane.atom_logits(network, graphs, device))
        {
            logits.extend(floats_async(tensor).await?);
        }
        if !decoding.graphs.take_atoms(&logits, how, rng) {
            break;
        }
        let free = decoding.graphs.earlier_free();
        let mut bonds = Vec::new();
        for tensor in decoding
            .run_lanes(|lane, network, graphs, device| {
                lane.bond_logits(network, graphs, &free, device)
            })
            .into_iter()
            .flatten()
        {
            bonds.extend(floats_async(tensor).await?);
        }
        let rows = decoding.network.model.decoder.bond_logit_rows();
        decoding.graphs.take_bonds(&bonds, rows, how, rng);
        decoding.graphs.steps += 1;
    }
    Ok(decoding.graphs.finish())
}
