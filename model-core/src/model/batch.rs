//! Batches as tensors: the encoder's disjoint graph (no padding) and the
//! decoder's teacher-forcing targets with their masks.

use burn::prelude::*;
use burn::tensor::{Bool, Int, TensorData};

use super::construction::{ATOM_CHOICES, BOND_CHOICES};
use super::inputs::{distance_index, free_valence_index, links_width, ring_closure_index};
use super::target::DecodingTarget;
use crate::chem::Molecule;

/// Token fed to the decoder before the first atom.
pub const START_TOKEN: usize = ATOM_CHOICES - 1;

/// Edges of one bond order, both directions.
#[derive(Clone, Debug)]
pub struct EdgeList {
    pub src: Tensor<1, Int>,
    pub dst: Tensor<1, Int>,
}

#[derive(Clone, Debug)]
pub struct GraphBatch {
    pub graphs: usize,
    pub node_states: Tensor<1, Int>,
    /// Per bond order 1..=3, the edges of that order (None when the batch has none).
    pub edges: [Option<EdgeList>; 3],
    pub node_graph: Tensor<1, Int>,
    /// Heavy atoms per graph, `[graphs, 1]`.
    pub sizes: Tensor<2>,
}

#[derive(Clone, Debug)]
pub struct DecoderBatch {
    pub steps: usize,
    /// Previous token per step, `[graphs, steps]`.
    pub prev_token: Tensor<2, Int>,
    /// What the previous atom bonded to, `[graphs, steps, links_width]`
    /// (see [`super::inputs::record_link`]).
    pub prev_links: Tensor<3>,
    /// Flattened `[graphs * steps]` atom targets, masks and weights.
    pub atom_target: Tensor<1, Int>,
    pub atom_forbidden: Tensor<2, Bool>,
    pub atom_weight: Tensor<1>,
    /// One row per bond decision the masks leave open (more than one choice
    /// allowed): flat step index of the new atom and of the earlier atom,
    /// their distance in steps, the target and its mask. A decision with one
    /// allowed choice has log-probability 0 whatever the logits, so it adds
    /// nothing to the loss or its gradient, only work (three in ten
    /// decisions of QM9's molecules).
    pub bond_new: Tensor<1, Int>,
    pub bond_earlier: Tensor<1, Int>,
    pub bond_distance: Tensor<1, Int>,
    /// The earlier atom's free valence before the step ([`free_valence_index`]).
    pub bond_free: Tensor<1, Int>,
    /// The smallest ring the bond would close ([`ring_closure_index`]).
    pub bond_ring: Tensor<1, Int>,
    pub bond_target: Tensor<1, Int>,
    pub bond_forbidden: Tensor<2, Bool>,
}

fn ints(values: Vec<i64>, device: &Device) -> Tensor<1, Int> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n]), device)
}

impl GraphBatch {
    pub fn new(molecules: &[&Molecule], device: &Device) -> GraphBatch {
        let mut states = Vec::new();
        let mut node_graph = Vec::new();
        let mut edges: [(Vec<i64>, Vec<i64>); 3] = Default::default();
        let mut sizes = Vec::with_capacity(molecules.len());
        for (g, m) in molecules.iter().enumerate() {
            let offset = states.len() as i64;
            for &atom in m.atoms() {
                states.push(super::construction::state_index(atom) as i64);
                node_graph.push(g as i64);
            }
            for b in m.bonds() {
                let (a, c) = (offset + b.a as i64, offset + b.b as i64);
                let list = &mut edges[b.order.order() as usize - 1];
                list.0.extend([a, c]);
                list.1.extend([c, a]);
            }
            sizes.push(m.heavy_atom_count() as f32);
        }
        let edges = edges.map(|(src, dst)| {
            (!src.is_empty()).then(|| EdgeList {
                src: ints(src, device),
                dst: ints(dst, device),
            })
        });
        GraphBatch {
            graphs: molecules.len(),
            node_states: ints(states, device),
            edges,
            node_graph: ints(node_graph, device),
            sizes: Tensor::from_data(TensorData::new(sizes, [molecules.len(), 1]), device),
        }
    }
}

impl DecoderBatch {
    pub fn new(targets: &[&DecodingTarget], max_atoms: usize, device: &Device) -> DecoderBatch {
        let graphs = targets.len();
        let steps = targets.iter().map(|t| t.atoms.len()).max().unwrap_or(1);
        let mut prev_token = vec![START_TOKEN as i64; graphs * steps];
        let width = links_width(max_atoms);
        let mut prev_links = vec![0f32; graphs * steps * width];
        let mut atom_target = vec![0i64; graphs * steps];
        let mut atom_forbidden = vec![false; graphs * steps * ATOM_CHOICES];
        let mut atom_weight = vec![0f32; graphs * steps];
        let (mut bond_new, mut bond_earlier, mut bond_distance, mut bond_target) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut bond_free = Vec::new();
        let mut bond_ring = Vec::new();
        let mut bond_forbidden = Vec::new();
        for (g, t) in targets.iter().enumerate() {
            for (step, (&choice, mask)) in t.atoms.iter().zip(&t.atom_masks).enumerate() {
                let flat = g * steps + step;
                if step > 0 {
                    prev_token[flat] = t.atoms[step - 1] as i64;
                    prev_links[flat * width..(flat + 1) * width]
                        .copy_from_slice(&t.links(step - 1, max_atoms));
                }
                atom_target[flat] = choice as i64;
                atom_weight[flat] = 1.0;
                for (k, &allowed) in mask.iter().enumerate() {
                    atom_forbidden[flat * ATOM_CHOICES + k] = !allowed;
                }
            }
            let free = t.free_valence_before_bonds();
            for (b, &free) in t.bonds.iter().zip(&free) {
                if b.mask.iter().filter(|&&allowed| allowed).count() < 2 {
                    continue;
                }
                bond_free.push(free_valence_index(free));
                bond_ring.push(ring_closure_index(b.ring));
                bond_new.push((g * steps + b.new) as i64);
                bond_earlier.push((g * steps + b.target) as i64);
                bond_distance.push(distance_index(b.new - b.target, max_atoms));
                bond_target.push(b.choice as i64);
                bond_forbidden.extend(b.mask.iter().map(|&allowed| !allowed));
            }
        }
        let pairs = bond_target.len();
        DecoderBatch {
            steps,
            prev_token: Tensor::from_data(TensorData::new(prev_token, [graphs, steps]), device),
            prev_links: Tensor::from_data(
                TensorData::new(prev_links, [graphs, steps, width]),
                device,
            ),
            atom_target: ints(atom_target, device),
            atom_forbidden: Tensor::from_data(
                TensorData::new(atom_forbidden, [graphs * steps, ATOM_CHOICES]),
                device,
            ),
            atom_weight: Tensor::from_data(TensorData::new(atom_weight, [graphs * steps]), device),
            bond_new: ints(bond_new, device),
            bond_earlier: ints(bond_earlier, device),
            bond_distance: ints(bond_distance, device),
            bond_free: ints(bond_free, device),
            bond_ring: ints(bond_ring, device),
            bond_target: ints(bond_target, device),
            bond_forbidden: Tensor::from_data(
                TensorData::new(bond_forbidden, [pairs, BOND_CHOICES]),
                device,
            ),
        }
    }
}
