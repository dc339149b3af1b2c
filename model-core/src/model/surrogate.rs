//! The gap surrogate: a regressor of the HOMO-LUMO gap on the 2D heavy-atom
//! graph. It shares the VAE encoder's message layers but sees more per atom
//! (hydrogens, heavy neighbours, smallest ring), which the gap depends on and
//! the VAE need not know: strained three- and four-membered rings and
//! unsaturation move the gap by electronvolts.

use burn::nn::{Embedding, EmbeddingConfig};
use burn::prelude::*;
use burn::tensor::{Int, TensorData};
use serde::{Deserialize, Serialize};

use super::batch::GraphBatch;
use super::construction::ATOM_CHOICES;
use super::decoder::Mlp;
use super::encoder::{MessageLayer, pool};
use crate::chem::Molecule;
use crate::chem::rings::smallest_ring_through_bonds;

/// Sizes of the surrogate, saved with its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SurrogateConfig {
    pub hidden: usize,
    pub layers: usize,
    /// The network predicts (gap - mean) / std; these turn it back into eV.
    pub gap_mean_ev: f64,
    pub gap_std_ev: f64,
}

impl Default for SurrogateConfig {
    fn default() -> Self {
        SurrogateConfig {
            hidden: 128,
            layers: 5,
            gap_mean_ev: 6.86,
            gap_std_ev: 1.28,
        }
    }
}

/// Counts past this share the last embedding row.
const MAX_COUNT: usize = 4;
/// Ring classes: none, 3, 4, 5, 6, 7 or more.
const RING_CLASSES: usize = 6;
/// Sum pooling is divided by this, QM9's largest size, to keep it near 1.
const SUM_SCALE: usize = 9;

/// The smallest ring through each atom (0 when it is in none).
pub fn smallest_rings(molecule: &Molecule) -> Vec<usize> {
    let mut smallest = vec![0usize; molecule.heavy_atom_count()];
    let through_bonds = smallest_ring_through_bonds(molecule);
    for (bond, ring) in molecule.bonds().iter().zip(through_bonds) {
        let Some(ring) = ring else { continue };
        for atom in [bond.a as usize, bond.b as usize] {
            if smallest[atom] == 0 || ring < smallest[atom] {
                smallest[atom] = ring;
            }
        }
    }
    smallest
}

fn ring_class(size: usize) -> usize {
    match size {
        0 => 0,
        s => (s - 2).min(RING_CLASSES - 1),
    }
}

/// A batch for the surrogate: the disjoint graph and the extra atom features.
pub struct SurrogateBatch {
    pub graph: GraphBatch,
    hydrogens: Tensor<1, Int>,
    degree: Tensor<1, Int>,
    ring: Tensor<1, Int>,
}

impl SurrogateBatch {
    pub fn new(molecules: &[&Molecule], device: &Device) -> SurrogateBatch {
        let (mut hydrogens, mut degree, mut ring) = (Vec::new(), Vec::new(), Vec::new());
        for m in molecules {
            let adjacency = m.adjacency();
            let rings = smallest_rings(m);
            for atom in 0..m.atoms().len() {
                hydrogens.push((m.hydrogens(atom) as usize).min(MAX_COUNT) as i64);
                degree.push(adjacency[atom].len().min(MAX_COUNT) as i64);
                ring.push(ring_class(rings[atom]) as i64);
            }
        }
        let ints = |v: Vec<i64>| {
            let n = v.len();
            Tensor::<1, Int>::from_data(TensorData::new(v, [n]), device)
        };
        SurrogateBatch {
            graph: GraphBatch::new(molecules, device),
            hydrogens: ints(hydrogens),
            degree: ints(degree),
            ring: ints(ring),
        }
    }
}

#[derive(Module, Debug)]
pub struct GapSurrogate {
    state: Embedding,
    hydrogens: Embedding,
    degree: Embedding,
    ring: Embedding,
    layers: Vec<MessageLayer>,
    readout: Mlp,
}

impl GapSurrogate {
    pub fn new(config: &SurrogateConfig, device: &Device) -> GapSurrogate {
        let embedding = |rows| EmbeddingConfig::new(rows, config.hidden).init(device);
        GapSurrogate {
            state: embedding(ATOM_CHOICES),
            hydrogens: embedding(MAX_COUNT + 1),
            degree: embedding(MAX_COUNT + 1),
            ring: embedding(RING_CLASSES),
            layers: (0..config.layers)
                .map(|_| MessageLayer::new(config.hidden, device))
                .collect(),
            readout: Mlp::new(2 * config.hidden, config.hidden, 1, device),
        }
    }

    /// Standardised gaps, `[graphs, 1]`.
    pub fn forward(&self, batch: &SurrogateBatch) -> Tensor<2> {
        let nodes = batch.graph.node_states.dims()[0];
        let embed = |table: &Embedding, ids: &Tensor<1, Int>| {
            table
                .forward(ids.clone().reshape([1, nodes]))
                .reshape([nodes as i32, -1])
        };
        let mut h = embed(&self.state, &batch.graph.node_states)
            + embed(&self.hydrogens, &batch.hydrogens)
            + embed(&self.degree, &batch.degree)
            + embed(&self.ring, &batch.ring);
        for layer in &self.layers {
            h = layer.forward(h, &batch.graph);
        }
        self.readout.forward(pool(h, &batch.graph, SUM_SCALE))
    }

    /// Mean absolute error against standardised `targets` (`[graphs, 1]`).
    pub fn l1_loss(&self, batch: &SurrogateBatch, targets: Tensor<2>) -> Tensor<1> {
        (self.forward(batch) - targets).abs().mean()
    }
}

/// Predicted gaps in eV for `molecules`, `chunk` at a time.
pub fn predict_gaps_ev(
    model: &GapSurrogate,
    config: &SurrogateConfig,
    molecules: &[&Molecule],
    device: &Device,
) -> Vec<f64> {
    molecules
        .chunks(512)
        .flat_map(|chunk| {
            let batch = SurrogateBatch::new(chunk, device);
            model
                .forward(&batch)
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("f32 data")
        })
        .map(|g| g as f64 * config.gap_std_ev + config.gap_mean_ev)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::parse_smiles;

    #[test]
    fn smallest_rings_of_fused_and_open_atoms() {
        // Bicyclo[1.1.0]butane: two fused three-membered rings; methyl is in none.
        let m = parse_smiles("CC12CC1C2").unwrap();
        assert_eq!(smallest_rings(&m), vec![0, 3, 3, 3, 3]);
        let chain = parse_smiles("CCOC").unwrap();
        assert_eq!(smallest_rings(&chain), vec![0; 4]);
        let benzene = parse_smiles("c1ccccc1").unwrap();
        assert_eq!(smallest_rings(&benzene), vec![6; 6]);
    }

    #[test]
    fn predictions_do_not_depend_on_batch_company() {
        let device = Device::flex();
        let model = GapSurrogate::new(&SurrogateConfig::default(), &device);
        let config = SurrogateConfig::default();
        let a = parse_smiles("OC1CC1C#N").unwrap();
        let b = parse_smiles("FC(F)(F)CC(F)(F)F").unwrap();
        let alone = predict_gaps_ev(&model, &config, &[&a], &device);
        let together = predict_gaps_ev(&model, &config, &[&b, &a], &device);
        assert!((alone[0] - together[1]).abs() < 1e-4);
        assert!((together[0] - together[1]).abs() > 1e-6);
    }
}
